use ocean::{Context, RawItem, Result, Stream};

#[ocean::on_resync(kind = "person")]
fn persons(_ctx: Context) -> impl Stream<Item = Result<Vec<RawItem>>> + 'static {
    ocean::try_stream! {
        let shared = std::rc::Rc::new(Vec::new());
        yield (*shared).clone();
    }
}

fn main() {}
