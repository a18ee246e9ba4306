//! [`KeyStore`] on the embedded database: the ApiKeys table's items.

use super::EmbeddedStore;
use super::db::sql_error;
use super::items_sql::{self as items_db, Index};
use async_trait::async_trait;
use rusqlite::params;
use zts_domain::auth::{self, ApiKeyRecord, Limits, RateDecision, TicketRecord};
use zts_domain::clock::Timestamp;
use zts_domain::ids::{ConnectionId, Owner};
use zts_domain::items::{
    API_KEY_SK as KEY_SK, RATE_SK, RateWindow, SLOTS_SK, TICKET_SK, owner_pk, ticket_pk,
};
use zts_domain::ports::{ConnectionSlots, KeyStore, StoreError};
use zts_domain::slots::SlotsRecord;

const APIKEYS: &str = "apikeys";

#[async_trait]
impl KeyStore for EmbeddedStore {
    async fn put_key(&self, key: ApiKeyRecord) -> Result<(), StoreError> {
        let body = items_db::encode(&key)?;
        self.db
            .write(move |conn| {
                items_db::put_raw(
                    conn,
                    APIKEYS,
                    &key.key_hash,
                    KEY_SK,
                    &body,
                    Index::default(),
                )
                .map(|()| ((), Vec::new()))
            })
            .await
    }

    async fn get_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let key_hash = key_hash.to_string();
        self.db
            .read(move |conn| items_db::get(conn, APIKEYS, &key_hash, KEY_SK))
            .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.db
            .read(|conn| {
                let bodies: Vec<String> = conn
                    .prepare_cached("SELECT body FROM items WHERE tbl = ?1 AND sk = ?2 ORDER BY pk")
                    .and_then(|mut s| {
                        s.query_map(params![APIKEYS, KEY_SK], |r| r.get(0))?
                            .collect()
                    })
                    .map_err(sql_error)?;
                bodies
                    .iter()
                    .map(|b| {
                        serde_json::from_str(b).map_err(|e| StoreError::Corrupt(e.to_string()))
                    })
                    .collect()
            })
            .await
    }

    async fn revoke_key(
        &self,
        key_id: &str,
        at: Timestamp,
    ) -> Result<Option<ApiKeyRecord>, StoreError> {
        let Some(prefix) = auth::key_id_prefix(key_id) else {
            return Ok(None);
        };
        let prefix = format!("{prefix}%");
        self.db
            .write(move |conn| {
                let bodies: Vec<String> = conn
                    .prepare_cached(
                        "SELECT body FROM items WHERE tbl = ?1 AND sk = ?2 AND pk LIKE ?3 LIMIT 2",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![APIKEYS, KEY_SK, prefix], |r| r.get(0))?
                            .collect()
                    })
                    .map_err(sql_error)?;
                let [body] = bodies.as_slice() else {
                    // None, or an ambiguous prefix: revoke nothing rather than the wrong key.
                    return Ok((None, Vec::new()));
                };
                let mut key: ApiKeyRecord =
                    serde_json::from_str(body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if key.revoke(at) {
                    items_db::put(conn, APIKEYS, &key.key_hash, KEY_SK, &key, Index::default())?;
                }
                Ok((Some(key), Vec::new()))
            })
            .await
    }

    async fn acquire(
        &self,
        key_hash: &str,
        limits: Limits,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        let key_hash = key_hash.to_string();
        let now_ns = auth::epoch_nanos(now);
        // A window lost in a crash only forgets some spent tokens: the request need not
        // wait for the fsync (README: Benchmark). The limit still holds across processes
        // sharing the data directory: each reads and writes the window under SQLite's
        // write lock.
        self.db
            .write_unsynced(move |conn| {
                let window: Option<RateWindow> = items_db::get(conn, APIKEYS, &key_hash, RATE_SK)?;
                let (decision, next) = auth::gcra(window.and_then(|w| w.tat_ns), now_ns, limits);
                if let Some(tat_ns) = next {
                    let window = RateWindow::at(tat_ns);
                    items_db::put(conn, APIKEYS, &key_hash, RATE_SK, &window, Index::default())?;
                }
                Ok(decision)
            })
            .await
    }

    async fn put_ticket(&self, ticket: TicketRecord) -> Result<(), StoreError> {
        let body = items_db::encode(&ticket)?;
        self.db
            .write(move |conn| {
                items_db::put_raw(
                    conn,
                    APIKEYS,
                    &ticket_pk(&ticket.ticket_hash),
                    TICKET_SK,
                    &body,
                    Index::default(),
                )
                .map(|()| ((), Vec::new()))
            })
            .await
    }

    async fn consume_ticket(
        &self,
        ticket_hash: &str,
        now: Timestamp,
    ) -> Result<Option<TicketRecord>, StoreError> {
        let pk = ticket_pk(ticket_hash);
        self.db
            .write(move |conn| {
                let ticket: Option<TicketRecord> = items_db::get(conn, APIKEYS, &pk, TICKET_SK)?;
                if ticket.is_some() {
                    // Used or expired, it goes: a ticket never works twice.
                    items_db::delete(conn, APIKEYS, &pk, TICKET_SK)?;
                }
                Ok((ticket.filter(|t| t.expires_at > now), Vec::new()))
            })
            .await
    }
}

