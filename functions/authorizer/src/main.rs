//! The `$connect` authorizer on Lambda: the ApiKeys table client is built once during init.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = zts_aws::lambda::init().await;
    let store = zts_aws::lambda::dynamo_store(&config)?;
    let store = &store;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| async move {
            authorizer::authorize(store, event.payload).await
        },
    ))
    .await
}
