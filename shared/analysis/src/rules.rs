//! The rule engine: a documented rubric applied to the idea's text (see `RUBRIC.md`).
//! Pure and deterministic: no clock, no randomness, ordered collections only.

use super::text::{Doc, quote};
use super::*;

pub const ENGINE: &str = "zts-rules";
pub const ENGINE_VERSION: &str = "1.0.0";

const PROBLEM_WORDS: &[&str] = &[
    "problem",
    "pain",
    "struggl",
    "frustrat",
    "hard to",
    "difficult",
    "waste",
    "costly",
    "expensive",
    "slow",
    "manual",
    "tedious",
    "can't",
    "cannot",
    "unable",
    "lose",
    "losing",
    "miss",
    "error-prone",
    "time-consuming",
    "hours",
    "stress",
    "confus",
    "overwhelm",
];
const GENERIC_AVATARS: &[&str] = &[
    "everyone",
    "anyone",
    "people",
    "users",
    "customers",
    "consumers",
    "everybody",
    "all",
    "the public",
    "businesses",
    "companies",
];
const BEHAVIOUR_WORDS: &[&str] = &[
    "pay",
    "buy",
    "purchase",
    "sign up",
    "signup",
    "subscribe",
    "use",
    "switch",
    "book",
    "download",
    "pre-order",
    "preorder",
    "join",
    "return",
    "refer",
    "adopt",
    "install",
    "upgrade",
    "order",
    "enrol",
    "enroll",
    "register",
    "convert",
];
const THRESHOLD_WORDS: &[&str] = &[
    "%",
    "percent",
    "at least",
    "more than",
    "over ",
    "out of",
    "per ",
    ">",
    "≥",
    "or more",
    "within",
];
const TIMEFRAME_WORDS: &[&str] = &["day", "week", "month", "quarter", "year", "within"];
const BENEFIT_WORDS: &[&str] = &[
    "save",
    "faster",
    "cheaper",
    "reduce",
    "cut ",
    "increase",
    "improve",
    "without",
    "instead of",
    "automat",
    "in minutes",
    "in seconds",
    "less time",
    "more revenue",
    "avoid",
    "eliminat",
    "simplif",
    "easier",
];
const EVIDENCE_WORDS: &[&str] = &[
    "interview",
    "survey",
    "waitlist",
    "wait list",
    "pre-order",
    "preorder",
    "pilot",
    "letter of intent",
    "loi",
    "paying customer",
    "revenue",
    "talked to",
    "spoke with",
    "spoke to",
    "signed up",
    "beta",
    "traction",
    "users already",
    "customers already",
    "mrr",
];
const DIFFERENTIATION_WORDS: &[&str] = &[
    "unlike",
    "compared to",
    "competitor",
    "alternative",
    "existing",
    "instead of",
    "currently use",
    "today they",
    "spreadsheet",
    "incumbent",
    "only ",
    "first ",
    "better than",
    "cheaper than",
    "versus",
    " vs",
];
const FOCUS_WORDS: &[&str] = &[
    "mvp",
    "start with",
    "first ",
    "pilot",
    "one city",
    "niche",
    "initially",
    "begin with",
    "single",
    "prototype",
    "beta",
];
const SPRAWL_WORDS: &[&str] = &[
    "everyone",
    "entire world",
    "global",
    "worldwide",
    "all industries",
    "every industry",
    "everything",
    "all-in-one",
    "super app",
    "revolutioni",
    "disrupt",
    "billion users",
    "replace all",
];

