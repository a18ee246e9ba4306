//! What every request leaves behind for the people who run the api (ARCHITECTURE.md §11):
//! a correlation id (taken from the caller when it is usable, returned in
//! `x-correlation-id`, stored with a created project so every line of its run carries it),
//! one log line at info, and its duration in `zerotoship_request_processing_seconds`.
//!
//! Own middleware rather than tower-http's `TraceLayer`: the line needs the route
//! template, the caller's key id (known only inside authentication) and the correlation
//! id chosen here, in one event with stable keys.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;
use zts_domain::metrics;

/// The longest correlation or request id taken from a caller.
pub const MAX_ID_LEN: usize = 128;

/// The request's correlation id, in the request's extensions for the handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

/// The caller's key id (the start of its hash), put in the response's extensions by
/// authentication so the request line can name the caller without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId(pub String);

/// An id a caller sent, if it is one a log line may carry as it is: 1–128 visible ASCII
/// characters (no spaces, no control characters). Anything else is replaced, never logged.
pub fn usable_id(value: Option<&HeaderValue>) -> Option<&str> {
    let v = value?.to_str().ok()?;
    (!v.is_empty() && v.len() <= MAX_ID_LEN && v.bytes().all(|b| b.is_ascii_graphic())).then_some(v)
}

/// The correlation id of a request: the caller's `x-correlation-id`, else its
/// `x-request-id` (each only when usable), else `fallback` (API Gateway's request id on
/// Lambda, a fresh UUID locally).
pub fn correlation_id(headers: &HeaderMap, fallback: impl FnOnce() -> String) -> String {
    usable_id(headers.get("x-correlation-id"))
        .or_else(|| usable_id(headers.get("x-request-id")))
        .map_or_else(fallback, str::to_string)
}

/// The request id this deployment gives a request the caller sent none for.
fn own_request_id(req: &Request) -> String {
    #[cfg(feature = "lambda")]
    {
        use lambda_http::RequestExt;
        use lambda_http::request::RequestContext;
        if let Some(RequestContext::ApiGatewayV2(context)) = req.request_context_ref()
            && let Some(id) = context.request_id.as_deref().filter(|id| !id.is_empty())
        {
            return id.to_string();
        }
    }
    let _ = req;
    uuid::Uuid::new_v4().to_string()
}

/// The outermost layer: settles the request and correlation ids, runs the request inside
/// a `request` span that carries them, and logs and times its answer.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    // A request id the caller sent that no log line may carry is replaced.
    let request_id = match usable_id(req.headers().get("x-request-id")) {
        Some(id) => id.to_string(),
        None => own_request_id(&req),
    };
    let correlation = correlation_id(req.headers(), || request_id.clone());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        req.headers_mut().insert("x-request-id", v.clone());
    }
    req.extensions_mut()
        .insert(CorrelationId(correlation.clone()));
    // `project_id` is recorded by the routes that know it (a create, once stored).
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        correlation_id = %correlation,
        project_id = tracing::field::Empty,
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    let took = started.elapsed();
    metrics::request_processed(took);
    let key_id = res.extensions().get::<KeyId>().map_or("", |k| k.0.as_str());
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            duration_ms = took.as_secs_f64() * 1000.0,
            key_id,
            request_id = %request_id,
            "request"
        );
    });
    for (name, value) in [
        ("x-request-id", &request_id),
        ("x-correlation-id", &correlation),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            res.headers_mut().insert(name, v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn a_usable_caller_id_is_kept() {
        let h = headers(&[("x-correlation-id", b"order-42"), ("x-request-id", b"r-1")]);
        assert_eq!(correlation_id(&h, || "fallback".into()), "order-42");
        let h = headers(&[("x-request-id", b"r-1")]);
        assert_eq!(correlation_id(&h, || "fallback".into()), "r-1");
        assert_eq!(
            correlation_id(&HeaderMap::new(), || "fallback".into()),
            "fallback"
        );
    }

    #[test]
    fn a_hostile_id_is_replaced() {
        let long = vec![b'a'; 10 * 1024];
        let cases: [&[u8]; 5] = [&long, b"a b", b"tab\there", b"caf\xc3\xa9", b""];
        for bad in cases {
            let h = headers(&[("x-correlation-id", bad)]);
            assert_eq!(
                correlation_id(&h, || "fallback".into()),
                "fallback",
                "{bad:?}"
            );
        }
        let exactly = "b".repeat(MAX_ID_LEN);
        let h = headers(&[("x-correlation-id", exactly.as_bytes())]);
        assert_eq!(correlation_id(&h, || "fallback".into()), exactly);
    }
}
