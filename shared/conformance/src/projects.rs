//! Project-store properties (ARCHITECTURE.md §3), each a function any adapter's test can call.

use super::fixtures::*;
use std::collections::BTreeSet;
use std::sync::Arc;
use zts_domain::clock;
use zts_domain::events::EventBody;
use zts_domain::ports::{
    CommitOutcome, CreateOutcome, PageRequest, ProjectStore, PutArtifactOutcome, StoreError,
};
use zts_domain::project::{Artifact, ErrorInfo, State, StepName};
use zts_domain::transition::{Transition, TransitionError};
use zts_domain::{ProjectId, idempotency};

async fn created<S: ProjectStore>(store: &S, owner: &str, name: &str) -> ProjectId {
    let new = new_project(owner, name, clock::now());
    let id = new.project_id.clone();
    let outcome = store.create_project(new).await.expect("create");
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    id
}

async fn seqs<S: ProjectStore>(store: &S, id: &ProjectId) -> Vec<u64> {
    store
        .events_after(id, 0, 1_000)
        .await
        .expect("events")
        .iter()
        .map(|e| e.seq)
        .collect()
}

pub async fn create_writes_meta_input_and_first_event<S: ProjectStore>(store: Arc<S>) {
    let new = new_project("alice", "tutors", clock::now());
    let id = new.project_id.clone();
    let outcome = store.create_project(new.clone()).await.unwrap();
    let CreateOutcome::Created(meta) = outcome else {
        panic!("expected Created, got {outcome:?}");
    };
    assert_eq!(meta, new.initial_meta());
    assert_eq!(meta.state, State::Created);
    assert_eq!(meta.last_seq, 1);

    let view = store
        .get_project(&owner("alice"), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.meta, meta);
    assert_eq!(view.input, new.input);
    assert!(view.artifacts.is_empty());
    assert_eq!(store.get_input(&id).await.unwrap(), Some(new.input.clone()));

    let events = store.events_after(&id, 0, 100).await.unwrap();
    assert_eq!(events, vec![new.initial_event()]);
}

pub async fn create_is_atomic_when_the_id_is_taken<S: ProjectStore>(store: Arc<S>) {
    let first = with_key(new_project("alice", "first", clock::now()), "key-1");
    let id = first.project_id.clone();
    store.create_project(first.clone()).await.unwrap();

    // Same id, another key and body: refused, and none of its items may be left behind.
    let mut clash = with_key(new_project("alice", "second", clock::now()), "key-2");
    clash.project_id = id.clone();
    let err = store.create_project(clash.clone()).await.unwrap_err();
    assert_eq!(err, StoreError::AlreadyExists);

    let view = store
        .get_project(&owner("alice"), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.meta.name, "first", "META was overwritten");
    assert_eq!(view.input, first.input, "INPUT was overwritten");
    assert_eq!(seqs(&*store, &id).await, vec![1], "an event was added");

    // key-2's idempotency record must not exist: reusing key-2 with the clashing body
    // under a fresh id creates a new project instead of replaying a phantom.
    let mut retry = clash;
    retry.project_id = ProjectId::generate();
    let outcome = store.create_project(retry.clone()).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(outcome.meta().project_id, retry.project_id);
}

