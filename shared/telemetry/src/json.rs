//! The JSON line format: one object per event, the keys of every enclosing span flattened
//! into it (inner spans win, the event's own fields win over any span's).

use serde_json::{Map, Value};
use std::fmt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Powertools-style JSON lines (see the crate's documentation for the keys).
#[derive(Debug, Clone)]
pub struct PowertoolsJson {
    service: &'static str,
    lambda: bool,
}

impl PowertoolsJson {
    pub fn new(service: &'static str, lambda: bool) -> Self {
        PowertoolsJson { service, lambda }
    }
}

/// The Lambda runtime's span names its fields in camelCase; the lines use Powertools' keys.
fn key(name: &str) -> String {
    match name {
        "requestId" => "function_request_id".into(),
        "xrayTraceId" => "xray_trace_id".into(),
        "tenantId" => "tenant_id".into(),
        other => other.to_string(),
    }
}

impl<S, N> FormatEvent<S, N> for PowertoolsJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        line.insert(
            "level".into(),
            Value::from(event.metadata().level().as_str()),
        );
        line.insert(
            "timestamp".into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        line.insert("service".into(), Value::from(self.service));
        if self.lambda {
            line.insert("cold_start".into(), Value::from(crate::is_cold()));
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(fields) {
                    for (name, value) in fields {
                        line.insert(key(&name), value);
                    }
                }
            }
        }
        event.record(&mut Fields(&mut line));
        line.entry("message").or_insert_with(|| Value::from(""));
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON values; an error with the chain of its causes.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(key(field.name()), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(key(field.name()), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(key(field.name()), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(key(field.name()), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(key(field.name()), Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.0.insert(key(field.name()), Value::from(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(key(field.name()), Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn lines(f: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(PowertoolsJson::new("validator", true))
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the store failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_line_carries_every_enclosing_span_flattened_with_stable_keys() {
        let out = lines(|| {
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _i = invoke.enter();
            let step = tracing::info_span!(
                "step",
                correlation_id = "c-9",
                project_id = "p-1",
                step = "validator",
                attempt = 2u32,
                execution_id = tracing::field::Empty
            );
            step.record("execution_id", "arn:exec");
            let _s = step.enter();
            let io = std::io::Error::other("disk full");
            tracing::warn!(
                error = &Outer(io) as &dyn std::error::Error,
                seq = 3u64,
                "could not record"
            );
        });
        assert_eq!(out.len(), 1);
        let line = &out[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "could not record");
        assert_eq!(line["service"], "validator");
        assert_eq!(line["cold_start"], true);
        assert_eq!(line["function_request_id"], "req-1");
        assert_eq!(line["correlation_id"], "c-9");
        assert_eq!(line["project_id"], "p-1");
        assert_eq!(line["execution_id"], "arn:exec");
        assert_eq!(line["step"], "validator");
        assert_eq!(line["attempt"], 2);
        assert_eq!(line["seq"], 3);
        assert_eq!(line["error"], "the store failed: disk full");
        assert!(chrono::DateTime::parse_from_rfc3339(line["timestamp"].as_str().unwrap()).is_ok());
        assert!(line.get("requestId").is_none());
    }

    #[test]
    fn an_inner_span_wins_and_a_line_outside_spans_still_has_the_base_keys() {
        let out = lines(|| {
            let outer = tracing::info_span!("request", correlation_id = "outer");
            let _o = outer.enter();
            let inner = tracing::info_span!("step", correlation_id = "inner");
            inner.in_scope(|| tracing::info!("inside"));
            drop(_o);
            tracing::info!(project_id = "p-2", "outside");
        });
        assert_eq!(out[0]["correlation_id"], "inner");
        assert_eq!(out[1]["correlation_id"], Value::Null);
        assert_eq!(out[1]["project_id"], "p-2");
        for key in ["level", "message", "timestamp", "service", "cold_start"] {
            assert!(out[1].get(key).is_some(), "{key} missing");
        }
    }
}
