ocean::run!(crates = [handlers::jira]);
