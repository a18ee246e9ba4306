use super::StoreError;
use crate::auth::{ApiKeyRecord, Limits, RateDecision, TicketRecord};
use crate::clock::Timestamp;
use async_trait::async_trait;

/// The ApiKeys table: keys (by hash), their rate-limit windows, and WebSocket tickets.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn put_key(&self, key: ApiKeyRecord) -> Result<(), StoreError>;

    async fn get_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Every key (an admin listing; small).
    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;

    /// Revokes the key whose id (hash prefix) is `key_id`; `None` if there is none.
    async fn revoke_key(
        &self,
        key_id: &str,
        at: Timestamp,
    ) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Takes one request from the key's bucket ([`crate::auth::gcra`]), atomically.
    async fn acquire(
        &self,
        key_hash: &str,
        limits: Limits,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError>;

    async fn put_ticket(&self, ticket: TicketRecord) -> Result<(), StoreError>;

    /// Deletes and returns the ticket if it exists and has not expired: a ticket works once.
    async fn consume_ticket(
        &self,
        ticket_hash: &str,
        now: Timestamp,
    ) -> Result<Option<TicketRecord>, StoreError>;
}
