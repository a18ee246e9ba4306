//! Connection-slot properties: the per-owner cap on open WebSockets (README "Hardening").

use super::fixtures::owner;
use std::sync::Arc;
use zts_domain::clock;
use zts_domain::ids::ConnectionId;
use zts_domain::ports::ConnectionSlots;
use zts_domain::slots::SLOT_LIFETIME_SECS;

pub async fn slots_are_claimed_up_to_the_cap_per_owner_and_released<S: ConnectionSlots>(
    store: Arc<S>,
) {
    let (alice, bob) = (owner("slots-alice"), owner("slots-bob"));
    let now = clock::now();
    let ids: Vec<ConnectionId> = (0..3).map(|_| ConnectionId::generate()).collect();
    assert!(store.claim_slot(&alice, &ids[0], 2, now).await.unwrap());
    assert!(store.claim_slot(&alice, &ids[1], 2, now).await.unwrap());
    // Claiming a held slot again is fine and takes no second slot.
    assert!(store.claim_slot(&alice, &ids[1], 2, now).await.unwrap());
    assert!(!store.claim_slot(&alice, &ids[2], 2, now).await.unwrap());
    assert_eq!(store.open_slots(&alice, now).await.unwrap(), 2);
    // Another owner is unaffected.
    assert!(store.claim_slot(&bob, &ids[2], 2, now).await.unwrap());
    // A release frees the slot; releasing again, or one never held, is fine.
    store.release_slot(&alice, &ids[0]).await.unwrap();
    store.release_slot(&alice, &ids[0]).await.unwrap();
    store
        .release_slot(&owner("slots-nobody"), &ids[0])
        .await
        .unwrap();
    assert!(store.claim_slot(&alice, &ids[2], 2, now).await.unwrap());
    assert_eq!(store.open_slots(&alice, now).await.unwrap(), 2);
}

pub async fn a_slot_whose_disconnect_was_lost_frees_itself_when_it_expires<S: ConnectionSlots>(
    store: Arc<S>,
) {
    let alice = owner("slots-expiry");
    let then = clock::now();
    let (lost, next) = (ConnectionId::generate(), ConnectionId::generate());
    assert!(store.claim_slot(&alice, &lost, 1, then).await.unwrap());
    let before_expiry = then + chrono::Duration::seconds(SLOT_LIFETIME_SECS - 1);
    assert!(
        !store
            .claim_slot(&alice, &next, 1, before_expiry)
            .await
            .unwrap()
    );
    let after_expiry = then + chrono::Duration::seconds(SLOT_LIFETIME_SECS + 1);
    assert_eq!(store.open_slots(&alice, after_expiry).await.unwrap(), 0);
    assert!(
        store
            .claim_slot(&alice, &next, 1, after_expiry)
            .await
            .unwrap()
    );
}

pub async fn concurrent_claims_for_the_last_slots_never_overshoot<S: ConnectionSlots + 'static>(
    store: Arc<S>,
) {
    let alice = owner("slots-race");
    let now = clock::now();
    let claims = (0..8).map(|_| {
        let store = store.clone();
        let alice = alice.clone();
        tokio::spawn(async move {
            store
                .claim_slot(&alice, &ConnectionId::generate(), 3, now)
                .await
                .unwrap()
        })
    });
    let mut won = 0;
    for claim in claims.collect::<Vec<_>>() {
        if claim.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 3);
    assert_eq!(store.open_slots(&alice, now).await.unwrap(), 3);
}
