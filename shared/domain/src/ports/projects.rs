use super::StoreError;
use crate::clock::Timestamp;
use crate::cursor::CursorCodec;
use crate::events::{Event, EventBody};
use crate::idempotency::IdempotencyClaim;
use crate::ids::{Owner, ProjectId};
use crate::project::{Artifact, ProjectMeta, ProjectView, State, StepName, StoredInput};
use crate::transition::StepCommit;
use crate::workflows::WorkflowRef;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Everything a create writes, in one atomic write: META, INPUT, the first event and,
/// when the client sent a key, the idempotency record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub project_id: ProjectId,
    pub owner: Owner,
    /// Already redacted: PII never reaches a store.
    pub input: StoredInput,
    pub correlation_id: String,
    pub created_at: Timestamp,
    pub idempotency: Option<IdempotencyClaim>,
    /// The workflow the create chose.
    pub workflow: WorkflowRef,
}

impl NewProject {
    pub fn initial_meta(&self) -> ProjectMeta {
        ProjectMeta {
            project_id: self.project_id.clone(),
            owner: self.owner.clone(),
            name: self.input.input().name.clone(),
            state: State::Created,
            progress: 0,
            current_step: None,
            version: 1,
            last_seq: 1,
            correlation_id: self.correlation_id.clone(),
            // The create claims run 1 in the same atomic write (ARCHITECTURE.md §7).
            run: 1,
            run_claimed_at: Some(self.created_at),
            requested_run: 1,
            idempotency_key_hash: self.idempotency.as_ref().map(|c| c.key_hash.clone()),
            runs: BTreeMap::new(),
            history: Vec::new(),
            created_at: self.created_at,
            updated_at: self.created_at,
            error: None,
            retain_until: None,
            workflow: self.workflow.clone(),
            last_retry: None,
        }
    }

