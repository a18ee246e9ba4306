//! The WebSocket API, emulated on the stage's path (`ws://HOST:PORT/<stage>`): `$connect`
//! runs the template's REQUEST authorizer when the route has one (a missing identity source
//! is refused with 401 without invoking it, a Deny with 403), then the connect integration
//! with the authorizer's context; each message is routed by the API's
//! `RouteSelectionExpression` to its route or `$default`; `$disconnect` runs on close. The
//! Management API the functions call (`/<stage>/@connections/{id}`) is served here with API
//! Gateway's limits: 128 KB per message, 32 KB per frame, 10 minutes idle, 2 hours at most.

use super::runtime::FunctionPool;
use super::template::{Template, TemplateError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

use zts_apigw::management::{self, Frame};
use zts_apigw::quotas::{IDLE_TIMEOUT, MAX_CONNECTION_AGE};
pub use zts_apigw::quotas::{MAX_FRAME_BYTES, MAX_MESSAGE_BYTES};

/// The REQUEST authorizer of the `$connect` route.
/// Why a route's integration gave no answer.
#[derive(Debug, thiserror::Error)]
enum RouteError {
    #[error("no integration for route {0}")]
    NoIntegration(String),
    #[error(transparent)]
    Invoke(#[from] super::runtime::InvokeError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectAuthorizer {
    pub logical_id: String,
    /// The function's logical id.
    pub function: String,
    /// `route.request.querystring.X` names.
    pub query: Vec<String>,
    /// `route.request.header.X` names (lower-cased).
    pub headers: Vec<String>,
}

/// The WebSocket API as template.yaml defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketSpec {
    pub logical_id: String,
    /// The body field `RouteSelectionExpression` (`$request.body.<field>`) names.
    pub selection_field: String,
    /// Route key → the logical id of the function its integration invokes.
    pub routes: BTreeMap<String, String>,
    pub authorizer: Option<ConnectAuthorizer>,
}

fn unsupported(resource: &str, property: &str, what: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported {
        resource: resource.to_string(),
        property: property.to_string(),
        what: what.into(),
    }
}

/// The names a `!Ref X` or a `!Sub` (`${X}`, `${X.Attr}`: the X) refers to, in order.
fn referenced_all(value: &serde_norway::Value) -> Vec<String> {
    let serde_norway::Value::Tagged(t) = value else {
        return Vec::new();
    };
    let Some(text) = t.value.as_str() else {
        return Vec::new();
    };
    if t.tag == "!Ref" {
        return vec![text.to_string()];
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        if let Some(name) = after[..end].split('.').next() {
            out.push(name.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// The first resource (not a pseudo parameter) a `!Ref` or `!Sub` refers to.
fn referenced(value: &serde_norway::Value) -> Option<String> {
    referenced_all(value)
        .into_iter()
        .find(|n| !n.starts_with("AWS::"))
}

impl WebSocketSpec {
    /// The template's one WEBSOCKET API, its routes and their integrations' functions.
    pub fn from_template(template: &Template) -> Result<Option<Self>, TemplateError> {
        let Some(api) = template
            .resources_of("AWS::ApiGatewayV2::Api")
            .into_iter()
            .find(|id| {
                template
                    .resource(id)
                    .map(|r| &r["Properties"]["ProtocolType"])
                    == Some(&serde_norway::Value::String("WEBSOCKET".into()))
            })
        else {
            return Ok(None);
        };
        let props = &template.resource(&api).map(|r| &r["Properties"]);
        let expression = props
            .and_then(|p| p["RouteSelectionExpression"].as_str())
            .unwrap_or_default();
        let selection_field = expression
            .strip_prefix("$request.body.")
            .filter(|f| !f.is_empty() && !f.contains('.'))
            .ok_or_else(|| {
                unsupported(
                    &api,
                    "RouteSelectionExpression",
                    format!("{expression:?}: only $request.body.<field> is emulated"),
                )
            })?
            .to_string();
        // Integration → function, through the `${Function.Arn}` in its IntegrationUri.
        let function_of = |resource: &str, property: &str| -> Result<String, TemplateError> {
            let value = template
                .resource(resource)
                .map(|r| &r["Properties"][property])
                .ok_or_else(|| unsupported(resource, property, "no such resource"))?;
            referenced_all(value)
                .into_iter()
                .find(|f| template.resource_type(f) == Some("AWS::Serverless::Function"))
                .ok_or_else(|| unsupported(resource, property, "not a function of this template"))
        };
        let mut routes = BTreeMap::new();
        let mut authorizer = None;
        for route in template.resources_of("AWS::ApiGatewayV2::Route") {
            let r = &template.resource(&route).map(|r| &r["Properties"]);
            if r.and_then(|r| referenced(&r["ApiId"])) != Some(api.clone()) {
                continue;
            }
            let key = r
                .and_then(|r| r["RouteKey"].as_str())
                .ok_or_else(|| unsupported(&route, "RouteKey", "missing"))?
                .to_string();
            let integration = r
                .and_then(|r| referenced(&r["Target"]))
                .ok_or_else(|| unsupported(&route, "Target", "not integrations/${Integration}"))?;
            let kind = template
                .resource(&integration)
                .and_then(|i| i["Properties"]["IntegrationType"].as_str());
            if kind != Some("AWS_PROXY") {
                return Err(unsupported(
                    &integration,
                    "IntegrationType",
                    format!("{kind:?}: only AWS_PROXY (Lambda) is emulated"),
                ));
            }
            routes.insert(key.clone(), function_of(&integration, "IntegrationUri")?);
            let Some(auth) = r.and_then(|r| referenced(&r["AuthorizerId"])) else {
                continue;
            };
            if key != "$connect" {
                return Err(unsupported(
                    &route,
                    "AuthorizerId",
                    "API Gateway authorizes only $connect",
                ));
            }
            let mut query = Vec::new();
            let mut headers = Vec::new();
            let sources = template
                .resource(&auth)
                .map(|a| &a["Properties"]["IdentitySource"])
                .and_then(|s| s.as_sequence())
                .ok_or_else(|| unsupported(&auth, "IdentitySource", "missing"))?;
            for source in sources {
                let source = source.as_str().unwrap_or_default();
                if let Some(q) = source.strip_prefix("route.request.querystring.") {
                    query.push(q.to_string());
                } else if let Some(h) = source.strip_prefix("route.request.header.") {
                    headers.push(h.to_ascii_lowercase());
                } else {
                    return Err(unsupported(
                        &auth,
                        "IdentitySource",
                        format!("{source:?} is not emulated"),
                    ));
                }
            }
            authorizer = Some(ConnectAuthorizer {
                function: function_of(&auth, "AuthorizerUri")?,
                logical_id: auth,
                query,
                headers,
            });
        }
        Ok(Some(WebSocketSpec {
            logical_id: api,
            selection_field,
            routes,
            authorizer,
        }))
    }

    /// The route a message takes: its selection field's value when that route exists,
    /// otherwise `$default` (None when there is none: API Gateway then drops it).
    pub fn route_for(&self, body: &str) -> Option<&str> {
        let selected = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get(&self.selection_field)?.as_str().map(str::to_string));
        match selected {
            Some(key) if !key.starts_with('$') => self
                .routes
                .get_key_value(key.as_str())
                .map(|(k, _)| k.as_str()),
            _ => None,
        }
        .or_else(|| {
            self.routes
                .get_key_value("$default")
                .map(|(k, _)| k.as_str())
        })
    }
}

/// Idle and age limits of a connection (API Gateway's unless a test shortens them).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub idle: Duration,
    pub max_age: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            idle: IDLE_TIMEOUT,
            max_age: MAX_CONNECTION_AGE,
        }
    }
}

struct Connection {
    out: mpsc::UnboundedSender<Message>,
    connected_at: SystemTime,
    last_active: Mutex<SystemTime>,
    source_ip: String,
    user_agent: String,
}

/// What the gateway counted, for tests and the exit summary.
#[derive(Debug, Default)]
pub struct GatewayCounts {
    pub connects: AtomicU64,
    pub refused: AtomicU64,
    pub messages: AtomicU64,
    pub pushes: AtomicU64,
    pub gone: AtomicU64,
    /// Messages both ways in API Gateway's metering units (32 KB each, rounded up).
    pub message_units: AtomicU64,
    /// The time connections were open, summed when each closes.
    pub connected_ms: AtomicU64,
}

pub struct WebSocketEmulator {
    spec: WebSocketSpec,
    api_id: String,
    stage: String,
    functions: BTreeMap<String, Arc<FunctionPool>>,
    connections: Mutex<HashMap<String, Arc<Connection>>>,
    limits: ConnectionLimits,
    pub counts: GatewayCounts,
}

fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A random id (32 hex digits) for requests and messages.
fn random_hex() -> String {
    zts_domain::ids::ConnectionId::generate()
        .as_str()
        .to_string()
}

/// An id shaped like API Gateway's (`L0SM9cOFvHcCIhw=`: base64 of 11 random bytes), so it
/// needs percent-encoding in the Management API's path, as the real ones do.
fn connection_id() -> String {
    use base64::Engine;
    let hex = random_hex();
    let bytes: Vec<u8> = (0..11)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn gateway_message(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

impl WebSocketEmulator {
    pub fn new(
        api_id: String,
        stage: String,
        spec: WebSocketSpec,
        functions: BTreeMap<String, Arc<FunctionPool>>,
        limits: ConnectionLimits,
    ) -> Arc<Self> {
        Arc::new(WebSocketEmulator {
            spec,
            api_id,
            stage,
            functions,
            connections: Mutex::new(HashMap::new()),
            limits,
            counts: GatewayCounts::default(),
        })
    }

    /// The stage's WebSocket path and its Management API, for the one address's router.
    pub fn router(self: Arc<Self>) -> Router {
        let stage = format!("/{}", self.stage);
        Router::new()
            .route(&stage, get(upgrade))
            .route(
                &format!("{stage}/@connections/{{id}}"),
                post(post_to_connection)
                    .get(get_connection)
                    .delete(delete_connection),
            )
            .with_state(self)
    }

    pub fn open_connections(&self) -> usize {
        self.connections.lock().map_or(0, |c| c.len())
    }

    /// The ids of the open connections (what `$connect` events carried).
    pub fn connection_ids(&self) -> Vec<String> {
        self.connections
            .lock()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn context(&self, route: &str, event_type: &str, id: &str, ip: &str) -> Map<String, Value> {
        let now = SystemTime::now();
        let mut c = Map::new();
        c.insert("routeKey".into(), json!(route));
        c.insert("eventType".into(), json!(event_type));
        c.insert("messageDirection".into(), json!("IN"));
        c.insert("stage".into(), json!(self.stage));
        c.insert("connectionId".into(), json!(id));
        c.insert("apiId".into(), json!(self.api_id));
        c.insert("requestId".into(), json!(random_hex()));
        c.insert("extendedRequestId".into(), json!(random_hex()));
        c.insert("requestTimeEpoch".into(), json!(epoch_ms(now)));
        c.insert(
            "domainName".into(),
            json!(format!("{}.execute-api.emulated", self.api_id)),
        );
        c.insert("identity".into(), json!({ "sourceIp": ip }));
        if let Some(conn) = self
            .connections
            .lock()
            .ok()
            .and_then(|c| c.get(id).cloned())
        {
            c.insert("connectedAt".into(), json!(epoch_ms(conn.connected_at)));
        } else {
            c.insert("connectedAt".into(), json!(epoch_ms(now)));
        }
        c
    }

    async fn invoke(&self, route: &str, event: &Value) -> Result<Value, RouteError> {
        let function = self
            .spec
            .routes
            .get(route)
            .and_then(|f| self.functions.get(f))
            .ok_or_else(|| RouteError::NoIntegration(route.to_string()))?;
        Ok(function.invoke(event).await?)
    }

    /// `$connect`: the authorizer (if the route has one), then the integration. Ok carries
    /// the authorizer's context for the connection; Err the status the handshake gets.
    async fn connect(
        &self,
        id: &str,
        ip: &str,
        headers: &HeaderMap,
        query: &BTreeMap<String, String>,
    ) -> Result<(), Response> {
        let headers_json: Map<String, Value> = headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), json!(v.to_str().ok()?))))
            .collect();
        let mut context = self.context("$connect", "CONNECT", id, ip);
        if let Some(auth) = &self.spec.authorizer {
            let has_identity = auth.query.iter().all(|q| query.contains_key(q))
                && auth
                    .headers
                    .iter()
                    .all(|h| headers.contains_key(h.as_str()));
            if !has_identity {
                return Err(gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized"));
            }
            let method_arn = format!(
                "arn:aws:execute-api:us-east-1:123456789012:{}/{}/$connect",
                self.api_id, self.stage
            );
            let event = json!({
                "type": "REQUEST",
                "methodArn": method_arn,
                "headers": headers_json,
                "queryStringParameters": query,
                "requestContext": context,
            });
            let answer = match self.functions.get(&auth.function) {
                Some(f) => f.invoke(&event).await,
                None => return Err(gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "")),
            };
            let answer = match answer {
                Ok(a) => a,
                // An authorizer failing with "Unauthorized" is a 401; any other failure 500.
                Err(super::runtime::InvokeError::Function { message, .. })
                    if message == "Unauthorized" =>
                {
                    return Err(gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized"));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "the $connect authorizer failed");
                    return Err(gateway_message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal server error",
                    ));
                }
            };
            let allowed = answer["policyDocument"]["Statement"]
                .as_array()
                .is_some_and(|s| {
                    !s.is_empty()
                        && s.iter().all(|st| {
                            st["Effect"]
                                .as_str()
                                .is_some_and(|e| e.eq_ignore_ascii_case("allow"))
                        })
                });
            if !allowed {
                return Err(gateway_message(StatusCode::FORBIDDEN, "Forbidden"));
            }
            let mut authorizer = answer["context"].as_object().cloned().unwrap_or_default();
            if let Some(p) = answer["principalId"].as_str() {
                authorizer.insert("principalId".into(), json!(p));
            }
            context.insert("authorizer".into(), Value::Object(authorizer));
        }
        let event = json!({
            "headers": headers_json,
            "queryStringParameters": query,
            "requestContext": context,
            "isBase64Encoded": false,
        });
        match self.invoke("$connect", &event).await {
            Ok(answer) => {
                let status = answer["statusCode"].as_u64().unwrap_or(200);
                if (200..300).contains(&status) {
                    Ok(())
                } else {
                    Err(StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
                        .into_response())
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "the $connect integration failed");
                Err(gateway_message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal server error",
                ))
            }
        }
    }

    async fn on_message(self: Arc<Self>, id: String, ip: String, body: String) {
        self.counts.messages.fetch_add(1, Ordering::Relaxed);
        self.counts.message_units.fetch_add(
            zts_cost::units::websocket_message_units(body.len() as u64),
            Ordering::Relaxed,
        );
        let Some(route) = self.spec.route_for(&body).map(str::to_string) else {
            return;
        };
        let mut context = self.context(&route, "MESSAGE", &id, &ip);
        context.insert("messageId".into(), json!(random_hex()));
        let event = json!({ "requestContext": context, "body": body, "isBase64Encoded": false });
        if let Err(e) = self.invoke(&route, &event).await {
            tracing::debug!(route, error = %e, "a WebSocket route's integration failed");
            let request_id = context["requestId"].as_str().unwrap_or_default();
            let frame = zts_apigw::client_frames::integration_failed(&id, request_id);
            self.send(&id, Message::Text(frame.into()));
        }
    }

    async fn disconnect(&self, id: &str, ip: &str, code: u16, reason: &str) {
        let mut context = self.context("$disconnect", "DISCONNECT", id, ip);
        context.insert("disconnectStatusCode".into(), json!(code));
        context.insert("disconnectReason".into(), json!(reason));
        let event = json!({ "requestContext": context, "isBase64Encoded": false });
        if self.spec.routes.contains_key("$disconnect")
            && let Err(e) = self.invoke("$disconnect", &event).await
        {
            tracing::debug!(error = %e, "the $disconnect integration failed");
        }
    }

    fn connection(&self, id: &str) -> Option<Arc<Connection>> {
        self.connections.lock().ok()?.get(id).cloned()
    }

    fn send(&self, id: &str, message: Message) -> bool {
        self.connection(id)
            .is_some_and(|c| c.out.send(message).is_ok())
    }

    /// Records a connection whose `$connect` succeeded, before the handshake's answer is
    /// sent: from then on the Management API can reach it, as API Gateway's can once
    /// `$connect` returned (a client that asks right after its handshake must find it).
    fn register(
        &self,
        id: &str,
        ip: &str,
        user_agent: &str,
    ) -> (Arc<Connection>, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let now = SystemTime::now();
        let conn = Arc::new(Connection {
            out: tx,
            connected_at: now,
            last_active: Mutex::new(now),
            source_ip: ip.to_string(),
            user_agent: user_agent.to_string(),
        });
        if let Ok(mut c) = self.connections.lock() {
            c.insert(id.to_string(), conn.clone());
        }
        (conn, rx)
    }

    fn forget(&self, id: &str) {
        if let Ok(mut c) = self.connections.lock() {
            c.remove(id);
        }
    }

    async fn run(
        self: Arc<Self>,
        socket: WebSocket,
        id: String,
        ip: String,
        conn: Arc<Connection>,
        mut rx: mpsc::UnboundedReceiver<Message>,
    ) {
        let (mut sink, mut stream) = socket.split();
        let started = Instant::now();
        let mut idle_since = Instant::now();
        let (code, reason) = loop {
            let age_left = self.limits.max_age.saturating_sub(started.elapsed());
            let idle_left = self.limits.idle.saturating_sub(idle_since.elapsed());
            tokio::select! {
                incoming = stream.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        idle_since = Instant::now();
                        if let Ok(mut t) = conn.last_active.lock() { *t = SystemTime::now(); }
                        tokio::spawn(self.clone().on_message(id.clone(), ip.clone(), text.to_string()));
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        idle_since = Instant::now();
                        let text = String::from_utf8_lossy(&bytes).to_string();
                        tokio::spawn(self.clone().on_message(id.clone(), ip.clone(), text));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => { idle_since = Instant::now(); }
                    Some(Ok(Message::Close(frame))) => {
                        break frame.map_or((1005, String::new()), |f| (f.code, f.reason.to_string()));
                    }
                    // A frame or message over its quota ends the connection with 1009, as
                    // API Gateway's quotas page says (a client sees "Message too big").
                    Some(Err(e)) => {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: 1009, reason: "Message too big".into() }))).await;
                        break (1009, e.to_string());
                    }
                    None => break (1006, "Connection closed abnormally".into()),
                },
                out = rx.recv() => {
                    let Some(out) = out else { break (1000, String::new()) };
                    let closing = matches!(out, Message::Close(_));
                    idle_since = Instant::now();
                    if sink.send(out).await.is_err() || closing {
                        break (1000, "Closed by the Management API".into());
                    }
                }
                _ = tokio::time::sleep(idle_left) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "Going away".into() }))).await;
                    break (1001, "Going away: idle timeout".into());
                }
                _ = tokio::time::sleep(age_left) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1001, reason: "Going away".into() }))).await;
                    break (1001, "Going away: maximum connection duration".into());
                }
            }
        };
        self.counts
            .connected_ms
            .fetch_add(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.forget(&id);
        self.disconnect(&id, &ip, code, &reason).await;
    }
}

