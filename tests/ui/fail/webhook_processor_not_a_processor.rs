#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
#[derive(Default)]
struct IssueProcessor;

fn main() {}
