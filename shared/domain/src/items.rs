//! The stored items and their keys (ARCHITECTURE.md §3), shared by every store adapter so the
//! embedded database and DynamoDB hold the same items under the same keys.

use crate::clock::{self, Timestamp};
use crate::ids::{ConnectionId, Owner, ProjectId};
use crate::project::StepName;
use serde::{Deserialize, Serialize};

pub const META: &str = "META";
pub const INPUT: &str = "INPUT";
pub const IDEMPOTENCY: &str = "IDEMPOTENCY";
pub const EVENT_PREFIX: &str = "EVENT#";
pub const ARTIFACT_PREFIX: &str = "ARTIFACT#";
pub const SUB_PREFIX: &str = "SUB#";

/// Events sort by seq as strings, so seq is zero-padded to ten digits.
pub fn event_sk(seq: u64) -> String {
    format!("{EVENT_PREFIX}{seq:010}")
}

pub fn project_pk(id: &ProjectId) -> String {
    format!("PROJECT#{id}")
}

pub fn artifact_sk(step: StepName) -> String {
    format!("{ARTIFACT_PREFIX}{step}")
}

pub fn sub_sk(connection: &ConnectionId) -> String {
    format!("{SUB_PREFIX}{connection}")
}

pub fn idempotency_pk(owner: &Owner, key_hash: &str) -> String {
    format!("IDEMPOTENCY#{owner}#{key_hash}")
}

/// The sort key of the owner index: newest first means descending on this string.
pub fn created_key(created_at: &Timestamp, id: &ProjectId) -> String {
    format!("{}#{id}", clock::format(created_at))
}

/// Shards of the reconciler's sparse index on DynamoDB (ARCHITECTURE.md §3): every create
/// writes an index entry and its first step removes it, so the entries are spread over
/// this many partitions instead of one hot key.
pub const PENDING_SHARDS: u32 = 8;

/// The partition of a project's pending-run index entry: `PENDING#<0..8>`, from the last
/// (random) hex digit of its id.
pub fn pending_pk(id: &ProjectId) -> String {
    let digit = id
        .as_str()
        .chars()
        .last()
        .and_then(|c| c.to_digit(16))
        .unwrap_or(0);
    pending_shard_pk(digit % PENDING_SHARDS)
}

pub fn pending_shard_pk(shard: u32) -> String {
    format!("PENDING#{shard}")
}

/// The partition of a deleted project's tombstone in the same sparse index (DynamoDB):
/// `DELETED#<0..8>`, where the purge finds it.
pub fn deleted_pk(id: &ProjectId) -> String {
    let digit = id
        .as_str()
        .chars()
        .last()
        .and_then(|c| c.to_digit(16))
        .unwrap_or(0);
    deleted_shard_pk(digit % PENDING_SHARDS)
}

pub fn deleted_shard_pk(shard: u32) -> String {
    format!("DELETED#{shard}")
}

/// The sort key of the pending-run index: when the current run was claimed, then the id.
pub fn pending_sk(claimed_at: &Timestamp, id: &ProjectId) -> String {
    format!("{}#{id}", clock::format(claimed_at))
}

/// A `SUB#<connection>` item in a project's partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub connection_id: ConnectionId,
    pub subscribed_at: Timestamp,
    /// Epoch seconds: a subscription never outlives its connection's TTL.
    pub ttl: i64,
    /// The delivery mark: the connection has been sent the project's events through this
    /// seq. Absent while the subscribe's replay is still being sent; the broadcaster waits
    /// for it, then pushes only what is above it (ARCHITECTURE.md §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_through: Option<u64>,
}

impl SubscriptionRecord {
    /// A subscription whose replay is about to be sent.
    pub fn replaying(connection_id: ConnectionId, subscribed_at: Timestamp, ttl: i64) -> Self {
        SubscriptionRecord {
            connection_id,
            subscribed_at,
            ttl,
            delivered_through: None,
        }
    }
}

/// ApiKeys table sort keys: a key (by hash), its rate window, a ticket (`TICKET#<hash>`).
pub const API_KEY_SK: &str = "KEY";
pub const RATE_SK: &str = "RATE";
pub const TICKET_SK: &str = "TICKET";

pub fn ticket_pk(ticket_hash: &str) -> String {
    format!("TICKET#{ticket_hash}")
}

/// An owner's open WebSocket slots live at (`OWNER#<owner>`, `WSSLOTS`) in the ApiKeys table.
pub const SLOTS_SK: &str = "WSSLOTS";

pub fn owner_pk(owner: &crate::ids::Owner) -> String {
    format!("OWNER#{owner}")
}

/// A key's rate-limit window: the GCRA theoretical arrival time, in epoch nanoseconds
/// (whole milliseconds rounded every request up and capped the rate at 1,000/s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    /// `None` for a window written before nanoseconds (it held `tat_ms`): read as an
    /// empty window, which at worst lets one burst through once after an upgrade.
    #[serde(default)]
    pub tat_ns: Option<i64>,
    /// Epoch seconds after which the window is empty anyway (DynamoDB TTL).
    pub ttl: i64,
}

impl RateWindow {
    /// The window a GCRA decision leaves: it expires (TTL) the second after its
    /// theoretical arrival time, when an empty window would decide the same.
    pub fn at(tat_ns: i64) -> Self {
        RateWindow {
            tat_ns: Some(tat_ns),
            ttl: tat_ns.div_euclid(1_000_000_000) + 1,
        }
    }
}
