//! [`ProjectStore`] on DynamoDB: creates and step commits are single TransactWriteItems
//! with conditions, whose cancellation reasons tell "this very commit is already stored"
//! from a real conflict; listing goes through the sparse owner index and the reconciler's
//! question through the sparse pending-run index (no Scan).

use super::artifacts;
use super::errors::{self, Built, Reason};
use super::item::{self, Item, key, keyed, n, s};
use super::{DynamoStore, OWNER_INDEX, PENDING_INDEX};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, DeleteRequest, KeysAndAttributes, Put, TransactWriteItem, WriteRequest,
};
use std::collections::HashMap;
use zts_domain::clock::{self, Timestamp};
use zts_domain::events::Event;
use zts_domain::idempotency::{IdempotencyClaim, IdempotencyRecord};
use zts_domain::ids::{Owner, ProjectId};
use zts_domain::items;
use zts_domain::ports::{
    CommitOutcome, CreateOutcome, NewProject, Page, PageRequest, ProjectStore, PutArtifactOutcome,
    StoreError, events_page_limit,
};
use zts_domain::project::{Artifact, ProjectMeta, ProjectView, State, StepName, StoredInput};
use zts_domain::transition::{self, Applied, StepCommit};

use crate::optimistic::Rounds;

// Each transaction's actions by position: DynamoDB answers a cancellation with one reason
// per action, in the order the actions were sent.
/// Create: META (must not exist), INPUT, EVENT#1, then the idempotency claim.
const CREATE_META: usize = 0;
const CREATE_CLAIM: usize = 3;
/// Artifact: the project exists, then the artifact (first write wins).
const ARTIFACT_PROJECT_EXISTS: usize = 0;
const ARTIFACT_PUT: usize = 1;
/// Step commit: META (at the version read), then the event, then (a step's success) its
/// artifact.
const COMMIT_META: usize = 0;
const COMMIT_EVENT: usize = 1;

/// A step commit's end: its outcome, or (a success carrying its artifact) an artifact of
/// that step already stored, so the success must name the stored one's type.
enum Carried {
    Outcome(CommitOutcome),
    ArtifactExists,
}

/// The outcome of a TransactWriteItems: done, or cancelled with one reason per action.
enum Transact {
    Done,
    Cancelled(Vec<Reason>),
}

