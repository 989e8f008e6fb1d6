ocean::run!(crates = [no_such_crate]);
