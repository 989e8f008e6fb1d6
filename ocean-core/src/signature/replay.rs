//! Message ids accepted recently, so that a captured delivery cannot be played again.

use super::error::SignatureError;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

/// Default number of ids remembered at once.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// A bounded, time-expiring set of accepted message ids, shared by every clone.
///
/// An id is remembered until its message's timestamp leaves the tolerance window, after which the
/// timestamp check rejects a replay anyway. When the set is full, the id closest to expiry is
/// dropped first (and a warning logged): memory stays bounded at the price of weaker protection
/// for that id. The set lives in this process; replicas behind a load balancer each keep their own.
#[derive(Clone)]
pub struct ReplayGuard {
    seen: Arc<Mutex<SeenIds>>,
}

struct SeenIds {
    capacity: usize,
    expiry_by_id: HashMap<Arc<str>, i128>,
    by_expiry: BTreeSet<(i128, Arc<str>)>,
}

impl std::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seen = self.lock();
        f.debug_struct("ReplayGuard")
            .field("capacity", &seen.capacity)
            .field("remembered", &seen.expiry_by_id.len())
            .finish()
    }
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }
}

impl ReplayGuard {
    /// A guard remembering at most `capacity` ids (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: Arc::new(Mutex::new(SeenIds {
                capacity: capacity.max(1),
                expiry_by_id: HashMap::new(),
                by_expiry: BTreeSet::new(),
            })),
        }
    }

    /// The most ids remembered at once.
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// How many ids are remembered now (expired ones are dropped lazily, on the next record).
    pub fn len(&self) -> usize {
        self.lock().expiry_by_id.len()
    }

    /// True when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records `id` as accepted until unix second `expires_at`, or reports a replay when it is
    /// still remembered at unix second `now`.
    pub fn record(&self, id: &str, expires_at: i128, now: i128) -> Result<(), SignatureError> {
        let mut seen = self.lock();
        seen.drop_expired(now);
        if seen.expiry_by_id.contains_key(id) {
            return Err(SignatureError::Replayed);
        }
        let evicted = seen.make_room();
        if evicted > 0 {
            tracing::warn!(
                evicted,
                capacity = seen.capacity,
                "replay guard full: forgot the ids closest to expiry"
            );
        }
        let id: Arc<str> = Arc::from(id);
        seen.expiry_by_id.insert(Arc::clone(&id), expires_at);
        seen.by_expiry.insert((expires_at, id));
        Ok(())
    }

    /// Forgets `id`, so that a delivery verified but not accepted (say, the queue was full) can
    /// be sent again by its sender.
    pub fn forget(&self, id: &str) {
        let mut seen = self.lock();
        if let Some((key, expires_at)) = seen.expiry_by_id.remove_entry(id) {
            seen.by_expiry.remove(&(expires_at, key));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SeenIds> {
        // The set stays consistent even if a holder panicked: every mutation is a pair of
        // inserts/removes with no early return in between.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SeenIds {
    fn drop_expired(&mut self, now: i128) {
        while let Some((expires_at, _)) = self.by_expiry.first() {
            if *expires_at >= now {
                break;
            }
            if let Some((_, id)) = self.by_expiry.pop_first() {
                self.expiry_by_id.remove(&id);
            }
        }
    }

    fn make_room(&mut self) -> usize {
        let mut evicted = 0;
        while self.expiry_by_id.len() >= self.capacity {
            match self.by_expiry.pop_first() {
                Some((_, id)) => {
                    self.expiry_by_id.remove(&id);
                    evicted += 1;
                }
                None => break,
            }
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_record_of_an_id_is_a_replay() {
        let guard = ReplayGuard::with_capacity(10);
        guard.record("msg_1", 400, 100).unwrap();
        assert_eq!(
            guard.record("msg_1", 400, 200).unwrap_err(),
            SignatureError::Replayed
        );
        guard.record("msg_2", 400, 200).unwrap();
    }

    #[test]
    fn ids_expire_after_their_window() {
        let guard = ReplayGuard::with_capacity(10);
        guard.record("msg_1", 400, 100).unwrap();
        assert!(guard.record("msg_1", 400, 400).is_err());
        guard.record("msg_2", 800, 401).unwrap();
        assert_eq!(guard.len(), 1, "msg_1 expired and was dropped");
        guard.record("msg_1", 800, 401).unwrap();
    }

    #[test]
    fn full_guard_evicts_the_id_closest_to_expiry() {
        let guard = ReplayGuard::with_capacity(3);
        guard.record("late", 900, 0).unwrap();
        guard.record("early", 500, 0).unwrap();
        guard.record("middle", 700, 0).unwrap();
        guard.record("newest", 1000, 0).unwrap();
        assert_eq!(guard.len(), 3);
        guard.record("early", 500, 0).unwrap();
        assert_eq!(guard.len(), 3);
        assert!(guard.record("late", 900, 0).is_err());
        assert!(guard.record("newest", 1000, 0).is_err());
    }

    #[test]
    fn clones_share_one_set() {
        let guard = ReplayGuard::with_capacity(10);
        let clone = guard.clone();
        guard.record("msg_1", 400, 100).unwrap();
        assert!(clone.record("msg_1", 400, 100).is_err());
    }

    #[test]
    fn forgotten_id_can_be_recorded_again() {
        let guard = ReplayGuard::with_capacity(10);
        guard.record("msg_1", 400, 100).unwrap();
        guard.forget("msg_1");
        assert!(guard.is_empty());
        guard.record("msg_1", 400, 100).unwrap();
    }

    #[test]
    fn capacity_is_at_least_one() {
        let guard = ReplayGuard::with_capacity(0);
        assert_eq!(guard.capacity(), 1);
        guard.record("a", 10, 0).unwrap();
        guard.record("b", 10, 0).unwrap();
        assert_eq!(guard.len(), 1);
    }
}
