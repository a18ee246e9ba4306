//! The named workflows a project can run (ARCHITECTURE.md §4): what each is called, what
//! it does, which steps it may run and after which it may end. The definitions themselves
//! are ASL files (one per workflow, listed in [`Workflow::definition_file`]); this list is
//! the one place the rest of the code learns which exist, so adding a workflow is one file
//! plus one entry here (CONTRIBUTING.md). The transition function asks it which steps a
//! project's run may take, so a definition that strays from its entry is refused at its
//! first commit, not trusted.

use crate::error::{AppError, FieldError};
use crate::project::StepName;
use serde::{Deserialize, Serialize};

/// One workflow as the API lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workflow {
    /// Lowercase words joined by hyphens: the create body's `workflow`, the metrics'
    /// `workflow_name`, part of the state machine's name on AWS.
    pub name: &'static str,
    /// Bumped whenever the definition changes what a run does; a project records the
    /// version it ran.
    pub version: u32,
    pub description: &'static str,
    /// The steps a run may take, in the order it takes them.
    pub steps: &'static [StepName],
    /// The steps after whose success a run may complete (the last of `steps`, and any a
    /// branch ends after).
    pub may_end_after: &'static [StepName],
    /// The definition's file, relative to the repository root.
    pub definition_file: &'static str,
    /// The definition's text (Amazon States Language, with `${…FunctionArn}`
    /// placeholders): what the local interpreter runs and `GET /api/v1/workflows/{name}`
    /// shows; on AWS the template deploys the same file.
    pub definition: &'static str,
}

/// The workflow a create that names none runs: the pipeline as the design lays it out.
pub const DEFAULT_WORKFLOW: &str = "idea-to-advice";

/// The most state transitions one execution may make locally before the watchdog ends it
/// (the original orchestrator's 50): every workflow here needs fewer than 15, so a run
/// that gets there is looping.
pub const MAX_TRANSITIONS_DEFAULT: u64 = 50;

/// Every workflow, the default first.
pub const WORKFLOWS: &[Workflow] = &[
    Workflow {
        name: DEFAULT_WORKFLOW,
        version: 1,
        description: "Score and critique the idea, then turn the critique into recommendations, \
                      experiments and a next milestone.",
        steps: &[StepName::Validator, StepName::Advisory],
        may_end_after: &[StepName::Advisory],
        definition_file: "statemachine.asl.json",
        definition: include_str!("../../../statemachine.asl.json"),
    },
    Workflow {
        name: "quick-check",
        version: 1,
        description: "The verdict only: score and critique the idea, with no advice. For a \
                      founder who wants to know in one step whether an idea holds up.",
        steps: &[StepName::Validator],
        may_end_after: &[StepName::Validator],
        definition_file: "workflows/quick-check.asl.json",
        definition: include_str!("../../../workflows/quick-check.asl.json"),
    },
    Workflow {
        name: "triage",
        version: 1,
        description: "Score and critique the idea; advise only an idea worth working on. An \
                      idea the validator calls `stop` ends with its verdict, so someone \
                      screening many ideas reads advice only for those that can go on.",
        steps: &[StepName::Validator, StepName::Advisory],
        may_end_after: &[StepName::Validator, StepName::Advisory],
        definition_file: "workflows/triage.asl.json",
        definition: include_str!("../../../workflows/triage.asl.json"),
    },
];

impl Workflow {
    /// The workflow called `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static Workflow> {
        WORKFLOWS.iter().find(|w| w.name == name)
    }

    /// The default workflow.
    #[allow(
        clippy::expect_used,
        reason = "WORKFLOWS holds the default: a unit test says so"
    )]
    pub fn default_workflow() -> &'static Workflow {
        Self::named(DEFAULT_WORKFLOW).expect("the default workflow is listed")
    }

    /// The workflow a create body asks for: `None` is the default; a name that is not
    /// listed (or not `offered` by this deployment) is a 422 naming the field and the
    /// names there are.
    pub fn chosen(
        requested: Option<&str>,
        offered: &[&'static Workflow],
    ) -> Result<&'static Workflow, AppError> {
        let name = requested.unwrap_or(DEFAULT_WORKFLOW);
        offered
            .iter()
            .copied()
            .find(|w| w.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = offered.iter().map(|w| w.name).collect();
                AppError::validation(vec![FieldError::new(
                    "workflow",
                    "unknown_workflow",
                    format!(
                        "there is no workflow {name:?}; choose one of {} (GET /api/v1/workflows \
                     describes them)",
                        names.join(", ")
                    ),
                )])
            })
    }

    pub fn reference(&self) -> WorkflowRef {
        WorkflowRef {
            name: self.name.to_string(),
            version: self.version,
        }
    }

    pub fn runs(&self, step: StepName) -> bool {
        self.steps.contains(&step)
    }

    /// The step a run of this workflow takes before `step` (`None` for its first).
    pub fn previous(&self, step: StepName) -> Option<StepName> {
        let at = self.steps.iter().position(|s| *s == step)?;
        at.checked_sub(1).map(|i| self.steps[i])
    }
}

