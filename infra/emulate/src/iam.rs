//! The emulated IAM of each function's DynamoDB calls: every request a function sends to
//! DynamoDB passes a gate on loopback that works out the IAM actions it needs, as AWS
//! does (a transaction needs its items' actions: `PutItem` for a Put, `ConditionCheckItem`
//! for a ConditionCheck, …; a query of an index needs `Query` on the index's ARN), refuses
//! it with DynamoDB's `AccessDeniedException` unless the function's role (its template
//! policies) grants every one, and otherwise passes it to the DynamoDB endpoint. So a new
//! call without a grant fails every emulated test that reaches it, as it would fail on
//! AWS, and the calls made are kept for the tests to compare with the template.

use super::meter::{DynamoMeter, Item, get_item_request};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

/// One action a request needs: (`dynamodb:PutItem`, the table's or index's ARN).
pub type Need = (String, String);

/// The IAM actions one DynamoDB JSON request needs, by its `X-Amz-Target` operation.
pub fn needs(operation: &str, body: &Value, region: &str, account: &str) -> Vec<Need> {
    let table = |name: &str| format!("arn:aws:dynamodb:{region}:{account}:table/{name}");
    let on = |action: &str, item: &Value| -> Option<Need> {
        let name = item["TableName"].as_str()?;
        Some((format!("dynamodb:{action}"), table(name)))
    };
    match operation {
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                [
                    ("Put", "PutItem"),
                    ("Update", "UpdateItem"),
                    ("Delete", "DeleteItem"),
                    ("ConditionCheck", "ConditionCheckItem"),
                ]
                .iter()
                .find_map(|(kind, action)| item.get(*kind).and_then(|i| on(action, i)))
            })
            .collect(),
        "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("Get").and_then(|g| on("GetItem", g)))
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.keys())
            .map(|name| (format!("dynamodb:{operation}"), table(name)))
            .collect(),
        "Query" | "Scan" => {
            let Some(name) = body["TableName"].as_str() else {
                return Vec::new();
            };
            let resource = match body["IndexName"].as_str() {
                Some(index) => format!("{}/index/{index}", table(name)),
                None => table(name),
            };
            vec![(format!("dynamodb:{operation}"), resource)]
        }
        other => on(other, body).into_iter().collect(),
    }
}

/// Whether `grants` allow `need`: the same action on the same ARN, or on a pattern that
/// ends in `*` and starts the ARN.
pub fn allowed(grants: &[(String, String)], need: &Need) -> bool {
    grants.iter().any(|(action, resource)| {
        (action == &need.0 || action == "dynamodb:*")
            && match resource.strip_suffix('*') {
                Some(prefix) => need.1.starts_with(prefix),
                None => resource == &need.1,
            }
    })
}

/// One function's gate: its grants, where DynamoDB is, and what it was asked to do.
pub struct Gate {
    function: String,
    grants: Vec<(String, String)>,
    upstream: String,
    region: String,
    account: String,
    client: reqwest::Client,
    /// Every (action, resource) the function's requests needed, allowed or not.
    pub calls: Mutex<BTreeSet<Need>>,
    /// The ones refused.
    pub denied: Mutex<BTreeSet<Need>>,
    /// Where the calls' read and write units are counted (shared by every gate).
    meter: Option<Arc<DynamoMeter>>,
}

impl Gate {
    pub fn new(
        function: &str,
        grants: Vec<(String, String)>,
        upstream: &str,
        region: &str,
        account: &str,
        meter: Option<Arc<DynamoMeter>>,
    ) -> Arc<Self> {
        Arc::new(Gate {
            function: function.to_string(),
            grants,
            upstream: upstream.trim_end_matches('/').to_string(),
            region: region.to_string(),
            account: account.to_string(),
            client: reqwest::Client::new(),
            calls: Mutex::new(BTreeSet::new()),
            denied: Mutex::new(BTreeSet::new()),
            meter,
        })
    }

    /// The actions asked for so far.
    pub fn calls(&self) -> BTreeSet<Need> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The actions refused so far.
    pub fn denied(&self) -> BTreeSet<Need> {
        self.denied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Serves the gate on a free loopback port; answers its URL.
    pub async fn serve(self: &Arc<Self>) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(pass).with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(url)
    }
}

/// DynamoDB's answer to a call the role does not allow (JSON 1.0 protocol).
fn access_denied(gate: &Gate, need: &Need) -> Response {
    let body = serde_json::json!({
        "__type": "com.amazon.coral.service#AccessDeniedException",
        "Message": format!(
            "User: arn:aws:sts::{}:assumed-role/{}-role/{} is not authorized to perform: {} on resource: {} because no identity-based policy allows the {} action",
            gate.account, gate.function, gate.function, need.0, need.1, need.0
        ),
    });
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.0")],
        body.to_string(),
    )
        .into_response()
}

