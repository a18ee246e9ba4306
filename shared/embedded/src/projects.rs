//! [`ProjectStore`] on the embedded database.

use super::EmbeddedStore;
use super::db::sql_error;
use super::items_sql::{self as items_db, Index, PROJECTS};
use async_trait::async_trait;
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use zts_domain::clock::{self, Timestamp};
use zts_domain::events::Event;
use zts_domain::idempotency::IdempotencyRecord;
use zts_domain::ids::{Owner, ProjectId};
use zts_domain::items;
use zts_domain::ports::{
    CommitOutcome, CreateOutcome, NewProject, Page, PageRequest, ProjectStore, PutArtifactOutcome,
    StoreError, events_page_limit,
};
use zts_domain::project::{Artifact, ProjectMeta, ProjectView, State, StepName, StoredInput};
use zts_domain::retention::Retention;
use zts_domain::transition::{self, Applied, StepCommit};

fn meta_index<'a>(meta: &'a ProjectMeta, created_key: &'a str, expires: &'a str) -> Index<'a> {
    Index {
        // A tombstone leaves the owner's listing; the state index still finds it to purge.
        owner: (!meta.is_deleted()).then_some(meta.owner.as_str()),
        created_key: Some(created_key),
        state: Some(meta.state.as_str()),
        expires: meta.retain_until.is_some().then_some(expires),
    }
}

fn put_meta(conn: &Connection, meta: &ProjectMeta) -> Result<(), StoreError> {
    let created_key = items::created_key(&meta.created_at, &meta.project_id);
    let expires = meta
        .retain_until
        .map(|t| clock::format(&t))
        .unwrap_or_default();
    let pk = items::project_pk(&meta.project_id);
    items_db::put(
        conn,
        PROJECTS,
        &pk,
        items::META,
        meta,
        meta_index(meta, &created_key, &expires),
    )
}

fn get_meta(conn: &Connection, id: &ProjectId) -> Result<Option<ProjectMeta>, StoreError> {
    items_db::get(conn, PROJECTS, &items::project_pk(id), items::META)
}

/// A create with its items serialised up front, so the writer thread only writes.
struct PreparedCreate {
    new: NewProject,
    meta: ProjectMeta,
    event: Event,
    meta_json: String,
    input_json: String,
    event_json: String,
    record_json: Option<String>,
}

impl PreparedCreate {
    fn new(new: NewProject) -> Result<Self, StoreError> {
        let meta = new.initial_meta();
        let event = new.initial_event();
        let record_json = new
            .idempotency
            .as_ref()
            .map(|claim| items_db::encode(&claim.record(&new.project_id)))
            .transpose()?;
        Ok(PreparedCreate {
            meta_json: items_db::encode(&meta)?,
            input_json: items_db::encode(&new.input)?,
            event_json: items_db::encode(&event)?,
            record_json,
            meta,
            event,
            new,
        })
    }
}

fn create(
    conn: &Connection,
    prepared: PreparedCreate,
) -> Result<(CreateOutcome, Vec<Event>), StoreError> {
    let PreparedCreate {
        new,
        meta,
        event,
        meta_json,
        input_json,
        event_json,
        record_json,
    } = prepared;
    let now = clock::now();
    if let Some(claim) = &new.idempotency {
        let pk = items::idempotency_pk(&new.owner, &claim.key_hash);
        let record: Option<IdempotencyRecord> =
            items_db::get(conn, PROJECTS, &pk, items::IDEMPOTENCY)?;
        if let Some(project_id) = claim.replay_of(record, now)? {
            // A record naming a deleted project does not bring it back: this create makes
            // a new one, and its record replaces that one.
            if let Some(meta) = get_meta(conn, &project_id)?.filter(|m| !m.is_gone(now)) {
                return Ok((CreateOutcome::Replayed(meta), Vec::new()));
            }
        }
    }
    let pk = items::project_pk(&new.project_id);
    if items_db::exists(conn, PROJECTS, &pk, items::META)? {
        return Err(StoreError::AlreadyExists);
    }
    let created_key = items::created_key(&meta.created_at, &meta.project_id);
    items_db::put_raw(
        conn,
        PROJECTS,
        &pk,
        items::META,
        &meta_json,
        meta_index(&meta, &created_key, ""),
    )?;
    items_db::put_raw(
        conn,
        PROJECTS,
        &pk,
        items::INPUT,
        &input_json,
        Index::default(),
    )?;
    items_db::put_raw(
        conn,
        PROJECTS,
        &pk,
        &items::event_sk(1),
        &event_json,
        Index::default(),
    )?;
    if let (Some(claim), Some(record_json)) = (&new.idempotency, &record_json) {
        // Replaces an expired record with the same key, as DynamoDB's Put does.
        let record_pk = items::idempotency_pk(&new.owner, &claim.key_hash);
        items_db::put_raw(
            conn,
            PROJECTS,
            &record_pk,
            items::IDEMPOTENCY,
            record_json,
            Index::default(),
        )?;
    }
    Ok((CreateOutcome::Created(meta), vec![event]))
}

