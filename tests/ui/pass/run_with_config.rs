#[derive(serde::Deserialize)]
struct Settings {
    #[allow(dead_code)]
    base_url: String,
}

mod app {
    ocean::run!(config = super::Settings, crates = [ocean_e2e_tests],);

    pub(crate) const MAIN: fn() -> std::process::ExitCode = main;
}

fn main() {
    let _: fn() -> std::process::ExitCode = app::MAIN;
}
