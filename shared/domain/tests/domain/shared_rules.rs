//! The rules both stores share (ARCHITECTURE.md §6), each held by one domain function:
//! idempotent replay, the over-fetch-by-one page, the events page cap, revoking by key id,
//! the rate window's expiry.

use zts_domain::auth::{ApiKeyRecord, KeyStatus, key_id_prefix};
use zts_domain::clock;
use zts_domain::cursor::CursorCodec;
use zts_domain::idempotency::IdempotencyClaim;
use zts_domain::items::RateWindow;
use zts_domain::ports::{EVENTS_PAGE_MAX, PageRequest, StoreError, events_page_limit};
use zts_domain::{Owner, ProjectId, ProjectInput};

fn idea(name: &str) -> ProjectInput {
    ProjectInput::from_json_bytes(format!(r#"{{"name":"{name}"}}"#).as_bytes()).unwrap()
}

#[test]
fn a_live_record_of_the_same_request_replays_its_project() {
    let now = clock::now();
    let claim = IdempotencyClaim::new("key-1", &idea("a"), now).unwrap();
    let id = ProjectId::generate();
    let record = claim.record(&id);
    assert_eq!(record.project_id, id);
    assert_eq!(record.ttl, claim.expires_at.timestamp());
    assert_eq!(claim.replay_of(Some(record), now).unwrap(), Some(id));
}

#[test]
fn another_request_under_a_live_key_conflicts_and_an_expired_record_does_not_count() {
    let now = clock::now();
    let first = IdempotencyClaim::new("key-1", &idea("a"), now).unwrap();
    let other = IdempotencyClaim::new("key-1", &idea("b"), now).unwrap();
    let record = first.record(&ProjectId::generate());
    assert!(matches!(
        other.replay_of(Some(record.clone()), now),
        Err(StoreError::IdempotencyConflict)
    ));
    let after_expiry = record.expires_at + chrono::Duration::seconds(1);
    assert_eq!(other.replay_of(Some(record), after_expiry).unwrap(), None);
    assert_eq!(first.replay_of(None, now).unwrap(), None);
}

#[test]
fn the_same_idea_for_another_workflow_is_another_request() {
    let now = clock::now();
    let default = IdempotencyClaim::new("key-1", &idea("a"), now).unwrap();
    // The default's hash is the input's alone, as before workflows were named.
    assert_eq!(
        default.clone().choosing("idea-to-advice").request_hash,
        default.request_hash
    );
    let quick = IdempotencyClaim::new("key-1", &idea("a"), now)
        .unwrap()
        .choosing("quick-check");
    let record = default.record(&ProjectId::generate());
    assert!(matches!(
        quick.replay_of(Some(record), now),
        Err(StoreError::IdempotencyConflict)
    ));
    let again = IdempotencyClaim::new("key-1", &idea("a"), now)
        .unwrap()
        .choosing("quick-check");
    let id = ProjectId::generate();
    assert_eq!(
        again.replay_of(Some(quick.record(&id)), now).unwrap(),
        Some(id)
    );
}

#[test]
fn a_page_keeps_limit_rows_and_points_its_cursor_after_the_last_kept() {
    let owner = Owner::parse("alice").unwrap();
    let codec = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
    let page = PageRequest {
        limit: 2,
        cursor: None,
    };
    assert_eq!(page.fetch_limit(), 3);
    let rows: Vec<(String, u32)> = vec![("p3".into(), 3), ("p2".into(), 2), ("p1".into(), 1)];
    let out = page.page_of(rows, &owner, &codec);
    assert_eq!(out.items, vec![3, 2]);
    let cursor = out.next_cursor.expect("a third row means another page");
    let next = PageRequest {
        limit: 2,
        cursor: Some(cursor),
    };
    assert_eq!(
        next.start_after(&owner, &codec).unwrap().as_deref(),
        Some("p2")
    );
    // Someone else cannot use it.
    let bob = Owner::parse("bob").unwrap();
    assert!(matches!(
        next.start_after(&bob, &codec),
        Err(StoreError::InvalidCursor)
    ));
    // The last page has no cursor.
    let last = next.page_of(vec![("p1".into(), 1)], &owner, &codec);
    assert_eq!((last.items, last.next_cursor), (vec![1], None));
}

#[test]
fn events_pages_hold_one_to_the_cap() {
    assert_eq!(events_page_limit(0), 1);
    assert_eq!(events_page_limit(250), 250);
    assert_eq!(events_page_limit(u32::MAX), EVENTS_PAGE_MAX);
}

#[test]
fn a_key_id_selects_a_lowercase_hash_prefix_and_anything_else_selects_nothing() {
    assert_eq!(key_id_prefix("AB12cd").as_deref(), Some("ab12cd"));
    for not_an_id in ["", "zz12", "ab 12", "ab%", "ab_"] {
        assert_eq!(key_id_prefix(not_an_id), None, "{not_an_id:?}");
    }
}

#[test]
fn revoking_is_recorded_once() {
    let now = clock::now();
    let mut key = ApiKeyRecord {
        key_hash: "ab".repeat(32),
        owner: Owner::parse("alice").unwrap(),
        status: KeyStatus::Active,
        limits: None,
        created_at: now,
        expires_at: None,
        revoked_at: None,
    };
    assert!(key.revoke(now));
    assert_eq!(
        (key.status, key.revoked_at),
        (KeyStatus::Revoked, Some(now))
    );
    let later = now + chrono::Duration::seconds(5);
    assert!(!key.revoke(later), "a second revoke writes nothing");
    assert_eq!(key.revoked_at, Some(now));
}

#[test]
fn a_rate_window_expires_the_second_after_its_arrival_time() {
    assert_eq!(RateWindow::at(1_700_000_000_500_000_000).ttl, 1_700_000_001);
    assert_eq!(RateWindow::at(1_700_000_000_000_000_000).ttl, 1_700_000_001);
}
