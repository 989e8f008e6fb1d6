use ocean::{Context, RawItem, Result, Stream};

#[ocean::on_resync(kind = "person")]
async fn persons(_ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + Send + 'static {
    ocean::try_stream! {
        yield Vec::new();
    }
}

fn main() {}
