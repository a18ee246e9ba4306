//! Phone numbers: candidate spans found the way people write numbers, each validated
//! against libphonenumber's numbering plans (the `phonenumber` crate).
//!
//! A candidate is a run of digits joined by the separators people use: spaces, dots,
//! dashes, slashes, parentheses around an area code, a trunk `(0)`. It is split at spaces
//! into groups; the longest run of whole groups (leftmost first) that is a valid number is
//! the finding, so `+49 170 1234567 / 0170 1234567` is two numbers and the `2` of
//! `0170 1234567 2x a week` is not part of one.
//!
//! Judgment calls (each has a corpus line):
//! - International format (`+49 …`, `0049 …`) needs a real country code and either a
//!   number valid in that country's plan or one of plausible length (7–13 digits after the
//!   country code): the `+` is intent enough, so even a number from a range reserved for
//!   fiction (`+44 7700 900123`) goes.
//! - National format is checked against the configured regions' plans
//!   ([`super::PiiPolicy`]) the way libphonenumber's matcher does at its `VALID` leniency:
//!   the number is valid there, and written with the region's trunk prefix where that
//!   region's format requires it (`030 123456` in Germany; `(201) 555-0123` and
//!   `(11) 96123-4567` need none), with at most one `/`. A plan alone would take
//!   `2026-11-22` for a Wuppertal number; the trunk-prefix rule is what keeps dates,
//!   amounts and quantities out. It is also a fixed line, mobile, VoIP, pager or personal
//!   number: service numbers (premium, shared cost, UAN) are not a person's.
//! - A national-format candidate shaped like a date (`23.11.2026`, `2026-11-22`,
//!   `12/31/2025`) or a year range (`2024–2026`) is one.
//! - A bare run of digits with no separator counts only when it starts with a trunk `0`
//!   (`015123456789`): an unformatted `2015550123` is as likely an id, a timestamp or an
//!   amount as a phone, so it stays.
//! - A run glued to a word, a currency sign, `#`, `%`, or a decimal point
//!   (`x555…`, `$…`, `#4155550132`, `…4567.8`) is not a phone; neither is a number whose only
//!   separator is one `.` or `,` (a decimal: `3.14159265`).

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{PhoneNumber, Type};
use regex::Regex;
use std::ops::Range;
use std::sync::{Arc, LazyLock, OnceLock};

use super::{PiiKind, PiiPolicy, RedactionReport, re, word_char};

/// Digits joined by at most three separator characters at a time.
static CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"[+(]{0,2}\d(?:[\d() \t\u{a0}\u{2009}\u{202f}./\-\u{2010}\u{2011}\u{2013}]{0,3}\d)*\)?")
});

/// Dates and year ranges, written with one separator throughout.
static DATE_SHAPED: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"^(?:\d{4}([./\-])\d{1,2}[./\-]\d{1,2}|\d{1,2}([./\-])\d{1,2}[./\-](?:\d{4}|\d{2})",
        r"|(?:19|20)\d{2}\s*[\-\u{2013}/]\s*(?:19|20)\d{2})$"
    ))
});

/// E.164 allows 15 digits; a national number written with its trunk prefix and an
/// international one written with `00` add up to 17.
const MAX_DIGITS: usize = 17;
const MIN_DIGITS: usize = 7;

pub(super) fn redact_phones(
    text: &str,
    policy: &PiiPolicy,
    report: &mut RedactionReport,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut found = 0;
    for candidate in CANDIDATE.find_iter(text) {
        for span in phones_in(text, candidate.range(), policy.plans()) {
            out.push_str(&text[last..span.start]);
            out.push_str(&PiiKind::Phone.placeholder());
            last = span.end;
            found += 1;
        }
    }
    out.push_str(&text[last..]);
    report.add(PiiKind::Phone, found);
    out
}

