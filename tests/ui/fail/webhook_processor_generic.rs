#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
#[derive(Default)]
struct WithType<T>(T);

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
#[derive(Default)]
struct WithLifetime<'a>(&'a str);

#[ocean::webhook_processor(path = "/webhook", kinds = ["issue"])]
#[derive(Default)]
struct WithWhereClause
where
    u8: Copy;

fn main() {}
