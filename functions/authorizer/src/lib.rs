//! The WebSocket `$connect` authorizer: a REQUEST authorizer reading `?ticket=`. A ticket
//! from `POST /api/v1/ws-tickets` that exists and has not expired is consumed (single use)
//! and the connection is allowed, with the ticket's owner in the context for the `ws`
//! function; anything else is denied (API Gateway answers 403 and never opens the
//! connection). The check is [`zts_domain::auth::redeem_ticket`], the one the local gateway runs.
//!
//! An owner already holding its cap of open WebSockets is denied too: a slot is claimed
//! here for the connection id ([`ConnectionSlots`], a conditional write, so concurrent
//! connects cannot overshoot) and released at `$disconnect`. A Deny is the only answer
//! API Gateway can give at the handshake: the client sees 403 (README "Hardening").

#[cfg(feature = "lambda")]
pub mod config;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use zts_domain::auth::{AUTHORIZER_OWNER_KEY, redeem_ticket};
use zts_domain::clock;
use zts_domain::ids::ConnectionId;
use zts_domain::ports::{ConnectionSlots, KeyStore, StoreError};

pub const TICKET_PARAMETER: &str = "ticket";

/// Open WebSockets per owner when the template does not say (README "Hardening").
pub use zts_domain::slots::DEFAULT_PER_OWNER;

#[derive(Debug, thiserror::Error)]
#[error("the ticket could not be checked: {0}")]
pub struct AuthorizerFailure(#[from] StoreError);

#[cfg(feature = "lambda")]
impl From<AuthorizerFailure> for lambda_runtime::Diagnostic {
    fn from(failure: AuthorizerFailure) -> Self {
        lambda_runtime::Diagnostic {
            error_type: zts_domain::step::STORE.into(),
            error_message: failure.to_string(),
        }
    }
}

pub async fn authorize<K: KeyStore + ConnectionSlots + ?Sized>(
    keys: &K,
    request: ApiGatewayCustomAuthorizerRequestTypeRequest,
    per_owner: usize,
) -> Result<ApiGatewayCustomAuthorizerResponse, AuthorizerFailure> {
    let resource = request.method_arn.clone().unwrap_or_default();
    let ticket = request.query_string_parameters.first(TICKET_PARAMETER);
    let connection = request
        .request_context
        .other
        .get("connectionId")
        .and_then(|v| v.as_str())
        .and_then(ConnectionId::parse);
    let now = clock::now();
    let mut owner = match ticket {
        Some(ticket) => redeem_ticket(keys, ticket, now).await?,
        None => None,
    };
    let mut at_cap = false;
    if let Some(who) = &owner {
        let claimed = match &connection {
            Some(id) => keys.claim_slot(who, id, per_owner, now).await?,
            None => false,
        };
        if !claimed {
            at_cap = true;
            zts_domain::metrics::connection_refused();
            tracing::info!(owner = %who, per_owner, connection_id_present = connection.is_some(), "connect denied: the owner is at its WebSocket connection limit");
            owner = None;
        }
    }
    Ok(match owner {
        Some(owner) => {
            tracing::info!(owner = %owner, "connect allowed");
            policy(
                owner.as_str(),
                IamPolicyEffect::Allow,
                &resource,
                serde_json::json!({ AUTHORIZER_OWNER_KEY: owner.as_str() }),
            )
        }
        None => {
            // Never log the ticket itself: it is a credential until it expires.
            tracing::info!(ticket_present = ticket.is_some(), "connect denied");
            // A refusal at the cap was counted as such; a missing or spent ticket is here.
            if !at_cap {
                zts_domain::metrics::auth_rejected();
            }
            policy(
                "anonymous",
                IamPolicyEffect::Deny,
                &resource,
                serde_json::json!({}),
            )
        }
    })
}

fn policy(
    principal: &str,
    effect: IamPolicyEffect,
    resource: &str,
    context: serde_json::Value,
) -> ApiGatewayCustomAuthorizerResponse {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".into()];
    statement.effect = effect;
    statement.resource = vec![resource.to_string()];
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some("2012-10-17".into());
    document.statement = vec![statement];
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(principal.to_string());
    response.policy_document = document;
    response.context = context;
    response
}
