//! Fault injection, for tests only: an [`AnalysisEngine`] wrapper that fails or delays a
//! step for projects whose name contains a marker. Only the library API
//! ([`crate::StackConfig::faults`]) reaches it; `zts serve` has no flag or setting for it.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use zts_analysis::{
    AdvisoryInput, AdvisoryPlan, AnalysisEngine, EngineError, ValidationInput, ValidationReport,
};
use zts_domain::project::StepName;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Fail transiently this many times per project, then succeed.
    Transient(u32),
    /// Always fail, not retryable.
    Permanent,
    /// Take this long before answering.
    Delay(Duration),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub step: StepName,
    /// Applies to projects whose name contains this.
    pub name_contains: String,
    pub fault: Fault,
}

pub struct FaultyEngine<E> {
    inner: E,
    rules: Vec<FaultRule>,
    seen: Mutex<HashMap<(StepName, String), u32>>,
}

impl<E> FaultyEngine<E> {
    pub fn new(inner: E, rules: Vec<FaultRule>) -> Self {
        FaultyEngine {
            inner,
            rules,
            seen: Mutex::new(HashMap::new()),
        }
    }

    async fn check(&self, step: StepName, name: &str) -> Result<(), EngineError> {
        for rule in self
            .rules
            .iter()
            .filter(|r| r.step == step && name.contains(&r.name_contains))
        {
            match &rule.fault {
                Fault::Delay(d) => tokio::time::sleep(*d).await,
                Fault::Permanent => {
                    return Err(EngineError {
                        transient: false,
                        message: format!("injected permanent {step} failure"),
                    });
                }
                Fault::Transient(times) => {
                    let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
                    let count = seen.entry((step, name.to_string())).or_default();
                    if *count < *times {
                        *count += 1;
                        return Err(EngineError {
                            transient: true,
                            message: format!(
                                "injected transient {step} failure {count} of {times}"
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl<E: AnalysisEngine> AnalysisEngine for FaultyEngine<E> {
    async fn validate(&self, input: &ValidationInput<'_>) -> Result<ValidationReport, EngineError> {
        self.check(StepName::Validator, &input.input.name).await?;
        self.inner.validate(input).await
    }

    async fn advise(&self, input: &AdvisoryInput<'_>) -> Result<AdvisoryPlan, EngineError> {
        self.check(StepName::Advisory, &input.meta.name).await?;
        self.inner.advise(input).await
    }
}
