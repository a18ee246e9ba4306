//! The advisory step on Lambda: the store is built once during init; each invocation is
//! one Step Functions task. A failure leaves with its stable error type name
//! (`ZeroToShip.Transient`, …) for the state machine's Retry and Catch.

use lambda_runtime::{LambdaEvent, service_fn};
use zts_analysis::rules::RuleEngine;
use zts_domain::step::StepRequest;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let sdk = zts_aws::lambda::init("advisory").await;
    let config = advisory::config::Config::from_env(&zts_aws::deploy::Env::process())?;
    let store = zts_aws::lambda::dynamo_store(&sdk, config.tables);
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StepRequest>| {
        zts_aws::lambda::invocation(async move {
            advisory::handle(store, &RuleEngine, event.payload)
                .await
                .map_err(zts_aws::lambda::diagnostic)
        })
    }))
    .await
}
