//! API keys, WebSocket tickets and rate limits: the domain half. Keys and tickets are
//! random secrets shown once and stored only as SHA-256 hashes; rate limits are GCRA
//! (a token bucket's exact equivalent) whose state lives in the store, so a limit holds
//! across every instance that shares it.

use crate::clock::Timestamp;
use crate::error::{AppError, ErrorCode};
use crate::idempotency::sha256_hex;
use crate::ids::Owner;
use rand::Rng;
use serde::{Deserialize, Serialize};

pub const KEY_PREFIX: &str = "zts_";
pub const TICKET_PREFIX: &str = "wst_";
/// A ticket is good for this long, and for one connection.
pub const TICKET_TTL_SECONDS: i64 = 60;
const SECRET_CHARS: usize = 40;
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn secret(prefix: &str) -> String {
    let mut rng = rand::rng();
    let body: String = (0..SECRET_CHARS)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{body}")
}

/// A new API key, in clear: show it once, store [`hash`] of it.
pub fn new_key() -> String {
    secret(KEY_PREFIX)
}

pub fn new_ticket() -> String {
    secret(TICKET_PREFIX)
}

/// What the store keys a secret by.
pub fn hash(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// The short, shareable name of a key: the start of its hash (never of the key).
pub fn key_id(key_hash: &str) -> String {
    key_hash.chars().take(12).collect()
}

/// Requests per second and burst allowed to one key.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub rate: f64,
    pub burst: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        rate: 10.0,
        burst: 20,
    };

    pub fn validate(&self) -> Result<(), LimitsError> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 1_000_000.0) {
            return Err(LimitsError::Rate(self.rate));
        }
        if self.burst == 0 || self.burst > 1_000_000 {
            return Err(LimitsError::Burst(self.burst));
        }
        Ok(())
    }
}

/// Limits a key cannot have.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LimitsError {
    #[error("rate must be above 0 and at most 1000000 per second, not {0}")]
    Rate(f64),
    #[error("burst must be 1 to 1000000, not {0}")]
    Burst(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    Revoked,
}

/// An API key as stored (the ApiKeys table): never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub key_hash: String,
    pub owner: Owner,
    pub status: KeyStatus,
    /// Per-key limits; `None` uses the deployment's defaults.
    pub limits: Option<Limits>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// The hash prefix a key id (or a longer prefix of the hash an admin typed) selects, or
/// `None` for something that is not one (revoking then finds nothing). Stores revoke only
/// when exactly one key matches: an ambiguous prefix revokes nothing rather than the
/// wrong key (ARCHITECTURE.md §6).
pub fn key_id_prefix(key_id: &str) -> Option<String> {
    (!key_id.is_empty() && key_id.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| key_id.to_ascii_lowercase())
}

impl ApiKeyRecord {
    pub fn key_id(&self) -> String {
        key_id(&self.key_hash)
    }

    /// Marks the key revoked at `at`; false when it already was (nothing to write).
    pub fn revoke(&mut self, at: Timestamp) -> bool {
        if self.status == KeyStatus::Revoked {
            return false;
        }
        self.status = KeyStatus::Revoked;
        self.revoked_at = Some(at);
        true
    }

    /// Whether this key may be used at `now`; the error says why not.
    pub fn check(&self, now: Timestamp) -> Result<(), AppError> {
        if self.status == KeyStatus::Revoked {
            return Err(AppError::new(
                ErrorCode::Unauthorized,
                "this API key has been revoked; use another key",
            ));
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(AppError::new(
                ErrorCode::Unauthorized,
                "this API key has expired; create a new one",
            ));
        }
        Ok(())
    }
}

/// A WebSocket ticket as stored: single use, short-lived, bound to an owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub ticket_hash: String,
    pub owner: Owner,
    pub expires_at: Timestamp,
    /// Epoch seconds, for DynamoDB TTL.
    pub ttl: i64,
}

/// The answer of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
    /// Seconds to wait before a denied request would pass (0 when allowed).
    pub retry_after_seconds: u64,
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Epoch nanoseconds, the GCRA's clock (saturating far outside the years it can name).
pub fn epoch_nanos(t: Timestamp) -> i64 {
    t.timestamp()
        .saturating_mul(NANOS_PER_SECOND)
        .saturating_add(i64::from(t.timestamp_subsec_nanos()))
}

/// Whole seconds, rounded up, for a nanosecond span (headers speak seconds).
fn ceil_seconds(ns: i64) -> u64 {
    u64::try_from(ns.max(0))
        .unwrap_or(0)
        .div_ceil(NANOS_PER_SECOND as u64)
}

