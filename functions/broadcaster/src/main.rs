//! The broadcaster on Lambda: the Connections table and the pusher are built once during
//! init; each invocation is one batch of Projects-table stream records.

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let sdk = zts_aws::lambda::init("broadcaster").await;
    let config = broadcaster::config::Config::from_env(&zts_aws::deploy::Env::process())?;
    let store = zts_aws::lambda::dynamo_store(&sdk, config.tables);
    let pusher = zts_aws::lambda::pusher(&sdk, &config.management_endpoint);
    let (store, pusher) = (&store, &pusher);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| {
        zts_aws::lambda::invocation(async move {
            let (response, summary) = broadcaster::stream::handle_batch(
                store,
                store,
                pusher,
                event.payload,
                broadcaster::Ordering::API_GATEWAY,
            )
            .await;
            tracing::info!(
                ?summary,
                failures = response.batch_item_failures.len(),
                "batch done"
            );
            Ok::<_, lambda_runtime::Error>(response)
        })
    }))
    .await
}
