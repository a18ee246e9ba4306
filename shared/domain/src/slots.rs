//! Open WebSocket connections per owner, as slots that expire (README "Hardening").
//!
//! On AWS `$disconnect` is best effort and TTL deletion lags by days, so a counter only
//! `$disconnect` decremented would leak. Instead each open connection holds a slot with its
//! own expiry (API Gateway's 2-hour maximum): a claim drops expired slots before it counts,
//! so a connection whose `$disconnect` was lost frees its slot when it could no longer be
//! open anyway. Adapters read the record, apply [`SlotsRecord::claim`] and write it back
//! only if its `version` is still the one read, so concurrent connects cannot overshoot.

use crate::clock::Timestamp;
use crate::ids::ConnectionId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Open WebSockets per owner unless configured: fits a client with a few tabs and workers.
/// The local gateway and the `$connect` authorizer default to it alike.
pub const DEFAULT_PER_OWNER: usize = 25;

/// How long a slot is held without a `$disconnect`: API Gateway closes every WebSocket
/// after 2 hours.
pub const SLOT_LIFETIME_SECS: i64 = 2 * 60 * 60;

/// One owner's slots: connection id → expiry (epoch seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotsRecord {
    #[serde(default)]
    pub slots: BTreeMap<String, i64>,
    /// Bumped by every write: the optimistic-concurrency token.
    #[serde(default)]
    pub version: u64,
    /// Epoch seconds: the latest expiry, so the item itself goes once every slot has.
    #[serde(default)]
    pub ttl: i64,
}

impl SlotsRecord {
    /// Claims a slot for `connection` until `now + SLOT_LIFETIME_SECS`, dropping expired
    /// slots first. True when the connection holds one afterwards (claiming twice is
    /// fine); false when `max` unexpired slots are held by other connections.
    pub fn claim(&mut self, connection: &ConnectionId, max: usize, now: Timestamp) -> bool {
        let now_s = now.timestamp();
        self.slots.retain(|_, expires| *expires > now_s);
        if !self.slots.contains_key(connection.as_str()) {
            if self.slots.len() >= max {
                return false;
            }
            self.slots
                .insert(connection.as_str().to_string(), now_s + SLOT_LIFETIME_SECS);
        }
        self.bump();
        true
    }

    /// Frees `connection`'s slot. False when it held none (nothing to write).
    pub fn release(&mut self, connection: &ConnectionId) -> bool {
        let held = self.slots.remove(connection.as_str()).is_some();
        if held {
            self.bump();
        }
        held
    }

    /// Slots not yet expired.
    pub fn open(&self, now: Timestamp) -> usize {
        let now_s = now.timestamp();
        self.slots.values().filter(|e| **e > now_s).count()
    }

    fn bump(&mut self) {
        self.version += 1;
        self.ttl = self.slots.values().copied().max().unwrap_or(0);
    }
}
