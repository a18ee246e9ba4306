//! `GET /_zts/stats`: the local stack's own counters (store operations, workflow
//! executions) as JSON, so `zts load` can print a project's cost in store operations from
//! a real run. An operator endpoint, like the Management API outside authentication
//! (ARCHITECTURE.md §9): it reveals counts, never data.

use crate::workflow::LocalWorkflow;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use zts_embedded::{EmbeddedStore, StoreStats};

/// Where the counters are served.
pub const PATH: &str = "/_zts/stats";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStats {
    pub executions_started: u64,
    pub executions_succeeded: u64,
    pub executions_failed: u64,
    pub retries: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub store: StoreStats,
    pub workflow: WorkflowStats,
}

#[derive(Clone)]
pub struct StatsState {
    pub store: Arc<EmbeddedStore>,
    pub workflow: LocalWorkflow,
}

pub async fn get(State(state): State<StatsState>) -> Json<Stats> {
    let c = state.workflow.counters();
    let get = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
    Json(Stats {
        store: state.store.stats(),
        workflow: WorkflowStats {
            executions_started: get(&c.executions_started),
            executions_succeeded: get(&c.executions_succeeded),
            executions_failed: get(&c.executions_failed),
            retries: get(&c.retries),
        },
    })
}