pub async fn create_with_a_conflicting_key_writes_nothing<S: ProjectStore>(store: Arc<S>) {
    let first = with_key(new_project("alice", "first", clock::now()), "key-1");
    store.create_project(first).await.unwrap();
    let other = with_key(
        new_project("alice", "different body", clock::now()),
        "key-1",
    );
    let other_id = other.project_id.clone();
    let err = store.create_project(other).await.unwrap_err();
    assert_eq!(err, StoreError::IdempotencyConflict);
    assert_eq!(store.get_meta(&other_id).await.unwrap(), None);
    assert_eq!(store.get_input(&other_id).await.unwrap(), None);
    assert!(seqs(&*store, &other_id).await.is_empty());
    let page = store
        .list_projects(&owner("alice"), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn same_key_same_body_replays_the_same_project<S: ProjectStore>(store: Arc<S>) {
    let first = with_key(new_project("alice", "tutors", clock::now()), "retry-me");
    let id = first.project_id.clone();
    store.create_project(first.clone()).await.unwrap();
    // A client retry: same key and body, but the server minted another id for it.
    let mut again = first.clone();
    again.project_id = ProjectId::generate();
    let outcome = store.create_project(again.clone()).await.unwrap();
    let CreateOutcome::Replayed(meta) = outcome else {
        panic!("expected Replayed, got {outcome:?}");
    };
    assert_eq!(meta.project_id, id);
    assert_eq!(store.get_meta(&again.project_id).await.unwrap(), None);
    let page = store
        .list_projects(&owner("alice"), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

pub async fn idempotency_keys_are_per_owner<S: ProjectStore>(store: Arc<S>) {
    let a = with_key(new_project("alice", "same", clock::now()), "shared-key");
    let b = with_key(new_project("bob", "same", clock::now()), "shared-key");
    assert!(matches!(
        store.create_project(a).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    let outcome = store.create_project(b.clone()).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(outcome.meta().owner, owner("bob"));
}

pub async fn an_expired_idempotency_record_is_not_replayed<S: ProjectStore>(store: Arc<S>) {
    let long_ago = clock::now() - chrono::Duration::hours(idempotency::RECORD_TTL_HOURS + 1);
    let old = with_key(new_project("alice", "tutors", long_ago), "old-key");
    store.create_project(old.clone()).await.unwrap();
    // The same key and the same body, a day and more later.
    let fresh = with_key(new_project("alice", "tutors", clock::now()), "old-key");
    assert_eq!(fresh.input, old.input);
    let outcome = store.create_project(fresh.clone()).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    assert_eq!(outcome.meta().project_id, fresh.project_id);
    // The new record replaced the expired one: the key now replays the new project.
    let mut retry = fresh.clone();
    retry.project_id = ProjectId::generate();
    let outcome = store.create_project(retry).await.unwrap();
    assert_eq!(outcome, CreateOutcome::Replayed(outcome.meta().clone()));
    assert_eq!(outcome.meta().project_id, fresh.project_id);
}

pub async fn step_commit_mints_the_next_seq_and_updates_meta<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "tutors").await;
    let outcome = store
        .commit_step(commit(&id, started(StepName::Validator, 1)))
        .await
        .unwrap();
    let CommitOutcome::Committed { meta, event } = outcome else {
        panic!("expected Committed, got {outcome:?}");
    };
    let event = event.expect("a status event");
    assert_eq!(event.seq, 2);
    assert!(matches!(
        event.body,
        EventBody::StatusUpdate {
            state: State::IdeaValidation,
            progress: 10,
            ..
        }
    ));
    assert_eq!(meta.state, State::IdeaValidation);
    assert_eq!(meta.version, 2);
    assert_eq!(meta.last_seq, 2);
    assert_eq!(store.get_meta(&id).await.unwrap().as_ref(), Some(&*meta));
    assert_eq!(seqs(&*store, &id).await, vec![1, 2]);
}

pub async fn a_repeated_commit_is_already_done<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "tutors").await;
    let c = commit(&id, started(StepName::Validator, 1));
    assert!(matches!(
        store.commit_step(c.clone()).await.unwrap(),
        CommitOutcome::Committed { .. }
    ));
    let before = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(
        store.commit_step(c).await.unwrap(),
        CommitOutcome::AlreadyDone
    );
    assert_eq!(store.get_meta(&id).await.unwrap().unwrap(), before);
    assert_eq!(seqs(&*store, &id).await, vec![1, 2]);
}

pub async fn the_same_logical_event_written_twice_gets_one_seq<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "tutors").await;
    store
        .commit_step(commit(&id, started(StepName::Validator, 1)))
        .await
        .unwrap();
    // Built twice, at different times: the same execution, state, attempt and kind.
    let first = commit(&id, failed_attempt(StepName::Validator, 1, true));
    let mut second = commit(&id, failed_attempt(StepName::Validator, 1, true));
    second.at = first.at + chrono::Duration::milliseconds(5);
    assert_eq!(first.dedupe, second.dedupe);
    store.commit_step(first).await.unwrap();
    assert_eq!(
        store.commit_step(second).await.unwrap(),
        CommitOutcome::AlreadyDone
    );
    let events = store.events_after(&id, 0, 100).await.unwrap();
    let failures = events
        .iter()
        .filter(|e| matches!(e.body, EventBody::StepFailed { .. }))
        .count();
    assert_eq!(failures, 1);
    assert_eq!(seqs(&*store, &id).await, vec![1, 2, 3]);
}

