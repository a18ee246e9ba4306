//! The HTTP API, emulated: each request becomes an API Gateway HTTP API payload 2.0 event
//! for the function the template routes it to (its `HttpApi` events: method and path,
//! `{param}` and `{proxy+}`), and the function's answer becomes the response — or, as API
//! Gateway answers a failed integration: 500 `Internal Server Error` when Lambda refuses
//! the invocation (a throttle: Lambda's "Handling Lambda errors with an API Gateway API")
//! or the function fails, 503 `Service Unavailable` when it outlasts the integration.

use super::runtime::{FunctionPool, InvokeError};
use super::template::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One route of the template: `METHOD /path` (method `ANY` matches every method).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// The function's logical id.
    pub function: String,
}

impl Route {
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The path parameters when `path` matches this route.
    fn matches(&self, method: &str, path: &str) -> Option<BTreeMap<String, String>> {
        if self.method != "ANY" && self.method != method {
            return None;
        }
        let mut params = BTreeMap::new();
        let want: Vec<&str> = self.path.trim_start_matches('/').split('/').collect();
        let got: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        for (i, w) in want.iter().enumerate() {
            if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix("+}")) {
                // A greedy variable catches the route's child resources, never the route
                // itself: `/{proxy+}` does not match `/` (API Gateway's routing), which is
                // why the template gives the page its own `GET /` route.
                let rest = got.get(i..)?.join("/");
                if rest.is_empty() {
                    return None;
                }
                params.insert(name.to_string(), rest);
                return Some(params);
            }
            let g = got.get(i)?;
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => {
                    params.insert(name.to_string(), (*g).to_string());
                }
                Some(_) => return None,
                None if w == g => {}
                None => return None,
            }
        }
        (want.len() == got.len()).then_some(params)
    }

    /// Fewer wildcards first, as API Gateway prefers the most specific route.
    fn specificity(&self) -> (usize, usize) {
        let greedy = usize::from(self.path.contains("+}"));
        let params = self.path.matches('{').count();
        (greedy, params)
    }
}

/// Every `HttpApi` event of every function in the template, most specific first.
pub fn routes(template: &Template) -> Vec<Route> {
    let mut out = Vec::new();
    for id in template.resources_of("AWS::Serverless::Function") {
        let Some(function) = template.resource(&id) else {
            continue;
        };
        for (_, event) in function["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let p = &event["Properties"];
            if let (Some(method), Some(path)) = (p["Method"].as_str(), p["Path"].as_str()) {
                out.push(Route {
                    method: method.to_ascii_uppercase(),
                    path: path.to_string(),
                    function: id.clone(),
                });
            }
        }
    }
    out.sort_by_key(Route::specificity);
    out
}

pub struct HttpApiEmulator {
    pub routes: Vec<Route>,
    pub functions: BTreeMap<String, Arc<FunctionPool>>,
    pub api_id: String,
    requests: AtomicU64,
}

impl HttpApiEmulator {
    pub fn new(
        routes: Vec<Route>,
        functions: BTreeMap<String, Arc<FunctionPool>>,
        api_id: String,
    ) -> Arc<Self> {
        Arc::new(HttpApiEmulator {
            routes,
            functions,
            api_id,
            requests: AtomicU64::new(0),
        })
    }

    /// Requests served so far (each under 512 KB: one metered request apiece).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(handle).with_state(self)
    }

    /// The payload 2.0 event API Gateway sends for this request.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        route: &Route,
        params: &BTreeMap<String, String>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
        source_ip: &str,
    ) -> Value {
        let mut joined: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut cookies = Vec::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes()).to_string();
            if name == "cookie" {
                cookies.extend(value.split(';').map(|c| c.trim().to_string()));
                continue;
            }
            joined
                .entry(name.as_str().to_string())
                .or_default()
                .push(value);
        }
        let header_map: Map<String, Value> = joined
            .into_iter()
            .map(|(k, v)| (k, Value::String(v.join(","))))
            .collect();
        let query = uri.query().unwrap_or_default();
        let mut query_params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query_params
                .entry(k.to_string())
                .or_default()
                .push(v.to_string());
        }
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let now = chrono::Utc::now();
        let is_text = std::str::from_utf8(body).is_ok();
        let mut event = json!({
            "version": "2.0",
            "routeKey": route.key(),
            "rawPath": uri.path(),
            "rawQueryString": query,
            "headers": header_map,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": self.api_id,
                "domainName": headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
                "domainPrefix": self.api_id,
                "http": {
                    "method": method.as_str(),
                    "path": uri.path(),
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
                },
                "requestId": format!("emulated-{n}"),
                "routeKey": route.key(),
                "stage": "$default",
                "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
                "timeEpoch": now.timestamp_millis(),
            },
            "isBase64Encoded": !is_text,
        });
        if !cookies.is_empty() {
            event["cookies"] = json!(cookies);
        }
        if !query_params.is_empty() {
            event["queryStringParameters"] = query_params
                .into_iter()
                .map(|(k, v)| (k, Value::String(v.join(","))))
                .collect::<Map<String, Value>>()
                .into();
        }
        if !params.is_empty() {
            event["pathParameters"] = json!(params);
        }
        if !body.is_empty() {
            event["body"] = if is_text {
                Value::String(String::from_utf8_lossy(body).to_string())
            } else {
                Value::String(base64::engine::general_purpose::STANDARD.encode(body))
            };
        }
        event
    }
}

