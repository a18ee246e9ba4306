//! The finalize step on Lambda (Complete and RecordFailure): the store is built once
//! during init; each invocation records the run's outcome.

use lambda_runtime::{LambdaEvent, service_fn};
use shared::step::StepRequest;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = shared::lambda::init().await;
    let store = shared::lambda::dynamo_store(&config)?;
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<StepRequest>| async move {
            finalize::handle(store, event.payload).await
        },
    ))
    .await
}
