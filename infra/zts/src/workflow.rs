//! The local workflow engine: runs `statemachine.asl.json` with the `asl` interpreter,
//! one tokio task per execution, persisting each execution when it starts and whenever it
//! is about to wait (a retry's back-off, a Wait state), so a restarted stack resumes every
//! run that was in flight with the retry counts it had. Between those saves nothing is
//! written: a restart re-runs the steps since the last save, and steps are idempotent (a
//! commit made before is recognised, a succeeded step returns at once), so a step re-run
//! after a crash (Step Functions' at-least-once) changes nothing twice.

use asl::{Clock, Execution, Machine, Observation, Observer, Status, TaskHandler};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tracing::Instrument;
use zts_domain::clock;
use zts_domain::ports::{
    ConnectionStore, ProjectStore as _, StartOutcome, StoreError, WorkflowError, WorkflowStart,
    WorkflowStarter,
};
use zts_domain::reconcile::{self, ReconcilePolicy, ReconcileReport};
use zts_embedded::EmbeddedStore;

/// Counts of what the interpreter did, for logs and the shutdown summary.
#[derive(Default, Debug)]
pub struct Counters {
    pub executions_started: AtomicU64,
    pub executions_succeeded: AtomicU64,
    pub executions_failed: AtomicU64,
    pub tasks_failed: AtomicU64,
    pub retries: AtomicU64,
}

struct LogObserver(Arc<Counters>);

impl Observer for LogObserver {
    fn observe(&self, ex: &Execution, what: &Observation) {
        let c = &self.0;
        match what {
            Observation::TaskFailed { state, error, .. } => {
                c.tasks_failed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(execution = %ex.name, state, error, "task failed");
            }
            Observation::RetryScheduled {
                state,
                retry_count,
                delay_ms,
                ..
            } => {
                c.retries.fetch_add(1, Ordering::Relaxed);
                tracing::info!(execution = %ex.name, state, retry_count, delay_ms, "retry scheduled");
            }
            Observation::Caught { state, error, next } => {
                tracing::info!(execution = %ex.name, state, error, next, "error caught")
            }
            Observation::ExecutionSucceeded { .. } => {
                c.executions_succeeded.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(execution = %ex.name, "execution succeeded");
            }
            Observation::ExecutionFailed { error, .. } => {
                c.executions_failed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(execution = %ex.name, error, "execution failed");
            }
            other => tracing::trace!(execution = %ex.name, ?other, "transition"),
        }
    }
}

struct Inner {
    /// By workflow name (`zts_domain::workflows`).
    machines: BTreeMap<String, Machine>,
    tasks: Arc<dyn TaskHandler>,
    store: Arc<EmbeddedStore>,
    clock: Box<dyn Clock>,
    observer: LogObserver,
    running: Mutex<HashSet<String>>,
    counters: Arc<Counters>,
}

/// The error a project's run records when the watchdog ended it.
pub const WATCHDOG: &str = "ZeroToShip.Watchdog";

/// Whether the execution's next step starts with a wait (a retry's back-off or a Wait
/// state): what it has counted so far must survive a restart, so it is saved now.
fn about_to_wait(ex: &Execution) -> bool {
    ex.position.as_ref().is_some_and(|p| p.not_before.is_some())
}

#[derive(Clone)]
pub struct LocalWorkflow {
    inner: Arc<Inner>,
}

impl LocalWorkflow {
    /// An engine running `machines` (by workflow name; see `crate::definitions`).
    pub fn new(
        machines: BTreeMap<String, Machine>,
        tasks: Arc<dyn TaskHandler>,
        store: Arc<EmbeddedStore>,
    ) -> Self {
        let counters = Arc::new(Counters::default());
        LocalWorkflow {
            inner: Arc::new(Inner {
                machines,
                tasks,
                store,
                clock: Box::new(asl::TokioClock::new()),
                observer: LogObserver(counters.clone()),
                running: Mutex::new(HashSet::new()),
                counters,
            }),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// Executions running in this process now.
    pub fn running(&self) -> usize {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn claim(&self, name: &str) -> bool {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string())
    }

    /// Drives `execution` inside a span with its project and correlation id, so the
    /// interpreter's lines (a failed task, a scheduled retry) join the run's other lines.
    /// A root span: the run outlives the request that started it (as a Step Functions
    /// execution does), and its lines repeat none of that request's fields.
    fn spawn(&self, execution: Execution) {
        let me = self.clone();
        let field = |name: &str| execution.input[name].as_str().unwrap_or("").to_string();
        let span = tracing::info_span!(
            parent: None,
            "execution",
            execution_id = %execution.name,
            project_id = %field("project_id"),
            correlation_id = %field("correlation_id"),
        );
        tokio::spawn(async move { me.drive(execution).await }.instrument(span));
    }

    #[allow(
        clippy::expect_used,
        reason = "an execution is JSON values and strings: it always serialises"
    )]
    async fn drive(&self, mut ex: Execution) {
        let inner = &*self.inner;
        let Some(machine) = self.machine_of(&ex) else {
            tracing::error!(execution = %ex.name, state_machine = %ex.state_machine, "no workflow runs this execution's state machine; it stays stored");
            self.release(&ex.name);
            return;
        };
        loop {
            let running = machine
                .step(&mut ex, &*inner.tasks, &inner.observer, &*inner.clock)
                .await;
            let saved = if !running {
                Some(inner.store.delete_execution(&ex.name).await)
            } else if about_to_wait(&ex) {
                Some(
                    inner
                        .store
                        .save_execution(
                            &ex.name,
                            &serde_json::to_value(&ex).expect("executions serialise"),
                        )
                        .await,
                )
            } else {
                None
            };
            if let Some(Err(e)) = saved {
                // The run goes on; after a crash it would resume from its last saved step.
                tracing::warn!(error = %e, execution = %ex.name, "could not persist an execution");
            }
            if !running {
                break;
            }
        }
        self.record_abort(machine, &ex).await;
        self.release(&ex.name);
    }

