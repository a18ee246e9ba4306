//! The HTTP API on Lambda (API Gateway HTTP API, payload 2.0): the stores, the Step
//! Functions client and the router are built once during init; `lambda_http` turns each
//! event into a request for the same router the local stack serves.

use std::sync::Arc;
use zts_aws::StepFunctionsStarter;
use zts_aws::deploy::{Env, vars};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let config = zts_aws::lambda::init().await;
    let env = Env::process();
    let store = Arc::new(zts_aws::lambda::listing_dynamo_store(&config)?);
    let workflow = StepFunctionsStarter::new(
        aws_sdk_sfn::Client::new(&config),
        env.required(vars::STATE_MACHINE_ARN)?,
    );
    let api = api::Api {
        projects: store.clone(),
        workflow: Arc::new(workflow),
        keys: store.clone(),
        websocket: api::WebSocketUrls {
            connect: env.required(vars::WS_URL)?,
            per_project_paths: false,
        },
    };
    lambda_http::run(api::deploy::app(api, store, &env)?).await
}