async fn pass(
    State(gate): State<Arc<Gate>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string();
    if !operation.is_empty() {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let needs = needs(&operation, &request, &gate.region, &gate.account);
        gate.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(needs.iter().cloned());
        if let Some(refused) = needs.iter().find(|n| !allowed(&gate.grants, n)) {
            tracing::warn!(function = %gate.function, action = %refused.0, resource = %refused.1, "emulated IAM denied a DynamoDB call");
            gate.denied
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(refused.clone());
            return access_denied(&gate, refused);
        }
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let request: Value = match gate.meter {
        Some(_) if !operation.is_empty() => serde_json::from_slice(&body).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    // The meter's own reads of the items a call changes go to the same endpoint with the
    // call's own headers (its region and credentials); they are not counted.
    let fetch = |table: String, key: Item| {
        let (gate, headers, path) = (gate.clone(), headers.clone(), path.clone());
        async move {
            let mut get = gate
                .client
                .post(format!("{}{path}", gate.upstream))
                .body(get_item_request(&table, &key).to_string());
            for (name, value) in &headers {
                if name != "host" && name != "content-length" && name != "x-amz-target" {
                    get = get.header(name, value);
                }
            }
            let answer: Value = get
                .header("x-amz-target", "DynamoDB_20120810.GetItem")
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            answer["Item"].as_object().cloned()
        }
    };
    let pending = match &gate.meter {
        Some(meter) if !operation.is_empty() => {
            Some(meter.before(&operation, &request, &fetch).await)
        }
        _ => None,
    };
    let mut forward = gate
        .client
        .request(method, format!("{}{path}", gate.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    match forward.send().await {
        Ok(res) => {
            let status = res.status();
            let mut out = Response::builder().status(status.as_u16());
            for (name, value) in res.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    out = out.header(name, value);
                }
            }
            let bytes = res.bytes().await.unwrap_or_default();
            if let (Some(meter), Some(pending)) = (&gate.meter, pending) {
                let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                meter
                    .after(
                        &operation,
                        &request,
                        status.as_u16(),
                        &answer,
                        pending,
                        &fetch,
                    )
                    .await;
            }
            out.body(axum::body::Body::from(bytes))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const R: &str = "us-east-1";
    const A: &str = "123456789012";

    fn arn(t: &str) -> String {
        format!("arn:aws:dynamodb:{R}:{A}:table/{t}")
    }

    #[test]
    fn a_transaction_needs_each_items_action_and_a_query_its_index() {
        let tx = json!({"TransactItems": [
            {"Put": {"TableName": "p", "Item": {}}},
            {"ConditionCheck": {"TableName": "p", "Key": {}}},
            {"Delete": {"TableName": "c", "Key": {}}},
            {"Update": {"TableName": "p", "Key": {}}}
        ]});
        assert_eq!(
            needs("TransactWriteItems", &tx, R, A),
            vec![
                ("dynamodb:PutItem".to_string(), arn("p")),
                ("dynamodb:ConditionCheckItem".to_string(), arn("p")),
                ("dynamodb:DeleteItem".to_string(), arn("c")),
                ("dynamodb:UpdateItem".to_string(), arn("p")),
            ]
        );
        let q = json!({"TableName": "p", "IndexName": "by-owner"});
        assert_eq!(
            needs("Query", &q, R, A),
            vec![(
                "dynamodb:Query".to_string(),
                format!("{}/index/by-owner", arn("p"))
            )]
        );
        let batch = json!({"RequestItems": {"p": {"Keys": []}}});
        assert_eq!(
            needs("BatchGetItem", &batch, R, A),
            vec![("dynamodb:BatchGetItem".to_string(), arn("p"))]
        );
        assert_eq!(
            needs("GetItem", &json!({"TableName": "k"}), R, A),
            vec![("dynamodb:GetItem".to_string(), arn("k"))]
        );
    }

    #[test]
    fn grants_match_the_action_and_the_arn_or_its_pattern() {
        let grants = vec![
            (
                "dynamodb:Query".to_string(),
                format!("{}/index/*", arn("p")),
            ),
            ("dynamodb:GetItem".to_string(), arn("p")),
        ];
        let q = (
            "dynamodb:Query".to_string(),
            format!("{}/index/by-owner", arn("p")),
        );
        assert!(allowed(&grants, &q));
        assert!(!allowed(&grants, &("dynamodb:Query".to_string(), arn("p"))));
        assert!(allowed(
            &grants,
            &("dynamodb:GetItem".to_string(), arn("p"))
        ));
        assert!(!allowed(
            &grants,
            &("dynamodb:GetItem".to_string(), arn("q"))
        ));
        assert!(!allowed(
            &grants,
            &("dynamodb:PutItem".to_string(), arn("p"))
        ));
    }
}
