//! Why an expression of a definition — a path, an intrinsic call, a payload template, a
//! Choice rule — could not be read when the definition loads (the [`crate::LoadError`]
//! then names the state and the field), or could not be evaluated when a state runs (the
//! state fails with `States.Runtime` and this as its cause).

/// One expression's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// Not a path at all.
    #[error("{0:?} is not a path: paths start with '$'")]
    NotAPath(String),
    /// A path, an intrinsic call, a template field or a rule that does not parse: where
    /// (the expression, the key, the rule's position) and what is wrong.
    #[error("{at}: {problem}")]
    Malformed { at: String, problem: String },
    /// A part of a template or a rule whose expression failed.
    #[error("{at}: {source}")]
    Inside {
        at: String,
        #[source]
        source: Box<ExprError>,
    },
    /// A path that matched nothing where a value was needed (`what`: "path", "choice
    /// Variable", …; `in_what`: where it was looked for, or empty).
    #[error("the {what} {path} matched nothing{in_what}")]
    NoMatch {
        what: &'static str,
        path: String,
        in_what: String,
    },
    /// ResultPath cannot place the result: a non-object or non-array on the way.
    #[error("cannot set {path}: {problem}")]
    CannotSet { path: String, problem: String },
    /// A value an intrinsic function or a comparison cannot take.
    #[error("{0}")]
    Unusable(String),
}

impl ExprError {
    pub(crate) fn malformed(at: impl Into<String>, problem: impl Into<String>) -> Self {
        ExprError::Malformed {
            at: at.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn inside(at: impl Into<String>, source: ExprError) -> Self {
        ExprError::Inside {
            at: at.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn no_match(what: &'static str, path: impl ToString, in_what: String) -> Self {
        ExprError::NoMatch {
            what,
            path: path.to_string(),
            in_what,
        }
    }
}
