//! Projects as text a person reads at a terminal: a status line, the artifacts (scores as
//! bars, findings with their quotes, advice in order, experiments with metric and what they
//! test), a list as an aligned table, and one line per event while a run is watched.

use serde_json::Value;
use std::fmt::Write as _;
use zts_analysis::{AdvisoryPlan, ValidationReport};

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// `0190… COMPLETED 100% (advisory, attempt 1) updated …`, then the error if it failed.
pub fn status_line(status: &Value) -> String {
    let mut line = format!(
        "{}  {}  {}%",
        text(&status["project_id"]),
        text(&status["state"]),
        status["progress"].as_u64().unwrap_or(0)
    );
    if let Some(step) = status["current_step"].as_str() {
        let _ = write!(
            line,
            "  step {step}, attempt {}",
            status["attempts"].as_u64().unwrap_or(0)
        );
    }
    let _ = write!(line, "  updated {}", text(&status["updated_at"]));
    if let Some(reason) = failure(status) {
        let _ = write!(line, "\n  failed: {reason}");
    }
    line
}

/// Why a run failed: `message (code)`.
pub fn failure(status: &Value) -> Option<String> {
    let error = status.get("error")?;
    Some(format!(
        "{} ({})",
        text(&error["message"]),
        text(&error["code"])
    ))
}

/// One event as a line.
pub fn event_line(event: &Value) -> String {
    let seq = event["seq"].as_u64().unwrap_or(0);
    let body = match text(&event["event"]) {
        "status_update" => {
            let mut s = format!("state {}", text(&event["state"]));
            if let Some(step) = event["current_step"].as_str() {
                let _ = write!(s, " ({step})");
            }
            s
        }
        "step_complete" => format!(
            "✓ {} done, attempt {}, {:.2} s",
            text(&event["agent"]),
            event["attempt"].as_u64().unwrap_or(0),
            event["duration_s"].as_f64().unwrap_or(0.0)
        ),
        "step_failed" => format!(
            "✗ {} attempt {} failed: {}{}",
            text(&event["agent"]),
            event["attempt"].as_u64().unwrap_or(0),
            text(&event["error"]["message"]),
            if event["retryable"] == true {
                " (retrying)"
            } else {
                ""
            }
        ),
        other => other.to_string(),
    };
    format!("#{seq:<3} {body}")
}

fn bar(score: u8, max: u8) -> String {
    let filled = usize::from(score) * 10 / usize::from(max.max(1));
    format!("{}{}", "█".repeat(filled), "░".repeat(10 - filled.min(10)))
}

/// The whole project: state, then each artifact there is.
pub fn project(project: &Value) -> String {
    let mut out = format!(
        "{}  ({})\n{}\n",
        text(&project["name"]),
        text(&project["project_id"]),
        status_line(project)
    );
    let validator = &project["artifacts"]["validator"]["content"];
    let report = serde_json::from_value::<ValidationReport>(validator.clone()).ok();
    if let Some(report) = &report {
        out.push('\n');
        validation(&mut out, report);
    }
    let advisory = &project["artifacts"]["advisory"]["content"];
    if let Ok(plan) = serde_json::from_value::<AdvisoryPlan>(advisory.clone()) {
        out.push('\n');
        advice(&mut out, &plan, report.as_ref());
    }
    out
}

fn validation(out: &mut String, report: &ValidationReport) {
    let verdict = serde_json::to_value(report.verdict).unwrap_or_default();
    let _ = writeln!(
        out,
        "Validation: {}/100 ({})  {}",
        report.overall_score,
        text(&verdict).replace('_', " "),
        bar(report.overall_score, 100)
    );
    let _ = writeln!(out, "  {}", report.summary);
    let width = report
        .criteria
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in &report.criteria {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>2}/10 {}",
            c.name,
            c.score,
            bar(c.score, 10)
        );
        for f in &c.findings {
            let kind = serde_json::to_value(f.kind).unwrap_or_default();
            let _ = writeln!(out, "      {:<8} {}", text(&kind), f.text);
            if let Some(quote) = &f.evidence {
                let _ = writeln!(out, "               “{quote}”");
            }
        }
    }
    for r in &report.risk_flags {
        let _ = writeln!(out, "  risk: {}: {} (“{}”)", r.domain, r.note, r.evidence);
    }
}

