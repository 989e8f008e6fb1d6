#[ocean::on_resync(kind = "person")]
fn persons(_ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>> {
    Ok(Vec::new())
}

fn main() {}
