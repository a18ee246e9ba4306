//! Run identity and the reconciler (ARCHITECTURE.md §7), on every store: a run is claimed
//! on META with a conditional write, one claimer wins, a superseded run changes nothing,
//! and a project whose start was lost gets exactly one new run, its events gapless.
//!
//! The starter here behaves like an Express workflow: it never answers "already started",
//! so only the claims keep a project to one run.

use super::fixtures::*;
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zts_domain::clock::{self, Timestamp};
use zts_domain::create::{CreateRequest, create_project};
use zts_domain::pii::PiiPolicy;
use zts_domain::ports::{
    CommitOutcome, ProjectStore, StartOutcome, StoreError, WorkflowError, WorkflowStart,
    WorkflowStarter,
};
use zts_domain::project::{State, StepName};
use zts_domain::reconcile::{ReconcilePolicy, reconcile};
use zts_domain::step::START_FAILED;
use zts_domain::transition::{Transition, TransitionError};
use zts_domain::{ProjectId, ProjectMeta};

/// A [`WorkflowStarter`] like Express: every start runs (no name dedupe). Records each
/// start it accepted; the first `fail_first` starts fail as an unavailable engine would.
#[derive(Default)]
pub struct ExpressLikeStarter {
    started: Mutex<Vec<WorkflowStart>>,
    fail_first: Mutex<u32>,
    delay: Duration,
}

impl ExpressLikeStarter {
    pub fn failing_first(n: u32) -> Self {
        ExpressLikeStarter {
            fail_first: Mutex::new(n),
            ..Self::default()
        }
    }

    /// Each start takes `delay` before it is accepted (a slow StartExecution).
    pub fn slow(delay: Duration) -> Self {
        ExpressLikeStarter {
            delay,
            ..Self::default()
        }
    }

    pub fn started(&self) -> Vec<WorkflowStart> {
        self.started.lock().unwrap().clone()
    }
}

#[async_trait]
impl WorkflowStarter for ExpressLikeStarter {
    async fn start(&self, start: &WorkflowStart) -> Result<StartOutcome, WorkflowError> {
        tokio::time::sleep(self.delay).await;
        {
            let mut fail = self.fail_first.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                return Err(WorkflowError::Unavailable("injected: engine down".into()));
            }
        }
        self.started.lock().unwrap().push(start.clone());
        Ok(StartOutcome::Started)
    }

    async fn ready(&self) -> Result<(), WorkflowError> {
        Ok(())
    }
}

const POLICY: ReconcilePolicy = ReconcilePolicy::DEFAULT;

/// A moment after the default deadline has passed for a run claimed at `at`.
fn past_deadline(at: Timestamp) -> Timestamp {
    at + chrono::Duration::from_std(POLICY.start_deadline).unwrap() + chrono::Duration::seconds(1)
}

async fn create_through_use_case<S: ProjectStore, W: WorkflowStarter>(
    store: &S,
    workflow: &W,
    key: Option<&str>,
) -> ProjectMeta {
    create_on_workflow(store, workflow, key, None).await
}

async fn create_on_workflow<S: ProjectStore, W: WorkflowStarter>(
    store: &S,
    workflow: &W,
    key: Option<&str>,
    chosen: Option<&str>,
) -> ProjectMeta {
    let mut body = serde_json::to_value(input("run identity")).unwrap();
    if let Some(name) = chosen {
        body["workflow"] = name.into();
    }
    let body = serde_json::to_vec(&body).unwrap();
    create_project(
        store,
        workflow,
        CreateRequest {
            owner: owner("alice"),
            body: &body,
            idempotency_key: key,
            correlation_id: "corr-run".into(),
            now: clock::now(),
            pii: PiiPolicy::default_regions(),
            workflows: &workflow.workflows(),
        },
    )
    .await
    .expect("create")
}

