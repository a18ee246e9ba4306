//! Who is calling. Authentication middleware inserts a [`Caller`]; handlers extract it and
//! fail closed (401) when no middleware did.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use zts_domain::{AppError, ErrorCode, Owner};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub owner: Owner,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = envelope_error::Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            envelope_error::Rejection(AppError::new(
                ErrorCode::Unauthorized,
                "send an API key in x-api-key or Authorization: Bearer",
            ))
        })
    }
}

mod envelope_error {
    use axum::response::{IntoResponse, Response};
    use zts_domain::AppError;

    pub struct Rejection(pub AppError);

    impl IntoResponse for Rejection {
        fn into_response(self) -> Response {
            crate::envelope::Failure(self.0).into_response()
        }
    }
}
