//! What a run under `zts emulate` did, in AWS's billing units (issue #35; README "What a
//! project costs"): the counts `zts cost` prices. Each figure is counted where it happens:
//! invocations and billed milliseconds at the Lambda Runtime API, read and write units at
//! each function's DynamoDB gate, transitions and Express steps in the Step Functions
//! emulation, requests and messages at the emulated gateways, log bytes in the captured
//! log groups.

use super::stack::Emulation;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use zts_cost::report::{Counts, FunctionCounts};

/// The template as counting reads it, parsed once per count.
fn template() -> serde_norway::Value {
    serde_norway::from_str(super::template::TEMPLATE).unwrap_or(serde_norway::Value::Null)
}

/// The template's function architecture (Globals), `arm64` unless it says otherwise.
fn architecture(doc: &serde_norway::Value) -> String {
    doc["Globals"]["Function"]["Architectures"][0]
        .as_str()
        .unwrap_or("arm64")
        .to_string()
}

/// The logical ids of the functions a state machine invokes (`!GetAtt X.Arn` in its
/// `DefinitionSubstitutions`): their invocations join the execution's trace.
fn workflow_functions(doc: &serde_norway::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for resource in doc["Resources"]
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.values())
    {
        if resource["Type"].as_str() != Some("AWS::Serverless::StateMachine") {
            continue;
        }
        for value in resource["Properties"]["DefinitionSubstitutions"]
            .as_mapping()
            .into_iter()
            .flat_map(|m| m.values())
        {
            let target = match value {
                serde_norway::Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_string(),
                other => other.as_str().unwrap_or_default().to_string(),
            };
            out.insert(target.trim_end_matches(".Arn").to_string());
        }
    }
    out
}

/// The sum of `zerotoship_project_creations_total` in the api's EMF documents: the
/// projects this run created.
pub fn projects_created(emulation: &Emulation) -> u64 {
    emulation
        .functions
        .get("ApiFunction")
        .map(|api| {
            api.logs
                .emf_documents()
                .iter()
                .filter_map(|d| d["zerotoship_project_creations_total"].as_f64())
                .sum::<f64>() as u64
        })
        .unwrap_or(0)
}

impl Emulation {
    /// Everything this emulation did so far, for `projects` projects.
    pub fn counts(&self, projects: u64) -> Counts {
        let doc = template();
        let architecture = architecture(&doc);
        let in_workflows = workflow_functions(&doc);
        let mut counts = Counts {
            projects,
            dynamodb: self.dynamodb.units(),
            dynamodb_writes_by_item: self.dynamodb.writes_by_item(),
            http_request_units: self.http.requests(),
            ..Counts::default()
        };
        let mut trace_roots = 0;
        let traced_workflows = self.state_machines.iter().any(|m| m.traced());
        for (logical, pool) in &self.functions {
            let invocations = pool.stats.invocations.load(Ordering::Relaxed);
            counts.lambda.insert(
                pool.spec.name.clone(),
                FunctionCounts {
                    invocations,
                    billed_ms: pool.stats.billed_ms.load(Ordering::Relaxed),
                    memory_mb: pool.spec.memory_mb,
                    architecture: architecture.clone(),
                },
            );
            counts.log_bytes += pool.logs.bytes();
            // An invocation starts a trace of its own only under active tracing; a
            // workflow's task joins its execution's trace when the workflow is traced.
            let joins_execution = in_workflows.contains(logical) && traced_workflows;
            if pool.spec.active_tracing && !joins_execution {
                trace_roots += invocations;
            }
        }
        // The api reads the cursor secret once per process, at init.
        counts.secrets_manager_calls = self
            .functions
            .get("ApiFunction")
            .map_or(0, |api| api.stats.inits.load(Ordering::Relaxed));
        for machine in &self.state_machines {
            let c = &machine.counts;
            counts.state_transitions += c.transitions.load(Ordering::Relaxed);
            counts.executions += c.started.load(Ordering::Relaxed);
            counts.express_gb_seconds +=
                zts_cost::units::gb_seconds(c.express_billed_ms.load(Ordering::Relaxed), 64);
        }
        // A traced workflow's every execution is one trace (the upper bound: Lambda's own
        // sampling keeps 1 a second and 5% beyond); with the template's default
        // (`Tracing: PassThrough`) nothing is recorded.
        let traced_executions: u64 = self
            .state_machines
            .iter()
            .filter(|m| m.traced())
            .map(|m| m.counts.started.load(Ordering::Relaxed))
            .sum();
        counts.xray_traces = trace_roots + traced_executions;
        if let Some(ws) = &self.websocket {
            counts.websocket_message_units = ws.counts.message_units.load(Ordering::Relaxed);
            counts.websocket_connection_minutes =
                ws.counts.connected_ms.load(Ordering::Relaxed) as f64 / 60_000.0;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_functions_are_the_step_functions() {
        let doc = template();
        let names = workflow_functions(&doc);
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["AdvisoryFunction", "FinalizeFunction", "ValidatorFunction"]
        );
        assert_eq!(architecture(&doc), "arm64");
    }
}
