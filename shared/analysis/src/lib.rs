//! The analysis: a validator that scores and critiques an idea, and an advisory step that
//! turns the critique into next actions.
//!
//! Engines sit behind [`AnalysisEngine`], so another engine (a language model, later) can
//! answer with the same artifact schema — and fall back to the [`rules::RuleEngine`],
//! which is pure and deterministic: the same input gives a byte-identical artifact.

pub mod coherence;
pub mod decision;
pub mod grammar;
pub mod lexicon;
pub mod reading;
mod report;
pub mod rules;
mod text;

pub use report::*;

use async_trait::async_trait;
use zts_domain::input::ProjectInput;
use zts_domain::pii::RedactionReport;
use zts_domain::project::ProjectMeta;
use zts_domain::step::{FailureKind, StepFailure};

/// Why an engine could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    /// Worth retrying (a model endpoint throttled, a timeout).
    pub transient: bool,
    pub message: String,
}

/// A step that ran an engine fails as the engine did: transiently (retried by the state
/// machine) or for good.
impl From<EngineError> for StepFailure {
    fn from(e: EngineError) -> Self {
        let kind = if e.transient {
            FailureKind::Transient
        } else {
            FailureKind::Invalid
        };
        StepFailure::new(kind, format!("the analysis engine failed: {}", e.message))
    }
}

/// What the validator sees: the redacted idea and what redaction found.
pub struct ValidationInput<'a> {
    pub input: &'a ProjectInput,
    pub redaction: &'a RedactionReport,
}

/// What the advisory step sees: the project and the validator's report.
pub struct AdvisoryInput<'a> {
    pub meta: &'a ProjectMeta,
    pub input: &'a ProjectInput,
    pub report: &'a ValidationReport,
}

#[async_trait]
pub trait AnalysisEngine: Send + Sync {
    async fn validate(&self, input: &ValidationInput<'_>) -> Result<ValidationReport, EngineError>;
    async fn advise(&self, input: &AdvisoryInput<'_>) -> Result<AdvisoryPlan, EngineError>;
}

/// The artifact types the steps store.
pub const VALIDATION_ARTIFACT: &str = "validation_report";
pub const ADVISORY_ARTIFACT: &str = "advisory_plan";

/// The artifacts' JSON Schema (draft 2020-12), served at `/analysis.schema.json`; the
/// end-to-end suite checks it against these types and every corpus artifact against it.
pub const SCHEMA: &str = include_str!("../schema/analysis.schema.json");

/// Every artifact stays under this size, whatever the input.
pub const ARTIFACT_MAX_BYTES: usize = 64 * 1024;
