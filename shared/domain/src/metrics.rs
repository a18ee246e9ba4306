//! Every metric ZeroToShip emits, defined once (ARCHITECTURE.md §11). Code records through
//! the typed functions below (the `metrics` facade); which exporter receives them is the
//! deployment's choice: Prometheus text on the local stack (`zts serve --metrics-addr`),
//! CloudWatch embedded metric format (EMF) on Lambda. The names are the same in both, so a
//! dashboard built on one reads the other; the names the original ZeroToShip exposed
//! (`zerotoship_project_creations_total{workflow_name}`, …) keep their meaning.
//!
//! Labels are low-cardinality only: a step, a workflow, an error type, a status. Never a
//! project, owner, key or connection id (the definitions' test holds every label to
//! [`ALLOWED_LABELS`]).

use crate::project::StepName;
use std::time::Duration;

/// The CloudWatch namespace of every metric (EMF), and the Prometheus prefix.
pub const NAMESPACE: &str = "ZeroToShip";

/// The default workflow's name, the `workflow_name` of anything not tied to one project.
pub const DEFAULT_WORKFLOW: &str = crate::workflows::DEFAULT_WORKFLOW;

/// The only label keys any metric may carry.
pub const ALLOWED_LABELS: &[&str] = &["workflow_name", "status", "step", "error_type"];

/// What kind of value a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
    /// A value sampled now (how many are open), not a count of happenings.
    Gauge,
}

/// A metric's unit, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
}

impl Unit {
    /// The CloudWatch unit name (EMF's `Unit`).
    pub fn cloudwatch(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
        }
    }

    fn facade(self) -> ::metrics::Unit {
        match self {
            Unit::Count => ::metrics::Unit::Count,
            Unit::Seconds => ::metrics::Unit::Seconds,
        }
    }
}

/// One metric: its name, kind, unit and the label keys it is recorded with (always all
/// of them: CloudWatch finds a metric only by its exact dimension set). What it means is
/// [`Metric::help`].
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    pub labels: &'static [&'static str],
}

