#[ocean::on_resync(kind = "person")]
async fn persons(ctx: ocean::Context, page: u32) -> ocean::Result<Vec<ocean::RawItem>> {
    let _ = (ctx, page);
    Ok(Vec::new())
}

fn main() {}
