//! Resync handlers as the resync runs them: the stream of batches a handler yields, the
//! function-pointer shape `#[on_resync]` registers, and where the resync finds the handlers of a
//! kind ([`ResyncHandlers`], given by the runtime's registry or by a plain list).

use crate::{Context, RawItem, Result};
use futures::Stream;
use std::pin::Pin;

/// The batches a resync handler yields.
pub type ResyncStream = Pin<Box<dyn Stream<Item = Result<Vec<RawItem>>> + Send + 'static>>;

/// A resync handler as registered: a plain function pointer so the record is `const`.
pub type ResyncFn = fn(Context) -> ResyncStream;

/// A resync handler registered by `#[on_resync]`.
#[derive(Debug, Clone, Copy)]
pub struct ResyncHandler {
    /// The kind it produces, or `None` for a catch-all handler called for every kind.
    pub kind: Option<&'static str>,
    /// The function name, for logs and `--about`.
    pub name: &'static str,
    /// Source file of the registration.
    pub file: &'static str,
    /// Source line of the registration.
    pub line: u32,
    /// The handler.
    pub handler: ResyncFn,
}

/// Where a resync finds the handlers of each kind.
pub trait ResyncHandlers: Send + Sync + 'static {
    /// The handlers to run for `kind`: its own handlers, then the catch-all handlers.
    fn handlers_for(&self, kind: &str) -> Vec<ResyncHandler>;

    /// The kinds that have handlers of their own, sorted (named when a kind has none).
    fn kinds(&self) -> Vec<&'static str>;
}

/// A plain list of handlers, in order (tests and explicit wiring).
impl ResyncHandlers for Vec<ResyncHandler> {
    fn handlers_for(&self, kind: &str) -> Vec<ResyncHandler> {
        let own = self.iter().filter(|h| h.kind == Some(kind));
        let catch_all = self.iter().filter(|h| h.kind.is_none());
        own.chain(catch_all).copied().collect()
    }

    fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self.iter().filter_map(|h| h.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing(_ctx: Context) -> ResyncStream {
        Box::pin(futures::stream::empty())
    }

    fn handler(kind: Option<&'static str>, name: &'static str) -> ResyncHandler {
        ResyncHandler {
            kind,
            name,
            file: file!(),
            line: line!(),
            handler: nothing,
        }
    }

    #[test]
    fn a_list_gives_a_kinds_own_handlers_then_the_catch_all_ones() {
        let list = vec![
            handler(None, "all"),
            handler(Some("b"), "b1"),
            handler(Some("a"), "a1"),
            handler(Some("b"), "b2"),
        ];
        let names =
            |kind| -> Vec<&str> { list.handlers_for(kind).iter().map(|h| h.name).collect() };
        assert_eq!(names("b"), ["b1", "b2", "all"]);
        assert_eq!(names("c"), ["all"]);
        assert_eq!(list.kinds(), ["a", "b"]);
    }
}
