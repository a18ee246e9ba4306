//! Running a definition: one state (or one task attempt) per [`Machine::step`], with the
//! whole execution in a serialisable [`Execution`] the caller persists between steps, so a
//! run resumes after a restart exactly where it stopped.

use crate::definition::*;
use crate::error::ExprError;
use crate::path::Path;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// AWS keeps at most 25,000 events in an execution's history; a run that needs more is a
/// loop, and fails rather than spinning forever.
pub const MAX_TRANSITIONS: u64 = 25_000;

/// A task's failure: the error name Retry/Catch match on, and a cause for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    pub error: String,
    pub cause: String,
}

impl TaskError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskError {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

/// Resolves Task states: the caller maps `Resource` (after substitution) to real work.
#[async_trait]
pub trait TaskHandler: Send + Sync {
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError>;
}

/// What happened, as it happens: for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Observation {
    StateEntered {
        state: String,
    },
    TaskScheduled {
        state: String,
        resource: String,
        retry_count: u32,
    },
    TaskSucceeded {
        state: String,
    },
    TaskFailed {
        state: String,
        error: String,
        cause: String,
    },
    RetryScheduled {
        state: String,
        error: String,
        retry_count: u32,
        delay_ms: u64,
    },
    Caught {
        state: String,
        error: String,
        next: String,
    },
    WaitStarted {
        state: String,
        until: DateTime<Utc>,
    },
    StateExited {
        state: String,
    },
    ExecutionSucceeded {
        output: Value,
    },
    ExecutionFailed {
        error: String,
        cause: String,
    },
}

pub trait Observer: Send + Sync {
    fn observe(&self, execution: &Execution, what: &Observation);
}

/// Observes nothing.
pub struct NoObserver;

impl Observer for NoObserver {
    fn observe(&self, _: &Execution, _: &Observation) {}
}

/// The time the interpreter sees. [`TokioClock`] follows tokio's clock, so tests under
/// paused time see retries and waits take exactly the time they should.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct TokioClock {
    wall: DateTime<Utc>,
    instant: tokio::time::Instant,
}

impl TokioClock {
    pub fn new() -> Self {
        TokioClock {
            wall: Utc::now(),
            instant: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now().duration_since(self.instant);
        self.wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded { output: Value },
    Failed { error: String, cause: String },
}

/// Where a running execution stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub state: String,
    /// The state's raw input (before InputPath): Catch and ResultPath build on it.
    pub input: Value,
    pub entered_time: DateTime<Utc>,
    pub retry_count: u32,
    /// Attempts used per retrier of this state (AWS counts each retrier separately).
    pub retrier_attempts: Vec<u32>,
    /// A retry delay or a Wait in progress ends at this time.
    pub not_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub id: String,
    pub name: String,
    pub state_machine: String,
    pub input: Value,
    pub start_time: DateTime<Utc>,
    pub status: Status,
    pub position: Option<Position>,
    pub transitions: u64,
}

impl Execution {
    pub fn is_running(&self) -> bool {
        self.status == Status::Running
    }
}

pub struct Machine {
    definition: Arc<Definition>,
    name: String,
    max_transitions: u64,
}

enum Outcome {
    /// Go to this state with this input.
    Next(String, Value),
    /// The execution ends successfully with this output.
    Succeed(Value),
    /// This state failed; Retry and Catch decide what follows.
    Error(TaskError),
    /// The execution fails, uncatchably (States.Runtime, machine timeout).
    Abort(TaskError),
    /// Stay in this state (a Wait or retry delay was scheduled).
    Stay,
}

fn runtime(cause: impl std::fmt::Display) -> Outcome {
    Outcome::Abort(TaskError::new("States.Runtime", cause.to_string()))
}

/// Does an `ErrorEquals` list match `error`, by AWS's rules?
pub fn error_matches(names: &[String], error: &str) -> bool {
    if error == "States.Runtime" {
        return false;
    }
    names.iter().any(|n| {
        n == error || n == "States.ALL" || (n == "States.TaskFailed" && error != "States.Timeout")
    })
}

/// The delay before retry number `attempt` (0-based) of `retrier`, before jitter.
pub fn backoff_delay(retrier: &Retrier, attempt: u32) -> Duration {
    let seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(attempt as i32);
    let capped = match retrier.max_delay_seconds {
        Some(max) => seconds.min(max as f64),
        None => seconds,
    };
    Duration::from_secs_f64(capped.min(31_622_400.0))
}

impl Machine {
    pub fn new(definition: Definition, name: impl Into<String>) -> Self {
        Machine {
            definition: Arc::new(definition),
            name: name.into(),
            max_transitions: MAX_TRANSITIONS,
        }
    }

