//! The words the rule engine reads an idea by, one [`Lexicon`] per language, and the
//! choice of lexicon by the idea's own words (RUBRIC.md, "Languages"). The report's
//! sentences stay English; what changes with the language is what the engine recognises
//! in the founder's text (a pain, a threshold, interviews done, a regulated domain) and
//! how a customer label is counted in those sentences.
//!
//! Every list is lower-case and matched at word starts, so a stem ("verlier") finds its
//! inflections ("verlieren", "verliert").

mod english;
mod german;

use zts_domain::input::ProjectInput;

pub use english::ENGLISH;
pub use german::GERMAN;

/// A regulated domain's keywords in one language: (domain, keywords). The domain names
/// and what to manage in each are the engine's (`rules::criteria::DOMAINS`).
pub type Keywords = &'static [(&'static str, &'static [&'static str])];

/// What the engine recognises in one language.
#[derive(Debug)]
pub struct Lexicon {
    /// ISO 639-1 code ("en", "de").
    pub code: &'static str,
    /// The language's name in the report's language ("German").
    pub name: &'static str,
    /// Short frequent words that mark a text as written in this language.
    pub markers: &'static [&'static str],
    /// Letters no other language the engine reads uses: a word with one is a marker too
    /// ("Zahnärzte"), so a short text is still read in its language.
    pub letters: &'static [char],
    /// A pain ("waste", "lose", "hours").
    pub problem: &'static [&'static str],
    /// A behaviour one can observe ("pay", "sign up"), found with its inflections.
    pub behaviour: &'static [&'static str],
    /// What may follow a behaviour word for it to count ("" for the bare word; "s",
    /// "ed", "ing": "pays", never "payload").
    pub inflections: &'static [&'static str],
    /// A pass/fail threshold ("at least", "%").
    pub threshold: &'static [&'static str],
    /// A time box ("week", "within").
    pub timeframe: &'static [&'static str],
    /// A benefit; stems ("sav" finds save, saves, saving).
    pub benefit: &'static [&'static str],
    /// Evidence of demand reported as done ("interview", "waitlist", "booked").
    pub evidence: &'static [&'static str],
    /// A price being paid, evidence only beside a [`Lexicon::now`] marker.
    pub paying: &'static [&'static str],
    /// Marks a price as paid now, not the pain ("today", "already").
    pub now: &'static [&'static str],
    /// Positioning against today's alternatives ("unlike", "spreadsheet").
    pub differentiation: &'static [&'static str],
    /// Starting small ("mvp", "pilot").
    pub focus: &'static [&'static str],
    /// Boundless scope ("worldwide", "everything").
    pub sprawl: &'static [&'static str],
    /// Nouns that, with a number, size a segment ("employee", "clinic").
    pub segment_size: &'static [&'static str],
    /// Nouns that say who a hypothesis is about when no avatar label appears in it.
    pub who: &'static [&'static str],
    /// Words after which a customer label's head noun has ended (" at ", " eines ").
    pub qualifiers: &'static [&'static str],
    /// Endings cut from a label's head noun so its other forms match ("agency" → "agenc").
    pub head_endings: &'static [&'static str],
    /// Keywords of each regulated domain.
    pub regulated: Keywords,
    /// Phrases in which a domain's keyword means something else ("veterinary clinic").
    pub regulated_except: Keywords,
    /// Labels that are not a customer segment ("everyone", "users").
    pub generic_avatars: &'static [&'static str],
    /// Words that mark a label as the one who pays ("owner", "parent").
    pub payer: &'static [&'static str],
    /// Words that put a sentence in the future: a plan, not something done.
    pub future: &'static [&'static str],
    /// Words that, with a number, report interviews done ("interview", "surveyed").
    pub interviews: &'static [&'static str],
    /// The plural of a customer label, where the engine knows the language's plurals;
    /// `None` quotes the label as a segment instead ("people in the segment “…”").
    pub plural: Option<fn(&str) -> String>,
}

impl PartialEq for Lexicon {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}

impl Eq for Lexicon {}

/// Every language the engine reads, the default (English) first.
pub static LEXICONS: &[&Lexicon] = &[&ENGLISH, &GERMAN];

/// A text needs this many marker words of a language (and more than of any other) to be
/// read in it; anything less is read as English, the default.
const MIN_MARKERS: usize = 3;

/// Detection reads this many words at most: a language shows in its first sentences, and
/// a 5,000-character description would otherwise cost more to place than to score.
const DETECT_WORDS: usize = 100;

/// No marker word is longer (in UTF-8 bytes, at most 16): longer words are not compared.
const MARKER_MAX_BYTES: usize = 12;

/// A short word as one number: its bytes big-endian, zero-padded, so numbers order as
/// the words do and a lookup is a binary search over integers (detection runs on every
/// idea in each step and in the coherence check).
fn pack(word: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..word.len()].copy_from_slice(word);
    u128::from_be_bytes(bytes)
}

/// Each lexicon's markers, packed and sorted, in the order of [`LEXICONS`].
fn packed_markers() -> &'static [Vec<u128>] {
    static PACKED: std::sync::OnceLock<Vec<Vec<u128>>> = std::sync::OnceLock::new();
    PACKED.get_or_init(|| {
        LEXICONS
            .iter()
            .map(|lexicon| {
                let mut packed: Vec<u128> =
                    lexicon.markers.iter().map(|m| pack(m.as_bytes())).collect();
                packed.sort_unstable();
                packed
            })
            .collect()
    })
}

