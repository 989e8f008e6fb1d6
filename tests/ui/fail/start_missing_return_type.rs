#[ocean::on_start]
async fn init(_ctx: ocean::Context) {}

fn main() {}
