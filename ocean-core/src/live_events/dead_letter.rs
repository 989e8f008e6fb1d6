//! Events that could not be processed after every attempt, kept to be inspected and replayed.

use super::error::LiveEventsError;
use super::event::{WebhookEvent, is_credential_header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;

/// An event as stored in a dead letter: everything needed to process it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// The event id given to the sender.
    pub trace_id: String,
    /// The registered path it arrived on.
    pub path: String,
    /// The parsed body.
    pub payload: Value,
    /// The headers, names lower-case; credentials (`authorization`, tokens, ...) are
    /// replaced by `[REDACTED]` so the store never holds them.
    pub headers: BTreeMap<String, String>,
    /// The raw body, base64.
    pub raw_body: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Its ordering group.
    #[serde(default)]
    pub group: Option<String>,
}

impl StoredEvent {
    /// The stored form of `event`.
    pub fn from_event(event: &WebhookEvent, group: Option<String>) -> Self {
        Self {
            trace_id: event.trace_id().to_owned(),
            path: event.path().to_owned(),
            payload: event.payload().clone(),
            headers: event
                .headers()
                .iter()
                .map(|(k, v)| {
                    let value = if is_credential_header(k) {
                        "[REDACTED]".to_owned()
                    } else {
                        v.clone()
                    };
                    (k.clone(), value)
                })
                .collect(),
            raw_body: BASE64.encode(event.raw_body()),
            received_at: event.received_at(),
            group,
        }
    }

    /// The event again (an undecodable raw body comes back empty).
    pub fn to_event(&self) -> WebhookEvent {
        let raw = BASE64.decode(&self.raw_body).unwrap_or_default();
        WebhookEvent::new(
            self.trace_id.clone(),
            self.path.clone(),
            self.payload.clone(),
            self.headers.clone(),
            bytes::Bytes::from(raw),
            self.received_at,
        )
    }
}

/// One failure that sent an event to the dead letters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterFailure {
    /// The processor that failed; `None` when the failure was not a processor's (the
    /// port-app-config or the writes to Port).
    pub processor: Option<String>,
    /// The kind being processed.
    pub kind: Option<String>,
    /// The last error.
    pub error: String,
    /// `handle_event` calls made.
    pub attempts: u32,
}

/// An event that failed processing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The dead letter's id.
    pub id: String,
    /// The event.
    pub event: StoredEvent,
    /// The processors that accepted it at the door.
    pub processors: Vec<String>,
    /// What failed.
    pub failures: Vec<DeadLetterFailure>,
    /// When it was dead-lettered.
    pub dead_lettered_at: DateTime<Utc>,
}