fn commit(
    conn: &Connection,
    commit: StepCommit,
    retention: Retention,
) -> Result<(CommitOutcome, Vec<Event>), StoreError> {
    let pk = items::project_pk(&commit.project_id);
    let meta = get_meta(conn, &commit.project_id)?.ok_or(StoreError::NotFound)?;
    match transition::apply(&meta, &commit)? {
        Applied::AlreadyDone => Ok((CommitOutcome::AlreadyDone, Vec::new())),
        Applied::Change { mut meta, event } => {
            retention.stamp(&mut meta);
            put_meta(conn, &meta)?;
            if let Some(event) = &event {
                let fresh = items_db::put_new(
                    conn,
                    PROJECTS,
                    &pk,
                    &items::event_sk(event.seq),
                    event,
                    Index::default(),
                )?;
                if !fresh {
                    return Err(StoreError::Corrupt(format!(
                        "event seq {} already exists while META says last_seq {}",
                        event.seq,
                        event.seq - 1
                    )));
                }
            }
            let published = event.iter().cloned().collect();
            Ok((CommitOutcome::Committed { meta, event }, published))
        }
    }
}

/// The artifact unless one is stored (first write wins); `NotFound` without a project.
fn put_artifact(
    conn: &Connection,
    pk: &str,
    sk: &str,
    body: &str,
) -> Result<PutArtifactOutcome, StoreError> {
    let meta: ProjectMeta =
        items_db::get(conn, PROJECTS, pk, items::META)?.ok_or(StoreError::NotFound)?;
    // A deleted project takes no new text (a step finishing after the delete).
    if meta.is_deleted() {
        return Err(StoreError::Transition(
            zts_domain::transition::TransitionError::Terminal {
                state: State::Deleted,
            },
        ));
    }
    if items_db::put_new_raw(conn, PROJECTS, pk, sk, body, Index::default())? {
        return Ok(PutArtifactOutcome::Stored);
    }
    let existing: Artifact = items_db::get(conn, PROJECTS, pk, sk)?
        .ok_or_else(|| StoreError::Corrupt("an artifact vanished".into()))?;
    Ok(PutArtifactOutcome::AlreadyStored(Box::new(existing)))
}

#[async_trait]
impl ProjectStore for EmbeddedStore {
    async fn create_project(&self, new: NewProject) -> Result<CreateOutcome, StoreError> {
        let prepared = PreparedCreate::new(new)?;
        self.db.write(move |conn| create(conn, prepared)).await
    }

    async fn get_meta(&self, id: &ProjectId) -> Result<Option<ProjectMeta>, StoreError> {
        let id = id.clone();
        self.db.read(move |conn| get_meta(conn, &id)).await
    }

    async fn get_input(&self, id: &ProjectId) -> Result<Option<StoredInput>, StoreError> {
        let pk = items::project_pk(id);
        self.db
            .read(move |conn| items_db::get(conn, PROJECTS, &pk, items::INPUT))
            .await
    }

    async fn get_project(
        &self,
        owner: &Owner,
        id: &ProjectId,
    ) -> Result<Option<ProjectView>, StoreError> {
        let (owner, id) = (owner.clone(), id.clone());
        self.db
            .read(move |conn| {
                let Some(meta) =
                    get_meta(conn, &id)?.filter(|m| m.owner == owner && !m.is_gone(clock::now()))
                else {
                    return Ok(None);
                };
                let pk = items::project_pk(&id);
                let input: StoredInput = items_db::get(conn, PROJECTS, &pk, items::INPUT)?
                    .ok_or_else(|| StoreError::Corrupt("a project without INPUT".into()))?;
                let artifacts = items_db::range(conn, PROJECTS, &pk, "ARTIFACT#", "ARTIFACT$", 16)?;
                Ok(Some(ProjectView {
                    meta,
                    input,
                    artifacts,
                }))
            })
            .await
    }

