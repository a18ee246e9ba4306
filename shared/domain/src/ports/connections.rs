use super::StoreError;
use crate::clock::Timestamp;
use crate::ids::{ConnectionId, Owner, ProjectId};
use crate::items::SubscriptionRecord;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A WebSocket connection (the Connections table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub connection_id: ConnectionId,
    pub owner: Owner,
    /// Where pushes for this connection go (the management API endpoint).
    pub endpoint: String,
    pub connected_at: Timestamp,
    /// The projects it follows, kept here so `$disconnect` can remove every `SUB#` item.
    pub subscriptions: Vec<ProjectId>,
    /// Epoch seconds after which the record may be dropped (API Gateway's 2 h limit).
    pub ttl: i64,
}

/// How many connections are open and how many subscriptions they hold, now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenTotals {
    pub connections: u64,
    pub subscriptions: u64,
}

/// Connections and their subscriptions. A subscription is a `SUB#<connection>` item in
/// the project's partition (found by the broadcaster) mirrored in the connection record
/// (found by `$disconnect`).
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn put_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError>;

    async fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>, StoreError>;

    /// Removes the connection and all its subscriptions. Removing a missing one is fine.
    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError>;

    /// Adds a subscription whose replay is about to be sent (no delivery mark yet);
    /// `NotFound` if the connection is gone. Returns how many projects the connection now
    /// follows. Subscribing again to a followed project counts once and starts its
    /// delivery over: a new replay follows.
    async fn subscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<usize, StoreError>;

    async fn unsubscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<(), StoreError>;

    /// The subscriptions to `project`, with their delivery marks (strongly consistent).
    async fn subscribers(&self, project: &ProjectId)
    -> Result<Vec<SubscriptionRecord>, StoreError>;

    /// One subscription (strongly consistent); `None` if there is none.
    async fn subscription(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
    ) -> Result<Option<SubscriptionRecord>, StoreError>;

    /// Moves the subscription's delivery mark to `through`, only if it is still
    /// `expected` (`None`: no mark yet, the replay is being sent). `Ok(false)`, nothing
    /// written, when it is not: the connection subscribed again, unsubscribed or went.
    async fn mark_delivered(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
        expected: Option<u64>,
        through: u64,
    ) -> Result<bool, StoreError>;

    /// The connections open at `now` (a record past its TTL is a connection whose
    /// `$disconnect` was lost: not counted) and the subscriptions they hold: the
    /// `*_active` gauges, sampled by the reconciler's pass. On DynamoDB a Scan of the
    /// Connections table (one small item per open socket), never of Projects.
    async fn open_totals(&self, now: Timestamp) -> Result<OpenTotals, StoreError>;
}