/// Which workflow, at which version, a project runs: kept on META, shown by every view
/// of the project and by its CREATED events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WorkflowRef {
    pub name: String,
    pub version: u32,
}

impl Default for WorkflowRef {
    /// What META written before workflows were named ran.
    fn default() -> Self {
        WorkflowRef {
            name: DEFAULT_WORKFLOW.to_string(),
            version: 1,
        }
    }
}

impl WorkflowRef {
    /// Its entry in [`WORKFLOWS`] (`None` once a workflow is removed from the list).
    pub fn workflow(&self) -> Option<&'static Workflow> {
        Workflow::named(&self.name)
    }

    /// The metrics' `workflow_name`: a listed name, so a label's values stay the few the
    /// list holds whatever a store says (`unknown` for a workflow no longer listed).
    pub fn label(&self) -> &'static str {
        self.workflow().map_or("unknown", |w| w.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn the_default_is_listed_first_and_names_are_unique_slugs() {
        assert_eq!(WORKFLOWS[0].name, DEFAULT_WORKFLOW);
        assert_eq!(Workflow::default_workflow().name, DEFAULT_WORKFLOW);
        for (i, w) in WORKFLOWS.iter().enumerate() {
            assert!(
                w.name
                    .split('-')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase())),
                "{} is not lowercase words joined by hyphens",
                w.name
            );
            // The state machine is named zts-<stage>-<workflow> (80 characters at most).
            assert!(w.name.len() <= 40, "{}", w.name);
            assert!(WORKFLOWS[..i].iter().all(|o| o.name != w.name));
            assert!(!w.steps.is_empty(), "{}", w.name);
            assert!(w.may_end_after.iter().all(|s| w.runs(*s)), "{}", w.name);
            assert!(
                w.may_end_after.contains(w.steps.last().unwrap()),
                "{}",
                w.name
            );
            assert!(w.version >= 1);
        }
    }

    #[test]
    fn a_step_follows_the_one_before_it_in_its_workflow() {
        let quick = Workflow::named("quick-check").unwrap();
        assert_eq!(quick.previous(StepName::Validator), None);
        assert_eq!(quick.previous(StepName::Advisory), None);
        assert!(!quick.runs(StepName::Advisory));
        let full = Workflow::default_workflow();
        assert_eq!(full.previous(StepName::Advisory), Some(StepName::Validator));
    }

    #[test]
    fn an_unknown_name_is_a_422_on_the_workflow_field_listing_the_names() {
        let all: Vec<&'static Workflow> = WORKFLOWS.iter().collect();
        assert_eq!(Workflow::chosen(None, &all).unwrap().name, DEFAULT_WORKFLOW);
        assert_eq!(
            Workflow::chosen(Some("triage"), &all).unwrap().name,
            "triage"
        );
        let err = Workflow::chosen(Some("deep-dive"), &all).unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationFailed);
        let field = &err.details[0];
        assert_eq!(field.field, "workflow");
        assert_eq!(field.code, "unknown_workflow");
        for w in WORKFLOWS {
            assert!(field.message.contains(w.name), "{}", field.message);
        }
        // A deployment that offers only some refuses the others.
        let only_default = [Workflow::default_workflow()];
        assert!(Workflow::chosen(Some("triage"), &only_default).is_err());
    }

    #[test]
    fn meta_without_a_workflow_ran_the_default() {
        assert_eq!(
            WorkflowRef::default(),
            Workflow::default_workflow().reference()
        );
    }
}
