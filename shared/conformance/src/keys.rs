//! Key-store properties: keys, revocation, single-use tickets, rate limits.

use super::fixtures::owner;
use std::sync::Arc;
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus, Limits, TicketRecord};
use zts_domain::clock;
use zts_domain::ports::KeyStore;

fn key(owner_name: &str) -> (String, ApiKeyRecord) {
    let secret = auth::new_key();
    let record = ApiKeyRecord {
        key_hash: auth::hash(&secret),
        owner: owner(owner_name),
        status: KeyStatus::Active,
        limits: Some(Limits {
            rate: 1.0,
            burst: 3,
        }),
        created_at: clock::now(),
        expires_at: None,
        revoked_at: None,
    };
    (secret, record)
}

fn ticket(owner_name: &str, ttl_seconds: i64) -> (String, TicketRecord) {
    let secret = auth::new_ticket();
    let expires_at = clock::now() + chrono::Duration::seconds(ttl_seconds);
    let record = TicketRecord {
        ticket_hash: auth::hash(&secret),
        owner: owner(owner_name),
        expires_at,
        ttl: expires_at.timestamp(),
    };
    (secret, record)
}

pub async fn keys_round_trip_and_list<S: KeyStore>(store: Arc<S>) {
    let (secret, record) = key("alice");
    store.put_key(record.clone()).await.unwrap();
    assert_eq!(
        store.get_key(&auth::hash(&secret)).await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store.get_key(&auth::hash("zts_unknown")).await.unwrap(),
        None
    );
    let (_, other) = key("bob");
    store.put_key(other.clone()).await.unwrap();
    let listed = store.list_keys().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&record) && listed.contains(&other));
}

pub async fn revoking_by_id_marks_only_that_key<S: KeyStore>(store: Arc<S>) {
    let (_, a) = key("alice");
    let (_, b) = key("alice");
    store.put_key(a.clone()).await.unwrap();
    store.put_key(b.clone()).await.unwrap();
    let at = clock::now();
    let revoked = store
        .revoke_key(&a.key_id(), at)
        .await
        .unwrap()
        .expect("the key");
    assert_eq!(revoked.status, KeyStatus::Revoked);
    assert_eq!(revoked.revoked_at, Some(at));
    assert!(
        store
            .get_key(&a.key_hash)
            .await
            .unwrap()
            .unwrap()
            .check(clock::now())
            .is_err()
    );
    assert!(
        store
            .get_key(&b.key_hash)
            .await
            .unwrap()
            .unwrap()
            .check(clock::now())
            .is_ok(),
        "the other key was touched"
    );
    assert_eq!(store.revoke_key("ffffffffffff", at).await.unwrap(), None);
    assert_eq!(store.revoke_key("not-hex", at).await.unwrap(), None);
}

pub async fn a_ticket_works_once_and_not_after_expiry<S: KeyStore>(store: Arc<S>) {
    let (secret, record) = ticket("alice", 60);
    store.put_ticket(record.clone()).await.unwrap();
    let hash = auth::hash(&secret);
    assert_eq!(
        store.consume_ticket(&hash, clock::now()).await.unwrap(),
        Some(record)
    );
    assert_eq!(
        store.consume_ticket(&hash, clock::now()).await.unwrap(),
        None,
        "a ticket worked twice"
    );
    let (secret, expired) = ticket("alice", 60);
    store.put_ticket(expired).await.unwrap();
    let later = clock::now() + chrono::Duration::seconds(61);
    assert_eq!(
        store
            .consume_ticket(&auth::hash(&secret), later)
            .await
            .unwrap(),
        None
    );
}

pub async fn the_burst_passes_then_requests_wait_per_key<S: KeyStore>(store: Arc<S>) {
    let limits = Limits {
        rate: 1.0,
        burst: 3,
    };
    let now = clock::now();
    let mut decisions = Vec::new();
    for _ in 0..4 {
        decisions.push(store.acquire("hash-a", limits, now).await.unwrap());
    }
    assert_eq!(
        decisions.iter().map(|d| d.allowed).collect::<Vec<_>>(),
        vec![true, true, true, false]
    );
    assert_eq!(
        decisions.iter().map(|d| d.remaining).collect::<Vec<_>>(),
        vec![2, 1, 0, 0]
    );
    assert_eq!(decisions[3].retry_after_seconds, 1);
    // Another key is unaffected; the first gets a token back a second later.
    assert!(store.acquire("hash-b", limits, now).await.unwrap().allowed);
    let later = now + chrono::Duration::milliseconds(1_000);
    assert!(
        store
            .acquire("hash-a", limits, later)
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !store
            .acquire("hash-a", limits, later)
            .await
            .unwrap()
            .allowed
    );
}
