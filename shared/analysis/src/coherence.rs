//! The coherence rules every pair of artifacts keeps, whatever engine made them, checked
//! before the advisory plan is stored (a broken rule is a step failure naming it, never a
//! stored contradiction; RUBRIC.md, "Coherence").

use crate::decision;
use crate::grammar;
use crate::reading::{Reading, is_generic};
use crate::report::{AdvisoryPlan, AssumptionKind, Criterion, FindingKind, ValidationReport};
use crate::rules::method_for;
use zts_domain::input::ProjectInput;

/// A rule a pair of artifacts broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incoherent analysis ({rule}): {detail}")]
pub struct Incoherence {
    pub rule: &'static str,
    pub detail: String,
}

fn broke(rule: &'static str, detail: impl Into<String>) -> Incoherence {
    Incoherence {
        rule,
        detail: detail.into(),
    }
}

/// Every rule, in order; the first one broken is reported.
pub fn check(
    input: &ProjectInput,
    report: &ValidationReport,
    plan: &AdvisoryPlan,
) -> Result<(), Incoherence> {
    call_follows_the_table(report, plan)?;
    summary_agrees_with_the_scores(report)?;
    experiments_test_what_they_name(report, plan)?;
    every_assumption_is_tested(report, plan)?;
    no_rejected_segment(input, plan)?;
    nothing_asked_that_the_idea_reports(input, plan)?;
    recommendations_answer_gaps(report, plan)?;
    no_sentence_said_twice(plan)?;
    sentences_are_well_formed(input, report, plan)?;
    Ok(())
}

fn call_follows_the_table(
    report: &ValidationReport,
    plan: &AdvisoryPlan,
) -> Result<(), Incoherence> {
    let want = decision::call(report);
    if plan.decision.call != want {
        return Err(broke(
            "call_follows_the_table",
            format!(
                "the call is {:?}, the table gives {want:?} at {}/100 with {} blockers",
                plan.decision.call,
                report.overall_score,
                decision::blockers(report).len()
            ),
        ));
    }
    // A go held back says why.
    if report.overall_score >= decision::GO_FROM {
        for blocker in decision::blockers(report) {
            let reason = blocker.describe();
            if !plan.decision.rationale.contains(&reason) {
                return Err(broke(
                    "call_follows_the_table",
                    format!("the rationale does not say \"{reason}\""),
                ));
            }
        }
    }
    Ok(())
}

fn summary_agrees_with_the_scores(report: &ValidationReport) -> Result<(), Incoherence> {
    let weighted: Vec<&Criterion> = report.criteria.iter().filter(|c| c.weight > 0).collect();
    let max = weighted.iter().map(|c| c.score).max().unwrap_or(0);
    // "Work on X first" names the lowest criterion with a gap to close.
    let min = weighted
        .iter()
        .filter(|c| c.findings.iter().any(|f| f.kind == FindingKind::Gap))
        .map(|c| c.score)
        .min()
        .unwrap_or(0);
    for c in &weighted {
        let name = c.name.to_lowercase();
        if report.summary.contains(&format!("Strongest: {name}.")) && c.score != max {
            return Err(broke(
                "summary_agrees_with_the_scores",
                format!(
                    "{name} is called strongest at {}/10; the best is {max}/10",
                    c.score
                ),
            ));
        }
        if report.summary.contains(&format!("Strongest: {name}.")) && c.score < 6 {
            return Err(broke(
                "summary_agrees_with_the_scores",
                format!("{name} is called strongest at {}/10", c.score),
            ));
        }
        if report.summary.contains(&format!("Work on {name} first.")) && c.score != min {
            return Err(broke(
                "summary_agrees_with_the_scores",
                format!(
                    "{name} is called weakest at {}/10; the lowest is {min}/10",
                    c.score
                ),
            ));
        }
    }
    Ok(())
}

/// The kinds a method can test: its own, and the problem for a concierge MVP.
fn tests_kind(method: &str, kind: AssumptionKind) -> bool {
    method == method_for(kind) || (method == "concierge MVP" && kind == AssumptionKind::Problem)
}

