//! The WebSocket `$connect` authorizer: a REQUEST authorizer reading `?ticket=`. A ticket
//! from `POST /api/v1/ws-tickets` that exists and has not expired is consumed (single use)
//! and the connection is allowed, with the ticket's owner in the context for the `ws`
//! function; anything else is denied (API Gateway answers 403 and never opens the
//! connection). The check is [`zts_domain::auth::redeem_ticket`], the one the local gateway runs.

#[cfg(feature = "lambda")]
pub mod config;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use zts_domain::auth::{AUTHORIZER_OWNER_KEY, redeem_ticket};
use zts_domain::clock;
use zts_domain::ports::{KeyStore, StoreError};

pub const TICKET_PARAMETER: &str = "ticket";

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

pub async fn authorize<K: KeyStore + ?Sized>(
    keys: &K,
    request: ApiGatewayCustomAuthorizerRequestTypeRequest,
) -> Result<ApiGatewayCustomAuthorizerResponse, AuthorizerFailure> {
    let resource = request.method_arn.clone().unwrap_or_default();
    let ticket = request.query_string_parameters.first(TICKET_PARAMETER);
    let owner = match ticket {
        Some(ticket) => redeem_ticket(keys, ticket, clock::now()).await?,
        None => None,
    };
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
