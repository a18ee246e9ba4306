//! The scored criteria: each reads the idea's text with the idea's [`Lexicon`] and gives
//! a score out of 10 with the findings behind it (RUBRIC.md, "Criteria").

use super::super::*;
use crate::lexicon::{Lexicon, is_generic};
use crate::text::{Doc, quote};

/// Weights of the scored criteria, in percent (they add up to 100).
pub(super) const WEIGHTS: &[(CriterionId, u8)] = &[
    (CriterionId::ProblemClarity, 15),
    (CriterionId::CustomerSpecificity, 15),
    (CriterionId::HypothesisTestability, 20),
    (CriterionId::ValueProposition, 15),
    (CriterionId::EvidenceOfDemand, 15),
    (CriterionId::Differentiation, 10),
    (CriterionId::ScopeRealism, 10),
];

/// The regulated domains a report can flag, and what each needs managed; their keywords
/// are each language's (`Lexicon::regulated`).
pub(super) const DOMAINS: &[(&str, &str)] = &[
    (
        "health",
        "health data and medical claims are regulated (HIPAA/GDPR special category, medical-device rules)",
    ),
    (
        "finance",
        "financial services need licences or a licensed partner (KYC/AML, consumer-credit, securities rules)",
    ),
    (
        "children",
        "children's data needs verifiable parental consent (COPPA, GDPR-K) and age-appropriate design",
    ),
    (
        "personal_data",
        "sensitive personal data needs explicit consent, minimisation and a DPIA",
    ),
    (
        "gambling_alcohol",
        "age-restricted products need age verification and local licences",
    ),
];

/// A criterion's score out of 10 and the findings behind it.
pub(super) struct Scored {
    pub(super) score: u8,
    pub(super) findings: Vec<Finding>,
}

fn strength(text: impl Into<String>, evidence: Option<String>) -> Finding {
    Finding {
        kind: FindingKind::Strength,
        text: text.into(),
        evidence,
    }
}

fn gap(text: impl Into<String>) -> Finding {
    Finding {
        kind: FindingKind::Gap,
        text: text.into(),
        evidence: None,
    }
}

/// The words that name an avatar in a text: the label itself, and its head noun in any
/// number — the last word of the label, and of its part before a qualifier ("practice
/// manager at a solo dental clinic": "clinic" and "manager"). "independent bookkeeper" is
/// named by "50 bookkeepers", "dental agency" by "agencies": matched at word starts, so a
/// stem covers its plurals.
fn avatar_forms<'a>(lex: &Lexicon, avatar: &'a str) -> Vec<&'a str> {
    let label = avatar.trim();
    let mut forms = Vec::new();
    if label.is_empty() {
        return forms;
    }
    forms.push(label);
    let before_qualifier = lex
        .qualifiers
        .iter()
        .filter_map(|q| label.find(q))
        .min()
        .map_or(label, |at| &label[..at]);
    for part in [label, before_qualifier] {
        if let Some(head) = part
            .rsplit(' ')
            .next()
            .filter(|h| h.len() >= 4 && *h != label)
        {
            forms.push(
                lex.head_endings
                    .iter()
                    .find_map(|e| head.strip_suffix(e).filter(|s| s.chars().count() >= 4))
                    .unwrap_or(head),
            );
        }
    }
    forms
}

fn clamp(points: i32) -> u8 {
    points.clamp(0, 10) as u8
}

pub(super) fn problem(lex: &Lexicon, desc: &Doc) -> Scored {
    let mut points = 0;
    let mut findings = Vec::new();
    let words = desc.words();
    if words == 0 {
        findings.push(gap("There is no description: say who has which problem, how often, and what it costs them."));
        return Scored { score: 0, findings };
    }
    points += match words {
        0..=7 => 1,
        8..=24 => 2,
        25..=59 => 3,
        _ => 4,
    };
    match desc.quote_any(lex.problem) {
        Some(q) => {
            points += 3;
            findings.push(strength("The description names a pain.", Some(q)));
        }
        None => findings.push(gap("The description says what you will build but not which pain it removes; name the problem in the customer's words.")),
    }
    match desc.quantified(lex.problem) {
        Some(q) => {
            points += 3;
            findings.push(strength("The pain is quantified.", Some(q)));
        }
        None => findings.push(gap(
            "Quantify the pain (hours lost, money spent, how often it happens).",
        )),
    }
    if words < 25 {
        findings.push(gap(format!("The description has {words} words; a reader needs the situation, the pain and today's workaround.")));
    }
    Scored {
        score: clamp(points),
        findings,
    }
}