async fn upgrade(
    State(gw): State<Arc<WebSocketEmulator>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return gateway_message(StatusCode::BAD_REQUEST, "Bad Request: a WebSocket upgrade");
    };
    let id = connection_id();
    let ip = peer.ip().to_string();
    if let Err(refused) = gw.connect(&id, &ip, &headers, &query).await {
        gw.counts.refused.fetch_add(1, Ordering::Relaxed);
        return refused;
    }
    gw.counts.connects.fetch_add(1, Ordering::Relaxed);
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (conn, rx) = gw.register(&id, &ip, user_agent);
    let (failed, failed_id) = (gw.clone(), id.clone());
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // The handshake never completed: nothing to reach, no socket to close.
        .on_failed_upgrade(move |_| failed.forget(&failed_id))
        .on_upgrade(move |socket| gw.run(socket, id, ip, conn, rx))
}

async fn post_to_connection(
    State(gw): State<Arc<WebSocketEmulator>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let message = match management::frame(&body) {
        Ok(Frame::Text(text)) => Message::Text(text.into()),
        Ok(Frame::Binary(bytes)) => Message::Binary(bytes.into()),
        Err(refused) => return refused.into_response(),
    };
    let units = zts_cost::units::websocket_message_units(body.len() as u64);
    if gw.send(&id, message) {
        gw.counts.pushes.fetch_add(1, Ordering::Relaxed);
        gw.counts.message_units.fetch_add(units, Ordering::Relaxed);
        management::posted()
    } else {
        gw.counts.gone.fetch_add(1, Ordering::Relaxed);
        management::gone()
    }
}

async fn get_connection(
    State(gw): State<Arc<WebSocketEmulator>>,
    Path(id): Path<String>,
) -> Response {
    let Some(c) = gw.connection(&id) else {
        return management::gone();
    };
    let last = c.last_active.lock().map_or(c.connected_at, |t| *t);
    management::described(&management::Connection {
        connected_at: c.connected_at.into(),
        last_active_at: last.into(),
        source_ip: c.source_ip.clone(),
        user_agent: c.user_agent.clone(),
    })
}

async fn delete_connection(
    State(gw): State<Arc<WebSocketEmulator>>,
    Path(id): Path<String>,
) -> Response {
    if gw.send(&id, Message::Close(None)) {
        // Gone to the Management API once the call answers, not once the socket has
        // finished closing: a GetConnection right after is 410.
        gw.forget(&id);
        management::deleted()
    } else {
        management::gone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The emulated WebSocket API holds connections to API Gateway's quotas, as the
    /// local gateway does (`zts_apigw::quotas`).
    #[test]
    fn connections_default_to_api_gateways_quotas() {
        let limits = ConnectionLimits::default();
        assert_eq!(
            (limits.idle, limits.max_age),
            (IDLE_TIMEOUT, MAX_CONNECTION_AGE)
        );
    }
}