#[async_trait]
impl ConnectionSlots for EmbeddedStore {
    async fn claim_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
        max: usize,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let pk = owner_pk(owner);
        let connection = connection.clone();
        // One write transaction: read, claim and write cannot interleave with another.
        self.db
            .write(move |conn| {
                let mut record: SlotsRecord =
                    items_db::get(conn, APIKEYS, &pk, SLOTS_SK)?.unwrap_or_default();
                let claimed = record.claim(&connection, max, now);
                if claimed {
                    items_db::put(conn, APIKEYS, &pk, SLOTS_SK, &record, Index::default())?;
                }
                Ok((claimed, Vec::new()))
            })
            .await
    }

    async fn release_slot(
        &self,
        owner: &Owner,
        connection: &ConnectionId,
    ) -> Result<(), StoreError> {
        let pk = owner_pk(owner);
        let connection = connection.clone();
        self.db
            .write(move |conn| {
                let record: Option<SlotsRecord> = items_db::get(conn, APIKEYS, &pk, SLOTS_SK)?;
                if let Some(mut record) = record
                    && record.release(&connection)
                {
                    items_db::put(conn, APIKEYS, &pk, SLOTS_SK, &record, Index::default())?;
                }
                Ok(((), Vec::new()))
            })
            .await
    }

    async fn open_slots(&self, owner: &Owner, now: Timestamp) -> Result<usize, StoreError> {
        let pk = owner_pk(owner);
        let record: Option<SlotsRecord> = self
            .db
            .read(move |conn| items_db::get(conn, APIKEYS, &pk, SLOTS_SK))
            .await?;
        Ok(record.map_or(0, |r| r.open(now)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    /// Rate windows are answered before their fsync, yet two stores on one data directory
    /// (two `zts serve` processes, as SQLite sees them: two writers on one file) share one
    /// bucket per key: of 2 × 10 requests at the same instant, exactly the burst passes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keys_limit_holds_across_two_stores_on_one_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = EmbeddedStore::open(dir.path()).unwrap();
        let b = EmbeddedStore::open(dir.path()).unwrap();
        let limits = Limits {
            rate: 0.1,
            burst: 5,
        };
        let now = zts_domain::clock::now();
        let mut allowed = 0;
        for _ in 0..10 {
            for store in [&a, &b] {
                if store
                    .acquire("key-hash", limits, now)
                    .await
                    .unwrap()
                    .allowed
                {
                    allowed += 1;
                }
            }
        }
        assert_eq!(allowed, 5);
        // The windows were committed, not only answered: a third store sees them.
        drop((a, b));
        let c = EmbeddedStore::open(dir.path()).unwrap();
        assert!(!c.acquire("key-hash", limits, now).await.unwrap().allowed);
    }
}
