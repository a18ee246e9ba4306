//! A project as the domain keeps it: its small META record with the run history, its
//! stored input, and the artifacts its steps produced.

use crate::clock::Timestamp;
use crate::ids::{Owner, ProjectId};
use crate::input::ProjectInput;
use crate::pii::{PiiPolicy, RedactionReport};
use crate::workflows::WorkflowRef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Created,
    IdeaValidation,
    Advisory,
    Completed,
    Failed,
    /// Stopped by its owner (`POST …/cancel`): terminal, like COMPLETED and FAILED.
    Cancelled,
    /// Deleted by its owner (`DELETE …`): a tombstone until the purge removes the rest of
    /// its items. No route shows it; no status_update ever carries it (clients get
    /// `project_deleted`).
    Deleted,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Created,
        State::IdeaValidation,
        State::Advisory,
        State::Completed,
        State::Failed,
        State::Cancelled,
        State::Deleted,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Completed | State::Failed | State::Cancelled | State::Deleted
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "CREATED",
            State::IdeaValidation => "IDEA_VALIDATION",
            State::Advisory => "ADVISORY",
            State::Completed => "COMPLETED",
            State::Failed => "FAILED",
            State::Cancelled => "CANCELLED",
            State::Deleted => "DELETED",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pipeline's working steps (the agents of the original ZeroToShip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepName {
    Validator,
    Advisory,
}

impl StepName {
    pub const ALL: [StepName; 2] = [StepName::Validator, StepName::Advisory];

    pub fn as_str(self) -> &'static str {
        match self {
            StepName::Validator => "validator",
            StepName::Advisory => "advisory",
        }
    }

    /// The project state while this step runs.
    pub fn state(self) -> State {
        match self {
            StepName::Validator => State::IdeaValidation,
            StepName::Advisory => State::Advisory,
        }
    }

    /// Progress when the step starts and when it completes (ARCHITECTURE.md §4).
    pub fn progress(self) -> (u8, u8) {
        match self {
            StepName::Validator => (10, 50),
            StepName::Advisory => (60, 90),
        }
    }

    /// The step that must have succeeded before this one may start.
    pub fn previous(self) -> Option<StepName> {
        match self {
            StepName::Validator => None,
            StepName::Advisory => Some(StepName::Validator),
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as clients see it: a stable code and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
}

impl ErrorInfo {
    /// Messages are capped so an error can never push META or an event past its size bound.
    pub const MESSAGE_MAX_CHARS: usize = 500;

    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let message = match message.char_indices().nth(Self::MESSAGE_MAX_CHARS) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message,
        };
        ErrorInfo {
            code: code.into(),
            message,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
}

/// One failed attempt, as kept in the run history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptError {
    pub attempt: u32,
    pub error: ErrorInfo,
    pub retryable: bool,
    pub at: Timestamp,
}

/// The history of one step across its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRun {
    pub status: StepStatus,
    /// The highest attempt number seen (1-based).
    pub attempts: u32,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// Duration of the attempt that succeeded, in milliseconds.
    pub duration_ms: Option<u64>,
    pub artifact_type: Option<String>,
    /// The most recent failures, oldest first (capped so META stays small).
    pub errors: Vec<AttemptError>,
    /// Every attempt whose failure is recorded, ascending: a repeat of a failure's report
    /// is recognised by it, with no record of the commit beside META. A number each (a
    /// step is retried a few times: the workflow's Retry bounds it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_attempts: Vec<u32>,
}

impl StepRun {
    pub const ERRORS_KEPT: usize = 5;
}

/// The META record: small, read on every step and every status call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMeta {
    pub project_id: ProjectId,
    pub owner: Owner,
    pub name: String,
    pub state: State,
    pub progress: u8,
    pub current_step: Option<StepName>,
    /// Bumped on every write; the optimistic-concurrency token.
    pub version: u64,
    /// The seq of the newest event; the next event gets `last_seq + 1`.
    pub last_seq: u64,
    pub correlation_id: String,
    /// The current run's number: 1 for the run the create claims, one more for each run
    /// the reconciler re-claims. A commit from any other run is refused, so a superseded
    /// run changes nothing (ARCHITECTURE.md §7).
    #[serde(default = "first_run")]
    pub run: u32,
    /// When the current run was claimed (`None` in META written before runs were
    /// numbered: read as the creation time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_claimed_at: Option<Timestamp>,
    /// The hash of the Idempotency-Key the create was sent with: a delete removes the
    /// record under it, so a replay of that create makes a new project, never this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key_hash: Option<String>,
    /// The run the latest create or retry asked for (1 for the create): the reconciler
    /// counts its claims from here, so a retried project gets the same chances as a new one.
    #[serde(default = "first_run")]
    pub requested_run: u32,
    /// The current run's steps. A retry carries the succeeded steps over (their artifacts
    /// are kept) and moves the run as it ended into [`ProjectMeta::history`].
    pub runs: BTreeMap<StepName, StepRun>,
    /// Earlier runs that ended FAILED and were retried, oldest first (at most
    /// [`ProjectMeta::RETRIES_MAX`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RunRecord>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub error: Option<ErrorInfo>,
    /// Set when the project ends: its end + the deployment's retention. From then on it is
    /// gone for every reader, and its items are being removed (`crate::retention`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_until: Option<Timestamp>,
    /// The workflow this project runs, and its version (META written before workflows
    /// were named ran the default's version 1).
    #[serde(default)]
    pub workflow: WorkflowRef,
    /// The dedupe key of the retry that claimed the current run: a repeat of it (the
    /// same Idempotency-Key, or a second retry that read the same META) is recognised,
    /// where every other transition is recognised by its effect (`transition::apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_retry: Option<String>,
}

