//! PII redaction, applied to an idea before anything is stored or logged.
//!
//! Each finding is replaced by `[REDACTED:<kind>]`; the [`RedactionReport`] keeps kinds and
//! counts, never values. Detectors run from the most specific to the most general so a
//! card number is not half-eaten by the phone detector first.
//!
//! Judgment calls (each has a test):
//! - Card numbers are redacted only when they pass the Luhn check: 16-digit order or
//!   tracking numbers are common in ideas and are not PII.
//! - An IPv4-shaped string directly after `v`, `version` or `ver.` is a version number and
//!   stays; so does a dotted run with more than four parts (`1.2.3.4.5`).
//! - IBANs are recognised by shape and a real IBAN country code, without the mod-97 check:
//!   a mistyped IBAN still identifies an account holder.
//! - A phone number needs 9–15 digits and either a leading `+` or at least two
//!   separators, so prices, years and decimals stay.

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::sync::LazyLock;

use crate::input::ProjectInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    UrlCredentials,
    Email,
    Iban,
    CardNumber,
    NationalId,
    IpAddress,
    Phone,
}

impl PiiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::UrlCredentials => "url_credentials",
            PiiKind::Email => "email",
            PiiKind::Iban => "iban",
            PiiKind::CardNumber => "card_number",
            PiiKind::NationalId => "national_id",
            PiiKind::IpAddress => "ip_address",
            PiiKind::Phone => "phone",
        }
    }

    fn placeholder(self) -> String {
        format!("[REDACTED:{}]", self.as_str())
    }
}

/// What was redacted: kinds and counts only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionReport {
    pub total: u32,
    pub kinds: BTreeMap<PiiKind, u32>,
}

impl RedactionReport {
    fn add(&mut self, kind: PiiKind, n: u32) {
        if n > 0 {
            *self.kinds.entry(kind).or_default() += n;
            self.total += n;
        }
    }

    pub fn merge(&mut self, other: &RedactionReport) {
        for (kind, n) in &other.kinds {
            self.add(*kind, *n);
        }
    }
}

#[allow(
    clippy::expect_used,
    reason = "the patterns are constants: a bad one fails every test"
)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("PII patterns are valid")
}

static URL_USERINFO: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s:@]+):([^/\s@]+)@"));
static URL_SECRET_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)([?&](?:access_token|id_token|token|api_key|apikey|key|password|passwd|pwd|secret|client_secret|sig|signature|auth)=)([^&\s#]+)",
    )
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)[a-z0-9._%+\-]+@[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*\.[a-z]{2,}",
    )
});
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b([A-Z]{2})(\d{2})((?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b"));
static CARD: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d(?:[ \-]?\d){12,18}\b"));
static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"\b(\d{3})-(\d{2})-(\d{4})\b"));
static UK_NINO: LazyLock<Regex> = LazyLock::new(|| re(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"));
static LABELLED_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(ssn|social security(?: number| no\.?)?|national (?:id|identity|insurance)(?: number| no\.?)?|passport(?: number| no\.?)?|tax id|tin|nino|personnummer|bsn|dni|nif|aadhaar|id number)(\s*(?:is|:|#|no\.?)?\s*)([A-Z0-9][A-Z0-9\-]{4,18}[A-Z0-9])\b",
    )
});
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b"));
static IPV6_CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%[0-9a-z]+)?"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\+?(?:\(\d{1,5}\)[ .\-]?)?\d{1,5}(?:[ .\-]\(?\d{1,6}\)?){1,6}|\+\d{8,15}")
});

const IBAN_COUNTRIES: &str = "AD AE AL AT AZ BA BE BG BH BR BY CH CR CY CZ DE DK DO EE EG ES FI FO FR GB GE GI GL GR GT HR HU IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV MC MD ME MK MR MT MU NL NO PK PL PS PT QA RO RS SA SC SE SI SK SM ST SV TL TN TR UA VA VG XK";

/// Redacts one text, adding what it found to `report`.
pub fn redact_text(text: &str, report: &mut RedactionReport) -> String {
    let mut out = text.to_string();
    out = replace(&out, &URL_USERINFO, PiiKind::UrlCredentials, report, |c| {
        // Already redacted: leave it, so redaction is idempotent.
        (!c[2].starts_with("[REDACTED"))
            .then(|| format!("{}{}@", &c[1], PiiKind::UrlCredentials.placeholder()))
    });
    out = replace(
        &out,
        &URL_SECRET_PARAM,
        PiiKind::UrlCredentials,
        report,
        |c| {
            (!c[2].starts_with("[REDACTED"))
                .then(|| format!("{}{}", &c[1], PiiKind::UrlCredentials.placeholder()))
        },
    );
    out = replace(&out, &EMAIL, PiiKind::Email, report, |_| {
        Some(PiiKind::Email.placeholder())
    });
    out = replace(&out, &IBAN, PiiKind::Iban, report, |c| {
        let body_len = c[3].chars().filter(|ch| *ch != ' ').count();
        let total = 4 + body_len;
        let known = IBAN_COUNTRIES.split(' ').any(|cc| cc == &c[1]);
        let digits = c[0].chars().filter(char::is_ascii_digit).count();
        (known && (15..=34).contains(&total) && digits >= 8).then(|| PiiKind::Iban.placeholder())
    });
    out = replace(&out, &CARD, PiiKind::CardNumber, report, |c| {
        let digits: Vec<u32> = c[0].chars().filter_map(|ch| ch.to_digit(10)).collect();
        luhn_valid(&digits).then(|| PiiKind::CardNumber.placeholder())
    });
    out = replace(&out, &LABELLED_ID, PiiKind::NationalId, report, |c| {
        // Only when the value has digits: "passport holders" must stay.
        c[3].chars()
            .any(|ch| ch.is_ascii_digit())
            .then(|| format!("{}{}{}", &c[1], &c[2], PiiKind::NationalId.placeholder()))
    });
    out = replace(&out, &SSN, PiiKind::NationalId, report, |c| {
        let area: u32 = c[1].parse().unwrap_or(0);
        let valid = area != 0 && area != 666 && area < 900 && &c[2] != "00" && &c[3] != "0000";
        valid.then(|| PiiKind::NationalId.placeholder())
    });
    out = replace(&out, &UK_NINO, PiiKind::NationalId, report, |_| {
        Some(PiiKind::NationalId.placeholder())
    });
    out = redact_ipv4(&out, report);
    out = replace(&out, &IPV6_CANDIDATE, PiiKind::IpAddress, report, |c| {
        let candidate = c[0].split('%').next().unwrap_or_default();
        (candidate.matches(':').count() >= 2 && candidate.parse::<Ipv6Addr>().is_ok())
            .then(|| PiiKind::IpAddress.placeholder())
    });
    out = redact_phones(&out, report);
    out
}