impl DynamoStore {
    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.tables.projects)
            .set_item(Some(item));
        if let Some(c) = condition {
            put = put.condition_expression(c);
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().built()?)
            .build())
    }

    async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<Transact, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => Ok(Transact::Done),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => Ok(
                    Transact::Cancelled(errors::reasons(c.cancellation_reasons())),
                ),
                _ => Err(errors::sdk(e)),
            },
        }
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get_item(&self.tables.projects, key(pk, sk)).await
    }

    async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get(pk, sk).await?.map(item::decode).transpose()
    }

    fn meta_item(&self, meta: &ProjectMeta) -> Result<Item, StoreError> {
        let mut item = self.project_item(
            &items::project_pk(&meta.project_id),
            items::META,
            meta,
            meta.updated_at,
        )?;
        if meta.is_deleted() {
            // A tombstone leaves the owner index and waits in the sparse index the purge
            // queries, by when it was deleted.
            item.insert("gsi2pk".into(), s(items::deleted_pk(&meta.project_id)));
            item.insert(
                "gsi2sk".into(),
                s(items::pending_sk(&meta.updated_at, &meta.project_id)),
            );
            return Ok(item);
        }
        // The sparse owner index: only META items carry these.
        item.insert("gsi1pk".into(), s(meta.owner.as_str()));
        item.insert(
            "gsi1sk".into(),
            s(items::created_key(&meta.created_at, &meta.project_id)),
        );
        // The sparse pending-run index: only while CREATED, so it holds the few projects
        // the reconciler may have to look at, and a Put of META removes the entry when the
        // first step starts.
        if meta.state == State::Created {
            item.insert("gsi2pk".into(), s(items::pending_pk(&meta.project_id)));
            item.insert(
                "gsi2sk".into(),
                s(items::pending_sk(&meta.run_claimed_at(), &meta.project_id)),
            );
        }
        Ok(item)
    }

    /// A live idempotency record decides a create: replay (same request) or conflict.
    /// The project a live record under this claim's key names, if the request is the
    /// same ([`IdempotencyClaim::replay_of`]).
    async fn replay(
        &self,
        owner: &Owner,
        claim: &IdempotencyClaim,
    ) -> Result<Option<CreateOutcome>, StoreError> {
        let record: Option<IdempotencyRecord> = self
            .get_as(
                &items::idempotency_pk(owner, &claim.key_hash),
                items::IDEMPOTENCY,
            )
            .await?;
        let Some(project_id) = claim.replay_of(record, clock::now())? else {
            return Ok(None);
        };
        let meta: Option<ProjectMeta> = self
            .get_as(&items::project_pk(&project_id), items::META)
            .await?;
        match meta.filter(|m| !m.is_gone(clock::now())) {
            Some(meta) => Ok(Some(CreateOutcome::Replayed(meta))),
            // The record outlived its project (a delete that stopped before erasing it):
            // it must not bring the project back, so it goes, and this create makes a new
            // one under the key.
            None => {
                self.delete_record_of(owner, &claim.key_hash, &project_id)
                    .await?;
                Ok(None)
            }
        }
    }

    /// Deletes the idempotency record under `key_hash` if it still names `project`.
    async fn delete_record_of(
        &self,
        owner: &Owner,
        key_hash: &str,
        project: &ProjectId,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.tables.projects)
            .set_key(Some(key(
                &items::idempotency_pk(owner, key_hash),
                items::IDEMPOTENCY,
            )))
            .condition_expression("project_id = :project")
            .expression_attribute_values(":project", s(project.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(errors::sdk(e)),
        }
    }

    /// What a stored commit still owes: a retry moves the project's items' TTL past the
    /// new run's end (retention.rs). After the claim, so only the retry that won (or a
    /// repeat of it, which finishes what a crashed one began) writes; an error reaches the
    /// caller, whose repeat with the same key comes back here.
    async fn after_commit(
        &self,
        commit: &StepCommit,
        outcome: CommitOutcome,
    ) -> Result<CommitOutcome, StoreError> {
        if matches!(commit.transition, transition::Transition::Retried) {
            self.refresh_ttl(&items::project_pk(&commit.project_id), commit.at)
                .await?;
        }
        Ok(outcome)
    }

    /// [`ProjectStore::commit_step`], with `artifact` (if any) put in the same transaction
    /// when the commit changes META: `ArtifactExists` if one of its step is stored already.
    async fn commit_carrying(
        &self,
        commit: &StepCommit,
        artifact: Option<&Artifact>,
    ) -> Result<Carried, StoreError> {
        let pk = items::project_pk(&commit.project_id);
        // Deflated once, not on every round a lost race costs.
        let artifact_item = artifact
            .map(|a| {
                let sk = items::artifact_sk(a.step);
                Ok::<_, StoreError>(self.project_attributes(
                    &pk,
                    &sk,
                    artifacts::encode(a)?,
                    commit.at,
                ))
            })
            .transpose()?;
        let mut rounds = Rounds::new("the step commit kept conflicting; retry");
        loop {
            rounds.next().await?;
            let meta: ProjectMeta = self
                .get_as(&pk, items::META)
                .await?
                .ok_or(StoreError::NotFound)?;
            let (next, event) = match transition::apply(&meta, commit)? {
                Applied::AlreadyDone => {
                    let done = self
                        .after_commit(commit, CommitOutcome::AlreadyDone)
                        .await?;
                    return Ok(Carried::Outcome(done));
                }
                Applied::Change { mut meta, event } => {
                    self.retention.stamp(&mut meta);
                    (meta, event)
                }
            };
            // META only if nobody wrote it since we read it (its version is our token).
            let meta_put = Put::builder()
                .table_name(&self.tables.projects)
                .set_item(Some(self.meta_item(&next)?))
                .condition_expression("#version = :read")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":read", n(meta.version))
                .build()
                .built()?;
            let mut actions = vec![TransactWriteItem::builder().put(meta_put).build()];
            if let Some(event) = &event {
                actions.push(self.put(
                    self.project_item(&pk, &items::event_sk(event.seq), event, commit.at)?,
                    Some("attribute_not_exists(pk)"),
                )?);
            }
            let artifact_at = actions.len();
            if let Some(item) = &artifact_item {
                actions.push(self.put(item.clone(), Some("attribute_not_exists(pk)"))?);
            }
            let outcome = match self.transact(actions).await {
                Ok(outcome) => outcome,
                // Throttled or a server hiccup: another round, like a lost race.
                Err(e) if e.is_retryable() => continue,
                Err(e) => return Err(e),
            };
            match outcome {
                Transact::Done => {
                    let done = CommitOutcome::Committed { meta: next, event };
                    return Ok(Carried::Outcome(self.after_commit(commit, done).await?));
                }
                Transact::Cancelled(reasons) => {
                    if artifact_item.is_some()
                        && reasons.get(artifact_at) == Some(&Reason::ConditionFailed)
                    {
                        return Ok(Carried::ArtifactExists);
                    }
                    // META moved on (its version, or the seq we minted, is taken): re-read;
                    // if it was this very commit, `apply` now says `AlreadyDone`.
                    let lost_race = reasons.get(COMMIT_META) == Some(&Reason::ConditionFailed)
                        || reasons.get(COMMIT_EVENT) == Some(&Reason::ConditionFailed)
                        || reasons.contains(&Reason::Conflict);
                    if !lost_race {
                        return Err(StoreError::Backend(format!(
                            "step commit cancelled: {reasons:?}"
                        )));
                    }
                }
            }
        }
    }

    async fn delete_key(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.projects)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(errors::sdk)?;
        Ok(())
    }
}

