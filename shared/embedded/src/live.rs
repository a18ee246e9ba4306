//! [`ConnectionStore`] and [`ConnectionSlots`] in memory: the local stack's live
//! WebSocket connections, their subscriptions and delivery marks, and the per-owner slots.
//!
//! Why not in the database (ARCHITECTURE.md §3): a local connection cannot outlive the
//! process whose socket it is, and only that process can push to it (its own gateway
//! answers the Management API). A record written durably would only be read by the same
//! process, and a record left by a process that stopped names a socket that no longer
//! exists. So the records live exactly as long as their sockets, and a project's events
//! cost no store reads to find their subscribers. (On AWS the records are DynamoDB items:
//! there every Lambda invocation is a new process.) Everything durable (projects, events,
//! keys, tickets, rate windows) stays in the database.

use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use zts_domain::clock::{self, Timestamp};
use zts_domain::ids::{ConnectionId, Owner, ProjectId};
use zts_domain::items::SubscriptionRecord;
use zts_domain::ports::{
    ConnectionRecord, ConnectionSlots, ConnectionStore, OpenTotals, StoreError,
};
use zts_domain::slots::SlotsRecord;

#[derive(Default)]
struct Live {
    connections: HashMap<ConnectionId, ConnectionRecord>,
    /// Per project, its subscriptions in connection-id order (the order the stores list).
    subscriptions: HashMap<ProjectId, BTreeMap<ConnectionId, SubscriptionRecord>>,
    slots: HashMap<Owner, SlotsRecord>,
}

impl Live {
    fn remove_subscription(&mut self, project: &ProjectId, id: &ConnectionId) {
        if let Some(subs) = self.subscriptions.get_mut(project) {
            subs.remove(id);
            if subs.is_empty() {
                self.subscriptions.remove(project);
            }
        }
    }
}

/// The live connections of one local stack.
#[derive(Default)]
pub struct LiveConnections {
    live: Mutex<Live>,
}

impl LiveConnections {
    pub fn new() -> Self {
        Self::default()
    }

    // Every operation is a few map lookups under the lock, never an await.
    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Connections recorded now (for tests and the shutdown summary).
    pub fn len(&self) -> usize {
        self.live().connections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl ConnectionStore for LiveConnections {
    async fn put_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError> {
        self.live()
            .connections
            .insert(connection.connection_id.clone(), connection);
        Ok(())
    }

    async fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        Ok(self.live().connections.get(id).cloned())
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError> {
        let mut live = self.live();
        if let Some(record) = live.connections.remove(id) {
            for project in &record.subscriptions {
                live.remove_subscription(project, id);
            }
        }
        Ok(())
    }

    async fn subscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<usize, StoreError> {
        let mut live = self.live();
        let record = live.connections.get_mut(id).ok_or(StoreError::NotFound)?;
        if !record.subscriptions.contains(project) {
            record.subscriptions.push(project.clone());
        }
        let (count, ttl) = (record.subscriptions.len(), record.ttl);
        // Replaced on a repeat: its delivery starts over with a new replay.
        live.subscriptions
            .entry(project.clone())
            .or_default()
            .insert(
                id.clone(),
                SubscriptionRecord::replaying(id.clone(), clock::now(), ttl),
            );
        Ok(count)
    }

    async fn unsubscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<(), StoreError> {
        let mut live = self.live();
        if let Some(record) = live.connections.get_mut(id) {
            record.subscriptions.retain(|p| p != project);
        }
        live.remove_subscription(project, id);
        Ok(())
    }

    async fn subscribers(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<SubscriptionRecord>, StoreError> {
        Ok(self
            .live()
            .subscriptions
            .get(project)
            .map(|subs| subs.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn subscription(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
    ) -> Result<Option<SubscriptionRecord>, StoreError> {
        Ok(self
            .live()
            .subscriptions
            .get(project)
            .and_then(|subs| subs.get(id))
            .cloned())
    }

    async fn mark_delivered(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
        expected: Option<u64>,
        through: u64,
    ) -> Result<bool, StoreError> {
        let mut live = self.live();
        let Some(sub) = live
            .subscriptions
            .get_mut(project)
            .and_then(|subs| subs.get_mut(id))
            .filter(|s| s.delivered_through == expected)
        else {
            return Ok(false);
        };
        sub.delivered_through = Some(through);
        Ok(true)
    }

    async fn open_totals(&self, now: Timestamp) -> Result<OpenTotals, StoreError> {
        Ok(open_totals(self.live().connections.values(), now))
    }
}

/// The totals of the records still within their TTL at `now` (shared with the embedded
/// store, so both count alike).
pub(crate) fn open_totals<'a>(
    records: impl Iterator<Item = &'a ConnectionRecord>,
    now: Timestamp,
) -> OpenTotals {
    records
        .filter(|r| r.ttl > now.timestamp())
        .fold(OpenTotals::default(), |t, r| OpenTotals {
            connections: t.connections + 1,
            subscriptions: t.subscriptions + r.subscriptions.len() as u64,
        })
}

#[async_trait]
impl ConnectionSlots for LiveConnections {
    async fn claim_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
        max: usize,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self
            .live()
            .slots
            .entry(owner.clone())
            .or_default()
            .claim(connection, max, now))
    }

    async fn release_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
    ) -> Result<(), StoreError> {
        let mut live = self.live();
        if let Some(record) = live.slots.get_mut(owner) {
            record.release(connection);
            if record.slots.is_empty() {
                live.slots.remove(owner);
            }
        }
        Ok(())
    }

    async fn open_slots(&self, owner: &Owner, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self.live().slots.get(owner).map_or(0, |r| r.open(now)))
    }
}
