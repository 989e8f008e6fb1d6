struct Client;

impl Client {
    #[ocean::on_resync(kind = "person")]
    async fn persons(&self) -> ocean::Result<Vec<ocean::RawItem>> {
        Ok(Vec::new())
    }
}

fn main() {
    let _ = Client.persons();
}