const fn counter(name: &'static str, labels: &'static [&'static str]) -> Metric {
    Metric {
        name,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels,
    }
}

const fn gauge(name: &'static str, labels: &'static [&'static str]) -> Metric {
    Metric {
        name,
        kind: Kind::Gauge,
        unit: Unit::Count,
        labels,
    }
}

const fn seconds(name: &'static str, labels: &'static [&'static str]) -> Metric {
    Metric {
        name,
        kind: Kind::Histogram,
        unit: Unit::Seconds,
        labels,
    }
}

pub const PROJECT_CREATIONS: Metric =
    counter("zerotoship_project_creations_total", &["workflow_name"]);
pub const PROJECT_REPLAYS: Metric = counter("zerotoship_project_replays_total", &["workflow_name"]);
pub const PROJECT_RETRIES: Metric = counter("zerotoship_project_retries_total", &["workflow_name"]);
pub const PROJECT_DELETIONS: Metric =
    counter("zerotoship_project_deletions_total", &["workflow_name"]);
pub const WORKFLOW_EXECUTIONS: Metric = counter(
    "zerotoship_workflow_executions_total",
    &["workflow_name", "status"],
);
pub const STEP_DURATION: Metric = seconds("zerotoship_step_duration_seconds", &["step"]);
pub const STEPS_SUCCEEDED: Metric = counter("zerotoship_steps_succeeded_total", &["step"]);
pub const STEPS_FAILED: Metric = counter("zerotoship_steps_failed_total", &["step", "error_type"]);
pub const STEPS_RETRIED: Metric = counter("zerotoship_steps_retried_total", &["step"]);
pub const EVENTS_PUBLISHED: Metric = counter("zerotoship_events_published_total", &[]);
pub const PUSHES: Metric = counter("zerotoship_pushes_total", &["status"]);
pub const POISON_RECORDS: Metric = counter("zerotoship_poison_records_total", &[]);
pub const CONNECTIONS: Metric = counter("zerotoship_connections_total", &["status"]);
pub const SUBSCRIPTIONS: Metric = counter("zerotoship_subscriptions_total", &[]);
pub const CONNECTIONS_ACTIVE: Metric = gauge("zerotoship_connections_active", &[]);
pub const SUBSCRIPTIONS_ACTIVE: Metric = gauge("zerotoship_subscriptions_active", &[]);
pub const AUTH_REJECTED: Metric = counter("zerotoship_auth_rejected_total", &[]);
pub const RATE_LIMITED: Metric = counter("zerotoship_rate_limited_total", &[]);
pub const RECONCILER_RESTARTS: Metric = counter("zerotoship_reconciler_restarts_total", &[]);
pub const RECONCILER_GIVE_UPS: Metric = counter("zerotoship_reconciler_give_ups_total", &[]);
pub const COLD_STARTS: Metric = counter("zerotoship_cold_starts_total", &[]);
pub const ERRORS: Metric = counter("zerotoship_errors_total", &["error_type"]);
pub const REQUEST_PROCESSING: Metric = seconds("zerotoship_request_processing_seconds", &[]);

impl Metric {
    /// What the metric means (Prometheus's `# HELP`). Kept apart from the definitions so
    /// the Lambda functions, whose EMF documents carry no descriptions, link none of it.
    pub fn help(&self) -> &'static str {
        match self.name {
            "zerotoship_project_creations_total" => {
                "Projects created (a replayed create with the same Idempotency-Key is not counted)."
            }
            "zerotoship_project_replays_total" => {
                "Creates answered from an earlier create with the same Idempotency-Key."
            }
            "zerotoship_project_retries_total" => {
                "FAILED projects their owner retried (each claims a new run from the failed step)."
            }
            "zerotoship_project_deletions_total" => {
                "Projects their owner deleted (their text erased at once, the rest purged after a grace period)."
            }
            "zerotoship_workflow_executions_total" => {
                "Runs that ended: status completed, rejected (the idea was refused: a business outcome), \
     failed (a system failure: retries exhausted, a crash, a timeout, a conflict) or cancelled (by its owner)."
            }
            "zerotoship_step_duration_seconds" => {
                "How long one attempt of a step took, from its start to its outcome."
            }
            "zerotoship_steps_succeeded_total" => "Step attempts that stored their artifact.",
            "zerotoship_steps_failed_total" => {
                "Step attempts that failed, by the error type the workflow sees (ZeroToShip.Transient, …)."
            }
            "zerotoship_steps_retried_total" => {
                "Step attempts after the first (the workflow retried the step)."
            }
            "zerotoship_events_published_total" => {
                "Committed events the broadcaster handled (each is pushed to every subscriber)."
            }
            "zerotoship_pushes_total" => {
                "Pushes of an event to one WebSocket connection: status delivered, gone (the client \
     left: 410) or failed (retries exhausted, forbidden, too large)."
            }
            "zerotoship_poison_records_total" => {
                "Stream records the broadcaster could not read and skipped."
            }
            "zerotoship_connections_total" => {
                "WebSocket connects: status opened, or refused (the owner is at its connection cap)."
            }
            "zerotoship_subscriptions_total" => "Subscriptions of a connection to a project.",
            "zerotoship_connections_active" => {
                "WebSocket connections open now, sampled by every reconciler pass (10 s locally, 1 min on AWS)."
            }
            "zerotoship_subscriptions_active" => {
                "Subscriptions the open WebSocket connections hold now, sampled with zerotoship_connections_active."
            }
            "zerotoship_auth_rejected_total" => {
                "Requests and connects refused for a missing, unknown, revoked or expired key or ticket."
            }
            "zerotoship_rate_limited_total" => {
                "Requests answered 429 because their key was out of tokens."
            }
            "zerotoship_reconciler_restarts_total" => {
                "Runs the reconciler claimed and started again because the previous one never progressed."
            }
            "zerotoship_reconciler_give_ups_total" => {
                "Projects the reconciler recorded FAILED after its last restart never progressed either."
            }
            "zerotoship_cold_starts_total" => {
                "First invocations of a Lambda process (the local stack counts its start)."
            }
            "zerotoship_errors_total" => {
                "Error answers of the HTTP API, by their machine-readable code (validation_failed, …)."
            }
            "zerotoship_request_processing_seconds" => {
                "How long the HTTP API took to answer a request."
            }
            _ => "",
        }
    }
}

/// Every metric, in the order the dashboard shows them.
pub const ALL: &[Metric] = &[
    PROJECT_CREATIONS,
    PROJECT_REPLAYS,
    PROJECT_RETRIES,
    PROJECT_DELETIONS,
    WORKFLOW_EXECUTIONS,
    STEP_DURATION,
    STEPS_SUCCEEDED,
    STEPS_FAILED,
    STEPS_RETRIED,
    EVENTS_PUBLISHED,
    PUSHES,
    POISON_RECORDS,
    CONNECTIONS,
    SUBSCRIPTIONS,
    CONNECTIONS_ACTIVE,
    SUBSCRIPTIONS_ACTIVE,
    AUTH_REJECTED,
    RATE_LIMITED,
    RECONCILER_RESTARTS,
    RECONCILER_GIVE_UPS,
    COLD_STARTS,
    ERRORS,
    REQUEST_PROCESSING,
];

/// The definition of the metric named `name`.
pub fn find(name: &str) -> Option<&'static Metric> {
    ALL.iter().find(|m| m.name == name)
}

/// Tells the installed recorder each metric's unit and meaning (Prometheus's `# HELP`).
/// Call once after installing a recorder.
pub fn describe() {
    for m in ALL {
        describe_one(m, m.help());
    }
}

/// Tells the installed recorder each metric's unit only (EMF's `Unit`; CloudWatch has no
/// place for a description).
pub fn describe_units() {
    for m in ALL {
        describe_one(m, "");
    }
}

fn describe_one(m: &Metric, help: &'static str) {
    match m.kind {
        Kind::Counter => ::metrics::describe_counter!(m.name, m.unit.facade(), help),
        Kind::Histogram => ::metrics::describe_histogram!(m.name, m.unit.facade(), help),
        Kind::Gauge => ::metrics::describe_gauge!(m.name, m.unit.facade(), help),
    }
}

/// How a run ended, as [`WORKFLOW_EXECUTIONS`] labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    Completed,
    Rejected,
    Failed,
    Cancelled,
}

