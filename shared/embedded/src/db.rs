//! SQLite plumbing: the schema, the group-commit writer thread, the reader pool.

use crate::stats::{Counters, StoreStats};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use tokio::sync::{broadcast, oneshot, watch};
use zts_domain::events::Event;
use zts_domain::ports::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync before a write call returns.
    Full,
    /// No fsync: for throwaway stores only.
    Off,
}

/// The most calls one transaction (one fsync) carries.
const MAX_BATCH: usize = 512;
/// Idle read connections kept open.
const READ_POOL: usize = 64;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    tbl TEXT NOT NULL,
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    body TEXT NOT NULL,
    owner TEXT,
    created_key TEXT,
    state TEXT,
    PRIMARY KEY (tbl, pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_owner ON items (tbl, owner, created_key)
    WHERE owner IS NOT NULL;
-- The reconciler's question: which projects are still CREATED (a start that was lost)?
CREATE INDEX IF NOT EXISTS items_by_state ON items (tbl, state, created_key)
    WHERE state IS NOT NULL;
-- Local workflow executions, so a restarted stack resumes every run in flight.
CREATE TABLE IF NOT EXISTS executions (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
";

/// When a write call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// After the group's commit (and fsync, when durable).
    WhenDurable,
    /// As soon as the call has run in the group's transaction (ARCHITECTURE.md §3: writes
    /// answered in order): its events are still published only after the commit.
    WhenRun,
}

/// One group commit as its calls see it.
struct Batch {
    /// Batches are numbered in the order they run (and so commit).
    number: u64,
    /// Events to publish once the transaction has committed.
    published: Vec<Event>,
    /// A call was answered before the commit, so a failed commit must stop the writer.
    answered_early: bool,
}

/// What a write call does inside the shared transaction. It returns the completion to
/// run once the transaction's fate is known.
type Job = Box<dyn FnOnce(&mut rusqlite::Transaction<'_>, &mut Batch) -> Completion + Send>;
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// What reads need to see the writes answered before their commit: for each key (a
/// project's partition) the batch holding its latest such write, and the last batch whose
/// fate is known. A read of a key waits until that batch has settled, so a caller reads
/// its own writes, and no read (by anyone) sees a write before it is durable: readers see
/// only committed transactions, and a WAL commit is visible only after its fsync.
#[derive(Default)]
struct Ordered {
    pending: Mutex<HashMap<String, u64>>,
    settled: watch::Sender<u64>,
    /// Tests make the next commit fail (rolled back, as a full disk would).
    #[cfg(test)]
    fail_next_commit: std::sync::atomic::AtomicBool,
}

impl Ordered {
    fn note(&self, key: String, batch: u64) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, batch);
    }

    fn settle(&self, batch: u64) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, b| *b > batch);
        self.settled.send_replace(batch);
    }

    /// The batch a read must wait for: `key`'s, or with `None` every pending one.
    fn awaited(&self, key: Option<&str>) -> Option<u64> {
        let pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match key {
            Some(key) => pending.get(key).copied(),
            None => pending.values().max().copied(),
        }
    }

    async fn wait(&self, key: Option<&str>) -> Result<(), StoreError> {
        let Some(batch) = self.awaited(key) else {
            return Ok(());
        };
        self.settled
            .subscribe()
            .wait_for(|settled| *settled >= batch)
            .await
            .map(|_| ())
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))
    }
}

pub struct Db {
    path: PathBuf,
    durability: Durability,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    committed: broadcast::Sender<Event>,
    counters: Arc<Counters>,
    ordered: Arc<Ordered>,
}

pub fn sql_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn open_connection(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_error)?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Off => "OFF",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 5000;"
    ))
    .map_err(sql_error)?;
    // The query planner's stability guarantee: a cached statement keeps its plan instead of
    // being re-prepared whenever a bound value might suit a partial index better (measured:
    // re-preparing was 5.6% of `zts serve`'s CPU under load; every query here names its
    // index's leading columns, so the plan never depends on a value).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(sql_error)?;
    Ok(conn)
}

