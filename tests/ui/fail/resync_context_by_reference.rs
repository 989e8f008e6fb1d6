#[ocean::on_resync(kind = "person")]
async fn persons(ctx: &ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {
    let _ = ctx;
    Ok(Vec::new())
}

fn main() {}
