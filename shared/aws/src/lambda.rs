//! What every Lambda entry point shares (feature `lambda`): step failures leave the
//! function with their stable error type names (the ASL Retry/Catch match on them), and
//! the stores and the pusher are built once, during init, from each function's typed
//! `Config` (its `src/config.rs`).

use crate::deploy::{Secret, sdk_config};
use crate::{ApiGatewayPusher, DynamoKeyStore, DynamoStore, PushRetry, Tables};
use lambda_runtime::Diagnostic;
use std::sync::OnceLock;
use zts_domain::metrics;
use zts_domain::step::StepFailure;

/// A step failure as Lambda reports it: `errorType` is the stable name the ASL's Retry
/// and Catch match, `errorMessage` the reason.
pub fn diagnostic(failure: StepFailure) -> Diagnostic {
    Diagnostic {
        error_type: failure.error_type().to_string(),
        error_message: failure.message,
    }
}

/// The store on the deployment's tables, for functions that never list projects (they
/// need no cursor secret).
pub fn dynamo_store(config: &aws_config::SdkConfig, tables: Tables) -> DynamoStore {
    DynamoStore::without_listing(aws_sdk_dynamodb::Client::new(config), tables)
}

/// The store for the api, which signs list cursors with the deployment's shared secret.
pub fn listing_dynamo_store(
    config: &aws_config::SdkConfig,
    tables: Tables,
    cursor_secret: &Secret,
) -> DynamoStore {
    DynamoStore::new(
        aws_sdk_dynamodb::Client::new(config),
        tables,
        cursor_secret.expose().as_bytes(),
    )
}

/// A secret's value from Secrets Manager (read once, at init).
pub async fn secret(
    config: &aws_config::SdkConfig,
    id: &str,
    min_len: usize,
) -> Result<Secret, crate::secrets::SecretError> {
    crate::secrets::read_secret(&aws_sdk_secretsmanager::Client::new(config), id, min_len).await
}

/// The ApiKeys table alone (the `$connect` authorizer).
pub fn key_store(config: &aws_config::SdkConfig, api_keys_table: &str) -> DynamoKeyStore {
    DynamoKeyStore::new(aws_sdk_dynamodb::Client::new(config), api_keys_table)
}

/// The Step Functions starter for the deployment's state machines, one per workflow.
pub fn workflow_starter(
    config: &aws_config::SdkConfig,
    machines: &crate::deploy::StateMachines,
) -> crate::StepFunctionsStarter {
    machines.0.iter().fold(
        crate::StepFunctionsStarter::new(aws_sdk_sfn::Client::new(config), machines.default_arn()),
        |starter, (workflow, arn)| starter.with_workflow(workflow, arn),
    )
}

/// The pusher for the deployment's WebSocket API stage (its management endpoint).
pub fn pusher(config: &aws_config::SdkConfig, management_endpoint: &str) -> ApiGatewayPusher {
    ApiGatewayPusher::new(config, management_endpoint, PushRetry::default())
}

/// Logs as JSON lines, metrics as CloudWatch EMF, and the SDK configuration: the first
/// lines of every `main`. `service` names the function on every log line and metric
/// document.
pub async fn init(service: &'static str) -> aws_config::SdkConfig {
    zts_telemetry::init_lambda(service);
    // The template gives each stage its own namespace (`ZeroToShip/<stage>`).
    let namespace =
        std::env::var(METRICS_NAMESPACE_VAR).unwrap_or_else(|_| metrics::NAMESPACE.to_string());
    install_metrics(service, namespace);
    sdk_config().await
}

/// The variable naming the CloudWatch namespace the metrics go to.
pub const METRICS_NAMESPACE_VAR: &str = "ZTS_METRICS_NAMESPACE";

/// The EMF collector, once installed: every invocation's metrics are written through it.
static EMF: OnceLock<&'static metrics_cloudwatch_embedded::Collector> = OnceLock::new();

/// Installs the EMF recorder (namespace `ZeroToShip`, `service` a property of every
/// document, never a dimension: the dashboard asks for each metric by its own labels).
fn install_metrics(service: &'static str, namespace: String) {
    if EMF.get().is_some() {
        return;
    }
    match metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace)
        .init()
    {
        Ok(collector) => {
            collector.set_property("service", service);
            let _ = EMF.set(collector);
            metrics::describe_units();
        }
        Err(e) => tracing::warn!(error = %e, "metrics are off: a recorder was already installed"),
    }
}

