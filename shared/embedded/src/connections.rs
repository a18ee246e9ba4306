//! [`ConnectionStore`] on the embedded database.

use super::EmbeddedStore;
use super::db::sql_error;
use super::items_sql::{self as items_db, CONNECTIONS, Index, PROJECTS};
use async_trait::async_trait;
use zts_domain::clock::{self, Timestamp};
use zts_domain::ids::{ConnectionId, ProjectId};
use zts_domain::items::{self, SubscriptionRecord};
use zts_domain::ports::{ConnectionRecord, ConnectionStore, OpenTotals, StoreError};

/// The Connections table has a partition key only; this is the fixed sort key standing in.
const CONNECTION_SK: &str = "CONNECTION";

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn put_connection(&self, connection: ConnectionRecord) -> Result<(), StoreError> {
        self.db
            .write(move |conn| {
                items_db::put(
                    conn,
                    CONNECTIONS,
                    connection.connection_id.as_str(),
                    CONNECTION_SK,
                    &connection,
                    Index::default(),
                )?;
                Ok(((), Vec::new()))
            })
            .await
    }

    async fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let id = id.clone();
        self.db
            .read(move |conn| items_db::get(conn, CONNECTIONS, id.as_str(), CONNECTION_SK))
            .await
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError> {
        let id = id.clone();
        self.db
            .write(move |conn| {
                let record: Option<ConnectionRecord> =
                    items_db::get(conn, CONNECTIONS, id.as_str(), CONNECTION_SK)?;
                if let Some(record) = record {
                    for project in &record.subscriptions {
                        items_db::delete(
                            conn,
                            PROJECTS,
                            &items::project_pk(project),
                            &items::sub_sk(&id),
                        )?;
                    }
                    items_db::delete(conn, CONNECTIONS, id.as_str(), CONNECTION_SK)?;
                }
                Ok(((), Vec::new()))
            })
            .await
    }

    async fn subscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<usize, StoreError> {
        let (id, project) = (id.clone(), project.clone());
        self.db
            .write(move |conn| {
                let mut record: ConnectionRecord =
                    items_db::get(conn, CONNECTIONS, id.as_str(), CONNECTION_SK)?
                        .ok_or(StoreError::NotFound)?;
                if !record.subscriptions.contains(&project) {
                    record.subscriptions.push(project.clone());
                    items_db::put(
                        conn,
                        CONNECTIONS,
                        id.as_str(),
                        CONNECTION_SK,
                        &record,
                        Index::default(),
                    )?;
                }
                // Written again on a repeat: its delivery starts over with a new replay.
                let sub = SubscriptionRecord::replaying(id.clone(), clock::now(), record.ttl);
                items_db::put(
                    conn,
                    PROJECTS,
                    &items::project_pk(&project),
                    &items::sub_sk(&id),
                    &sub,
                    Index::default(),
                )?;
                Ok((record.subscriptions.len(), Vec::new()))
            })
            .await
    }

    async fn unsubscribe(&self, id: &ConnectionId, project: &ProjectId) -> Result<(), StoreError> {
        let (id, project) = (id.clone(), project.clone());
        self.db
            .write(move |conn| {
                let record: Option<ConnectionRecord> =
                    items_db::get(conn, CONNECTIONS, id.as_str(), CONNECTION_SK)?;
                if let Some(mut record) = record {
                    record.subscriptions.retain(|p| p != &project);
                    items_db::put(
                        conn,
                        CONNECTIONS,
                        id.as_str(),
                        CONNECTION_SK,
                        &record,
                        Index::default(),
                    )?;
                }
                items_db::delete(
                    conn,
                    PROJECTS,
                    &items::project_pk(&project),
                    &items::sub_sk(&id),
                )?;
                Ok(((), Vec::new()))
            })
            .await
    }

    async fn subscribers(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<SubscriptionRecord>, StoreError> {
        let pk = items::project_pk(project);
        self.db
            .read(move |conn| items_db::range(conn, PROJECTS, &pk, "SUB#", "SUB$", u32::MAX))
            .await
    }

    async fn subscription(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
    ) -> Result<Option<SubscriptionRecord>, StoreError> {
        let (pk, sk) = (items::project_pk(project), items::sub_sk(id));
        self.db
            .read(move |conn| items_db::get(conn, PROJECTS, &pk, &sk))
            .await
    }

    async fn mark_delivered(
        &self,
        id: &ConnectionId,
        project: &ProjectId,
        expected: Option<u64>,
        through: u64,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = (items::project_pk(project), items::sub_sk(id));
        self.db
            .write(move |conn| {
                let current: Option<SubscriptionRecord> = items_db::get(conn, PROJECTS, &pk, &sk)?;
                let Some(mut sub) = current.filter(|s| s.delivered_through == expected) else {
                    return Ok((false, Vec::new()));
                };
                sub.delivered_through = Some(through);
                items_db::put(conn, PROJECTS, &pk, &sk, &sub, Index::default())?;
                Ok((true, Vec::new()))
            })
            .await
    }

    async fn open_totals(&self, now: Timestamp) -> Result<OpenTotals, StoreError> {
        let bodies: Vec<String> = self
            .db
            .read(|conn| {
                conn.prepare_cached("SELECT body FROM items WHERE tbl = ?1")
                    .and_then(|mut stmt| stmt.query_map([CONNECTIONS], |row| row.get(0))?.collect())
                    .map_err(sql_error)
            })
            .await?;
        let records = bodies
            .iter()
            .map(|b| items_db::decode::<ConnectionRecord>(b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::live::open_totals(records.iter(), now))
    }
}
