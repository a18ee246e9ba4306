//! The reconciler on Lambda: the store and the Step Functions client are built once during
//! init; each scheduled EventBridge invocation is one reconciler pass, answered with its
//! report.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let sdk = zts_aws::lambda::init("reconciler").await;
    let config = reconciler::config::Config::from_env(&zts_aws::deploy::Env::process())?;
    let store = zts_aws::lambda::dynamo_store(&sdk, config.tables);
    let workflow = zts_aws::lambda::workflow_starter(&sdk, &config.state_machines);
    let (store, workflow, policy) = (&store, &workflow, config.policy);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<EventBridgeEvent>| {
        zts_aws::lambda::invocation(async move {
            reconciler::handle(store, store, workflow, policy)
                .await
                .map_err(zts_aws::lambda::diagnostic)
        })
    }))
    .await
}
