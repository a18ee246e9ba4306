//! The `$connect` authorizer on Lambda: the ApiKeys table client is built once during init.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let sdk = zts_aws::lambda::init("authorizer").await;
    let config = authorizer::config::Config::from_env(&zts_aws::deploy::Env::process())?;
    let store = zts_aws::lambda::key_store(&sdk, &config.api_keys_table);
    let (store, per_owner) = (&store, config.ws_per_owner);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| {
            zts_aws::lambda::invocation(async move {
                authorizer::authorize(store, event.payload, per_owner).await
            })
        },
    ))
    .await
}
