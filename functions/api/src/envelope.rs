//! The one place errors become HTTP: every failure — a handler's [`Failure`], an axum
//! rejection (body too large, unknown route, wrong method), a panic — leaves as
//! `{"error":{"code","message","details"},"request_id"}` with the status its code maps to.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use zts_domain::{AppError, ErrorCode, metrics};

/// Marks a response the envelope must pass as it is, even with an error status: a
/// readiness answer's checks, or a protocol that has its own error shape (the local
/// gateway's Management API answers as API Gateway does).
#[derive(Debug, Clone, Copy)]
pub struct Verbatim;

/// A handler's error. Rendered by [`envelope`], which knows the request id.
#[derive(Debug)]
pub struct Failure(pub AppError);

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure(e)
    }
}

impl From<zts_domain::ports::StoreError> for Failure {
    fn from(e: zts_domain::ports::StoreError) -> Self {
        if !matches!(
            e,
            zts_domain::ports::StoreError::NotFound
                | zts_domain::ports::StoreError::InvalidCursor
                | zts_domain::ports::StoreError::IdempotencyConflict
        ) {
            tracing::error!(error = %e, "store failure");
        }
        Failure(AppError::from(e))
    }
}

/// The HTTP status for an error code: the single place where that mapping lives (the
/// domain names what went wrong; only the api speaks HTTP).
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MalformedJson | ErrorCode::InvalidParameter | ErrorCode::InvalidCursor => {
            StatusCode::BAD_REQUEST
        }
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::IdempotencyConflict | ErrorCode::StateConflict => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut res = status_of(self.0.code).into_response();
        res.extensions_mut().insert(self.0);
        res
    }
}

pub type Result<T> = std::result::Result<T, Failure>;

pub async fn unknown_route() -> Failure {
    Failure(AppError::new(
        ErrorCode::NotFound,
        "no such route; see /openapi.json for the API",
    ))
}

pub async fn method_not_allowed() -> Failure {
    Failure(AppError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method; see /openapi.json",
    ))
}

pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    Failure(AppError::internal()).into_response()
}

/// The error a bare status (from a layer or a rejection) stands for.
fn error_for_status(status: StatusCode) -> AppError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the body is larger than {} bytes",
                zts_domain::input::limits::BODY_MAX_BYTES
            ),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as application/json",
        ),
        StatusCode::METHOD_NOT_ALLOWED => AppError::new(
            ErrorCode::MethodNotAllowed,
            "this route does not accept that method",
        ),
        StatusCode::NOT_FOUND => AppError::new(ErrorCode::NotFound, "not found"),
        StatusCode::UNAUTHORIZED => {
            AppError::new(ErrorCode::Unauthorized, "authentication required")
        }
        StatusCode::TOO_MANY_REQUESTS => {
            AppError::new(ErrorCode::RateLimited, "too many requests; retry later")
        }
        StatusCode::REQUEST_TIMEOUT => AppError::new(
            ErrorCode::RequestTimeout,
            "the request did not arrive in time; send it again",
        ),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            AppError::new(ErrorCode::Unavailable, "the service is busy; retry shortly")
        }
        s if s.is_client_error() => {
            AppError::new(ErrorCode::InvalidParameter, "the request is not valid")
        }
        _ => AppError::internal(),
    }
}

pub async fn envelope(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut res = next.run(req).await;
    if res.extensions().get::<Verbatim>().is_some() {
        return res;
    }
    let error = match res.extensions_mut().remove::<AppError>() {
        Some(e) => e,
        None if res.status().is_client_error() || res.status().is_server_error() => {
            error_for_status(res.status())
        }
        None => return res,
    };
    render(&error, &request_id, res)
}

/// Every error answer counts by its code; refused credentials and rate limiting also have
/// metrics of their own (the dashboard's auth and throttling widgets).
fn count(code: ErrorCode) {
    metrics::error_answered(code.as_str());
    match code {
        ErrorCode::Unauthorized => metrics::auth_rejected(),
        ErrorCode::RateLimited => metrics::rate_limited(),
        _ => {}
    }
}

#[allow(
    clippy::expect_used,
    reason = "error bodies are strings and lists: they always serialise"
)]
fn render(error: &AppError, request_id: &str, original: Response) -> Response {
    let status = status_of(error.code);
    count(error.code);
    if status.is_server_error() {
        tracing::error!(code = error.code.as_str(), %request_id, "answered with a server error");
    }
    let body = serde_json::to_vec(&error.body(request_id)).expect("error bodies serialise");
    let (mut parts, _) = original.into_parts();
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = error.retry_after {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn every_client_error_is_a_4xx_and_only_failures_of_ours_are_5xx() {
        // Only our own failures are 5xx: bad input never is.
        let ours = [ErrorCode::Internal, ErrorCode::Unavailable];
        for code in ErrorCode::ALL {
            let status = status_of(code);
            assert_eq!(status.is_server_error(), ours.contains(&code), "{code:?}");
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code:?}"
            );
        }
        assert_eq!(status_of(ErrorCode::ValidationFailed).as_u16(), 422);
        assert_eq!(status_of(ErrorCode::Internal).as_u16(), 500);
        assert_eq!(status_of(ErrorCode::Unavailable).as_u16(), 503);
    }
}
