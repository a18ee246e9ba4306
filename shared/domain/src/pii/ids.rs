//! IBANs, VAT ids, card numbers and national ids (social security, tax, passport numbers).
//!
//! Judgment calls (each has a test or corpus line):
//! - IBANs are recognised by shape and a real IBAN country code, without the mod-97 check:
//!   a mistyped IBAN still identifies an account holder.
//! - A VAT id is a country prefix in capitals and the body that country's format allows
//!   (`DE123456789`, `ATU 1358 5627`, `NL123456789B01`, `CHE-123.456.789`); a sole
//!   trader's VAT id identifies a person. `DE 2026 plan` stays: the body is too short.
//! - Card numbers need 14 to 19 digits, a network's prefix (2221–2720, 30, 34–39, 4, 5, 6)
//!   and the Luhn check: order numbers, 13-digit EAN barcodes (the 13-digit Visa is long
//!   retired) and `0044…` phone numbers stay.
//! - A number glued to a longer token (`…a456-426614174000` in a UUID) is part of it.
//! - National ids are found without a label only where the format carries a check (a
//!   Spanish DNI/NIE letter, a French NIR key, an Italian codice fiscale check letter, an
//!   Aadhaar Verhoeff digit, a Brazilian CPF's check digits, an Indian PAN's shape) or is
//!   unmistakable (a US SSN `123-45-6789` outside the never-issued ranges, a UK NI number).
//!   Anything else needs a label (`passport no.`, `Steuer-ID`, `BSN`, `TFN`, `SIN`, `My
//!   Number`, …) followed by a value with at least three digits, so "passport holders" and
//!   "tax id verification API" stay.

use regex::Regex;
use std::sync::LazyLock;

use super::{PiiKind, RedactionReport, re, replace};

static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?-u:\b)([A-Z]{2})(\d{2})((?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)(?-u:\b)")
});
const IBAN_COUNTRIES: &str = "AD AE AL AT AZ BA BE BG BH BR BY CH CR CY CZ DE DK DO EE EG ES FI FO FR GB GE GI GL GR GT HR HU IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV MC MD ME MK MR MT MU NL NO PK PL PS PT QA RO RS SA SC SE SI SK SM ST SV TL TN TR UA VA VG XK";

static VAT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)(CHE|AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI)[ \-]?([0-9A-Z](?:[ .\-]?[0-9A-Z+*]){5,13})(?-u:\b)",
    )
});
/// The body each country allows, separators removed.
static VAT_BODY: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("AT", r"^U\d{8}$"),
        ("BE", r"^[01]\d{9}$"),
        ("BG", r"^\d{9,10}$"),
        ("CHE", r"^\d{9}$"),
        ("CY", r"^\d{8}[A-Z]$"),
        ("CZ", r"^\d{8,10}$"),
        ("DE", r"^\d{9}$"),
        ("DK", r"^\d{8}$"),
        ("EE", r"^\d{9}$"),
        ("EL", r"^\d{9}$"),
        ("ES", r"^[A-Z0-9]\d{7}[A-Z0-9]$"),
        ("FI", r"^\d{8}$"),
        ("FR", r"^[0-9A-HJ-NP-Z]{2}\d{9}$"),
        ("GB", r"^(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})$"),
        ("XI", r"^(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})$"),
        ("HR", r"^\d{11}$"),
        ("HU", r"^\d{8}$"),
        ("IE", r"^(?:\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W])$"),
        ("IT", r"^\d{11}$"),
        ("LT", r"^(?:\d{9}|\d{12})$"),
        ("LU", r"^\d{8}$"),
        ("LV", r"^\d{11}$"),
        ("MT", r"^\d{8}$"),
        ("NL", r"^\d{9}B\d{2}$"),
        ("PL", r"^\d{10}$"),
        ("PT", r"^\d{9}$"),
        ("RO", r"^\d{6,10}$"),
        ("SE", r"^\d{10}01$"),
        ("SI", r"^\d{8}$"),
        ("SK", r"^\d{10}$"),
    ]
    .into_iter()
    .map(|(cc, body)| (cc, re(body)))
    .collect()
});

static CARD: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)\d(?:[ .\-]?\d){13,18}(?-u:\b)"));

static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)(\d{3})-(\d{2})-(\d{4})(?-u:\b)"));
static UK_NINO: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?-u:\b)"));
static ES_DNI: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)([XYZ]?)(\d{7,8})[ \-]?([A-Z])(?-u:\b)"));
static FR_NIR: LazyLock<Regex> = LazyLock::new(|| {
    re(r"([+\-./]\s?)?(?-u:\b)([12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3}) ?(\d{2})(?-u:\b)")
});
static IT_CF: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?-u:\b)[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z](?-u:\b)",
    )
});
static IN_AADHAAR: LazyLock<Regex> =
    LazyLock::new(|| re(r"([+\-./]\s?)?(?-u:\b)[2-9]\d{3}[ \-]?\d{4}[ \-]?\d{4}(?-u:\b)"));
