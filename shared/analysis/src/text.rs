//! Text helpers for the rule engine: sentences, words, quotes. All bounded: a quote is at
//! most [`QUOTE_MAX_CHARS`] characters, so artifacts stay small whatever the input.

pub const QUOTE_MAX_CHARS: usize = 160;

/// A text split into sentences, each kept with its lower-case form for matching.
pub struct Doc {
    sentences: Vec<(String, Lower)>,
    lower: Lower,
}

/// Lower-case text with its word-start positions indexed by first byte: a rule's phrase
/// can only match where a word starts, so each phrase is compared at those few places
/// instead of searched for through the whole text (a substring search per phrase was
/// about 5% of the local stack's CPU, README: Benchmark).
struct Lower {
    text: String,
    /// (first byte, byte offset) of every position a match may start at, sorted.
    starts: Vec<(u8, u32)>,
    /// Whether the end of the text is such a position too (only an empty phrase can
    /// match there).
    end_starts: bool,
}

impl Lower {
    fn new(text: String) -> Lower {
        let mut starts = Vec::new();
        let mut prev_alnum = false;
        for (i, c) in text.char_indices() {
            if !prev_alnum {
                starts.push((text.as_bytes()[i], i as u32));
            }
            prev_alnum = c.is_alphanumeric();
        }
        starts.sort_unstable();
        Lower {
            text,
            starts,
            end_starts: !prev_alnum,
        }
    }

    /// Offsets where `needle` occurs starting at a word boundary, in no particular order.
    fn word_starts<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
        let range = match needle.as_bytes().first() {
            Some(&b) => {
                let lo = self.starts.partition_point(|&(f, _)| f < b);
                let hi = self.starts.partition_point(|&(f, _)| f <= b);
                lo..hi
            }
            // The empty phrase occurs everywhere, as `str::match_indices` has it.
            None => 0..self.starts.len(),
        };
        let end = (needle.is_empty() && self.end_starts).then_some(self.text.len());
        self.starts[range]
            .iter()
            .map(|&(_, i)| i as usize)
            .filter(move |&i| self.text[i..].starts_with(needle))
            .chain(end)
    }

    fn contains_word_start(&self, needle: &str) -> bool {
        self.word_starts(needle).next().is_some()
    }

    fn contains_word_form(&self, word: &str, endings: &[&str]) -> bool {
        self.word_starts(word)
            .any(|i| is_inflection(&self.text[i + word.len()..], endings))
    }
}

impl Doc {
    pub fn new(parts: &[&str]) -> Doc {
        let mut sentences = Vec::new();
        for part in parts {
            let mut current = String::new();
            for c in part.chars() {
                current.push(c);
                if matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？') {
                    push_sentence(&mut sentences, &current);
                    current.clear();
                }
            }
            push_sentence(&mut sentences, &current);
        }
        let lower = sentences
            .iter()
            .map(|(_, l): &(String, Lower)| l.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Doc {
            sentences,
            lower: Lower::new(lower),
        }
    }

    pub fn words(&self) -> usize {
        self.lower.text.split_whitespace().count()
    }

    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// The first sentence containing any of `needles` (lower-case), quoted.
    pub fn quote_any(&self, needles: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| needles.iter().any(|n| lower.contains_word_start(n)))
            .map(|(original, _)| quote(original))
    }

    /// Like [`Doc::quote_any`], but `words` must appear as words or followed by one of
    /// the language's inflection `endings` (`""` for the bare word).
    pub fn quote_word_forms(&self, words: &[&str], endings: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| words.iter().any(|w| lower.contains_word_form(w, endings)))
            .map(|(original, _)| quote(original))
    }

    /// Like [`Doc::quote_any`], but an occurrence inside one of `except` (plain
    /// substrings: "veterinary clinic" for "clinic") does not count: a word read in its
    /// context.
    pub fn quote_any_except(&self, needles: &[&str], except: &[&str]) -> Option<String> {
        let covered = |text: &str, at: usize| {
            except.iter().any(|e| {
                text.match_indices(e)
                    .any(|(j, _)| j <= at && at < j + e.len())
            })
        };
        self.sentences
            .iter()
            .find(|(_, lower)| {
                needles
                    .iter()
                    .any(|n| lower.word_starts(n).any(|i| !covered(&lower.text, i)))
            })
            .map(|(original, _)| quote(original))
    }

    /// The first sentence with one of `needles` that also contains one of `with` (plain
    /// substrings) and none of `unless`.
    pub fn quote_with_unless(
        &self,
        needles: &[&str],
        with: &[&str],
        unless: &[&str],
    ) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| {
                needles.iter().any(|n| lower.contains_word_start(n))
                    && with.iter().any(|w| lower.text.contains(w))
                    && !unless.iter().any(|u| lower.text.contains(u))
            })
            .map(|(original, _)| quote(original))
    }

    /// Like [`Doc::quote_any`], skipping sentences that contain any of `unless` (plain
    /// substrings: "will ", "plan to").
    pub fn quote_any_unless(&self, needles: &[&str], unless: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| {
                needles.iter().any(|n| lower.contains_word_start(n))
                    && !unless.iter().any(|u| lower.text.contains(u))
            })
            .map(|(original, _)| quote(original))
    }

    /// Like [`Doc::quantified`], skipping sentences that contain any of `unless`.
    pub fn quantified_unless(&self, needles: &[&str], unless: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| {
                has_number(&lower.text)
                    && needles.iter().any(|n| lower.contains_word_start(n))
                    && !unless.iter().any(|u| lower.text.contains(u))
            })
            .map(|(original, _)| quote(original))
    }

    pub fn has_any(&self, needles: &[&str]) -> bool {
        needles.iter().any(|n| self.lower.contains_word_start(n))
    }

    pub fn count_any(&self, needles: &[&str]) -> usize {
        needles
            .iter()
            .filter(|n| self.lower.contains_word_start(n))
            .count()
    }

    /// The first sentence with a number in it that also mentions one of `needles`.
    pub fn quantified(&self, needles: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| {
                has_number(&lower.text)
                    && (needles.is_empty() || needles.iter().any(|n| lower.contains_word_start(n)))
            })
            .map(|(original, _)| quote(original))
    }
}

