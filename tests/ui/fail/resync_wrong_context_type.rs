#[ocean::on_resync(kind = "person")]
async fn persons(token: String) -> ocean::Result<Vec<ocean::RawItem>> {
    let _ = token;
    Ok(Vec::new())
}

fn main() {}