static IN_PAN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?-u:\b)[A-Z]{3}[PCHFATBLJG][A-Z]\d{4}[A-Z](?-u:\b)"));
static BR_CPF: LazyLock<Regex> = LazyLock::new(|| re(r"(?-u:\b)\d{3}\.\d{3}\.\d{3}-\d{2}(?-u:\b)"));
/// Long labels in any case; short ones (`SIN`, `PAN`, `NIE`, `CF`) only in capitals, as they
/// are also words ("sin" in Spanish, "pan", "nie").
static LABELLED_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"((?-u:\b)(?i:social security(?: number| no\.?)?|national (?:id|identity|insurance)(?: number| no\.?)?",
        r"|ni number|passport(?: number| no\.?| #)?|reisepass(?:nummer)?|passeport(?: n°| no)?|pasaporte",
        r"|(?:numero )?passaporto|paspoort(?:nummer)?|passaporte|tax id|steuer-?id(?:nr\.?)?",
        r"|steueridentifikationsnummer|steuernummer|personnummer|aadhaar(?: no)?|pan card|ausweisnummer",
        r"|personalausweis(?:nummer)?|numéro de sécu(?:rité sociale)?|codice fiscale|id number)",
        r"|(?-u:\b)(?:SSN|SIN|NAS|TIN|ITIN|UTR|BSN|DNI|NIE|NIF|NIR|PAN|CPF|RG|TFN|CF|CURP|NINO|IdNr|My Number)",
        r"|マイナンバー|個人番号|旅券番号)",
        r"(\s*(?:is|:|：|#|no\.?|n°)?\s*)([A-Z0-9](?:[ \-./]?[A-Z0-9]){4,24})(?-u:\b)",
    ))
});

pub(super) fn redact_ibans(text: &str, report: &mut RedactionReport) -> String {
    replace(text, &IBAN, PiiKind::Iban, report, |c| {
        let body_len = c[3].chars().filter(|ch| *ch != ' ').count();
        let total = 4 + body_len;
        let known = IBAN_COUNTRIES.split(' ').any(|cc| cc == &c[1]);
        let digits = c[0].chars().filter(char::is_ascii_digit).count();
        (known && (15..=34).contains(&total) && digits >= 8).then(|| PiiKind::Iban.placeholder())
    })
}

pub(super) fn redact_vat_ids(text: &str, report: &mut RedactionReport) -> String {
    replace(text, &VAT, PiiKind::VatId, report, |c| {
        // The match may run into a word after the id (`CHE-123.456.789 MWST`): try it
        // whole, then without its trailing space-separated parts, and keep what follows.
        let raw = &c[2];
        let mut cut = raw.len();
        loop {
            let body: String = raw[..cut]
                .chars()
                .filter(|ch| !" .-".contains(*ch))
                .collect();
            let valid = VAT_BODY
                .iter()
                .any(|(cc, pattern)| *cc == &c[1] && pattern.is_match(&body));
            if valid {
                return Some(format!("{}{}", PiiKind::VatId.placeholder(), &raw[cut..]));
            }
            cut = raw[..cut].rfind(' ')?;
        }
    })
}

pub(super) fn redact_cards(text: &str, report: &mut RedactionReport) -> String {
    replace(text, &CARD, PiiKind::CardNumber, report, |c| {
        let digits: Vec<u32> = c[0].chars().filter_map(|ch| ch.to_digit(10)).collect();
        (card_network_prefix(&digits) && luhn_valid(&digits))
            .then(|| PiiKind::CardNumber.placeholder())
    })
}