/// The phone numbers inside one candidate, as byte ranges of `text`.
fn phones_in(text: &str, candidate: Range<usize>, regions: &[RegionPlan]) -> Vec<Range<usize>> {
    let groups = groups_of(text, candidate);
    let mut found = Vec::new();
    let mut start = 0;
    'starts: while start < groups.len() {
        let mut digits = 0;
        let mut ends = Vec::new();
        for (end, group) in groups.iter().enumerate().skip(start) {
            let n = count_digits(&text[group.clone()]);
            // A group without digits (a lone `/` or `-`) separates two numbers.
            if n == 0 || digits + n > MAX_DIGITS {
                break;
            }
            digits += n;
            if digits >= MIN_DIGITS {
                ends.push(end);
            }
        }
        for end in ends.into_iter().rev() {
            let span = trim_parens(text, groups[start].start..groups[end].end);
            if !glued(text, &span) && is_phone(&text[span.clone()], regions) {
                found.push(span);
                start = end + 1;
                continue 'starts;
            }
        }
        start += 1;
    }
    found
}

/// The candidate split at whitespace.
fn groups_of(text: &str, candidate: Range<usize>) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut group_start = None;
    for (i, c) in text[candidate.clone()].char_indices() {
        let at = candidate.start + i;
        match (c.is_whitespace(), group_start) {
            (true, Some(s)) => {
                groups.push(s..at);
                group_start = None;
            }
            (false, None) => group_start = Some(at),
            _ => {}
        }
    }
    if let Some(s) = group_start {
        groups.push(s..candidate.end);
    }
    groups
}

/// Drops an unbalanced leading `(` or trailing `)`: `(0170 1234567)` is the number inside.
fn trim_parens(text: &str, span: Range<usize>) -> Range<usize> {
    let s = &text[span.clone()];
    let opens = s.matches('(').count();
    let closes = s.matches(')').count();
    let mut span = span;
    if opens > closes && s.starts_with('(') {
        span.start += 1;
    } else if closes > opens && s.ends_with(')') {
        span.end -= 1;
    }
    span
}

fn count_digits(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

/// Whether what touches the span makes it part of something else: a word, an amount, a
/// reference, a decimal.
fn glued(text: &str, span: &Range<usize>) -> bool {
    let mut before = text[..span.start].chars().rev();
    let mut after = text[span.end..].chars();
    let glued_before = match before.next() {
        Some(c) if word_char(c) || "#$€£¥₹@=%".contains(c) => true,
        Some('.' | ',' | '-' | '/') => before.next().is_some_and(word_char),
        _ => false,
    };
    let glued_after = match after.next() {
        Some(c) if word_char(c) || "%€$£¥₹@".contains(c) => true,
        Some('.' | ',' | '-' | '/') => after.next().is_some_and(word_char),
        _ => false,
    };
    glued_before
        || glued_after
        || (written_like_an_amount(&text[span.clone()])
            && next_to_currency(&text[..span.start], &text[span.end..]))
}

/// Whether a run could be an amount at all: digits grouped by spaces, dots, commas or
/// apostrophes, not starting with a dialling prefix (`+`, a trunk `0`). A run with
/// brackets, dashes or slashes, or a prefix, is a phone number even beside a currency
/// code ("(201) 555-0123 GBP rates apply"): leaking a number costs more than redacting an
/// oddly written amount.
fn written_like_an_amount(run: &str) -> bool {
    !run.starts_with(['+', '0'])
        && run
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || ".,'’".contains(c))
}

const CURRENCY_SIGNS: &str = "$€£¥₹";
const CURRENCY_CODES: [&str; 10] = [
    "EUR", "USD", "GBP", "CHF", "JPY", "INR", "BRL", "AUD", "CAD", "MXN",
];

/// `854 465 678 €`, `EUR 12 345 678`: an amount, however it is grouped.
fn next_to_currency(before: &str, after: &str) -> bool {
    let before = before.trim_end();
    let after = after.trim_start();
    before.ends_with(|c: char| CURRENCY_SIGNS.contains(c))
        || after.starts_with(|c: char| CURRENCY_SIGNS.contains(c))
        || CURRENCY_CODES
            .iter()
            .any(|code| before.ends_with(code) || after.starts_with(code))
}

