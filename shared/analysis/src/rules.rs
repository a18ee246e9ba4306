//! The rule engine: a documented rubric applied to the idea's text (see `RUBRIC.md`).
//! Pure and deterministic: no clock, no randomness, ordered collections only.

use super::grammar::{and_list, capitalised, count, plural};
use super::reading::{Reading, future_markers, is_generic};
use super::text::{Doc, quote};
use super::*;
use crate::decision;

pub const ENGINE: &str = "zts-rules";
pub const ENGINE_VERSION: &str = "1.2.2";

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
    "waiting",
    "wait on",
    "wait for",
    "give up",
    "forget",
    "short-staffed",
    "over-order",
    "overspend",
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
/// Stems: "sav" finds save, saves, saving; "cut" finds cuts and cutting.
const BENEFIT_WORDS: &[&str] = &[
    "sav",
    "faster",
    "cheaper",
    "reduc",
    "cut",
    "increas",
    "improv",
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
    "halv",
    "half the",
    "fewer",
    "reliab",
    "vetted",
    "guarantee",
    "same day",
    "same-day",
    "no more",
    "in under",
    // A change already measured: "short-staffed shifts fell from 10% to 3%".
    "fell",
    "dropped",
    "down from",
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
    // Use and payment reported as done (a sentence about the future never counts).
    "pay us",
    "pays us",
    "paying us",
    "paid us",
    "paid pilot",
    "paid visit",
    "subscribers",
    "subscribed",
    "booked",
    "rented",
    "ordered",
    "bought",
    "use our",
    "use it",
    "used it",
    "using it",
    "using our",
    "trialling",
    "trialing",
    "testing it",
    "tested it",
    "referred",
    "asked for",
    "asked to",
];

/// A price paid is evidence only when it is being paid now ("37 shops pay $49/month
/// today"); "families pay $1,200 a month for childcare" is the pain, not demand.
const PAYING_NOW: &[&str] = &["pay $", "pay £", "pay €", "pays $", "pays £", "pays €"];
const NOW_MARKERS: &[&str] = &[" today", "already", " now", "currently"];
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
            "dental",
            "dentist",
            "orthodont",
            "pharmac",
            "physiotherap",
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
            // Selling or underwriting insurance; an insurance *claim* handled for a
            // clinic is admin work (health data: the health domain), not finance.
            "insurance polic",
            "insurance product",
            "sell insurance",
            "underwrit",
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

/// Phrases in which a domain's keyword means something else, by domain: read in context,
/// "veterinary clinics" are not health data, "minor repairs" are not children, an
/// "investigative journalist" is not investing and "course credits" are not credit.
const REGULATED_EXCEPT: &[(&str, &[&str])] = &[
    (
        "health",
        &[
            "veterinary clinic",
            "vet clinic",
            "vet practice",
            "animal clinic",
            "pet clinic",
            "animal hospital",
            "pet hospital",
            "retail therapy",
        ],
    ),
    (
        "finance",
        &[
            "investigat",
            "course credit",
            "academic credit",
            "credit hour",
            "credit transfer",
            "photo credit",
            "food bank",
            "blood bank",
            "bank holiday",
        ],
    ),
    (
        "children",
        &[
            "minor repair",
            "minor job",
            "minor fix",
            "minor bug",
            "minor issue",
            "minor change",
            "minor damage",
            "minor edit",
            "minor update",
        ],
    ),
];

fn regulated_except(domain: &str) -> &'static [&'static str] {
    REGULATED_EXCEPT
        .iter()
        .find(|(d, _)| *d == domain)
        .map_or(&[], |(_, except)| except)
}

/// The regulated domains a report can flag, by name.
pub fn regulated_domains() -> Vec<&'static str> {
    REGULATED.iter().map(|(domain, _, _)| *domain).collect()
}

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
/// A criterion is named the strongest only from this score, the weakest only below this.
const STRONG_FROM: u8 = 6;
const WEAK_BELOW: u8 = 8;

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