/// `word` lower-cased and packed, when it is short enough to be a marker.
fn packed_word(word: &str) -> Option<u128> {
    if word.len() > MARKER_MAX_BYTES {
        return None;
    }
    if word.is_ascii() {
        let mut lower = [0u8; MARKER_MAX_BYTES];
        let lower = &mut lower[..word.len()];
        lower.copy_from_slice(word.as_bytes());
        lower.make_ascii_lowercase();
        Some(pack(lower))
    } else {
        let lower = word.to_lowercase();
        (lower.len() <= MARKER_MAX_BYTES).then(|| pack(lower.as_bytes()))
    }
}

/// The language an idea is written in, by the marker words of its name, description,
/// hypothesis and avatars; English when no other language clearly leads.
pub fn detect(input: &ProjectInput) -> &'static Lexicon {
    let mut hits = [0usize; LEXICONS.len()];
    let texts = [&input.name, &input.description, &input.hypothesis]
        .into_iter()
        .chain(input.target_avatars.iter());
    let words = texts
        .flat_map(|text| text.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .take(DETECT_WORDS);
    {
        let packed = packed_markers();
        for word in words {
            let key = packed_word(word);
            for (i, lexicon) in LEXICONS.iter().enumerate() {
                let marker = key.is_some_and(|k| packed[i].binary_search(&k).is_ok());
                // Letters mark long words too ("Zahnärzte").
                let letter = !word.is_ascii()
                    && word
                        .chars()
                        .flat_map(char::to_lowercase)
                        .any(|c| lexicon.letters.contains(&c));
                if marker || letter {
                    hits[i] += 1;
                }
            }
        }
    }
    let (best, most) = hits
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, std::cmp::Reverse(*i)))
        .map_or((0, 0), |(i, n)| (i, *n));
    let clear = most >= MIN_MARKERS && hits.iter().filter(|n| **n == most).count() == 1;
    if clear { LEXICONS[best] } else { &ENGLISH }
}

/// A label that is no customer segment in any language the engine reads.
pub fn is_generic(avatar: &str) -> bool {
    let lower = avatar.trim().to_lowercase();
    LEXICONS.iter().any(|lexicon| {
        lexicon
            .generic_avatars
            .iter()
            .any(|g| lower == *g || lower.strip_suffix('s') == Some(g))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idea(description: &str, hypothesis: &str) -> ProjectInput {
        ProjectInput {
            name: "X".into(),
            description: description.into(),
            hypothesis: hypothesis.into(),
            target_avatars: vec![],
        }
    }

    #[test]
    fn an_idea_is_read_in_the_language_its_words_are_in() {
        let german = idea(
            "Handwerksbetriebe verlieren jede Woche 4 Stunden mit dem Schreiben von Angeboten.",
            "Mindestens 20% von 50 Betrieben zahlen innerhalb von 4 Wochen.",
        );
        assert_eq!(detect(&german).code, "de");
        let english = idea(
            "Dental practices lose 4 hours a week to insurance claims that are rejected.",
            "At least 20% of 50 clinics pay within 4 weeks.",
        );
        assert_eq!(detect(&english).code, "en");
        // Too few words to tell, and a text in no lexicon's language: English.
        assert_eq!(detect(&idea("Die Idee", "")).code, "en");
        // A short text is told by its letters.
        assert_eq!(
            detect(&idea(
                "Zahnärzte verlieren Stunden für Abrechnungen",
                "Über 20% zahlen"
            ))
            .code,
            "de"
        );
        assert_eq!(detect(&idea("絵文字で家計簿をつけるアプリ", "")).code, "en");
    }

    #[test]
    fn every_lexicon_is_lower_case_and_fully_filled() {
        for lexicon in LEXICONS {
            let lists = [
                lexicon.markers,
                lexicon.problem,
                lexicon.behaviour,
                lexicon.threshold,
                lexicon.timeframe,
                lexicon.benefit,
                lexicon.evidence,
                lexicon.paying,
                lexicon.now,
                lexicon.differentiation,
                lexicon.focus,
                lexicon.sprawl,
                lexicon.segment_size,
                lexicon.who,
                lexicon.qualifiers,
                lexicon.generic_avatars,
                lexicon.payer,
                lexicon.future,
                lexicon.interviews,
            ];
            assert!(
                lexicon.markers.iter().all(|m| m.len() <= MARKER_MAX_BYTES),
                "{}: a marker longer than MARKER_MAX_BYTES is never compared",
                lexicon.name
            );
            assert!(
                lexicon.markers.windows(2).all(|w| w[0] < w[1]),
                "{}: markers sorted and unique, so a list reads as a set",
                lexicon.name
            );
            for list in lists {
                assert!(!list.is_empty(), "{}: an empty list", lexicon.name);
                for word in list {
                    assert_eq!(*word, word.to_lowercase(), "{}: {word:?}", lexicon.name);
                    assert!(!word.trim().is_empty(), "{}: a blank word", lexicon.name);
                }
            }
            assert!(
                lexicon.inflections.contains(&""),
                "{}: the bare word is a form",
                lexicon.name
            );
            for (domain, words) in lexicon.regulated.iter().chain(lexicon.regulated_except) {
                assert!(
                    crate::rules::regulated_domains().contains(domain),
                    "{}: unknown domain {domain}",
                    lexicon.name
                );
                assert!(words.iter().all(|w| *w == w.to_lowercase()));
            }
        }
    }
}
