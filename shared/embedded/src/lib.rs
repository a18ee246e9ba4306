//! The embedded store: the local stack's stand-in for DynamoDB, on SQLite.
//!
//! It keeps the same items under the same keys as the DynamoDB adapter (see
//! [`zts_domain::items`]) in one `items` table, with the owner index as a partial index. It is
//! durable in the DynamoDB sense: a call returns only after its write is fsync'd (WAL,
//! `synchronous=FULL`). Writes go through one writer thread that groups whatever is
//! queued into one transaction — one fsync for many calls — while each call keeps its own
//! atomicity through a savepoint. Committed events are published, in commit order, on a
//! channel that plays the DynamoDB stream's part.

pub mod backup;
mod connections;
mod db;
mod executions;
mod items_sql;
mod keys;
mod live;
mod projects;
mod stats;

use db::Db;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::broadcast;
use zts_domain::cursor::CursorCodec;
use zts_domain::events::Event;
use zts_domain::ports::StoreError;
use zts_domain::retention::Retention;

pub use db::Durability;
pub use live::LiveConnections;
pub use stats::StoreStats;

/// The file the store keeps under its data directory.
pub const DB_FILE: &str = "zts.sqlite3";

/// How many committed events the stream channel buffers for a slow reader before the
/// reader is told it lagged (it then catches up from the store).
const STREAM_CAPACITY: usize = 65_536;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Db>,
    cursors: CursorCodec,
    retention: Retention,
    // Kept so an in-memory store's files live exactly as long as the store.
    _temp: Option<Arc<tempfile::TempDir>>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.db.path())
            .finish()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the durable store under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        Self::open_file(data_dir.join(DB_FILE), Durability::Full, None)
    }

    /// A throwaway store: same code, in a temporary directory removed on drop, without
    /// fsync (nothing in it is meant to survive).
    pub fn in_memory() -> Result<Self, StoreError> {
        let temp = tempfile::Builder::new()
            .prefix("zts-")
            .tempdir()
            .map_err(|e| {
                StoreError::Backend(format!("cannot create a temporary directory: {e}"))
            })?;
        let path = temp.path().join(DB_FILE);
        Self::open_file(path, Durability::Off, Some(Arc::new(temp)))
    }

    fn open_file(
        path: PathBuf,
        durability: Durability,
        temp: Option<Arc<tempfile::TempDir>>,
    ) -> Result<Self, StoreError> {
        let (db, secret) = Db::open(path, durability, STREAM_CAPACITY)?;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            cursors: CursorCodec::new(&secret),
            retention: Retention::default(),
            _temp: temp,
        })
    }

    /// How long ended projects are kept (default: [`Retention::default`]); the reconciler's
    /// pass removes them afterwards.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Every event committed from now on, in commit order (per project: seq order).
    /// A receiver that falls more than the channel's capacity behind gets `Lagged` and
    /// should re-read what it missed with `events_after`.
    pub fn committed_events(&self) -> broadcast::Receiver<Event> {
        self.db.subscribe()
    }

    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// What this store has done since it opened (write and read calls, commits, fsyncs).
    pub fn stats(&self) -> StoreStats {
        self.db.stats()
    }
}
