#[ocean::on_resync(kind = "person ")]
async fn persons(_ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {
    Ok(Vec::new())
}

fn main() {}