pub(super) fn customer(lex: &Lexicon, avatars: &[String], all: &Doc) -> Scored {
    let mut findings = Vec::new();
    let specific: Vec<&String> = avatars.iter().filter(|a| !is_generic(a)).collect();
    let mut points: i32 = match specific.len() {
        0 => 0,
        1 => 4,
        _ => 5,
    };
    if avatars.is_empty() {
        findings.push(gap("No target avatars: name the first customer precisely (role, situation, where you can reach them)."));
    }
    for generic in avatars.iter().filter(|a| is_generic(a)) {
        findings.push(gap(format!(
            "\"{}\" is not a customer segment; narrow it to people who feel the pain most.",
            quote(generic)
        )));
    }
    let qualified: Vec<&&String> = specific
        .iter()
        .filter(|a| a.split_whitespace().count() >= 2 || a.contains('_'))
        .collect();
    if !qualified.is_empty() {
        points += 2;
        findings.push(strength(
            "The avatars are qualified, not generic.",
            Some(quote(
                &qualified
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        ));
    }
    if let Some(q) = all.quantified(lex.segment_size) {
        points += 2;
        findings.push(strength(
            "The segment is sized or qualified with numbers.",
            Some(q),
        ));
    } else if !specific.is_empty() {
        findings.push(gap("Qualify the segment (size, age, team size, budget) so you know whom to interview first."));
    }
    if specific.iter().any(|a| all.has_any(&[&a.to_lowercase()])) {
        points += 1;
    }
    Scored {
        score: clamp(points),
        findings,
    }
}

pub(super) fn hypothesis(lex: &Lexicon, hyp: &Doc, avatars: &[String]) -> Scored {
    let mut findings = Vec::new();
    if hyp.is_empty() {
        findings.push(gap("There is no hypothesis. Write one as: \"<who> will <do what> — at least <N%> within <time>\"."));
        return Scored { score: 0, findings };
    }
    let mut points = 1;
    let who = avatars
        .iter()
        .any(|a| hyp.has_any(&avatar_forms(lex, &a.to_lowercase())))
        || hyp.has_any(lex.who);
    if who {
        points += 2;
    } else {
        findings.push(gap(
            "The hypothesis does not say who: name the avatar it is about.",
        ));
    }
    match hyp.quote_word_forms(lex.behaviour, lex.inflections) {
        Some(q) => {
            points += 2;
            findings.push(strength("It names a behaviour you can observe.", Some(q)));
        }
        None => findings.push(gap(
            "Name an observable behaviour (pay, sign up, switch, pre-order), not an opinion.",
        )),
    }
    // A number counts only next to a behaviour or a threshold ("1; SELECT" is no metric).
    let measured: Vec<&str> = lex.behaviour.iter().chain(lex.threshold).copied().collect();
    match hyp.quantified(&measured) {
        Some(q) => {
            points += 2;
            findings.push(strength("It has a measurable outcome.", Some(q)));
            if hyp.has_any(lex.threshold) {
                points += 2;
            } else {
                findings.push(gap(
                    "Add a pass/fail threshold (\"at least 5% of visitors\").",
                ));
            }
        }
        None => findings.push(gap(
            "Make the outcome measurable with a number and a threshold.",
        )),
    }
    if hyp.has_any(lex.timeframe) {
        points += 1;
    } else {
        findings.push(gap(
            "Add a time box (\"within 2 weeks\") so the test can fail.",
        ));
    }
    Scored {
        score: clamp(points),
        findings,
    }
}

pub(super) fn value(lex: &Lexicon, all: &Doc) -> Scored {
    let mut findings = Vec::new();
    let mut points = 0;
    let hits = all.count_any(lex.benefit);
    if let Some(q) = all.quote_any(lex.benefit) {
        points += 3 + (hits.min(3) as i32);
        findings.push(strength("It states a benefit.", Some(q)));
    } else {
        findings.push(gap("State the outcome the customer gets (time saved, money made, risk avoided), not the features."));
    }
    if let Some(q) = all.quantified(lex.benefit) {
        points += 3;
        findings.push(strength("The benefit is quantified.", Some(q)));
    } else if points > 0 {
        findings.push(gap("Quantify the benefit (\"saves 5 hours a week\")."));
    }
    Scored {
        score: clamp(points),
        findings,
    }
}

/// Evidence is what the founder reports as done: the description, never the hypothesis
/// (a plan), and no sentence about the future ("we will survey 100").
pub(super) fn evidence(lex: &Lexicon, done: &Doc) -> Scored {
    let mut findings = Vec::new();
    let future = lex.future;
    let reported = done
        .quote_any_unless(lex.evidence, future)
        .or_else(|| done.quote_with_unless(lex.paying, lex.now, future));
    match reported {
        Some(q) => {
            let mut points = 5;
            findings.push(strength("It cites evidence of demand.", Some(q)));
            let counted = done
                .quantified_unless(lex.evidence, future)
                .or_else(|| done.quote_with_unless(lex.paying, lex.now, future));
            if let Some(q) = counted {
                points += 4;
                findings.push(strength("The evidence is counted.", Some(q)));
            } else {
                findings.push(gap(
                    "Count the evidence (how many interviews, sign-ups, pre-orders).",
                ));
            }
            Scored {
                score: clamp(points),
                findings,
            }
        }
        None => {
            findings.push(gap("No evidence of demand yet: interviews, a waitlist, pre-orders or a pilot would show people want this."));
            Scored { score: 1, findings }
        }
    }
}

pub(super) fn differentiation(lex: &Lexicon, all: &Doc) -> Scored {
    let mut findings = Vec::new();
    match all.quote_any(lex.differentiation) {
        Some(q) => {
            findings.push(strength(
                "It positions itself against today's alternatives.",
                Some(q),
            ));
            let points = 5 + 2 * all.count_any(lex.differentiation).min(2) as i32;
            Scored {
                score: clamp(points),
                findings,
            }
        }
        None => {
            findings.push(gap("Say what customers use today (a competitor, a spreadsheet, nothing) and why they would switch."));
            Scored { score: 2, findings }
        }
    }
}

pub(super) fn scope(lex: &Lexicon, all: &Doc, input: &ProjectInput) -> Scored {
    let mut findings = Vec::new();
    // Too little text to show a focus earns no benefit of the doubt.
    let mut points: i32 = if all.words() >= 20 { 6 } else { 3 };
    if let Some(q) = all.quote_any(lex.focus) {
        points += 3;
        findings.push(strength("It starts small.", Some(q)));
    }
    if let Some(q) = all.quote_any(lex.sprawl) {
        points -= 3 + all.count_any(lex.sprawl).min(2) as i32;
        findings.push(Finding {
            kind: FindingKind::Gap,
            text: "The scope is very broad; pick one segment and one job to start.".into(),
            evidence: Some(q),
        });
    }
    if input.description.trim().is_empty() && input.hypothesis.trim().is_empty() {
        points = 2;
        findings.push(gap("There is too little to judge the scope."));
    }
    if input.target_avatars.len() >= 5 {
        points -= 2;
        findings.push(gap(format!(
            "{} avatars at once spreads a first test thin; start with the one in most pain.",
            input.target_avatars.len()
        )));
    }
    Scored {
        score: clamp(points),
        findings,
    }
}

/// `name`: what the idea is called is not what it says ("CreditBridge" names no
/// credit), so a keyword inside the name, wherever the name appears, does not count.
pub(super) fn regulatory(lex: &Lexicon, all: &Doc, name: &str) -> (Scored, Vec<RiskFlag>) {
    let mut flags = Vec::new();
    let mut findings = Vec::new();
    let name = name.trim().to_lowercase();
    for (domain, words) in lex.regulated {
        let note = DOMAINS
            .iter()
            .find(|(d, _)| d == domain)
            .map_or("", |(_, note)| note);
        let mut except: Vec<&str> = lex
            .regulated_except
            .iter()
            .filter(|(d, _)| d == domain)
            .flat_map(|(_, words)| words.iter().copied())
            .collect();
        // Only a coined name ("CreditBridge"): a name that is a keyword itself
        // ("Payments") or several words may be what the idea says.
        let coined = !name.is_empty()
            && !name.contains(char::is_whitespace)
            && !words
                .iter()
                .any(|w| name == *w || name.trim_end_matches('s') == *w);
        if coined {
            except.push(&name);
        }
        if let Some(q) = all.quote_any_except(words, &except) {
            findings.push(Finding {
                kind: FindingKind::Risk,
                text: format!("Regulated domain ({domain}): {note}."),
                evidence: Some(q.clone()),
            });
            flags.push(RiskFlag {
                domain: (*domain).to_string(),
                evidence: q,
                note: note.to_string(),
            });
        }
    }
    let score = clamp(10 - 3 * flags.len() as i32);
    (
        Scored {
            score: score.max(1),
            findings,
        },
        flags,
    )
}