fn experiments_test_what_they_name(
    report: &ValidationReport,
    plan: &AdvisoryPlan,
) -> Result<(), Incoherence> {
    for x in &plan.experiments {
        let Some(assumption) = report.assumptions.iter().find(|a| a.id == x.tests) else {
            return Err(broke(
                "experiments_test_what_they_name",
                format!(
                    "the {} tests {}, which the report does not have",
                    x.method, x.tests
                ),
            ));
        };
        if let Some(kind) = assumption.kind
            && !tests_kind(&x.method, kind)
        {
            return Err(broke(
                "experiments_test_what_they_name",
                format!("a {} cannot test {} ({kind:?})", x.method, x.tests),
            ));
        }
    }
    Ok(())
}

fn every_assumption_is_tested(
    report: &ValidationReport,
    plan: &AdvisoryPlan,
) -> Result<(), Incoherence> {
    // Reports from engine 1.0 have no kinds: their experiments were linked by position.
    for a in report.assumptions.iter().filter(|a| a.kind.is_some()) {
        if !plan.experiments.iter().any(|x| x.tests == a.id) {
            return Err(broke(
                "every_assumption_is_tested",
                format!("no experiment tests {} ({})", a.id, a.statement),
            ));
        }
    }
    Ok(())
}

fn no_rejected_segment(input: &ProjectInput, plan: &AdvisoryPlan) -> Result<(), Incoherence> {
    for x in &plan.experiments {
        if is_generic(&x.avatar) {
            return Err(broke(
                "no_rejected_segment",
                format!(
                    "the {} targets \"{}\", which is not a segment",
                    x.method, x.avatar
                ),
            ));
        }
    }
    for generic in input.target_avatars.iter().filter(|a| is_generic(a)) {
        let phrase = format!(" with {}", generic.to_lowercase());
        for text in plan_sentences(plan) {
            if text.to_lowercase().contains(&phrase) {
                return Err(broke(
                    "no_rejected_segment",
                    format!("\"{generic}\" was rejected as a segment, yet: {text}"),
                ));
            }
        }
    }
    Ok(())
}

fn nothing_asked_that_the_idea_reports(
    input: &ProjectInput,
    plan: &AdvisoryPlan,
) -> Result<(), Incoherence> {
    let reading = Reading::of(input);
    if reading.interviews_reported.is_some_and(|n| n >= 10) {
        let asks = plan
            .experiments
            .iter()
            .any(|x| x.method == method_for(AssumptionKind::Problem))
            || asks_for_interviews(&plan.next_milestone);
        if asks {
            return Err(broke(
                "nothing_asked_that_the_idea_reports",
                format!(
                    "the idea reports {} interviews, and the plan asks for more",
                    reading.interviews_reported.unwrap_or(0)
                ),
            ));
        }
    }
    Ok(())
}

fn recommendations_answer_gaps(
    report: &ValidationReport,
    plan: &AdvisoryPlan,
) -> Result<(), Incoherence> {
    for r in &plan.recommendations {
        let answered = report
            .criteria
            .iter()
            .filter(|c| c.id == r.criterion)
            .flat_map(|c| &c.findings)
            .any(|f| f.text == r.answers);
        if !answered {
            return Err(broke(
                "recommendations_answer_gaps",
                format!(
                    "recommendation {} answers \"{}\", no finding of its criterion",
                    r.rank, r.answers
                ),
            ));
        }
    }
    Ok(())
}

fn plan_sentences(plan: &AdvisoryPlan) -> Vec<&str> {
    let mut out = vec![
        plan.decision.rationale.as_str(),
        plan.next_milestone.as_str(),
    ];
    out.extend(plan.recommendations.iter().map(|r| r.action.as_str()));
    for x in &plan.experiments {
        out.extend([x.description.as_str(), x.success_metric.as_str()]);
    }
    for m in &plan.risks {
        out.extend([m.risk.as_str(), m.mitigation.as_str()]);
    }
    out
}

