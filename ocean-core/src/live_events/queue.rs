//! The event queue between intake and workers: bounded, per-group FIFO, fair across groups.
//!
//! [`EventQueue`] is the contract a durable backend (Redis Streams) implements too: an event is
//! delivered by `pop`, and removed only by `ack` once processing finished (at-least-once).
//! There is no lock expiry: a group stays busy until its in-flight event is acked, so a slow
//! worker can never cause the same event to be handed out twice or the next one to be lost.

use super::dead_letter::StoredEvent;
use super::error::LiveEventsError;
use super::event::WebhookEvent;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// An event waiting for processing, with what intake decided about it.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    /// The event.
    pub event: WebhookEvent,
    /// Its ordering key: events of one group are processed one at a time, in order.
    pub group: Option<String>,
    /// The names of the processors that accepted it at the door, in matching order.
    pub processors: Vec<String>,
}

impl QueuedEvent {
    /// The serialisable form, for durable backends (credential headers are redacted: the
    /// door checks that needed them have passed).
    pub fn to_record(&self) -> QueuedRecord {
        QueuedRecord {
            event: StoredEvent::from_event(&self.event, self.group.clone()),
            processors: self.processors.clone(),
        }
    }

    /// The event a record holds.
    pub fn from_record(record: QueuedRecord) -> Self {
        Self {
            event: record.event.to_event(),
            group: record.event.group,
            processors: record.processors,
        }
    }
}

/// A [`QueuedEvent`] as a durable backend stores it (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedRecord {
    /// The event, with its group.
    pub event: StoredEvent,
    /// The processors that accepted it at the door.
    pub processors: Vec<String>,
}

/// One event handed to a worker; give it back to [`EventQueue::ack`] when done.
#[derive(Debug)]
pub struct Delivery {
    /// The backend's id of this delivery (a Redis stream entry id, or a counter in memory).
    pub id: String,
    /// The event.
    pub queued: QueuedEvent,
}

/// A queue of live events.
pub trait EventQueue: Send + Sync + 'static {
    /// Adds an event; fails with [`LiveEventsError::QueueFull`] at capacity (a backend may
    /// first wait a bounded time for room) and [`LiveEventsError::QueueClosed`] after
    /// [`close`](Self::close). Returns only once the backend holds the event.
    fn push(&self, event: QueuedEvent) -> BoxFuture<'_, Result<(), LiveEventsError>>;
    /// The next event whose group is not busy; `None` once closed and drained.
    fn pop(&self) -> BoxFuture<'_, Option<Delivery>>;
    /// Waits for at least one deliverable event, then takes up to `max` without waiting more
    /// (at most one per group, as always); empty once closed and drained. Workers use it to
    /// write many events to Port in one bulk request. The default delivers one event.
    fn pop_batch(&self, max: usize) -> BoxFuture<'_, Vec<Delivery>> {
        let _ = max;
        Box::pin(async move { self.pop().await.into_iter().collect() })
    }
    /// Marks a delivery done: it leaves the queue and its group may run its next event.
    fn ack<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ()>;
    /// Stops accepting events; queued ones are still delivered.
    fn close(&self);
    /// Events queued or in flight.
    fn depth(&self) -> usize;
    /// Removes and returns every event not yet delivered (used at shutdown).
    fn drain_queued(&self) -> Vec<QueuedEvent>;
}

/// A turn in the fair rotation: a group with work, or one ungrouped event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Turn {
    Group(String),
    Ungrouped,
}

#[derive(Debug, Default)]
struct State {
    groups: HashMap<String, VecDeque<QueuedEvent>>,
    /// Delivery id -> its group, for every event in flight.
    busy: HashMap<String, Option<String>>,
    /// The groups with an event in flight (a set, so intake's check does not scan `busy`).
    busy_groups: HashSet<String>,
    ungrouped: VecDeque<QueuedEvent>,
    turns: VecDeque<Turn>,
    queued: usize,
    next_id: u64,
    closed: bool,
}

impl State {
    fn is_busy(&self, group: &str) -> bool {
        self.busy_groups.contains(group)
    }

