#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], path = "/other")]
#[derive(Default)]
struct PathTwice;

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"], retries = 3)]
#[derive(Default)]
struct UnknownArgument;

#[ocean::webhook_processor(path, kinds = ["issue"])]
#[derive(Default)]
struct MissingValue;

fn main() {}
