//! What the engine reads from an idea beyond its scores: who uses it and who pays, what
//! the founder reports as done (interviews, a threshold) as opposed to plans, so advice
//! never asks for what the idea already shows and never talks to a segment the validator
//! rejected.

use crate::grammar;
use crate::lexicon::{self, Lexicon};
use zts_domain::input::ProjectInput;

pub use crate::lexicon::is_generic;

/// The customer a sentence names when the idea names none a test could find.
pub const FALLBACK_AVATAR: &str = "prospective customer";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// Who uses it: the first specific avatar.
    pub user: String,
    /// Who pays: a specific avatar that holds the budget (an owner, a manager, a parent),
    /// else the user.
    pub payer: String,
    /// Interviews (or survey answers, conversations) the idea reports as done.
    pub interviews_reported: Option<u32>,
    /// The language the idea is read in.
    pub lexicon: &'static Lexicon,
}

impl Reading {
    /// Whether the customers came from the idea (not the fallback).
    pub fn named(&self) -> bool {
        self.user != FALLBACK_AVATAR
    }

    /// A customer label as the subject of a sentence, many of them: "busy parents"; a
    /// label in a language whose plurals the engine does not make is quoted as a segment.
    pub fn plural(&self, label: &str) -> String {
        match self.lexicon.plural {
            Some(plural) => plural(label),
            // The engine's own label is English.
            None if label == FALLBACK_AVATAR => grammar::plural(label),
            None => format!("people in the segment “{label}”"),
        }
    }

    /// `n` of a customer label: "10 busy parents", "10 people in the segment “…”".
    pub fn count(&self, n: u32, label: &str) -> String {
        match self.lexicon.plural {
            Some(_) => grammar::count(n, label),
            None if label == FALLBACK_AVATAR => grammar::count(n, label),
            None if n == 1 => format!("1 person in the segment “{label}”"),
            None => format!("{n} people in the segment “{label}”"),
        }
    }

    pub fn of(input: &ProjectInput) -> Reading {
        let lexicon = lexicon::detect(input);
        let specific: Vec<&String> = input
            .target_avatars
            .iter()
            .filter(|a| !is_generic(a))
            .collect();
        let user = specific.first().map(|a| a.to_string());
        let is_payer = |a: &&&String| {
            let lower = a.to_lowercase();
            lexicon.payer.iter().any(|w| lower.contains(w))
        };
        // The payer is another avatar than the user when the idea names one.
        let payer = specific
            .iter()
            .skip(1)
            .find(is_payer)
            .or_else(|| specific.first().filter(|a| is_payer(a)))
            .or(specific.first())
            .map(|a| a.to_string());
        Reading {
            user: user.unwrap_or_else(|| FALLBACK_AVATAR.into()),
            payer: payer.unwrap_or_else(|| FALLBACK_AVATAR.into()),
            interviews_reported: interviews_reported(lexicon, &input.description),
            lexicon,
        }
    }
}

/// The largest whole number in the first sentence of `text` that reports interviews (or
/// a survey, conversations) and is not about the future: "We interviewed 25 bookkeepers:
/// 19 named it" → 25. A plain scan, not a `Doc`: the coherence check reads it too.
fn interviews_reported(lexicon: &Lexicon, text: &str) -> Option<u32> {
    text.split(['.', '!', '?', '\n', '。'])
        .map(str::to_lowercase)
        .filter(|s| !lexicon.future.iter().any(|m| s.contains(m)))
        .filter(|s| {
            lexicon.interviews.iter().any(|w| {
                s.match_indices(w).any(|(i, _)| {
                    s[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !c.is_alphanumeric())
                })
            })
        })
        .find_map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u32>().ok())
                .filter(|n| (1..1_000_000).contains(n))
                .max()
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn idea(description: &str, avatars: &[&str]) -> ProjectInput {
        ProjectInput {
            name: "Claimfix".into(),
            description: description.into(),
            hypothesis: String::new(),
            target_avatars: avatars.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn the_payer_is_the_avatar_with_the_budget() {
        let r = Reading::of(&idea(
            "",
            &["practice manager at a solo dental clinic", "dentist owner"],
        ));
        assert_eq!(r.user, "practice manager at a solo dental clinic");
        assert_eq!(r.payer, "dentist owner");
        let one = Reading::of(&idea("", &["dog owner"]));
        assert_eq!(
            (one.user.as_str(), one.payer.as_str()),
            ("dog owner", "dog owner")
        );
    }

    #[test]
    fn a_generic_label_is_never_the_customer() {
        let r = Reading::of(&idea("", &["everyone", "users"]));
        assert_eq!(r.user, FALLBACK_AVATAR);
        assert!(!r.named());
    }

    #[test]
    fn interviews_count_when_done_not_when_planned() {
        let done = Reading::of(&idea(
            "We interviewed 14 practice managers last month.",
            &[],
        ));
        assert_eq!(done.interviews_reported, Some(14));
        let planned = Reading::of(&idea("We will interview 20 practice managers.", &[]));
        assert_eq!(planned.interviews_reported, None);
        let survey = Reading::of(&idea(
            "Of the 120 owners we surveyed, 40 pay a walker.",
            &[],
        ));
        assert_eq!(survey.interviews_reported, Some(120));
    }
}
