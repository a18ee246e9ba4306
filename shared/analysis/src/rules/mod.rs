//! The rule engine: a documented rubric applied to the idea's text (see `RUBRIC.md`).
//! Pure and deterministic: no clock, no randomness, ordered collections only. The idea is
//! read in its own language (`crate::lexicon`); the criteria are scored in `criteria`, the
//! assumptions drawn in `assumptions`, the advice planned in `planner`.

mod assumptions;
mod criteria;
mod planner;

pub use planner::method_for;

use super::*;
use crate::lexicon;
use crate::reading::Reading;
use crate::text::{Doc, quote};

pub const ENGINE: &str = "zts-rules";
pub const ENGINE_VERSION: &str = "1.3.0";

/// A criterion is named the strongest only from this score, the weakest only below this.
const STRONG_FROM: u8 = 6;
const WEAK_BELOW: u8 = 8;

#[derive(Debug, Clone, Copy, Default)]
pub struct RuleEngine;

/// The regulated domains a report can flag, by name.
pub fn regulated_domains() -> Vec<&'static str> {
    criteria::DOMAINS
        .iter()
        .map(|(domain, _)| *domain)
        .collect()
}

impl RuleEngine {
    pub fn validate_sync(&self, v: &ValidationInput<'_>) -> ValidationReport {
        let input = v.input;
        let desc = Doc::new(&[&input.description]);
        let hyp = Doc::new(&[&input.hypothesis]);
        let all = Doc::new(&[&input.name, &input.description, &input.hypothesis]);
        // Read once: the language and who uses and pays.
        let reading = Reading::of(input);
        let lex = reading.lexicon;
        let scored = [
            (CriterionId::ProblemClarity, criteria::problem(lex, &desc)),
            (
                CriterionId::CustomerSpecificity,
                criteria::customer(lex, &input.target_avatars, &all),
            ),
            (
                CriterionId::HypothesisTestability,
                criteria::hypothesis(lex, &hyp, &input.target_avatars),
            ),
            (CriterionId::ValueProposition, criteria::value(lex, &all)),
            (
                CriterionId::EvidenceOfDemand,
                criteria::evidence(lex, &desc),
            ),
            (
                CriterionId::Differentiation,
                criteria::differentiation(lex, &all),
            ),
            (CriterionId::ScopeRealism, criteria::scope(lex, &all, input)),
        ];
        let (risk, risk_flags) = criteria::regulatory(lex, &all, &input.name);
        let mut criteria: Vec<Criterion> = scored
            .into_iter()
            .map(|(id, s)| Criterion {
                id,
                name: id.label().to_string(),
                score: s.score,
                weight: criteria::WEIGHTS
                    .iter()
                    .find(|(w, _)| *w == id)
                    .map_or(0, |(_, w)| *w),
                findings: s.findings,
            })
            .collect();
        criteria.push(Criterion {
            id: CriterionId::RegulatoryRisk,
            name: CriterionId::RegulatoryRisk.label().into(),
            score: risk.score,
            weight: 0,
            findings: risk.findings,
        });
        let weighted: u32 = criteria
            .iter()
            .map(|c| u32::from(c.score) * u32::from(c.weight))
            .sum();
        let overall_score = (weighted / 10).min(100) as u8;
        let verdict = match overall_score {
            75..=100 => Verdict::Strong,
            55..=74 => Verdict::Promising,
            30..=54 => Verdict::NeedsWork,
            _ => Verdict::Insufficient,
        };
        // Named only where the scores say so: no "strongest" at 2/10, no "weakest" at 9/10.
        let weighted: Vec<&Criterion> = criteria.iter().filter(|c| c.weight > 0).collect();
        let strongest = weighted
            .iter()
            .max_by_key(|c| (c.score, c.weight))
            .filter(|c| c.score >= STRONG_FROM)
            .map(|c| format!("Strongest: {}.", c.name.to_lowercase()));
        // The weakest with something to do about it (a gap finding).
        let weakest = weighted
            .iter()
            .filter(|c| c.findings.iter().any(|f| f.kind == FindingKind::Gap))
            .min_by_key(|c| (c.score, std::cmp::Reverse(c.weight)))
            .filter(|c| c.score < WEAK_BELOW)
            .map(|c| format!("Work on {} first.", c.name.to_lowercase()));
        let verdict_text = match verdict {
            Verdict::Strong => "strong",
            Verdict::Promising => "promising",
            Verdict::NeedsWork => "needs work",
            Verdict::Insufficient => "insufficient",
        };
        let mut summary = format!(
            "“{}” scores {overall_score}/100 ({verdict_text}).",
            quote(&input.name)
        );
        for part in [
            strongest.or_else(|| Some("No criterion stands out yet.".into())),
            weakest,
        ]
        .into_iter()
        .flatten()
        {
            summary.push(' ');
            summary.push_str(&part);
        }
        if lex != &lexicon::ENGLISH {
            summary.push_str(&format!(" Read as {}.", lex.name));
        }
        if !risk_flags.is_empty() {
            summary.push_str(&format!(
                " Regulated domain: {}.",
                risk_flags
                    .iter()
                    .map(|f| f.domain.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let assumptions = assumptions::assumptions(input, &reading, &criteria);
        ValidationReport {
            engine: ENGINE.into(),
            engine_version: ENGINE_VERSION.into(),
            overall_score,
            verdict,
            summary,
            criteria,
            risk_flags,
            assumptions,
            redaction: v.redaction.clone(),
        }
    }

    pub fn advise_sync(&self, a: &AdvisoryInput<'_>) -> AdvisoryPlan {
        let report = a.report;
        let reading = Reading::of(a.input);
        let interviewed = reading.interviews_reported.is_some_and(|n| n >= 10);
        // Counted evidence (paying customers, usage) shows demand better than interviews
        // would: the milestone does not ask for them then.
        let evidenced = interviewed
            || report
                .criteria
                .iter()
                .any(|c| c.id == CriterionId::EvidenceOfDemand && c.score >= 8);
        // Each weighted criterion below 8 with a gap to answer, by impact = how far below
        // 10, times the weight. A score alone is not a gap: no recommendation "answers" one.
        let mut gaps: Vec<(&Criterion, &Finding)> = report
            .criteria
            .iter()
            .filter(|c| c.weight > 0 && c.score < 8)
            .filter_map(|c| {
                c.findings
                    .iter()
                    .find(|f| f.kind == FindingKind::Gap)
                    .map(|f| (c, f))
            })
            .collect();
        gaps.sort_by_key(|(c, _)| {
            (
                std::cmp::Reverse(u32::from(10 - c.score) * u32::from(c.weight)),
                c.id,
            )
        });
        let recommendations: Vec<Recommendation> = gaps
            .iter()
            .take(6)
            .enumerate()
            .map(|(i, (c, gap))| Recommendation {
                rank: (i + 1) as u8,
                criterion: c.id,
                answers: gap.text.clone(),
                action: planner::action_for(c.id, &reading),
            })
            .collect();
        let experiments = planner::experiments(report, a.input, &reading);
        let risks = planner::risks(report, &recommendations);
        let decision = planner::decide(report, &recommendations);
        let next_milestone =
            planner::next_milestone(report, a.input, &reading, evidenced, decision.call);
        AdvisoryPlan {
            engine: ENGINE.into(),
            engine_version: ENGINE_VERSION.into(),
            decision,
            recommendations,
            experiments,
            risks,
            next_milestone,
        }
    }
}

#[async_trait]
impl AnalysisEngine for RuleEngine {
    async fn validate(&self, input: &ValidationInput<'_>) -> Result<ValidationReport, EngineError> {
        Ok(self.validate_sync(input))
    }

    async fn advise(&self, input: &AdvisoryInput<'_>) -> Result<AdvisoryPlan, EngineError> {
        Ok(self.advise_sync(input))
    }
}
