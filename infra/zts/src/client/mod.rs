//! `zts new`, `status`, `get`, `list`, `watch`: the HTTP API and the WebSocket as a person
//! at a terminal uses them, against the local stack or a deployment alike (`--endpoint`,
//! `--api-key`, or `ZTS_ENDPOINT` and `ZTS_API_KEY`).
//!
//! Every failure is one line a person can act on ([`ClientError`]); a rate limit is
//! waited out once, as `Retry-After` asks, before it becomes one.

pub mod commands;
pub mod follow;
pub mod summary;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// The longest `Retry-After` waited out before giving up with a line that says so.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ClientError {
    #[error(
        "could not reach {endpoint} ({reason}); is the stack running there? (zts serve, or a deployment's HttpApiUrl)"
    )]
    Unreachable { endpoint: String, reason: String },
    #[error(
        "{endpoint} answered {status} with something that is not a ZeroToShip answer; check --endpoint"
    )]
    NotZeroToShip { endpoint: String, status: u16 },
    #[error("the API refused the key ({message}); pass another with --api-key or ZTS_API_KEY")]
    BadKey { message: String },
    #[error(
        "no API key: pass --api-key or set ZTS_API_KEY (the key zts serve printed when it first started, or zts keys create)"
    )]
    NoKey,
    #[error(
        "rate limited again after waiting {waited_s} s as Retry-After asked; try later, or use a key with a higher limit (zts keys create --rate)"
    )]
    RateLimited { waited_s: u64 },
    #[error("no project {id} (or it is not yours)")]
    NotFound { id: String },
    #[error("the idea was refused: {0}")]
    Invalid(String),
    #[error("the API answered {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error(
        "{endpoint} needs TLS, and this zts was built without it; build it with --features aws (cargo install --path infra/zts --features aws)"
    )]
    NoTls { endpoint: String },
    #[error(
        "lost the WebSocket to {url} and could not get it back after {attempts} tries: {reason}"
    )]
    Disconnected {
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("the WebSocket refused: {0}")]
    Refused(String),
}