#[async_trait]
impl ProjectStore for DynamoStore {
    async fn create_project(&self, new: NewProject) -> Result<CreateOutcome, StoreError> {
        if let Some(claim) = &new.idempotency
            && let Some(replayed) = self.replay(&new.owner, claim).await?
        {
            return Ok(replayed);
        }
        let meta = new.initial_meta();
        let event = new.initial_event();
        let pk = items::project_pk(&new.project_id);
        let at = new.created_at;
        let mut actions = vec![
            self.put(self.meta_item(&meta)?, Some("attribute_not_exists(pk)"))?,
            self.put(self.project_item(&pk, items::INPUT, &new.input, at)?, None)?,
            self.put(
                self.project_item(&pk, &items::event_sk(1), &event, at)?,
                None,
            )?,
        ];
        if let Some(claim) = &new.idempotency {
            let item = keyed(
                &items::idempotency_pk(&new.owner, &claim.key_hash),
                items::IDEMPOTENCY,
                &claim.record(&new.project_id),
            )?;
            // A record may be replaced once expired (TTL deletes lazily, so check it here).
            let mut put = Put::builder()
                .table_name(&self.tables.projects)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(clock::now().timestamp()));
            put = put.return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::None,
            );
            actions.push(
                TransactWriteItem::builder()
                    .put(put.build().built()?)
                    .build(),
            );
        }
        let mut rounds = Rounds::new("the create kept conflicting; retry");
        loop {
            rounds.next().await?;
            match self.transact(actions.clone()).await? {
                Transact::Done => return Ok(CreateOutcome::Created(meta)),
                Transact::Cancelled(reasons) => {
                    if reasons.get(CREATE_META) == Some(&Reason::ConditionFailed) {
                        return Err(StoreError::AlreadyExists);
                    }
                    if let (Some(Reason::ConditionFailed), Some(claim)) =
                        (reasons.get(CREATE_CLAIM), &new.idempotency)
                    {
                        // Another create with this key won the race: replay it or conflict.
                        return match self.replay(&new.owner, claim).await? {
                            Some(replayed) => Ok(replayed),
                            None => Err(StoreError::Unavailable(
                                "an idempotency record vanished; retry".into(),
                            )),
                        };
                    }
                    if reasons.contains(&Reason::Conflict) {
                        continue;
                    }
                    return Err(StoreError::Backend(format!(
                        "create cancelled: {reasons:?}"
                    )));
                }
            }
        }
    }

    async fn get_meta(&self, id: &ProjectId) -> Result<Option<ProjectMeta>, StoreError> {
        self.get_as(&items::project_pk(id), items::META).await
    }

    async fn get_input(&self, id: &ProjectId) -> Result<Option<StoredInput>, StoreError> {
        self.get_as(&items::project_pk(id), items::INPUT).await
    }

    async fn get_project(
        &self,
        owner: &Owner,
        id: &ProjectId,
    ) -> Result<Option<ProjectView>, StoreError> {
        let Some(meta) = self
            .get_meta(id)
            .await?
            .filter(|m| &m.owner == owner && !m.is_gone(clock::now()))
        else {
            return Ok(None);
        };
        let input = self
            .get_input(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a project without INPUT".into()))?;
        let out = self
            .client
            .query()
            .table_name(&self.tables.projects)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(items::project_pk(id)))
            .expression_attribute_values(":prefix", s(items::ARTIFACT_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(errors::sdk)?;
        let artifacts = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(artifacts::decode)
            .collect::<Result<_, _>>()?;
        Ok(Some(ProjectView {
            meta,
            input,
            artifacts,
        }))
    }

    async fn put_artifact(
        &self,
        id: &ProjectId,
        artifact: Artifact,
    ) -> Result<PutArtifactOutcome, StoreError> {
        let pk = items::project_pk(id);
        let sk = items::artifact_sk(artifact.step);
        let exists = ConditionCheck::builder()
            .table_name(&self.tables.projects)
            .set_key(Some(key(&pk, items::META)))
            // A deleted project takes no new text (a step finishing after the delete).
            .condition_expression("attribute_exists(pk) AND #state <> :deleted")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":deleted", s(State::Deleted.as_str()))
            .build()
            .built()?;
        let actions = vec![
            TransactWriteItem::builder().condition_check(exists).build(),
            self.put(
                self.project_attributes(&pk, &sk, artifacts::encode(&artifact)?, clock::now()),
                Some("attribute_not_exists(pk)"),
            )?,
        ];
        let mut rounds = Rounds::new("the artifact put kept conflicting; retry");
        loop {
            rounds.next().await?;
            match self.transact(actions.clone()).await? {
                Transact::Done => return Ok(PutArtifactOutcome::Stored),
                Transact::Cancelled(reasons) => match (
                    reasons.get(ARTIFACT_PROJECT_EXISTS),
                    reasons.get(ARTIFACT_PUT),
                ) {
                    (Some(Reason::ConditionFailed), _) => {
                        return match self.get_as::<ProjectMeta>(&pk, items::META).await? {
                            Some(meta) if meta.is_deleted() => Err(StoreError::Transition(
                                transition::TransitionError::Terminal {
                                    state: State::Deleted,
                                },
                            )),
                            _ => Err(StoreError::NotFound),
                        };
                    }
                    (_, Some(Reason::ConditionFailed)) => {
                        let existing = self
                            .get(&pk, &sk)
                            .await?
                            .map(artifacts::decode)
                            .transpose()?
                            .ok_or_else(|| StoreError::Corrupt("an artifact vanished".into()))?;
                        return Ok(PutArtifactOutcome::AlreadyStored(Box::new(existing)));
                    }
                    _ if reasons.contains(&Reason::Conflict) => continue,
                    _ => {
                        return Err(StoreError::Backend(format!(
                            "artifact put cancelled: {reasons:?}"
                        )));
                    }
                },
            }
        }
    }

    async fn get_artifact(
        &self,
        id: &ProjectId,
        step: StepName,
    ) -> Result<Option<Artifact>, StoreError> {
        self.get(&items::project_pk(id), &items::artifact_sk(step))
            .await?
            .map(artifacts::decode)
            .transpose()
    }

    async fn succeed_step(
        &self,
        artifact: Artifact,
        success: StepCommit,
    ) -> Result<(String, CommitOutcome), StoreError> {
        // One transaction: META, the step_complete event and the artifact (first write
        // wins). A deleted or superseded project refuses the success, so no text is stored
        // for it, with no ConditionCheck of its own.
        let named = success
            .clone()
            .naming_artifact(artifact.artifact_type.clone());
        match self.commit_carrying(&named, Some(&artifact)).await? {
            Carried::Outcome(CommitOutcome::AlreadyDone) => {
                let stored = self
                    .get_artifact(&success.project_id, artifact.step)
                    .await?
                    .map_or(artifact.artifact_type, |a| a.artifact_type);
                Ok((stored, CommitOutcome::AlreadyDone))
            }
            Carried::Outcome(outcome) => Ok((artifact.artifact_type, outcome)),
            // An artifact of this step is stored already: the success names its type.
            Carried::ArtifactExists => {
                let existing = self
                    .get_artifact(&success.project_id, artifact.step)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt("an artifact vanished".into()))?;
                let outcome = self
                    .commit_step(success.naming_artifact(existing.artifact_type.clone()))
                    .await?;
                Ok((existing.artifact_type, outcome))
            }
        }
    }

    async fn commit_step(&self, commit: StepCommit) -> Result<CommitOutcome, StoreError> {
        match self.commit_carrying(&commit, None).await? {
            Carried::Outcome(outcome) => Ok(outcome),
            Carried::ArtifactExists => Err(StoreError::Backend(
                "a step commit without an artifact found one".into(),
            )),
        }
    }

    async fn list_projects(
        &self,
        owner: &Owner,
        page: PageRequest,
    ) -> Result<Page<ProjectMeta>, StoreError> {
        let below = page.start_after(owner, &self.cursors)?;
        let mut query = self
            .client
            .query()
            .table_name(&self.tables.projects)
            .index_name(OWNER_INDEX)
            .scan_index_forward(false)
            .limit(page.fetch_limit() as i32)
            .expression_attribute_values(":owner", s(owner.as_str()));
        query = match &below {
            Some(position) => query
                .key_condition_expression("gsi1pk = :owner AND gsi1sk < :below")
                .expression_attribute_values(":below", s(position)),
            None => query.key_condition_expression("gsi1pk = :owner"),
        };
        let keys = query
            .send()
            .await
            .map_err(errors::sdk)?
            .items
            .unwrap_or_default();
        let rows = keys
            .into_iter()
            .map(|k| {
                let position = k.get("gsi1sk").and_then(|v| v.as_s().ok()).cloned();
                position
                    .map(|p| (p, k))
                    .ok_or_else(|| StoreError::Corrupt("an owner index key without gsi1sk".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keys = page.page_of(rows, owner, &self.cursors);
        let mut items = self.batch_get_meta(&keys.items).await?;
        // Past its retention is gone, though TTL has yet to delete it (up to ~48 hours).
        let now = clock::now();
        items.retain(|m| !m.is_expired(now));
        Ok(Page {
            items,
            next_cursor: keys.next_cursor,
        })
    }

    async fn events_after(
        &self,
        id: &ProjectId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.projects)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(items::project_pk(id)))
            .expression_attribute_values(":from", s(items::event_sk(after_seq.saturating_add(1))))
            .expression_attribute_values(":to", s(items::event_sk(9_999_999_999)))
            .consistent_read(true)
            .limit(events_page_limit(limit) as i32)
            .send()
            .await
            .map_err(errors::sdk)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(item::decode)
            .collect()
    }

    async fn stale_runs(
        &self,
        claimed_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError> {
        let keys = self
            .oldest_in_shards(items::pending_shard_pk, &claimed_before, limit)
            .await?;
        // The index is eventually consistent: META, read strongly, has the last word.
        Ok(self
            .batch_get_meta(&keys)
            .await?
            .into_iter()
            .filter(|m| m.run_is_stale(claimed_before))
            .collect())
    }

    async fn erase_contents(&self, tombstone: &ProjectMeta) -> Result<(), StoreError> {
        let pk = items::project_pk(&tombstone.project_id);
        self.delete_key(&pk, items::INPUT).await?;
        for step in StepName::ALL {
            self.delete_key(&pk, &items::artifact_sk(step)).await?;
        }
        if let Some(hash) = &tombstone.idempotency_key_hash {
            self.delete_record_of(&tombstone.owner, hash, &tombstone.project_id)
                .await?;
        }
        Ok(())
    }

    async fn deleted_projects(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError> {
        let keys = self
            .oldest_in_shards(items::deleted_shard_pk, &before, limit)
            .await?;
        Ok(self
            .batch_get_meta(&keys)
            .await?
            .into_iter()
            .filter(ProjectMeta::is_deleted)
            .collect())
    }

    async fn purge_project(&self, id: &ProjectId, batch: u32) -> Result<bool, StoreError> {
        let pk = items::project_pk(id);
        match self.get_as::<ProjectMeta>(&pk, items::META).await? {
            None => return Ok(true),
            Some(meta) if !meta.is_deleted() => return Ok(false),
            Some(_) => {}
        }
        // BatchWriteItem takes at most 25 requests.
        let batch = batch.clamp(1, 25);
        let out = self
            .client
            .query()
            .table_name(&self.tables.projects)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(&pk))
            .projection_expression("pk, sk")
            .limit(batch as i32 + 1)
            .send()
            .await
            .map_err(errors::sdk)?;
        let others: Vec<Item> = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(|k| {
                k.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) != Some(items::META)
            })
            .take(batch as usize)
            .collect();
        if others.is_empty() {
            // Only META is left: the tombstone goes last, and only while it is one.
            let result = self
                .client
                .delete_item()
                .table_name(&self.tables.projects)
                .set_key(Some(key(&pk, items::META)))
                .condition_expression("#state = :deleted")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":deleted", s(State::Deleted.as_str()))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(true),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Ok(false)
                }
                Err(e) => Err(errors::sdk(e)),
            };
        }
        let mut requests: Vec<WriteRequest> = others
            .into_iter()
            .map(|k| {
                DeleteRequest::builder()
                    .set_key(Some(k))
                    .build()
                    .built()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
            })
            .collect::<Result<_, _>>()?;
        // Unprocessed items are retried on the same rounds as a lost race.
        let mut rounds = Rounds::new("a purge's batch kept coming back unprocessed; retry");
        while !requests.is_empty() {
            rounds.next().await?;
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.tables.projects, requests.clone())
                .send()
                .await
                .map_err(errors::sdk)?;
            requests = out
                .unprocessed_items
                .unwrap_or_default()
                .remove(&self.tables.projects)
                .unwrap_or_default();
        }
        Ok(false)
    }

    /// None: DynamoDB's TTL deletes an expired project's items by itself (every item
    /// carries one, `retention.rs`), at no write cost; readers already treat it as gone.
    async fn expired_projects(
        &self,
        _now: Timestamp,
        _limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError> {
        Ok(Vec::new())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.get("PING", "PING").await.map(|_| ())
    }
}

