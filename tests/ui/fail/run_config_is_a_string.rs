ocean::run!(config = "Settings");
