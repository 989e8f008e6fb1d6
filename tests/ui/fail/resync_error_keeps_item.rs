// Only the argument error is reported: the function itself stays usable.
#[ocean::on_resync(kind = 42)]
async fn persons(_ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {
    Ok(Vec::new())
}

fn main() {
    let _future = persons(ocean::Context::new((), reqwest::Client::new()));
}
