//! The HTTP API on Lambda (API Gateway HTTP API, payload 2.0): the configuration, the
//! cursor secret (from Secrets Manager), the stores, the Step Functions client and the router are built once during init;
//! `lambda_http` turns each event into a request for the same router the local stack serves.

use api::config::Config;
use std::sync::Arc;
use zts_aws::deploy::Env;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let sdk = zts_aws::lambda::init("api").await;
    let config = Config::from_env(&Env::process())?;
    // Loading the phone numbering plans costs about 0.15 s of CPU (README: PII redaction).
    // A thread does it while the first requests are served, so init stays short and only a
    // create that arrives before it is done waits for the rest.
    let pii = config.pii.clone();
    std::thread::spawn(move || pii.warm_up());
    let cursor_secret = zts_aws::lambda::secret(
        &sdk,
        &config.cursor_secret_arn,
        api::config::CURSOR_SECRET_MIN_BYTES,
    )
    .await?;
    let store = Arc::new(zts_aws::lambda::listing_dynamo_store(
        &sdk,
        config.tables.clone(),
        &cursor_secret,
    ));
    let mut workflow = zts_aws::lambda::workflow_starter(&sdk, &config.state_machines);
    if config.workflow_express {
        workflow = workflow.express();
    }
    let api = api::Api {
        projects: store.clone(),
        workflow: Arc::new(workflow),
        keys: store.clone(),
        websocket: api::WebSocketUrls {
            connect: config.websocket_url.clone(),
            per_project_paths: false,
        },
        pii: config.pii.clone(),
        push: Arc::new(zts_aws::lambda::pusher(&sdk, &config.management_endpoint)),
        counts: Default::default(),
    };
    let app = api::deploy::app(api, store, &config);
    lambda_http::run(lambda_http::service_fn(
        move |request: lambda_http::Request| {
            let app = app.clone();
            zts_aws::lambda::invocation(tower::ServiceExt::oneshot(app, request))
        },
    ))
    .await
}
