//! The finalize step on Lambda (Complete and RecordFailure): the store is built once
//! during init; each invocation records the run's outcome.

use lambda_runtime::{LambdaEvent, service_fn};
use zts_domain::step::StepRequest;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let sdk = zts_aws::lambda::init("finalize").await;
    let config = finalize::config::Config::from_env(&zts_aws::deploy::Env::process())?;
    let store = zts_aws::lambda::dynamo_store(&sdk, config.tables);
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<StepRequest>| {
        zts_aws::lambda::invocation(async move {
            finalize::handle(store, event.payload)
                .await
                .map_err(zts_aws::lambda::diagnostic)
        })
    }))
    .await
}
