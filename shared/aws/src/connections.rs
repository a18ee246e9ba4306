//! [`ConnectionStore`] on DynamoDB: the Connections table, plus `SUB#<connection>` items in
//! the project's partition (found by the broadcaster with a strongly consistent Query).

use super::DynamoStore;
use crate::optimistic::Rounds;

use super::errors::{self, Built, Reason};
use super::item::{self, Item, key, keyed, n, s};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use std::collections::HashMap;
use zts_domain::clock::{self, Timestamp};
use zts_domain::ids::{ConnectionId, ProjectId};
use zts_domain::items::{self, SubscriptionRecord};
use zts_domain::ports::{ConnectionRecord, ConnectionStore, OpenTotals, StoreError};

impl DynamoStore {
    fn connection_key(id: &ConnectionId) -> Item {
        HashMap::from([("connection_id".to_string(), s(id.as_str()))])
    }

    /// The connection record with its new subscription list, only if the list is still
    /// the one we read (its length is the optimistic-concurrency token).
    fn put_connection_if_unchanged(
        &self,
        record: &ConnectionRecord,
        read_len: usize,
    ) -> Result<TransactWriteItem, StoreError> {
        let item: Item =
            serde_dynamo::to_item(record).map_err(|e| StoreError::Backend(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.tables.connections)
            .set_item(Some(item))
            .condition_expression("attribute_exists(connection_id) AND size(subscriptions) = :len")
            .expression_attribute_values(":len", n(read_len))
            .build()
            .built()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete_sub(
        &self,
        project: &ProjectId,
        id: &ConnectionId,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.tables.projects)
            .set_key(Some(key(&items::project_pk(project), &items::sub_sk(id))))
            .build()
            .built()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs a transaction; `Ok(false)` when a condition failed or it conflicted (re-read, retry).
    async fn try_transact(&self, actions: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let reasons = errors::reasons(c.cancellation_reasons());
                    if reasons.iter().all(|r| {
                        matches!(r, Reason::None | Reason::ConditionFailed | Reason::Conflict)
                    }) {
                        Ok(false)
                    } else {
                        Err(StoreError::Backend(format!(
                            "transaction cancelled: {reasons:?}"
                        )))
                    }
                }
                _ => Err(errors::sdk(e)),
            },
        }
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn put_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError> {
        let item: Item =
            serde_dynamo::to_item(&connection).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.tables.connections)
            .set_item(Some(item))
            .send()
            .await
            .map_err(errors::sdk)?;
        Ok(())
    }

    async fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let found = self
            .get_item(&self.tables.connections, Self::connection_key(id))
            .await?;
        found.map(item::decode).transpose()
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError> {
        let mut rounds = Rounds::new("the connection kept changing while being deleted; retry");
        loop {
            rounds.next().await?;
            let Some(record) = self.get_connection(id).await? else {
                return Ok(());
            };
            let mut actions: Vec<TransactWriteItem> = record
                .subscriptions
                .iter()
                .map(|p| self.delete_sub(p, id))
                .collect::<Result<_, _>>()?;
            let delete = Delete::builder()
                .table_name(&self.tables.connections)
                .set_key(Some(Self::connection_key(id)))
                .condition_expression("size(subscriptions) = :len")
                .expression_attribute_values(":len", n(record.subscriptions.len()))
                .build()
                .built()?;
            actions.push(TransactWriteItem::builder().delete(delete).build());
            if self.try_transact(actions).await? {
                return Ok(());
            }
        }
    }

    async fn subscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<usize, StoreError> {
        let mut rounds = Rounds::new("the connection kept changing; retry");
        loop {
            rounds.next().await?;
            let Some(mut record) = self.get_connection(id).await? else {
                return Err(StoreError::NotFound);
            };
            let sub = SubscriptionRecord::replaying(id.clone(), clock::now(), record.ttl);
            let sub_item = keyed(&items::project_pk(project), &items::sub_sk(id), &sub)?;
            if record.subscriptions.contains(project) {
                // Followed already: only its delivery starts over, with a new replay.
                self.client
                    .put_item()
                    .table_name(&self.tables.projects)
                    .set_item(Some(sub_item))
                    .send()
                    .await
                    .map_err(errors::sdk)?;
                return Ok(record.subscriptions.len());
            }
            let read_len = record.subscriptions.len();
            record.subscriptions.push(project.clone());
            let put_sub = Put::builder()
                .table_name(&self.tables.projects)
                .set_item(Some(sub_item))
                .build()
                .built()?;
            let actions = vec![
                self.put_connection_if_unchanged(&record, read_len)?,
                TransactWriteItem::builder().put(put_sub).build(),
            ];
            if self.try_transact(actions).await? {
                return Ok(record.subscriptions.len());
            }
        }
    }

    async fn unsubscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<(), StoreError> {
        let mut rounds = Rounds::new("the connection kept changing; retry");
        loop {
            rounds.next().await?;
            let mut actions = vec![self.delete_sub(project, id)?];
            if let Some(mut record) = self.get_connection(id).await?
                && record.subscriptions.contains(project)
            {
                let read_len = record.subscriptions.len();
                record.subscriptions.retain(|p| p != project);
                actions.push(self.put_connection_if_unchanged(&record, read_len)?);
            }
            if self.try_transact(actions).await? {
                return Ok(());
            }
        }
    }

    async fn subscribers(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<SubscriptionRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.tables.projects)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(items::project_pk(project)))
                .expression_attribute_values(":prefix", s(items::SUB_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(errors::sdk)?;
            for item in page.items.unwrap_or_default() {
                out.push(item::decode::<SubscriptionRecord>(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn subscription(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
    ) -> Result<Option<SubscriptionRecord>, StoreError> {
        let found = self
            .get_item(
                &self.tables.projects,
                key(&items::project_pk(project), &items::sub_sk(id)),
            )
            .await?;
        found.map(item::decode).transpose()
    }

    async fn mark_delivered(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
        expected: Option<u64>,
        through: u64,
    ) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.tables.projects)
            .set_key(Some(key(&items::project_pk(project), &items::sub_sk(id))))
            .update_expression("SET delivered_through = :through")
            .expression_attribute_values(":through", n(through));
        let update = match expected {
            Some(mark) => update
                .condition_expression("attribute_exists(sk) AND delivered_through = :expected")
                .expression_attribute_values(":expected", n(mark)),
            None => update.condition_expression(
                "attribute_exists(sk) AND attribute_not_exists(delivered_through)",
            ),
        };
        errors::conditional(update.send().await)
    }

    /// A Scan of the Connections table (keys, TTL and subscriptions only), page by page:
    /// it holds one small item per open socket, so this reads about a kilobyte per
    /// connection and sampling it once a minute costs cents a month (README: Observability).
    async fn open_totals(&self, now: Timestamp) -> Result<OpenTotals, StoreError> {
        let mut totals = OpenTotals::default();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.tables.connections)
                .projection_expression("connection_id, #ttl, subscriptions")
                .expression_attribute_names("#ttl", "ttl")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(errors::sdk)?;
            for record in out.items.unwrap_or_default() {
                let ttl = record
                    .get("ttl")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0);
                if ttl <= now.timestamp() {
                    continue;
                }
                totals.connections += 1;
                totals.subscriptions += record
                    .get("subscriptions")
                    .and_then(|v| v.as_l().ok())
                    .map_or(0, |l| l.len() as u64);
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(totals),
            }
        }
    }
}