    fn take(&mut self) -> Option<Delivery> {
        let turn = self.turns.pop_front()?;
        let (queued, group) = match turn {
            Turn::Ungrouped => (self.ungrouped.pop_front()?, None),
            Turn::Group(group) => {
                let queue = self.groups.get_mut(&group)?;
                (queue.pop_front()?, Some(group))
            }
        };
        self.queued -= 1;
        self.next_id += 1;
        let id = self.next_id.to_string();
        if let Some(group) = &group {
            self.busy_groups.insert(group.clone());
        }
        self.busy.insert(id.clone(), group);
        Some(Delivery { id, queued })
    }
}

/// The in-memory [`EventQueue`]: bounded (queued plus in-flight), per-group FIFO with at most
/// one event of a group in flight, round-robin across groups.
#[derive(Debug)]
pub struct MemoryQueue {
    capacity: usize,
    state: Mutex<State>,
    changed: Notify,
    /// Signalled when an event leaves the queue (acked or drained): a full queue has room.
    space: Notify,
    /// How long a push waits for room in a full queue before it is refused.
    wait: Duration,
}

impl MemoryQueue {
    /// A queue holding at most `capacity` events (queued plus in flight).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            space: Notify::new(),
            wait: Duration::ZERO,
        }
    }

    /// The same queue, where a push into a full queue waits up to `wait` for an event to
    /// leave before it is refused.
    pub fn with_enqueue_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds an event without waiting, even when the queue was built to wait for room.
    pub fn try_push(&self, event: QueuedEvent) -> Result<(), LiveEventsError> {
        self.offer(&mut Some(event))
    }

    /// Takes the event out of `slot` only when the queue accepts it, so a refused event can be
    /// offered again.
    fn offer(&self, slot: &mut Option<QueuedEvent>) -> Result<(), LiveEventsError> {
        let mut state = self.state();
        if state.closed {
            return Err(LiveEventsError::QueueClosed);
        }
        if state.queued + state.busy.len() >= self.capacity {
            return Err(LiveEventsError::QueueFull {
                capacity: self.capacity,
            });
        }
        let Some(event) = slot.take() else {
            return Ok(());
        };
        match event.group.clone() {
            None => {
                state.ungrouped.push_back(event);
                state.turns.push_back(Turn::Ungrouped);
            }
            Some(group) => {
                let was_idle = !state.groups.contains_key(&group) && !state.is_busy(&group);
                state
                    .groups
                    .entry(group.clone())
                    .or_default()
                    .push_back(event);
                if was_idle {
                    state.turns.push_back(Turn::Group(group));
                }
            }
        }
        state.queued += 1;
        drop(state);
        self.changed.notify_waiters();
        Ok(())
    }

    /// The next deliverable event, or `None` when there is none right now.
    pub fn try_pop(&self) -> Option<Delivery> {
        self.state().take()
    }

    fn finish(&self, id: &str) {
        let mut state = self.state();
        if let Some(Some(group)) = state.busy.remove(id) {
            state.busy_groups.remove(&group);
            let has_more = state.groups.get(&group).is_some_and(|q| !q.is_empty());
            if has_more {
                state.turns.push_back(Turn::Group(group));
            } else {
                state.groups.remove(&group);
            }
        }
        drop(state);
        self.changed.notify_waiters();
        self.space.notify_waiters();
    }
}

