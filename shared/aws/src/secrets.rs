//! Secrets read once, at init, from Secrets Manager (GetSecretValue). A secret resolved into
//! a function's environment by CloudFormation can be read in plain text by anyone allowed
//! GetFunctionConfiguration, and only changes on a redeploy; read here, it stays in memory
//! and a rotated value reaches every new execution environment.

use crate::deploy::Secret;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the secret {id} does not exist (template.yaml creates it with the stack)")]
    NotFound { id: String },
    #[error("the secret {id} has no string value")]
    NotAString { id: String },
    #[error("the secret {id} is too short: it needs at least {min} bytes")]
    TooShort { id: String, min: usize },
    #[error("the secret {id} could not be read: {reason}")]
    Unreadable { id: String, reason: String },
}

/// The current string value of the secret `id` (a name or an ARN), at least `min_len`
/// bytes long. Its value never appears in an error.
pub async fn read_secret(client: &Client, id: &str, min_len: usize) -> Result<Secret, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(GetSecretValueError::ResourceNotFoundException(_)) => {
                SecretError::NotFound { id: id.to_string() }
            }
            Some(service) => SecretError::Unreadable {
                id: id.to_string(),
                reason: format!(
                    "{}: {}",
                    service.code().unwrap_or("Unknown"),
                    service.message().unwrap_or_default()
                ),
            },
            None => SecretError::Unreadable {
                id: id.to_string(),
                reason: e.to_string(),
            },
        })?;
    let value = out
        .secret_string
        .ok_or_else(|| SecretError::NotAString { id: id.to_string() })?;
    if value.len() < min_len {
        return Err(SecretError::TooShort {
            id: id.to_string(),
            min: min_len,
        });
    }
    Ok(Secret::new(value))
}