fn gateway_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"message": message}).to_string(),
    )
        .into_response()
}

async fn handle(
    State(api): State<Arc<HttpApiEmulator>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let matched = api
        .routes
        .iter()
        .find_map(|r| r.matches(method.as_str(), uri.path()).map(|p| (r, p)));
    let Some((route, params)) = matched else {
        return gateway_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(pool) = api.functions.get(&route.function) else {
        return gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let event = api.event(
        route,
        &params,
        &method,
        &uri,
        &headers,
        &body,
        &peer.ip().to_string(),
    );
    match pool.invoke(&event).await {
        Ok(answer) => function_response(&answer),
        Err(e) => {
            tracing::warn!(function = %route.function, error = %e, "the integration failed");
            integration_failure(&e)
        }
    }
}

/// What API Gateway answers when the Lambda integration gives no response.
fn integration_failure(e: &InvokeError) -> Response {
    match e {
        InvokeError::TimedOut(_) => {
            gateway_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        // A throttle included: API Gateway does not retry and sends no Retry-After.
        _ => gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

/// A payload 2.0 answer as API Gateway turns it into a response.
fn function_response(answer: &Value) -> Response {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder().status(status);
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        if let (Ok(n), Some(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            value.as_str().and_then(|v| HeaderValue::from_str(v).ok()),
        ) {
            response = response.header(n, v);
        }
    }
    for (name, values) in answer["multiValueHeaders"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for value in values.as_array().into_iter().flatten() {
            if let (Ok(n), Some(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().and_then(|v| HeaderValue::from_str(v).ok()),
            ) {
                response = response.header(n, v);
            }
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        if let Some(v) = cookie.as_str().and_then(|v| HeaderValue::from_str(v).ok()) {
            response = response.header("set-cookie", v);
        }
    }
    let raw = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap_or_default()
    } else {
        raw.as_bytes().to_vec()
    };
    response.body(Body::from(body)).unwrap_or_else(|_| {
        gateway_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn failure(e: InvokeError) -> (StatusCode, Option<HeaderValue>, String) {
        let response = integration_failure(&e);
        let status = response.status();
        let retry = response.headers().get("retry-after").cloned();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_throttled_integration_is_a_500_without_retry_after_as_on_aws() {
        let (status, retry, body) = failure(InvokeError::Throttled(10)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry, None);
        assert_eq!(body, r#"{"message":"Internal Server Error"}"#);
        let (status, _, body) =
            failure(InvokeError::TimedOut(std::time::Duration::from_secs(30))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, r#"{"message":"Service Unavailable"}"#);
    }

    fn route(method: &str, path: &str) -> Route {
        Route {
            method: method.into(),
            path: path.into(),
            function: "Api".into(),
        }
    }

    #[test]
    fn a_greedy_variable_catches_children_but_not_the_root() {
        let fallback = route("ANY", "/{proxy+}");
        assert_eq!(fallback.matches("GET", "/"), None);
        let params = fallback.matches("GET", "/ui/app.js").unwrap();
        assert_eq!(params["proxy"], "ui/app.js");
        assert_eq!(route("GET", "/").matches("GET", "/"), Some(BTreeMap::new()));
        assert_eq!(route("GET", "/").matches("GET", "/x"), None);
    }

    #[test]
    fn a_path_variable_needs_a_segment() {
        let get = route("GET", "/api/v1/projects/{id}");
        assert_eq!(get.matches("GET", "/api/v1/projects/"), None);
        assert_eq!(get.matches("POST", "/api/v1/projects/a"), None);
        assert_eq!(get.matches("GET", "/api/v1/projects/a").unwrap()["id"], "a");
    }
}
