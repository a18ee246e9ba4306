//! What every Lambda entry point shares (feature `lambda`): step failures leave the
//! function with their stable error type names (the ASL Retry/Catch match on them), and
//! the stores and the pusher are built once, during init, from each function's typed
//! `Config` (its `src/config.rs`).

use crate::deploy::{Secret, sdk_config};
use crate::{ApiGatewayPusher, DynamoKeyStore, DynamoStore, PushRetry, Tables};
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
pub fn dynamo_store(config: &aws_config::SdkConfig, tables: Tables) -> DynamoStore {
    DynamoStore::without_listing(aws_sdk_dynamodb::Client::new(config), tables)
}

/// The store for the api, which signs list cursors with the deployment's shared secret.
pub fn listing_dynamo_store(
    config: &aws_config::SdkConfig,
    tables: Tables,
    cursor_secret: &Secret,
) -> DynamoStore {
    DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        tables,
        cursor_secret.expose().as_bytes(),
    )
}

/// A secret's value from Secrets Manager (read once, at init).
pub async fn secret(
    config: &aws_config::SdkConfig,
    id: &str,
    min_len: usize,
) -> Result<Secret, crate::secrets::SecretError> {
    crate::secrets::read_secret(&aws_sdk_secretsmanager::Client::new(config), id, min_len).await
}

/// The ApiKeys table alone (the `$connect` authorizer).
pub fn key_store(config: &aws_config::SdkConfig, api_keys_table: &str) -> DynamoKeyStore {
    DynamoKeyStore::new(aws_sdk_dynamodb::Client::new(config), api_keys_table)
}

/// The Step Functions starter for the deployment's state machine.
pub fn workflow_starter(
    config: &aws_config::SdkConfig,
    state_machine_arn: &str,
) -> crate::StepFunctionsStarter {
    crate::StepFunctionsStarter::new(aws_sdk_sfn::Client::new(config), state_machine_arn)
}

/// The pusher for the deployment's WebSocket API stage (its management endpoint).
pub fn pusher(config: &aws_config::SdkConfig, management_endpoint: &str) -> ApiGatewayPusher {
    ApiGatewayPusher::new(config, management_endpoint, PushRetry::default())
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
