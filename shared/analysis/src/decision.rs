//! The call (go, pivot, stop) as a table over the validation report, so the decision
//! always follows from the scores and flags and says why (RUBRIC.md, "The call"):
//!
//! | overall | blockers | call |
//! |---|---|---|
//! | under 40 | any | stop |
//! | 40–69 | any | pivot |
//! | 70+ | none | go |
//! | 70+ | some | pivot |
//!
//! A blocker is two or more regulated domains (a compliance plan comes before a `go`) or a
//! weighted criterion at 3/10 or below (building now risks solving the wrong problem).
//! The engine and the coherence checker both use this one table.

use crate::report::{Call, Criterion, ValidationReport};

pub const STOP_BELOW: u8 = 40;
pub const GO_FROM: u8 = 70;
pub const WEAK_AT_MOST: u8 = 3;
pub const DOMAINS_THAT_BLOCK: usize = 2;

/// Why a `go` is held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// The regulated domains found.
    Regulated(Vec<String>),
    /// A weighted criterion at 3/10 or below.
    Weak { name: String, score: u8 },
}

impl Blocker {
    pub fn describe(&self) -> String {
        match self {
            Blocker::Regulated(domains) => format!(
                "{} regulated domains ({}) need a compliance plan before building",
                match domains.len() {
                    2 => "two".to_string(),
                    3 => "three".to_string(),
                    n => n.to_string(),
                },
                domains.join(", ")
            ),
            Blocker::Weak { name, score } => {
                format!("{} is at {score}/10", name.to_lowercase())
            }
        }
    }
}

pub fn blockers(report: &ValidationReport) -> Vec<Blocker> {
    let mut out = Vec::new();
    if report.risk_flags.len() >= DOMAINS_THAT_BLOCK {
        out.push(Blocker::Regulated(
            report.risk_flags.iter().map(|f| f.domain.clone()).collect(),
        ));
    }
    let mut weak: Vec<&Criterion> = report
        .criteria
        .iter()
        .filter(|c| c.weight > 0 && c.score <= WEAK_AT_MOST)
        .collect();
    weak.sort_by_key(|c| (c.score, std::cmp::Reverse(c.weight)));
    out.extend(weak.into_iter().map(|c| Blocker::Weak {
        name: c.name.clone(),
        score: c.score,
    }));
    out
}

/// The call the table gives.
pub fn call(report: &ValidationReport) -> Call {
    if report.overall_score < STOP_BELOW {
        Call::Stop
    } else if report.overall_score >= GO_FROM && blockers(report).is_empty() {
        Call::Go
    } else {
        Call::Pivot
    }
}
