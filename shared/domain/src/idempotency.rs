//! Idempotency keys for project creation (ARCHITECTURE.md §8, §3).
//!
//! The store keeps `IDEMPOTENCY#<owner>#<sha256(key)>` with the hash of the normalised
//! request: the same key with the same body replays the first answer; with another body
//! it is a conflict. Records expire after [`RECORD_TTL_HOURS`]; the expiry is checked in
//! code as well, because DynamoDB's TTL deletes lazily.

use crate::clock::Timestamp;
use crate::error::{AppError, ErrorCode};
use crate::input::ProjectInput;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const RECORD_TTL_HOURS: i64 = 24;
pub const KEY_MAX_LEN: usize = 255;

/// An `Idempotency-Key` as every route takes it: 1 to [`KEY_MAX_LEN`] visible ASCII
/// characters.
pub fn check_key(key: &str) -> Result<(), AppError> {
    let printable = key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if key.is_empty() || key.len() > KEY_MAX_LEN || !printable {
        return Err(AppError::new(
            ErrorCode::InvalidParameter,
            format!(
                "Idempotency-Key must be 1 to {KEY_MAX_LEN} visible ASCII characters \
                 (a UUID is a good choice)"
            ),
        ));
    }
    Ok(())
}

/// What a create request claims: the key (hashed) and the request it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyClaim {
    pub key_hash: String,
    pub request_hash: String,
    pub expires_at: Timestamp,
}

impl IdempotencyClaim {
    /// Validates the header value and builds the claim. The key is hashed at once so it
    /// never reaches a store or a log in clear.
    pub fn new(key: &str, input: &ProjectInput, now: Timestamp) -> Result<Self, AppError> {
        check_key(key)?;
        Ok(IdempotencyClaim {
            key_hash: sha256_hex(key.as_bytes()),
            request_hash: request_hash(input),
            expires_at: now + chrono::Duration::hours(RECORD_TTL_HOURS),
        })
    }

    /// The claim of a create that asked for `workflow`: the same idea sent for another
    /// workflow is another request (a conflict under one key). The default's hash is the
    /// input's alone, as it was before workflows were named, so records written then
    /// still replay.
    pub fn choosing(mut self, workflow: &str) -> Self {
        if workflow != crate::workflows::DEFAULT_WORKFLOW {
            self.request_hash = sha256_hex(format!("{}\n{workflow}", self.request_hash).as_bytes());
        }
        self
    }

    /// The record a create with this claim stores beside the project it creates.
    pub fn record(&self, project_id: &crate::ids::ProjectId) -> IdempotencyRecord {
        IdempotencyRecord {
            project_id: project_id.clone(),
            request_hash: self.request_hash.clone(),
            expires_at: self.expires_at,
            ttl: self.expires_at.timestamp(),
        }
    }

    /// What the record already stored under this claim's key means for this create: no
    /// live record (absent, or expired but not yet removed by TTL) → create; the same
    /// request → replay that project; another request → conflict. One rule for every
    /// store (ARCHITECTURE.md §6).
    pub fn replay_of(
        &self,
        stored: Option<IdempotencyRecord>,
        now: Timestamp,
    ) -> Result<Option<crate::ids::ProjectId>, crate::ports::StoreError> {
        match stored.filter(|r| r.is_live(now)) {
            None => Ok(None),
            Some(r) if r.request_hash == self.request_hash => Ok(Some(r.project_id)),
            Some(_) => Err(crate::ports::StoreError::IdempotencyConflict),
        }
    }
}

/// The hash of the normalised input: two bodies that validate to the same idea (say,
/// differing only in surrounding whitespace or key order) are the same request.
#[allow(clippy::expect_used, reason = "a struct of strings always serialises")]
pub fn request_hash(input: &ProjectInput) -> String {
    sha256_hex(
        serde_json::to_string(input)
            .expect("input always serialises")
            .as_bytes(),
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The stored record (the item's attributes besides its keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub project_id: crate::ids::ProjectId,
    pub request_hash: String,
    pub expires_at: Timestamp,
    /// Epoch seconds, for DynamoDB TTL.
    pub ttl: i64,
}

impl IdempotencyRecord {
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }
}
