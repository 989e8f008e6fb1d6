//! Prometheus metrics of the integration, in Ocean's names (`object_count`, `duration_seconds`,
//! `success`), plus the outcome of the last resync and the live-event counters.

use crate::live_events::StatsSnapshot;
use crate::sync::{ResyncReport, ResyncStatus};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};

/// The pseudo-kind Ocean labels whole-resync metrics with.
pub const RUNTIME_KIND: &str = "__runtime__";

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// The integration's metrics registry. Cheap to clone; clones share the values.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

/// Reads the live-event counters at scrape time.
pub type LiveEventsSource = Arc<dyn Fn() -> StatsSnapshot + Send + Sync>;

/// Encodes the live-event counters at each scrape; nothing until a source is attached.
#[derive(Clone, Default)]
struct LiveEventsCollector {
    source: Arc<RwLock<Option<LiveEventsSource>>>,
}

impl std::fmt::Debug for LiveEventsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveEventsCollector")
            .finish_non_exhaustive()
    }
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for LiveEventsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let source = self
            .source
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(source) = source else {
            return Ok(());
        };
        let s = source();
        counter(
            &mut encoder,
            "live_events_accepted",
            "Live events queued (answered 202)",
            s.accepted,
        )?;
        counter(
            &mut encoder,
            "live_events_ignored",
            "Live events no processor wanted (answered 200)",
            s.ignored,
        )?;
        {
            let rejected = ConstCounter::new(0u64);
            let mut family = encoder.encode_descriptor(
                "live_events_rejected",
                "Live events rejected at the door, by reason",
                None,
                rejected.metric_type(),
            )?;
            for (reason, value) in [
                ("too_large", s.rejected_too_large),
                ("bad_json", s.rejected_bad_json),
                ("unauthorized", s.rejected_unauthorized),
                ("invalid", s.rejected_invalid),
                ("busy", s.rejected_busy),
            ] {
                let labels = [("reason", reason)];
                ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
            }
        }
        counter(
            &mut encoder,
            "live_events_processed",
            "Live events processed and applied to Port",
            s.processed,
        )?;
        counter(
            &mut encoder,
            "live_events_retried",
            "Retried handle_event attempts",
            s.retried,
        )?;
        counter(
            &mut encoder,
            "live_events_dead_lettered",
            "Live events sent to the dead letters",
            s.dead_lettered,
        )?;
        let depth = ConstGauge::new(i64::try_from(s.queue_depth).unwrap_or(i64::MAX));
        depth.encode(encoder.encode_descriptor(
            "live_events_queue_depth",
            "Live events queued or in flight now",
            None,
            depth.metric_type(),
        )?)
    }
}

struct MetricsInner {
    registry: Registry,
    live_events: LiveEventsCollector,
    object_count: Family<Labels, Gauge>,
    duration_seconds: Family<Labels, FloatGauge>,
    success: Family<Labels, Gauge>,
    last_resync_status: Family<Labels, Gauge>,
    last_resync_end: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Metrics {
    /// A registry with every metric of the runtime registered and no values yet.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let object_count = Family::<Labels, Gauge>::default();
        registry.register(
            "object_count",
            "Objects per kind and phase of the last resync",
            object_count.clone(),
        );
        let duration_seconds = Family::<Labels, FloatGauge>::default();
        registry.register(
            "duration_seconds",
            "Duration of the last resync, per kind and phase",
            duration_seconds.clone(),
        );
        let success = Family::<Labels, Gauge>::default();
        registry.register(
            "success",
            "1 when the last resync of the kind succeeded, else 0",
            success.clone(),
        );
        let last_resync_status = Family::<Labels, Gauge>::default();
        registry.register(
            "last_resync_status",
            "1 for the status the last resync ended with (completed, failed, aborted)",
            last_resync_status.clone(),
        );
        let last_resync_end = Gauge::default();
        registry.register(
            "last_resync_end_timestamp_seconds",
            "Unix time the last resync ended",
            last_resync_end.clone(),
        );
        let live_events = LiveEventsCollector::default();
        registry.register_collector(Box::new(live_events.clone()));
        Self {
            inner: Arc::new(MetricsInner {
                registry,
                live_events,
                object_count,
                duration_seconds,
                success,
                last_resync_status,
                last_resync_end,
            }),
        }
    }

