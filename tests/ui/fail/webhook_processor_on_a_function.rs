#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
fn issue_processor() {}

fn main() {
    issue_processor();
}
