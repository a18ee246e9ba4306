//! The local stack's task resolver: the state machine's `${…FunctionArn}` resources map to
//! the step functions' handlers, called in process with the same request and the same
//! error names a Lambda invocation would carry.

use asl::{TaskError, TaskHandler};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use zts_analysis::AnalysisEngine;
use zts_domain::step::{StepFailure, StepRequest};
use zts_embedded::EmbeddedStore;

pub const VALIDATOR: &str = "local:function:validator";
pub const ADVISORY: &str = "local:function:advisory";
pub const FINALIZE: &str = "local:function:finalize";

/// The `DefinitionSubstitutions` of the local stack.
pub fn substitutions() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ValidatorFunctionArn".to_string(), VALIDATOR.to_string()),
        ("AdvisoryFunctionArn".to_string(), ADVISORY.to_string()),
        ("FinalizeFunctionArn".to_string(), FINALIZE.to_string()),
    ])
}

pub struct LocalTasks {
    pub store: Arc<EmbeddedStore>,
    pub engine: Arc<dyn AnalysisEngine>,
}

/// A Lambda function error as Step Functions reports it: the error type as `Error`, and
/// `{"errorType","errorMessage"}` as the `Cause`.
fn lambda_error(failure: StepFailure) -> TaskError {
    let cause =
        json!({"errorType": failure.error_type(), "errorMessage": failure.message}).to_string();
    TaskError::new(failure.error_type(), cause)
}

#[async_trait]
impl TaskHandler for LocalTasks {
    #[allow(
        clippy::expect_used,
        reason = "step responses are strings and numbers: they always serialise"
    )]
    async fn invoke(&self, resource: &str, input: Value) -> Result<Value, TaskError> {
        let request: StepRequest = serde_json::from_value(input).map_err(|e| {
            TaskError::new(
                zts_domain::step::INVALID,
                format!("the step input is not a StepRequest: {e}"),
            )
        })?;
        let store = &*self.store;
        let result = match resource {
            VALIDATOR => validator::handle(store, &*self.engine, request).await,
            ADVISORY => advisory::handle(store, &*self.engine, request).await,
            FINALIZE => finalize::handle(store, request).await,
            other => {
                return Err(TaskError::new(
                    "Lambda.ResourceNotFoundException",
                    format!("no local function for {other}"),
                ));
            }
        };
        result
            .map(|response| serde_json::to_value(response).expect("responses serialise"))
            .map_err(lambda_error)
    }
}
