//! Tables made from `template.yaml` itself (feature `aws`): the emulation creates the
//! deployment's tables this way, and so do the tests, so the template and the code cannot
//! drift apart.

use super::template::Template;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde_norway::Value;

/// Why a table could not be made from the template.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("no resource {0} in the template")]
    NoResource(String),
    #[error("{0} is not an AWS::DynamoDB::Table")]
    NotATable(String),
    /// The template's definition lacks what CreateTable needs.
    #[error("the table's definition: {0}")]
    Definition(String),
    /// The endpoint refused the call.
    #[error("{call}: {reason}")]
    Refused { call: &'static str, reason: String },
}

fn definition(e: impl std::fmt::Display) -> TableError {
    TableError::Definition(e.to_string())
}

fn text(v: &Value, key: &str) -> Result<String, TableError> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| definition(format_args!("{key} is missing or not text")))
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, TableError> {
    v.as_sequence()
        .ok_or_else(|| definition("KeySchema is not a list"))?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?.as_str()))
                .build()
                .map_err(definition)
        })
        .collect()
}

/// Creates the table the template's `logical_id` defines, named `name`: its keys,
/// attributes, indexes, billing mode, stream and TTL attribute.
pub async fn create(
    client: &Client,
    template: &Template,
    logical_id: &str,
    name: &str,
) -> Result<(), TableError> {
    let resource = template
        .resource(logical_id)
        .ok_or_else(|| TableError::NoResource(logical_id.to_string()))?;
    if resource["Type"].as_str() != Some("AWS::DynamoDB::Table") {
        return Err(TableError::NotATable(logical_id.to_string()));
    }
    let props = &resource["Properties"];
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(text(props, "BillingMode")?.as_str()));
    for a in props["AttributeDefinitions"]
        .as_sequence()
        .ok_or_else(|| definition("AttributeDefinitions is not a list"))?
    {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(
                    text(a, "AttributeType")?.as_str(),
                ))
                .build()
                .map_err(definition)?,
        );
    }
    create = create.set_key_schema(Some(key_schema(&props["KeySchema"])?));
    for g in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(g, "IndexName")?)
                .set_key_schema(Some(key_schema(&g["KeySchema"])?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            text(&g["Projection"], "ProjectionType")?.as_str(),
                        ))
                        .build(),
                )
                .build()
                .map_err(definition)?,
        );
    }
    if let Some(stream) = props.get("StreamSpecification") {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(
                    text(stream, "StreamViewType")?.as_str(),
                ))
                .build()
                .map_err(definition)?,
        );
    }
    match create.send().await {
        Ok(_) => {}
        // A second emulation of the same stage on the same endpoint reuses its tables.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(e) => {
            return Err(TableError::Refused {
                call: "CreateTable",
                reason: format!("{e:?}"),
            });
        }
    }
    // TTL is its own call on a table that exists (CloudFormation makes it the same way).
    if let Some(ttl) = props.get("TimeToLiveSpecification")
        && ttl.get("Enabled").and_then(Value::as_bool) == Some(true)
    {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName")?)
                    .enabled(true)
                    .build()
                    .map_err(definition)?,
            )
            .send()
            .await
            .map_err(|e| TableError::Refused {
                call: "UpdateTimeToLive",
                reason: format!("{e:?}"),
            })?;
    }
    Ok(())
}
