//! What the store has done since it opened, counted as it happens, so a benchmark can
//! state a project's cost in store operations (README: Benchmark) rather than guess it.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts since the store opened. Every field only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Write calls (each one atomic, in its own savepoint).
    pub writes: u64,
    /// Read calls (each one a snapshot on a pooled connection).
    pub reads: u64,
    /// Transactions committed by the writer: the group commits that carried the writes.
    pub commits: u64,
    /// fsyncs the commits asked for: one per commit when durable (WAL, `synchronous=FULL`),
    /// none for a throwaway store. SQLite's automatic checkpoints sync on their own; their
    /// bytes show in the process's storage writes.
    pub fsyncs: u64,
    /// Rows inserted, replaced or deleted by the statements of committed transactions (a
    /// call that failed and rolled back its savepoint still counts its statements).
    pub rows_written: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    writes: AtomicU64,
    reads: AtomicU64,
    commits: AtomicU64,
    fsyncs: AtomicU64,
    rows_written: AtomicU64,
}

impl Counters {
    pub fn write_called(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn read_called(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    /// A transaction committed with `rows` rows changed, synced or not.
    pub fn committed(&self, rows: u64, synced: bool) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        if synced {
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        self.rows_written.fetch_add(rows, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StoreStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StoreStats {
            writes: get(&self.writes),
            reads: get(&self.reads),
            commits: get(&self.commits),
            fsyncs: get(&self.fsyncs),
            rows_written: get(&self.rows_written),
        }
    }
}
