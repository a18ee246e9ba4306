//! Online backup and restore of the embedded store (README: Backup and restore), with
//! SQLite's backup API rather than a file copy: a copy of the files taken while `zts
//! serve` writes can tear between the database and its write-ahead log.
//!
//! The backup holds one read transaction on the source for its whole length, so every step
//! copies pages of the same snapshot: in WAL mode the server keeps writing meanwhile (a
//! reader never blocks the writer), and the backup never restarts however busy it is.

use super::DB_FILE;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Pages copied per step (the progress is reported after each).
const PAGES_PER_STEP: i32 = 256;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Sql {
        what: String,
        source: rusqlite::Error,
    },
}

fn sql(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sql { what, source }
}

/// How far a copy is: pages left of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub remaining: u64,
    pub total: u64,
}

/// What a finished backup or restore copied.
#[derive(Debug, Clone, PartialEq)]
pub struct Copied {
    pub bytes: u64,
    pub projects: u64,
    pub took: Duration,
}

fn open_source(path: &Path) -> Result<Connection, BackupError> {
    if !path.is_file() {
        return Err(BackupError::Refused(format!(
            "{} does not exist: there is no store to copy",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql(format!("open {}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(sql("set the busy timeout"))?;
    Ok(conn)
}

/// Projects in a store (META items): what a person checks a copy by.
fn projects(conn: &Connection) -> Result<u64, BackupError> {
    conn.query_row(
        "SELECT COUNT(*) FROM items WHERE tbl = 'projects' AND sk = 'META'",
        [],
        |row| row.get(0),
    )
    .map_err(sql("count the projects (is this a ZeroToShip store?)"))
}

/// Copies every page of `from` into `to` in steps, reporting progress after each.
fn copy(
    from: &Connection,
    to: &mut Connection,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), BackupError> {
    let backup = Backup::new(from, to).map_err(sql("start the copy"))?;
    loop {
        let step = backup.step(PAGES_PER_STEP).map_err(sql("copy pages"))?;
        let p = backup.progress();
        progress(Progress {
            remaining: u64::try_from(p.remaining).unwrap_or(0),
            total: u64::try_from(p.pagecount).unwrap_or(0),
        });
        match step {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // The destination is briefly locked: wait, then go on.
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn quick_check(conn: &Connection, what: &Path) -> Result<(), BackupError> {
    let verdict: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(sql(format!("check {}", what.display())))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(BackupError::Refused(format!(
            "{} failed SQLite's integrity check: {verdict}",
            what.display()
        )))
    }
}

/// Backs up the store under `data_dir` to the new file `to`, consistent while the store is
/// serving. The copy is written beside `to` and renamed into place once complete and
/// checked, so `to` is never a half-written file.
pub fn backup(
    data_dir: &Path,
    to: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Copied, BackupError> {
    let started = Instant::now();
    if to.exists() {
        return Err(BackupError::Refused(format!(
            "{} already exists; name a new file (a backup never overwrites one)",
            to.display()
        )));
    }
    let source_path = data_dir.join(DB_FILE);
    let source = open_source(&source_path)?;
    // The snapshot every step copies from: a read transaction held to the end.
    source
        .execute_batch("BEGIN")
        .map_err(sql("begin the snapshot"))?;
    let projects = projects(&source)?;
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut dest =
        Connection::open(&partial).map_err(sql(format!("create {}", partial.display())))?;
    copy(&source, &mut dest, progress)?;
    source
        .execute_batch("COMMIT")
        .map_err(sql("end the snapshot"))?;
    // One self-contained file: no write-ahead log beside it.
    dest.execute_batch("PRAGMA journal_mode = DELETE")
        .map_err(sql("make the copy one file"))?;
    quick_check(&dest, &partial)?;
    drop(dest);
    std::fs::rename(&partial, to).map_err(|source| BackupError::Io {
        path: to.to_path_buf(),
        source,
    })?;
    let bytes = std::fs::metadata(to)
        .map_err(|source| BackupError::Io {
            path: to.to_path_buf(),
            source,
        })?
        .len();
    Ok(Copied {
        bytes,
        projects,
        took: started.elapsed(),
    })
}

/// Restores the backup `from` as the store under `data_dir`. Refuses a directory that
/// already holds a store unless `replace` (stop any `zts serve` on it first: the store is
/// replaced under it). The restored store serves the same projects and events, and the
/// runs that were in flight when the backup was taken resume when `zts serve` starts on it.
pub fn restore(
    from: &Path,
    data_dir: &Path,
    replace: bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<Copied, BackupError> {
    let started = Instant::now();
    let source = open_source(from)?;
    quick_check(&source, from)?;
    let projects = projects(&source)?;
    let target = data_dir.join(DB_FILE);
    if target.exists() && !replace {
        let held = open_source(&target)
            .and_then(|c| self::projects(&c))
            .unwrap_or(0);
        return Err(BackupError::Refused(format!(
            "{} already holds a store ({held} projects); pass --force to replace it with the \
             backup (stop zts serve on it first)",
            data_dir.display()
        )));
    }
    std::fs::create_dir_all(data_dir).map_err(|source| BackupError::Io {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let mut dest = Connection::open(&target).map_err(sql(format!("open {}", target.display())))?;
    dest.busy_timeout(Duration::from_secs(5))
        .map_err(sql("set the busy timeout"))?;
    copy(&source, &mut dest, progress)?;
    // As the store runs it (the backup file is in rollback-journal mode).
    dest.execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(sql("switch the restored store to WAL"))?;
    quick_check(&dest, &target)?;
    let bytes = std::fs::metadata(&target).map_or(0, |m| m.len());
    Ok(Copied {
        bytes,
        projects,
        took: started.elapsed(),
    })
}