/// Drives run `run` through the happy path, as its execution's steps would.
async fn run_to_completion<S: ProjectStore>(store: &S, id: &ProjectId, run: u32) {
    for t in [
        started(StepName::Validator, 1),
        succeeded(StepName::Validator, 1),
        started(StepName::Advisory, 1),
        succeeded(StepName::Advisory, 1),
        Transition::Completed,
    ] {
        store
            .commit_step(commit_in_run(id, run, t))
            .await
            .expect("the current run commits");
    }
}

async fn seqs<S: ProjectStore>(store: &S, id: &ProjectId) -> Vec<u64> {
    let events = store.events_after(id, 0, 1_000).await.unwrap();
    events.iter().map(|e| e.seq).collect()
}

fn refused_as_superseded(result: Result<CommitOutcome, StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::Transition(
            TransitionError::NotCurrentRun { .. }
        ))
    )
}

pub async fn stale_runs_are_created_projects_claimed_before_the_cutoff<S: ProjectStore>(
    store: Arc<S>,
) {
    let now = clock::now();
    let long_ago = now - chrono::Duration::minutes(30);
    let lost = new_project("alice", "lost start", long_ago);
    let fresh = new_project("bob", "fresh", now);
    let progressed = new_project("carol", "progressed", long_ago);
    for new in [&lost, &fresh, &progressed] {
        store.create_project(new.clone()).await.unwrap();
    }
    store
        .commit_step(commit(
            &progressed.project_id,
            started(StepName::Validator, 1),
        ))
        .await
        .unwrap();
    let cutoff = now - chrono::Duration::minutes(5);
    let ids = |metas: Vec<ProjectMeta>| -> Vec<ProjectId> {
        metas.into_iter().map(|m| m.project_id).collect()
    };
    assert_eq!(
        ids(store.stale_runs(cutoff, 10).await.unwrap()),
        vec![lost.project_id.clone()],
        "only the CREATED project claimed before the cutoff"
    );
    // Claiming run 2 makes it fresh again; a later cutoff lists both, oldest claim first.
    let mut claim = commit_in_run(&lost.project_id, 2, Transition::RunClaimed);
    claim.at = now - chrono::Duration::seconds(10);
    store.commit_step(claim).await.unwrap();
    assert!(store.stale_runs(cutoff, 10).await.unwrap().is_empty());
    let later = now + chrono::Duration::seconds(1);
    let stale = store.stale_runs(later, 10).await.unwrap();
    assert_eq!(
        ids(stale.clone()),
        vec![lost.project_id.clone(), fresh.project_id.clone()]
    );
    assert_eq!(stale[0].run, 2);
    assert_eq!(ids(store.stale_runs(later, 1).await.unwrap()).len(), 1);
}

