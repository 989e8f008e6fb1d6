#[ocean::on_resync(kind = "person")]
async fn persons(_ctx: ocean::Context) -> ocean::Result<Vec<String>> {
    Ok(vec!["alice".to_owned()])
}

fn main() {}
