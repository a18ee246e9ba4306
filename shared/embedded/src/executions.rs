//! The local-only table of workflow executions. The local stack's interpreter saves each
//! execution when it starts and whenever it is about to wait, through the same group
//! commit as the step commits, and resumes them after a restart.

use super::EmbeddedStore;
use super::db::sql_error;
use rusqlite::params;
use zts_domain::ports::StoreError;

impl EmbeddedStore {
    /// Creates or replaces the stored execution `name`.
    pub async fn save_execution(
        &self,
        name: &str,
        execution: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let (name, body) = (name.to_string(), execution.to_string());
        self.db
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO executions (name, body) VALUES (?1, ?2)",
                )
                .and_then(|mut stmt| stmt.execute(params![name, body]))
                .map_err(sql_error)?;
                Ok(((), Vec::new()))
            })
            .await
    }

    pub async fn delete_execution(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_string();
        self.db
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM executions WHERE name = ?1")
                    .and_then(|mut stmt| stmt.execute(params![name]))
                    .map_err(sql_error)?;
                Ok(((), Vec::new()))
            })
            .await
    }

    /// Stores a new execution unless one named `name` is stored: false, nothing written,
    /// when it is. One atomic write, so two processes sharing the data directory (or a
    /// reconciler racing a create) never both start the same run.
    pub async fn save_new_execution(
        &self,
        name: &str,
        execution: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let (name, body) = (name.to_string(), execution.to_string());
        self.db
            .write(move |conn| {
                let inserted = conn
                    .prepare_cached("INSERT OR IGNORE INTO executions (name, body) VALUES (?1, ?2)")
                    .and_then(|mut stmt| stmt.execute(params![name, body]))
                    .map_err(sql_error)?;
                Ok((inserted == 1, Vec::new()))
            })
            .await
    }

    /// Every stored execution, oldest name first.
    pub async fn load_executions(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        self.db
            .read(|conn| {
                let rows: Vec<(String, String)> = conn
                    .prepare("SELECT name, body FROM executions ORDER BY name")
                    .and_then(|mut stmt| {
                        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                            .collect()
                    })
                    .map_err(sql_error)?;
                rows.into_iter()
                    .map(|(name, body)| {
                        Ok((
                            name,
                            serde_json::from_str(&body)
                                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                        ))
                    })
                    .collect()
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    /// Of two starts of one execution, from two stores on one data directory, exactly one
    /// is saved, and the stored execution is the first one's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_execution_is_saved_once_across_stores_sharing_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = EmbeddedStore::open(dir.path()).unwrap();
        let b = EmbeddedStore::open(dir.path()).unwrap();
        let first = serde_json::json!({"by": "a"});
        let second = serde_json::json!({"by": "b"});
        let (x, y) = tokio::join!(
            a.save_new_execution("p-1", &first),
            b.save_new_execution("p-1", &second)
        );
        assert_eq!(
            [x.unwrap(), y.unwrap()]
                .iter()
                .filter(|&&saved| saved)
                .count(),
            1
        );
        let stored = a.load_executions().await.unwrap();
        assert_eq!(stored.len(), 1);
        assert!(stored[0].1 == first || stored[0].1 == second);
        // The one stored stays: a third start of the name is refused and changes nothing.
        assert!(
            !a.save_new_execution("p-1", &serde_json::json!({}))
                .await
                .unwrap()
        );
        assert_eq!(a.load_executions().await.unwrap(), stored);
    }
}
