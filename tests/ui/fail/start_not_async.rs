#[ocean::on_start]
fn init(_ctx: ocean::Context) -> ocean::Result<()> {
    Ok(())
}

fn main() {}
