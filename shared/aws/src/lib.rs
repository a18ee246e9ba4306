//! The AWS adapters (feature `aws`): the DynamoDB stores, the Step Functions starter and
//! the API Gateway Management pusher. They keep the same items under the
//! same keys as the embedded store ([`zts_domain::items`]), apply the same
//! [`zts_domain::transition::apply`], and pass the same conformance suite (against a moto
//! server in the tests).

mod artifacts;
mod connections;
pub mod deploy;
mod errors;
pub mod http;
mod item;
mod keys;
mod optimistic;
mod projects;
mod push;
mod retention;
pub use retention::TTL_ATTRIBUTE;
pub mod secrets;
mod slots;
mod workflow;

#[cfg(feature = "lambda")]
pub mod lambda;

pub use keys::DynamoKeyStore;
pub use push::{ApiGatewayPusher, PushRetry};
pub use workflow::StepFunctionsStarter;

use aws_sdk_dynamodb::Client;
use zts_domain::cursor::CursorCodec;
use zts_domain::retention::Retention;

/// Table names, as the template's outputs give them.
#[derive(Debug, Clone)]
pub struct Tables {
    pub projects: String,
    pub connections: String,
    pub api_keys: String,
    /// How long ended projects stay in `projects` (the template's `RetentionDays`): every
    /// item of a project is written with a TTL that outlives it (`retention.rs`).
    pub retention: Retention,
}

/// A strongly consistent GetItem.
async fn get_item(
    client: &Client,
    table: &str,
    key: item::Item,
) -> Result<Option<item::Item>, zts_domain::ports::StoreError> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(errors::sdk)?;
    Ok(out.item)
}

/// The name of the Projects table's sparse owner index (template.yaml).
pub const OWNER_INDEX: &str = "by-owner";
/// The name of the Projects table's sparse pending-run index (template.yaml): META items
/// carry its keys only while the project is CREATED.
pub const PENDING_INDEX: &str = "by-pending-run";

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
    cursors: CursorCodec,
    keys: DynamoKeyStore,
    retention: Retention,
}

impl DynamoStore {
    /// `cursor_secret` signs list cursors; every instance of a deployment must share it.
    pub fn new(client: Client, tables: Tables, cursor_secret: &[u8]) -> Self {
        DynamoStore {
            keys: DynamoKeyStore::new(client.clone(), tables.api_keys.clone()),
            client,
            retention: tables.retention,
            tables,
            cursors: CursorCodec::new(cursor_secret),
        }
    }

    /// Another retention than the tables' (tests).
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// A store for callers that never list projects (every function but the api, the key
    /// commands): the cursors it could sign are never handed out, so a random key per
    /// process does, and no secret has to be deployed to them.
    pub fn without_listing(client: Client, tables: Tables) -> Self {
        Self::new(client, tables, &rand::random::<[u8; 32]>())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The tables this store writes.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// A strongly consistent GetItem on any of the tables.
    async fn get_item(
        &self,
        table: &str,
        key: item::Item,
    ) -> Result<Option<item::Item>, zts_domain::ports::StoreError> {
        get_item(&self.client, table, key).await
    }

    /// The ApiKeys part of this store.
    pub fn keys(&self) -> &DynamoKeyStore {
        &self.keys
    }
}