/// A client of one API with one key.
#[derive(Clone)]
pub struct Client {
    endpoint: String,
    key: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(endpoint: &str, key: Option<&str>) -> Result<Self, ClientError> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let key = key.filter(|k| !k.is_empty()).ok_or(ClientError::NoKey)?;
        if endpoint.starts_with("https:") && !cfg!(feature = "tls") {
            return Err(ClientError::NoTls { endpoint });
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ClientError::Unreachable {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            })?;
        Ok(Client {
            endpoint,
            key: key.to_string(),
            http,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One call; a 429 is waited out once (for as long as `Retry-After` says, at most a
    /// minute), then reported.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut waited = None;
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.endpoint))
                .header("x-api-key", &self.key);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(key) = idempotency_key {
                request = request.header("idempotency-key", key);
            }
            let response = request.send().await.map_err(|e| self.unreachable(&e))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let text = response.text().await.map_err(|e| self.unreachable(&e))?;
            if status.is_success() {
                // 204 No Content (a delete) reads as null.
                let text = if text.is_empty() {
                    "null"
                } else {
                    text.as_str()
                };
                return serde_json::from_str(text).map_err(|_| ClientError::NotZeroToShip {
                    endpoint: self.endpoint.clone(),
                    status: status.as_u16(),
                });
            }
            if status == StatusCode::TOO_MANY_REQUESTS && waited.is_none() {
                let wait = Duration::from_secs(retry_after.unwrap_or(1)).min(MAX_RETRY_WAIT);
                eprintln!(
                    "rate limited; waiting {} s as the API asked",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
                waited = Some(wait);
                continue;
            }
            return Err(self.failure(status, &text, path, waited));
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> ClientError {
        // reqwest's Display is "error sending request for url (…)"; the source says why.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        ClientError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason,
        }
    }

    fn failure(
        &self,
        status: StatusCode,
        text: &str,
        path: &str,
        waited: Option<Duration>,
    ) -> ClientError {
        let Some(error) = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get("error").cloned())
        else {
            return ClientError::NotZeroToShip {
                endpoint: self.endpoint.clone(),
                status: status.as_u16(),
            };
        };
        let code = error["code"].as_str().unwrap_or_default().to_string();
        let message = error["message"].as_str().unwrap_or_default().to_string();
        match status {
            StatusCode::UNAUTHORIZED => ClientError::BadKey { message },
            StatusCode::TOO_MANY_REQUESTS => ClientError::RateLimited {
                waited_s: waited.map_or(0, |w| w.as_secs()),
            },
            StatusCode::NOT_FOUND if code == "not_found" && path.contains("/projects/") => {
                ClientError::NotFound {
                    id: path
                        .trim_start_matches("/api/v1/projects/")
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                }
            }
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
                let fields: Vec<String> = error["details"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        format!(
                            "{}: {}",
                            d["field"].as_str().unwrap_or("body"),
                            d["message"].as_str().unwrap_or_default()
                        )
                    })
                    .collect();
                ClientError::Invalid(if fields.is_empty() {
                    message
                } else {
                    fields.join("; ")
                })
            }
            _ => ClientError::Api {
                status: status.as_u16(),
                code,
                message,
            },
        }
    }

    pub async fn create(&self, idea: &Value) -> Result<Value, ClientError> {
        // One key per invocation: the wait-and-retry of a 429 cannot make a second project.
        let key = uuid::Uuid::new_v4().to_string();
        self.call(Method::POST, "/api/v1/projects", Some(idea), Some(&key))
            .await
    }

    pub async fn project(&self, id: &str) -> Result<Value, ClientError> {
        self.call(Method::GET, &format!("/api/v1/projects/{id}"), None, None)
            .await
    }

    pub async fn status(&self, id: &str) -> Result<Value, ClientError> {
        self.call(
            Method::GET,
            &format!("/api/v1/projects/{id}/status"),
            None,
            None,
        )
        .await
    }

    pub async fn list(&self, limit: u32, cursor: Option<&str>) -> Result<Value, ClientError> {
        let mut path = format!("/api/v1/projects?limit={limit}");
        if let Some(cursor) = cursor {
            path.push_str("&cursor=");
            path.push_str(&encode(cursor));
        }
        self.call(Method::GET, &path, None, None).await
    }

    /// Retries a FAILED project; one key per invocation, like a create.
    pub async fn retry(&self, id: &str) -> Result<Value, ClientError> {
        let key = uuid::Uuid::new_v4().to_string();
        self.call(
            Method::POST,
            &format!("/api/v1/projects/{id}/retry"),
            None,
            Some(&key),
        )
        .await
    }

    pub async fn cancel(&self, id: &str) -> Result<Value, ClientError> {
        self.call(
            Method::POST,
            &format!("/api/v1/projects/{id}/cancel"),
            None,
            None,
        )
        .await
    }

    pub async fn delete(&self, id: &str) -> Result<Value, ClientError> {
        self.call(
            Method::DELETE,
            &format!("/api/v1/projects/{id}"),
            None,
            None,
        )
        .await
    }

    pub async fn export(&self, id: &str) -> Result<Value, ClientError> {
        self.call(
            Method::GET,
            &format!("/api/v1/projects/{id}/export"),
            None,
            None,
        )
        .await
    }

    /// The seq of the project's newest event (0 before the first).
    pub async fn last_seq(&self, id: &str) -> Result<u64, ClientError> {
        let mut after = 0;
        loop {
            let page: Value = self
                .call(
                    Method::GET,
                    &format!("/api/v1/projects/{id}/events?after={after}&limit=1000"),
                    None,
                    None,
                )
                .await?;
            let last = page["last_seq"].as_u64().unwrap_or(after);
            if last == after {
                return Ok(last);
            }
            after = last;
        }
    }

    pub async fn ticket(&self) -> Result<Value, ClientError> {
        self.call(Method::POST, "/api/v1/ws-tickets", None, None)
            .await
    }
}

/// Percent-encodes a query value (cursors are base64url, but a person may paste anything).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_one_line_saying_where_to_get_one() {
        let e = Client::new("http://127.0.0.1:1", None).err().unwrap();
        assert_eq!(e, ClientError::NoKey);
        assert!(e.to_string().contains("ZTS_API_KEY"));
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a+b/c="), "a%2Bb%2Fc%3D");
        assert_eq!(encode("abc-_.~"), "abc-_.~");
    }

    #[test]
    fn field_errors_name_their_fields() {
        let client = Client::new("http://127.0.0.1:1", Some("k")).unwrap();
        let body = r#"{"error":{"code":"validation_failed","message":"2 fields","details":[
            {"field":"name","code":"required","message":"name is required"},
            {"field":"target_avatars[1]","code":"duplicate","message":"listed twice"}]}}"#;
        let e = client.failure(
            StatusCode::UNPROCESSABLE_ENTITY,
            body,
            "/api/v1/projects",
            None,
        );
        assert_eq!(
            e.to_string(),
            "the idea was refused: name: name is required; target_avatars[1]: listed twice"
        );
        let html = client.failure(StatusCode::NOT_FOUND, "<html>", "/x", None);
        assert!(matches!(
            html,
            ClientError::NotZeroToShip { status: 404, .. }
        ));
    }
}