impl Db {
    /// Opens the database, creates the schema, and starts the writer. Returns the store's
    /// cursor secret (made on first open, kept in `settings`).
    pub fn open(
        path: PathBuf,
        durability: Durability,
        stream_capacity: usize,
    ) -> Result<(Db, Vec<u8>), StoreError> {
        let mut conn = open_connection(&path, durability)?;
        migrate(&conn)?;
        conn.execute_batch(SCHEMA).map_err(sql_error)?;
        let secret = load_or_create_secret(&mut conn)?;
        let (committed, _) = broadcast::channel(stream_capacity);
        let (tx, rx) = mpsc::channel::<Job>();
        let events = committed.clone();
        let counters = Arc::new(Counters::default());
        let writer_counters = counters.clone();
        let synced = durability == Durability::Full;
        let ordered = Arc::new(Ordered::default());
        let writer_ordered = ordered.clone();
        let handle = std::thread::Builder::new()
            .name("zts-store-writer".into())
            .spawn(move || writer_loop(conn, rx, events, &writer_counters, &writer_ordered, synced))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        let db = Db {
            path,
            durability,
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            readers: Mutex::new(Vec::new()),
            committed,
            counters,
            ordered,
        };
        Ok((db, secret))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.committed.subscribe()
    }

    pub fn stats(&self) -> StoreStats {
        self.counters.snapshot()
    }

    /// Runs `f` atomically (its own savepoint) in the next group commit, and answers once
    /// that commit is durable. The events `f` returns are published after the commit.
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<(R, Vec<Event>), StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.write_answering(f, Answer::WhenDurable, None).await
    }

    /// Like [`Db::write`], but answers as soon as `f` has run inside the group's
    /// transaction, without waiting for its commit and fsync: for writes whose loss in a
    /// crash is harmless (a rate-limit window). Another process sharing the file still
    /// sees them, because it cannot write before this transaction commits, and reads what
    /// it committed (SQLite's write lock).
    pub async fn write_unsynced<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.write_answering(
            move |conn| Ok((f(conn)?, Vec::new())),
            Answer::WhenRun,
            None,
        )
        .await
    }

    /// Like [`Db::write`], but answers once `f` has run inside the group's transaction,
    /// before its commit, for writes whose caller goes on at once (a step recording its
    /// start, then its success): a later call sees it (one writer, in order), a read of
    /// `key` through [`Db::read_after`] waits for its commit, its events are published after
    /// the commit, and if that commit fails the writer stops, so nothing written after it
    /// can land without it. A crash before the commit loses it with everything after it:
    /// what is durable is always a prefix of what was answered.
    pub async fn write_ordered<R: Send + 'static>(
        &self,
        key: String,
        f: impl FnOnce(&Connection) -> Result<(R, Vec<Event>), StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.write_answering(f, Answer::WhenRun, Some(key)).await
    }

    async fn write_answering<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<(R, Vec<Event>), StoreError> + Send + 'static,
        when: Answer,
        key: Option<String>,
    ) -> Result<R, StoreError> {
        self.counters.write_called();
        let (reply, answer) = oneshot::channel::<Result<R, StoreError>>();
        let ordered = self.ordered.clone();
        let job: Job = Box::new(move |txn, batch| {
            let outcome = txn
                .savepoint()
                .map_err(sql_error)
                .and_then(|sp| match f(&sp) {
                    Ok(value) => sp.commit().map_err(sql_error).map(|()| value),
                    // Dropping the savepoint rolls back only this call's changes.
                    Err(e) => Err(e),
                });
            match outcome {
                Ok((value, events)) if when == Answer::WhenRun => {
                    batch.published.extend(events);
                    batch.answered_early = true;
                    if let Some(key) = key {
                        ordered.note(key, batch.number);
                    }
                    let _ = reply.send(Ok(value));
                    Box::new(|_| {})
                }
                Ok((value, events)) => {
                    batch.published.extend(events);
                    Box::new(move |commit: Result<(), StoreError>| {
                        let _ = reply.send(commit.map(|()| value));
                    })
                }
                Err(e) => Box::new(move |_| {
                    let _ = reply.send(Err(e));
                }),
            }
        });
        let sender = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| StoreError::Unavailable("the store is closed".into()))?;
        sender
            .send(job)
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the store writer dropped a request".into()))?
    }

    /// [`Db::read`] once the writes to `key` answered before their commit
    /// ([`Db::write_ordered`]) have committed.
    pub async fn read_after<R: Send + 'static>(
        self: &std::sync::Arc<Self>,
        key: &str,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.ordered.wait(Some(key)).await?;
        self.read(f).await
    }

    /// [`Db::read`] once every write answered before its commit has committed: for reads
    /// across keys (a listing, a scan).
    pub async fn read_after_all<R: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.ordered.wait(None).await?;
        self.read(f).await
    }

    /// Runs `f` on a pooled read connection (a consistent snapshot).
    ///
    /// Reads run inline on the calling task: they are point reads and short range scans
    /// of hot pages (microseconds), and handing each to a blocking thread cost more in
    /// context switches than the read itself (measured: it halved the local stack's
    /// throughput). WAL readers never wait for the writer.
    pub async fn read<R: Send + 'static>(
        self: &std::sync::Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.counters.read_called();
        let pooled = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.path, self.durability)?,
        };
        let result = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < READ_POOL {
            pool.push(conn);
        }
        result
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued, then exit.
        self.writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = self
            .writer_thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = handle.join();
        }
    }
}