fn push_sentence(out: &mut Vec<(String, Lower)>, raw: &str) {
    let trimmed = raw.trim();
    if trimmed.chars().any(char::is_alphanumeric) {
        out.push((trimmed.to_string(), Lower::new(trimmed.to_lowercase())));
    }
}

/// What may follow a word for it to count as that word: nothing more of a word, or one
/// of the inflection `endings` (English: "use", "uses", "used", "using"; never "users",
/// "usefulness").
fn is_inflection(after: &str, endings: &[&str]) -> bool {
    let end = after
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(after.len(), |(i, _)| i);
    endings.contains(&&after[..end])
}

/// `needle` occurs starting at a word boundary (so "pay" matches "paying", not "repay").
/// The plain definition [`Lower::contains_word_start`] must agree with (a property test).
#[cfg(test)]
fn contains_word_start(haystack: &str, needle: &str) -> bool {
    overlapping(haystack, needle).any(|i| {
        haystack[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

pub fn has_number(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
}

/// At most [`QUOTE_MAX_CHARS`] characters, cut on a character boundary.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `word` occurs as a word or an inflection of it ("use", "uses", "used", "using"), but
/// never as the start of another word ("users", "usefulness"). The plain definition
/// [`Lower::contains_word_form`] must agree with (a property test).
#[cfg(test)]
fn contains_word_form(haystack: &str, word: &str, endings: &[&str]) -> bool {
    overlapping(haystack, word).any(|i| {
        let starts = haystack[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let rest: String = haystack[i + word.len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        starts && endings.contains(&rest.as_str())
    })
}

/// Every position `needle` occurs at, overlapping ones included: `match_indices` skips
/// "--" at 2 in "a---a" after finding it at 1, and only the second is a word start.
#[cfg(test)]
fn overlapping<'a>(haystack: &'a str, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
    haystack
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(haystack.len()))
        .filter(move |&i| haystack[i..].starts_with(needle))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use proptest::prelude::*;

    /// Texts and phrases over a small alphabet with the characters that matter: letters,
    /// digits, spaces, punctuation, a non-ASCII letter and a non-ASCII symbol.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("b"),
                Just("s"),
                Just("ed"),
                Just("ing"),
                Just(" "),
                Just("-"),
                Just("$"),
                Just("9"),
                Just("é"),
                Just("€"),
                Just("."),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        #[test]
        fn the_index_finds_exactly_what_the_plain_search_finds(hay in text(), needle in text()) {
            let lower = Lower::new(hay.clone());
            prop_assert_eq!(lower.contains_word_start(&needle), contains_word_start(&hay, &needle));
            for endings in [crate::lexicon::ENGLISH.inflections, crate::lexicon::GERMAN.inflections] {
                prop_assert_eq!(
                    lower.contains_word_form(&needle, endings),
                    contains_word_form(&hay, &needle, endings)
                );
            }
        }
    }

    #[test]
    fn phrases_match_at_word_starts_only() {
        let lower = Lower::new("we repay users who pay €5; paying-customers use it".into());
        assert!(lower.contains_word_start("pay"));
        assert!(lower.contains_word_start("paying"));
        assert!(lower.contains_word_start("€5"));
        assert!(lower.contains_word_start("customers"), "after a hyphen");
        assert!(!lower.contains_word_start("epay"));
        let english = crate::lexicon::ENGLISH.inflections;
        assert!(lower.contains_word_form("use", english));
        assert!(lower.contains_word_form("user", english), "users: user + s");
        assert!(
            !lower.contains_word_form("us", english),
            "use and users are other words"
        );
        let german = crate::lexicon::GERMAN.inflections;
        let lower = Lower::new("20 % der betriebe zahlen, nutzer nutzt es".into());
        assert!(lower.contains_word_form("zahl", german), "zahl + en");
        assert!(lower.contains_word_form("nutz", german), "nutz + t");
        assert!(
            !lower.contains_word_form("zahl", english),
            "-en is no English ending"
        );
        assert!(
            !Lower::new("die nutzer".into()).contains_word_form("nutz", german),
            "Nutzer (a user) is another word"
        );
    }
}
