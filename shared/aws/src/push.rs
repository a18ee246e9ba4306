//! [`EventPusher`] on the API Gateway Management API: one PostToConnection per message.
//! 410 Gone is [`PushError::Gone`] (the caller decides whether to delete the connection);
//! throttling (429, `LimitExceededException`), 5xx and transport failures are retried here
//! with capped exponential back-off and full jitter, then reported as transient; anything
//! else (403, payload too large) is a plain failure. The SDK's own retries are off so this
//! one policy is the whole story.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::config::retry::RetryConfig;
use aws_sdk_apigatewaymanagement::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use rand::Rng;
use std::time::Duration;
use zts_domain::ports::{EventPusher, PushError};

/// How a push is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushRetry {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for PushRetry {
    /// Four attempts within about a second: a stream batch must not stall on one client.
    fn default() -> Self {
        PushRetry {
            max_attempts: 4,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(800),
        }
    }
}

impl PushRetry {
    /// The full-jitter delay before retry number `retry` (1-based).
    fn delay(&self, retry: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        let millis = cap.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[derive(Debug, Clone)]
pub struct ApiGatewayPusher {
    client: Client,
    retry: PushRetry,
}

impl ApiGatewayPusher {
    /// A pusher for one WebSocket API stage: `endpoint` is
    /// `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}` (or the local
    /// gateway's root).
    pub fn new(config: &aws_config::SdkConfig, endpoint: &str, retry: PushRetry) -> Self {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config)
            .endpoint_url(endpoint)
            .retry_config(RetryConfig::disabled())
            .build();
        ApiGatewayPusher {
            client: Client::from_conf(conf),
            retry,
        }
    }

    pub fn from_client(client: Client, retry: PushRetry) -> Self {
        ApiGatewayPusher { client, retry }
    }
}

enum Verdict {
    Gone,
    Retry(String),
    Fail(String),
}

fn classify(e: &SdkError<PostToConnectionError, HttpResponse>) -> Verdict {
    let status = e.raw_response().map(|r| r.status().as_u16());
    match e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("Unknown");
            let message = format!("{code}: {}", err.message().unwrap_or_default());
            match (err, status) {
                (PostToConnectionError::GoneException(_), _) | (_, Some(410)) => Verdict::Gone,
                (PostToConnectionError::LimitExceededException(_), _) | (_, Some(429)) => {
                    Verdict::Retry(message)
                }
                (_, Some(s)) if s >= 500 => Verdict::Retry(message),
                _ => Verdict::Fail(message),
            }
        }
        // Timeouts, dispatch failures (connection refused, TLS) and unreadable responses.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            Verdict::Retry(format!("{e:?}"))
        }
        _ => Verdict::Fail(format!("{e:?}")),
    }
}

/// The connection id the readiness probe asks about: shaped like API Gateway's (16
/// base64 characters) so the request is well-formed, and never one it hands out in
/// practice (if it ever were, a 200 would answer ready just as well).
const PROBE_CONNECTION: &str = "ztsReadyProbe00=";

#[async_trait]
impl EventPusher for ApiGatewayPusher {
    /// GetConnection of a connection that does not exist: 410 Gone (or 200, 400) means
    /// the endpoint is the stage's, it is reachable, and this role may call it; 403 (no
    /// grant, or another API or stage), 404, 5xx and transport failures mean the
    /// functions that push cannot either. One attempt: a probe reports, it does not retry.
    async fn ready(&self) -> Result<(), PushError> {
        let result = self
            .client
            .get_connection()
            .connection_id(PROBE_CONNECTION)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.raw().status().as_u16() {
                400 | 410 => Ok(()),
                status => Err(PushError::Failed(format!(
                    "the management endpoint answered {status} ({}: {})",
                    e.err().code().unwrap_or("Unknown"),
                    e.err().message().unwrap_or_default()
                ))),
            },
            Err(e) => Err(PushError::Failed(format!(
                "the management endpoint did not answer: {}",
                aws_sdk_apigatewaymanagement::error::DisplayErrorContext(&e)
            ))),
        }
    }

    async fn push(
        &self,
        connection: &zts_domain::ids::ConnectionId,
        message: &str,
    ) -> Result<(), PushError> {
        let mut attempt = 1;
        loop {
            let result = self
                .client
                .post_to_connection()
                .connection_id(connection.as_str())
                .data(Blob::new(message.as_bytes()))
                .send()
                .await;
            let verdict = match result {
                Ok(_) => return Ok(()),
                Err(e) => classify(&e),
            };
            match verdict {
                Verdict::Gone => return Err(PushError::Gone),
                Verdict::Fail(m) => return Err(PushError::Failed(m)),
                Verdict::Retry(m) if attempt >= self.retry.max_attempts => {
                    return Err(PushError::Transient(m));
                }
                Verdict::Retry(m) => {
                    tracing::debug!(connection_id = %connection, attempt, reason = %m, "push retried");
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_jittered_below_a_capped_exponential() {
        let retry = PushRetry {
            max_attempts: 8,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        };
        for n in 1..=8u32 {
            let cap = Duration::from_millis((10u64 << n).min(100));
            let draws: Vec<Duration> = (0..200).map(|_| retry.delay(n)).collect();
            assert!(draws.iter().all(|d| *d <= cap), "retry {n}");
            // Full jitter: spread over the range, not pinned to the cap.
            assert!(draws.iter().any(|d| *d < cap / 2), "retry {n}");
        }
    }
}
