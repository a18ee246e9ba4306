//! DynamoDB errors as [`StoreError`]s: throttling, server errors and timeouts are worth
//! retrying; the rest are failures. Handlers never see an SDK type.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;
use zts_domain::ports::StoreError;

/// A request builder's result as a store error: a missing required field is a bug in this
/// adapter, reported as a backend failure rather than a panic that would lose the request.
pub trait Built<T> {
    fn built(self) -> Result<T, StoreError>;
}

impl<T> Built<T> for Result<T, BuildError> {
    fn built(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Backend(format!("a DynamoDB request could not be built: {e}")))
    }
}

const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

/// A conditional write's outcome: `Ok(true)` written, `Ok(false)` its condition did not
/// hold (nothing written: re-read, or report it), anything else a store error.
pub fn conditional<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    sent: Result<T, SdkError<E, HttpResponse>>,
) -> Result<bool, StoreError> {
    match sent {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(|s| s.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(sdk(e)),
    }
}

pub fn sdk<E: ProvideErrorMetadata + std::fmt::Debug>(e: SdkError<E, HttpResponse>) -> StoreError {
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            StoreError::Unavailable(format!("{e:?}"))
        }
        SdkError::ServiceError(service) => {
            let err = service.err();
            let status = service.raw().status().as_u16();
            let code = err.code().unwrap_or("Unknown");
            let message = format!(
                "{code} (HTTP {status}): {}",
                err.message().unwrap_or_default()
            );
            // A 5xx without a code is the service failing, not the request: retryable.
            if RETRYABLE_CODES.contains(&code) || status >= 500 {
                StoreError::Unavailable(message)
            } else {
                StoreError::Backend(message)
            }
        }
        _ => StoreError::Backend(format!("{e:?}")),
    }
}

/// What one action of a cancelled transaction failed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    None,
    ConditionFailed,
    Conflict,
    Other,
}

pub fn reasons(reasons: &[CancellationReason]) -> Vec<Reason> {
    reasons
        .iter()
        .map(|r| match r.code() {
            None | Some("None") => Reason::None,
            Some("ConditionalCheckFailed") => Reason::ConditionFailed,
            Some("TransactionConflict") => Reason::Conflict,
            Some(_) => Reason::Other,
        })
        .collect()
}
