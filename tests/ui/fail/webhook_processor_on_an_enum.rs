#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
enum IssueProcessor {
    Jira,
}

fn main() {
    let _ = IssueProcessor::Jira;
}
