//! Postal addresses and dates of birth: redacted only after a label that makes them
//! unambiguous, because without one they are indistinguishable from a company's address or
//! a launch date.
//!
//! Judgment calls (each has a corpus line):
//! - An address follows `address:`, `home address is`, `Adresse:`, `Anschrift:`,
//!   `Dirección:`, `Indirizzo:`, `Adres:`, `Endereço:`, `住所：` (a colon or `is` after the
//!   label is required: "address the problem" stays) and must hold a digit (a house number
//!   or postcode: "Adresse: siehe Website" stays). It runs to the end of the line, a `;` or
//!   `|`, or a sentence end (`. ` then a capital, unless the word before the dot is a street
//!   abbreviation like `St.`), at most 160 characters.
//! - A date of birth is a full date (numbers, or a day, month name and year in English,
//!   German, French, Spanish, Italian, Portuguese or Dutch, or `1985年3月12日`) right after
//!   `date of birth`, `DOB`, `born (on)`, `geboren am`, `né(e) le`, `fecha de nacimiento`,
//!   …. A year alone stays ("born in 1985"), as does a date without the label ("founded on
//!   12/03/1985").

use regex::Regex;
use std::sync::LazyLock;

use super::{PiiKind, RedactionReport, re, replace};

const MONTHS: &str = concat!(
    "jan(?:uary|uar|vier|eiro|uari)?|feb(?:ruary|ruar|ruari)?|févr(?:ier)?|fevereiro|mar(?:ch|s|ço)?|märz|maart",
    "|apr(?:il|ile)?|avr(?:il)?|abril|mai?|may(?:o)?|maggio|mei|jun(?:e|i|io|ho)?|juin|giugno|jul(?:y|i|io|ho)?",
    "|juil(?:let)?|luglio|aug(?:ust|ustus)?|août|agosto|sep(?:t(?:ember)?)?|septembre|septiembre|settembre|setembro",
    "|oct(?:ober|obre)?|okt(?:ober)?|octubre|ottobre|outubro|nov(?:ember|embre|iembre)?|novembro",
    "|dec(?:ember|embre)?|dez(?:ember)?|déc(?:embre)?|diciembre|dicembre|dezembro|enero|febrero|marzo|gennaio|febbraio|aprile"
);

static DATE_OF_BIRTH: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        concat!(
            r"(?i)((?:(?-u:\b)(?:date of birth|birth ?date|birthday|d\.?o\.?b\.?|born(?: on)?|geboren(?: am| op)?|geburtsdatum|geb\.",
            r"|née? le|date de naissance|fecha de nacimiento|nacid[oa] el|data di nascita|nat[oa] il|nascid[oa] em",
            r"|data de nascimento|geboortedatum))|生年月日)(\s*[:：]?\s*)",
            r"(\d{{1,4}}[./\-]\d{{1,2}}[./\-]\d{{2,4}}|\d{{1,2}}\.?\s+(?:de\s+)?(?:{m})\.?\s+(?:de\s+)?\d{{4}}",
            r"|(?:{m})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{4}}年\d{{1,2}}月\d{{1,2}}日)"
        ),
        m = MONTHS
    ))
});

static ADDRESS_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:(?-u:\b)(?:(?:home|postal|mailing|shipping|billing|street|office) )?(?:address|adresse|anschrift|dirección|direccion|domicilio",
        r"|indirizzo|adres|endereço|endereco|morada)(?:\s*(?::|is|ist|est|es|è|é)\s+|\s*:\s*)|住所\s*[:：]\s*)"
    ))
});

/// Street abbreviations a dot may follow inside an address.
const ABBREVIATIONS: &[&str] = &[
    "st", "str", "ave", "av", "rd", "nr", "no", "blvd", "dr", "pl", "sq", "apt", "ste", "bldg",
    "co", "mt", "ft", "n", "s", "e", "w",
];
const ADDRESS_MAX_CHARS: usize = 160;

pub(super) fn redact_dates_of_birth(text: &str, report: &mut RedactionReport) -> String {
    let kind = PiiKind::DateOfBirth;
    replace(text, &DATE_OF_BIRTH, kind, report, |c| {
        Some(format!("{}{}{}", &c[1], &c[2], kind.placeholder()))
    })
}

pub(super) fn redact_postal_addresses(text: &str, report: &mut RedactionReport) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut found = 0;
    for label in ADDRESS_LABEL.find_iter(text) {
        if label.start() < last {
            continue;
        }
        let value = address_value(&text[label.end()..]);
        if value.starts_with("[REDACTED") || !value.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push_str(&text[last..label.end()]);
        out.push_str(&PiiKind::PostalAddress.placeholder());
        last = label.end() + value.len();
        found += 1;
    }
    out.push_str(&text[last..]);
    report.add(PiiKind::PostalAddress, found);
    out
}

/// The address after its label: up to the end of the line, `;`, `|`, a placeholder, or a
/// sentence end; trailing spaces and punctuation left out.
fn address_value(rest: &str) -> &str {
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        if i >= ADDRESS_MAX_CHARS {
            end = i;
            break;
        }
        let tail = &rest[i..];
        if matches!(c, '\n' | '\r' | ';' | '|' | '。') || tail.starts_with("[REDACTED") {
            end = i;
            break;
        }
        if c == '.' && sentence_ends(&rest[..i], &tail[1..]) {
            end = i;
            break;
        }
    }
    rest[..end].trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | ')'))
}

fn sentence_ends(before: &str, after: &str) -> bool {
    let next_is_sentence = after.starts_with(char::is_whitespace)
        && after
            .trim_start()
            .starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit());
    let word = before
        .rsplit(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_lowercase();
    after.is_empty() || (next_is_sentence && !ABBREVIATIONS.contains(&word.as_str()))
}