    async fn put_artifact(
        &self,
        id: &ProjectId,
        artifact: Artifact,
    ) -> Result<PutArtifactOutcome, StoreError> {
        let pk = items::project_pk(id);
        let sk = items::artifact_sk(artifact.step);
        let body = items_db::encode(&artifact)?;
        self.db
            .write(move |conn| Ok((put_artifact(conn, &pk, &sk, &body)?, Vec::new())))
            .await
    }

    /// The artifact and the success commit in one savepoint: one write call, and a
    /// refused commit leaves no artifact behind.
    async fn succeed_step(
        &self,
        artifact: Artifact,
        success: StepCommit,
    ) -> Result<(String, CommitOutcome), StoreError> {
        let pk = items::project_pk(&success.project_id);
        let sk = items::artifact_sk(artifact.step);
        let body = items_db::encode(&artifact)?;
        let retention = self.retention;
        self.db
            .write(move |conn| {
                let stored = match put_artifact(conn, &pk, &sk, &body)? {
                    PutArtifactOutcome::Stored => artifact.artifact_type,
                    PutArtifactOutcome::AlreadyStored(existing) => existing.artifact_type,
                };
                let (outcome, events) =
                    commit(conn, success.naming_artifact(stored.clone()), retention)?;
                Ok(((stored, outcome), events))
            })
            .await
    }

    async fn get_artifact(
        &self,
        id: &ProjectId,
        step: StepName,
    ) -> Result<Option<Artifact>, StoreError> {
        let pk = items::project_pk(id);
        self.db
            .read(move |conn| items_db::get(conn, PROJECTS, &pk, &items::artifact_sk(step)))
            .await
    }

    async fn commit_step(&self, step: StepCommit) -> Result<CommitOutcome, StoreError> {
        let retention = self.retention;
        self.db
            .write(move |conn| commit(conn, step, retention))
            .await
    }

    async fn list_projects(
        &self,
        owner: &Owner,
        page: PageRequest,
    ) -> Result<Page<ProjectMeta>, StoreError> {
        let below = page.start_after(owner, &self.cursors)?;
        let owner = owner.clone();
        let cursors = self.cursors.clone();
        self.db
            .read(move |conn| {
                let rows: Vec<(String, ProjectMeta)> =
                    items_db::by_owner(conn, owner.as_str(), below.as_deref(), page.fetch_limit())?;
                let mut page = page.page_of(rows, &owner, &cursors);
                // Past its retention is gone, though the sweeper has yet to remove it.
                let now = clock::now();
                page.items.retain(|m| !m.is_expired(now));
                Ok(page)
            })
            .await
    }

    async fn events_after(
        &self,
        id: &ProjectId,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let pk = items::project_pk(id);
        let limit = events_page_limit(limit);
        self.db
            .read(move |conn| {
                items_db::range(
                    conn,
                    PROJECTS,
                    &pk,
                    &items::event_sk(after_seq),
                    "EVENT$",
                    limit,
                )
            })
            .await
    }

