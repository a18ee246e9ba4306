//! Time as the domain sees it: UTC, millisecond precision (what DynamoDB and the events
//! carry), so a value read back from a store compares equal to the one written.

use chrono::{DateTime, SubsecRound, Utc};

pub type Timestamp = DateTime<Utc>;
/// A span of domain time (so callers need not name chrono).
pub type Duration = chrono::Duration;

/// The current time, truncated to milliseconds.
pub fn now() -> Timestamp {
    Utc::now().trunc_subsecs(3)
}

/// The RFC 3339 form used in items and events: `2026-11-22T00:29:09.123Z`.
pub fn format(ts: &Timestamp) -> String {
    ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
