ocean::run!(crates = my_handlers);