    async fn stale_runs(
        &self,
        claimed_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError> {
        // A run is claimed no earlier than its project was created, so only projects
        // created before the cutoff can be stale: the state index narrows to those.
        let cutoff = clock::format(&claimed_before);
        let bodies: Vec<String> = self
            .db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT body FROM items
                     WHERE tbl = 'projects' AND state = 'CREATED' AND created_key < ?1
                     ORDER BY created_key",
                )
                .and_then(|mut stmt| stmt.query_map(params![cutoff], |row| row.get(0))?.collect())
                .map_err(sql_error)
            })
            .await?;
        let mut stale = bodies
            .iter()
            .map(|b| {
                serde_json::from_str::<ProjectMeta>(b)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .filter(|m| m.as_ref().map_or(true, |m| m.run_is_stale(claimed_before)))
            .collect::<Result<Vec<_>, _>>()?;
        stale.sort_by_key(|m| m.run_claimed_at());
        stale.truncate(limit as usize);
        Ok(stale)
    }

    async fn erase_contents(&self, tombstone: &ProjectMeta) -> Result<(), StoreError> {
        let tombstone = tombstone.clone();
        self.db
            .write(move |conn| Ok((erase_contents(conn, &tombstone)?, Vec::new())))
            .await?;
        // The pages the text was on are zeroed (secure_delete), but their earlier images
        // stay in the write-ahead log until a checkpoint copies it back and truncates it.
        self.db.checkpoint().await
    }

    async fn deleted_projects(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError> {
        let bodies: Vec<String> = self
            .db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT body FROM items WHERE tbl = 'projects' AND state = 'DELETED'",
                )
                .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
                .map_err(sql_error)
            })
            .await?;
        let mut deleted = bodies
            .iter()
            .map(|b| items_db::decode::<ProjectMeta>(b))
            .filter(|m| m.as_ref().map_or(true, |m| m.updated_at < before))
            .collect::<Result<Vec<_>, _>>()?;
        deleted.sort_by_key(|m| m.updated_at);
        deleted.truncate(limit as usize);
        Ok(deleted)
    }

    async fn expired_projects(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<ProjectMeta>, StoreError> {
        let now = clock::format(&now);
        let bodies: Vec<String> = self
            .db
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT body FROM items
                     WHERE tbl = 'projects' AND expires IS NOT NULL AND expires <= ?1
                     ORDER BY expires LIMIT ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(params![now, limit], |row| row.get(0))?
                        .collect()
                })
                .map_err(sql_error)
            })
            .await?;
        bodies.iter().map(|b| items_db::decode(b)).collect()
    }

    async fn purge_project(&self, id: &ProjectId, batch: u32) -> Result<bool, StoreError> {
        let id = id.clone();
        let done = self
            .db
            .write(move |conn| Ok((purge(conn, &id, batch.max(1))?, Vec::new())))
            .await?;
        if done {
            self.db.checkpoint().await?;
        }
        Ok(done)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .read(|conn| {
                conn.query_row("SELECT 1", [], |_| Ok(()))
                    .map_err(super::db::sql_error)
            })
            .await
    }

    /// Counted on the state index alone (only META rows have a state).
    async fn count_by_state(&self) -> Result<Option<BTreeMap<State, u64>>, StoreError> {
        let rows: Vec<(String, u64)> = self
            .db
            .read(|conn| {
                conn.prepare_cached(
                    "SELECT state, COUNT(*) FROM items
                     WHERE tbl = 'projects' AND state IS NOT NULL GROUP BY state",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                        .collect()
                })
                .map_err(sql_error)
            })
            .await?;
        rows.into_iter()
            .map(|(state, n)| {
                serde_json::from_value::<State>(serde_json::Value::String(state))
                    .map(|s| (s, n))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }
}

/// The idea's text of a deleted project: INPUT, artifacts, and its create's idempotency
/// record while that still names it.
fn erase_contents(conn: &Connection, tombstone: &ProjectMeta) -> Result<(), StoreError> {
    let id = &tombstone.project_id;
    let pk = items::project_pk(id);
    if !get_meta(conn, id)?.is_some_and(|m| m.is_deleted()) {
        return Err(StoreError::Corrupt(format!("{id} is not deleted")));
    }
    items_db::delete(conn, PROJECTS, &pk, items::INPUT)?;
    conn.prepare_cached(
        "DELETE FROM items WHERE tbl = ?1 AND pk = ?2 AND sk > 'ARTIFACT#' AND sk < 'ARTIFACT$'",
    )
    .and_then(|mut stmt| stmt.execute(params![PROJECTS, pk]))
    .map_err(sql_error)?;
    if let Some(hash) = &tombstone.idempotency_key_hash {
        let record_pk = items::idempotency_pk(&tombstone.owner, hash);
        let record: Option<IdempotencyRecord> =
            items_db::get(conn, PROJECTS, &record_pk, items::IDEMPOTENCY)?;
        if record.is_some_and(|r| &r.project_id == id) {
            items_db::delete(conn, PROJECTS, &record_pk, items::IDEMPOTENCY)?;
        }
    }
    Ok(())
}

/// Up to `batch` of a tombstone's other items, then META; true when it is gone.
fn purge(conn: &Connection, id: &ProjectId, batch: u32) -> Result<bool, StoreError> {
    let pk = items::project_pk(id);
    match get_meta(conn, id)? {
        None => return Ok(true),
        Some(meta) if !meta.is_deleted() => return Ok(false),
        Some(_) => {}
    }
    let removed = conn
        .prepare_cached(
            "DELETE FROM items WHERE tbl = ?1 AND pk = ?2 AND sk IN
               (SELECT sk FROM items WHERE tbl = ?1 AND pk = ?2 AND sk <> 'META' LIMIT ?3)",
        )
        .and_then(|mut stmt| stmt.execute(params![PROJECTS, pk, batch]))
        .map_err(sql_error)?;
    if removed as u32 == batch {
        return Ok(false);
    }
    items_db::delete(conn, PROJECTS, &pk, items::META)?;
    Ok(true)
}