fn writer_loop(
    mut conn: Connection,
    jobs: mpsc::Receiver<Job>,
    committed: broadcast::Sender<Event>,
    counters: &Counters,
    ordered: &Ordered,
    synced: bool,
) {
    let mut number = 0;
    while let Ok(first) = jobs.recv() {
        let mut jobs_now = vec![first];
        while jobs_now.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => jobs_now.push(job),
                Err(_) => break,
            }
        }
        number += 1;
        let mut batch = Batch {
            number,
            published: Vec::new(),
            answered_early: false,
        };
        let mut completions = Vec::with_capacity(jobs_now.len());
        let changes_before = conn.total_changes();
        let commit = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(mut txn) => {
                for job in jobs_now {
                    completions.push(job(&mut txn, &mut batch));
                }
                commit(txn, ordered)
            }
            Err(e) => {
                // The jobs never run; dropping them drops their reply senders, so each
                // caller gets an error rather than a hang.
                tracing::error!(error = %e, "could not begin a store transaction");
                drop(jobs_now);
                ordered.settle(number);
                continue;
            }
        };
        if commit.is_ok() {
            counters.committed(conn.total_changes() - changes_before, synced);
            for event in batch.published {
                // No receiver is fine: nobody is listening yet.
                let _ = committed.send(event);
            }
        }
        ordered.settle(number);
        for complete in completions {
            complete(commit.clone());
        }
        if let Err(e) = commit
            && batch.answered_early
        {
            // Calls were told their writes happened; a later transaction must not land
            // without them. Every later call fails until the store is reopened, which
            // resumes from what is durable, as after a crash.
            tracing::error!(error = %e, "a store commit failed after answering calls; the writer stops");
            return;
        }
    }
}

#[cfg_attr(not(test), allow(unused_variables))]
fn commit(txn: rusqlite::Transaction<'_>, ordered: &Ordered) -> Result<(), StoreError> {
    #[cfg(test)]
    if ordered
        .fail_next_commit
        .swap(false, std::sync::atomic::Ordering::SeqCst)
    {
        txn.rollback().map_err(sql_error)?;
        return Err(StoreError::Backend("injected commit failure".into()));
    }
    txn.commit().map_err(sql_error)
}

/// Brings a data directory made by an older build up to the current schema.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_items: bool = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items'")
        .and_then(|mut s| s.exists([]))
        .map_err(sql_error)?;
    if !has_items {
        return Ok(());
    }
    let has_state: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('items') WHERE name = 'state'")
        .and_then(|mut s| s.exists([]))
        .map_err(sql_error)?;
    if !has_state {
        conn.execute_batch(
            "DROP INDEX IF EXISTS items_created;
             ALTER TABLE items ADD COLUMN state TEXT;
             UPDATE items SET state = json_extract(body, '$.state') WHERE tbl = 'projects' AND sk = 'META';",
        )
        .map_err(sql_error)?;
    }
    Ok(())
}

