//! The one error type the outside world sees, and its one mapping to HTTP.
//!
//! Every failure a client can get is an [`AppError`]: a machine-readable [`ErrorCode`], a
//! message a person can act on, and per-field details. The HTTP status is derived from the
//! code in one place, the api's `envelope::status_of`: the domain names what went wrong
//! and speaks no protocol.

use crate::store_error::StoreError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON at all.
    MalformedJson,
    /// A query parameter or path segment is not of the expected form.
    InvalidParameter,
    /// A list cursor was not issued by this server for this caller.
    InvalidCursor,
    /// No key, or a key that is unknown, revoked or expired.
    Unauthorized,
    /// The resource does not exist, or is not the caller's.
    NotFound,
    MethodNotAllowed,
    /// The same Idempotency-Key was used before with another body.
    IdempotencyConflict,
    /// The project is not in a state that allows this change.
    StateConflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// The JSON is well-formed but a field is missing, unknown, of the wrong type or out of bounds.
    ValidationFailed,
    RateLimited,
    /// A request body that did not arrive within the server's body read timeout (408).
    RequestTimeout,
    /// Our fault; the message never carries internals.
    Internal,
    /// A dependency (store, workflow engine) is unreachable; try again.
    Unavailable,
}

impl ErrorCode {
    /// Every code, for exhaustive checks of the spelling and the status mapping.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::MalformedJson,
        ErrorCode::InvalidParameter,
        ErrorCode::InvalidCursor,
        ErrorCode::Unauthorized,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::IdempotencyConflict,
        ErrorCode::StateConflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::ValidationFailed,
        ErrorCode::RateLimited,
        ErrorCode::RequestTimeout,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::InvalidParameter => "invalid_parameter",
            ErrorCode::InvalidCursor => "invalid_cursor",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::StateConflict => "state_conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

/// What is wrong with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// A JSON-pointer-like path: `name`, `target_avatars[2]`.
    pub field: String,
    /// A machine-readable reason: `required`, `too_long`, `wrong_type`, `unknown_field`, …
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Seconds, for 429 and 503 answers.
    pub retry_after: Option<u64>,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid; see details", details.len()),
        };
        AppError::new(ErrorCode::ValidationFailed, message).with_details(details)
    }

    pub fn not_found(what: &str) -> Self {
        AppError::new(ErrorCode::NotFound, format!("{what} was not found"))
    }

    pub fn internal() -> Self {
        AppError::new(
            ErrorCode::Internal,
            "something went wrong on our side; it has been logged, please retry later",
        )
    }

    /// The wire body of ARCHITECTURE.md §8.
    pub fn body(&self, request_id: &str) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                details: self.details.clone(),
            },
            request_id: request_id.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<FieldError>,
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AppError::not_found("the project"),
            StoreError::IdempotencyConflict => AppError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was already used with a different request body; \
                 use a new key for a new project",
            ),
            StoreError::AlreadyExists => AppError::new(
                ErrorCode::StateConflict,
                "a project with this id already exists",
            ),
            StoreError::Transition(t) => AppError::new(ErrorCode::StateConflict, t.to_string()),
            StoreError::InvalidCursor => AppError::new(
                ErrorCode::InvalidCursor,
                "the cursor is not one this server issued for you; start again without it",
            ),
            StoreError::Unavailable(_) => AppError::new(
                ErrorCode::Unavailable,
                "the store is temporarily unavailable; retry shortly",
            )
            .with_retry_after(1),
            StoreError::Backend(_) | StoreError::Corrupt(_) => AppError::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_spelling() {
        for code in ErrorCode::ALL {
            // The serde name and as_str agree, so logs and bodies use one spelling.
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
        }
    }

    #[test]
    fn body_has_the_documented_shape() {
        let err = AppError::validation(vec![FieldError::new(
            "name",
            "required",
            "name is required",
        )]);
        let body = serde_json::to_value(err.body("req-1")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "error": {
                    "code": "validation_failed",
                    "message": "name: name is required",
                    "details": [{"field": "name", "code": "required", "message": "name is required"}]
                },
                "request_id": "req-1"
            })
        );
        assert_eq!(err.code, ErrorCode::ValidationFailed);
    }

    #[test]
    fn store_failures_never_leak_internals() {
        let err = AppError::from(StoreError::Backend("disk I/O error at /var/secret".into()));
        assert_eq!(err.code, ErrorCode::Internal);
        assert!(!err.message.contains("/var/secret"));
    }
}
