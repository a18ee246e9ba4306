//! A DynamoDB store on a moto server, with tables made from `template.yaml` itself, so the
//! template and the code cannot drift apart.
//!
//! The server's address comes from `ZTS_MOTO_ENDPOINT` (the test script starts moto and
//! sets it). Without it, tests skip with a printed reason — except under `CI=true`, where a
//! missing server is a failure.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use zts_aws::{DynamoStore, Tables};

pub const ENDPOINT_ENV: &str = "ZTS_MOTO_ENDPOINT";
const TEMPLATE: &str = include_str!("../../template.yaml");

/// The moto endpoint, or `None` (skip) outside CI when it is not set.
pub fn endpoint() -> Option<String> {
    match std::env::var(ENDPOINT_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "{ENDPOINT_ENV} is not set under CI=true: the test script must start a moto server"
            )
        }
        _ => {
            eprintln!(
                "skipped: {ENDPOINT_ENV} is not set (run `bash infra/scripts/test.sh` to start moto)"
            );
            None
        }
    }
}

/// A client for `endpoint` with dummy credentials: nothing here may ever reach AWS.
pub fn client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(zts_aws::http::https_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "zts-tests"))
        .build();
    Client::from_conf(config)
}

/// Creates the table the template's `logical_id` defines, named `name` (the emulation's
/// own code: `zts_emulate::tables`).
pub async fn create_table(client: &Client, logical_id: &str, name: &str) {
    let template = zts_emulate::template::Template::parse(TEMPLATE).expect("template.yaml parses");
    zts_emulate::tables::create(client, &template, logical_id, name)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
}

/// A store on fresh tables (unique names, so tests never share data).
pub async fn store() -> Option<DynamoStore> {
    let endpoint = endpoint()?;
    let client = client(&endpoint);
    let suffix = zts_domain::ProjectId::generate().to_string();
    let tables = Tables {
        projects: format!("projects-{suffix}"),
        connections: format!("connections-{suffix}"),
        api_keys: format!("apikeys-{suffix}"),
        retention: zts_domain::retention::Retention::default(),
    };
    create_table(&client, "ProjectsTable", &tables.projects).await;
    create_table(&client, "ConnectionsTable", &tables.connections).await;
    create_table(&client, "ApiKeysTable", &tables.api_keys).await;
    Some(DynamoStore::new(
        client,
        tables,
        b"conformance-cursor-secret-0123456789",
    ))
}