impl ProjectMeta {
    /// How many times a project may be retried: bounds META (every retry keeps a record of
    /// the run it replaces) and a retry loop that keeps failing.
    pub const RETRIES_MAX: usize = 10;

    /// A tombstone: the project was deleted, and no route may show it.
    pub fn is_deleted(&self) -> bool {
        self.state == State::Deleted
    }

    /// Whether no route may show the project at `now`: deleted, or past its retention
    /// (its items may still exist until the store removes them).
    pub fn is_gone(&self, now: Timestamp) -> bool {
        self.is_deleted() || self.is_expired(now)
    }

    /// Past its retention at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.retain_until.is_some_and(|until| until <= now)
    }

    /// Whether `step` has already succeeded in this project's run: the one rule the
    /// transition and the step runner both ask (ARCHITECTURE.md §6).
    pub fn step_succeeded(&self, step: StepName) -> bool {
        self.runs
            .get(&step)
            .is_some_and(|r| r.status == StepStatus::Succeeded)
    }

    /// When the current run was claimed.
    pub fn run_claimed_at(&self) -> Timestamp {
        self.run_claimed_at.unwrap_or(self.created_at)
    }

    /// Whether the reconciler may claim the next run: still CREATED, its run claimed before
    /// `claimed_before` (the one rule both stores' `stale_runs` apply).
    pub fn run_is_stale(&self, claimed_before: Timestamp) -> bool {
        self.state == State::Created && self.run_claimed_at() < claimed_before
    }

    /// Runs claimed since the latest create or retry asked for one (1 when none was
    /// reclaimed): what the reconciler's `max_runs` bounds.
    pub fn runs_since_request(&self) -> u32 {
        self.run
            .saturating_sub(self.requested_run.min(self.run))
            .saturating_add(1)
    }

    /// The attempts of the step running now, or else of the last step that ran (0 before
    /// the first), as `GET …/status` reports them; each step's count is in the run
    /// history (ARCHITECTURE.md §4).
    pub fn attempts(&self) -> u32 {
        self.current_step
            .and_then(|step| self.runs.get(&step))
            .or_else(|| self.runs.values().next_back())
            .map_or(0, |r| r.attempts)
    }
}

/// One earlier run as it ended, kept when the project is retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: u32,
    /// How it ended (FAILED: only a failed run is retried).
    pub state: State,
    pub error: Option<ErrorInfo>,
    /// Its steps as they ended; each keeps only its last error (the rest are in the
    /// project's events), so a record stays small.
    pub steps: BTreeMap<StepName, StepRun>,
    pub ended_at: Timestamp,
}

fn first_run() -> u32 {
    1
}

/// The input as stored: redacted, with the report of what was redacted. The only way to
/// make one is [`StoredInput::redact`] (or reading one back from a store), so text that
/// reaches a store has been through redaction by construction (ARCHITECTURE.md §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInput {
    input: ProjectInput,
    redaction: RedactionReport,
}

impl StoredInput {
    /// Redacts every text field of `input` (name and avatar labels included) under `policy`.
    pub fn redact(input: &ProjectInput, policy: &PiiPolicy) -> Self {
        let (input, redaction) = policy.redact_input(input);
        StoredInput { input, redaction }
    }

    /// The redacted input.
    pub fn input(&self) -> &ProjectInput {
        &self.input
    }

    /// What redaction found: kinds and counts, never values.
    pub fn redaction(&self) -> &RedactionReport {
        &self.redaction
    }
}

/// What a step produced. `content` is the engine's document; it never travels in events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub step: StepName,
    pub artifact_type: String,
    pub content: serde_json::Value,
    pub created_at: Timestamp,
}

/// A whole project as `GET /api/v1/projects/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectView {
    pub meta: ProjectMeta,
    pub input: StoredInput,
    pub artifacts: Vec<Artifact>,
}
