#[ocean::on_start]
async fn init() -> ocean::Result<()> {
    Ok(())
}

fn main() {}
