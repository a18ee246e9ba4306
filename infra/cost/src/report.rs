//! `zts cost`: what a million projects cost, from counts of a real run and a price table.
//! The counts say what happened per service (README "What a project costs" says where
//! each comes from); the prices file says what each unit costs, where, when, and on which
//! AWS page it is listed. Both workflow types are priced side by side: only Step Functions
//! differs between them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The built-in price table (`infra/cost/prices-us-east-1.json`).
pub const PRICES: &str = include_str!("../prices-us-east-1.json");

/// One function's work in the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCounts {
    pub invocations: u64,
    /// The sum of each invocation's billed duration (rounded up to 1 ms).
    pub billed_ms: u64,
    pub memory_mb: u32,
    /// `arm64` or `x86_64`, as the template deploys it.
    pub architecture: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TableUnits {
    pub write_units: f64,
    pub read_units: f64,
}

/// What a run did, summed over its projects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Projects created, each run to its end.
    pub projects: u64,
    /// By function name.
    pub lambda: BTreeMap<String, FunctionCounts>,
    /// By table (a table's indexes are counted with it).
    pub dynamodb: BTreeMap<String, TableUnits>,
    /// The write units by table and item kind (`projects META`, `projects index
    /// by-owner`, …): where the writes go.
    #[serde(default)]
    pub dynamodb_writes_by_item: BTreeMap<String, f64>,
    /// Standard: every state entered is a transition.
    pub state_transitions: u64,
    pub executions: u64,
    /// Express: the executions' GB-seconds, each rounded up to 100 ms and 64 MB.
    pub express_gb_seconds: f64,
    /// HTTP API requests, in 512 KB units.
    pub http_request_units: u64,
    /// WebSocket messages (in and out), in 32 KB units.
    pub websocket_message_units: u64,
    pub websocket_connection_minutes: f64,
    pub secrets_manager_calls: u64,
    pub log_bytes: u64,
    pub xray_traces: u64,
}

/// What a deployment costs a month with no traffic, from the template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fixed {
    pub kms_keys: u64,
    pub secrets: u64,
    pub dashboards: u64,
    /// Each metric an alarm reads is billed (a metric-math alarm by its metrics).
    pub alarm_metrics: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error("the counts are not valid: {0}")]
    Counts(String),
    #[error("the price table lacks {0}")]
    Price(String),
    #[error("the price table is not JSON: {0}")]
    Prices(String),
}

struct Prices(Value);

impl Prices {
    fn get(&self, service: &str, key: &str) -> Result<f64, CostError> {
        self.0[service][key]
            .as_f64()
            .ok_or_else(|| CostError::Price(format!("{service}.{key}")))
    }

    fn text(&self, key: &str) -> String {
        self.0[key].as_str().unwrap_or("?").to_string()
    }
}

/// One line of the table: per project, and per million projects on each workflow type.
struct Line {
    service: &'static str,
    unit: String,
    per_project: f64,
    standard: Option<f64>,
    express: Option<f64>,
}

