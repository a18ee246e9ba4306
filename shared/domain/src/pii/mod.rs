//! PII redaction, applied to an idea before anything is stored or logged
//! (ARCHITECTURE.md §5; the README's "PII redaction" states what is found and the figures).
//!
//! Each finding is replaced by `[REDACTED:<kind>]`; the [`RedactionReport`] keeps kinds and
//! counts, never values. Detectors run from the most specific to the most general, so a card
//! number is not half-eaten by the phone detector and a VAT id is not taken for a phone. A
//! detector never touches a placeholder, so redaction is idempotent.
//!
//! One module per family, each with its judgment calls: [`network`] (credentials in URLs,
//! e-mail, IP addresses), [`ids`] (IBANs, cards, VAT ids, national ids), [`phone`] (phone
//! numbers, validated against libphonenumber's numbering plans), [`labelled`] (postal
//! addresses and dates of birth, only after a label that makes them unambiguous).

mod ids;
mod labelled;
mod network;
mod phone;
mod policy;

use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::input::ProjectInput;

pub use policy::{DEFAULT_PII_REGIONS, PiiPolicy, PiiRegionsError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    UrlCredentials,
    Email,
    Iban,
    VatId,
    CardNumber,
    NationalId,
    DateOfBirth,
    IpAddress,
    Phone,
    PostalAddress,
}

impl PiiKind {
    pub const ALL: [PiiKind; 10] = [
        PiiKind::UrlCredentials,
        PiiKind::Email,
        PiiKind::Iban,
        PiiKind::VatId,
        PiiKind::CardNumber,
        PiiKind::NationalId,
        PiiKind::DateOfBirth,
        PiiKind::IpAddress,
        PiiKind::Phone,
        PiiKind::PostalAddress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::UrlCredentials => "url_credentials",
            PiiKind::Email => "email",
            PiiKind::Iban => "iban",
            PiiKind::VatId => "vat_id",
            PiiKind::CardNumber => "card_number",
            PiiKind::NationalId => "national_id",
            PiiKind::DateOfBirth => "date_of_birth",
            PiiKind::IpAddress => "ip_address",
            PiiKind::Phone => "phone",
            PiiKind::PostalAddress => "postal_address",
        }
    }

    /// What a person reads in an error: "a phone number".
    pub fn describe(self) -> &'static str {
        match self {
            PiiKind::UrlCredentials => "credentials in a URL",
            PiiKind::Email => "an e-mail address",
            PiiKind::Iban => "an IBAN",
            PiiKind::VatId => "a VAT id",
            PiiKind::CardNumber => "a card number",
            PiiKind::NationalId => "a national id, passport or tax number",
            PiiKind::DateOfBirth => "a date of birth",
            PiiKind::IpAddress => "an IP address",
            PiiKind::Phone => "a phone number",
            PiiKind::PostalAddress => "a postal address",
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

/// Redacts one text with the default policy ([`DEFAULT_PII_REGIONS`]).
pub fn redact_text(text: &str, report: &mut RedactionReport) -> String {
    PiiPolicy::default_regions().redact_text(text, report)
}

/// Redacts every field of an idea with the default policy.
pub fn redact_input(input: &ProjectInput) -> (ProjectInput, RedactionReport) {
    PiiPolicy::default_regions().redact_input(input)
}

impl PiiPolicy {
    /// Redacts one text, adding what it found to `report`.
    pub fn redact_text(&self, text: &str, report: &mut RedactionReport) -> String {
        let mut out = network::redact_url_credentials(text, report);
        out = network::redact_emails(&out, report);
        out = ids::redact_ibans(&out, report);
        out = ids::redact_vat_ids(&out, report);
        out = ids::redact_cards(&out, report);
        out = ids::redact_national_ids(&out, report);
        out = labelled::redact_dates_of_birth(&out, report);
        out = network::redact_ip_addresses(&out, report);
        out = phone::redact_phones(&out, self, report);
        labelled::redact_postal_addresses(&out, report)
    }

    /// Redacts every text field of an idea (name and avatar labels included). The report
    /// covers all fields together.
    pub fn redact_input(&self, input: &ProjectInput) -> (ProjectInput, RedactionReport) {
        let mut report = RedactionReport::default();
        let redacted = ProjectInput {
            name: self.redact_text(&input.name, &mut report),
            description: self.redact_text(&input.description, &mut report),
            hypothesis: self.redact_text(&input.hypothesis, &mut report),
            target_avatars: input
                .target_avatars
                .iter()
                .map(|a| self.redact_text(a, &mut report))
                .collect(),
        };
        (redacted, report)
    }
}

#[allow(
    clippy::expect_used,
    reason = "the patterns are constants: a bad one fails every test"
)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("PII patterns are valid")
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

/// A letter or digit of a word in a Latin, Greek or Cyrillic script, or `_`. Text in
/// scripts written without spaces (Japanese, Chinese) touches numbers directly
/// (`電話03-1234-5678`), so their characters do not glue a number to a word.
fn word_char(c: char) -> bool {
    c == '_' || (c.is_alphanumeric() && (c as u32) < 0x0530)
}
