//! The per-owner WebSocket cap on the AWS path: the `$connect` authorizer and the ws
//! function's `$disconnect` against DynamoDB on a moto server. Concurrent connects racing
//! for the last slots let exactly the cap through; a disconnect frees a slot.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use std::sync::Arc;
use zts_domain::auth::{TicketRecord, hash, new_ticket};
use zts_domain::clock;
use zts_domain::ids::{ConnectionId, Owner};
use zts_domain::ports::{ConnectionSlots, KeyStore};

async fn ticket_for(store: &zts_aws::DynamoStore, owner: &str) -> String {
    let ticket = new_ticket();
    let expires_at = clock::now() + chrono::Duration::seconds(60);
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

fn connect_event(
    ticket: &str,
    connection: &ConnectionId,
) -> ApiGatewayCustomAuthorizerRequestTypeRequest {
    serde_json::from_value(serde_json::json!({
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/$connect",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": {"ticket": ticket},
        "multiValueQueryStringParameters": {"ticket": [ticket]},
        "stageVariables": {},
        "requestContext": {"connectionId": connection.as_str(), "eventType": "CONNECT", "routeKey": "$connect"}
    }))
    .unwrap()
}

async fn effect(
    store: &zts_aws::DynamoStore,
    ticket: &str,
    connection: &ConnectionId,
    cap: usize,
) -> String {
    let answer = authorizer::authorize(store, connect_event(ticket, connection), cap)
        .await
        .unwrap();
    serde_json::to_value(answer).unwrap()["policyDocument"]["Statement"][0]["Effect"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_connects_get_exactly_the_cap_and_a_disconnect_frees_a_slot() {
    let Some(store) = zts_tests::dynamodb::store().await else {
        return;
    };
    let store = Arc::new(store);
    let owner = Owner::parse("capped-on-aws").unwrap();
    let cap = 3;
    let mut racers = Vec::new();
    for _ in 0..8 {
        let ticket = ticket_for(&store, owner.as_str()).await;
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            let id = ConnectionId::generate();
            (effect(&store, &ticket, &id, cap).await, id)
        }));
    }
    let mut allowed = Vec::new();
    for racer in racers {
        let (effect, id) = racer.await.unwrap();
        if effect == "Allow" {
            allowed.push(id);
        } else {
            assert_eq!(effect, "Deny");
        }
    }
    assert_eq!(allowed.len(), cap, "exactly the cap gets through");
    assert_eq!(store.open_slots(&owner, clock::now()).await.unwrap(), cap);
    // Another owner is unaffected.
    let other = ticket_for(&store, "other-on-aws").await;
    assert_eq!(
        effect(&store, &other, &ConnectionId::generate(), cap).await,
        "Allow"
    );
    // The ws function's $connect records the connection; its $disconnect frees the slot.
    let leaving = &allowed[0];
    ws::connect(&*store, leaving, &owner, "https://example.invalid/prod")
        .await
        .unwrap();
    ws::disconnect(&*store, leaving).await.unwrap();
    assert_eq!(
        store.open_slots(&owner, clock::now()).await.unwrap(),
        cap - 1
    );
    let again = ticket_for(&store, owner.as_str()).await;
    assert_eq!(
        effect(&store, &again, &ConnectionId::generate(), cap).await,
        "Allow"
    );
}