pub async fn a_commit_in_the_wrong_state_is_rejected_and_writes_nothing<S: ProjectStore>(
    store: Arc<S>,
) {
    let id = created(&*store, "alice", "tutors").await;
    let before = store.get_meta(&id).await.unwrap().unwrap();
    for transition in [
        started(StepName::Advisory, 1),
        succeeded(StepName::Validator, 1),
        Transition::Completed,
    ] {
        let err = store
            .commit_step(commit(&id, transition.clone()))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Transition(TransitionError::WrongState {
                    state: State::Created,
                    ..
                })
            ),
            "{transition:?}: {err:?}"
        );
    }
    assert_eq!(store.get_meta(&id).await.unwrap().unwrap(), before);
    assert_eq!(seqs(&*store, &id).await, vec![1]);
    // The refused commits left no dedupe record: the same commit works once it is valid.
    store
        .commit_step(commit(&id, started(StepName::Validator, 1)))
        .await
        .unwrap();
    let ok = store
        .commit_step(commit(&id, succeeded(StepName::Validator, 1)))
        .await
        .unwrap();
    assert!(matches!(ok, CommitOutcome::Committed { .. }), "{ok:?}");
}

pub async fn a_terminal_project_accepts_no_commit<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "tutors").await;
    let error = ErrorInfo::new("ZeroToShip.Invalid", "the idea could not be analysed");
    store
        .commit_step(commit(
            &id,
            Transition::Failed {
                error: error.clone(),
            },
        ))
        .await
        .unwrap();
    let err = store
        .commit_step(commit(&id, started(StepName::Validator, 1)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        StoreError::Transition(TransitionError::Terminal {
            state: State::Failed
        })
    );
    let meta = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(meta.state, State::Failed);
    assert_eq!(meta.error, Some(error));
    assert_eq!(seqs(&*store, &id).await, vec![1, 2]);
}

pub async fn the_happy_path_emits_exactly_the_documented_events<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "tutors").await;
    for transition in [
        started(StepName::Validator, 1),
        succeeded(StepName::Validator, 1),
        started(StepName::Advisory, 1),
        succeeded(StepName::Advisory, 1),
        Transition::Completed,
    ] {
        store.commit_step(commit(&id, transition)).await.unwrap();
    }
    let events = store.events_after(&id, 0, 100).await.unwrap();
    let summary: Vec<(u64, String, u8)> = events
        .iter()
        .map(|e| {
            let (what, progress) = match &e.body {
                EventBody::StatusUpdate {
                    state, progress, ..
                } => (state.to_string(), *progress),
                EventBody::StepComplete {
                    agent, progress, ..
                } => (format!("done:{agent}"), *progress),
                EventBody::StepFailed {
                    agent, progress, ..
                } => (format!("failed:{agent}"), *progress),
                EventBody::ProjectDeleted {} => ("deleted".to_string(), 0),
            };
            (e.seq, what, progress)
        })
        .collect();
    let expected: Vec<(u64, String, u8)> = [
        (1, "CREATED", 0),
        (2, "IDEA_VALIDATION", 10),
        (3, "done:validator", 50),
        (4, "ADVISORY", 60),
        (5, "done:advisory", 90),
        (6, "COMPLETED", 100),
    ]
    .into_iter()
    .map(|(s, w, p)| (s, w.to_string(), p))
    .collect();
    assert_eq!(summary, expected);
    let meta = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(meta.state, State::Completed);
    assert_eq!(meta.runs[&StepName::Validator].duration_ms, Some(1_250));
    assert_eq!(meta.runs[&StepName::Advisory].attempts, 1);
}

