//! [`ConnectionSlots`] on DynamoDB: one item per owner in the ApiKeys table, read, changed
//! by [`SlotsRecord`]'s rules and written back only if its `version` is still the one read
//! (a conditional put), retried on a race.

use super::DynamoKeyStore;
use super::errors;
use super::item::{self, keyed, n};
use crate::optimistic::Rounds;
use async_trait::async_trait;
use zts_domain::clock::Timestamp;
use zts_domain::ids::{ConnectionId, Owner};
use zts_domain::items::{SLOTS_SK, owner_pk};
use zts_domain::ports::{ConnectionSlots, StoreError};
use zts_domain::slots::SlotsRecord;

impl DynamoKeyStore {
    async fn slots(&self, owner: &Owner) -> Result<Option<SlotsRecord>, StoreError> {
        self.key_get(&owner_pk(owner), SLOTS_SK)
            .await?
            .map(item::decode)
            .transpose()
    }

    /// Writes `record` if the stored one is still at `read_version` (or still absent).
    /// False on a lost race.
    async fn put_slots_if_unchanged(
        &self,
        owner: &Owner,
        record: &SlotsRecord,
        read_version: Option<u64>,
    ) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(keyed(&owner_pk(owner), SLOTS_SK, record)?));
        let put = match read_version {
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
            None => put.condition_expression("attribute_not_exists(pk)"),
        };
        errors::conditional(put.send().await)
    }
}

impl DynamoKeyStore {
    /// Reads the owner's slots, applies `change` (false: nothing to write, answered as
    /// false) and writes the record back if nobody changed it since the read; a lost
    /// race reads again.
    async fn update_slots(
        &self,
        owner: &Owner,
        mut change: impl FnMut(&mut SlotsRecord) -> bool + Send,
    ) -> Result<bool, StoreError> {
        let mut rounds = Rounds::new("the owner's connection slots kept changing; retry");
        loop {
            rounds.next().await?;
            let read = self.slots(owner).await?;
            let read_version = read.as_ref().map(|r| r.version);
            let mut record = read.unwrap_or_default();
            if !change(&mut record) {
                return Ok(false);
            }
            if self
                .put_slots_if_unchanged(owner, &record, read_version)
                .await?
            {
                return Ok(true);
            }
        }
    }
}

#[async_trait]
impl ConnectionSlots for DynamoKeyStore {
    async fn claim_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
        max: usize,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.update_slots(owner, |record| record.claim(connection, max, now))
            .await
    }

    async fn release_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
    ) -> Result<(), StoreError> {
        self.update_slots(owner, |record| record.release(connection))
            .await
            .map(|_| ())
    }

    async fn open_slots(&self, owner: &Owner, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self.slots(owner).await?.map_or(0, |r| r.open(now)))
    }
}

#[async_trait]
impl ConnectionSlots for super::DynamoStore {
    async fn claim_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
        max: usize,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.keys().claim_slot(owner, connection, max, now).await
    }

    async fn release_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
    ) -> Result<(), StoreError> {
        self.keys().release_slot(owner, connection).await
    }

    async fn open_slots(&self, owner: &Owner, now: Timestamp) -> Result<usize, StoreError> {
        self.keys().open_slots(owner, now).await
    }
}
