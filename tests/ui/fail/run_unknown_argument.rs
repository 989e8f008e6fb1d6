ocean::run!(port = 8000);
