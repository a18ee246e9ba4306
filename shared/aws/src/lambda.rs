//! What every Lambda entry point shares (feature `lambda`): step failures leave the
//! function with their stable error type names (the ASL Retry/Catch match on them), and
//! the DynamoDB-backed stores are built once, during init, from the environment.

use crate::deploy::{ConfigError, Env, sdk_config, vars};
use crate::{ApiGatewayPusher, DynamoStore, PushRetry};
use lambda_runtime::Diagnostic;
use zts_domain::step::StepFailure;

/// A step failure as Lambda reports it: `errorType` is the stable name the ASL's Retry
/// and Catch match, `errorMessage` the reason.
pub fn diagnostic(failure: StepFailure) -> Diagnostic {
    Diagnostic {
        error_type: failure.error_type().to_string(),
        error_message: failure.message,
    }
}

/// The store on the deployment's tables, for functions that never list projects (they
/// need no cursor secret).
pub fn dynamo_store(config: &aws_config::SdkConfig) -> Result<DynamoStore, ConfigError> {
    Ok(DynamoStore::without_listing(
        aws_sdk_dynamodb::Client::new(config),
        Env::process().tables()?,
    ))
}

/// The store for the api, which signs list cursors with the deployment's shared secret.
pub fn listing_dynamo_store(config: &aws_config::SdkConfig) -> Result<DynamoStore, ConfigError> {
    let env = Env::process();
    let client = aws_sdk_dynamodb::Client::new(config);
    let secret = env.required(vars::CURSOR_SECRET)?;
    if secret.len() < 16 {
        return Err(ConfigError::Invalid {
            name: vars::CURSOR_SECRET,
            reason: "a cursor secret needs at least 16 bytes".into(),
        });
    }
    Ok(DynamoStore::new(client, env.tables()?, secret.as_bytes()))
}

/// The pusher for the deployment's WebSocket API stage, and that endpoint.
pub fn pusher(config: &aws_config::SdkConfig) -> Result<(ApiGatewayPusher, String), ConfigError> {
    let endpoint = Env::process().required(vars::WS_MANAGEMENT_ENDPOINT)?;
    Ok((
        ApiGatewayPusher::new(config, &endpoint, PushRetry::default()),
        endpoint,
    ))
}

/// Logs as JSON lines and loads the SDK configuration: the first lines of every `main`.
pub async fn init() -> aws_config::SdkConfig {
    zts_telemetry::init_json("info");
    sdk_config().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use zts_domain::step::FailureKind;

    #[test]
    fn step_failures_leave_with_their_stable_names() {
        for (kind, name) in [
            (FailureKind::Transient, "ZeroToShip.Transient"),
            (FailureKind::Invalid, "ZeroToShip.Invalid"),
            (FailureKind::Conflict, "ZeroToShip.Conflict"),
            (FailureKind::Internal, "ZeroToShip.Internal"),
        ] {
            let d = diagnostic(StepFailure::new(kind, "why"));
            assert_eq!(d.error_type, name);
            assert_eq!(d.error_message, "why");
        }
    }
}