impl EventQueue for MemoryQueue {
    fn push(&self, event: QueuedEvent) -> BoxFuture<'_, Result<(), LiveEventsError>> {
        let mut slot = Some(event);
        let first = self.offer(&mut slot);
        Box::pin(async move {
            match first {
                Err(LiveEventsError::QueueFull { .. }) if !self.wait.is_zero() => {}
                done => return done,
            }
            // Full: wait for an event to leave, up to the enqueue wait, then try once more.
            let deadline = tokio::time::Instant::now() + self.wait;
            loop {
                let space = self.space.notified();
                tokio::pin!(space);
                space.as_mut().enable();
                match self.offer(&mut slot) {
                    Err(LiveEventsError::QueueFull { .. }) => {}
                    done => return done,
                }
                if tokio::time::timeout_at(deadline, space).await.is_err() {
                    return self.offer(&mut slot);
                }
            }
        })
    }

    fn pop(&self) -> BoxFuture<'_, Option<Delivery>> {
        Box::pin(async move {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let mut state = self.state();
                    if let Some(delivery) = state.take() {
                        return Some(delivery);
                    }
                    if state.closed && state.queued == 0 {
                        return None;
                    }
                }
                changed.await;
            }
        })
    }

    fn pop_batch(&self, max: usize) -> BoxFuture<'_, Vec<Delivery>> {
        Box::pin(async move {
            let Some(first) = self.pop().await else {
                return Vec::new();
            };
            let mut batch = vec![first];
            let mut state = self.state();
            while batch.len() < max {
                match state.take() {
                    Some(delivery) => batch.push(delivery),
                    None => break,
                }
            }
            batch
        })
    }

    fn ack<'a>(&'a self, id: &'a str) -> BoxFuture<'a, ()> {
        self.finish(id);
        Box::pin(async {})
    }

    fn close(&self) {
        self.state().closed = true;
        self.changed.notify_waiters();
        self.space.notify_waiters();
    }

    fn depth(&self) -> usize {
        let state = self.state();
        state.queued + state.busy.len()
    }

    fn drain_queued(&self) -> Vec<QueuedEvent> {
        let mut state = self.state();
        let mut out = Vec::with_capacity(state.queued);
        while let Some(turn) = state.turns.pop_front() {
            match turn {
                Turn::Ungrouped => out.extend(state.ungrouped.pop_front()),
                Turn::Group(group) => {
                    if let Some(queue) = state.groups.remove(&group) {
                        out.extend(queue);
                    }
                }
            }
        }
        // Groups whose head is in flight have no turn queued: take what waits behind it.
        let rest: Vec<String> = state.groups.keys().cloned().collect();
        for group in rest {
            if let Some(queue) = state.groups.get_mut(&group) {
                out.extend(queue.drain(..));
            }
        }
        out.extend(state.ungrouped.drain(..));
        state.queued = 0;
        drop(state);
        self.changed.notify_waiters();
        self.space.notify_waiters();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;
    use std::time::Duration;

    fn item(group: Option<&str>, n: u64) -> QueuedEvent {
        QueuedEvent {
            event: WebhookEvent::new(
                format!("t{n}"),
                "/webhook",
                json!({"n": n}),
                [],
                bytes::Bytes::new(),
                chrono::Utc::now(),
            ),
            group: group.map(str::to_owned),
            processors: vec![],
        }
    }

    fn n(d: &Delivery) -> u64 {
        d.queued.event.payload()["n"].as_u64().unwrap()
    }

    #[tokio::test]
    async fn round_trip_returns_the_same_item_and_keeps_fifo() {
        let q = MemoryQueue::new(10);
        for i in 1..=3 {
            q.push(item(None, i)).await.unwrap();
        }
        let mut seen = vec![];
        for _ in 0..3 {
            let d = q.pop().await.unwrap();
            seen.push(n(&d));
            q.ack(&d.id).await;
        }
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(q.depth(), 0);
    }

    #[tokio::test]
    async fn pop_batch_takes_up_to_max_with_one_event_per_group() {
        let q = std::sync::Arc::new(MemoryQueue::new(100));
        let waiting = tokio::spawn({
            let q = std::sync::Arc::clone(&q);
            async move { q.pop_batch(10).await }
        });
        tokio::task::yield_now().await;
        q.try_push(item(Some("a"), 1)).unwrap();
        let first = waiting.await.unwrap();
        assert_eq!(
            first.iter().map(n).collect::<Vec<_>>(),
            [1],
            "waits for one, then returns"
        );
        for (group, i) in [
            (Some("a"), 2),
            (Some("b"), 3),
            (None, 4),
            (Some("b"), 5),
            (None, 6),
            (Some("c"), 7),
        ] {
            q.try_push(item(group, i)).unwrap();
        }
        let batch = q.pop_batch(3).await;
        assert_eq!(
            batch.iter().map(n).collect::<Vec<_>>(),
            [3, 4, 6],
            "a is busy; b once"
        );
        let batch = q.pop_batch(10).await;
        assert_eq!(
            batch.iter().map(n).collect::<Vec<_>>(),
            [7],
            "b and a wait for their acks"
        );
        for d in first.iter().chain(&batch) {
            q.ack(&d.id).await;
        }
        let batch = q.pop_batch(10).await;
        assert_eq!(batch.iter().map(n).collect::<Vec<_>>(), [2]);
        q.close();
    }

    #[tokio::test]
    async fn a_locked_group_is_skipped_and_released_by_ack() {
        let q = MemoryQueue::new(10);
        q.try_push(item(Some("a"), 1)).unwrap();
        q.try_push(item(Some("a"), 2)).unwrap();
        q.try_push(item(Some("b"), 3)).unwrap();
        let a1 = q.try_pop().unwrap();
        assert_eq!(n(&a1), 1);
        let b3 = q.try_pop().unwrap();
        assert_eq!(n(&b3), 3, "group a is busy, so b runs");
        assert!(q.try_pop().is_none(), "a2 waits for a1");
        assert_eq!(q.depth(), 3, "in-flight events count towards the depth");
        q.ack(&a1.id).await;
        assert_eq!(q.depth(), 2);
        let a2 = q.try_pop().unwrap();
        assert_eq!(n(&a2), 2);
        q.ack(&a2.id).await;
        q.ack(&b3.id).await;
        assert_eq!(q.depth(), 0);
        assert!(q.state().groups.is_empty(), "no group state is left behind");
        assert!(q.state().busy.is_empty());
    }

    #[tokio::test]
    async fn distinct_groups_are_all_in_flight_together() {
        let q = MemoryQueue::new(10);
        for (g, i) in [("a", 1), ("b", 2), ("c", 3), ("a", 4)] {
            q.try_push(item(Some(g), i)).unwrap();
        }
        let got: Vec<u64> = (0..3).map(|_| n(&q.try_pop().unwrap())).collect();
        assert_eq!(got, [1, 2, 3]);
        assert!(q.try_pop().is_none());
    }

    #[tokio::test]
    async fn pop_waits_while_the_only_group_is_busy() {
        let q = Arc::new(MemoryQueue::new(10));
        q.try_push(item(Some("a"), 1)).unwrap();
        q.try_push(item(Some("a"), 2)).unwrap();
        let first = q.pop().await.unwrap();
        let waiter = tokio::spawn({
            let q = Arc::clone(&q);
            async move { q.pop().await.map(|d| n(&d)) }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        q.ack(&first.id).await;
        assert_eq!(waiter.await.unwrap(), Some(2));
    }

    #[tokio::test]
    async fn a_slow_event_keeps_its_group_until_acked_so_nothing_is_duplicated_or_lost() {
        let q = Arc::new(MemoryQueue::new(10));
        q.try_push(item(Some("a"), 1)).unwrap();
        q.try_push(item(Some("a"), 2)).unwrap();
        let slow = q.try_pop().unwrap();
        // However long the first event takes, no other worker gets group a: there is no
        // lock expiry that could hand out event 1 again and later drop event 2.
        for _ in 0..50 {
            tokio::task::yield_now().await;
            assert!(q.try_pop().is_none());
        }
        q.ack(&slow.id).await;
        let next = q.try_pop().unwrap();
        assert_eq!(n(&next), 2);
        q.ack(&next.id).await;
        assert!(q.try_pop().is_none());
        assert_eq!(q.depth(), 0);
    }

    #[tokio::test]
    async fn acking_twice_or_an_unknown_id_is_harmless() {
        let q = MemoryQueue::new(10);
        q.try_push(item(Some("a"), 1)).unwrap();
        let d = q.try_pop().unwrap();
        q.ack(&d.id).await;
        q.ack(&d.id).await;
        q.ack("999").await;
        assert_eq!(q.depth(), 0);
    }

    #[tokio::test]
    async fn refuses_beyond_capacity_counting_in_flight_events() {
        let q = MemoryQueue::new(2);
        q.try_push(item(None, 1)).unwrap();
        let d = q.try_pop().unwrap();
        q.try_push(item(None, 2)).unwrap();
        assert!(matches!(
            q.try_push(item(None, 3)),
            Err(LiveEventsError::QueueFull { capacity: 2 })
        ));
        q.ack(&d.id).await;
        q.try_push(item(None, 3)).unwrap();
    }

    #[tokio::test]
    async fn a_push_into_a_full_queue_waits_for_an_ack_within_the_enqueue_wait() {
        let q = Arc::new(MemoryQueue::new(1).with_enqueue_wait(Duration::from_secs(30)));
        q.try_push(item(None, 1)).unwrap();
        let d = q.try_pop().unwrap();
        let pusher = {
            let q = Arc::clone(&q);
            tokio::spawn(async move { q.push(item(None, 2)).await })
        };
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(
            !pusher.is_finished(),
            "the push must wait while the queue is full"
        );
        q.ack(&d.id).await;
        pusher.await.unwrap().unwrap();
        assert_eq!(n(&q.try_pop().unwrap()), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_push_into_a_full_queue_is_refused_once_the_enqueue_wait_is_over() {
        let q = MemoryQueue::new(1).with_enqueue_wait(Duration::from_millis(5));
        q.try_push(item(None, 1)).unwrap();
        let started = tokio::time::Instant::now();
        assert!(matches!(
            q.push(item(None, 2)).await,
            Err(LiveEventsError::QueueFull { capacity: 1 })
        ));
        assert_eq!(started.elapsed(), Duration::from_millis(5));
        assert_eq!(q.depth(), 1);
    }

    #[tokio::test]
    async fn without_an_enqueue_wait_a_full_queue_refuses_at_once() {
        let q = MemoryQueue::new(1);
        q.try_push(item(None, 1)).unwrap();
        assert!(matches!(
            q.push(item(None, 2)).await,
            Err(LiveEventsError::QueueFull { capacity: 1 })
        ));
    }

    #[tokio::test]
    async fn closing_the_queue_wakes_a_waiting_push_with_closed() {
        let q = Arc::new(MemoryQueue::new(1).with_enqueue_wait(Duration::from_secs(30)));
        q.try_push(item(None, 1)).unwrap();
        let pusher = {
            let q = Arc::clone(&q);
            tokio::spawn(async move { q.push(item(None, 2)).await })
        };
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        q.close();
        assert!(matches!(
            pusher.await.unwrap(),
            Err(LiveEventsError::QueueClosed)
        ));
    }

    #[tokio::test]
    async fn closed_queue_refuses_pushes_but_delivers_what_it_holds() {
        let q = MemoryQueue::new(10);
        q.try_push(item(None, 1)).unwrap();
        q.close();
        assert!(matches!(
            q.try_push(item(None, 2)),
            Err(LiveEventsError::QueueClosed)
        ));
        let d = q.pop().await.unwrap();
        q.ack(&d.id).await;
        assert!(q.pop().await.is_none());
    }

    #[tokio::test]
    async fn groups_take_turns_fairly() {
        let q = MemoryQueue::new(100);
        for i in 0..3 {
            q.try_push(item(Some("busy"), i)).unwrap();
        }
        q.try_push(item(Some("quiet"), 10)).unwrap();
        let d = q.try_pop().unwrap();
        assert_eq!(n(&d), 0);
        q.ack(&d.id).await;
        // The busy group's next event queues behind the quiet group's turn.
        assert_eq!(n(&q.try_pop().unwrap()), 10);
    }

    #[tokio::test]
    async fn same_group_never_overlaps_under_many_workers() {
        let q = Arc::new(MemoryQueue::new(100));
        for i in 0..20 {
            q.try_push(item(Some(["x", "y"][(i % 2) as usize]), i))
                .unwrap();
        }
        q.close();
        let log = Arc::new(Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..6)
            .map(|_| {
                let q = Arc::clone(&q);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    while let Some(d) = q.pop().await {
                        let v = n(&d);
                        log.lock().unwrap().push(("start", v));
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        log.lock().unwrap().push(("end", v));
                        q.ack(&d.id).await;
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        let log = log.lock().unwrap();
        for parity in 0..2 {
            let events: Vec<_> = log.iter().filter(|(_, v)| v % 2 == parity).collect();
            let mut expected = vec![];
            for v in (0..20).filter(|v| v % 2 == parity) {
                expected.push(("start", v));
                expected.push(("end", v));
            }
            let events: Vec<_> = events.into_iter().copied().collect();
            assert_eq!(events, expected, "group {parity} ran strictly in order");
        }
    }

    #[test]
    fn a_queued_event_round_trips_through_its_record() {
        let mut queued = item(Some("g"), 7);
        queued.processors = vec!["A".into()];
        let json = serde_json::to_string(&queued.to_record()).unwrap();
        let back = QueuedEvent::from_record(serde_json::from_str(&json).unwrap());
        assert_eq!(back.group.as_deref(), Some("g"));
        assert_eq!(back.processors, ["A"]);
        assert_eq!(back.event.trace_id(), "t7");
        assert_eq!(back.event.payload(), queued.event.payload());
    }

    #[test]
    fn drain_returns_every_undelivered_event() {
        let q = MemoryQueue::new(10);
        q.try_push(item(Some("a"), 1)).unwrap();
        q.try_push(item(Some("a"), 2)).unwrap();
        q.try_push(item(None, 3)).unwrap();
        let _in_flight = q.try_pop().unwrap();
        let mut drained: Vec<u64> = q
            .drain_queued()
            .iter()
            .map(|e| e.event.payload()["n"].as_u64().unwrap())
            .collect();
        drained.sort_unstable();
        assert_eq!(drained, [2, 3]);
        assert_eq!(q.depth(), 1);
    }

    /// Runs `workers` workers until the (closed) queue is drained; each logs when it starts
    /// and ends an event. Returns the log.
    async fn run_workers(q: Arc<MemoryQueue>, workers: usize) -> Vec<(&'static str, u64)> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let q = Arc::clone(&q);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    while let Some(d) = q.pop().await {
                        let v = n(&d);
                        log.lock().unwrap().push(("start", v));
                        tokio::task::yield_now().await;
                        log.lock().unwrap().push(("end", v));
                        q.ack(&d.id).await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        log.lock().unwrap().clone()
    }

    fn assert_nothing_left(q: &MemoryQueue) {
        let state = q.state();
        assert!(state.groups.is_empty() && state.busy.is_empty() && state.busy_groups.is_empty());
        assert_eq!(state.queued, 0);
    }

    // Reference §4.6 case 53. Ocean puts every event without a group into one shared group
    // (`None`), serialising them; events without a group have no ordering constraint here and
    // are all deliverable at once.
    #[tokio::test]
    async fn ungrouped_events_do_not_wait_for_each_other() {
        let q = MemoryQueue::new(10);
        q.try_push(item(None, 1)).unwrap();
        q.try_push(item(None, 2)).unwrap();
        let first = q.try_pop().unwrap();
        let second = q
            .try_pop()
            .expect("the second ungrouped event is not held back");
        assert_eq!((n(&first), n(&second)), (1, 2));
        q.ack(&first.id).await;
        q.ack(&second.id).await;
        assert_eq!(q.depth(), 0);
    }

    // Reference §4.6 cases 56 and 65: five events of one group, each popped and acked in turn,
    // come out in exactly the order they were pushed.
    #[tokio::test]
    async fn one_group_is_delivered_in_push_order() {
        let q = MemoryQueue::new(10);
        for i in 1..=5 {
            q.try_push(item(Some("a"), i)).unwrap();
        }
        let mut seen = vec![];
        for _ in 0..5 {
            let d = q.try_pop().unwrap();
            assert!(q.try_pop().is_none(), "one event of the group at a time");
            seen.push(n(&d));
            q.ack(&d.id).await;
        }
        assert_eq!(seen, [1, 2, 3, 4, 5]);
        assert_nothing_left(&q);
    }

    // Reference §4.6 case 57: while its event is in flight the group is busy (and keeps what
    // waits behind it); after the last ack no state of the group is left.
    #[tokio::test]
    async fn group_state_is_kept_while_busy_and_removed_after_the_last_ack() {
        let q = MemoryQueue::new(10);
        q.try_push(item(Some("a"), 1)).unwrap();
        q.try_push(item(Some("a"), 2)).unwrap();
        let first = q.try_pop().unwrap();
        {
            let state = q.state();
            assert!(state.is_busy("a"));
            assert_eq!(state.groups.get("a").map(VecDeque::len), Some(1));
        }
        q.ack(&first.id).await;
        let second = q.try_pop().unwrap();
        assert!(q.state().is_busy("a"));
        q.ack(&second.id).await;
        assert_nothing_left(&q);
    }

    // Reference §4.6 case 60: four workers, four groups: every event is processed and no group
    // is left busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn four_workers_process_four_groups_and_leave_nothing_busy() {
        let q = Arc::new(MemoryQueue::new(10));
        for (g, i) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            q.try_push(item(Some(g), i)).unwrap();
        }
        q.close();
        let log = run_workers(Arc::clone(&q), 4).await;
        let mut done: Vec<u64> = log
            .iter()
            .filter(|(w, _)| *w == "end")
            .map(|(_, v)| *v)
            .collect();
        done.sort_unstable();
        assert_eq!(done, [1, 2, 3, 4]);
        assert_nothing_left(&q);
    }

    // Reference §4.6 case 62: six workers on three events of one group plus three singletons:
    // all six are processed and the shared group's events run strictly one after another.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_shared_group_stays_sequential_among_singletons() {
        let q = Arc::new(MemoryQueue::new(10));
        for (g, i) in [
            ("same", 1),
            ("x", 10),
            ("same", 2),
            ("y", 20),
            ("same", 3),
            ("z", 30),
        ] {
            q.try_push(item(Some(g), i)).unwrap();
        }
        q.close();
        let log = run_workers(Arc::clone(&q), 6).await;
        assert_eq!(log.iter().filter(|(w, _)| *w == "end").count(), 6);
        let same: Vec<(&str, u64)> = log.iter().copied().filter(|(_, v)| *v < 10).collect();
        assert_eq!(
            same,
            [
                ("start", 1),
                ("end", 1),
                ("start", 2),
                ("end", 2),
                ("start", 3),
                ("end", 3)
            ]
        );
        assert_nothing_left(&q);
    }

    // Reference §4.6 case 63: ten workers, five groups of four events: every event is
    // processed exactly once and the queue ends empty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_workers_process_every_event_exactly_once() {
        let q = Arc::new(MemoryQueue::new(100));
        for i in 0..20 {
            let group = ["g0", "g1", "g2", "g3", "g4"][(i % 5) as usize];
            q.try_push(item(Some(group), i)).unwrap();
        }
        q.close();
        let log = run_workers(Arc::clone(&q), 10).await;
        let mut done: Vec<u64> = log
            .iter()
            .filter(|(w, _)| *w == "end")
            .map(|(_, v)| *v)
            .collect();
        done.sort_unstable();
        assert_eq!(done, (0..20).collect::<Vec<_>>());
        assert_eq!(q.depth(), 0);
        assert_nothing_left(&q);
    }

    // Reference §4.6 cases 64 and 66, in our terms. Ocean releases a hung worker's group lock
    // after `lock_timeout`, which duplicates its event and loses the next one. We have no lock
    // expiry: a hung group stays busy until acked, while every other group keeps flowing.
    #[tokio::test]
    async fn a_group_held_by_a_hung_worker_does_not_block_other_groups() {
        let q = MemoryQueue::new(10);
        for (g, i) in [("hung", 1), ("hung", 2), ("b", 3), ("c", 4), ("b", 5)] {
            q.try_push(item(Some(g), i)).unwrap();
        }
        let hung = q.try_pop().unwrap();
        assert_eq!(n(&hung), 1);
        let mut others = vec![];
        while let Some(d) = q.try_pop() {
            others.push(n(&d));
            q.ack(&d.id).await;
        }
        assert_eq!(
            others,
            [3, 4, 5],
            "other groups run; the hung group's next event waits"
        );
        q.ack(&hung.id).await;
        let next = q.try_pop().unwrap();
        assert_eq!(n(&next), 2, "released by the ack, never by a timeout");
        q.ack(&next.id).await;
        assert_nothing_left(&q);
    }
}