/// The words that name an avatar in a text: the label itself, and its head noun in any
/// number — the last word of the label, and of its part before a qualifier ("practice
/// manager at a solo dental clinic": "clinic" and "manager"). "independent bookkeeper" is
/// named by "50 bookkeepers", "dental agency" by "agencies": matched at word starts, so a
/// stem covers its plurals.
fn avatar_forms(avatar: &str) -> Vec<&str> {
    const QUALIFIERS: [&str; 9] = [
        " at ",
        " on ",
        " in ",
        " of ",
        " for ",
        " with ",
        " who ",
        " that ",
        " planning ",
    ];
    let label = avatar.trim();
    let mut forms = Vec::new();
    if label.is_empty() {
        return forms;
    }
    forms.push(label);
    let before_qualifier = QUALIFIERS
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
            // "agency" → "agenc" (agency, agencies); "bookkeeper" covers "bookkeepers".
            forms.push(
                head.strip_suffix('y')
                    .filter(|s| s.len() >= 4)
                    .unwrap_or(head),
            );
        }
    }
    forms
}

fn clamp(points: i32) -> u8 {
    points.clamp(0, 10) as u8
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
        let who = avatars
            .iter()
            .any(|a| hyp.has_any(&avatar_forms(&a.to_lowercase())))
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

    /// Evidence is what the founder reports as done: the description, never the hypothesis
    /// (a plan), and no sentence about the future ("we will survey 100").
    fn evidence(&self, done: &Doc) -> Scored {
        let mut findings = Vec::new();
        let future = future_markers();
        let reported = done
            .quote_any_unless(EVIDENCE_WORDS, future)
            .or_else(|| done.quote_with_unless(PAYING_NOW, NOW_MARKERS, future));
        match reported {
            Some(q) => {
                let mut points = 5;
                findings.push(strength("It cites evidence of demand.", Some(q)));
                let counted = done
                    .quantified_unless(EVIDENCE_WORDS, future)
                    .or_else(|| done.quote_with_unless(PAYING_NOW, NOW_MARKERS, future));
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

    /// `name`: what the idea is called is not what it says ("CreditBridge" names no
    /// credit), so a keyword inside the name, wherever the name appears, does not count.
    fn regulatory(&self, all: &Doc, name: &str) -> (Scored, Vec<RiskFlag>) {
        let mut flags = Vec::new();
        let mut findings = Vec::new();
        let name = name.trim().to_lowercase();
        for (domain, words, note) in REGULATED {
            let mut except = regulated_except(domain).to_vec();
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

    /// The assumptions the idea rests on, each with its kind (which experiment can test
    /// it) and a test with a pass threshold; sentences built by the grammar layer.
    fn assumptions(&self, input: &ProjectInput, criteria: &[Criterion]) -> Vec<Assumption> {
        let reading = Reading::of(input);
        let users = plural(&reading.user);
        let payers = plural(&reading.payer);
        let name = format!("“{}”", quote(&input.name));
        let score = |id: CriterionId| criteria.iter().find(|c| c.id == id).map_or(0, |c| c.score);
        let mut out: Vec<(AssumptionKind, String, String)> = Vec::new();
        let hypothesis = input.hypothesis.trim();
        if !hypothesis.is_empty() {
            let test = if score(CriterionId::HypothesisTestability) >= 8 {
                "Run it as written, with the threshold it states fixed before you start."
                    .to_string()
            } else {
                format!(
                    "Rewrite it with who, an observable behaviour, a threshold and a time box, then run it with {}.",
                    count(20, &reading.user)
                )
            };
            out.push((AssumptionKind::Hypothesis, quote(hypothesis), test));
        }
        let problem_test = match reading.interviews_reported {
            Some(n) if n >= 10 => format!(
                "Already reported: {n} conversations. Confirm it in use: at least 3 of {} in a concierge trial use it twice or more.",
                count(5, &reading.user)
            ),
            _ => format!(
                "Interview {}; at least 6 describe the problem unprompted and a workaround they use today.",
                count(10, &reading.user)
            ),
        };
        out.push((
            AssumptionKind::Problem,
            capitalised(&format!("{users} feel the problem {name} solves often and painfully enough to look for a fix.")),
            problem_test,
        ));
        out.push((
            AssumptionKind::WillingnessToPay,
            capitalised(&format!(
                "{payers} will pay for {name} rather than keep today's workaround."
            )),
            format!(
                "Ask {} to pre-order or sign a letter of intent; at least 3 commit.",
                count(10, &reading.payer)
            ),
        ));
        if score(CriterionId::Differentiation) < 6 {
            out.push((
                AssumptionKind::BetterThanAlternative,
                format!("{name} is meaningfully better than what {users} use today."),
                "List the top 3 alternatives; show 5 prospects a side-by-side and count who would switch (target: 3 of 5).".into(),
            ));
        }
        if hypothesis.is_empty() || score(CriterionId::EvidenceOfDemand) < 5 {
            out.push((
                AssumptionKind::Reachable,
                format!("Enough {users} can be reached through one channel to test {name} cheaply."),
                "Put a landing page in front of 300 visitors from one channel; at least 5% leave an e-mail.".into(),
            ));
        }
        out.truncate(MAX_ASSUMPTIONS);
        out.into_iter()
            .enumerate()
            .map(|(i, (kind, statement, test))| Assumption {
                id: format!("A{}", i + 1),
                kind: Some(kind),
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
            (CriterionId::EvidenceOfDemand, self.evidence(&desc)),
            (CriterionId::Differentiation, self.differentiation(&all)),
            (CriterionId::ScopeRealism, self.scope(&all, input)),
        ];
        let (risk, risk_flags) = self.regulatory(&all, &input.name);
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
        let assumptions = self.assumptions(input, &criteria);
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
        let user = reading.user.as_str();
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
                action: action_for(c.id, &reading),
            })
            .collect();
        let experiments = experiments(report, a.input, &reading);
        let mut risks: Vec<Mitigation> = report
            .risk_flags
            .iter()
            .map(|f| Mitigation {
                risk: format!("Regulated domain ({}): {}", f.domain, f.note),
                mitigation: mitigation_for(&f.domain),
            })
            .collect();
        // The weak criteria are one risk with one mitigation: the same template once per
        // criterion read as boilerplate (issue #32).
        let weak: Vec<_> = report
            .criteria
            .iter()
            .filter(|c| c.weight > 0 && c.score <= decision::WEAK_AT_MOST)
            .take(3)
            .collect();
        if !weak.is_empty() {
            let named: Vec<String> = weak
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let name = if i == 0 {
                        c.name.clone()
                    } else {
                        c.name.to_lowercase()
                    };
                    format!("{name} ({}/10)", c.score)
                })
                .collect();
            let mut ranks: Vec<String> = weak
                .iter()
                .filter_map(|c| recommendations.iter().find(|r| r.criterion == c.id))
                .map(|r| r.rank.to_string())
                .collect();
            ranks.sort();
            let (is, scores) = if weak.len() == 1 {
                ("is", "its score is")
            } else {
                ("are", "each of these scores is")
            };
            let mitigation = match ranks.len() {
                0 => format!("Keep the build to a prototype until {scores} 6 or more."),
                1 => format!(
                    "Keep the build to a prototype until recommendation {} is done and {scores} 6 or more.",
                    ranks[0]
                ),
                _ => format!(
                    "Keep the build to a prototype until recommendations {} are done and {scores} 6 or more.",
                    and_list(&ranks)
                ),
            };
            risks.push(Mitigation {
                risk: format!(
                    "{} {is} weak: building now risks solving the wrong problem.",
                    and_list(&named)
                ),
                mitigation,
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
        let decision = decide(report, &recommendations);
        let next_milestone = match decision.call {
            Call::Go => format!(
                "Within 4 weeks: {} paying or committed, and a working first version for them.",
                count(3, &reading.payer)
            ),
            Call::Pivot => pivot_milestone(report, a.input, &reading, evidenced),
            Call::Stop => match reading.interviews_reported {
                Some(n) if n >= 10 => format!(
                    "Within 2 weeks: write down the problem, the customer and one testable hypothesis from what your {n} interviews showed."
                ),
                _ => format!(
                    "Within 2 weeks: write down the problem, the customer and one testable hypothesis, then interview {}.",
                    count(10, user)
                ),
            },
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

/// The call from the decision table, and a rationale that names its reasons.
fn decide(report: &ValidationReport, recommendations: &[Recommendation]) -> Decision {
    let call = decision::call(report);
    let score = report.overall_score;
    let blockers = decision::blockers(report);
    let reasons = blockers
        .iter()
        .take(3)
        .map(decision::Blocker::describe)
        .collect::<Vec<_>>()
        .join("; ");
    let rationale = match call {
        Call::Go => format!(
            "The idea scores {score}/100 with nothing blocking: run the experiments below to confirm demand while you build the smallest version."
        ),
        Call::Pivot if score >= decision::GO_FROM => {
            format!("The idea scores {score}/100, but {reasons}: settle that first, then build.")
        }
        Call::Pivot => {
            let first = recommendations
                .iter()
                .take(2)
                .map(|r| r.criterion.label().to_lowercase())
                .collect::<Vec<_>>();
            let work = if first.is_empty() {
                String::new()
            } else {
                format!(" Close the biggest gaps first: {}.", first.join(" and "))
            };
            if reasons.is_empty() {
                format!("The idea scores {score}/100: not yet enough to build on.{work}")
            } else {
                format!("The idea scores {score}/100 and {reasons}.{work}")
            }
        }
        Call::Stop => format!(
            "At {score}/100 there is not enough to act on yet: stop building and gather evidence before deciding."
        ),
    };
    Decision { call, rationale }
}

/// What to reach next when the call is pivot, asking only for what the idea lacks.
fn pivot_milestone(
    report: &ValidationReport,
    input: &ProjectInput,
    reading: &Reading,
    evidenced: bool,
) -> String {
    let mut asks = Vec::new();
    if report.risk_flags.len() >= decision::DOMAINS_THAT_BLOCK {
        asks.push("a compliance review of the regulated parts".to_string());
    }
    if !evidenced {
        asks.push(format!("interviews with {}", count(10, &reading.user)));
    }
    let testability = report
        .criteria
        .iter()
        .find(|c| c.id == CriterionId::HypothesisTestability)
        .map_or(0, |c| c.score);
    if input.hypothesis.trim().is_empty() || testability < 8 {
        asks.push("a hypothesis with a threshold and a time box".into());
    }
    if asks.is_empty() {
        asks.push(format!(
            "the top recommendation done and shown to {}",
            count(5, &reading.payer)
        ));
    }
    format!("Within 2 weeks: {}.", join_and(&asks))
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The experiments: one per assumption, each testing that assumption by id, with the
/// avatar that fits what it tests (who pays, for a pre-sale); at most five.
fn experiments(
    report: &ValidationReport,
    input: &ProjectInput,
    reading: &Reading,
) -> Vec<Experiment> {
    let user = reading.user.as_str();
    let users = plural(user);
    let name = format!("“{}”", quote(&input.name));
    let testable = report
        .criteria
        .iter()
        .any(|c| c.id == CriterionId::HypothesisTestability && c.score >= 8);
    let mut out = Vec::new();
    for assumption in &report.assumptions {
        let Some(kind) = assumption.kind else {
            continue;
        };
        let tests = assumption.id.clone();
        let experiment = match kind {
            AssumptionKind::Hypothesis if testable => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "Run the hypothesis exactly as written with {}, the threshold fixed in advance.",
                    count(20, user)
                ),
                success_metric: format!("the threshold it states: “{}”", quote(input.hypothesis.trim())),
                cost: "about $100–300".into(),
                duration: "2 weeks".into(),
                tests,
            },
            AssumptionKind::Hypothesis => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "Rewrite the hypothesis with who, an observable behaviour, a threshold and a time box, then run it with {}.",
                    count(20, user)
                ),
                success_metric: "the threshold you write down before you start".into(),
                cost: "about $100–300".into(),
                duration: "2 weeks".into(),
                tests,
            },
            AssumptionKind::Problem if reading.interviews_reported.is_some_and(|n| n >= 10) => Experiment {
                method: "concierge MVP".into(),
                avatar: user.to_string(),
                description: format!(
                    "Deliver the outcome by hand for {} before building software; time every step.",
                    count(5, user)
                ),
                success_metric: "at least 3 of 5 use it twice or more and ask to continue".into(),
                cost: "your time; under $200".into(),
                duration: "2–3 weeks".into(),
                tests,
            },
            AssumptionKind::Problem => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "Ten 30-minute problem interviews with {users}: ask about the last time the problem happened, what it cost, and what they tried."
                ),
                success_metric:
                    "at least 6 of 10 describe the problem unprompted and a workaround they use today"
                        .into(),
                cost: "about $0–300 (gift cards)".into(),
                duration: "1–2 weeks".into(),
                tests,
            },
            AssumptionKind::WillingnessToPay => Experiment {
                method: method_for(kind).into(),
                avatar: reading.payer.clone(),
                description: format!(
                    "Offer {} a discounted founding-customer price for {name}, paid now or as a signed letter of intent.",
                    plural(&reading.payer)
                ),
                success_metric: "at least 3 of 20 prospects pay or sign".into(),
                cost: "under $100".into(),
                duration: "2 weeks".into(),
                tests,
            },
            AssumptionKind::BetterThanAlternative => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "List the top 3 alternatives {users} use today; interview 5 of their users about what they would switch for."
                ),
                success_metric: "at least 3 of 5 name a switching trigger your idea meets".into(),
                cost: "under $100".into(),
                duration: "1 week".into(),
                tests,
            },
            AssumptionKind::Reachable => Experiment {
                method: method_for(kind).into(),
                avatar: user.to_string(),
                description: format!(
                    "A one-page offer for {name} with a sign-up button, in front of 300 visitors from one channel {users} use."
                ),
                success_metric:
                    "at least 5% of visitors leave an e-mail; at least 1% click a priced plan".into(),
                cost: "about $200–500 (ads)".into(),
                duration: "1 week".into(),
                tests,
            },
        };
        out.push(experiment);
    }
    out.truncate(5);
    out
}

/// The method that tests each kind of assumption (a concierge MVP also tests the problem,
/// where interviews are already done).
pub fn method_for(kind: AssumptionKind) -> &'static str {
    match kind {
        AssumptionKind::Hypothesis => "hypothesis test",
        AssumptionKind::Problem => "customer interviews",
        AssumptionKind::WillingnessToPay => "pre-sale",
        AssumptionKind::BetterThanAlternative => "competitor teardown and switching interviews",
        AssumptionKind::Reachable => "landing page smoke test",
    }
}

fn action_for(id: CriterionId, reading: &Reading) -> String {
    let user = reading.user.as_str();
    match id {
        CriterionId::ProblemClarity => format!("Rewrite the description as: \"{} struggle with <problem> <how often>, costing them <time or money>; today they <workaround>.\"", plural(user)),
        CriterionId::CustomerSpecificity => "Pick one segment you can reach this week (role, situation, channel) and make it the first avatar.".into(),
        CriterionId::HypothesisTestability => format!("Rewrite the hypothesis: \"<N%> of {} will <pay/sign up/switch> within <2 weeks>.\"", count(20, user)),
        CriterionId::ValueProposition => "State the outcome in the customer's terms and put a number on it (hours saved, money made).".into(),
        CriterionId::EvidenceOfDemand if reading.interviews_reported.is_some_and(|n| n >= 10) => "Turn the interviews into commitments: a waitlist, pre-orders or letters of intent.".into(),
        CriterionId::EvidenceOfDemand => format!("Collect evidence before building: interview {}, then open a waitlist or take pre-orders.", count(10, user)),
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
