//! Scheduled functions, emulated: each `Type: Schedule` event of a function invokes it with
//! EventBridge's "Scheduled Event" at the rate its `rate(N unit)` expression says (the
//! singular unit for 1, the plural otherwise, as EventBridge requires). `cron(…)` is
//! refused rather than guessed. Like EventBridge, the first invocation comes one period
//! after the schedule starts.

use super::runtime::FunctionPool;
use super::template::{Template, TemplateError};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The function's logical id.
    pub function: String,
    /// The event's name in the template (the rule).
    pub rule: String,
    pub every: Duration,
}

/// Why a schedule expression is not emulated; each says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("{0:?}: only rate(N unit) is emulated")]
    NotRate(String),
    #[error("{0:?}: rate(N unit)")]
    Shape(String),
    #[error("{0:?}: the value must be a positive whole number")]
    Value(String),
    #[error(
        "{0:?}: EventBridge wants the singular unit for 1 and the plural otherwise (minute(s), hour(s), day(s))"
    )]
    Unit(String),
}

/// `rate(1 minute)`, `rate(5 minutes)`, … as a period.
pub fn parse_rate(expression: &str) -> Result<Duration, RateError> {
    let owned = || expression.to_string();
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|e| e.strip_suffix(')'))
        .ok_or_else(|| RateError::NotRate(owned()))?;
    let (n, unit) = inner
        .split_once(' ')
        .ok_or_else(|| RateError::Shape(owned()))?;
    let n: u64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| RateError::Value(owned()))?;
    let seconds = match (n, unit) {
        (1, "minute") => 60,
        (1, "hour") => 3_600,
        (1, "day") => 86_400,
        (2.., "minutes") => 60,
        (2.., "hours") => 3_600,
        (2.., "days") => 86_400,
        _ => return Err(RateError::Unit(owned())),
    };
    Ok(Duration::from_secs(n * seconds))
}

impl Schedule {
    pub fn from_template(template: &Template) -> Result<Vec<Self>, TemplateError> {
        let mut out = Vec::new();
        for (function, rule, event) in template.function_events("Schedule") {
            let expression = event["Properties"]["Schedule"].as_str().unwrap_or_default();
            let every = parse_rate(expression).map_err(|what| TemplateError::Unsupported {
                resource: format!("{function}.Events.{rule}"),
                property: "Schedule".into(),
                what: what.to_string(),
            })?;
            out.push(Schedule {
                function: function.clone(),
                rule,
                every,
            });
        }
        Ok(out)
    }

    /// Invokes `function` every period (or every `every` when given: a shorter period for
    /// trying a schedule out) until the task is dropped.
    pub fn run(
        self,
        function: Arc<FunctionPool>,
        every: Option<Duration>,
        region: String,
        account: String,
    ) -> tokio::task::JoinHandle<()> {
        let period = every.unwrap_or(self.every);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                let event = json!({
                    "version": "0",
                    "id": zts_domain::ids::ConnectionId::generate().as_str(),
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": account,
                    "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "region": region,
                    "resources": [format!("arn:aws:events:{region}:{account}:rule/{}", self.rule)],
                    "detail": {}
                });
                if let Err(e) = function.invoke(&event).await {
                    tracing::debug!(function = %self.function, error = %e, "a scheduled invocation failed");
                }
            }
        })
    }
}
