//! Waiting for something asynchronous to happen in the integration tests, bounded so that a
//! broken implementation fails the test instead of hanging it.

use std::time::{Duration, Instant};

/// Polls `check` every 10 ms until it holds; fails the test after 20 seconds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
