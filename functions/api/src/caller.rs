//! Who is calling. Authentication middleware inserts a [`Caller`]; handlers extract it and
//! fail closed (401) when no middleware did.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use shared::{AppError, ErrorCode, Owner};

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
    use shared::AppError;

    pub struct Rejection(pub AppError);

    impl IntoResponse for Rejection {
        fn into_response(self) -> Response {
            crate::envelope::Failure(self.0).into_response()
        }
    }
}

/// Middleware for a single-tenant local stack: every request acts as the owner in state.
/// Use with `axum::middleware::from_fn_with_state(owner, fixed_owner)`.
pub async fn fixed_owner(State(owner): State<Owner>, mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(Caller { owner });
    next.run(req).await
}
