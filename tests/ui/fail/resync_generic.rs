#[ocean::on_resync(kind = "person")]
async fn persons<C: Send>(_ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {
    Ok(Vec::new())
}

fn main() {}