fn is_phone(span: &str, regions: &[RegionPlan]) -> bool {
    let separators: Vec<char> = span
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != '+')
        .collect();
    if matches!(separators.as_slice(), ['.'] | [',']) {
        return false;
    }
    let digits: String = span.chars().filter(char::is_ascii_digit).collect();
    let trimmed = span.trim_start_matches('(');
    if trimmed.starts_with('+') {
        return international(span);
    }
    if let Some(rest) = trimmed.strip_prefix("00") {
        return international(&format!("+{rest}"));
    }
    let national_shape_ok = (!separators.is_empty() || digits.starts_with('0'))
        && separators.iter().filter(|c| **c == '/').count() <= 1
        && !date_shaped(span);
    national_shape_ok
        && regions.iter().any(|region| {
            region.could_hold(&digits)
                && phonenumber::parse(Some(region.id), span).is_ok_and(|number| {
                    phonenumber::is_valid(&number)
                        && personal_type(&number)
                        && region.trunk_prefix_present_if_required(&digits, &number)
                        && (region.written_with_trunk(&digits) || grouped_as_dialled(span, &number))
                })
        })
}

fn international(number: &str) -> bool {
    phonenumber::parse(None, number).is_ok_and(|n| {
        phonenumber::is_valid(&n) || (7..=13).contains(&n.national().to_string().len())
    })
}

/// Without a trunk prefix, a number must be grouped the way its region writes it (the
/// separators fall where libphonenumber's national format puts them, `(201) 555-0123`,
/// `81234 56789`) or in threes (`612 345 678`). `20 30 40 50 60` is a list, not a number.
fn grouped_as_dialled(span: &str, number: &PhoneNumber) -> bool {
    let official = phonenumber::format(number)
        .mode(phonenumber::Mode::National)
        .to_string();
    let national_len = number.national().to_string().len();
    let official_breaks = group_breaks(&official, national_len);
    let written_breaks = group_breaks(span, national_len);
    let in_threes = written_breaks
        .iter()
        .enumerate()
        .all(|(i, b)| *b == 3 * (i + 1));
    written_breaks.iter().all(|b| official_breaks.contains(b)) || in_threes
}

/// Where the digit groups of `written` end, counted in digits of the national number (a
/// written trunk prefix is not counted).
fn group_breaks(written: &str, national_len: usize) -> Vec<usize> {
    let total = count_digits(written);
    let skip = total.saturating_sub(national_len);
    let mut breaks = Vec::new();
    let mut seen = 0;
    let mut chars = written.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            seen += 1;
            let next_is_separator = chars.peek().is_some_and(|n| !n.is_ascii_digit());
            if next_is_separator && seen > skip && seen < total {
                breaks.push(seen - skip);
            }
        }
    }
    breaks.dedup();
    breaks
}

fn date_shaped(span: &str) -> bool {
    DATE_SHAPED.captures(span).is_some_and(|c| {
        // One separator throughout: `23.11.2026`, not `06.12-34`.
        let sep = c.get(1).or(c.get(2)).map(|m| m.as_str());
        sep.is_none_or(|sep| span.matches(sep).count() == 2)
    })
}

fn personal_type(number: &PhoneNumber) -> bool {
    matches!(
        number.number_type(&DATABASE),
        Type::FixedLine
            | Type::Mobile
            | Type::FixedLineOrMobile
            | Type::Voip
            | Type::Pager
            | Type::PersonalNumber
    )
}

/// One region's numbering plan as the national-format check needs it: its trunk prefix
/// and, per number format, whether that format writes the prefix. The patterns compile on
/// first use: a policy of many regions costs start-up time only for the regions its text
/// actually touches.
#[derive(Debug, Clone)]
pub(super) struct RegionPlan {
    pub(super) id: Id,
    compiled: Arc<OnceLock<CompiledPlan>>,
}

#[derive(Debug)]
struct CompiledPlan {
    trunk_prefix: Option<String>,
    /// How many digits a national number here can have (empty: any).
    lengths: Vec<u16>,
    /// The region's whole numbering plan as one anchored pattern: a number it does not
    /// match is not parsed (the parser's own pattern lookups cost far more).
    general: Option<Regex>,
    formats: Vec<TrunkFormat>,
    /// Every format writes the trunk prefix: a number written without it is never this
    /// region's, and is refused before the (costly) parse.
    trunk_always_required: bool,
}

#[derive(Debug, Clone)]
struct TrunkFormat {
    /// The format applies to national numbers starting like this (anchored).
    leading: Option<Regex>,
    /// And matching this whole (anchored).
    pattern: Regex,
    /// It writes the trunk prefix (`$NP$FG`) and does not call it optional.
    requires_trunk: bool,
}