pub(super) fn redact_national_ids(text: &str, report: &mut RedactionReport) -> String {
    let kind = PiiKind::NationalId;
    let mut out = replace(text, &LABELLED_ID, kind, report, |c| {
        // Only a value with digits: "passport holders" must stay.
        (c[3].chars().filter(char::is_ascii_digit).count() >= 3)
            .then(|| format!("{}{}{}", &c[1], &c[2], kind.placeholder()))
    });
    out = replace(&out, &SSN, kind, report, |c| {
        let area: u32 = c[1].parse().unwrap_or(0);
        let valid = area != 0 && area != 666 && area < 900 && &c[2] != "00" && &c[3] != "0000";
        valid.then(|| kind.placeholder())
    });
    out = replace(&out, &UK_NINO, kind, report, |_| Some(kind.placeholder()));
    out = replace(&out, &ES_DNI, kind, report, |c| {
        dni_valid(&c[1], &c[2], &c[3]).then(|| kind.placeholder())
    });
    // After a `+` these digits are a phone number; after `-`, `.` or `/` part of a longer
    // token (a UUID, a path): not an id.
    out = replace(&out, &FR_NIR, kind, report, |c| {
        (c.get(1).is_none() && nir_valid(&c[2], &c[3])).then(|| kind.placeholder())
    });
    out = replace(&out, &IT_CF, kind, report, |c| {
        codice_fiscale_valid(&c[0]).then(|| kind.placeholder())
    });
    out = replace(&out, &IN_AADHAAR, kind, report, |c| {
        if c.get(1).is_some() {
            return None;
        }
        let digits: Vec<u32> = c[0].chars().filter_map(|ch| ch.to_digit(10)).collect();
        verhoeff_valid(&digits).then(|| kind.placeholder())
    });
    out = replace(&out, &IN_PAN, kind, report, |_| Some(kind.placeholder()));
    replace(&out, &BR_CPF, kind, report, |c| {
        let digits: Vec<u32> = c[0].chars().filter_map(|ch| ch.to_digit(10)).collect();
        cpf_valid(&digits).then(|| kind.placeholder())
    })
}

fn card_network_prefix(digits: &[u32]) -> bool {
    let two = digits.iter().take(2).fold(0, |n, d| n * 10 + d);
    let four = digits.iter().take(4).fold(0, |n, d| n * 10 + d);
    matches!(digits.first(), Some(4..=6))
        || matches!(two, 30 | 34..=39)
        || (2221..=2720).contains(&four)
}

fn luhn_valid(digits: &[u32]) -> bool {
    if !(14..=19).contains(&digits.len()) || digits.iter().all(|d| *d == 0) {
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

/// A Spanish DNI (8 digits) or NIE (X/Y/Z and 7 digits): the letter is the number mod 23.
fn dni_valid(prefix: &str, digits: &str, letter: &str) -> bool {
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let lead = match prefix {
        "" if digits.len() == 8 => "",
        "X" if digits.len() == 7 => "0",
        "Y" if digits.len() == 7 => "1",
        "Z" if digits.len() == 7 => "2",
        _ => return false,
    };
    let Ok(n) = format!("{lead}{digits}").parse::<u64>() else {
        return false;
    };
    LETTERS.get((n % 23) as usize).map(|l| *l as char) == letter.chars().next()
}

/// A French NIR: the key is 97 minus the number mod 97 (Corsica's 2A/2B count as 19/18).
fn nir_valid(body: &str, key: &str) -> bool {
    let compact: String = body.chars().filter(|c| *c != ' ').collect();
    let numeric = compact.replace("2A", "19").replace("2B", "18");
    match (numeric.parse::<u64>(), key.parse::<u64>()) {
        (Ok(n), Ok(k)) => 97 - n % 97 == k,
        _ => false,
    }
}

/// An Italian codice fiscale: the last letter checks the first fifteen characters.
fn codice_fiscale_valid(code: &str) -> bool {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let chars: Vec<char> = code.chars().collect();
    if chars.len() != 16 {
        return false;
    }
    let value = |c: char| -> u32 {
        c.to_digit(10)
            .unwrap_or_else(|| u32::from(c as u8).saturating_sub(u32::from(b'A')))
    };
    let sum: u32 = chars[..15]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let v = value(*c);
            if i % 2 == 0 {
                ODD.get(v as usize).copied().unwrap_or(0)
            } else {
                v
            }
        })
        .sum();
    char::from(b'A' + (sum % 26) as u8) == chars[15]
}

/// The Verhoeff check Aadhaar numbers carry.
fn verhoeff_valid(digits: &[u32]) -> bool {
    const D: [[u32; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u32; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let check = digits.iter().rev().enumerate().fold(0usize, |c, (i, d)| {
        D[c][P[i % 8][*d as usize % 10] as usize] as usize
    });
    digits.len() == 12 && check == 0
}

/// A Brazilian CPF: two check digits, each a weighted sum mod 11 of the digits before it.
fn cpf_valid(digits: &[u32]) -> bool {
    if digits.len() != 11 || digits.iter().all(|d| *d == digits[0]) {
        return false;
    }
    (9..=10).all(|n| {
        let sum: u32 = digits[..n]
            .iter()
            .zip((2..=n as u32 + 1).rev())
            .map(|(d, w)| d * w)
            .sum();
        let check = (sum * 10) % 11 % 10;
        digits[n] == check
    })
}
