//! Fault injection: rate limiting, server errors and latency, reproducible from a seed.

use std::time::Duration;

/// Faults the local Port injects so that clients' retry paths run for real.
///
/// Each request draws from a sequence fixed by `seed` and the request's arrival number, so a run
/// with the same requests in the same order sees the same faults.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Seed of the fault sequence.
    pub seed: u64,
    /// Share of requests (0..=1) answered 429 with a `Retry-After` header.
    pub rate_limit_rate: f64,
    /// The `Retry-After` value, in whole seconds, sent with injected 429s.
    pub retry_after_secs: u64,
    /// Share of requests (0..=1) answered 503.
    pub server_error_rate: f64,
    /// Delay added before every request is handled.
    pub latency: Duration,
    /// Whether `POST /v1/auth/access_token` is subject to faults too.
    pub include_auth: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            rate_limit_rate: 0.0,
            retry_after_secs: 1,
            server_error_rate: 0.0,
            latency: Duration::ZERO,
            include_auth: false,
        }
    }
}

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    RateLimited,
    Unavailable,
}

impl FaultConfig {
    /// True when any fault or latency is configured.
    pub(crate) fn is_active(&self) -> bool {
        self.rate_limit_rate > 0.0 || self.server_error_rate > 0.0 || !self.latency.is_zero()
    }

    /// The fault for the `n`th request.
    pub(crate) fn draw(&self, n: u64) -> Fault {
        let roll = unit(splitmix64(self.seed ^ splitmix64(n)));
        if roll < self.rate_limit_rate {
            Fault::RateLimited
        } else if roll < self.rate_limit_rate + self.server_error_rate {
            Fault::Unavailable
        } else {
            Fault::None
        }
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps 64 random bits to [0, 1).
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_faults_and_rates_are_roughly_honoured() {
        let config = FaultConfig {
            seed: 42,
            rate_limit_rate: 0.2,
            server_error_rate: 0.1,
            ..Default::default()
        };
        let first: Vec<Fault> = (0..10_000).map(|n| config.draw(n)).collect();
        let second: Vec<Fault> = (0..10_000).map(|n| config.draw(n)).collect();
        assert_eq!(first, second);
        let limited = first.iter().filter(|f| **f == Fault::RateLimited).count();
        let unavailable = first.iter().filter(|f| **f == Fault::Unavailable).count();
        assert!((1_700..2_300).contains(&limited), "{limited}");
        assert!((700..1_300).contains(&unavailable), "{unavailable}");
    }

    #[test]
    fn zero_rates_never_fault() {
        let config = FaultConfig::default();
        assert!(!config.is_active());
        assert!((0..1_000).all(|n| config.draw(n) == Fault::None));
    }
}
