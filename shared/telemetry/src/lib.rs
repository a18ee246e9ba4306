//! Structured logs: JSON lines with stable keys (Powertools style), so CloudWatch Logs
//! Insights and a local `jq` read the same fields.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once. `RUST_LOG` (or `default_filter`) picks the levels.
/// Calling it twice is harmless: the second call keeps the first subscriber.
pub fn init_json(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_target(false)
        .with_env_filter(filter)
        .try_init();
}
