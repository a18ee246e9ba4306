//! Project events: the live feed clients watch (ARCHITECTURE.md §4).
//!
//! Every event is one small JSON object (always under 4 KB: events never carry artifacts)
//! with `event`, `project_id`, `seq` (gapless per project), `ts` and `correlation_id`.

use crate::clock::Timestamp;
use crate::ids::ProjectId;
use crate::project::{ErrorInfo, State, StepName};
use crate::workflows::WorkflowRef;
use serde::{Deserialize, Serialize};

/// The largest an event may serialise to.
pub const EVENT_MAX_BYTES: usize = 4 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(flatten)]
    pub body: EventBody,
    pub project_id: ProjectId,
    pub seq: u64,
    pub ts: Timestamp,
    pub correlation_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventBody {
    StatusUpdate {
        state: State,
        progress: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current_step: Option<StepName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorInfo>,
        /// On CREATED only (the create's event and a retry's): the workflow the run is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workflow: Option<WorkflowRef>,
    },
    StepComplete {
        agent: StepName,
        attempt: u32,
        duration_s: f64,
        artifact_type: String,
        progress: u8,
    },
    StepFailed {
        agent: StepName,
        attempt: u32,
        error: ErrorInfo,
        retryable: bool,
        progress: u8,
    },
    /// The project was deleted by its owner: its last event; the subscription ends.
    ProjectDeleted {},
}

impl EventBody {
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::StatusUpdate { .. } => "status_update",
            EventBody::StepComplete { .. } => "step_complete",
            EventBody::StepFailed { .. } => "step_failed",
            EventBody::ProjectDeleted {} => "project_deleted",
        }
    }
}

impl Event {
    #[allow(
        clippy::expect_used,
        reason = "events are strings, numbers and maps: they always serialise"
    )]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("events always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_flat_with_the_kind_in_event() {
        let event = Event {
            body: EventBody::StepComplete {
                agent: StepName::Validator,
                attempt: 1,
                duration_s: 0.25,
                artifact_type: "validation_report".into(),
                progress: 50,
            },
            project_id: ProjectId::parse("0190c2a4-7b1e-7cc3-9a43-3c9e5d2b8f01").unwrap(),
            seq: 3,
            ts: "2026-11-22T00:00:00.123Z".parse().unwrap(),
            correlation_id: "c-1".into(),
        };
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).unwrap();
        assert_eq!(json["event"], "step_complete");
        assert_eq!(json["agent"], "validator");
        assert_eq!(json["seq"], 3);
        assert_eq!(json["progress"], 50);
        assert_eq!(json["ts"], "2026-11-22T00:00:00.123Z");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