impl DynamoStore {
    /// The keys of the sparse `by-pending-run` index under `shard_pk(0..8)` whose sort key
    /// (a time, then the id) is before `before`, oldest first, at most `limit`: the pending
    /// runs' and the tombstones' question, one Query per shard.
    async fn oldest_in_shards(
        &self,
        shard_pk: fn(u32) -> String,
        before: &Timestamp,
        limit: u32,
    ) -> Result<Vec<Item>, StoreError> {
        let cutoff = clock::format(before);
        let mut keys: Vec<(String, Item)> = Vec::new();
        for shard in 0..items::PENDING_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.tables.projects)
                .index_name(PENDING_INDEX)
                .key_condition_expression("gsi2pk = :shard AND gsi2sk < :cutoff")
                .expression_attribute_values(":shard", s(shard_pk(shard)))
                .expression_attribute_values(":cutoff", s(&cutoff))
                .limit(limit as i32)
                .send()
                .await
                .map_err(errors::sdk)?;
            for k in out.items.unwrap_or_default() {
                let position = k
                    .get("gsi2sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .ok_or_else(|| StoreError::Corrupt("an index key without gsi2sk".into()))?;
                keys.push((position, k));
            }
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        keys.truncate(limit as usize);
        Ok(keys.into_iter().map(|(_, k)| k).collect())
    }

