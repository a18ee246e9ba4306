//! The broadcaster: pushes each committed event to every connection subscribed to its
//! project. Events arrive in seq order per project (the DynamoDB stream's shard order, or
//! the embedded store's commit order); each is pushed to each connection before the next
//! event, so a connection sees a project's events in order. A failed push to one
//! connection never fails the event: the connection is cleaned up, the next event fills
//! the gap, or the client fills it from `GET …/events`.
//!
//! Who makes delivery exactly once is the [`Ordering`]: the local gateway orders and
//! de-duplicates per connection by itself; API Gateway does not, so there each
//! subscription's delivery mark decides (ARCHITECTURE.md §2).

#[cfg(feature = "lambda")]
pub mod config;

#[cfg(feature = "lambda")]
pub mod stream;

mod marked;

use std::time::Duration;
use tracing::Instrument;
use zts_domain::clock;
use zts_domain::events::{Event, EventBody};
use zts_domain::ids::{ConnectionId, ProjectId};
use zts_domain::metrics::{self, PushStatus};
use zts_domain::ports::{ConnectionStore, EventPusher, ProjectStore, PushError, StoreError};

/// API Gateway answers 410 for a connection until its `$connect` has returned, so a
/// connection younger than this is not deleted on 410.
pub const YOUNG_CONNECTION_SECONDS: i64 = 10;

/// How long a subscription may stay without a delivery mark (its replay being sent)
/// before the broadcaster stops waiting for it: longer than any replay takes (a page of
/// 500 events is a few seconds of PostToConnection calls), short enough that a `ws`
/// invocation that died mid-replay holds up the stream only once, briefly.
pub const REPLAY_GRACE: Duration = Duration::from_secs(10);

/// Who keeps a connection's events in order and once each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// The gateway does (the local gateway's per-connection sequencer): every event goes
    /// to every subscriber as it comes.
    ByGateway,
    /// The subscription's delivery mark does (API Gateway): wait while the replay is sent
    /// (at most `replay_grace` after the subscribe), push only seqs above the mark, fill a
    /// gap below the event from the store first, then move the mark.
    ByMark { replay_grace: Duration },
}

impl Ordering {
    /// What a deployment on API Gateway uses.
    pub const API_GATEWAY: Ordering = Ordering::ByMark {
        replay_grace: REPLAY_GRACE,
    };
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Messages pushed (an event, or a gap's event pushed before it).
    pub delivered: usize,
    /// Connections found gone and deleted.
    pub removed: usize,
    /// Pushes that failed (gone but young, or a push error): the next event or the
    /// client fills the gap.
    pub failed: usize,
    /// Subscriptions that had this event already (from their replay, or an earlier
    /// delivery of a retried record).
    pub already_sent: usize,
    /// Subscriptions whose replay never finished within the grace period: skipped.
    pub abandoned: usize,
}

impl Delivery {
    /// Counts one broadcast event and its pushes (ARCHITECTURE.md §11).
    fn record(&self) {
        // Debug: six lines a project at info were over half of the local stack's log
        // volume (README: Observability); `LogLevel=info,broadcaster=debug` shows them.
        tracing::debug!(
            delivered = self.delivered,
            removed = self.removed,
            failed = self.failed,
            "event broadcast"
        );
        metrics::event_published();
        metrics::pushed(PushStatus::Delivered, self.delivered as u64);
        metrics::pushed(PushStatus::Gone, self.removed as u64);
        metrics::pushed(PushStatus::Failed, self.failed as u64);
    }

    pub fn add(&mut self, other: Delivery) {
        self.delivered += other.delivered;
        self.removed += other.removed;
        self.failed += other.failed;
        self.already_sent += other.already_sent;
        self.abandoned += other.abandoned;
    }
}

/// Pushes `event` to its project's subscribers. Only reading the subscribers can fail the
/// call (and then the stream record is retried); push failures are counted, not raised.
pub async fn broadcast<C, S, P>(
    connections: &C,
    projects: &S,
    pusher: &P,
    event: &Event,
    ordering: Ordering,
) -> Result<Delivery, StoreError>
where
    C: ConnectionStore + ?Sized,
    S: ProjectStore + ?Sized,
    P: EventPusher + ?Sized,
{
    let span = tracing::info_span!("broadcast", project_id = %event.project_id, correlation_id = %event.correlation_id, seq = event.seq);
    push_to_subscribers(connections, projects, pusher, event, ordering)
        .instrument(span)
        .await
}

async fn push_to_subscribers<C, S, P>(
    connections: &C,
    projects: &S,
    pusher: &P,
    event: &Event,
    ordering: Ordering,
) -> Result<Delivery, StoreError>
where
    C: ConnectionStore + ?Sized,
    S: ProjectStore + ?Sized,
    P: EventPusher + ?Sized,
{
    let subscribers = connections.subscribers(&event.project_id).await?;
    let ids: Vec<ConnectionId> = subscribers
        .iter()
        .map(|s| s.connection_id.clone())
        .collect();
    let message = event.to_json();
    let mut delivery = Delivery::default();
    match ordering {
        Ordering::ByGateway => {
            for sub in subscribers {
                let pushed = pusher.push(&sub.connection_id, &message).await;
                delivery.add(settle(connections, event, &sub.connection_id, pushed).await);
            }
        }
        Ordering::ByMark { replay_grace } => {
            let deliver = marked::Deliver {
                connections,
                projects,
                pusher,
                event,
                message: &message,
                replay_grace,
            };
            for sub in subscribers {
                delivery.add(deliver.to(sub).await);
            }
        }
    }
    delivery.record();
    if matches!(event.body, EventBody::ProjectDeleted {}) {
        end_subscriptions(connections, &event.project_id, &ids).await;
    }
    Ok(delivery)
}

/// After `project_deleted`, nothing more comes for the project: each subscription ends
/// (the purge would remove what is left, but a connection's own list must not keep it).
async fn end_subscriptions<C: ConnectionStore + ?Sized>(
    connections: &C,
    project: &ProjectId,
    subscribers: &[ConnectionId],
) {
    for id in subscribers {
        if let Err(e) = connections.unsubscribe(id, project).await {
            tracing::warn!(error = %e, connection_id = %id, project_id = %project, "could not end a deleted project's subscription; the purge removes it");
        }
    }
}

/// Counts one push's outcome; a connection found gone (and not merely young) is deleted.
async fn settle<C: ConnectionStore + ?Sized>(
    connections: &C,
    event: &Event,
    connection: &ConnectionId,
    pushed: Result<(), PushError>,
) -> Delivery {
    let mut delivery = Delivery::default();
    match pushed {
        Ok(()) => delivery.delivered += 1,
        Err(PushError::Gone) => {
            let young = connections
                .get_connection(connection)
                .await
                .ok()
                .flatten()
                .is_some_and(|c| {
                    (clock::now() - c.connected_at).num_seconds() < YOUNG_CONNECTION_SECONDS
                });
            if young {
                delivery.failed += 1;
            } else if let Err(e) = connections.delete_connection(connection).await {
                tracing::warn!(error = %e, connection_id = %connection, "could not delete a gone connection");
                delivery.failed += 1;
            } else {
                delivery.removed += 1;
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, connection_id = %connection, project_id = %event.project_id, seq = event.seq, "push failed");
            delivery.failed += 1;
        }
    }
    delivery
}
