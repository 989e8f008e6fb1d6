#[derive(serde::Deserialize)]
struct Settings {}

ocean::run!(config = Settings, config = Settings);
