//! Replaying a dead letter: its event goes back into its path's queue (the door's checks it
//! passed are not run again) and the letter is removed from the store.

use super::error::LiveEventsError;
use super::queue::QueuedEvent;
use super::state::LiveEvents;
use std::sync::atomic::Ordering;

impl LiveEvents {
    /// Re-queues a dead letter through the normal queue (the door checks it passed are not
    /// run again) and removes it from the store; returns the event id.
    pub async fn replay(&self, id: &str) -> Result<String, LiveEventsError> {
        let letter = self
            .inner
            .dead_letters
            .get(id)
            .ok_or_else(|| LiveEventsError::DeadLetterNotFound(id.to_owned()))?;
        let state = self
            .inner
            .paths
            .get(&letter.event.path)
            .ok_or_else(|| LiveEventsError::UnknownPath(letter.event.path.clone()))?;
        if !self.inner.accepting.load(Ordering::Acquire) {
            return Err(LiveEventsError::QueueClosed);
        }
        let queued = QueuedEvent {
            event: letter.event.to_event(),
            group: letter.event.group.clone(),
            processors: letter.replay_processors(),
        };
        state.queue.push(queued).await?;
        self.inner.dead_letters.remove(id).await?;
        tracing::info!(dead_letter = id, trace_id = %letter.event.trace_id, "dead letter replayed");
        Ok(letter.event.trace_id)
    }
}
