struct Settings {
    _url: String,
}

ocean::run!(config = Settings);
