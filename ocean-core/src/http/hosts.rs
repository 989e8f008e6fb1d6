//! What each third-party host gets: a bound on requests in flight and a rate budget.

use super::budget::{Lane, RateBudget};
use super::options::HttpClientOptions;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use url::Url;

/// The limits of one `host:port`.
#[derive(Debug)]
struct HostLimits {
    in_flight: Semaphore,
    budget: Option<RateBudget>,
}

/// The limits of every host the client has talked to, created on first use.
#[derive(Debug)]
pub(crate) struct Hosts {
    options: HttpClientOptions,
    hosts: Mutex<HashMap<String, Arc<HostLimits>>>,
}

impl Hosts {
    /// No host yet; each gets the limits `options` give it on its first request.
    pub(crate) fn new(mut options: HttpClientOptions) -> Self {
        options.rate_limits = options
            .rate_limits
            .into_iter()
            .map(|(host, limit)| (host.to_ascii_lowercase(), limit))
            .collect();
        Self {
            options,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The limits of `url`'s `host:port` (URLs without a host share one entry).
    fn limits(&self, url: &Url) -> Arc<HostLimits> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = url.port_or_known_default();
        let key = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let limits = hosts.entry(key).or_insert_with(|| {
            Arc::new(HostLimits {
                in_flight: Semaphore::new(
                    self.options
                        .max_in_flight_per_host
                        .clamp(1, Semaphore::MAX_PERMITS),
                ),
                budget: self
                    .options
                    .rate_limit_for(&host, port)
                    .map(|limit| RateBudget::new(limit, self.options.live_events_reserve)),
            })
        });
        Arc::clone(limits)
    }

    /// Waits for a free slot to `url`'s host, then for `lane`'s rate budget, and runs `send`
    /// while holding the slot.
    pub(crate) async fn send<T, F>(&self, url: &Url, lane: Lane, send: F) -> T
    where
        F: std::future::Future<Output = T>,
    {
        let limits = self.limits(url);
        // The semaphore is never closed; an error would only mean sending without the bound.
        let _slot = limits.in_flight.acquire().await.ok();
        if let Some(budget) = &limits.budget {
            budget.acquire(lane).await;
        }
        send.await
    }
}
