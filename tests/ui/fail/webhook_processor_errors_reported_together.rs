#[ocean::webhook_processor(path = "webhook", kinds = [""], max_retries = -1)]
#[derive(Default)]
struct IssueProcessor;

fn main() {}
