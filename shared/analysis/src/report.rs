//! The artifact schemas. Any engine answers with these.

use serde::{Deserialize, Serialize};
use zts_domain::pii::RedactionReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Insufficient,
    NeedsWork,
    Promising,
    Strong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionId {
    ProblemClarity,
    CustomerSpecificity,
    HypothesisTestability,
    ValueProposition,
    EvidenceOfDemand,
    Differentiation,
    ScopeRealism,
    RegulatoryRisk,
}

impl CriterionId {
    pub fn label(self) -> &'static str {
        match self {
            CriterionId::ProblemClarity => "Problem clarity",
            CriterionId::CustomerSpecificity => "Customer specificity",
            CriterionId::HypothesisTestability => "Hypothesis testability",
            CriterionId::ValueProposition => "Value proposition",
            CriterionId::EvidenceOfDemand => "Evidence of demand",
            CriterionId::Differentiation => "Differentiation",
            CriterionId::ScopeRealism => "Scope realism",
            CriterionId::RegulatoryRisk => "Regulatory risk",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Something the idea does well, with the text that shows it.
    Strength,
    /// Something missing or weak, saying what would fix it.
    Gap,
    /// A risk the founder must manage.
    Risk,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub text: String,
    /// A quote from the idea, when the finding rests on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub id: CriterionId,
    pub name: String,
    /// 0 to 10.
    pub score: u8,
    /// Its share of the overall score, in percent (0 for risk-only criteria).
    pub weight: u8,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFlag {
    pub domain: String,
    pub evidence: String,
    pub note: String,
}

/// What an assumption is about: experiments link to assumptions by id, and the kind says
/// which experiment can test it (RUBRIC.md, "Assumptions and experiments").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssumptionKind {
    /// The founder's own hypothesis, as written.
    Hypothesis,
    /// The customer feels the problem often and painfully enough to look for a fix.
    Problem,
    /// Whoever pays will pay rather than keep today's workaround.
    WillingnessToPay,
    /// It is better than today's alternative.
    BetterThanAlternative,
    /// Enough customers can be reached through one channel.
    Reachable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assumption {
    pub id: String,
    /// Absent in reports from engine 1.0 (before assumptions had kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AssumptionKind>,
    /// A testable statement the idea rests on.
    pub statement: String,
    /// How to test it, with a threshold.
    pub test: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub engine: String,
    pub engine_version: String,
    /// 0 to 100.
    pub overall_score: u8,
    pub verdict: Verdict,
    pub summary: String,
    pub criteria: Vec<Criterion>,
    pub risk_flags: Vec<RiskFlag>,
    pub assumptions: Vec<Assumption>,
    /// What PII redaction removed at create time (kinds and counts, never values).
    pub redaction: RedactionReport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    Go,
    Pivot,
    Stop,
}

impl Call {
    /// As serialised: `go`, `pivot`, `stop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Go => "go",
            Call::Pivot => "pivot",
            Call::Stop => "stop",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub rank: u8,
    pub criterion: CriterionId,
    /// The finding this answers, quoted from the validation report.
    pub answers: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experiment {
    pub method: String,
    pub avatar: String,
    pub description: String,
    pub success_metric: String,
    pub cost: String,
    pub duration: String,
    /// The assumption it tests.
    pub tests: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mitigation {
    pub risk: String,
    pub mitigation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub call: Call,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisoryPlan {
    pub engine: String,
    pub engine_version: String,
    pub decision: Decision,
    pub recommendations: Vec<Recommendation>,
    pub experiments: Vec<Experiment>,
    pub risks: Vec<Mitigation>,
    pub next_milestone: String,
}
