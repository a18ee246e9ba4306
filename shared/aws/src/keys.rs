//! [`KeyStore`] on DynamoDB: the ApiKeys table (keys by hash, rate windows, tickets). Its
//! own type, so a caller that needs only keys (the authorizer, `zts keys`) names only
//! that table.

use super::errors;
use super::item::{self, Item, key, keyed, n};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;
use zts_domain::auth::{self, ApiKeyRecord, Limits, RateDecision, TicketRecord};
use zts_domain::clock::Timestamp;
use zts_domain::items::{API_KEY_SK as KEY_SK, RATE_SK, RateWindow, TICKET_SK, ticket_pk};
use zts_domain::ports::{KeyStore, StoreError};

use crate::optimistic::Rounds;

/// The ApiKeys table.
#[derive(Debug, Clone)]
pub struct DynamoKeyStore {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl DynamoKeyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoKeyStore {
            client,
            table: table.into(),
        }
    }

    pub(crate) async fn key_get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        super::get_item(&self.client, &self.table, key(pk, sk)).await
    }

    async fn key_put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(errors::sdk)?;
        Ok(())
    }

    /// Keys whose hash starts with `prefix` (all keys for ""). An admin listing over a
    /// small table: the one Scan in the adapters, never on a request path.
    async fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :key AND begins_with(pk, :prefix)")
                .expression_attribute_values(":key", item::s(KEY_SK))
                .expression_attribute_values(":prefix", item::s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(errors::sdk)?;
            for it in page.items.unwrap_or_default() {
                out.push(item::decode(it)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl KeyStore for DynamoKeyStore {
    async fn put_key(&self, key: ApiKeyRecord) -> Result<(), StoreError> {
        self.key_put(keyed(&key.key_hash, KEY_SK, &key)?).await
    }

    async fn get_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.key_get(key_hash, KEY_SK)
            .await?
            .map(item::decode)
            .transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys = self.keys_with_prefix("").await?;
        keys.sort_by(|a, b| a.key_hash.cmp(&b.key_hash));
        Ok(keys)
    }

    async fn revoke_key(
        &self,
        key_id: &str,
        at: Timestamp,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let Some(prefix) = auth::key_id_prefix(key_id) else {
            return Ok(None);
        };
        let mut matches = self.keys_with_prefix(&prefix).await?;
        // None, or an ambiguous prefix: revoke nothing rather than the wrong key.
        if matches.len() != 1 {
            return Ok(None);
        }
        let mut key = matches.remove(0);
        if key.revoke(at) {
            self.put_key(key.clone()).await?;
        }
        Ok(Some(key))
    }

    async fn acquire(
        &self,
        key_hash: &str,
        limits: Limits,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        let now_ns = auth::epoch_nanos(now);
        let mut rounds = Rounds::new("the rate window kept changing; retry");
        loop {
            rounds.next().await?;
            let window: Option<RateWindow> = self
                .key_get(key_hash, RATE_SK)
                .await?
                .map(item::decode)
                .transpose()?;
            let read = window.as_ref().and_then(|w| w.tat_ns);
            let (decision, next) = auth::gcra(read, now_ns, limits);
            let Some(tat_ns) = next else {
                return Ok(decision);
            };
            let item = keyed(key_hash, RATE_SK, &RateWindow::at(tat_ns))?;
            let mut put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item));
            // Optimistic: the window must still be the one read.
            put = match (&window, read) {
                (Some(_), Some(old)) => put
                    .condition_expression("tat_ns = :old")
                    .expression_attribute_values(":old", n(old)),
                (Some(_), None) => put.condition_expression("attribute_not_exists(tat_ns)"),
                (None, _) => put.condition_expression("attribute_not_exists(pk)"),
            };
            // A lost race: read the window again.
            if errors::conditional(put.send().await)? {
                return Ok(decision);
            }
        }
    }

    async fn put_ticket(&self, ticket: TicketRecord) -> Result<(), StoreError> {
        self.key_put(keyed(&ticket_pk(&ticket.ticket_hash), TICKET_SK, &ticket)?)
            .await
    }

    async fn consume_ticket(
        &self,
        ticket_hash: &str,
        now: Timestamp,
    ) -> Result<Option<TicketRecord>, StoreError> {
        // One DeleteItem returning what it deleted: two connects can never both get it.
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(&ticket_pk(ticket_hash), TICKET_SK)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(errors::sdk)?;
        let ticket: Option<TicketRecord> = out
            .attributes
            .filter(|a| !a.is_empty())
            .map(item::decode)
            .transpose()?;
        Ok(ticket.filter(|t| t.expires_at > now))
    }
}

/// The whole store answers for its ApiKeys table too, so the api and the conformance suite
/// hold one store for every port.
#[async_trait]
impl KeyStore for super::DynamoStore {
    async fn put_key(&self, key: ApiKeyRecord) -> Result<(), StoreError> {
        self.keys().put_key(key).await
    }

    async fn get_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.keys().get_key(key_hash).await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.keys().list_keys().await
    }

    async fn revoke_key(
        &self,
        key_id: &str,
        at: Timestamp,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.keys().revoke_key(key_id, at).await
    }

    async fn acquire(
        &self,
        key_hash: &str,
        limits: Limits,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        self.keys().acquire(key_hash, limits, now).await
    }

    async fn put_ticket(&self, ticket: TicketRecord) -> Result<(), StoreError> {
        self.keys().put_ticket(ticket).await
    }

    async fn consume_ticket(
        &self,
        ticket_hash: &str,
        now: Timestamp,
    ) -> Result<Option<TicketRecord>, StoreError> {
        self.keys().consume_ticket(ticket_hash, now).await
    }
}
