//! The HTTP API on Lambda (API Gateway HTTP API, payload 2.0): the configuration, the
//! stores, the Step Functions client and the router are built once during init;
//! `lambda_http` turns each event into a request for the same router the local stack serves.

use api::config::Config;
use std::sync::Arc;
use zts_aws::StepFunctionsStarter;
use zts_aws::deploy::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let sdk = zts_aws::lambda::init().await;
    let config = Config::from_env(&Env::process())?;
    // The numbering plans load once, here, not on the first create (README: PII redaction).
    config.pii.warm_up();
    let store = Arc::new(zts_aws::lambda::listing_dynamo_store(
        &sdk,
        config.tables.clone(),
        &config.cursor_secret,
    ));
    let workflow = StepFunctionsStarter::new(
        aws_sdk_sfn::Client::new(&sdk),
        config.state_machine_arn.clone(),
    );
    let api = api::Api {
        projects: store.clone(),
        workflow: Arc::new(workflow),
        keys: store.clone(),
        websocket: api::WebSocketUrls {
            connect: config.websocket_url.clone(),
            per_project_paths: false,
        },
        pii: config.pii.clone(),
    };
    lambda_http::run(api::deploy::app(api, store, &config)).await
}
