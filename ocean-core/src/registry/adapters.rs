//! Adapters from author functions to the function-pointer shapes the registry stores.
//!
//! `#[on_resync]` and `#[on_start]` call these from the wrappers they generate; authors who
//! register handlers explicitly (tests, targets where `inventory` does not work) call them too.
//! The output traits exist so that a wrong return type is reported in the author's terms.

use super::ResyncStream;
use crate::{Error, RawItem, Result};
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use std::future::Future;

/// What one resync batch may be: `ocean::Result<Vec<ocean::RawItem>>` (or a `Result` whose
/// error converts into [`Error`]).
#[diagnostic::on_unimplemented(
    message = "a resync handler must produce `ocean::Result<Vec<ocean::RawItem>>`, found `{Self}`",
    label = "a resync batch must be `ocean::Result<Vec<ocean::RawItem>>`",
    note = "`#[on_resync]` works on `async fn f(ctx: ocean::Context) -> ocean::Result<Vec<ocean::RawItem>>` (one batch) or `fn f(ctx: ocean::Context) -> impl Stream<Item = ocean::Result<Vec<ocean::RawItem>>> + Send + 'static` (many batches)"
)]
pub trait ResyncBatch {
    /// The batch as the runtime consumes it.
    fn into_batch(self) -> Result<Vec<RawItem>>;
}

impl<E: Into<Error>> ResyncBatch for std::result::Result<Vec<RawItem>, E> {
    fn into_batch(self) -> Result<Vec<RawItem>> {
        self.map_err(Into::into)
    }
}

/// What a start hook may return: `ocean::Result<()>` (or a `Result` whose error converts into
/// [`Error`]).
#[diagnostic::on_unimplemented(
    message = "a start hook must return `ocean::Result<()>`, found `{Self}`",
    label = "a start hook must return `ocean::Result<()>`",
    note = "`#[on_start]` works on `async fn f(ctx: ocean::Context) -> ocean::Result<()>`"
)]
pub trait StartOutcome {
    /// The outcome as the runtime consumes it.
    fn into_outcome(self) -> Result<()>;
}

impl<E: Into<Error>> StartOutcome for std::result::Result<(), E> {
    fn into_outcome(self) -> Result<()> {
        self.map_err(Into::into)
    }
}

/// A resync stream of exactly one batch: the result of `future`.
pub fn one_batch<F>(future: F) -> ResyncStream
where
    F: Future + Send + 'static,
    F::Output: ResyncBatch,
{
    Box::pin(futures::stream::once(future.map(ResyncBatch::into_batch)))
}

/// A resync stream of the batches `stream` yields.
pub fn batch_stream<S>(stream: S) -> ResyncStream
where
    S: Stream + Send + 'static,
    S::Item: ResyncBatch,
{
    Box::pin(stream.map(ResyncBatch::into_batch))
}

/// A start hook future from `future`.
pub fn start_hook<F>(future: F) -> BoxFuture<'static, Result<()>>
where
    F: Future + Send + 'static,
    F::Output: StartOutcome,
{
    Box::pin(future.map(StartOutcome::into_outcome))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use serde_json::json;

    #[test]
    fn one_batch_yields_the_future_result_once() {
        let stream = one_batch(async { Ok::<_, Error>(vec![json!({"id": 1})]) });
        let batches: Vec<_> = block_on(stream.collect());
        assert_eq!(batches.len(), 1);
        let batch = batches.into_iter().next().and_then(|b| b.ok());
        assert_eq!(batch, Some(vec![json!({"id": 1})]));
    }

    #[test]
    fn batch_stream_converts_foreign_errors_into_ocean_errors() {
        let items: Vec<std::result::Result<Vec<RawItem>, std::io::Error>> = vec![
            Ok(vec![json!(1), json!(2)]),
            Err(std::io::Error::other("page 2 failed")),
        ];
        let stream = batch_stream(futures::stream::iter(items));
        let batches: Vec<_> = block_on(stream.collect());
        assert!(matches!(&batches[0], Ok(b) if b.len() == 2));
        let err = batches[1].as_ref().err().map(ToString::to_string);
        assert_eq!(err.as_deref(), Some("page 2 failed"));
    }

    #[test]
    fn start_hook_keeps_the_error() {
        let outcome = block_on(start_hook(async { Err::<(), _>(Error::msg("no token")) }));
        assert_eq!(
            outcome.err().map(|e| e.to_string()).as_deref(),
            Some("no token")
        );
    }
}
