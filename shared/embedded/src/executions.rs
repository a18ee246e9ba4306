//! The local-only table of workflow executions. The local stack's
//! interpreter persists each execution after every step here, through the same group
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

    pub async fn execution_exists(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.db
            .read(move |conn| {
                conn.prepare_cached("SELECT 1 FROM executions WHERE name = ?1")
                    .and_then(|mut stmt| stmt.exists(params![name]))
                    .map_err(sql_error)
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
