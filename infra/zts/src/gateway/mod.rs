//! The local gateway: plays API Gateway's WebSocket part. It keeps a bounded send queue
//! per connection (a consumer that falls behind is disconnected with a close reason, so it
//! can never stall the others), pushes through the [`EventPusher`] port like
//! PostToConnection, and answers the Management API (`/@connections/{id}`).

pub mod management;
mod sequencer;
pub mod socket;

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};
use zts_domain::clock::{self, Timestamp};
use zts_domain::ids::ConnectionId;
use zts_domain::ports::{EventPusher, PushError};

/// What a connection's writer task is asked to do, in order.
#[derive(Debug)]
pub enum Outgoing {
    Message(String),
    /// A Management API post that is not UTF-8: sent as a binary frame, as API Gateway
    /// sends it, outside the sequencer (which orders the project's text events).
    Binary(Vec<u8>),
    /// A subscription begins after this seq (see the sequencer).
    Baseline {
        project: String,
        after_seq: u64,
    },
    Forget {
        project: String,
    },
}

/// Why the gateway closes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: String,
}

impl CloseReason {
    pub fn slow_consumer(capacity: usize) -> Self {
        CloseReason {
            code: 1008,
            reason: format!("send queue overflow: more than {capacity} messages unread"),
        }
    }
}

struct Handle {
    queue: mpsc::Sender<Outgoing>,
    kill: Option<oneshot::Sender<CloseReason>>,
    connected_at: Timestamp,
}

/// The receiving half a connection's writer task owns.
pub struct Mailbox {
    pub queue: mpsc::Receiver<Outgoing>,
    pub kill: oneshot::Receiver<CloseReason>,
}

pub struct Gateway {
    connections: Mutex<HashMap<ConnectionId, Handle>>,
    capacity: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub connected_at: Timestamp,
}

impl Gateway {
    pub fn new(capacity: usize) -> Self {
        Gateway {
            connections: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub fn register(&self, id: &ConnectionId) -> Mailbox {
        let (queue_tx, queue) = mpsc::channel(self.capacity);
        let (kill_tx, kill) = oneshot::channel();
        let handle = Handle {
            queue: queue_tx,
            kill: Some(kill_tx),
            connected_at: clock::now(),
        };
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone(), handle);
        Mailbox { queue, kill }
    }

    /// The ids of the open connections.
    pub fn connection_ids(&self) -> Vec<String> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .map(|id| id.as_str().to_string())
            .collect()
    }

    pub fn unregister(&self, id: &ConnectionId) {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    pub fn info(&self, id: &ConnectionId) -> Option<ConnectionInfo> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .map(|h| ConnectionInfo {
                connected_at: h.connected_at,
            })
    }

    pub fn len(&self) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The open connections' ids (for an operator's or a test's "close them all").
    pub fn ids(&self) -> Vec<ConnectionId> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Closes a connection with `reason`. False if there was none.
    pub fn close(&self, id: &ConnectionId, reason: CloseReason) -> bool {
        let handle = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        match handle {
            Some(mut h) => {
                if let Some(kill) = h.kill.take() {
                    let _ = kill.send(reason);
                }
                true
            }
            None => false,
        }
    }

    /// Queues `item` without waiting. A full queue disconnects the connection.
    pub fn enqueue(&self, id: &ConnectionId, item: Outgoing) -> Result<(), PushError> {
        let queue = match self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
        {
            Some(h) => h.queue.clone(),
            None => return Err(PushError::Gone),
        };
        match queue.try_send(item) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(connection_id = %id, capacity = self.capacity, "disconnecting a slow consumer");
                self.close(id, CloseReason::slow_consumer(self.capacity));
                Err(PushError::Gone)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.unregister(id);
                Err(PushError::Gone)
            }
        }
    }
}

#[async_trait]
impl EventPusher for Gateway {
    async fn push(&self, connection: &ConnectionId, message: &str) -> Result<(), PushError> {
        self.enqueue(connection, Outgoing::Message(message.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use zts_apigw::quotas::{IDLE_TIMEOUT, MAX_CONNECTION_AGE};

    /// The local gateway holds connections to API Gateway's quotas (`zts_apigw::quotas`;
    /// the emulation's own test says the same of it), as the ws function's records do.
    #[test]
    fn the_local_gateway_defaults_to_api_gateways_quotas() {
        let local = crate::SocketLimits::default();
        assert_eq!(
            (local.idle, local.max_age),
            (IDLE_TIMEOUT, MAX_CONNECTION_AGE)
        );
        assert_eq!(ws::CONNECTION_TTL_SECONDS, 2 * 60 * 60);
    }
}