impl RunEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            RunEnd::Completed => "completed",
            RunEnd::Rejected => "rejected",
            RunEnd::Failed => "failed",
            RunEnd::Cancelled => "cancelled",
        }
    }
}

/// What became of one push, as [`PUSHES`] labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushStatus {
    Delivered,
    Gone,
    Failed,
}

impl PushStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PushStatus::Delivered => "delivered",
            PushStatus::Gone => "gone",
            PushStatus::Failed => "failed",
        }
    }
}

fn count(m: &Metric) {
    ::metrics::counter!(m.name).increment(1);
}

fn count_with(m: &Metric, values: &[&'static str]) {
    let labels: Vec<::metrics::Label> = m
        .labels
        .iter()
        .zip(values)
        .map(|(&k, &v)| ::metrics::Label::from_static_parts(k, v))
        .collect();
    ::metrics::counter!(m.name, labels).increment(1);
}

pub fn project_created(workflow: &'static str) {
    count_with(&PROJECT_CREATIONS, &[workflow]);
}

pub fn project_replayed(workflow: &'static str) {
    count_with(&PROJECT_REPLAYS, &[workflow]);
}

pub fn project_retried(workflow: &'static str) {
    count_with(&PROJECT_RETRIES, &[workflow]);
}

pub fn project_deleted(workflow: &'static str) {
    count_with(&PROJECT_DELETIONS, &[workflow]);
}

pub fn run_ended(workflow: &'static str, end: RunEnd) {
    count_with(&WORKFLOW_EXECUTIONS, &[workflow, end.as_str()]);
}

pub fn step_retried(step: StepName) {
    count_with(&STEPS_RETRIED, &[step.as_str()]);
}

pub fn step_succeeded(step: StepName, took: Duration) {
    count_with(&STEPS_SUCCEEDED, &[step.as_str()]);
    step_took(step, took);
}

pub fn step_failed(step: StepName, error_type: &'static str, took: Duration) {
    count_with(&STEPS_FAILED, &[step.as_str(), error_type]);
    step_took(step, took);
}

fn step_took(step: StepName, took: Duration) {
    ::metrics::histogram!(STEP_DURATION.name, "step" => step.as_str()).record(took.as_secs_f64());
}

pub fn event_published() {
    count(&EVENTS_PUBLISHED);
}

/// `n` pushes ended with `status`.
pub fn pushed(status: PushStatus, n: u64) {
    if n > 0 {
        ::metrics::counter!(PUSHES.name, "status" => status.as_str()).increment(n);
    }
}

pub fn poison_record() {
    count(&POISON_RECORDS);
}

pub fn connection_opened() {
    count_with(&CONNECTIONS, &["opened"]);
}

pub fn connection_refused() {
    count_with(&CONNECTIONS, &["refused"]);
}

pub fn subscribed() {
    count(&SUBSCRIPTIONS);
}

/// The open connections and their subscriptions, as sampled now.
pub fn open_now(totals: crate::ports::OpenTotals) {
    ::metrics::gauge!(CONNECTIONS_ACTIVE.name).set(totals.connections as f64);
    ::metrics::gauge!(SUBSCRIPTIONS_ACTIVE.name).set(totals.subscriptions as f64);
}

pub fn auth_rejected() {
    count(&AUTH_REJECTED);
}

pub fn rate_limited() {
    count(&RATE_LIMITED);
}

pub fn reconciler_restarted() {
    count(&RECONCILER_RESTARTS);
}

pub fn reconciler_gave_up() {
    count(&RECONCILER_GIVE_UPS);
}

pub fn cold_start() {
    count(&COLD_STARTS);
}

pub fn error_answered(code: &'static str) {
    count_with(&ERRORS, &[code]);
}

pub fn request_processed(took: Duration) {
    ::metrics::histogram!(REQUEST_PROCESSING.name).record(took.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_prometheus_names_in_the_namespace() {
        let mut seen = HashSet::new();
        for m in ALL {
            assert!(seen.insert(m.name), "{} is defined twice", m.name);
            assert!(m.name.starts_with("zerotoship_"), "{}", m.name);
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{} is not a Prometheus name",
                m.name
            );
            // Prometheus's conventions: counters end in _total, durations in their unit.
            match (m.kind, m.unit) {
                (Kind::Counter, Unit::Count) => assert!(m.name.ends_with("_total"), "{}", m.name),
                (Kind::Histogram, Unit::Seconds) => {
                    assert!(m.name.ends_with("_seconds"), "{}", m.name)
                }
                (Kind::Gauge, Unit::Count) => assert!(!m.name.ends_with("_total"), "{}", m.name),
                other => panic!("{}: unexpected kind and unit {other:?}", m.name),
            }
            assert!(!m.help().is_empty(), "{} has no help", m.name);
            assert_eq!(find(m.name).map(|f| f.name), Some(m.name));
        }
    }

    #[test]
    fn labels_are_low_cardinality_only() {
        for m in ALL {
            // CloudWatch allows 30 dimensions per set; ours stay far below.
            assert!(m.labels.len() <= 2, "{}", m.name);
            for label in m.labels {
                assert!(
                    ALLOWED_LABELS.contains(label),
                    "{} is labelled by {label}, which is not a low-cardinality label",
                    m.name
                );
            }
        }
    }

    #[test]
    fn the_seeds_names_keep_their_labels() {
        assert_eq!(PROJECT_CREATIONS.name, "zerotoship_project_creations_total");
        assert_eq!(PROJECT_CREATIONS.labels, &["workflow_name"]);
        assert_eq!(
            WORKFLOW_EXECUTIONS.name,
            "zerotoship_workflow_executions_total"
        );
        assert_eq!(WORKFLOW_EXECUTIONS.labels, &["workflow_name", "status"]);
        assert_eq!(ERRORS.name, "zerotoship_errors_total");
        assert_eq!(ERRORS.labels, &["error_type"]);
        assert_eq!(
            REQUEST_PROCESSING.name,
            "zerotoship_request_processing_seconds"
        );
    }
}