/// (domain, keywords, what to manage)
const REGULATED: &[(&str, &[&str], &str)] = &[
    (
        "health",
        &[
            "patient",
            "medical",
            "diagnos",
            "clinic",
            "therapy",
            "therapist",
            "drug",
            "medication",
            "hipaa",
            "health record",
            "symptom",
            "mental health",
            "hospital",
            "prescri",
        ],
        "health data and medical claims are regulated (HIPAA/GDPR special category, medical-device rules)",
    ),
    (
        "finance",
        &[
            "loan",
            "lending",
            "credit",
            "invest",
            "bank",
            "payment",
            "crypto",
            "insurance",
            "trading",
            "wallet",
            "mortgage",
            "financial advice",
            "money transfer",
        ],
        "financial services need licences or a licensed partner (KYC/AML, consumer-credit, securities rules)",
    ),
    (
        "children",
        &[
            "child",
            "children",
            "kids",
            "minor",
            "under 13",
            "teen",
            "toddler",
            "k-12",
            "pupil",
            "schoolchildren",
        ],
        "children's data needs verifiable parental consent (COPPA, GDPR-K) and age-appropriate design",
    ),
    (
        "personal_data",
        &[
            "biometric",
            "facial recognition",
            "location tracking",
            "track location",
            "surveillance",
            "genetic",
            "dna",
        ],
        "sensitive personal data needs explicit consent, minimisation and a DPIA",
    ),
    (
        "gambling_alcohol",
        &[
            "gambling", "betting", "casino", "alcohol", "cannabis", "tobacco", "vape",
        ],
        "age-restricted products need age verification and local licences",
    ),
];

/// Weights of the scored criteria, in percent (they add up to 100).
const WEIGHTS: &[(CriterionId, u8)] = &[
    (CriterionId::ProblemClarity, 15),
    (CriterionId::CustomerSpecificity, 15),
    (CriterionId::HypothesisTestability, 20),
    (CriterionId::ValueProposition, 15),
    (CriterionId::EvidenceOfDemand, 15),
    (CriterionId::Differentiation, 10),
    (CriterionId::ScopeRealism, 10),
];

const MAX_ASSUMPTIONS: usize = 6;

#[derive(Debug, Clone, Copy, Default)]
pub struct RuleEngine;