impl DeadLetter {
    /// The processors a replay should run: the failed ones, or all of them when the failure
    /// was not a single processor's.
    pub fn replay_processors(&self) -> Vec<String> {
        let mut failed: Vec<String> = Vec::new();
        for failure in &self.failures {
            match &failure.processor {
                Some(p) if self.processors.contains(p) => {
                    if !failed.contains(p) {
                        failed.push(p.clone());
                    }
                }
                _ => return self.processors.clone(),
            }
        }
        if failed.is_empty() {
            self.processors.clone()
        } else {
            failed
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum JournalLine {
    Add { letter: Box<DeadLetter> },
    Remove { id: String },
}

/// Dead letters, in memory (bounded, oldest evicted first) and optionally in a JSONL journal
/// so they survive restarts.
#[derive(Debug)]
pub struct DeadLetterStore {
    capacity: usize,
    file: Option<PathBuf>,
    letters: Mutex<VecDeque<DeadLetter>>,
    io: tokio::sync::Mutex<()>,
}

impl DeadLetterStore {
    /// An in-memory store of at most `capacity` letters.
    pub fn in_memory(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            file: None,
            letters: Mutex::new(VecDeque::new()),
            io: tokio::sync::Mutex::new(()),
        }
    }

    /// A store journaled to `file`, loading what the file holds (a missing file is empty).
    pub async fn persistent(capacity: usize, file: PathBuf) -> Result<Self, LiveEventsError> {
        let store = Self {
            file: Some(file.clone()),
            ..Self::in_memory(capacity)
        };
        let text = match tokio::fs::read_to_string(&file).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(file_error(&file, e)),
        };
        let mut letters: VecDeque<DeadLetter> = VecDeque::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match serde_json::from_str::<JournalLine>(line) {
                Ok(JournalLine::Add { letter }) => letters.push_back(*letter),
                Ok(JournalLine::Remove { id }) => letters.retain(|l| l.id != id),
                Err(e) => {
                    tracing::warn!(file = %file.display(), line = n + 1, error = %e, "skipping an unreadable dead-letter line");
                }
            }
        }
        while letters.len() > store.capacity {
            letters.pop_front();
        }
        *store.lock() = letters;
        store.compact().await?;
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<DeadLetter>> {
        self.letters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a letter, evicting the oldest beyond capacity.
    pub async fn add(&self, letter: DeadLetter) -> Result<(), LiveEventsError> {
        let evicted = {
            let mut letters = self.lock();
            letters.push_back(letter.clone());
            let mut evicted = Vec::new();
            while letters.len() > self.capacity {
                evicted.extend(letters.pop_front());
            }
            evicted
        };
        for old in &evicted {
            tracing::warn!(dead_letter = %old.id, trace_id = %old.event.trace_id, capacity = self.capacity,
                "dead-letter store full: evicting the oldest dead letter");
        }
        let mut lines = vec![JournalLine::Add {
            letter: Box::new(letter),
        }];
        lines.extend(
            evicted
                .into_iter()
                .map(|l| JournalLine::Remove { id: l.id }),
        );
        self.append(&lines).await
    }

    /// Every letter, oldest first.
    pub fn list(&self) -> Vec<DeadLetter> {
        self.lock().iter().cloned().collect()
    }

    /// How many letters are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no letter is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// One letter by id.
    pub fn get(&self, id: &str) -> Option<DeadLetter> {
        self.lock().iter().find(|l| l.id == id).cloned()
    }

    /// Removes a letter; returns it.
    pub async fn remove(&self, id: &str) -> Result<DeadLetter, LiveEventsError> {
        let removed = {
            let mut letters = self.lock();
            let pos = letters
                .iter()
                .position(|l| l.id == id)
                .ok_or_else(|| LiveEventsError::DeadLetterNotFound(id.to_owned()))?;
            letters.remove(pos)
        };
        let removed = removed.ok_or_else(|| LiveEventsError::DeadLetterNotFound(id.to_owned()))?;
        self.append(&[JournalLine::Remove { id: id.to_owned() }])
            .await?;
        Ok(removed)
    }

    async fn append(&self, lines: &[JournalLine]) -> Result<(), LiveEventsError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut text = String::new();
        for line in lines {
            let json = serde_json::to_string(line).map_err(|e| file_error(file, e))?;
            text.push_str(&json);
            text.push('\n');
        }
        let _io = self.io.lock().await;
        use tokio::io::AsyncWriteExt as _;
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .await
            .map_err(|e| file_error(file, e))?;
        f.write_all(text.as_bytes())
            .await
            .map_err(|e| file_error(file, e))?;
        f.flush().await.map_err(|e| file_error(file, e))
    }

    /// Rewrites the journal with only the letters held, so it does not grow forever.
    async fn compact(&self) -> Result<(), LiveEventsError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let letters = self.list();
        let mut text = String::new();
        for letter in letters {
            let line = JournalLine::Add {
                letter: Box::new(letter),
            };
            text.push_str(&serde_json::to_string(&line).map_err(|e| file_error(file, e))?);
            text.push('\n');
        }
        let _io = self.io.lock().await;
        let tmp = file.with_extension("jsonl.tmp");
        tokio::fs::write(&tmp, text)
            .await
            .map_err(|e| file_error(&tmp, e))?;
        tokio::fs::rename(&tmp, file)
            .await
            .map_err(|e| file_error(file, e))
    }
}

