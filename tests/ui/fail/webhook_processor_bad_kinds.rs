#[ocean::webhook_processor(path = "/webhook")]
#[derive(Default)]
struct NoKinds;

#[ocean::webhook_processor(path = "/webhook", kinds = [])]
#[derive(Default)]
struct EmptyList;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue", ""])]
#[derive(Default)]
struct EmptyKind;

#[ocean::webhook_processor(path = "/webhook", kinds = [" issue"])]
#[derive(Default)]
struct PaddedKind;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue", "project", "issue"])]
#[derive(Default)]
struct DuplicateKind;

#[ocean::webhook_processor(path = "/webhook", kinds = "issue")]
#[derive(Default)]
struct KindsNotAList;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue", 2])]
#[derive(Default)]
struct KindNotAString;

fn main() {}
