// `run!` defines `main`; here inside a module so this test's own `main` can check the rest.
#[allow(dead_code)]
mod app {
    ocean::run!();

    pub(crate) const MAIN: fn() -> std::process::ExitCode = main;
}

#[ocean::on_resync(kind = "repo")]
async fn repos(_ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {
    Ok(Vec::new())
}

fn main() {
    let _: fn() -> std::process::ExitCode = app::MAIN;
    let registry = ocean::registry::Registry::collect().unwrap();
    assert!(!registry.is_empty());
}