    /// META items for index keys, in the keys' order (BatchGetItem answers in any order and
    /// may leave keys unprocessed).
    async fn batch_get_meta(&self, index_keys: &[Item]) -> Result<Vec<ProjectMeta>, StoreError> {
        if index_keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<Item> = index_keys
            .iter()
            .filter_map(|k| {
                k.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .map(|pk| key(pk, items::META))
            })
            .collect();
        let mut found: HashMap<String, ProjectMeta> = HashMap::new();
        let mut pending = wanted.clone();
        // Unprocessed keys are read again on the same rounds as a lost race; a list never
        // silently leaves out a project it could not read.
        let mut rounds = Rounds::new("a batch read kept coming back unprocessed; retry");
        while !pending.is_empty() {
            rounds.next().await?;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending.clone()))
                .consistent_read(true)
                .build()
                .built()?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.tables.projects, request)
                .send()
                .await
                .map_err(errors::sdk)?;
            for item in out
                .responses
                .unwrap_or_default()
                .remove(&self.tables.projects)
                .unwrap_or_default()
            {
                let pk = item
                    .get("pk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                found.insert(pk, item::decode(item)?);
            }
            pending = out
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.tables.projects)
                .and_then(|k| k.keys().to_vec().into())
                .unwrap_or_default();
        }
        Ok(wanted
            .iter()
            .filter_map(|k| {
                k.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|pk| found.remove(pk))
            })
            .collect())
    }
}
