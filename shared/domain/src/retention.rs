//! How long a project is kept after it ends (ARCHITECTURE.md §7, README: Retention).
//!
//! Two halves, one rule. A project that ends (COMPLETED, FAILED, CANCELLED) gets
//! `retain_until` = its end + the retention on META, and from that moment every reader
//! treats it as gone ([`crate::project::ProjectMeta::is_gone`]): exact, whatever the store.
//! Removing its items is the store's business: on DynamoDB every item of the project
//! carries a `ttl` no earlier than `retain_until` (TTL deletes at no write cost, within
//! about 48 hours of it); locally the reconciler's pass turns it into a tombstone and
//! purges it like a deleted project.
//!
//! Items are stamped when they are written, so none needs a second write when the project
//! ends: an item written at `t` expires at `t + retention + RUN_SPAN_MAX`. A run ends
//! within [`RUN_SPAN_MAX`] of any write it makes (the state machine times out after
//! 300 s; the reconciler gives up after three claims six minutes apart), so every item
//! outlives `retain_until`. A retry starts a new run arbitrarily later: it re-stamps the
//! project's items first.

use crate::clock::{Duration, Timestamp};
use crate::project::ProjectMeta;

/// The longest a run lasts past any write it makes, with a wide margin (see the module
/// documentation): how much later than `retain_until` a DynamoDB item may expire.
pub const RUN_SPAN_MAX_SECS: i64 = 24 * 3600;

/// The retention a deployment uses when none is configured.
pub const DEFAULT_DAYS: u32 = 90;

/// The variable the Lambda functions read it in whole days from (the template's
/// `RetentionDays`; 0 keeps forever), and `zts serve --retention-days`'s.
pub const ENV_DAYS: &str = "ZTS_RETENTION_DAYS";

/// How long ended projects are kept; `None` keeps them forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    after_end: Option<Duration>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention::days(DEFAULT_DAYS)
    }
}

impl Retention {
    /// Projects are never removed for age.
    pub const FOREVER: Retention = Retention { after_end: None };

    /// `days` after the end; 0 keeps forever.
    pub fn days(days: u32) -> Self {
        Self::after(std::time::Duration::from_secs(u64::from(days) * 86_400))
    }

    /// `span` after the end; zero keeps forever.
    pub fn after(span: std::time::Duration) -> Self {
        let after_end = (!span.is_zero())
            .then(|| Duration::from_std(span).ok())
            .flatten();
        Retention { after_end }
    }

    pub fn is_forever(&self) -> bool {
        self.after_end.is_none()
    }

    /// The span after the end, if any.
    pub fn span(&self) -> Option<Duration> {
        self.after_end
    }

    /// Sets or clears `retain_until` on META about to be written: a project that has just
    /// ended is kept until its end + the retention (an already stamped one keeps its date,
    /// so a later write never extends it); a running project (a retry included) has none;
    /// a tombstone has none either (the purge removes it).
    pub fn stamp(&self, meta: &mut ProjectMeta) {
        if !meta.state.is_terminal() || meta.is_deleted() {
            meta.retain_until = None;
        } else if meta.retain_until.is_none() {
            meta.retain_until = self.after_end.map(|span| meta.updated_at + span);
        }
    }

    /// The DynamoDB `ttl` (epoch seconds) of an item written at `written_at`, or `None`
    /// when projects are kept forever.
    pub fn item_ttl(&self, written_at: Timestamp) -> Option<i64> {
        self.after_end
            .map(|span| (written_at + span).timestamp() + RUN_SPAN_MAX_SECS)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn zero_days_keeps_forever_and_stamps_nothing() {
        let r = Retention::days(0);
        assert!(r.is_forever());
        assert_eq!(r.item_ttl(crate::clock::now()), None);
        assert_eq!(
            Retention::after(std::time::Duration::ZERO),
            Retention::FOREVER
        );
    }

    #[test]
    fn item_ttl_is_retention_plus_the_run_span_after_the_write() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let ttl = Retention::days(90).item_ttl(at).unwrap();
        assert_eq!(ttl, at.timestamp() + 90 * 86_400 + RUN_SPAN_MAX_SECS);
    }

    #[test]
    fn default_is_ninety_days() {
        assert_eq!(Retention::default().span(), Some(Duration::days(90)));
    }
}
