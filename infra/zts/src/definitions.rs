//! The workflows the local stack runs: every listed workflow's definition
//! (`zts_domain::workflows::WORKFLOWS`) loaded with the local functions, and checked before
//! anything is served. A definition that would misbehave is refused at start, naming its
//! file and the state: an unknown or unreachable state, a loop with no exit (the `asl`
//! loader), a Task whose function the stack does not have, or steps other than the ones
//! the list says the workflow runs.

use crate::tasks;
use asl::{Kind, Machine};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use zts_domain::project::StepName;
use zts_domain::workflows::{WORKFLOWS, Workflow};

/// Why a definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    /// The definition's file, as the workflow list names it.
    pub file: String,
    pub state: Option<String>,
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(state) => write!(f, "{}: state {state:?}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Where the definitions are read from.
#[derive(Debug, Clone, Default)]
pub enum Source {
    /// The copies built into this binary (the repository's files when it was built).
    #[default]
    BuiltIn,
    /// `<root>/<file>` for each workflow: a checkout's layout (`zts serve
    /// --definitions-root`), to run an edited definition without rebuilding.
    Root(PathBuf),
}

impl Source {
    fn text(&self, workflow: &Workflow) -> Result<String, DefinitionError> {
        match self {
            Source::BuiltIn => Ok(workflow.definition.to_string()),
            Source::Root(root) => {
                let path = root.join(workflow.definition_file);
                std::fs::read_to_string(&path).map_err(|e| DefinitionError {
                    file: path.display().to_string(),
                    state: None,
                    message: format!("cannot be read: {e}"),
                })
            }
        }
    }

    fn file(&self, workflow: &Workflow) -> String {
        match self {
            Source::BuiltIn => workflow.definition_file.to_string(),
            Source::Root(root) => root.join(workflow.definition_file).display().to_string(),
        }
    }
}

/// Every listed workflow's machine, by workflow name, each capped at `max_transitions`.
pub fn load_all(
    source: &Source,
    max_transitions: u64,
) -> Result<BTreeMap<String, Machine>, DefinitionError> {
    WORKFLOWS
        .iter()
        .map(|w| {
            let machine = load_one(w, &source.text(w)?, &source.file(w))?;
            Ok((
                w.name.to_string(),
                machine.with_max_transitions(max_transitions),
            ))
        })
        .collect()
}

/// One workflow's definition, loaded and checked against its entry in the list.
pub fn load_one(workflow: &Workflow, text: &str, file: &str) -> Result<Machine, DefinitionError> {
    let fault = |state: Option<&str>, message: String| DefinitionError {
        file: file.to_string(),
        state: state.map(str::to_string),
        message,
    };
    let substitutions = tasks::substitutions();
    // Before substitution, so an unknown `${…}` is reported at the state that uses it.
    if let Ok(Value::Object(top)) = serde_json::from_str::<Value>(text)
        && let Some(Value::Object(states)) = top.get("States")
    {
        for (name, state) in states {
            if let Some(Value::String(resource)) = state.get("Resource")
                && let Some(placeholder) = resource
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix('}'))
                && !substitutions.contains_key(placeholder)
            {
                let known: Vec<&str> = substitutions.keys().map(String::as_str).collect();
                return Err(fault(
                    Some(name),
                    format!(
                        "its Task invokes ${{{placeholder}}}, which is not a function of this \
                         stack (there are {})",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    let definition = asl::load(text, &substitutions).map_err(|e| DefinitionError {
        file: file.to_string(),
        state: e.state.clone(),
        message: match &e.field {
            Some(field) => format!("field {field:?}: {}", e.message),
            None => e.message.clone(),
        },
    })?;
    let mut invoked = BTreeSet::new();
    for state in definition.states.values() {
        let Kind::Task(task) = &state.kind else {
            continue;
        };
        match step_of(&task.resource) {
            Some(Some(step)) => {
                invoked.insert(step);
            }
            Some(None) => {}
            None => {
                return Err(fault(
                    Some(&state.name),
                    format!(
                        "its Task invokes {:?}, which is not a function of this stack",
                        task.resource
                    ),
                ));
            }
        }
    }
    let listed: BTreeSet<StepName> = workflow.steps.iter().copied().collect();
    if invoked != listed {
        let names = |set: &BTreeSet<StepName>| {
            set.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(fault(
            None,
            format!(
                "the workflow list says {} runs the steps [{}], but its definition invokes [{}]",
                workflow.name,
                names(&listed),
                names(&invoked)
            ),
        ));
    }
    Ok(Machine::new(definition, workflow.name))
}

/// The step a local function resource runs: `Some(None)` for finalize (every workflow's
/// last task), `None` for a resource the stack does not have.
fn step_of(resource: &str) -> Option<Option<StepName>> {
    match resource {
        tasks::VALIDATOR => Some(Some(StepName::Validator)),
        tasks::ADVISORY => Some(Some(StepName::Advisory)),
        tasks::FINALIZE => Some(None),
        _ => None,
    }
}

/// The root of the repository this binary was built from (for tests that read the files).
pub fn repository_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_workflow_loads_and_none_has_a_cycle() {
        let machines = load_all(&Source::BuiltIn, 50).unwrap();
        assert_eq!(machines.len(), WORKFLOWS.len());
        for (name, machine) in &machines {
            // Without a cycle every run ends within as many transitions as there are
            // states: the structure itself keeps every path finite on AWS.
            assert_eq!(asl::cycle(machine.definition()), None, "{name}");
            assert!(machine.definition().states.len() < 50, "{name}");
        }
    }

    #[test]
    fn the_built_in_copies_are_the_files_in_the_repository() {
        for w in WORKFLOWS {
            let on_disk = std::fs::read_to_string(repository_root().join(w.definition_file))
                .unwrap_or_else(|e| panic!("{}: {e}", w.definition_file));
            assert_eq!(on_disk, w.definition, "{}", w.definition_file);
        }
        let from_root = load_all(&Source::Root(repository_root().to_path_buf()), 50).unwrap();
        assert_eq!(from_root.len(), WORKFLOWS.len());
    }

    #[test]
    fn every_definition_file_is_listed() {
        let dir = repository_root().join("workflows");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            let file = format!("workflows/{name}");
            assert!(
                WORKFLOWS.iter().any(|w| w.definition_file == file),
                "{file} is not in zts_domain::workflows::WORKFLOWS: add its entry (CONTRIBUTING.md)"
            );
        }
    }
}