fn advice(out: &mut String, plan: &AdvisoryPlan, report: Option<&ValidationReport>) {
    let call = serde_json::to_value(plan.decision.call).unwrap_or_default();
    let _ = writeln!(
        out,
        "Advice: {}. {}",
        text(&call).to_uppercase(),
        plan.decision.rationale
    );
    let mut recommendations: Vec<_> = plan.recommendations.iter().collect();
    recommendations.sort_by_key(|r| r.rank);
    for r in recommendations {
        let _ = writeln!(out, "  {}. {}", r.rank, r.action);
    }
    if !plan.experiments.is_empty() {
        let _ = writeln!(out, "Experiments:");
    }
    for x in &plan.experiments {
        let tests = report
            .and_then(|r| r.assumptions.iter().find(|a| a.id == x.tests))
            .map_or_else(|| x.tests.clone(), |a| format!("{}: {}", a.id, a.statement));
        let _ = writeln!(
            out,
            "  - {} with {} ({}, {})",
            x.method, x.avatar, x.duration, x.cost
        );
        let _ = writeln!(out, "    success: {}", x.success_metric);
        let _ = writeln!(out, "    tests {tests}");
    }
    for m in &plan.risks {
        let _ = writeln!(out, "Risk: {}\n  what to do: {}", m.risk, m.mitigation);
    }
    let _ = writeln!(out, "Next milestone: {}", plan.next_milestone);
}

/// A page of projects as an aligned table, newest first.
pub fn list(page: &Value) -> String {
    let rows: Vec<[String; 5]> = page["projects"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            [
                text(&p["project_id"]).to_string(),
                text(&p["state"]).to_string(),
                format!("{}%", p["progress"].as_u64().unwrap_or(0)),
                text(&p["updated_at"]).to_string(),
                text(&p["name"]).to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no projects yet: zts new --name … submits one\n".into();
    }
    let header = ["ID", "STATE", "PROGRESS", "UPDATED", "NAME"].map(String::from);
    let mut widths = [0usize; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (w, cell)) in widths.iter().zip(row).enumerate() {
            if i == 4 {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if let Some(cursor) = page["next_cursor"].as_str() {
        let _ = writeln!(out, "more: zts list --cursor {cursor}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_list_aligns_its_columns_under_their_headers() {
        let page = json!({"projects": [
            {"project_id": "a1", "state": "COMPLETED", "progress": 100, "updated_at": "t1", "name": "Long name here"},
            {"project_id": "b2-longer", "state": "FAILED", "progress": 50, "updated_at": "t2", "name": "x"},
        ], "next_cursor": "abc"});
        let out = list(&page);
        let lines: Vec<&str> = out.lines().collect();
        let col = |l: &str, word: &str| l.find(word).unwrap();
        assert_eq!(col(lines[0], "STATE"), col(lines[1], "COMPLETED"));
        assert_eq!(col(lines[0], "STATE"), col(lines[2], "FAILED"));
        assert_eq!(col(lines[0], "NAME"), col(lines[1], "Long name"));
        assert_eq!(lines[3], "more: zts list --cursor abc");
    }

    #[test]
    fn a_failed_status_says_why() {
        let status = json!({"project_id": "p", "state": "FAILED", "progress": 25, "updated_at": "t",
            "error": {"code": "engine_error", "message": "the engine broke"}});
        assert!(status_line(&status).ends_with("failed: the engine broke (engine_error)"));
    }

    #[test]
    fn events_read_as_lines() {
        let retry = json!({"seq": 3, "event": "step_failed", "agent": "validator", "attempt": 1,
            "error": {"message": "timeout"}, "retryable": true});
        assert_eq!(
            event_line(&retry),
            "#3   ✗ validator attempt 1 failed: timeout (retrying)"
        );
    }
}
