//! The WebSocket function on Lambda: configuration, the stores and the pusher are built
//! once during init; each invocation is one API Gateway WebSocket event.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let sdk = zts_aws::lambda::init("ws").await;
    let config = ws::config::Config::from_env(&zts_aws::deploy::Env::process())?;
    let store = zts_aws::lambda::dynamo_store(&sdk, config.tables);
    let pusher = zts_aws::lambda::pusher(&sdk, &config.management_endpoint);
    let endpoint = config.management_endpoint;
    let (store, pusher, endpoint) = (&store, &pusher, endpoint.as_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            zts_aws::lambda::invocation(async move {
                ws::apigw::handle(store, store, pusher, endpoint, event.payload).await
            })
        },
    ))
    .await
}