pub async fn seq_is_gapless_under_sixteen_concurrent_writers<S: ProjectStore + 'static>(
    store: Arc<S>,
) {
    const WRITERS: u32 = 16;
    const PER_WRITER: u32 = 12;
    let id = created(&*store, "alice", "tutors").await;
    store
        .commit_step(commit(&id, started(StepName::Validator, 1)))
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (store, id) = (store.clone(), id.clone());
        tasks.spawn(async move {
            for i in 0..PER_WRITER {
                // Each logical failure is written by two writers: its own and its neighbour.
                for owner_w in [w, (w + 1) % WRITERS] {
                    let attempt = 2 + owner_w * PER_WRITER + i;
                    let c = commit(&id, failed_attempt(StepName::Validator, attempt, true));
                    store.commit_step(c).await.expect("commit");
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("writer task");
    }
    let events = store.events_after(&id, 0, 1_000).await.unwrap();
    let expected_total = 2 + u64::from(WRITERS * PER_WRITER);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=expected_total).collect::<Vec<_>>(),
        "gaps or duplicates"
    );
    let attempts: BTreeSet<u32> = events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::StepFailed { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(
        attempts.len() as u32,
        WRITERS * PER_WRITER,
        "a logical event got two seqs"
    );
    assert_eq!(
        store.get_meta(&id).await.unwrap().unwrap().last_seq,
        expected_total
    );
}

pub async fn listing_pages_newest_first_and_only_the_owners<S: ProjectStore>(store: Arc<S>) {
    let base = clock::now();
    let mut alice = Vec::new();
    for i in 0..5 {
        let new = new_project(
            "alice",
            &format!("a{i}"),
            base + chrono::Duration::milliseconds(i),
        );
        alice.push(new.project_id.clone());
        store.create_project(new).await.unwrap();
    }
    for i in 0..3 {
        let new = new_project(
            "bob",
            &format!("b{i}"),
            base + chrono::Duration::milliseconds(i),
        );
        store.create_project(new).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_projects(
                &owner("alice"),
                PageRequest {
                    limit: 2,
                    cursor: cursor.clone(),
                },
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        assert!(
            page.items.iter().all(|m| m.owner == owner("alice")),
            "bob's project leaked"
        );
        seen.extend(page.items.iter().map(|m| m.project_id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    alice.reverse();
    assert_eq!(seen, alice, "not every project once, newest first");
    assert_eq!(pages, 3);
    let bob = store
        .list_projects(
            &owner("bob"),
            PageRequest {
                limit: 100,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(bob.items.len(), 3);
    assert_eq!(bob.next_cursor, None);
}

pub async fn a_tampered_or_foreign_cursor_is_rejected<S: ProjectStore>(store: Arc<S>) {
    for i in 0..3 {
        created(&*store, "alice", &format!("p{i}")).await;
    }
    let page = store
        .list_projects(
            &owner("alice"),
            PageRequest {
                limit: 1,
                cursor: None,
            },
        )
        .await
        .unwrap();
    let cursor = page.next_cursor.expect("a next page");
    let mut tampered = cursor.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for (who, bad) in [
        ("alice", tampered.as_str()),
        ("alice", "not-a-cursor"),
        ("alice", ""),
        ("bob", cursor.as_str()),
    ] {
        let err = store
            .list_projects(
                &owner(who),
                PageRequest {
                    limit: 1,
                    cursor: Some(bad.to_string()),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err, StoreError::InvalidCursor, "{who} with {bad:?}");
    }
}

pub async fn get_project_is_scoped_to_the_owner<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "secret idea").await;
    assert!(
        store
            .get_project(&owner("alice"), &id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.get_project(&owner("bob"), &id).await.unwrap(), None);
    assert_eq!(
        store
            .get_project(&owner("alice"), &ProjectId::generate())
            .await
            .unwrap(),
        None
    );
}

pub async fn the_first_artifact_wins<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "tutors").await;
    let first = Artifact {
        step: StepName::Validator,
        artifact_type: "validation_report".into(),
        content: serde_json::json!({"overall_score": 71}),
        created_at: clock::now(),
    };
    let mut second = first.clone();
    second.content = serde_json::json!({"overall_score": 12});
    assert_eq!(
        store.put_artifact(&id, first.clone()).await.unwrap(),
        PutArtifactOutcome::Stored
    );
    assert_eq!(
        store.put_artifact(&id, second).await.unwrap(),
        PutArtifactOutcome::AlreadyStored(Box::new(first.clone()))
    );
    assert_eq!(
        store.get_artifact(&id, StepName::Validator).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_artifact(&id, StepName::Advisory).await.unwrap(),
        None
    );
    let view = store
        .get_project(&owner("alice"), &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.artifacts, vec![first.clone()]);
    let err = store
        .put_artifact(&ProjectId::generate(), first)
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
}

/// A project whose validator has started, and the report that step produces.
async fn validator_running<S: ProjectStore>(store: &S) -> (ProjectId, Artifact) {
    let id = created(store, "alice", "tutors").await;
    store
        .commit_step(commit(&id, started(StepName::Validator, 1)))
        .await
        .unwrap();
    let report = Artifact {
        step: StepName::Validator,
        artifact_type: "validation_report".into(),
        content: serde_json::json!({"overall_score": 71}),
        created_at: clock::now(),
    };
    (id, report)
}

/// A step's success stores its artifact and commits once; a retried success keeps the
/// first artifact and reports its type, and mints no second event.
pub async fn a_steps_success_stores_its_artifact_and_commits_once<S: ProjectStore>(store: Arc<S>) {
    let (id, first) = validator_running(&*store).await;
    let (stored, outcome) = store
        .succeed_step(
            first.clone(),
            commit(&id, succeeded(StepName::Validator, 1)),
        )
        .await
        .unwrap();
    assert_eq!(stored, "validation_report");
    let CommitOutcome::Committed { meta, event } = outcome else {
        panic!("the first success commits: {outcome:?}");
    };
    let event = event.expect("a step_complete event");
    assert_eq!(event.seq, 3);
    assert!(
        matches!(&event.body, EventBody::StepComplete { artifact_type, .. } if artifact_type == "validation_report"),
        "the event names the stored artifact's type, not the commit's placeholder: {event:?}"
    );
    assert!(meta.step_succeeded(StepName::Validator));
    let mut retried = first.clone();
    retried.artifact_type = "another_type".into();
    retried.content = serde_json::json!({"overall_score": 12});
    let (stored, outcome) = store
        .succeed_step(retried, commit(&id, succeeded(StepName::Validator, 1)))
        .await
        .unwrap();
    assert_eq!(stored, "validation_report", "the first artifact's type");
    assert_eq!(outcome, CommitOutcome::AlreadyDone);
    assert_eq!(
        store.get_artifact(&id, StepName::Validator).await.unwrap(),
        Some(first.clone())
    );
    let seqs: Vec<u64> = store
        .events_after(&id, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3], "one event per logical write");
    let missing = ProjectId::generate();
    let err = store
        .succeed_step(first, commit(&missing, succeeded(StepName::Validator, 1)))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
}

/// A success whose step's artifact is already stored (written on its own before, as the
/// two-write path does) keeps that artifact, names its type and commits once.
pub async fn a_success_after_its_artifact_was_stored_names_the_stored_one<S: ProjectStore>(
    store: Arc<S>,
) {
    let (id, first) = validator_running(&*store).await;
    store.put_artifact(&id, first.clone()).await.unwrap();
    let mut later = first.clone();
    later.artifact_type = "another_type".into();
    let (stored, outcome) = store
        .succeed_step(later, commit(&id, succeeded(StepName::Validator, 1)))
        .await
        .unwrap();
    assert_eq!(stored, "validation_report");
    let CommitOutcome::Committed { event, .. } = outcome else {
        panic!("the success commits: {outcome:?}");
    };
    assert!(
        matches!(&event.expect("an event").body, EventBody::StepComplete { artifact_type, .. } if artifact_type == "validation_report"),
        "the event names the stored artifact's type"
    );
    assert_eq!(
        store.get_artifact(&id, StepName::Validator).await.unwrap(),
        Some(first)
    );
}

pub async fn events_after_pages_in_seq_order<S: ProjectStore>(store: Arc<S>) {
    let id = created(&*store, "alice", "tutors").await;
    store
        .commit_step(commit(&id, started(StepName::Validator, 1)))
        .await
        .unwrap();
    for attempt in 1..=6 {
        store
            .commit_step(commit(
                &id,
                failed_attempt(StepName::Validator, attempt, true),
            ))
            .await
            .unwrap();
    }
    let after_3: Vec<u64> = store
        .events_after(&id, 3, 2)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(after_3, vec![4, 5]);
    assert!(store.events_after(&id, 8, 10).await.unwrap().is_empty());
    assert!(
        store
            .events_after(&ProjectId::generate(), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(seqs(&*store, &id).await, (1..=8).collect::<Vec<_>>());
}

pub async fn commits_to_a_missing_project_are_not_found<S: ProjectStore>(store: Arc<S>) {
    let missing = ProjectId::generate();
    let err = store
        .commit_step(commit(&missing, started(StepName::Validator, 1)))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::NotFound);
    assert_eq!(store.get_meta(&missing).await.unwrap(), None);
    store.ping().await.expect("a healthy store answers ping");
}

/// A store that counts projects by state (`zts health`) counts exactly what it holds: two
/// new projects, one moved to its first step, show as one more CREATED and one more
/// IDEA_VALIDATION. A store that cannot count without a scan says so every time.
pub async fn counts_by_state_match_what_is_stored<S: ProjectStore>(store: Arc<S>) {
    let before = store.count_by_state().await.unwrap();
    let first = new_project("carol", "counted one", clock::now());
    let second = new_project("carol", "counted two", clock::now());
    store.create_project(first.clone()).await.unwrap();
    store.create_project(second).await.unwrap();
    store
        .commit_step(commit(&first.project_id, started(StepName::Validator, 1)))
        .await
        .unwrap();
    let after = store.count_by_state().await.unwrap();
    match (before, after) {
        (None, None) => {}
        (Some(before), Some(after)) => {
            let delta = |state: State| {
                after.get(&state).copied().unwrap_or(0) - before.get(&state).copied().unwrap_or(0)
            };
            assert_eq!(delta(State::Created), 1, "{after:?}");
            assert_eq!(delta(State::IdeaValidation), 1, "{after:?}");
            assert_eq!(delta(State::Completed), 0, "{after:?}");
        }
        (before, after) => panic!("a store counts always or never: {before:?} then {after:?}"),
    }
}
