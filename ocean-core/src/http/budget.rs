//! One rate budget per third-party host, shared by resyncs and live events, with a share
//! that only live events may use.
//!
//! A token bucket on `tokio::time`, written here rather than taken from `governor`:
//! `governor` (GCRA, lock-free, maintained) waits on its own clock and timer, which tokio's
//! paused time in tests cannot drive, and a reserved share would take two of its limiters that
//! cannot be charged together (one may spend a permit the other then refuses). Two buckets
//! behind one small lock charge both lanes atomically and give exact, instant tests.

use super::options::RateLimit;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Whose traffic a request is: the lane decides how much of a host's rate budget it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lane {
    /// Resync handlers: at most `1 - live_events_reserve` of each host's budget, so a long
    /// resync never starves webhook processing.
    #[default]
    Resync,
    /// Webhook processors: the whole budget, the reserved share included.
    LiveEvents,
}

impl Lane {
    /// The lane's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Resync => "resync",
            Lane::LiveEvents => "live_events",
        }
    }
}

/// The shortest wait between two looks at an empty bucket (so rounding never spins).
const MIN_WAIT: Duration = Duration::from_micros(1);
/// Refills are sums of floating-point fractions: this much short of a token counts as one.
const EPSILON: f64 = 1e-9;

/// A host's request budget: a bucket of the whole rate that every lane draws from, and a
/// smaller one of the non-reserved rate that resync requests must draw from too.
#[derive(Debug)]
pub(crate) struct RateBudget {
    buckets: Mutex<Buckets>,
}

#[derive(Debug)]
struct Buckets {
    all: Bucket,
    resync: Bucket,
    refilled: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
}

impl Bucket {
    fn full(capacity: f64, per_second: f64) -> Self {
        Self {
            tokens: capacity,
            capacity,
            per_second,
        }
    }

    fn refill(&mut self, elapsed: Duration) {
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
    }

    /// How long until one whole token is there (zero when it is).
    fn wait(&self) -> Duration {
        if self.tokens >= 1.0 - EPSILON {
            return Duration::ZERO;
        }
        if self.per_second <= 0.0 {
            return Duration::MAX;
        }
        // Rounded up to the nanosecond, so the bucket is full enough when the wait is over.
        let nanos = ((1.0 - self.tokens) / self.per_second * 1e9).ceil();
        Duration::try_from_secs_f64(nanos / 1e9)
            .unwrap_or(Duration::MAX)
            .max(MIN_WAIT)
    }
}

impl RateBudget {
    /// A full budget of `limit`, of which `reserve` (0..1) only live events may use. The
    /// caller has checked both (see `HttpClientOptions::validate`).
    pub(crate) fn new(limit: RateLimit, reserve: f64) -> Self {
        let capacity = f64::from(limit.requests.max(1));
        let per_second = capacity / limit.per.as_secs_f64().max(f64::MIN_POSITIVE);
        let share = (1.0 - reserve).clamp(0.0, 1.0);
        // Resync gets a share of the rate; its burst is at least one request, or it could
        // never send at all under a small budget.
        let resync = Bucket::full((capacity * share).max(1.0), per_second * share);
        Self {
            buckets: Mutex::new(Buckets {
                all: Bucket::full(capacity, per_second),
                resync,
                refilled: Instant::now(),
            }),
        }
    }

    /// Takes one request's worth for `lane`, or says how long to wait before asking again.
    fn try_take(&self, lane: Lane) -> Result<(), Duration> {
        let mut guard = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let buckets = &mut *guard;
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(buckets.refilled);
        buckets.refilled = now;
        buckets.all.refill(elapsed);
        buckets.resync.refill(elapsed);
        let wait = match lane {
            Lane::LiveEvents => buckets.all.wait(),
            Lane::Resync => buckets.all.wait().max(buckets.resync.wait()),
        };
        if !wait.is_zero() {
            return Err(wait);
        }
        buckets.all.tokens = (buckets.all.tokens - 1.0).max(0.0);
        if lane == Lane::Resync {
            buckets.resync.tokens = (buckets.resync.tokens - 1.0).max(0.0);
        }
        Ok(())
    }

    /// Waits until `lane` may send one request, and takes it. Cancel-safe: nothing is taken
    /// until the request may go.
    pub(crate) async fn acquire(&self, lane: Lane) {
        while let Err(wait) = self.try_take(lane) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn budget(requests: u32, per_secs: u64, reserve: f64) -> Arc<RateBudget> {
        Arc::new(RateBudget::new(
            RateLimit::new(requests, Duration::from_secs(per_secs)),
            reserve,
        ))
    }

    /// Counts what `lane` gets through `budget` with callers queueing without pause, for
    /// `window` of (paused) time.
    async fn granted_within(budget: &Arc<RateBudget>, lane: Lane, window: Duration) -> u32 {
        let granted = Arc::new(AtomicU32::new(0));
        let task = {
            let (budget, granted) = (Arc::clone(budget), Arc::clone(&granted));
            tokio::spawn(async move {
                loop {
                    budget.acquire(lane).await;
                    granted.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        tokio::time::sleep(window).await;
        task.abort();
        granted.load(Ordering::SeqCst)
    }

    #[tokio::test(start_paused = true)]
    async fn resync_gets_at_most_its_share_of_the_budget() {
        // 20 requests per second, a quarter reserved: resync may burst 15 and then 15/s.
        let b = budget(20, 1, 0.25);
        let got = granted_within(&b, Lane::Resync, Duration::from_millis(10_500)).await;
        assert!(got <= 15 + 158, "{got}");
        assert!(got >= 15 + 150, "resync uses its whole share: {got}");
    }

    #[tokio::test(start_paused = true)]
    async fn live_events_get_through_at_once_while_resync_uses_its_whole_share() {
        let b = budget(20, 1, 0.25);
        let resync = {
            let b = Arc::clone(&b);
            tokio::spawn(
                async move { granted_within(&b, Lane::Resync, Duration::from_secs(60)).await },
            )
        };
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            let asked = Instant::now();
            b.acquire(Lane::LiveEvents).await;
            assert_eq!(asked.elapsed(), Duration::ZERO, "a live event waited");
        }
        resync.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn live_events_may_use_the_whole_budget() {
        let b = budget(20, 1, 0.25);
        let got = granted_within(&b, Lane::LiveEvents, Duration::from_millis(10_500)).await;
        assert!((20 + 200..=20 + 210).contains(&got), "{got}");
    }

    #[tokio::test(start_paused = true)]
    async fn live_events_over_their_share_slow_resync_down_too() {
        let b = budget(10, 1, 0.5);
        // Live events drain the shared bucket; resync then waits for it to refill.
        for _ in 0..10 {
            b.acquire(Lane::LiveEvents).await;
        }
        let asked = Instant::now();
        b.acquire(Lane::Resync).await;
        assert_eq!(asked.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_of_one_request_still_lets_resync_through() {
        let b = budget(1, 2, 0.25);
        b.acquire(Lane::Resync).await;
        let asked = Instant::now();
        b.acquire(Lane::Resync).await;
        // 0.375 requests per second for resync: one more after 2 s at least.
        assert!(
            asked.elapsed() >= Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
    }
}
