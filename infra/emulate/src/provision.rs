//! What CloudFormation would create before the functions exist, created on the emulation's
//! endpoint (moto): the cursor secret, every table (with its stream), every queue, and the
//! API keys the emulation is given.

use super::stack::{EmulateConfig, EmulateError, provision_failed};
use super::stream::MotoJson;
use super::template::{Pseudo, Resolver, Template};
use std::collections::BTreeMap;
use std::sync::Arc;
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus};
use zts_domain::ports::KeyStore;

/// What was created, and the template resolved against it.
pub(crate) struct Provisioned<'t> {
    pub(crate) endpoint: String,
    pub(crate) resolver: Resolver<'t>,
    pub(crate) stage: String,
    pub(crate) ddb: aws_sdk_dynamodb::Client,
    /// Every function's DynamoDB units, metered at its IAM gate (meter.rs).
    pub(crate) meter: Arc<super::meter::DynamoMeter>,
    pub(crate) moto: MotoJson,
    /// Each queue's URL by its logical id.
    pub(crate) queue_urls: BTreeMap<String, String>,
}

pub(crate) async fn provision<'t>(
    config: &EmulateConfig,
    template: &'t Template,
    pseudo: &Pseudo,
    sdk: &aws_config::SdkConfig,
) -> Result<Provisioned<'t>, EmulateError> {
    let endpoint = config.aws_endpoint.clone();
    let probe = template.resolver(&config.parameters, pseudo.clone())?;
    let stage = probe.parameter("Stage").unwrap_or("dev").to_string();
    let secret_name = probe.resolve_property("CursorSecret", "Name")?;
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let secret_value = format!(
        "{}{}",
        zts_domain::ProjectId::generate().as_str().replace('-', ""),
        zts_domain::ProjectId::generate().as_str().replace('-', "")
    );
    let secret_arn = match secrets
        .create_secret()
        .name(&secret_name)
        .secret_string(secret_value)
        .send()
        .await
    {
        Ok(out) => out.arn.unwrap_or_default(),
        // A second emulation on the same endpoint reuses the stage's secret.
        Err(_) => secrets
            .describe_secret()
            .secret_id(&secret_name)
            .send()
            .await
            .map_err(|e| provision_failed("the cursor secret", &endpoint, e))?
            .arn
            .unwrap_or_default(),
    };
    let resolver = template
        .resolver(&config.parameters, pseudo.clone())?
        .with_physical("CursorSecret", &secret_arn);
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let mut shapes = BTreeMap::new();
    for table in template.resources_of("AWS::DynamoDB::Table") {
        let name = resolver.resolve_property(&table, "TableName")?;
        if let Some(shape) = super::meter::shape_of(template, &table) {
            shapes.insert(name.clone(), shape);
        }
        super::tables::create(&ddb, template, &table, &name)
            .await
            .map_err(|e| provision_failed(&format!("table {name}"), &endpoint, e))?;
    }
    // Every function's DynamoDB units, metered at its IAM gate (meter.rs).
    let dynamodb_meter = Arc::new(super::meter::DynamoMeter::new(shapes));
    let moto = MotoJson::new(&endpoint, &pseudo.region);
    let mut queue_urls = BTreeMap::new();
    for queue in template.resources_of("AWS::SQS::Queue") {
        let name = resolver.resolve_property(&queue, "QueueName")?;
        let created = moto
            .call(
                "sqs",
                "AmazonSQS.CreateQueue",
                serde_json::json!({ "QueueName": name }),
            )
            .await
            .map_err(|e| provision_failed(&format!("queue {name}"), &endpoint, e))?;
        let url = created["QueueUrl"].as_str().unwrap_or_default().to_string();
        queue_urls.insert(queue, url);
    }
    let mut resolver = resolver;
    for (queue, url) in &queue_urls {
        resolver = resolver.with_physical(queue, url);
    }
    if !config.api_keys.is_empty() {
        let keys = zts_aws::DynamoKeyStore::new(
            ddb.clone(),
            resolver.resolve_property("ApiKeysTable", "TableName")?,
        );
        for (owner, key, limits) in &config.api_keys {
            let owner = zts_domain::Owner::parse(owner).ok_or_else(|| {
                provision_failed("an API key", &endpoint, format!("invalid owner {owner:?}"))
            })?;
            keys.put_key(ApiKeyRecord {
                key_hash: auth::hash(key),
                owner,
                status: KeyStatus::Active,
                limits: *limits,
                created_at: zts_domain::clock::now(),
                expires_at: None,
                revoked_at: None,
            })
            .await
            .map_err(|e| provision_failed("an API key", &endpoint, e))?;
        }
    }

    Ok(Provisioned {
        endpoint,
        resolver,
        stage,
        ddb,
        meter: dynamodb_meter,
        moto,
        queue_urls,
    })
}