/// Redacts every field of an idea. The report covers all fields together.
pub fn redact_input(input: &ProjectInput) -> (ProjectInput, RedactionReport) {
    let mut report = RedactionReport::default();
    let redacted = ProjectInput {
        name: redact_text(&input.name, &mut report),
        description: redact_text(&input.description, &mut report),
        hypothesis: redact_text(&input.hypothesis, &mut report),
        target_avatars: input
            .target_avatars
            .iter()
            .map(|a| redact_text(a, &mut report))
            .collect(),
    };
    (redacted, report)
}

/// Replaces each match for which `decide` returns a replacement; others stay as they are.
fn replace(
    text: &str,
    pattern: &Regex,
    kind: PiiKind,
    report: &mut RedactionReport,
    mut decide: impl FnMut(&Captures<'_>) -> Option<String>,
) -> String {
    let mut found = 0;
    let out = pattern.replace_all(text, |c: &Captures<'_>| match decide(c) {
        Some(replacement) => {
            found += 1;
            replacement
        }
        None => c[0].to_string(),
    });
    report.add(kind, found);
    out.into_owned()
}

fn luhn_valid(digits: &[u32]) -> bool {
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| *d == 0) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn redact_ipv4(text: &str, report: &mut RedactionReport) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut found = 0;
    for c in IPV4.captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        let before = &text[..whole.start()];
        let after = &text[whole.end()..];
        let octets_ok = (1..=4).all(|i| c[i].parse::<u32>().is_ok_and(|o| o <= 255));
        // A fifth dotted part means this is not an address (`1.2.3.4.5`).
        let longer_run = after.starts_with('.')
            && after[1..].starts_with(|ch: char| ch.is_ascii_digit())
            || before.ends_with('.')
                && before[..before.len() - 1].ends_with(|ch: char| ch.is_ascii_digit());
        if !octets_ok || longer_run || is_version_prefix(before) {
            continue;
        }
        out.push_str(&text[last..whole.start()]);
        out.push_str(&PiiKind::IpAddress.placeholder());
        last = whole.end();
        found += 1;
    }
    out.push_str(&text[last..]);
    report.add(PiiKind::IpAddress, found);
    out
}

fn is_version_prefix(before: &str) -> bool {
    let lower = before.trim_end().to_lowercase();
    let glued_v = before.ends_with(['v', 'V'])
        && !before[..before.len() - 1].ends_with(|c: char| c.is_alphanumeric());
    glued_v || lower.ends_with("version") || lower.ends_with("ver.") || lower.ends_with(" v")
}

fn redact_phones(text: &str, report: &mut RedactionReport) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut found = 0;
    for m in PHONE.find_iter(text) {
        let candidate = m.as_str();
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        // Glued to a word or a number (`x555…`, `1.555…`, `…4567.8`), it is not a phone.
        let glued_before = before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == ',');
        let mut rest = text[m.end()..].chars().skip(1);
        let glued_after = after.is_some_and(|c| {
            c.is_alphanumeric()
                || (matches!(c, '.' | ',') && rest.next().is_some_and(|n| n.is_ascii_digit()))
        });
        let digits = candidate.chars().filter(char::is_ascii_digit).count();
        let separators = candidate
            .split(|c: char| c.is_ascii_digit() || c == '+')
            .filter(|s| !s.is_empty())
            .count();
        // SSN-shaped (3-2-4) is never a phone: a valid one was redacted as an id already.
        let ssn_shaped = SSN
            .find(candidate)
            .is_some_and(|s| s.len() == candidate.len());
        let plausible = !ssn_shaped
            && (9..=15).contains(&digits)
            && (candidate.starts_with('+') || separators >= 2)
            && !glued_before
            && !glued_after;
        if !plausible {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(&PiiKind::Phone.placeholder());
        last = m.end();
        found += 1;
    }
    out.push_str(&text[last..]);
    report.add(PiiKind::Phone, found);
    out
}
