//! The WebSocket function on Lambda: configuration, the stores and the pusher are built
//! once during init; each invocation is one API Gateway WebSocket event.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = zts_aws::lambda::init().await;
    let store = zts_aws::lambda::dynamo_store(&config)?;
    let (pusher, endpoint) = zts_aws::lambda::pusher(&config)?;
    let (store, pusher, endpoint) = (&store, &pusher, endpoint.as_str());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            ws::apigw::handle(store, store, pusher, endpoint, event.payload).await
        },
    ))
    .await
}
