//! Delivery by mark (API Gateway): exactly once and in order per connection without a
//! gateway that orders. The `ws` function writes a subscription without a mark, sends the
//! replay and `replay_complete`, then sets the mark to the replay's last seq. For each
//! event the broadcaster:
//! - waits while the subscription has no mark (its replay is being sent), at most until
//!   the grace period after the subscribe ends (a `ws` invocation that died mid-replay);
//! - skips the connection when the event is at or below the mark (it was in the replay, or
//!   this record is a retry of one already delivered);
//! - otherwise pushes any events between the mark and this one from the store first (a
//!   push that failed before, or a replay given up on), then this one, and moves the mark
//!   from the value it read, so two pushers can never both move it.
//!
//! Every event above the replay's last seq was committed after the replay's read, so its
//! record reaches the broadcaster after the subscription exists: nothing falls between
//! the replay and live delivery. What remains at least once: a push that succeeded
//! whose mark write then failed is pushed again with the next event.

use crate::{Delivery, settle};
use std::time::Duration;
use zts_domain::clock;
use zts_domain::events::Event;
use zts_domain::items::SubscriptionRecord;
use zts_domain::ports::{ConnectionStore, EventPusher, ProjectStore};

/// How often a subscription whose replay is being sent is read again.
const REPLAY_POLL: Duration = Duration::from_millis(20);

pub(crate) struct Deliver<'a, C: ?Sized, S: ?Sized, P: ?Sized> {
    pub connections: &'a C,
    pub projects: &'a S,
    pub pusher: &'a P,
    pub event: &'a Event,
    pub message: &'a str,
    pub replay_grace: Duration,
}

/// A subscription's mark once its replay is sent, or why there is none to follow.
enum Mark {
    At(u64),
    /// Unsubscribed or gone while we waited.
    Gone,
    /// The replay did not finish within the grace period.
    Abandoned,
    /// The subscription could not be read again.
    Unreadable,
}

impl<C, S, P> Deliver<'_, C, S, P>
where
    C: ConnectionStore + ?Sized,
    S: ProjectStore + ?Sized,
    P: EventPusher + ?Sized,
{
    pub async fn to(&self, sub: SubscriptionRecord) -> Delivery {
        let mut delivery = Delivery::default();
        let id = sub.connection_id.clone();
        let project = &self.event.project_id;
        let mark = match self.settled_mark(sub).await {
            Mark::At(mark) => mark,
            Mark::Gone => return delivery,
            Mark::Abandoned => {
                tracing::warn!(connection_id = %id, project_id = %project, seq = self.event.seq, "the subscription's replay never finished; skipped");
                delivery.abandoned += 1;
                return delivery;
            }
            Mark::Unreadable => {
                delivery.failed += 1;
                return delivery;
            }
        };
        if self.event.seq <= mark {
            delivery.already_sent += 1;
            return delivery;
        }
        let mut messages = Vec::new();
        if self.event.seq > mark + 1 {
            let missing = u32::try_from(self.event.seq - mark - 1).unwrap_or(u32::MAX);
            match self.projects.events_after(project, mark, missing).await {
                Ok(gap) => messages.extend(
                    gap.into_iter()
                        .filter(|e| e.seq < self.event.seq)
                        .map(|e| (e.seq, e.to_json())),
                ),
                Err(e) => {
                    // Pushing this event now would put it ahead of the gap.
                    tracing::warn!(error = %e, connection_id = %id, project_id = %project, seq = self.event.seq, "the gap before this event is unreadable; the next event fills it");
                    delivery.failed += 1;
                    return delivery;
                }
            }
        }
        messages.push((self.event.seq, self.message.to_string()));
        let mut through = mark;
        for (seq, message) in &messages {
            let pushed = self.pusher.push(&id, message).await;
            let failed = pushed.is_err();
            delivery.add(settle(self.connections, self.event, &id, pushed).await);
            if failed {
                break;
            }
            through = *seq;
        }
        if through > mark {
            match self
                .connections
                .mark_delivered(&id, project, Some(mark), through)
                .await
            {
                Ok(true) => {}
                // Subscribed again meanwhile (a new replay is being sent), or gone.
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, connection_id = %id, project_id = %project, through, "could not move the delivery mark; the next event may repeat what was sent")
                }
            }
        }
        delivery
    }

    /// Waits for the replay's mark (polling the subscription) within the grace period.
    async fn settled_mark(&self, mut sub: SubscriptionRecord) -> Mark {
        loop {
            if let Some(mark) = sub.delivered_through {
                return Mark::At(mark);
            }
            let waited = (clock::now() - sub.subscribed_at)
                .to_std()
                .unwrap_or_default();
            let Some(left) = self.replay_grace.checked_sub(waited) else {
                return Mark::Abandoned;
            };
            tokio::time::sleep(left.min(REPLAY_POLL)).await;
            match self
                .connections
                .subscription(&sub.connection_id, &self.event.project_id)
                .await
            {
                Ok(Some(again)) => sub = again,
                Ok(None) => return Mark::Gone,
                Err(e) => {
                    tracing::warn!(error = %e, connection_id = %sub.connection_id, project_id = %self.event.project_id, "could not read the subscription again");
                    return Mark::Unreadable;
                }
            }
        }
    }
}