/// The table for `counts` at `prices` (JSON text), with the idle deployment's monthly cost.
pub fn render(counts: &Counts, fixed: &Fixed, prices: &str) -> Result<String, CostError> {
    let prices =
        Prices(serde_json::from_str(prices).map_err(|e| CostError::Prices(e.to_string()))?);
    if counts.projects == 0 {
        return Err(CostError::Counts("no projects were counted".into()));
    }
    let n = counts.projects as f64;
    let million = 1_000_000.0;
    let both = |x: f64| (Some(x), Some(x));
    let mut lines = Vec::new();
    let mut push = |service,
                    unit: String,
                    per_project: f64,
                    (standard, express): (Option<f64>, Option<f64>)| {
        lines.push(Line {
            service,
            unit,
            per_project,
            standard,
            express,
        })
    };

    let invocations: u64 = counts.lambda.values().map(|f| f.invocations).sum();
    let per = invocations as f64 / n;
    push(
        "Lambda",
        "requests".into(),
        per,
        both(per * million / 1e6 * prices.get("lambda", "per_million_requests")?),
    );
    let mut gb_s_cost = 0.0;
    let mut gb_s = 0.0;
    for f in counts.lambda.values() {
        let g = super::units::gb_seconds(f.billed_ms, f.memory_mb);
        let key = if f.architecture == "x86_64" {
            "per_gb_second_x86_64"
        } else {
            "per_gb_second_arm64"
        };
        gb_s += g;
        gb_s_cost += g * prices.get("lambda", key)?;
    }
    push(
        "Lambda",
        "GB-seconds".into(),
        gb_s / n,
        both(gb_s_cost / n * million),
    );
    let writes: f64 = counts.dynamodb.values().map(|t| t.write_units).sum();
    let reads: f64 = counts.dynamodb.values().map(|t| t.read_units).sum();
    push(
        "DynamoDB",
        "write request units".into(),
        writes / n,
        both(writes / n * prices.get("dynamodb", "per_million_write_request_units")?),
    );
    push(
        "DynamoDB",
        "read request units".into(),
        reads / n,
        both(reads / n * prices.get("dynamodb", "per_million_read_request_units")?),
    );
    let transitions = counts.state_transitions as f64 / n;
    push(
        "Step Functions",
        "Standard state transitions".into(),
        transitions,
        (
            Some(
                transitions * million / 1000.0
                    * prices.get("step_functions", "standard_per_thousand_transitions")?,
            ),
            None,
        ),
    );
    let executions = counts.executions as f64 / n;
    let express_gb_s = counts.express_gb_seconds / n;
    push(
        "Step Functions",
        "Express requests".into(),
        executions,
        (
            None,
            Some(executions * prices.get("step_functions", "express_per_million_requests")?),
        ),
    );
    push(
        "Step Functions",
        "Express GB-seconds".into(),
        express_gb_s,
        (
            None,
            Some(express_gb_s * million * prices.get("step_functions", "express_per_gb_second")?),
        ),
    );
    let http = counts.http_request_units as f64 / n;
    push(
        "HTTP API",
        "requests".into(),
        http,
        both(http * prices.get("api_gateway", "http_per_million_requests")?),
    );
    let messages = counts.websocket_message_units as f64 / n;
    push(
        "WebSocket API",
        "messages".into(),
        messages,
        both(messages * prices.get("api_gateway", "websocket_per_million_messages")?),
    );
    let minutes = counts.websocket_connection_minutes / n;
    push(
        "WebSocket API",
        "connection minutes".into(),
        minutes,
        both(minutes * prices.get("api_gateway", "websocket_per_million_connection_minutes")?),
    );
    let calls = counts.secrets_manager_calls as f64 / n;
    push(
        "Secrets Manager",
        "API calls".into(),
        calls,
        both(calls * million / 10_000.0 * prices.get("secrets_manager", "per_ten_thousand_calls")?),
    );
    let gb = counts.log_bytes as f64 / n / 1_073_741_824.0;
    push(
        "CloudWatch Logs",
        "GB ingested".into(),
        gb,
        both(gb * million * prices.get("cloudwatch", "logs_per_gb_ingested")?),
    );
    let traces = counts.xray_traces as f64 / n;
    push(
        "X-Ray",
        "traces recorded".into(),
        traces,
        both(traces * prices.get("xray", "per_million_traces_recorded")?),
    );

    let mut out = String::new();
    let _ = writeln!(
        out,
        "What 1,000,000 projects cost on AWS ({}, prices as of {}), from {} projects counted",
        prices.text("region"),
        prices.text("as_of"),
        counts.projects
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<16} {:<28} {:>14} {:>14} {:>14}",
        "service", "unit", "per project", "Standard $", "Express $"
    );
    let money = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
    let (mut standard, mut express) = (0.0, 0.0);
    for l in &lines {
        standard += l.standard.unwrap_or(0.0);
        express += l.express.unwrap_or(0.0);
        let _ = writeln!(
            out,
            "{:<16} {:<28} {:>14} {:>14} {:>14}",
            l.service,
            l.unit,
            amount(l.per_project),
            money(l.standard),
            money(l.express)
        );
    }
    let _ = writeln!(
        out,
        "{:<16} {:<28} {:>14} {:>14} {:>14}",
        "total",
        "",
        "",
        format!("{standard:.2}"),
        format!("{express:.2}")
    );
    let _ = writeln!(
        out,
        "DynamoDB write request units per project: {}",
        amount(writes / n)
    );
    let _ = writeln!(out);
    let kms = fixed.kms_keys as f64 * prices.get("kms", "per_key_month")?;
    let secrets = fixed.secrets as f64 * prices.get("secrets_manager", "per_secret_month")?;
    let dashboards = fixed.dashboards as f64 * prices.get("cloudwatch", "per_dashboard_month")?;
    let alarms = fixed.alarm_metrics as f64 * prices.get("cloudwatch", "per_alarm_metric_month")?;
    let _ = writeln!(
        out,
        "An idle deployment, per month: {} KMS key ${kms:.2}, {} secret ${secrets:.2}, {} dashboard ${dashboards:.2}, {} alarm metrics ${alarms:.2}: ${:.2}",
        fixed.kms_keys,
        fixed.secrets,
        fixed.dashboards,
        fixed.alarm_metrics,
        kms + secrets + dashboards + alarms
    );
    Ok(out)
}

/// A per-project amount with the precision it needs.
fn amount(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.6}")
    }
}

/// The template's fixed monthly items: KMS keys, secrets, dashboards, and each metric an
/// alarm reads.
pub fn fixed_of(template: &serde_norway::Value) -> Fixed {
    let mut fixed = Fixed::default();
    for resource in template["Resources"]
        .as_mapping()
        .into_iter()
        .flat_map(|m| m.values())
    {
        match resource["Type"].as_str().unwrap_or_default() {
            "AWS::KMS::Key" => fixed.kms_keys += 1,
            "AWS::SecretsManager::Secret" => fixed.secrets += 1,
            "AWS::CloudWatch::Dashboard" => fixed.dashboards += 1,
            "AWS::CloudWatch::Alarm" => {
                let props = &resource["Properties"];
                fixed.alarm_metrics += match props["Metrics"].as_sequence() {
                    Some(metrics) => metrics
                        .iter()
                        .filter(|m| !m["MetricStat"].is_null())
                        .count() as u64,
                    None => 1,
                };
            }
            _ => {}
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_one_key_one_secret_one_dashboard_and_its_alarms() {
        let template: serde_norway::Value = serde_norway::from_str(crate::TEMPLATE).unwrap();
        let fixed = fixed_of(&template);
        assert_eq!((fixed.kms_keys, fixed.secrets, fixed.dashboards), (1, 1, 1));
        // Each workflow's failure alarm reads three metrics.
        assert!(fixed.alarm_metrics >= 9, "{fixed:?}");
    }

    #[test]
    fn no_projects_and_a_missing_price_are_refused() {
        let fixed = Fixed::default();
        assert!(matches!(
            render(&Counts::default(), &fixed, PRICES),
            Err(CostError::Counts(_))
        ));
        let counts = Counts {
            projects: 1,
            ..Counts::default()
        };
        assert!(matches!(
            render(&counts, &fixed, r#"{"lambda": {}}"#),
            Err(CostError::Price(p)) if p == "lambda.per_million_requests"
        ));
    }
}
