//! The broadcaster: pushes each committed event to every connection subscribed to its
//! project. Events arrive in seq order per project (the DynamoDB stream's shard order, or
//! the embedded store's commit order); each is pushed to each connection before the next
//! event, so a connection sees a project's events in order. A failed push to one
//! connection never fails the event: the connection is cleaned up or the client fills
//! the gap from `GET …/events`.

#[cfg(feature = "lambda")]
pub mod config;

#[cfg(feature = "lambda")]
pub mod stream;

use zts_domain::clock;
use zts_domain::events::Event;
use zts_domain::ports::{ConnectionStore, EventPusher, PushError, StoreError};

/// API Gateway answers 410 for a connection until its `$connect` has returned, so a
/// connection younger than this is not deleted on 410.
pub const YOUNG_CONNECTION_SECONDS: i64 = 10;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub delivered: usize,
    /// Connections found gone and deleted.
    pub removed: usize,
    /// Pushes that failed (gone but young, or a push error): the clients catch up by seq.
    pub failed: usize,
}

/// Pushes `event` to its project's subscribers. Only reading the subscribers can fail the
/// call (and then the stream record is retried); push failures are counted, not raised.
pub async fn broadcast<C, P>(
    connections: &C,
    pusher: &P,
    event: &Event,
) -> Result<Delivery, StoreError>
where
    C: ConnectionStore + ?Sized,
    P: EventPusher + ?Sized,
{
    let subscribers = connections.subscribers(&event.project_id).await?;
    let message = event.to_json();
    let mut delivery = Delivery::default();
    for connection in subscribers {
        match pusher.push(&connection, &message).await {
            Ok(()) => delivery.delivered += 1,
            Err(PushError::Gone) => {
                let young = connections
                    .get_connection(&connection)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|c| {
                        (clock::now() - c.connected_at).num_seconds() < YOUNG_CONNECTION_SECONDS
                    });
                if young {
                    delivery.failed += 1;
                } else if let Err(e) = connections.delete_connection(&connection).await {
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
    }
    Ok(delivery)
}
