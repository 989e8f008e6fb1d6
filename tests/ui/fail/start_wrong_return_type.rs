#[ocean::on_start]
async fn init(_ctx: ocean::Context) -> ocean::Result<u32> {
    Ok(1)
}

fn main() {}
