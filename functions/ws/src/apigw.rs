//! The WebSocket API's Lambda integration: one function serves `$connect`, `$disconnect`
//! and the message routes (`$default`, `subscribe`). It reads API Gateway's event, calls
//! the protocol above, and answers with a status; everything the client receives goes
//! through the [`EventPusher`] (PostToConnection), as API Gateway requires.

use crate::{answer, connect, disconnect};
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use zts_domain::auth::AUTHORIZER_OWNER_KEY;
use zts_domain::ids::{ConnectionId, Owner};
use zts_domain::ports::{
    ConnectionSlots, ConnectionStore, EventPusher, ProjectStore, PushError, StoreError,
};

/// Why the function failed the invocation (API Gateway then answers the client with an
/// internal error); client mistakes never end up here.
#[derive(Debug, thiserror::Error)]
pub enum WsFailure {
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error("a reply could not be pushed: {0}")]
    Push(PushError),
}

fn status(code: i64) -> ApiGatewayProxyResponse {
    let mut res = ApiGatewayProxyResponse::default();
    res.status_code = code;
    res
}

pub async fn handle<P, C, E>(
    projects: &P,
    connections: &C,
    pusher: &E,
    endpoint: &str,
    event: ApiGatewayWebsocketProxyRequest,
) -> Result<ApiGatewayProxyResponse, WsFailure>
where
    P: ProjectStore + ?Sized,
    C: ConnectionStore + ConnectionSlots + ?Sized,
    E: EventPusher + ?Sized,
{
    let context = &event.request_context;
    let Some(id) = context
        .connection_id
        .as_deref()
        .and_then(ConnectionId::parse)
    else {
        tracing::warn!("a WebSocket event without a usable connection id");
        return Ok(status(400));
    };
    match context.event_type.as_deref() {
        Some("CONNECT") => {
            // The $connect authorizer put the ticket's owner here; without it, refuse.
            let owner = context
                .authorizer
                .fields
                .get(AUTHORIZER_OWNER_KEY)
                .and_then(|v| v.as_str())
                .and_then(Owner::parse);
            let Some(owner) = owner else {
                tracing::warn!(connection_id = %id, "connect without an authorized owner");
                return Ok(status(401));
            };
            connect(connections, &id, &owner, endpoint).await?;
            tracing::info!(connection_id = %id, owner = %owner, "connected");
            Ok(status(200))
        }
        Some("DISCONNECT") => {
            disconnect(connections, &id).await?;
            tracing::info!(connection_id = %id, "disconnected");
            Ok(status(200))
        }
        Some("MESSAGE") => {
            let text = event.body.as_deref().unwrap_or_default();
            // A store failure is answered `unavailable` inside; API Gateway would otherwise
            // send its own "Internal server error" frame, which the local gateway never
            // sends.
            match answer(projects, connections, pusher, &id, text).await {
                // The client left meanwhile: nothing to answer.
                Ok(()) | Err(PushError::Gone) => Ok(status(200)),
                Err(e) => Err(WsFailure::Push(e)),
            }
        }
        other => {
            tracing::warn!(connection_id = %id, event_type = ?other, "an unknown WebSocket event type");
            Ok(status(400))
        }
    }
}

impl From<WsFailure> for lambda_runtime::Diagnostic {
    fn from(failure: WsFailure) -> Self {
        let error_type = match failure {
            WsFailure::Store(_) => zts_domain::step::STORE,
            WsFailure::Push(_) => zts_domain::step::PUSH,
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: failure.to_string(),
        }
    }
}
