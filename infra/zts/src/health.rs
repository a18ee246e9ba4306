//! `zts health`: a running stack's readiness as a person reads it — each dependency with
//! its latency, runs in flight and projects per state — from the local stack's or a
//! deployed api's `GET /health/ready`.

use serde_json::Value;
use std::fmt::Write as _;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(
        "{url} did not answer ({reason}); is the stack running there? (zts serve, or the HttpApiUrl output of a deployment)"
    )]
    Unreachable { url: String, reason: String },
    #[error("{url} answered {status}, not a readiness report; is this a ZeroToShip API?")]
    NotHealth { url: String, status: u16 },
}

/// What `/health/ready` said.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub ready: bool,
    pub body: Value,
}

/// Asks `base` (the API's URL) for its readiness.
pub async fn fetch(base: &str) -> Result<Report, HealthError> {
    let url = format!("{}/health/ready", base.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| HealthError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    let res = client
        .get(&url)
        .send()
        .await
        .map_err(|e| HealthError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    let status = res.status().as_u16();
    let body: Value = res.json().await.map_err(|_| HealthError::NotHealth {
        url: url.clone(),
        status,
    })?;
    if !matches!(status, 200 | 503) || body.get("status").is_none() {
        return Err(HealthError::NotHealth { url, status });
    }
    Ok(Report {
        ready: status == 200,
        body,
    })
}

/// The report as text: one line per dependency, then the counts the store gave.
pub fn render(base: &str, report: &Report) -> String {
    let mut out = String::new();
    let verdict = if report.ready { "ready" } else { "NOT READY" };
    let _ = writeln!(out, "ZeroToShip at {base}: {verdict}");
    for (name, check) in report.body["checks"].as_object().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {name:<10} {:<40} {:>9.3} ms",
            check["status"].as_str().unwrap_or("?"),
            check["latency_ms"].as_f64().unwrap_or(f64::NAN)
        );
    }
    match (
        report.body.get("runs_in_flight"),
        report.body["projects"].as_object(),
    ) {
        (Some(in_flight), Some(projects)) => {
            let _ = writeln!(out, "  runs in flight: {in_flight}");
            let states: Vec<String> = projects.iter().map(|(s, n)| format!("{s} {n}")).collect();
            let _ = writeln!(out, "  projects: {}", states.join(", "));
        }
        _ => {
            let _ = writeln!(
                out,
                "  projects per state: not counted by this store (DynamoDB would need a scan)"
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_each_check_and_the_counts_or_says_why_there_are_none() {
        let local = Report {
            ready: false,
            body: json!({
                "status": "unavailable",
                "checks": {
                    "store": {"status": "failing: the database is closed", "latency_ms": 0.25},
                    "workflow": {"status": "ok", "latency_ms": 0.01}
                },
            }),
        };
        let text = render("http://127.0.0.1:3000", &local);
        assert!(
            text.starts_with("ZeroToShip at http://127.0.0.1:3000: NOT READY\n"),
            "{text}"
        );
        assert!(
            text.contains("store      failing: the database is closed"),
            "{text}"
        );
        assert!(text.contains("0.250 ms"), "{text}");
        assert!(text.contains("not counted"), "{text}");
        let counted = Report {
            ready: true,
            body: json!({"status": "ok", "checks": {}, "runs_in_flight": 2,
                         "projects": {"COMPLETED": 5, "CREATED": 2}}),
        };
        let text = render("u", &counted);
        assert!(text.contains("runs in flight: 2"), "{text}");
        assert!(text.contains("projects: COMPLETED 5, CREATED 2"), "{text}");
    }
}