/// Writes what the invocation recorded as EMF documents (one JSON line per label set) to
/// `out`; on Lambda that is stdout, where CloudWatch Logs turns them into metrics without
/// an API call.
pub fn flush_metrics(out: impl std::io::Write) {
    if let Some(collector) = EMF.get()
        && let Err(e) = collector.flush(out)
    {
        tracing::warn!(error = %e, "could not write the invocation's metrics");
    }
}

/// Runs one invocation: counts a cold start on the process's first, writes the metrics it
/// recorded when it ends, and from then on log lines say `cold_start: false`.
pub async fn invocation<F: Future>(work: F) -> F::Output {
    if zts_telemetry::is_cold() {
        metrics::cold_start();
    }
    let output = work.await;
    flush_metrics(std::io::stdout().lock());
    zts_telemetry::first_invocation_done();
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;
    use zts_domain::metrics::{PushStatus, RunEnd};
    use zts_domain::project::StepName;
    use zts_domain::step::FailureKind;

    /// Every metric the code defines, recorded once and flushed as EMF, is valid EMF with
    /// the definition's unit and exactly its labels as dimensions; a second flush with
    /// nothing recorded writes nothing (one document set per invocation, no repeats).
    #[test]
    fn every_metric_flushes_as_valid_emf_with_its_definitions_unit_and_dimensions() {
        install_metrics("test", "ZeroToShip/test".into());
        let step = StepName::Validator;
        metrics::project_created(metrics::DEFAULT_WORKFLOW);
        metrics::project_replayed(metrics::DEFAULT_WORKFLOW);
        metrics::project_retried(metrics::DEFAULT_WORKFLOW);
        metrics::project_deleted(metrics::DEFAULT_WORKFLOW);
        metrics::run_ended(metrics::DEFAULT_WORKFLOW, RunEnd::Rejected);
        metrics::step_retried(step);
        metrics::step_succeeded(step, Duration::from_millis(12));
        metrics::step_failed(step, "ZeroToShip.Transient", Duration::from_millis(3));
        metrics::event_published();
        metrics::pushed(PushStatus::Delivered, 2);
        metrics::poison_record();
        metrics::connection_opened();
        metrics::subscribed();
        metrics::open_now(zts_domain::ports::OpenTotals {
            connections: 3,
            subscriptions: 7,
        });
        metrics::auth_rejected();
        metrics::rate_limited();
        metrics::reconciler_restarted();
        metrics::reconciler_gave_up();
        metrics::cold_start();
        metrics::error_answered("validation_failed");
        metrics::request_processed(Duration::from_millis(5));

        let mut out = Vec::new();
        flush_metrics(&mut out);
        let text = String::from_utf8(out).unwrap();
        let mut seen = BTreeMap::new();
        for line in text.lines() {
            assert_eq!(
                serde_json::from_str::<Value>(line).unwrap()["service"],
                "test"
            );
            for metric in zts_telemetry::emf::check(line).unwrap_or_else(|e| panic!("{e}: {line}"))
            {
                assert_eq!(metric.namespace, "ZeroToShip/test");
                seen.insert(metric.name.clone(), metric);
            }
        }
        for m in metrics::ALL {
            let flushed = seen
                .get(m.name)
                .unwrap_or_else(|| panic!("{} was not flushed:\n{text}", m.name));
            assert_eq!(
                flushed.unit.as_deref(),
                Some(m.unit.cloudwatch()),
                "{}",
                m.name
            );
            let labels: BTreeSet<String> = m.labels.iter().map(|l| l.to_string()).collect();
            assert_eq!(flushed.dimension_sets, vec![labels], "{}", m.name);
        }

        // Counters and histograms flush only what happened since; a gauge flushes its
        // value again (only the reconciler sets one, once per pass, so once per pass).
        let mut again = Vec::new();
        flush_metrics(&mut again);
        let again = String::from_utf8(again).unwrap();
        for line in again.lines() {
            for metric in zts_telemetry::emf::check(line).unwrap() {
                assert_eq!(
                    metrics::find(&metric.name).map(|m| m.kind),
                    Some(metrics::Kind::Gauge),
                    "{} flushed twice",
                    metric.name
                );
            }
        }
    }

    #[test]
    fn step_failures_leave_with_their_stable_names() {
        for (kind, name) in [
            (FailureKind::Transient, "ZeroToShip.Transient"),
            (FailureKind::Invalid, "ZeroToShip.Invalid"),
            (FailureKind::Conflict, "ZeroToShip.Conflict"),
            (FailureKind::Internal, "ZeroToShip.Internal"),
        ] {
            let d = diagnostic(StepFailure::new(kind, "why"));
            assert_eq!(d.error_type, name);
            assert_eq!(d.error_message, "why");
        }
    }
}