    fn release(&self, name: &str) {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }

    /// The machine an execution runs: its workflow's (an execution stored before
    /// workflows were named ran the default's machine, then called `zts`).
    fn machine_of(&self, ex: &Execution) -> Option<&Machine> {
        let machines = &self.inner.machines;
        machines.get(&ex.state_machine).or_else(|| {
            (ex.state_machine == "zts")
                .then(|| machines.get(zts_domain::workflows::DEFAULT_WORKFLOW))
                .flatten()
        })
    }

    /// An execution the watchdog ended (or any `States.Runtime` failure: neither can be
    /// caught, so RecordFailure never ran) would leave its project in a running state
    /// with no run behind it: it is recorded FAILED with that reason, as RecordFailure
    /// would have.
    async fn record_abort(&self, machine: &Machine, ex: &Execution) {
        let Status::Failed { error, cause } = &ex.status else {
            return;
        };
        let error = if ex.transitions >= machine.max_transitions() {
            WATCHDOG
        } else if error == "States.Runtime" {
            error.as_str()
        } else {
            return;
        };
        let input = &ex.input;
        let request = serde_json::json!({
            "project_id": input["project_id"],
            "correlation_id": input["correlation_id"],
            "run": input["run"],
            "execution_id": ex.id,
            "state": "Aborted",
            "retry_count": 0,
            "outcome": "FAILED",
            "error": {"Error": error, "Cause": cause},
        });
        match self
            .inner
            .tasks
            .invoke(crate::tasks::FINALIZE, request)
            .await
        {
            Ok(_) => {
                tracing::warn!(execution = %ex.name, error, cause, "the run was aborted; its project is FAILED")
            }
            Err(e) => {
                tracing::error!(execution = %ex.name, error = %e.error, "could not record an aborted run")
            }
        }
    }

    /// Resumes every execution persisted by a previous process. Returns how many.
    pub async fn resume_all(&self) -> Result<usize, WorkflowError> {
        let stored = self
            .inner
            .store
            .load_executions()
            .await
            .map_err(|e| WorkflowError::Unavailable(e.to_string()))?;
        let mut resumed = 0;
        for (name, value) in stored {
            match serde_json::from_value::<Execution>(value) {
                Ok(ex) if self.claim(&name) => {
                    self.spawn(ex);
                    resumed += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, execution = %name, "a stored execution is unreadable; skipped")
                }
            }
        }
        Ok(resumed)
    }

    /// One reconciler pass (ARCHITECTURE.md §7): a project whose run never reached its
    /// first step within the policy's deadline gets its next run.
    pub async fn reconcile(&self, policy: ReconcilePolicy) -> Result<ReconcileReport, StoreError> {
        reconcile::reconcile(&*self.inner.store, self, clock::now(), policy).await
    }

    /// Reconciles now and then every `every`, until the process ends; each pass also
    /// samples the open connections and subscriptions for their gauges.
    pub fn spawn_reconciler(
        &self,
        every: Duration,
        policy: ReconcilePolicy,
        connections: Arc<dyn ConnectionStore>,
    ) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                match me.reconcile(policy).await {
                    Ok(report) if report == ReconcileReport::default() => {}
                    Ok(report) => tracing::info!(?report, "reconciler pass"),
                    Err(e) => tracing::warn!(error = %e, "reconciler failed"),
                }
                match connections.open_totals(clock::now()).await {
                    Ok(totals) => zts_domain::metrics::open_now(totals),
                    Err(e) => tracing::warn!(error = %e, "could not count the open connections"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}

#[async_trait]
impl WorkflowStarter for LocalWorkflow {
    #[allow(
        clippy::expect_used,
        reason = "an execution is JSON values and strings: it always serialises"
    )]
    async fn start(&self, start: &WorkflowStart) -> Result<StartOutcome, WorkflowError> {
        let inner = &*self.inner;
        let machine = inner.machines.get(&start.workflow).ok_or_else(|| {
            WorkflowError::Failed(format!("no workflow named {:?} runs here", start.workflow))
        })?;
        let name = start.execution_name();
        if !self.claim(&name) {
            return Ok(StartOutcome::AlreadyStarted);
        }
        let ex = machine.start(&name, start.input_json(), &*inner.clock, &inner.observer);
        // Saved only if no execution of that name is stored: one atomic write decides
        // whether this start is the one (a restart resumes stored executions instead).
        let saved = inner
            .store
            .save_new_execution(
                &name,
                &serde_json::to_value(&ex).expect("executions serialise"),
            )
            .await;
        if !matches!(saved, Ok(true)) {
            self.release(&name);
            return match saved {
                Ok(_) => Ok(StartOutcome::AlreadyStarted),
                Err(e) => Err(WorkflowError::Unavailable(e.to_string())),
            };
        }
        inner
            .counters
            .executions_started
            .fetch_add(1, Ordering::Relaxed);
        self.spawn(ex);
        Ok(StartOutcome::Started)
    }

    async fn ready(&self) -> Result<(), WorkflowError> {
        self.inner
            .store
            .ping()
            .await
            .map_err(|e| WorkflowError::Unavailable(e.to_string()))
    }
}