    /// Records the outcome of a resync; replaces the per-kind values of the previous one.
    pub fn record_resync(&self, report: &ResyncReport) {
        let m = &self.inner;
        m.object_count.clear();
        for kind in &report.kinds {
            let label = format!("{}-{}", kind.kind, kind.index);
            let counts: [(&str, &str, u64); 7] = [
                ("extract", "raw_extracted", kind.fetched),
                ("transform", "transformed", kind.mapped),
                ("transform", "filtered_out", kind.filtered),
                ("load", "loaded", kind.upserted),
                ("load", "failed", kind.failed),
                ("load", "skipped", kind.unchanged),
                ("delete", "deleted", kind.deleted),
            ];
            for (phase, count_type, value) in counts {
                m.object_count
                    .get_or_create(&labels(&[
                        ("kind", &label),
                        ("phase", phase),
                        ("object_count_type", count_type),
                    ]))
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            }
            m.success
                .get_or_create(&labels(&[("kind", &label), ("phase", "resync")]))
                .set(i64::from(kind.errors.is_empty()));
        }
        let seconds = (report.finished_at - report.started_at)
            .to_std()
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        m.duration_seconds
            .get_or_create(&labels(&[("kind", RUNTIME_KIND), ("phase", "resync")]))
            .set(seconds);
        m.success
            .get_or_create(&labels(&[("kind", RUNTIME_KIND), ("phase", "resync")]))
            .set(i64::from(report.status == ResyncStatus::Completed));
        self.record_status(report.status, report.finished_at.timestamp());
    }

    /// Records how a resync ended when it produced no report (it failed before syncing).
    pub fn record_status(&self, status: ResyncStatus, ended_at_unix: i64) {
        let m = &self.inner;
        for candidate in [
            ResyncStatus::Completed,
            ResyncStatus::Failed,
            ResyncStatus::Aborted,
        ] {
            m.last_resync_status
                .get_or_create(&labels(&[("status", candidate.as_str())]))
                .set(i64::from(candidate == status));
        }
        if status != ResyncStatus::Completed {
            m.success
                .get_or_create(&labels(&[("kind", RUNTIME_KIND), ("phase", "resync")]))
                .set(0);
        }
        m.last_resync_end.set(ended_at_unix);
    }

    /// Exposes the live-event counters `source` reads at every scrape (replaces an earlier
    /// source).
    pub fn attach_live_events(&self, source: LiveEventsSource) {
        *self
            .inner
            .live_events
            .source
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    /// The OpenMetrics text exposition of every metric (ends with `# EOF`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(error) = encode(&mut out, &self.inner.registry) {
            tracing::warn!(%error, "metrics could not be encoded");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{KindReport, ReconcileReport};
    use chrono::{Duration, Utc};

    fn report(status: ResyncStatus) -> ResyncReport {
        let started_at = Utc::now();
        ResyncReport {
            status,
            started_at,
            finished_at: started_at + Duration::milliseconds(1500),
            kinds: vec![KindReport {
                kind: "person".into(),
                index: 1,
                fetched: 10,
                mapped: 8,
                filtered: 2,
                upserted: 7,
                failed: 1,
                ..KindReport::default()
            }],
            reconciliation: ReconcileReport::default(),
        }
    }

    #[test]
    fn renders_per_kind_counts_of_the_last_resync() {
        let metrics = Metrics::new();
        metrics.record_resync(&report(ResyncStatus::Completed));
        let text = metrics.render();
        assert!(
            text.contains(
                r#"object_count{kind="person-1",phase="extract",object_count_type="raw_extracted"} 10"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"object_count{kind="person-1",phase="load",object_count_type="loaded"} 7"#
        ));
        assert!(text.contains(r#"duration_seconds{kind="__runtime__",phase="resync"} 1.5"#));
        assert!(text.contains(r#"last_resync_status{status="completed"} 1"#));
        assert!(text.trim_end().ends_with("# EOF"));
    }

    #[test]
    fn live_event_counters_appear_once_a_source_is_attached() {
        let metrics = Metrics::new();
        assert!(!metrics.render().contains("live_events"));
        metrics.attach_live_events(Arc::new(|| StatsSnapshot {
            accepted: 7,
            rejected_unauthorized: 2,
            processed: 5,
            retried: 3,
            dead_lettered: 1,
            queue_depth: 2,
            ..StatsSnapshot::default()
        }));
        let text = metrics.render();
        for line in [
            "live_events_accepted_total 7",
            r#"live_events_rejected_total{reason="unauthorized"} 2"#,
            r#"live_events_rejected_total{reason="busy"} 0"#,
            "live_events_processed_total 5",
            "live_events_retried_total 3",
            "live_events_dead_lettered_total 1",
            "live_events_queue_depth 2",
        ] {
            assert!(text.contains(line), "missing `{line}` in:\n{text}");
        }
        assert!(text.trim_end().ends_with("# EOF"));
    }

    #[test]
    fn a_failed_resync_sets_runtime_success_to_zero() {
        let metrics = Metrics::new();
        metrics.record_resync(&report(ResyncStatus::Completed));
        metrics.record_status(ResyncStatus::Failed, 0);
        let text = metrics.render();
        assert!(
            text.contains(r#"success{kind="__runtime__",phase="resync"} 0"#),
            "{text}"
        );
        assert!(text.contains(r#"last_resync_status{status="failed"} 1"#));
        assert!(text.contains(r#"last_resync_status{status="completed"} 0"#));
    }
}
