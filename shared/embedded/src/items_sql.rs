//! Item access on one SQLite connection: the embedded equivalent of GetItem, PutItem,
//! conditional PutItem, DeleteItem and a Query on a sort-key range.

use super::db::sql_error;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zts_domain::ports::StoreError;

pub const PROJECTS: &str = "projects";
pub const CONNECTIONS: &str = "connections";

pub fn decode<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

pub fn get<T: DeserializeOwned>(
    conn: &Connection,
    tbl: &str,
    pk: &str,
    sk: &str,
) -> Result<Option<T>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")
        .and_then(|mut stmt| {
            stmt.query_row(params![tbl, pk, sk], |row| row.get(0))
                .optional()
        })
        .map_err(sql_error)?;
    body.as_deref().map(decode).transpose()
}

pub fn exists(conn: &Connection, tbl: &str, pk: &str, sk: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")
        .and_then(|mut stmt| stmt.exists(params![tbl, pk, sk]))
        .map_err(sql_error)
}

/// Index attributes an item may carry (the owner GSI of ARCHITECTURE.md §3, and the state the
/// reconciler looks up).
#[derive(Default, Clone, Copy)]
pub struct Index<'a> {
    pub owner: Option<&'a str>,
    pub created_key: Option<&'a str>,
    /// A project's state, on META items only.
    pub state: Option<&'a str>,
    /// When an ended project's retention is over (`retain_until`), on META items only:
    /// the sweeper's index.
    pub expires: Option<&'a str>,
}

/// PutItem: creates or replaces.
pub fn put<T: Serialize>(
    conn: &Connection,
    tbl: &str,
    pk: &str,
    sk: &str,
    value: &T,
    index: Index<'_>,
) -> Result<(), StoreError> {
    put_raw(conn, tbl, pk, sk, &encode(value)?, index)
}

/// PutItem with a body serialised by the caller (off the writer thread).
pub fn put_raw(
    conn: &Connection,
    tbl: &str,
    pk: &str,
    sk: &str,
    body: &str,
    index: Index<'_>,
) -> Result<(), StoreError> {
    insert(conn, "INSERT OR REPLACE", tbl, pk, sk, body, index).map(|_| ())
}

/// PutItem with `attribute_not_exists(pk)`: false when the item was already there.
pub fn put_new<T: Serialize>(
    conn: &Connection,
    tbl: &str,
    pk: &str,
    sk: &str,
    value: &T,
    index: Index<'_>,
) -> Result<bool, StoreError> {
    put_new_raw(conn, tbl, pk, sk, &encode(value)?, index)
}

pub fn put_new_raw(
    conn: &Connection,
    tbl: &str,
    pk: &str,
    sk: &str,
    body: &str,
    index: Index<'_>,
) -> Result<bool, StoreError> {
    insert(conn, "INSERT OR IGNORE", tbl, pk, sk, body, index).map(|rows| rows == 1)
}

/// One row written with `verb` (replace or ignore on conflict); the rows changed.
fn insert(
    conn: &Connection,
    verb: &str,
    tbl: &str,
    pk: &str,
    sk: &str,
    body: &str,
    index: Index<'_>,
) -> Result<usize, StoreError> {
    let sql = format!(
        "{verb} INTO items (tbl, pk, sk, body, owner, created_key, state, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.execute(params![
                tbl,
                pk,
                sk,
                body,
                index.owner,
                index.created_key,
                index.state,
                index.expires
            ])
        })
        .map_err(sql_error)
}

pub fn delete(conn: &Connection, tbl: &str, pk: &str, sk: &str) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")
        .and_then(|mut stmt| stmt.execute(params![tbl, pk, sk]))
        .map_err(sql_error)?;
    Ok(())
}

/// Query: items of one partition with `after < sk < before`, ascending, at most `limit`.
pub fn range<T: DeserializeOwned>(
    conn: &Connection,
    tbl: &str,
    pk: &str,
    after: &str,
    before: &str,
    limit: u32,
) -> Result<Vec<T>, StoreError> {
    let bodies: Vec<String> = conn
        .prepare_cached(
            "SELECT body FROM items WHERE tbl = ?1 AND pk = ?2 AND sk > ?3 AND sk < ?4
             ORDER BY sk LIMIT ?5",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![tbl, pk, after, before, limit], |row| row.get(0))?
                .collect()
        })
        .map_err(sql_error)?;
    bodies.iter().map(|b| decode(b)).collect()
}

/// Query on the owner index, newest first, starting below `below` (exclusive).
pub fn by_owner<T: DeserializeOwned>(
    conn: &Connection,
    owner: &str,
    below: Option<&str>,
    limit: u32,
) -> Result<Vec<(String, T)>, StoreError> {
    // '\u{10FFFF}' sorts after every created key, so "no cursor" is the same query.
    let below = below.unwrap_or("\u{10FFFF}");
    let rows: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT created_key, body FROM items
             WHERE tbl = ?1 AND owner = ?2 AND created_key < ?3
             ORDER BY created_key DESC LIMIT ?4",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![PROJECTS, owner, below, limit], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect()
        })
        .map_err(sql_error)?;
    rows.into_iter()
        .map(|(key, body)| Ok((key, decode(&body)?)))
        .collect()
}