fn file_error(file: &std::path::Path, e: impl std::fmt::Display) -> LiveEventsError {
    LiveEventsError::DeadLetterFile {
        path: file.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn letter(id: &str) -> DeadLetter {
        let event = WebhookEvent::new(
            format!("trace-{id}"),
            "/webhook",
            json!({"id": id}),
            [
                ("X-Sig".to_owned(), "abc".to_owned()),
                ("X-Gitlab-Token".to_owned(), "glpat-123".to_owned()),
            ],
            bytes::Bytes::from_static(b"{\"id\": 1}"),
            Utc::now(),
        );
        DeadLetter {
            id: id.to_owned(),
            event: StoredEvent::from_event(&event, Some("g".into())),
            processors: vec!["A".into(), "B".into()],
            failures: vec![DeadLetterFailure {
                processor: Some("B".into()),
                kind: Some("issue".into()),
                error: "boom".into(),
                attempts: 4,
            }],
            dead_lettered_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn evicts_the_oldest_beyond_capacity() {
        let store = DeadLetterStore::in_memory(2);
        for id in ["1", "2", "3"] {
            store.add(letter(id)).await.unwrap();
        }
        let ids: Vec<_> = store.list().into_iter().map(|l| l.id).collect();
        assert_eq!(ids, ["2", "3"]);
    }

    #[tokio::test]
    async fn get_and_remove_by_id() {
        let store = DeadLetterStore::in_memory(10);
        store.add(letter("1")).await.unwrap();
        assert_eq!(store.get("1").unwrap().event.trace_id, "trace-1");
        store.remove("1").await.unwrap();
        assert!(store.get("1").is_none());
        assert!(matches!(
            store.remove("1").await,
            Err(LiveEventsError::DeadLetterNotFound(_))
        ));
    }

    #[tokio::test]
    async fn survives_a_restart_through_the_journal_with_raw_body_intact() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dead.jsonl");
        let store = DeadLetterStore::persistent(10, file.clone()).await.unwrap();
        store.add(letter("1")).await.unwrap();
        store.add(letter("2")).await.unwrap();
        store.remove("1").await.unwrap();
        drop(store);
        let again = DeadLetterStore::persistent(10, file).await.unwrap();
        let letters = again.list();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0], letter_with_times(&letters[0], letter("2")));
        let event = letters[0].event.to_event();
        assert_eq!(event.raw_body(), b"{\"id\": 1}");
        assert_eq!(event.header("x-sig"), Some("abc"));
        assert_eq!(event.header("x-gitlab-token"), Some("[REDACTED]"));
    }

    fn letter_with_times(stored: &DeadLetter, mut fresh: DeadLetter) -> DeadLetter {
        fresh.dead_lettered_at = stored.dead_lettered_at;
        fresh.event.received_at = stored.event.received_at;
        fresh
    }

    #[test]
    fn replays_only_the_failed_processors_unless_the_failure_was_not_theirs() {
        let mut l = letter("1");
        assert_eq!(l.replay_processors(), ["B"]);
        l.failures.push(DeadLetterFailure {
            processor: None,
            kind: None,
            error: "Port down".into(),
            attempts: 1,
        });
        assert_eq!(l.replay_processors(), ["A", "B"]);
    }

    // Reference §4.2 case 10 (`from_dict` parses the given `created_at`): a stored event gives
    // back the arrival time it was stored with, through its JSON form.
    #[test]
    fn a_stored_event_gives_back_its_arrival_time() {
        let stored = letter("1").event;
        let json = serde_json::to_value(&stored).unwrap();
        let back: StoredEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back.to_event().received_at(), stored.received_at);
    }

    // Reference §4.2 case 11. Ocean's `from_dict` takes "now" when `created_at` is missing; a
    // stored event without its arrival time is refused instead, so a replay never pretends an
    // old event just arrived.
    #[test]
    fn a_stored_event_without_its_arrival_time_is_refused() {
        let mut json = serde_json::to_value(letter("1").event).unwrap();
        json.as_object_mut().unwrap().remove("receivedAt");
        let error = serde_json::from_value::<StoredEvent>(json).unwrap_err();
        assert!(error.to_string().contains("receivedAt"), "{error}");
    }
}
