#[ocean::on_start(kind = "person")]
async fn init(_ctx: ocean::Context) -> ocean::Result<()> {
    Ok(())
}

fn main() {}