fn no_sentence_said_twice(plan: &AdvisoryPlan) -> Result<(), Incoherence> {
    let sentences = plan_sentences(plan);
    for (i, a) in sentences.iter().enumerate() {
        if sentences[i + 1..].contains(a) {
            return Err(broke("no_sentence_said_twice", format!("said twice: {a}")));
        }
    }
    // Nor one mitigation twice with other numbers in it: a template repeated per risk.
    let shape = |s: &str| s.replace(|c: char| c.is_ascii_digit(), "#");
    let mitigations: Vec<String> = plan.risks.iter().map(|r| shape(&r.mitigation)).collect();
    for (i, m) in mitigations.iter().enumerate() {
        if mitigations[i + 1..].contains(m) {
            return Err(broke(
                "no_sentence_said_twice",
                format!(
                    "one mitigation repeated with other numbers: {}",
                    plan.risks[i].mitigation
                ),
            ));
        }
    }
    Ok(())
}

fn sentences_are_well_formed(
    input: &ProjectInput,
    report: &ValidationReport,
    plan: &AdvisoryPlan,
) -> Result<(), Incoherence> {
    let mut texts: Vec<&str> = plan_sentences(plan);
    texts.push(&report.summary);
    for a in &report.assumptions {
        // The hypothesis assumption is the founder's own sentence.
        if a.kind != Some(AssumptionKind::Hypothesis) {
            texts.push(a.statement.as_str());
        }
        texts.push(a.test.as_str());
    }
    // Every form a customer label takes in a sentence, longest first.
    let labels: Vec<(String, &str)> = input
        .target_avatars
        .iter()
        .flat_map(|label| {
            let many = grammar::plural(label);
            [
                (grammar::capitalised(&many), "Customers"),
                (many, "customers"),
                (grammar::capitalised(label), "Customer"),
                (label.clone(), "customer"),
            ]
        })
        .collect();
    for text in texts {
        // The founder's words (quoted “…”, and the customer labels) are theirs to write.
        let mut own = unquoted(text);
        for (form, stand_in) in &labels {
            let form = form.trim();
            // A form of one or two letters ("i", its plural "is") is also a word of the
            // engine's own sentences: standing in for it would invent a flaw.
            if form.chars().filter(|c| c.is_alphanumeric()).count() >= 3 && own.contains(form) {
                own = replace_words(&own, form, stand_in);
            }
        }
        if let Some(flaw) = grammar::flaws(&own).into_iter().next() {
            return Err(broke(
                "sentences_are_well_formed",
                format!("{flaw}: {text}"),
            ));
        }
    }
    Ok(())
}

/// `text` with `form` replaced where it stands as words of its own: the label "i" stands
/// for a customer in "i feel", never inside "is" or "it".
fn replace_words(text: &str, form: &str, with: &str) -> String {
    let alone = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (at, _) in text.match_indices(form) {
        let end = at + form.len();
        if at >= done && alone(text[..at].chars().next_back()) && alone(text[end..].chars().next())
        {
            out.push_str(&text[done..at]);
            out.push_str(with);
            done = end;
        }
    }
    out.push_str(&text[done..]);
    out
}

/// `text` without what it quotes between “ and ”.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '“' => depth += 1,
            '”' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// "interview 10 …" or "interviews with …": a request for more, not a mention of those done.
fn asks_for_interviews(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("interviews with")
        || lower
            .match_indices("interview ")
            .any(|(i, m)| lower[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::replace_words;

    #[test]
    fn a_label_is_replaced_only_where_it_stands_alone() {
        assert_eq!(
            replace_words("recommendation 1 is done; is it?", "is", "customers"),
            "recommendation 1 customers done; customers it?"
        );
        assert_eq!(replace_words("this island", "is", "x"), "this island");
        assert_eq!(
            replace_words("Interview 10 nurses, then nurses.", "nurses", "customers"),
            "Interview 10 customers, then customers."
        );
    }
}
