#[ocean::webhook_processor(kinds = ["issue"])]
#[derive(Default)]
struct NoPath;

#[ocean::webhook_processor(path = "", kinds = ["issue"])]
#[derive(Default)]
struct EmptyPath;

#[ocean::webhook_processor(path = "webhook", kinds = ["issue"])]
#[derive(Default)]
struct NoLeadingSlash;

#[ocean::webhook_processor(path = "/web hook", kinds = ["issue"])]
#[derive(Default)]
struct Whitespace;

#[ocean::webhook_processor(path = "/webhook/{id}", kinds = ["issue"])]
#[derive(Default)]
struct Template;

#[ocean::webhook_processor(path = "/webhook?source=jira", kinds = ["issue"])]
#[derive(Default)]
struct Query;

#[ocean::webhook_processor(path = "/webhook//jira", kinds = ["issue"])]
#[derive(Default)]
struct EmptySegment;

#[ocean::webhook_processor(path = "/webhook/ünïcode", kinds = ["issue"])]
#[derive(Default)]
struct NotUrlCharacters;

#[ocean::webhook_processor(path = Webhook, kinds = ["issue"])]
#[derive(Default)]
struct PathNotAString;

fn main() {}
