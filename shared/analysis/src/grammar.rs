//! The small grammar the engine's sentences need, so parts agree: a customer label
//! ("practice manager at a solo dental clinic") becomes a countable noun phrase
//! ("10 practice managers at a solo dental clinic"), and a label that is already plural
//! stays so. English only: another language adds its own `plural` (RUBRIC.md, "Languages").

/// Words after which a label's head noun has ended: "manager *at* a clinic".
const HEAD_ENDS: &[&str] = &[
    "at", "in", "on", "of", "for", "with", "who", "that", "which", "from", "using", "without",
    "under", "over", "near", "across", "running", "working", "aged", "whose",
];

const IRREGULAR: &[(&str, &str)] = &[
    ("person", "people"),
    ("man", "men"),
    ("woman", "women"),
    ("child", "children"),
    ("foot", "feet"),
    ("tooth", "teeth"),
    ("mouse", "mice"),
    ("staff", "staff"),
    ("people", "people"),
    ("children", "children"),
    ("police", "police"),
    ("crew", "crews"),
];

/// Nouns that end in s and are singular ("boss", "business", "analysis").
fn plural_of_s_word(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    if lower.ends_with("ss") || lower.ends_with("us") || lower.ends_with("is") {
        let stem = if lower.ends_with("is") {
            format!("{}es", &word[..word.len() - 2])
        } else {
            format!("{word}es")
        };
        return Some(stem);
    }
    None
}

/// One word's plural; `None` when it already reads as a plural.
fn plural_word(word: &str) -> Option<String> {
    let lower = word.to_lowercase();
    for (one, many) in IRREGULAR {
        if lower == *one {
            return Some(match_case(word, many));
        }
        if lower == *many {
            return None;
        }
    }
    if let Some(stem) = word.strip_suffix("person") {
        return Some(format!("{stem}people"));
    }
    if lower.ends_with('s') {
        return plural_of_s_word(word);
    }
    if lower.ends_with('x')
        || lower.ends_with('z')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
    {
        return Some(format!("{word}es"));
    }
    if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
        && !stem.is_empty()
    {
        return Some(format!("{}ies", &word[..word.len() - 1]));
    }
    Some(format!("{word}s"))
}

fn match_case(like: &str, word: &str) -> String {
    if like.chars().next().is_some_and(char::is_uppercase) {
        let mut chars = word.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    } else {
        word.to_string()
    }
}

/// The plural of a noun phrase: its head noun (the last word before "at", "in", "who"…)
/// made plural. "busy parent" → "busy parents"; "practice manager at a solo dental clinic"
/// → "practice managers at a solo dental clinic"; "dog owners" stays.
pub fn plural(phrase: &str) -> String {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let end = words
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, w)| w.starts_with('(') || HEAD_ENDS.contains(&w.to_lowercase().as_str()))
        .map_or(words.len(), |(i, _)| i);
    if end == 0 {
        return phrase.to_string();
    }
    let head = words[end - 1];
    // A trailing comma or bracket stays where it was.
    let cut = head
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_alphanumeric())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let (word, tail) = head.split_at(cut);
    let Some(many) = plural_word(word).filter(|_| !word.is_empty()) else {
        return phrase.to_string();
    };
    let mut out: Vec<String> = words.iter().map(|w| (*w).to_string()).collect();
    out[end - 1] = format!("{many}{tail}");
    // "nurse who works nights" → "nurses who work nights".
    if let Some(pronoun) = words.get(end)
        && ["who", "that", "which"].contains(&pronoun.to_lowercase().as_str())
        && let Some(verb) = words.get(end + 1)
    {
        out[end + 1] = plural_verb(verb);
    }
    out.join(" ")
}

/// The verb that goes with a plural subject: "works" → "work", "has" → "have".
fn plural_verb(verb: &str) -> String {
    match verb.to_lowercase().as_str() {
        "is" => return "are".into(),
        "was" => return "were".into(),
        "has" => return "have".into(),
        "does" => return "do".into(),
        _ => {}
    }
    let lower = verb.to_lowercase();
    if let Some(stem) = lower.strip_suffix("ies") {
        return format!("{}y", &verb[..stem.len()]);
    }
    for ending in ["ches", "shes", "sses", "xes", "zes"] {
        if lower.ends_with(ending) {
            return verb[..verb.len() - 2].to_string();
        }
    }
    if lower.ends_with('s') && !lower.ends_with("ss") {
        return verb[..verb.len() - 1].to_string();
    }
    verb.to_string()
}

