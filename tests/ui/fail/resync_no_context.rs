#[ocean::on_resync(kind = "person")]
async fn persons() -> ocean::Result<Vec<ocean::RawItem>> {
    Ok(Vec::new())
}

fn main() {}