pub async fn one_claim_wins_among_concurrent_claims_of_a_run<S: ProjectStore + 'static>(
    store: Arc<S>,
) {
    let new = new_project("alice", "contested", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    // Eight claimers of run 2: half derive the same dedupe key (reconcilers), half their own.
    let claims = (0..8).map(|i| {
        let store = store.clone();
        let mut claim = commit_in_run(&id, 2, Transition::RunClaimed);
        if i % 2 == 1 {
            claim.dedupe =
                zts_domain::transition::DedupeKey::new(&format!("claimer-{i}"), "x", 2, "y");
        }
        tokio::spawn(async move { store.commit_step(claim).await })
    });
    let mut won = 0;
    for result in futures_join(claims).await {
        match result {
            Ok(CommitOutcome::Committed { .. }) => won += 1,
            Ok(CommitOutcome::AlreadyDone) | Err(StoreError::Transition(_)) => {}
            other => panic!("a claim failed unexpectedly: {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one claim of run 2 commits");
    let meta = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(meta.run, 2);
    assert_eq!(meta.version, 2, "one write");
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

pub async fn a_superseded_runs_commits_are_refused_and_the_current_run_is_gapless<
    S: ProjectStore,
>(
    store: Arc<S>,
) {
    let new = new_project("alice", "superseded", clock::now());
    let id = new.project_id.clone();
    store.create_project(new).await.unwrap();
    store
        .commit_step(commit_in_run(&id, 2, Transition::RunClaimed))
        .await
        .unwrap();
    // Run 1 wakes up late: nothing it does is stored.
    for t in [
        started(StepName::Validator, 1),
        Transition::Failed {
            error: zts_domain::ErrorInfo::new("ZeroToShip.Internal", "late"),
        },
    ] {
        assert!(refused_as_superseded(
            store.commit_step(commit_in_run(&id, 1, t)).await
        ));
    }
    // A claim of a run already claimed loses, whatever its dedupe key.
    let mut again = commit_in_run(&id, 2, Transition::RunClaimed);
    again.dedupe = zts_domain::transition::DedupeKey::new("someone-else", "x", 2, "y");
    assert!(store.commit_step(again).await.is_err());
    run_to_completion(&*store, &id, 2).await;
    assert_eq!(seqs(&*store, &id).await, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(
        store.get_meta(&id).await.unwrap().unwrap().state,
        State::Completed
    );
}

pub async fn the_reconciler_starts_a_lost_start_exactly_once_with_gapless_events<
    S: ProjectStore,
>(
    store: Arc<S>,
) {
    let workflow = ExpressLikeStarter::failing_first(1);
    let meta = create_through_use_case(&*store, &workflow, None).await;
    let id = meta.project_id.clone();
    assert!(workflow.started().is_empty(), "the create's start was lost");
    // Within the deadline the run may still be starting: the reconciler leaves it.
    let early = reconcile(&*store, &workflow, clock::now(), POLICY)
        .await
        .unwrap();
    assert_eq!(early.restarted, 0);
    let late = past_deadline(meta.run_claimed_at());
    let report = reconcile(&*store, &workflow, late, POLICY).await.unwrap();
    assert_eq!((report.stale, report.restarted), (1, 1), "{report:?}");
    // A second pass (or a second reconciler) at the same moment finds nothing to do.
    let again = reconcile(&*store, &workflow, late, POLICY).await.unwrap();
    assert_eq!(again.restarted, 0, "{again:?}");
    let starts = workflow.started();
    assert_eq!(starts.len(), 1, "exactly one run started: {starts:?}");
    assert_eq!(
        (starts[0].project_id.clone(), starts[0].run),
        (id.clone(), 2)
    );
    assert_eq!(starts[0].execution_name(), format!("{id}-2"));
    run_to_completion(&*store, &id, 2).await;
    assert_eq!(seqs(&*store, &id).await, vec![1, 2, 3, 4, 5, 6]);
}

/// A project keeps the workflow it was created with, in every store, and its runs start
/// on that workflow: the create's, and the one the reconciler claims after a lost start.
pub async fn a_lost_start_restarts_on_the_workflow_the_project_chose<S: ProjectStore>(
    store: Arc<S>,
) {
    let workflow = ExpressLikeStarter::failing_first(1);
    let meta = create_on_workflow(&*store, &workflow, None, Some("quick-check")).await;
    let stored = store.get_meta(&meta.project_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.workflow.name.as_str(), stored.workflow.version),
        ("quick-check", 1)
    );
    let late = past_deadline(meta.run_claimed_at());
    let report = reconcile(&*store, &workflow, late, POLICY).await.unwrap();
    assert_eq!(report.restarted, 1, "{report:?}");
    let starts = workflow.started();
    assert_eq!(starts.len(), 1, "{starts:?}");
    assert_eq!(
        (starts[0].workflow.as_str(), starts[0].run),
        ("quick-check", 2)
    );
    // The default, when the create names none.
    let plain = ExpressLikeStarter::default();
    let meta = create_on_workflow(&*store, &plain, None, None).await;
    assert_eq!(plain.started()[0].workflow, "idea-to-advice");
    let stored = store.get_meta(&meta.project_id).await.unwrap().unwrap();
    assert_eq!(stored.workflow.name, "idea-to-advice");
}

pub async fn a_replay_racing_the_first_start_makes_one_run<S: ProjectStore + 'static>(
    store: Arc<S>,
) {
    // The first create's StartExecution is slow; the client's retry (same key, same body)
    // arrives while it is still in flight. (Stores are written one after the other here:
    // moto does not isolate concurrent transactions.)
    let workflow = Arc::new(ExpressLikeStarter::slow(Duration::from_millis(400)));
    let key = "replay-race-0001";
    let first = {
        let (store, workflow) = (store.clone(), workflow.clone());
        tokio::spawn(async move { create_through_use_case(&*store, &*workflow, Some(key)).await })
    };
    let replay = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let page = store
            .list_projects(&owner("alice"), Default::default())
            .await
            .unwrap();
        if !page.items.is_empty() {
            break create_through_use_case(&*store, &*workflow, Some(key)).await;
        }
    };
    assert!(
        workflow.started().is_empty(),
        "the replay answered while the first start was still in flight"
    );
    let first = first.await.unwrap();
    assert_eq!(first.project_id, replay.project_id, "one project");
    let starts = workflow.started();
    assert_eq!(starts.len(), 1, "one execution for two creates: {starts:?}");
    assert_eq!(starts[0].run, 1);
}

pub async fn a_reconciler_racing_a_slow_start_leaves_one_set_of_events<S: ProjectStore>(
    store: Arc<S>,
) {
    let workflow = ExpressLikeStarter::default();
    let meta = create_through_use_case(&*store, &workflow, None).await;
    let id = meta.project_id.clone();
    // Run 1 was started but its first step has not run past the deadline (a slow start,
    // a backlog): the reconciler claims run 2 — and two reconcilers racing claim it once.
    let late = past_deadline(meta.run_claimed_at());
    let (r1, r2) = tokio::join!(
        reconcile(&*store, &workflow, late, POLICY),
        reconcile(&*store, &workflow, late, POLICY),
    );
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!(r1.restarted + r2.restarted, 1, "{r1:?} {r2:?}");
    let runs: Vec<u32> = workflow.started().iter().map(|s| s.run).collect();
    assert_eq!(runs, vec![1, 2]);
    // Run 1 finally reaches its first step: refused. Run 2 completes alone.
    assert!(refused_as_superseded(
        store
            .commit_step(commit_in_run(&id, 1, started(StepName::Validator, 1)))
            .await
    ));
    run_to_completion(&*store, &id, 2).await;
    assert_eq!(seqs(&*store, &id).await, vec![1, 2, 3, 4, 5, 6]);
}

pub async fn after_its_last_run_a_project_that_never_started_fails_with_a_reason<
    S: ProjectStore,
>(
    store: Arc<S>,
) {
    let workflow = ExpressLikeStarter::failing_first(u32::MAX);
    let meta = create_through_use_case(&*store, &workflow, None).await;
    let id = meta.project_id.clone();
    let mut at = meta.run_claimed_at();
    for run in 2..=POLICY.max_runs {
        at = past_deadline(at);
        let report = reconcile(&*store, &workflow, at, POLICY).await.unwrap();
        assert_eq!(report.start_errors, 1, "run {run}: {report:?}");
        assert_eq!(store.get_meta(&id).await.unwrap().unwrap().run, run);
    }
    let report = reconcile(&*store, &workflow, past_deadline(at), POLICY)
        .await
        .unwrap();
    assert_eq!(report.gave_up, 1, "{report:?}");
    let meta = store.get_meta(&id).await.unwrap().unwrap();
    assert_eq!(meta.state, State::Failed);
    assert_eq!(meta.error.unwrap().code, START_FAILED);
    assert_eq!(seqs(&*store, &id).await, vec![1, 2], "CREATED, then FAILED");
    assert!(
        store
            .stale_runs(past_deadline(past_deadline(at)), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