fn load_or_create_secret(conn: &mut Connection) -> Result<Vec<u8>, StoreError> {
    let existing: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM settings WHERE name = 'cursor_secret'",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(sql_error)?;
    if let Some(secret) = existing {
        return Ok(secret);
    }
    let secret: [u8; 32] = rand::random();
    conn.execute(
        "INSERT INTO settings (name, value) VALUES ('cursor_secret', ?1)",
        [secret.as_slice()],
    )
    .map_err(sql_error)?;
    Ok(secret.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn insert(db: &Db, rows: usize, fail: bool) -> impl Future<Output = Result<(), StoreError>> {
        db.write(move |conn| {
            for i in 0..rows {
                conn.execute(
                    "INSERT OR REPLACE INTO settings (name, value) VALUES (?1, x'00')",
                    [format!("row{i}")],
                )
                .map_err(sql_error)?;
            }
            if fail {
                return Err(StoreError::AlreadyExists);
            }
            Ok(((), Vec::new()))
        })
    }

    #[tokio::test]
    async fn stats_count_calls_commits_fsyncs_and_rows_executed() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(dir.path().join("s.db"), Durability::Full, 16).unwrap();
        let db = std::sync::Arc::new(db);
        let opened = db.stats();
        insert(&db, 3, false).await.unwrap();
        insert(&db, 2, true).await.unwrap_err();
        db.read(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(sql_error)
        })
        .await
        .unwrap();
        let s = db.stats();
        assert_eq!(s.writes - opened.writes, 2);
        assert_eq!(s.reads - opened.reads, 1);
        assert_eq!(
            s.commits - opened.commits,
            2,
            "one transaction per call here"
        );
        assert_eq!(s.fsyncs, s.commits, "a durable store syncs every commit");
        // The failed call's savepoint rolled back, but SQLite counted its statements: the
        // figure is what the writer executed, rolled back or not.
        assert_eq!(s.rows_written - opened.rows_written, 5);

        let dir = tempfile::tempdir().unwrap();
        let (off, _) = Db::open(dir.path().join("o.db"), Durability::Off, 16).unwrap();
        insert(&off, 1, false).await.unwrap();
        assert_eq!(off.stats().fsyncs, 0, "a throwaway store never syncs");
        assert_eq!(off.stats().commits, off.stats().writes);
    }

    /// With the planner's stability guarantee on, plans are made without looking at bound
    /// values: the queries that need a partial index must still get it from their own
    /// terms, or listing would scan every item.
    fn event() -> Event {
        Event {
            body: zts_domain::events::EventBody::StatusUpdate {
                state: zts_domain::project::State::IdeaValidation,
                progress: 10,
                current_step: None,
                error: None,
            },
            project_id: zts_domain::ids::ProjectId::generate(),
            seq: 2,
            ts: zts_domain::clock::now(),
            correlation_id: "c".into(),
        }
    }

    /// A write call on the writer thread that waits for the test's go, after saying it
    /// has started: it holds its group's commit open.
    fn held(
        db: &Arc<Db>,
    ) -> (
        tokio::task::JoinHandle<Result<(), StoreError>>,
        mpsc::Receiver<()>,
        mpsc::Sender<()>,
    ) {
        let (entered_tx, entered) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        let db = db.clone();
        let task = tokio::spawn(async move {
            db.write(move |_| {
                let _ = entered_tx.send(());
                let _ = go_rx.recv();
                Ok(((), Vec::new()))
            })
            .await
        });
        (task, entered, go)
    }

    /// Waits for `rx` without blocking the test's one-threaded runtime.
    async fn arrived(rx: &mpsc::Receiver<()>) {
        while rx.try_recv().is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    }

    fn put_setting(name: &'static str) -> impl FnOnce(&Connection) -> Result<(), StoreError> {
        move |conn| {
            conn.execute(
                "INSERT INTO settings (name, value) VALUES (?1, x'01')",
                [name],
            )
            .map(|_| ())
            .map_err(sql_error)
        }
    }

    fn has_setting(name: &'static str) -> impl FnOnce(&Connection) -> Result<bool, StoreError> {
        move |conn| {
            conn.prepare("SELECT 1 FROM settings WHERE name = ?1")
                .and_then(|mut s| s.exists([name]))
                .map_err(sql_error)
        }
    }

    /// An ordered write is answered while its group's transaction is still open; no one
    /// reads it or receives its event before the commit; a read of its key waits for the
    /// commit, a read of another key does not.
    #[tokio::test]
    async fn an_ordered_write_is_answered_before_its_commit_and_seen_only_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(dir.path().join("s.db"), Durability::Full, 16).unwrap();
        let db = Arc::new(db);
        let mut events = db.subscribe();
        // The first group is held open, so the next two calls queue into one group.
        let (first, first_entered, release_first) = held(&db);
        arrived(&first_entered).await;
        let ordered = {
            let db = db.clone();
            let event = event();
            tokio::spawn(async move {
                db.write_ordered("p1".into(), move |conn| {
                    put_setting("ordered")(conn)?;
                    Ok(("answered", vec![event]))
                })
                .await
            })
        };
        let (second, second_entered, release_second) = held(&db);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        release_first.send(()).unwrap();
        first.await.unwrap().unwrap();
        // Second group: the ordered call has run and is answered; the held call keeps
        // the transaction open.
        let answered = tokio::time::timeout(std::time::Duration::from_secs(10), ordered)
            .await
            .expect("the ordered call is answered while its transaction is open");
        assert_eq!(answered.unwrap().unwrap(), "answered");
        arrived(&second_entered).await;
        assert!(
            !db.read(has_setting("ordered")).await.unwrap(),
            "the answer came before the commit"
        );
        assert!(
            matches!(
                events.try_recv(),
                Err(broadcast::error::TryRecvError::Empty)
            ),
            "an event is published only after its commit"
        );
        let waiting = {
            let db = db.clone();
            tokio::spawn(async move { db.read_after("p1", has_setting("ordered")).await })
        };
        assert!(
            db.read_after("p2", |_| Ok(())).await.is_ok(),
            "another key does not wait"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "a read of the key waits for the commit"
        );
        release_second.send(()).unwrap();
        second.await.unwrap().unwrap();
        assert!(
            waiting.await.unwrap().unwrap(),
            "once committed, the read sees it"
        );
        assert_eq!(events.recv().await.unwrap().seq, 2);
        assert!(db.read_after_all(has_setting("ordered")).await.unwrap());
    }

    /// A failed commit after an ordered answer stops the writer: nothing written later can
    /// land without the write that was answered, and reads do not hang.
    #[tokio::test]
    async fn a_failed_commit_after_an_ordered_answer_stops_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(dir.path().join("s.db"), Durability::Full, 16).unwrap();
        let db = Arc::new(db);
        // A failed commit of durable calls only: they get the error, the writer goes on.
        db.ordered
            .fail_next_commit
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let refused = db
            .write(|conn| Ok((put_setting("durable")(conn)?, Vec::new())))
            .await;
        assert!(
            matches!(refused, Err(StoreError::Backend(_))),
            "{refused:?}"
        );
        db.write(|conn| Ok((put_setting("after")(conn)?, Vec::new())))
            .await
            .unwrap();
        // Now an ordered call whose commit fails.
        db.ordered
            .fail_next_commit
            .store(true, std::sync::atomic::Ordering::SeqCst);
        db.write_ordered("p1".into(), |conn| {
            Ok((put_setting("ordered")(conn)?, Vec::new()))
        })
        .await
        .unwrap();
        assert!(!db.read_after("p1", has_setting("ordered")).await.unwrap());
        let later = db
            .write(|conn| Ok((put_setting("later")(conn)?, Vec::new())))
            .await;
        assert!(
            matches!(later, Err(StoreError::Unavailable(_))),
            "a write after the lost one is refused: {later:?}"
        );
        assert!(!db.read(has_setting("later")).await.unwrap());
        assert!(db.read(has_setting("after")).await.unwrap());
    }

    #[test]
    fn the_hot_queries_use_their_indexes_with_a_stable_plan() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join("plan.db"), Durability::Off).unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let plan = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt
                .query_map(params, |row| row.get::<_, String>(3))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            rows.join("; ")
        };
        let by_owner = plan(
            "SELECT created_key, body FROM items WHERE tbl = ?1 AND owner = ?2 AND created_key < ?3 \
             ORDER BY created_key DESC LIMIT ?4",
            &[&"projects", &"acme", &"\u{10FFFF}", &20],
        );
        assert!(by_owner.contains("items_by_owner"), "{by_owner}");
        assert!(
            !by_owner.contains("TEMP B-TREE"),
            "sorted by the index: {by_owner}"
        );
        let get = plan(
            "SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3",
            &[&"projects", &"PROJECT#x", &"META"],
        );
        assert!(get.contains("PRIMARY KEY"), "{get}");
        let range = plan(
            "SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk > ?3 AND sk < ?4 \
             ORDER BY sk LIMIT ?5",
            &[&"projects", &"PROJECT#x", &"EVENT#", &"EVENT$", &500],
        );
        assert!(
            range.contains("PRIMARY KEY") && !range.contains("TEMP B-TREE"),
            "{range}"
        );
        let stale = plan(
            "SELECT body FROM items WHERE tbl = 'projects' AND state = 'CREATED' AND created_key < ?1 \
             ORDER BY created_key",
            &[&"2026"],
        );
        assert!(stale.contains("items_by_state"), "{stale}");
    }
}