impl RegionPlan {
    /// Names the region only: nothing is loaded until the plan is first used (building a
    /// policy must not load libphonenumber's metadata; see [`PiiPolicy::warm_up`]).
    ///
    /// [`PiiPolicy::warm_up`]: super::PiiPolicy::warm_up
    pub(super) fn new(id: Id) -> Self {
        RegionPlan {
            id,
            compiled: Arc::new(OnceLock::new()),
        }
    }

    /// Compiles this region's patterns and loads its parser state now.
    pub(super) fn warm_up(&self) {
        self.compiled();
        let _ = phonenumber::parse(Some(self.id), "0 123 456 789");
    }

    fn compiled(&self) -> &CompiledPlan {
        self.compiled.get_or_init(|| {
            let meta = DATABASE.by_id(self.id.as_ref());
            // The plans' patterns are ASCII digits: `-u` keeps `\d` ASCII, which compiles
            // to a far smaller automaton than Unicode's digits.
            let anchored =
                |body: &str, end: &str| Regex::new(&format!("(?x-u)^(?:{body}){end}")).ok();
            let formats: Vec<TrunkFormat> = meta
                .map(|meta| {
                    meta.formats()
                        .iter()
                        .filter_map(|format| {
                            Some(TrunkFormat {
                                leading: match format.leading_digits().last() {
                                    Some(lead) => Some(anchored(lead.as_str(), "")?),
                                    None => None,
                                },
                                pattern: anchored(format.pattern().as_str(), "$")?,
                                requires_trunk: !format.is_national_prefix_optional()
                                    && format.national_prefix().is_some_and(|r| r.contains("$NP")),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let trunk_prefix = meta.and_then(|m| m.national_prefix().map(str::to_string));
            let trunk_always_required = trunk_prefix.is_some()
                && !formats.is_empty()
                && formats.iter().all(|f| f.requires_trunk);
            CompiledPlan {
                trunk_prefix,
                lengths: meta
                    .map(|m| m.descriptors().general().possible_length().to_vec())
                    .unwrap_or_default(),
                general: meta.and_then(|m| {
                    anchored(m.descriptors().general().national_number().as_str(), "$")
                }),
                formats,
                trunk_always_required,
            }
        })
    }

    /// Cheap checks that rule a written national number out before it is parsed: its
    /// length, and a trunk prefix this region always writes.
    fn could_hold(&self, written_digits: &str) -> bool {
        let with_trunk = self.written_with_trunk(written_digits);
        let compiled = self.compiled();
        if compiled.trunk_always_required && !with_trunk {
            return false;
        }
        let trunk_len = if with_trunk {
            compiled.trunk_prefix.as_ref().map_or(0, String::len)
        } else {
            0
        };
        let national = &written_digits[trunk_len.min(written_digits.len())..];
        let length_ok = compiled.lengths.is_empty()
            || compiled.lengths.iter().any(|l| {
                usize::from(*l) == national.len() || usize::from(*l) == written_digits.len()
            });
        length_ok
            && compiled
                .general
                .as_ref()
                .is_none_or(|g| g.is_match(national) || g.is_match(written_digits))
    }

    fn written_with_trunk(&self, written: &str) -> bool {
        self.compiled()
            .trunk_prefix
            .as_deref()
            .is_some_and(|prefix| written.starts_with(prefix))
    }

    /// libphonenumber's "national prefix present if required": where this region's format
    /// for the number writes the trunk prefix and does not call it optional, a number
    /// written nationally without it is not this region's number. A number no format
    /// describes must carry the prefix.
    fn trunk_prefix_present_if_required(&self, written: &str, number: &PhoneNumber) -> bool {
        let Some(prefix) = &self.compiled().trunk_prefix else {
            return true;
        };
        if written.starts_with(prefix.as_str()) {
            return true;
        }
        let national = number.national().to_string();
        self.compiled()
            .formats
            .iter()
            .find(|f| {
                f.leading.as_ref().is_none_or(|l| l.is_match(&national))
                    && f.pattern.is_match(&national)
            })
            .is_some_and(|f| !f.requires_trunk)
    }
}
