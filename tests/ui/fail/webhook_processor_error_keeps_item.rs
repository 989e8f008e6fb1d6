// The struct is still emitted when the attribute is wrong: the only error is the macro's.
#[ocean::webhook_processor(path = "webhook", kinds = ["issue"])]
#[derive(Default, Debug)]
struct IssueProcessor {
    token: String,
}

fn main() {
    let processor = IssueProcessor::default();
    println!("{processor:?} {}", processor.token);
}
