use super::StoreError;
use crate::clock::Timestamp;
use crate::ids::{ConnectionId, Owner};
use async_trait::async_trait;

/// Open WebSocket connections per owner ([`crate::slots::SlotsRecord`]): claimed at
/// connect, released at disconnect, expiring on their own when a disconnect is lost.
#[async_trait]
pub trait ConnectionSlots: Send + Sync {
    /// Claims a slot for `connection`; false when `owner` already holds `max` unexpired
    /// slots. Concurrent claims never let more than `max` through.
    async fn claim_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
        max: usize,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Frees `connection`'s slot; freeing one it does not hold is fine.
    async fn release_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
    ) -> Result<(), StoreError>;

    /// `owner`'s unexpired slots.
    async fn open_slots(&self, owner: &Owner, now: Timestamp) -> Result<usize, StoreError>;
}