    /// Event 1: `status_update` CREATED, progress 0.
    pub fn initial_event(&self) -> Event {
        Event {
            body: EventBody::StatusUpdate {
                state: State::Created,
                progress: 0,
                current_step: None,
                error: None,
                workflow: Some(self.workflow.clone()),
            },
            project_id: self.project_id.clone(),
            seq: 1,
            ts: self.created_at,
            correlation_id: self.correlation_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    Created(ProjectMeta),
    /// The same idempotency key and body were seen before: this is that project, as it is now.
    Replayed(ProjectMeta),
}

impl CreateOutcome {
    pub fn meta(&self) -> &ProjectMeta {
        match self {
            CreateOutcome::Created(m) | CreateOutcome::Replayed(m) => m,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommitOutcome {
    /// Written now. `event` is the event it minted, if the transition emits one.
    Committed {
        meta: Box<ProjectMeta>,
        event: Option<Event>,
    },
    /// This very commit's effect is already stored (META shows it); nothing written.
    AlreadyDone,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PutArtifactOutcome {
    Stored,
    /// A previous attempt stored this step's artifact first; it is kept, and returned.
    AlreadyStored(Box<Artifact>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    pub fn clamped_limit(&self) -> u32 {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }

    /// The listing position this page starts after, from the caller's cursor (one the
    /// codec issued to this owner, or `InvalidCursor`).
    pub fn start_after(
        &self,
        owner: &Owner,
        cursors: &CursorCodec,
    ) -> Result<Option<String>, StoreError> {
        self.cursor
            .as_deref()
            .map(|c| cursors.decode(owner, c))
            .transpose()
    }

    /// How many rows a store fetches: one more than the page, only to learn whether
    /// another page follows.
    pub fn fetch_limit(&self) -> u32 {
        self.clamped_limit() + 1
    }

    /// The page from rows fetched with [`PageRequest::fetch_limit`], each with its listing
    /// position: the extra row is dropped, and the next cursor points after the last row
    /// kept. One rule for every store (ARCHITECTURE.md §6).
    pub fn page_of<T>(
        &self,
        mut rows: Vec<(String, T)>,
        owner: &Owner,
        cursors: &CursorCodec,
    ) -> Page<T> {
        let limit = self.clamped_limit() as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = more
            .then(|| {
                rows.last()
                    .map(|(position, _)| cursors.encode(owner, position))
            })
            .flatten();
        Page {
            items: rows.into_iter().map(|(_, item)| item).collect(),
            next_cursor,
        }
    }
}

/// The most events one `events_after` call returns, whatever the caller asks.
pub const EVENTS_PAGE_MAX: u32 = 1_000;

/// The events page size a store uses for a requested `limit`: at least 1, at most
/// [`EVENTS_PAGE_MAX`].
pub fn events_page_limit(limit: u32) -> u32 {
    limit.clamp(1, EVENTS_PAGE_MAX)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The Projects table (ARCHITECTURE.md §3).
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// One atomic write of META, INPUT, EVENT#1 and the idempotency record. The same key
    /// with the same request replays; with another request it is `IdempotencyConflict`;
    /// an id already taken is `AlreadyExists`. On any error nothing is written.
    async fn create_project(&self, new: NewProject) -> Result<CreateOutcome, StoreError>;

    /// META, whoever owns it (step handlers run with the workflow's authority).
    async fn get_meta(&self, id: &ProjectId) -> Result<Option<ProjectMeta>, StoreError>;

    async fn get_input(&self, id: &ProjectId) -> Result<Option<StoredInput>, StoreError>;

    /// META, INPUT and artifacts, but only if `owner` owns the project: someone else's
    /// project is `None`, exactly like a missing one.
    async fn get_project(
        &self,
        owner: &Owner,
        id: &ProjectId,
    ) -> Result<Option<ProjectView>, StoreError>;

    /// Stores a step's artifact unless one is already stored (first write wins, so a
    /// retried step never replaces what a client may already have read).
    async fn put_artifact(
        &self,
        id: &ProjectId,
        artifact: Artifact,
    ) -> Result<PutArtifactOutcome, StoreError>;

    async fn get_artifact(
        &self,
        id: &ProjectId,
        step: StepName,
    ) -> Result<Option<Artifact>, StoreError>;

    /// A step's success: stores its artifact (first write wins, as [`Self::put_artifact`])
    /// and commits `success`, a [`crate::transition::Transition::StepSucceeded`], naming the
    /// stored artifact's type. Returns that type and the commit's outcome; `NotFound` for a
    /// missing project. The default makes the two writes in turn, each idempotent; a store
    /// that can make them one atomic write overrides it (both do: the embedded store one
    /// write call instead of two per step, README: Benchmark; DynamoDB one transaction of
    /// META, the event and the artifact, README: What a project costs).
    async fn succeed_step(
        &self,
        artifact: Artifact,
        success: StepCommit,
    ) -> Result<(String, CommitOutcome), StoreError> {
        let stored = match self
            .put_artifact(&success.project_id, artifact.clone())
            .await?
        {
            PutArtifactOutcome::Stored => artifact.artifact_type,
            PutArtifactOutcome::AlreadyStored(existing) => existing.artifact_type,
        };
        let outcome = self
            .commit_step(success.naming_artifact(stored.clone()))
            .await?;
        Ok((stored, outcome))
    }

    /// Applies [`crate::transition::apply`] to META and writes META and the event it mints
    /// atomically, conditional on META not having changed meanwhile. A repeated commit is
    /// `AlreadyDone`: `apply` recognises it from META (its effect is there: a step started
    /// at this attempt, this attempt's failure recorded, the state reached; a retry by its
    /// key), so no record of it is written beside META.
    async fn commit_step(&self, commit: StepCommit) -> Result<CommitOutcome, StoreError>;

    /// The owner's projects, newest first.
    async fn list_projects(
        &self,
        owner: &Owner,
        page: PageRequest,
    ) -> Result<Page<ProjectMeta>, StoreError>;

    /// Stored events with seq > `after_seq`, in seq order, at most `limit`.
    async fn events_after(
        &self,
        id: &ProjectId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;

    /// Projects still CREATED whose current run was claimed before `claimed_before`,
    /// oldest claim first, at most `limit`: runs whose start was lost, or that ended before
    /// their first step. The reconciler's question (ARCHITECTURE.md §7); answered from an
    /// index, never a scan.
    async fn stale_runs(
        &self,
        claimed_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError>;

    /// Removes what holds the idea's text from a deleted project — INPUT, the artifacts,
    /// and the idempotency record its create left (if it still names this project) — so
    /// none is left once the delete answers. `tombstone` is its DELETED META. Repeatable.
    async fn erase_contents(&self, tombstone: &ProjectMeta) -> Result<(), StoreError>;

    /// DELETED projects whose tombstone was written before `before`, oldest first, at most
    /// `limit`: the purge's question, answered from an index, never a scan.
    async fn deleted_projects(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError>;

    /// Removes up to `batch` of a deleted project's remaining items (events,
    /// subscriptions; found by its partition, never a scan), and META itself once
    /// nothing else is left. True when the project is gone entirely. A project that is not
    /// a tombstone is left alone (`Ok(false)`). Repeatable after a crash half-way.
    async fn purge_project(&self, id: &ProjectId, batch: u32) -> Result<bool, StoreError>;

    /// Ended projects past their retention at `now` (`retain_until` passed), oldest first,
    /// at most `limit`: what the local sweeper turns into tombstones and purges, from an
    /// index, never a scan. A store whose items expire by themselves returns none
    /// (DynamoDB: every item carries a TTL, `crate::retention`).
    async fn expired_projects(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError>;

    /// Readiness: the store answers a trivial read.
    async fn ping(&self) -> Result<(), StoreError>;

    /// How many projects are in each state, when the store can tell from an index
    /// (`zts health`); `None` where counting would need a scan (DynamoDB).
    async fn count_by_state(&self) -> Result<Option<BTreeMap<State, u64>>, StoreError> {
        Ok(None)
    }
}