struct Scored {
    score: u8,
    findings: Vec<Finding>,
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

fn clamp(points: i32) -> u8 {
    points.clamp(0, 10) as u8
}

fn is_generic(avatar: &str) -> bool {
    let lower = avatar.to_lowercase();
    GENERIC_AVATARS
        .iter()
        .any(|g| lower == *g || lower == format!("{g}s"))
}

impl RuleEngine {
    fn problem(&self, desc: &Doc) -> Scored {
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
        match desc.quote_any(PROBLEM_WORDS) {
            Some(q) => {
                points += 3;
                findings.push(strength("The description names a pain.", Some(q)));
            }
            None => findings.push(gap("The description says what you will build but not which pain it removes; name the problem in the customer's words.")),
        }
        match desc.quantified(PROBLEM_WORDS) {
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

    fn customer(&self, avatars: &[String], all: &Doc) -> Scored {
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
        if let Some(q) = all.quantified(&[
            "aged", "age", "year", "employee", "staff", "team", "-person", "clinic", "store",
            "shop", "firm", "agenc", "freelanc", "parent", "owner", "manager",
        ]) {
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

    fn hypothesis(&self, hyp: &Doc, avatars: &[String]) -> Scored {
        let mut findings = Vec::new();
        if hyp.is_empty() {
            findings.push(gap("There is no hypothesis. Write one as: \"<who> will <do what> — at least <N%> within <time>\"."));
            return Scored { score: 0, findings };
        }
        let mut points = 1;
        let who = avatars.iter().any(|a| hyp.has_any(&[&a.to_lowercase()]))
            || hyp.has_any(&[
                "parent",
                "owner",
                "manager",
                "founder",
                "student",
                "teacher",
                "developer",
                "nurse",
                "doctor",
                "freelanc",
                "team",
                "user",
                "customer",
                "buyer",
                "shopper",
            ]);
        if who {
            points += 2;
        } else {
            findings.push(gap(
                "The hypothesis does not say who: name the avatar it is about.",
            ));
        }
        match hyp.quote_word_forms(BEHAVIOUR_WORDS) {
            Some(q) => {
                points += 2;
                findings.push(strength("It names a behaviour you can observe.", Some(q)));
            }
            None => findings.push(gap(
                "Name an observable behaviour (pay, sign up, switch, pre-order), not an opinion.",
            )),
        }
        // A number counts only next to a behaviour or a threshold ("1; SELECT" is no metric).
        let measured: Vec<&str> = BEHAVIOUR_WORDS
            .iter()
            .chain(THRESHOLD_WORDS)
            .copied()
            .collect();
        match hyp.quantified(&measured) {
            Some(q) => {
                points += 2;
                findings.push(strength("It has a measurable outcome.", Some(q)));
                if hyp.has_any(THRESHOLD_WORDS) {
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
        if hyp.has_any(TIMEFRAME_WORDS) {
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

    fn value(&self, all: &Doc) -> Scored {
        let mut findings = Vec::new();
        let mut points = 0;
        let hits = all.count_any(BENEFIT_WORDS);
        if let Some(q) = all.quote_any(BENEFIT_WORDS) {
            points += 3 + (hits.min(3) as i32);
            findings.push(strength("It states a benefit.", Some(q)));
        } else {
            findings.push(gap("State the outcome the customer gets (time saved, money made, risk avoided), not the features."));
        }
        if let Some(q) = all.quantified(BENEFIT_WORDS) {
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

    fn evidence(&self, all: &Doc) -> Scored {
        let mut findings = Vec::new();
        match all.quote_any(EVIDENCE_WORDS) {
            Some(q) => {
                let mut points = 5;
                findings.push(strength("It cites evidence of demand.", Some(q)));
                if let Some(q) = all.quantified(EVIDENCE_WORDS) {
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

    fn differentiation(&self, all: &Doc) -> Scored {
        let mut findings = Vec::new();
        match all.quote_any(DIFFERENTIATION_WORDS) {
            Some(q) => {
                findings.push(strength(
                    "It positions itself against today's alternatives.",
                    Some(q),
                ));
                let points = 5 + 2 * all.count_any(DIFFERENTIATION_WORDS).min(2) as i32;
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

    fn scope(&self, all: &Doc, input: &ProjectInput) -> Scored {
        let mut findings = Vec::new();
        // Too little text to show a focus earns no benefit of the doubt.
        let mut points: i32 = if all.words() >= 20 { 6 } else { 3 };
        if let Some(q) = all.quote_any(FOCUS_WORDS) {
            points += 3;
            findings.push(strength("It starts small.", Some(q)));
        }
        if let Some(q) = all.quote_any(SPRAWL_WORDS) {
            points -= 3 + all.count_any(SPRAWL_WORDS).min(2) as i32;
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

    fn regulatory(&self, all: &Doc) -> (Scored, Vec<RiskFlag>) {
        let mut flags = Vec::new();
        let mut findings = Vec::new();
        for (domain, words, note) in REGULATED {
            if let Some(q) = all.quote_any(words) {
                findings.push(Finding {
                    kind: FindingKind::Risk,
                    text: format!("Regulated domain ({domain}): {note}."),
                    evidence: Some(q.clone()),
                });
                flags.push(RiskFlag {
                    domain: (*domain).to_string(),
                    evidence: q,
                    note: (*note).to_string(),
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

    fn assumptions(
        &self,
        input: &ProjectInput,
        hyp: &Doc,
        criteria: &[Criterion],
    ) -> Vec<Assumption> {
        let avatar = input
            .target_avatars
            .first()
            .cloned()
            .unwrap_or_else(|| "your first customer".into());
        let name = quote(&input.name);
        let mut out = Vec::new();
        if !input.hypothesis.trim().is_empty() {
            out.push((
                quote(input.hypothesis.trim()),
                "Run the cheapest test that can fail it and fix the threshold before you start."
                    .to_string(),
            ));
        }
        out.push((format!("{avatar} feel the problem {name} solves often and painfully enough to look for a fix."),
            format!("Interview 10 {avatar}; at least 6 describe the problem unprompted and a workaround they use today.")));
        out.push((
            format!("{avatar} will pay for {name} rather than keep today's workaround."),
            format!("Ask 10 {avatar} to pre-order or sign a letter of intent; at least 3 commit."),
        ));
        if criteria
            .iter()
            .any(|c| c.id == CriterionId::Differentiation && c.score < 6)
        {
            out.push((format!("{name} is meaningfully better than what {avatar} use today."),
                "List the top 3 alternatives; show 5 prospects a side-by-side and count who would switch (target: 3 of 5).".into()));
        }
        if hyp.is_empty()
            || criteria
                .iter()
                .any(|c| c.id == CriterionId::EvidenceOfDemand && c.score < 5)
        {
            out.push((format!("Enough {avatar} can be reached through one channel to test {name} cheaply."),
                "Put a landing page in front of 300 visitors from one channel; at least 5% leave an e-mail.".into()));
        }
        out.truncate(MAX_ASSUMPTIONS);
        out.into_iter()
            .enumerate()
            .map(|(i, (statement, test))| Assumption {
                id: format!("A{}", i + 1),
                statement,
                test,
            })
            .collect()
    }

    pub fn validate_sync(&self, v: &ValidationInput<'_>) -> ValidationReport {
        let input = v.input;
        let desc = Doc::new(&[&input.description]);
        let hyp = Doc::new(&[&input.hypothesis]);
        let all = Doc::new(&[&input.name, &input.description, &input.hypothesis]);
        let scored = [
            (CriterionId::ProblemClarity, self.problem(&desc)),
            (
                CriterionId::CustomerSpecificity,
                self.customer(&input.target_avatars, &all),
            ),
            (
                CriterionId::HypothesisTestability,
                self.hypothesis(&hyp, &input.target_avatars),
            ),
            (CriterionId::ValueProposition, self.value(&all)),
            (CriterionId::EvidenceOfDemand, self.evidence(&all)),
            (CriterionId::Differentiation, self.differentiation(&all)),
            (CriterionId::ScopeRealism, self.scope(&all, input)),
        ];
        let (risk, risk_flags) = self.regulatory(&all);
        let mut criteria: Vec<Criterion> = scored
            .into_iter()
            .map(|(id, s)| Criterion {
                id,
                name: id.label().to_string(),
                score: s.score,
                weight: WEIGHTS
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
        let weakest = criteria
            .iter()
            .filter(|c| c.weight > 0)
            .min_by_key(|c| (c.score, std::cmp::Reverse(c.weight)))
            .map(|c| c.name.to_lowercase())
            .unwrap_or_default();
        let strongest = criteria
            .iter()
            .filter(|c| c.weight > 0)
            .max_by_key(|c| (c.score, c.weight))
            .map(|c| c.name.to_lowercase())
            .unwrap_or_default();
        let summary = format!(
            "{} scores {overall_score}/100 ({}). Strongest: {strongest}. Work on {weakest} first.{}",
            quote(&input.name),
            match verdict {
                Verdict::Strong => "strong",
                Verdict::Promising => "promising",
                Verdict::NeedsWork => "needs work",
                Verdict::Insufficient => "insufficient",
            },
            if risk_flags.is_empty() {
                String::new()
            } else {
                format!(
                    " Regulated domain: {}.",
                    risk_flags
                        .iter()
                        .map(|f| f.domain.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        let assumptions = self.assumptions(input, &hyp, &criteria);
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
        let avatar = a
            .input
            .target_avatars
            .first()
            .cloned()
            .unwrap_or_else(|| "the segment you name first".into());
        // Impact = how far below 10, times the criterion's weight.
        let mut gaps: Vec<&Criterion> = report
            .criteria
            .iter()
            .filter(|c| c.weight > 0 && c.score < 8)
            .collect();
        gaps.sort_by_key(|c| {
            (
                std::cmp::Reverse(u32::from(10 - c.score) * u32::from(c.weight)),
                c.id,
            )
        });
        let recommendations: Vec<Recommendation> = gaps
            .iter()
            .take(6)
            .enumerate()
            .map(|(i, c)| {
                let answers = c
                    .findings
                    .iter()
                    .find(|f| f.kind == FindingKind::Gap)
                    .map_or_else(
                        || format!("{} scored {}/10", c.name, c.score),
                        |f| f.text.clone(),
                    );
                Recommendation {
                    rank: (i + 1) as u8,
                    criterion: c.id,
                    answers,
                    action: action_for(c.id, &avatar),
                }
            })
            .collect();
        let score_of = |id: CriterionId| {
            report
                .criteria
                .iter()
                .find(|c| c.id == id)
                .map_or(0, |c| c.score)
        };
        let assumption = |i: usize| {
            report
                .assumptions
                .get(i)
                .map_or_else(|| "A1".to_string(), |a| a.id.clone())
        };
        let mut experiments = vec![Experiment {
            method: "customer interviews".into(),
            avatar: avatar.clone(),
            description: format!(
                "Ten 30-minute problem interviews with {avatar}: ask about the last time the problem happened, what it cost, and what they tried."
            ),
            success_metric:
                "at least 6 of 10 describe the problem unprompted and a workaround they use today"
                    .into(),
            cost: "about $0–300 (gift cards)".into(),
            duration: "1–2 weeks".into(),
            tests: assumption(if report.assumptions.len() > 1 { 1 } else { 0 }),
        }];
        if score_of(CriterionId::EvidenceOfDemand) < 8 {
            experiments.push(Experiment {
                method: "landing page smoke test".into(),
                avatar: avatar.clone(),
                description: format!("A one-page offer for {} with a sign-up button, in front of 300 visitors from one channel {avatar} use.", quote(&a.input.name)),
                success_metric: "at least 5% of visitors leave an e-mail; at least 1% click a priced plan".into(),
                cost: "about $200–500 (ads)".into(),
                duration: "1 week".into(),
                tests: assumption(report.assumptions.len().saturating_sub(1)),
            });
        }
        if score_of(CriterionId::ValueProposition) < 8 || score_of(CriterionId::ScopeRealism) < 7 {
            experiments.push(Experiment {
                method: "concierge MVP".into(),
                avatar: avatar.clone(),
                description: format!("Deliver the outcome by hand for 5 {avatar} before building software; time every step."),
                success_metric: "at least 3 of 5 use it twice or more and ask to continue".into(),
                cost: "your time; under $200".into(),
                duration: "2–3 weeks".into(),
                tests: assumption(0),
            });
        }
        experiments.push(Experiment {
            method: "pre-sale".into(),
            avatar: avatar.clone(),
            description: format!("Offer {avatar} a discounted founding-customer price, paid now or as a signed letter of intent."),
            success_metric: "at least 3 of 20 prospects pay or sign".into(),
            cost: "under $100".into(),
            duration: "2 weeks".into(),
            tests: assumption(if report.assumptions.len() > 2 { 2 } else { 0 }),
        });
        if score_of(CriterionId::Differentiation) < 6 && experiments.len() < 5 {
            experiments.push(Experiment {
                method: "competitor teardown and switching interviews".into(),
                avatar: avatar.clone(),
                description: "List the top 3 alternatives; interview 5 people who use them about what they would switch for.".into(),
                success_metric: "at least 3 of 5 name a switching trigger your idea meets".into(),
                cost: "under $100".into(),
                duration: "1 week".into(),
                tests: assumption(report.assumptions.len().saturating_sub(1)),
            });
        }
        experiments.truncate(5);
        let mut risks: Vec<Mitigation> = report
            .risk_flags
            .iter()
            .map(|f| Mitigation {
                risk: format!("Regulated domain ({}): {}", f.domain, f.note),
                mitigation: mitigation_for(&f.domain),
            })
            .collect();
        for c in report
            .criteria
            .iter()
            .filter(|c| c.weight > 0 && c.score <= 3)
            .take(3)
        {
            risks.push(Mitigation {
                risk: format!(
                    "{} is weak ({}/10): building now risks solving the wrong problem.",
                    c.name, c.score
                ),
                mitigation: action_for(c.id, &avatar),
            });
        }
        if risks.is_empty() {
            risks.push(Mitigation {
                risk: "Execution risk: the first version takes longer than the evidence window."
                    .into(),
                mitigation:
                    "Time-box the first release to 6 weeks and cut scope, not the deadline.".into(),
            });
        }
        let severe = report.risk_flags.len() >= 2;
        let decision = match (report.overall_score, severe) {
            (70..=100, false) => Decision {
                call: Call::Go,
                rationale: format!(
                    "The idea scores {}/100 with no blocking risk: run the experiments below to confirm demand while you build the smallest version.",
                    report.overall_score
                ),
            },
            (40..=100, _) => Decision {
                call: Call::Pivot,
                rationale: format!(
                    "The idea scores {}/100: keep the problem, but sharpen the segment and the hypothesis before building; the top recommendations say where.",
                    report.overall_score
                ),
            },
            _ => Decision {
                call: Call::Stop,
                rationale: format!(
                    "At {}/100 there is not enough to act on yet: stop building and gather evidence (the interviews below) before deciding.",
                    report.overall_score
                ),
            },
        };
        let next_milestone = match decision.call {
            Call::Go => format!("Within 4 weeks: 3 paying or committed {avatar} and a working first version for them."),
            Call::Pivot => format!("Within 2 weeks: 10 interviews with {avatar} and a rewritten hypothesis with a threshold."),
            Call::Stop => "Within 2 weeks: write down the problem, the customer and one testable hypothesis, then run 10 interviews.".into(),
        };
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

fn action_for(id: CriterionId, avatar: &str) -> String {
    match id {
        CriterionId::ProblemClarity => format!("Rewrite the description as: \"{avatar} struggle with <problem> <how often>, costing them <time or money>; today they <workaround>.\""),
        CriterionId::CustomerSpecificity => "Pick one segment you can reach this week (role, situation, channel) and make it the first avatar.".into(),
        CriterionId::HypothesisTestability => format!("Rewrite the hypothesis: \"{avatar} will <pay/sign up/switch> — at least <N%> of <who> within <2 weeks>.\""),
        CriterionId::ValueProposition => "State the outcome in the customer's terms and put a number on it (hours saved, money made).".into(),
        CriterionId::EvidenceOfDemand => format!("Collect evidence before building: 10 interviews with {avatar}, then a waitlist or pre-orders."),
        CriterionId::Differentiation => "Name today's alternatives and the one reason a customer would switch; test that reason in interviews.".into(),
        CriterionId::ScopeRealism => "Cut to one segment, one job and one channel for the first version.".into(),
        CriterionId::RegulatoryRisk => "Get a one-hour review with a specialist lawyer before handling regulated data.".into(),
    }
}

fn mitigation_for(domain: &str) -> String {
    match domain {
        "health" => "Avoid diagnostic claims in the first version; keep health data out of it or use a HIPAA-eligible provider with a BAA; get a regulatory review.",
        "finance" => "Partner with a licensed provider (banking-as-a-service, payment processor) instead of holding funds; get a compliance review before launch.",
        "children" => "Sell to parents or schools, not children; collect no child data without verifiable parental consent; follow COPPA/GDPR-K.",
        "personal_data" => "Collect the minimum, get explicit consent, run a DPIA before the pilot.",
        _ => "Verify age at sign-up and check local licensing before launch.",
    }
    .to_string()
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