/// A sentence that starts with a label starts with a capital: "busy parents feel…" →
/// "Busy parents feel…".
pub fn capitalised(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// "a", "a and b", "a, b and c".
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "10 busy parents", "1 busy parent".
pub fn count(n: u32, phrase: &str) -> String {
    if n == 1 {
        format!("1 {phrase}")
    } else {
        format!("{n} {}", plural(phrase))
    }
}

/// The nouns the engine counts ("10 interviews", "2 weeks"), singular and plural, and the
/// stand-ins the coherence check puts for a founder's customer labels.
const COUNTED: [(&str, &str); 10] = [
    ("customer", "customers"),
    ("interview", "interviews"),
    ("prospect", "prospects"),
    ("visitor", "visitors"),
    ("user", "users"),
    ("alternative", "alternatives"),
    ("hour", "hours"),
    ("day", "days"),
    ("week", "weeks"),
    ("month", "months"),
];

/// The count a token states: `10`, or the upper end of a range (`1–2`, `6-8`).
fn stated_count(token: &str) -> Option<u64> {
    let last = token.rsplit(['–', '-']).next()?;
    if token
        .split(['–', '-'])
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        last.parse().ok()
    } else {
        None
    }
}

/// A counted noun that disagrees with its count: "10 customer" (a bare singular after a
/// count) or "1 weeks".
fn count_disagrees(token: &str, count: u64, word: &str) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    COUNTED.iter().find_map(|(one, many)| {
        if count != 1 && lower == *one {
            Some(format!("a singular after a count \"{token} {word}\""))
        } else if count == 1 && lower == *many {
            Some(format!("a plural after one \"{token} {word}\""))
        } else {
            None
        }
    })
}

/// Problems a sentence of the engine must never have: a doubled article ("a the") or
/// word, a counted noun that disagrees with its count, or a placeholder left unfilled.
pub fn flaws(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Compared in place (no allocation per word: the check runs on every sentence of
    // every plan). A word followed by punctuation ends a phrase: "(health): health data".
    let mut previous: Option<(&str, bool)> = None;
    for raw in sentence.split_whitespace() {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let ends_phrase = raw.ends_with(|c: char| !c.is_alphanumeric());
        if let Some((before, false)) = previous
            && !word.is_empty()
        {
            let article = |w: &str| ["a", "an", "the"].iter().any(|a| w.eq_ignore_ascii_case(a));
            if article(before) && article(word) {
                out.push(format!("doubled article \"{before} {word}\""));
            }
            if before.eq_ignore_ascii_case(word) && !word.chars().all(|c| c.is_ascii_digit()) {
                out.push(format!("doubled word \"{word}\""));
            }
            if let Some(flaw) = stated_count(before).and_then(|n| count_disagrees(before, n, word))
            {
                out.push(flaw);
            }
        }
        previous = Some((word, ends_phrase));
    }
    if sentence.contains(['{', '}']) {
        out.push("an unfilled placeholder".into());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn labels_become_plural_at_their_head_noun() {
        for (one, many) in [
            ("busy parent", "busy parents"),
            (
                "practice manager at a solo dental clinic",
                "practice managers at a solo dental clinic",
            ),
            ("dog owners", "dog owners"),
            (
                "independent bookkeeper on Xero",
                "independent bookkeepers on Xero",
            ),
            ("small business", "small businesses"),
            ("agency", "agencies"),
            ("day-care family", "day-care families"),
            ("coach", "coaches"),
            ("salesperson", "salespeople"),
            ("sales person", "sales people"),
            ("nurse who works nights", "nurses who work nights"),
            ("owner who teaches", "owners who teach"),
            ("boss", "bosses"),
            ("key", "keys"),
            ("Person", "People"),
            ("dentist (owner)", "dentists (owner)"),
        ] {
            assert_eq!(plural(one), many, "{one}");
        }
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(10, "busy parent"), "10 busy parents");
        assert_eq!(count(1, "busy parent"), "1 busy parent");
        assert_eq!(count(5, "dog owners"), "5 dog owners");
    }

    #[test]
    fn flaws_are_found() {
        assert_eq!(
            flaws("Interview the the owners."),
            vec!["doubled article \"the the\"", "doubled word \"the\""]
        );
        assert!(flaws("Regulated domain (health): health data.").is_empty());
        assert!(flaws("Deliver {x} by hand").contains(&"an unfilled placeholder".to_string()));
        assert!(flaws("Interview 10 busy parents.").is_empty());
        let list = |xs: &[&str]| and_list(&xs.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(list(&[]), "");
        assert_eq!(list(&["a"]), "a");
        assert_eq!(list(&["a", "b"]), "a and b");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
        assert!(flaws("Interview 10 customers over 1–2 weeks, then 1 week more.").is_empty());
        assert_eq!(
            flaws("Interview 10 customer."),
            ["a singular after a count \"10 customer\""]
        );
        assert_eq!(
            flaws("Run it for 1–2 week"),
            ["a singular after a count \"1–2 week\""]
        );
        assert_eq!(flaws("Within 1 weeks"), ["a plural after one \"1 weeks\""]);
        // A number that is not a count of the noun after it, or a noun the engine never
        // counts, is not judged.
        assert!(flaws("At least 6 of 10 describe it").is_empty());
        assert!(flaws("Score 7/10 customer").is_empty());
    }
}