    /// A watchdog: an execution that makes `max` state transitions fails (`States.Runtime`,
    /// uncatchable) instead of going on; at most [`MAX_TRANSITIONS`], AWS's own bound.
    pub fn with_max_transitions(mut self, max: u64) -> Self {
        self.max_transitions = max.clamp(1, MAX_TRANSITIONS);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn max_transitions(&self) -> u64 {
        self.max_transitions
    }

    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// A new execution, positioned at `StartAt`.
    pub fn start(
        &self,
        name: &str,
        input: Value,
        clock: &dyn Clock,
        observer: &dyn Observer,
    ) -> Execution {
        let now = clock.now();
        let mut execution = Execution {
            id: format!(
                "arn:aws:states:local:000000000000:execution:{}:{name}",
                self.name
            ),
            name: name.to_string(),
            state_machine: self.name.clone(),
            input: input.clone(),
            start_time: now,
            status: Status::Running,
            position: None,
            transitions: 0,
        };
        self.enter(
            &mut execution,
            self.definition.start_at.clone(),
            input,
            now,
            observer,
        );
        execution
    }

    fn enter(
        &self,
        ex: &mut Execution,
        state: String,
        input: Value,
        now: DateTime<Utc>,
        observer: &dyn Observer,
    ) {
        let retriers = match &self.definition.states[&state].kind {
            Kind::Task(t) => t.retry.len(),
            _ => 0,
        };
        ex.position = Some(Position {
            state: state.clone(),
            input,
            entered_time: now,
            retry_count: 0,
            retrier_attempts: vec![0; retriers],
            not_before: None,
        });
        ex.transitions += 1;
        observer.observe(ex, &Observation::StateEntered { state });
    }

    fn finish(&self, ex: &mut Execution, status: Status, observer: &dyn Observer) {
        ex.status = status.clone();
        ex.position = None;
        let what = match status {
            Status::Succeeded { output } => Observation::ExecutionSucceeded { output },
            Status::Failed { error, cause } => Observation::ExecutionFailed { error, cause },
            Status::Running => return,
        };
        observer.observe(ex, &what);
    }

    fn context(&self, ex: &Execution, pos: &Position) -> Value {
        json!({
            "Execution": {
                "Id": ex.id,
                "Name": ex.name,
                "StartTime": crate::format_time(&ex.start_time),
                "Input": ex.input,
            },
            "StateMachine": { "Id": format!("arn:aws:states:local:000000000000:stateMachine:{}", ex.state_machine), "Name": ex.state_machine },
            "State": { "Name": pos.state, "EnteredTime": crate::format_time(&pos.entered_time), "RetryCount": pos.retry_count },
        })
    }

    /// Advances the execution by one state or one task attempt. Returns whether it is
    /// still running; the caller persists `ex` after each call.
    pub async fn step(
        &self,
        ex: &mut Execution,
        tasks: &dyn TaskHandler,
        observer: &dyn Observer,
        clock: &dyn Clock,
    ) -> bool {
        let Some(mut pos) = ex.position.clone() else {
            return false;
        };
        if !ex.is_running() {
            return false;
        }
        let deadline = self
            .definition
            .timeout_seconds
            .map(|s| ex.start_time + chrono::Duration::seconds(s as i64));
        if ex.transitions >= self.max_transitions {
            let cause = format!(
                "the execution reached {} state transitions, the most one may make: its \
                 definition loops",
                self.max_transitions
            );
            self.finish(
                ex,
                Status::Failed {
                    error: "States.Runtime".into(),
                    cause,
                },
                observer,
            );
            return false;
        }
        let waited = match pos.not_before {
            Some(not_before) => {
                let until = deadline.map_or(not_before, |d| d.min(not_before));
                sleep_until(clock, until).await;
                pos.not_before = None;
                ex.position = Some(pos.clone());
                true
            }
            None => false,
        };
        if deadline.is_some_and(|d| clock.now() >= d) {
            self.finish(
                ex,
                Status::Failed {
                    error: "States.Timeout".into(),
                    cause: "the execution timed out".into(),
                },
                observer,
            );
            return false;
        }
        let state = &self.definition.states[&pos.state];
        let outcome = match &state.kind {
            Kind::Task(task) => {
                let remaining = deadline.map(|d| (d - clock.now()).to_std().unwrap_or_default());
                self.run_task(ex, &pos, state, task, tasks, observer, remaining)
                    .await
            }
            Kind::Pass(pass) => self.run_pass(ex, &pos, state, pass),
            Kind::Choice(choice) => self.run_choice(ex, &pos, state, choice),
            Kind::Wait(wait) => self.run_wait(ex, &mut pos, state, wait, waited, clock, observer),
            Kind::Succeed => match io_path(state.input_path.as_ref(), &pos.input)
                .and_then(|v| io_path(state.output_path.as_ref(), &v))
            {
                Ok(output) => Outcome::Succeed(output),
                Err(e) => runtime(e),
            },
            Kind::Fail(fail) => {
                let read = |p: &Option<Path>, fixed: &Option<String>| -> String {
                    match p {
                        Some(p) => p
                            .get(&pos.input)
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        None => fixed.clone().unwrap_or_default(),
                    }
                };
                Outcome::Abort(TaskError::new(
                    read(&fail.error_path, &fail.error),
                    read(&fail.cause_path, &fail.cause),
                ))
            }
        };
        let now = clock.now();
        match outcome {
            Outcome::Stay => {
                ex.position = Some(pos);
            }
            Outcome::Next(next, input) => {
                observer.observe(
                    ex,
                    &Observation::StateExited {
                        state: pos.state.clone(),
                    },
                );
                self.enter(ex, next, input, now, observer);
            }
            Outcome::Succeed(output) => {
                observer.observe(
                    ex,
                    &Observation::StateExited {
                        state: pos.state.clone(),
                    },
                );
                self.finish(ex, Status::Succeeded { output }, observer);
            }
            Outcome::Abort(e) => self.finish(
                ex,
                Status::Failed {
                    error: e.error,
                    cause: e.cause,
                },
                observer,
            ),
            Outcome::Error(e) => self.handle_error(ex, pos, e, now, observer),
        }
        ex.is_running()
    }

    /// Steps until the execution ends, calling `persist` after every step.
    pub async fn run(
        &self,
        ex: &mut Execution,
        tasks: &dyn TaskHandler,
        observer: &dyn Observer,
        clock: &dyn Clock,
        mut persist: impl FnMut(&Execution),
    ) {
        while self.step(ex, tasks, observer, clock).await {
            persist(ex);
        }
        persist(ex);
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_task(
        &self,
        ex: &Execution,
        pos: &Position,
        state: &State,
        task: &Task,
        tasks: &dyn TaskHandler,
        observer: &dyn Observer,
        machine_remaining: Option<Duration>,
    ) -> Outcome {
        let context = self.context(ex, pos);
        let effective = match io_path(state.input_path.as_ref(), &pos.input) {
            Ok(v) => v,
            Err(e) => return runtime(e),
        };
        let parameters = match &task.parameters {
            Some(t) => match t.render(&effective, &context) {
                Ok(v) => v,
                Err(e) => return runtime(format!("state {:?}, Parameters: {e}", state.name)),
            },
            None => effective,
        };
        observer.observe(
            ex,
            &Observation::TaskScheduled {
                state: state.name.clone(),
                resource: task.resource.clone(),
                retry_count: pos.retry_count,
            },
        );
        let task_limit = task.timeout_seconds.map(Duration::from_secs);
        let limit = match (task_limit, machine_remaining) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let call = tasks.invoke(&task.resource, parameters);
        let result = match limit {
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(result) => result,
                Err(_) if task_limit.is_some_and(|t| t <= limit) => Err(TaskError::new(
                    "States.Timeout",
                    format!(
                        "the task ran longer than its TimeoutSeconds ({}s)",
                        task_limit.unwrap_or_default().as_secs()
                    ),
                )),
                Err(_) => {
                    return Outcome::Abort(TaskError::new(
                        "States.Timeout",
                        "the execution timed out",
                    ));
                }
            },
            None => call.await,
        };
        let result = match result {
            Ok(v) => v,
            Err(e) => {
                observer.observe(
                    ex,
                    &Observation::TaskFailed {
                        state: state.name.clone(),
                        error: e.error.clone(),
                        cause: e.cause.clone(),
                    },
                );
                return Outcome::Error(e);
            }
        };
        observer.observe(
            ex,
            &Observation::TaskSucceeded {
                state: state.name.clone(),
            },
        );
        let selected = match &task.result_selector {
            Some(t) => match t.render(&result, &context) {
                Ok(v) => v,
                Err(e) => return runtime(format!("state {:?}, ResultSelector: {e}", state.name)),
            },
            None => result,
        };
        self.after(
            state,
            &task.transition,
            &pos.input,
            &task.result_path,
            selected,
        )
    }

    fn run_pass(&self, ex: &Execution, pos: &Position, state: &State, pass: &Pass) -> Outcome {
        let effective = match io_path(state.input_path.as_ref(), &pos.input) {
            Ok(v) => v,
            Err(e) => return runtime(e),
        };
        let result = if let Some(result) = &pass.result {
            result.clone()
        } else if let Some(t) = &pass.parameters {
            match t.render(&effective, &self.context(ex, pos)) {
                Ok(v) => v,
                Err(e) => return runtime(format!("state {:?}, Parameters: {e}", state.name)),
            }
        } else {
            effective
        };
        self.after(
            state,
            &pass.transition,
            &pos.input,
            &pass.result_path,
            result,
        )
    }

    fn run_choice(
        &self,
        ex: &Execution,
        pos: &Position,
        state: &State,
        choice: &Choice,
    ) -> Outcome {
        let effective = match io_path(state.input_path.as_ref(), &pos.input) {
            Ok(v) => v,
            Err(e) => return runtime(e),
        };
        let context = self.context(ex, pos);
        let mut next = None;
        for (rule, target) in &choice.choices {
            match rule.eval(&effective, &context) {
                Ok(true) => {
                    next = Some(target.clone());
                    break;
                }
                Ok(false) => {}
                Err(e) => return runtime(format!("state {:?}: {e}", state.name)),
            }
        }
        let Some(next) = next.or_else(|| choice.default.clone()) else {
            return Outcome::Error(TaskError::new(
                "States.NoChoiceMatched",
                format!(
                    "no choice rule of state {:?} matched and it has no Default",
                    state.name
                ),
            ));
        };
        match io_path(state.output_path.as_ref(), &effective) {
            Ok(output) => Outcome::Next(next, output),
            Err(e) => runtime(e),
        }
    }

    /// A Wait state: the first step schedules `not_before` (so the caller persists it);
    /// the step after the sleep (`waited`) moves on.
    #[allow(clippy::too_many_arguments)]
    fn run_wait(
        &self,
        ex: &Execution,
        pos: &mut Position,
        state: &State,
        wait: &Wait,
        waited: bool,
        clock: &dyn Clock,
        observer: &dyn Observer,
    ) -> Outcome {
        let effective = match io_path(state.input_path.as_ref(), &pos.input) {
            Ok(v) => v,
            Err(e) => return runtime(e),
        };
        if !waited {
            let until = match &wait.wait_for {
                WaitFor::Seconds(s) => pos.entered_time + chrono::Duration::seconds(*s as i64),
                WaitFor::Timestamp(t) => *t,
                WaitFor::SecondsPath(p) => match p.get(&effective).and_then(Value::as_u64) {
                    Some(s) => pos.entered_time + chrono::Duration::seconds(s as i64),
                    None => {
                        return runtime(format!(
                            "state {:?}: SecondsPath {p} is not a whole number of seconds",
                            state.name
                        ));
                    }
                },
                WaitFor::TimestampPath(p) => match p
                    .get(&effective)
                    .and_then(Value::as_str)
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                {
                    Some(t) => t.with_timezone(&Utc),
                    None => {
                        return runtime(format!(
                            "state {:?}: TimestampPath {p} is not an RFC 3339 timestamp",
                            state.name
                        ));
                    }
                },
            };
            if until > clock.now() {
                pos.not_before = Some(until);
                observer.observe(
                    ex,
                    &Observation::WaitStarted {
                        state: state.name.clone(),
                        until,
                    },
                );
                return Outcome::Stay;
            }
        }
        let next = match &wait.transition {
            Transition::Next(n) => Some(n.clone()),
            Transition::End => None,
        };
        match (io_path(state.output_path.as_ref(), &effective), next) {
            (Ok(output), Some(next)) => Outcome::Next(next, output),
            (Ok(output), None) => Outcome::Succeed(output),
            (Err(e), _) => runtime(e),
        }
    }

    /// ResultPath, OutputPath and the transition, shared by Task and Pass.
    fn after(
        &self,
        state: &State,
        transition: &Transition,
        raw_input: &Value,
        result_path: &ResultPath,
        result: Value,
    ) -> Outcome {
        let merged = match result_path {
            ResultPath::Discard => Ok(raw_input.clone()),
            ResultPath::At(p) => p.set(raw_input.clone(), result),
        };
        let output = match merged.and_then(|v| io_path(state.output_path.as_ref(), &v)) {
            Ok(v) => v,
            Err(e) => return runtime(format!("state {:?}: {e}", state.name)),
        };
        match transition {
            Transition::Next(next) => Outcome::Next(next.clone(), output),
            Transition::End => Outcome::Succeed(output),
        }
    }

    fn handle_error(
        &self,
        ex: &mut Execution,
        mut pos: Position,
        e: TaskError,
        now: DateTime<Utc>,
        observer: &dyn Observer,
    ) {
        let state = &self.definition.states[&pos.state];
        let (retriers, catchers): (&[Retrier], &[Catcher]) = match &state.kind {
            Kind::Task(t) => (&t.retry, &t.catch),
            _ => (&[], &[]),
        };
        // The first retrier that matches decides; an exhausted one does not fall through.
        if let Some(i) = retriers
            .iter()
            .position(|r| error_matches(&r.error_equals, &e.error))
        {
            let retrier = &retriers[i];
            let used = pos.retrier_attempts[i];
            if used < retrier.max_attempts {
                let full = backoff_delay(retrier, used);
                let delay = match retrier.jitter {
                    Jitter::None => full,
                    Jitter::Full => full.mul_f64(rand::random::<f64>()),
                };
                pos.retrier_attempts[i] += 1;
                pos.retry_count += 1;
                pos.not_before = Some(now + chrono::Duration::from_std(delay).unwrap_or_default());
                let delay_ms = delay.as_millis() as u64;
                ex.position = Some(pos.clone());
                observer.observe(
                    ex,
                    &Observation::RetryScheduled {
                        state: pos.state.clone(),
                        error: e.error.clone(),
                        retry_count: pos.retry_count,
                        delay_ms,
                    },
                );
                return;
            }
        }
        if let Some(catcher) = catchers
            .iter()
            .find(|c| error_matches(&c.error_equals, &e.error))
        {
            let error_output = json!({ "Error": e.error, "Cause": e.cause });
            let input = match &catcher.result_path {
                ResultPath::Discard => Ok(pos.input.clone()),
                ResultPath::At(p) => p.set(pos.input.clone(), error_output),
            };
            match input {
                Ok(input) => {
                    observer.observe(
                        ex,
                        &Observation::Caught {
                            state: pos.state.clone(),
                            error: e.error.clone(),
                            next: catcher.next.clone(),
                        },
                    );
                    observer.observe(
                        ex,
                        &Observation::StateExited {
                            state: pos.state.clone(),
                        },
                    );
                    self.enter(ex, catcher.next.clone(), input, now, observer);
                }
                Err(cause) => self.finish(
                    ex,
                    Status::Failed {
                        error: "States.Runtime".into(),
                        cause: cause.to_string(),
                    },
                    observer,
                ),
            }
            return;
        }
        self.finish(
            ex,
            Status::Failed {
                error: e.error,
                cause: e.cause,
            },
            observer,
        );
    }
}

async fn sleep_until(clock: &dyn Clock, until: DateTime<Utc>) {
    if let Ok(d) = (until - clock.now()).to_std() {
        tokio::time::sleep(d).await;
    }
}

/// InputPath / OutputPath: absent = whole value; null = `{}`; a path must match.
fn io_path(path: Option<&Option<Path>>, value: &Value) -> Result<Value, ExprError> {
    match path {
        None => Ok(value.clone()),
        Some(None) => Ok(json!({})),
        Some(Some(p)) => p
            .get(value)
            .cloned()
            .ok_or_else(|| ExprError::no_match("path", p, format!(" in {}", truncate(value)))),
    }
}

fn truncate(value: &Value) -> String {
    let s = value.to_string();
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}
