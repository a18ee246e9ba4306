//! Text helpers for the rule engine: sentences, words, quotes. All bounded: a quote is at
//! most [`QUOTE_MAX_CHARS`] characters, so artifacts stay small whatever the input.

pub const QUOTE_MAX_CHARS: usize = 160;

/// A text split into sentences, each kept with its lower-case form for matching.
pub struct Doc {
    sentences: Vec<(String, String)>,
    lower: String,
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
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Doc { sentences, lower }
    }

    pub fn words(&self) -> usize {
        self.lower.split_whitespace().count()
    }

    pub fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// The first sentence containing any of `needles` (lower-case), quoted.
    pub fn quote_any(&self, needles: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| needles.iter().any(|n| contains_word_start(lower, n)))
            .map(|(original, _)| quote(original))
    }

    /// Like [`Doc::quote_any`], but `words` must appear as words or their inflections.
    pub fn quote_word_forms(&self, words: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| words.iter().any(|w| contains_word_form(lower, w)))
            .map(|(original, _)| quote(original))
    }

    pub fn has_any(&self, needles: &[&str]) -> bool {
        needles.iter().any(|n| contains_word_start(&self.lower, n))
    }

    pub fn count_any(&self, needles: &[&str]) -> usize {
        needles
            .iter()
            .filter(|n| contains_word_start(&self.lower, n))
            .count()
    }

    /// The first sentence with a number in it that also mentions one of `needles`.
    pub fn quantified(&self, needles: &[&str]) -> Option<String> {
        self.sentences
            .iter()
            .find(|(_, lower)| {
                has_number(lower)
                    && (needles.is_empty() || needles.iter().any(|n| contains_word_start(lower, n)))
            })
            .map(|(original, _)| quote(original))
    }
}

fn push_sentence(out: &mut Vec<(String, String)>, raw: &str) {
    let trimmed = raw.trim();
    if trimmed.chars().any(char::is_alphanumeric) {
        out.push((trimmed.to_string(), trimmed.to_lowercase()));
    }
}

/// `needle` occurs starting at a word boundary (so "pay" matches "paying", not "repay").
fn contains_word_start(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(i, _)| {
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
/// never as the start of another word ("users", "usefulness").
fn contains_word_form(haystack: &str, word: &str) -> bool {
    haystack.match_indices(word).any(|(i, _)| {
        let starts = haystack[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let rest: String = haystack[i + word.len()..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        starts && matches!(rest.as_str(), "" | "s" | "es" | "d" | "ed" | "ing")
    })
}
