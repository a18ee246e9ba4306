//! Retention on DynamoDB: every item of a project carries a `ttl` (the table's TTL
//! attribute) no earlier than the project's `retain_until`, so TTL removes a project that
//! ended long enough ago without a write of ours (zts_domain::retention says why a stamp
//! at write time is enough, and when a retry must refresh it).

use super::DynamoStore;
use super::errors::{self, Built, Reason};
use super::item::{Item, key, keyed, n, s};
use crate::optimistic::Rounds;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::Serialize;
use zts_domain::clock::Timestamp;
use zts_domain::items;
use zts_domain::ports::StoreError;

/// The table's TTL attribute (template.yaml `TimeToLiveSpecification`).
pub const TTL_ATTRIBUTE: &str = "ttl";

impl DynamoStore {
    /// An item of a project's partition, with the TTL of an item written at `written_at`
    /// (none when projects are kept forever).
    pub(crate) fn project_item<T: Serialize>(
        &self,
        pk: &str,
        sk: &str,
        value: &T,
        written_at: Timestamp,
    ) -> Result<Item, StoreError> {
        Ok(self.project_attributes(pk, sk, keyed(pk, sk, value)?, written_at))
    }

    /// `attributes` keyed as an item of the partition `pk`, with its TTL.
    pub(crate) fn project_attributes(
        &self,
        pk: &str,
        sk: &str,
        mut item: Item,
        written_at: Timestamp,
    ) -> Item {
        item.insert("pk".into(), s(pk));
        item.insert("sk".into(), s(sk));
        if let Some(ttl) = self.retention.item_ttl(written_at) {
            item.insert(TTL_ATTRIBUTE.into(), n(ttl));
        }
        item
    }

    /// Moves every item of the partition `pk` whose TTL is earlier than that of an item
    /// written `at` up to it (a retried project's run ends after `at`). Subscriptions keep
    /// their own, their connection's; META gets its own from the retry's commit. Found by
    /// Query on the partition (keys and TTL only); written as transactions of conditional
    /// Updates, up to [`UPDATES_PER_TRANSACTION`] items each, through the TransactWriteItems
    /// every function already links (an UpdateItem client would grow every zip for a
    /// call only the api makes). Each update requires the item to exist, so nothing
    /// is recreated.
    pub(crate) async fn refresh_ttl(&self, pk: &str, at: Timestamp) -> Result<(), StoreError> {
        let Some(ttl) = self.retention.item_ttl(at) else {
            return Ok(());
        };
        let mut stale = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.projects)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk))
                .projection_expression("pk, sk, #ttl")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .set_exclusive_start_key(start.take())
                .consistent_read(true)
                .send()
                .await
                .map_err(errors::sdk)?;
            for found in out.items.unwrap_or_default() {
                let Some(sk) = found.get("sk").and_then(|v| v.as_s().ok()) else {
                    continue;
                };
                let current = found
                    .get(TTL_ATTRIBUTE)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok());
                let skip = sk == items::META
                    || sk.starts_with(items::SUB_PREFIX)
                    || current.is_some_and(|c| c >= ttl);
                if !skip {
                    stale.push(sk.clone());
                }
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        for chunk in stale.chunks(UPDATES_PER_TRANSACTION) {
            self.set_ttls(pk, chunk, ttl).await?;
        }
        Ok(())
    }

    /// One transaction setting `ttl` on these items of `pk`, retried while it conflicts
    /// with another write; an item gone meanwhile (a purge) ends the refresh quietly.
    async fn set_ttls(&self, pk: &str, sks: &[String], ttl: i64) -> Result<(), StoreError> {
        let actions = sks
            .iter()
            .map(|sk| {
                let update = Update::builder()
                    .table_name(&self.tables.projects)
                    .set_key(Some(key(pk, sk)))
                    .update_expression("SET #ttl = :ttl")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                    .expression_attribute_values(":ttl", n(ttl))
                    .build()
                    .built()?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut rounds = Rounds::new("the TTL refresh kept conflicting; retry");
        loop {
            rounds.next().await?;
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let Err(e) = sent else { return Ok(()) };
            let reasons = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    errors::reasons(c.cancellation_reasons())
                }
                _ => return Err(errors::sdk(e)),
            };
            if reasons.contains(&Reason::ConditionFailed) {
                return Ok(());
            }
            if !reasons.contains(&Reason::Conflict) {
                return Err(StoreError::Backend(format!(
                    "TTL refresh cancelled: {reasons:?}"
                )));
            }
        }
    }
}

/// DynamoDB's limit on the actions of one transaction.
const UPDATES_PER_TRANSACTION: usize = 100;
