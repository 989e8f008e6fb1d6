#[ocean::on_resync(kind = "person")]
async fn persons(_ctx: ocean::Context) {}

fn main() {}