/// GCRA over integer nanoseconds: `tat_ns` is the stored theoretical arrival time (None
/// for a fresh key), `now_ns` the clock. Returns the decision and the new TAT to store
/// (None when the request is denied: nothing changes). The emission interval is rounded
/// to the nearest nanosecond once (relative error below 0.05% up to the highest rate
/// `Limits::validate` allows) and never again, so the rate delivered over a long run is
/// the rate configured.
pub fn gcra(tat_ns: Option<i64>, now_ns: i64, limits: Limits) -> (RateDecision, Option<i64>) {
    let interval = ((NANOS_PER_SECOND as f64 / limits.rate).round() as i64).max(1);
    let tolerance = interval.saturating_mul(i64::from(limits.burst));
    let tat = tat_ns.map_or(now_ns, |t| t.max(now_ns));
    let new_tat = tat.saturating_add(interval);
    let ahead = new_tat - now_ns;
    if ahead > tolerance {
        let decision = RateDecision {
            allowed: false,
            limit: limits.burst,
            remaining: 0,
            reset_seconds: ceil_seconds(tat - now_ns),
            retry_after_seconds: ceil_seconds(ahead - tolerance).max(1),
        };
        return (decision, None);
    }
    let remaining = u32::try_from((tolerance - ahead) / interval).unwrap_or(u32::MAX);
    let decision = RateDecision {
        allowed: true,
        limit: limits.burst,
        remaining: remaining.min(limits.burst),
        reset_seconds: ceil_seconds(ahead),
        retry_after_seconds: 0,
    };
    (decision, Some(new_tat))
}

/// The one ticket check, shared by the local gateway and the `$connect` authorizer: a
/// ticket of the right shape that exists and has not expired is consumed (it works once)
/// and names its owner. Anything else is `None`, without a store call for garbage.
pub async fn redeem_ticket<K: crate::ports::KeyStore + ?Sized>(
    keys: &K,
    ticket: &str,
    now: Timestamp,
) -> Result<Option<Owner>, crate::ports::StoreError> {
    let shaped = ticket.len() == TICKET_PREFIX.len() + SECRET_CHARS
        && ticket.starts_with(TICKET_PREFIX)
        && ticket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !shaped {
        return Ok(None);
    }
    Ok(keys
        .consume_ticket(&hash(ticket), now)
        .await?
        .map(|t| t.owner))
}

/// The `$connect` authorizer's context key for the ticket's owner; the `ws` function reads
/// it from `requestContext.authorizer`.
pub const AUTHORIZER_OWNER_KEY: &str = "owner";

/// The key a request carries: `x-api-key`, or `Authorization: Bearer …`.
pub fn key_from_headers<'a>(
    x_api_key: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Option<&'a str> {
    x_api_key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .or_else(|| {
            authorization
                .and_then(|a| {
                    a.strip_prefix("Bearer ")
                        .or_else(|| a.strip_prefix("bearer "))
                })
                .map(str::trim)
                .filter(|k| !k.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_distinct_and_prefixed() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX) && a.len() == KEY_PREFIX.len() + SECRET_CHARS);
        assert!(new_ticket().starts_with(TICKET_PREFIX));
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(key_id(&hash(&a)), key_id(&hash(&b)));
    }

    #[test]
    fn limits_outside_the_bounds_are_refused_with_the_bad_value() {
        let at = |rate, burst| Limits { rate, burst }.validate();
        assert_eq!(at(1_000_000.0, 1_000_000), Ok(()));
        assert_eq!(at(0.001, 1), Ok(()));
        assert_eq!(at(0.0, 1), Err(LimitsError::Rate(0.0)));
        assert_eq!(at(1_000_001.0, 1), Err(LimitsError::Rate(1_000_001.0)));
        assert!(matches!(at(f64::NAN, 1), Err(LimitsError::Rate(_))));
        assert_eq!(at(1.0, 0), Err(LimitsError::Burst(0)));
        assert_eq!(at(1.0, 1_000_001), Err(LimitsError::Burst(1_000_001)));
        assert_eq!(
            at(1.0, 0).unwrap_err().to_string(),
            "burst must be 1 to 1000000, not 0"
        );
    }

    #[test]
    fn gcra_allows_the_burst_then_denies_then_refills() {
        let limits = Limits {
            rate: 2.0,
            burst: 3,
        };
        let mut tat = None;
        let mut allowed = 0;
        for _ in 0..5 {
            let (d, next) = gcra(tat, 0, limits);
            if d.allowed {
                allowed += 1;
                tat = next;
            } else {
                assert_eq!(
                    d.retry_after_seconds, 1,
                    "one token comes back after 500 ms"
                );
                assert_eq!(d.remaining, 0);
            }
        }
        assert_eq!(allowed, 3);
        // Half a second later, one more token.
        let half_a_second = 500_000_000;
        assert!(gcra(tat, half_a_second, limits).0.allowed);
        assert!(
            !gcra(gcra(tat, half_a_second, limits).1, half_a_second, limits)
                .0
                .allowed
        );
    }

    #[test]
    fn remaining_counts_down() {
        let limits = Limits {
            rate: 1.0,
            burst: 3,
        };
        let (d1, t1) = gcra(None, 1_000_000_000, limits);
        let (d2, _) = gcra(t1, 1_000_000_000, limits);
        assert_eq!((d1.remaining, d2.remaining), (2, 1));
    }

    #[test]
    fn keys_come_from_either_header() {
        assert_eq!(key_from_headers(Some("zts_a"), None), Some("zts_a"));
        assert_eq!(key_from_headers(None, Some("Bearer zts_b")), Some("zts_b"));
        assert_eq!(key_from_headers(None, Some("Basic abc")), None);
        assert_eq!(key_from_headers(Some(" "), None), None);
    }
}
