//! An artifact as the Projects table holds it: its content deflated in a binary attribute.
//! DynamoDB bills a write unit per KB (two in a transaction) and an engine's report is a
//! few KB of JSON that deflates to about a third (README, What a project costs, has the
//! figures). Items written before this carry `content` as a map and still read.

use super::item::{self, Item};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use zts_domain::ports::StoreError;
use zts_domain::project::Artifact;

/// The attribute holding the deflated JSON of `content`.
const DEFLATED: &str = "content_deflated";
/// Level 9 of miniz's 0–10: a report deflates in microseconds either way.
const LEVEL: u8 = 9;
/// The most a stored blob may inflate to: DynamoDB's item limit is 400 KB, and an engine
/// report is a few KB, so anything near this is corruption, not content.
const INFLATED_MAX: usize = 4 * 1024 * 1024;

/// The item's attributes (without keys or TTL) for `artifact`.
pub fn encode(artifact: &Artifact) -> Result<Item, StoreError> {
    let json = serde_json::to_vec(&artifact.content)
        .map_err(|e| StoreError::Backend(format!("cannot encode an artifact: {e}")))?;
    let mut attributes = serde_dynamo::to_item::<_, Item>(Header::of(artifact))
        .map_err(|e| StoreError::Backend(format!("cannot encode an artifact: {e}")))?;
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, LEVEL);
    attributes.insert(DEFLATED.into(), AttributeValue::B(Blob::new(deflated)));
    Ok(attributes)
}

/// The artifact an item holds, deflated or (written before deflation) as a map.
pub fn decode(mut stored: Item) -> Result<Artifact, StoreError> {
    let Some(blob) = stored.remove(DEFLATED) else {
        return item::decode(stored);
    };
    let AttributeValue::B(bytes) = blob else {
        return Err(StoreError::Corrupt(format!("{DEFLATED} is not binary")));
    };
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(bytes.as_ref(), INFLATED_MAX)
        .map_err(|e| StoreError::Corrupt(format!("an artifact does not inflate: {e}")))?;
    let content = serde_json::from_slice(&json)
        .map_err(|e| StoreError::Corrupt(format!("an artifact is not JSON: {e}")))?;
    let header: Header = item::decode(stored)?;
    Ok(Artifact {
        step: header.step,
        artifact_type: header.artifact_type,
        content,
        created_at: header.created_at,
    })
}

/// Everything of an artifact but its content, as plain attributes.
#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    step: zts_domain::project::StepName,
    artifact_type: String,
    created_at: zts_domain::clock::Timestamp,
}

impl Header {
    fn of(a: &Artifact) -> Self {
        Header {
            step: a.step,
            artifact_type: a.artifact_type.clone(),
            created_at: a.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zts_domain::project::StepName;

    fn report() -> Artifact {
        let findings: Vec<String> = (0..40)
            .map(|i| format!("finding {i}: the segment needs a threshold to be tested"))
            .collect();
        Artifact {
            step: StepName::Validator,
            artifact_type: "validation_report".into(),
            content: serde_json::json!({"score": 90, "findings": findings, "ünïcode": "✓"}),
            created_at: zts_domain::clock::now(),
        }
    }

    #[test]
    fn an_artifact_reads_back_as_written_and_is_stored_smaller() {
        let artifact = report();
        let attributes = encode(&artifact).unwrap();
        assert!(!attributes.contains_key("content"));
        let AttributeValue::B(blob) = &attributes[DEFLATED] else {
            panic!("not binary: {attributes:?}");
        };
        let json_len = serde_json::to_vec(&artifact.content).unwrap().len();
        assert!(
            blob.as_ref().len() * 4 < json_len,
            "{} of {json_len}",
            blob.as_ref().len()
        );
        assert_eq!(decode(attributes).unwrap(), artifact);
    }

    #[test]
    fn an_artifact_written_before_deflation_still_reads() {
        let artifact = report();
        let old: Item = serde_dynamo::to_item(&artifact).unwrap();
        assert_eq!(decode(old).unwrap(), artifact);
    }

    #[test]
    fn a_corrupt_blob_is_corrupt_not_a_panic() {
        let mut attributes = encode(&report()).unwrap();
        attributes.insert(
            DEFLATED.into(),
            AttributeValue::B(Blob::new(vec![0xff; 64])),
        );
        assert!(matches!(decode(attributes), Err(StoreError::Corrupt(_))));
        let mut not_binary = encode(&report()).unwrap();
        not_binary.insert(DEFLATED.into(), AttributeValue::S("x".into()));
        assert!(matches!(decode(not_binary), Err(StoreError::Corrupt(_))));
    }
}
