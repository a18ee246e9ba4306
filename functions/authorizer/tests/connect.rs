//! The `$connect` authorizer driven by API Gateway's REQUEST authorizer event (the
//! WebSocket fixture from aws_lambda_events, with a `?ticket=`): a ticket lets its owner in
//! once; a reused, expired, missing or made-up one is denied; an owner at its cap of open
//! WebSockets is denied until one of its connections disconnects.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed expectation is a failed test"
)]

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use serde_json::Value;
use zts_domain::auth::{TicketRecord, hash, new_ticket};
use zts_domain::clock;
use zts_domain::ids::{ConnectionId, Owner};
use zts_domain::ports::KeyStore;
use zts_embedded::EmbeddedStore;

const FIXTURE: &str = include_str!("fixtures/connect-authorizer-request.json");
const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/$connect";

fn request(ticket: Option<&str>) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    request_for(ticket, "Zx8xLfNfoAMCJ0w=")
}

/// The fixture with a ticket and API Gateway's connection id for this connect.
fn request_for(
    ticket: Option<&str>,
    connection_id: &str,
) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    let mut event: Value = serde_json::from_str(FIXTURE).unwrap();
    event["requestContext"]["connectionId"] = connection_id.into();
    match ticket {
        Some(t) => {
            event["queryStringParameters"]["ticket"] = t.into();
            event["multiValueQueryStringParameters"]["ticket"] = serde_json::json!([t]);
        }
        None => {
            event["queryStringParameters"] = serde_json::json!({});
            event["multiValueQueryStringParameters"] = serde_json::json!({});
        }
    }
    serde_json::from_value(event).expect("the fixture is an authorizer request")
}

async fn issue(store: &EmbeddedStore, owner: &str, ttl_seconds: i64) -> String {
    let ticket = new_ticket();
    let expires_at = clock::now() + chrono::Duration::seconds(ttl_seconds);
    store
        .put_ticket(TicketRecord {
            ticket_hash: hash(&ticket),
            owner: Owner::parse(owner).unwrap(),
            expires_at,
            ttl: expires_at.timestamp() + 60,
        })
        .await
        .unwrap();
    ticket
}

/// The answer as API Gateway reads it.
async fn answer(store: &EmbeddedStore, ticket: Option<&str>) -> Value {
    let response = authorizer::authorize(store, request(ticket), 25)
        .await
        .unwrap();
    serde_json::to_value(response).unwrap()
}

fn effect(answer: &Value) -> &str {
    answer["policyDocument"]["Statement"][0]["Effect"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn a_ticket_lets_its_owner_in_once() {
    let store = EmbeddedStore::in_memory().unwrap();
    let ticket = issue(&store, "acme", 60).await;
    let allowed = answer(&store, Some(&ticket)).await;
    assert_eq!(effect(&allowed), "Allow");
    assert_eq!(allowed["principalId"], "acme");
    assert_eq!(allowed["context"]["owner"], "acme");
    let statement = &allowed["policyDocument"]["Statement"][0];
    assert_eq!(
        statement["Action"],
        serde_json::json!(["execute-api:Invoke"])
    );
    assert_eq!(statement["Resource"], serde_json::json!([METHOD_ARN]));
    assert_eq!(allowed["policyDocument"]["Version"], "2012-10-17");

    let again = answer(&store, Some(&ticket)).await;
    assert_eq!(effect(&again), "Deny", "a ticket works once");
    assert_eq!(again["context"], serde_json::json!({}));
}

#[tokio::test]
async fn expired_missing_and_made_up_tickets_are_denied() {
    let store = EmbeddedStore::in_memory().unwrap();
    let expired = issue(&store, "acme", -1).await;
    let unknown = new_ticket();
    for ticket in [
        Some(expired.as_str()),
        Some(unknown.as_str()),
        Some("zts_not_a_ticket"),
        Some(""),
        None,
    ] {
        let denied = answer(&store, ticket).await;
        assert_eq!(effect(&denied), "Deny", "{ticket:?}");
        assert_eq!(denied["principalId"], "anonymous");
        assert!(denied["context"].get("owner").is_none());
    }
}

#[tokio::test]
async fn tickets_of_two_tenants_name_their_own_owner() {
    let store = EmbeddedStore::in_memory().unwrap();
    let a = issue(&store, "tenant-a", 60).await;
    let b = issue(&store, "tenant-b", 60).await;
    assert_eq!(
        answer(&store, Some(&b)).await["context"]["owner"],
        "tenant-b"
    );
    assert_eq!(
        answer(&store, Some(&a)).await["context"]["owner"],
        "tenant-a"
    );
}

#[tokio::test]
async fn an_owner_at_its_websocket_cap_is_denied_until_a_connection_disconnects() {
    let store = EmbeddedStore::in_memory().unwrap();
    let connect = |ticket: String, connection: &'static str| {
        let store = &store;
        async move {
            let response = authorizer::authorize(store, request_for(Some(&ticket), connection), 2)
                .await
                .unwrap();
            effect(&serde_json::to_value(response).unwrap()).to_string()
        }
    };
    let (t1, t2, t3) = (
        issue(&store, "capped", 60).await,
        issue(&store, "capped", 60).await,
        issue(&store, "capped", 60).await,
    );
    assert_eq!(connect(t1, "conn-1=").await, "Allow");
    assert_eq!(connect(t2, "conn-2=").await, "Allow");
    assert_eq!(connect(t3, "conn-3=").await, "Deny", "over the cap of 2");
    // Another owner is unaffected.
    let other = issue(&store, "not-capped", 60).await;
    assert_eq!(connect(other, "conn-4=").await, "Allow");
    // $disconnect (the ws function) frees the slot: the owner connects again.
    let id = ConnectionId::parse("conn-1=").unwrap();
    ws::connect(&store, &id, &Owner::parse("capped").unwrap(), "http://x")
        .await
        .unwrap();
    ws::disconnect(&store, &id).await.unwrap();
    let t4 = issue(&store, "capped", 60).await;
    assert_eq!(connect(t4, "conn-5=").await, "Allow");
}
