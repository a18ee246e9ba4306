//! `POST /api/v1/ws-tickets`: a short-lived, single-use ticket for a WebSocket connect, so
//! API keys never travel in URLs.

use crate::envelope::Result;
use crate::views::{ErrorEnvelope, Ticket};
use crate::{AppState, Caller};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use zts_domain::auth::{self, TICKET_TTL_SECONDS, TicketRecord};
use zts_domain::clock;

#[utoipa::path(post, path = "/api/v1/ws-tickets", tag = "websocket",
    responses(
        (status = 201, description = "A ticket for one WebSocket connect within 60 s", body = Ticket),
        (status = 401, description = "No or invalid API key", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<Ticket>)> {
    let secret = auth::new_ticket();
    let expires_at = clock::now() + chrono::Duration::seconds(TICKET_TTL_SECONDS);
    state
        .keys
        .put_ticket(TicketRecord {
            ticket_hash: auth::hash(&secret),
            owner: caller.owner,
            expires_at,
            ttl: expires_at.timestamp(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Ticket {
            websocket_url: format!("{}?ticket={secret}", state.websocket.connect),
            ticket: secret,
            expires_at: clock::format(&expires_at),
        }),
    ))
}
