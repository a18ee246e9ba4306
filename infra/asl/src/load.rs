//! Loading a definition: `${…}` substitutions, strict parsing, and validation.
//!
//! Anything this interpreter does not implement is refused with a message naming the
//! state and the field — never silently ignored — so what runs locally is what AWS runs.

use crate::choice;
use crate::definition::*;
use crate::path::Path;
use crate::template::Template;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub state: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.state, &self.field) {
            (Some(s), Some(field)) => write!(f, "state {s:?}, field {field:?}: {}", self.message),
            (Some(s), None) => write!(f, "state {s:?}: {}", self.message),
            (None, Some(field)) => write!(f, "field {field:?}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

fn err(state: Option<&str>, field: Option<&str>, message: impl fmt::Display) -> LoadError {
    LoadError {
        state: state.map(str::to_string),
        field: field.map(str::to_string),
        message: message.to_string(),
    }
}

#[allow(clippy::expect_used, reason = "a constant pattern")]
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$\{([A-Za-z0-9_.:-]+)\}").expect("valid"));

/// Parses `text`, replaces every `${Name}` in string values (as SAM's
/// `DefinitionSubstitutions` does), then parses and validates the result.
pub fn load(text: &str, substitutions: &BTreeMap<String, String>) -> Result<Definition, LoadError> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| err(None, None, format!("not valid JSON: {e}")))?;
    let mut missing = BTreeSet::new();
    substitute(&mut value, substitutions, &mut missing);
    if !missing.is_empty() {
        let names: Vec<String> = missing.into_iter().collect();
        return Err(err(
            None,
            None,
            format!("no substitution for {}", names.join(", ")),
        ));
    }
    parse(&value)
}

fn substitute(value: &mut Value, subs: &BTreeMap<String, String>, missing: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if s.contains("${") => {
            let replaced =
                PLACEHOLDER.replace_all(s, |c: &regex::Captures<'_>| match subs.get(&c[1]) {
                    Some(v) => v.clone(),
                    None => {
                        missing.insert(format!("${{{}}}", &c[1]));
                        c[0].to_string()
                    }
                });
            *s = replaced.into_owned();
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, subs, missing)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, subs, missing)),
        _ => {}
    }
}

/// Reads a JSON object's fields, remembering which were consumed so that any left over
/// can be refused by name.
struct Fields<'a> {
    state: Option<&'a str>,
    map: &'a Map<String, Value>,
    used: BTreeSet<&'static str>,
}

impl<'a> Fields<'a> {
    fn new(state: Option<&'a str>, value: &'a Value, what: &str) -> Result<Self, LoadError> {
        let map = value
            .as_object()
            .ok_or_else(|| err(state, None, format!("{what} must be a JSON object")))?;
        Ok(Fields {
            state,
            map,
            used: BTreeSet::new(),
        })
    }

    fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        self.used.insert(name);
        self.map.get(name)
    }

    fn error(&self, field: &str, message: impl fmt::Display) -> LoadError {
        err(self.state, Some(field), message)
    }

    fn string(&mut self, name: &'static str) -> Result<Option<String>, LoadError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(name, "must be a string")),
        }
    }

    fn required_string(&mut self, name: &'static str) -> Result<String, LoadError> {
        self.string(name)?
            .ok_or_else(|| self.error(name, "is required"))
    }

    fn positive_int(&mut self, name: &'static str, min: u64) -> Result<Option<u64>, LoadError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= min => Ok(Some(n)),
                _ => Err(self.error(name, format!("must be a whole number ≥ {min}"))),
            },
        }
    }

    fn path(&mut self, name: &'static str) -> Result<Option<Path>, LoadError> {
        match self.string(name)? {
            None => Ok(None),
            Some(p) => Path::parse(&p).map(Some).map_err(|e| self.error(name, e)),
        }
    }

    /// InputPath / OutputPath: absent = `$`, null = `{}` (ASL), otherwise a path.
    fn io_path(&mut self, name: &'static str) -> Result<Option<Option<Path>>, LoadError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(p)) => Path::parse(p)
                .map(|p| Some(Some(p)))
                .map_err(|e| self.error(name, e)),
            Some(_) => Err(self.error(name, "must be a path string or null")),
        }
    }

    #[allow(clippy::expect_used, reason = "\"$\" is a valid path")]
    fn result_path(&mut self) -> Result<ResultPath, LoadError> {
        match self.get("ResultPath") {
            None => Ok(ResultPath::At(Path::parse("$").expect("root"))),
            Some(Value::Null) => Ok(ResultPath::Discard),
            Some(Value::String(p)) => {
                let path = Path::parse(p).map_err(|e| self.error("ResultPath", e))?;
                if path.context {
                    return Err(
                        self.error("ResultPath", "cannot write into the context object ($$)")
                    );
                }
                Ok(ResultPath::At(path))
            }
            Some(_) => Err(self.error("ResultPath", "must be a path string or null")),
        }
    }

    fn template(&mut self, name: &'static str) -> Result<Option<Template>, LoadError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => Template::compile(v)
                .map(Some)
                .map_err(|e| self.error(name, e)),
        }
    }

    fn transition(&mut self) -> Result<Transition, LoadError> {
        let next = self.string("Next")?;
        let end = match self.get("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(self.error("End", "must be true or false")),
        };
        match (next, end) {
            (Some(next), false) => Ok(Transition::Next(next)),
            (None, true) => Ok(Transition::End),
            (Some(_), true) => {
                Err(self.error("End", "a state has either Next or End: true, not both"))
            }
            (None, false) => Err(err(self.state, None, "needs Next or End: true")),
        }
    }

    fn finish(self) -> Result<(), LoadError> {
        match self.map.keys().find(|k| !self.used.contains(k.as_str())) {
            Some(extra) => Err(self.error(extra, "is not supported by this interpreter")),
            None => Ok(()),
        }
    }
}

pub fn parse(value: &Value) -> Result<Definition, LoadError> {
    let mut top = Fields::new(None, value, "the definition")?;
    top.get("Comment");
    if let Some(version) = top.string("Version")?
        && version != "1.0"
    {
        return Err(top.error("Version", "only \"1.0\" is supported"));
    }
    if let Some(lang) = top.string("QueryLanguage")?
        && lang != "JSONPath"
    {
        return Err(top.error(
            "QueryLanguage",
            format!("{lang} is not supported; only JSONPath"),
        ));
    }
    let start_at = top.required_string("StartAt")?;
    let timeout_seconds = top.positive_int("TimeoutSeconds", 1)?;
    let states_value = top
        .get("States")
        .ok_or_else(|| err(None, Some("States"), "is required"))?;
    let states_map = states_value
        .as_object()
        .ok_or_else(|| err(None, Some("States"), "must be an object"))?;
    top.finish()?;
    if states_map.is_empty() {
        return Err(err(None, Some("States"), "must hold at least one state"));
    }
    let mut states = BTreeMap::new();
    for (name, body) in states_map {
        if name.is_empty() || name.chars().count() > 80 {
            return Err(err(Some(name), None, "state names have 1 to 80 characters"));
        }
        states.insert(name.clone(), parse_state(name, body)?);
    }
    let definition = Definition {
        start_at,
        states,
        timeout_seconds,
    };
    validate(&definition)?;
    Ok(definition)
}

#[allow(
    clippy::expect_used,
    reason = "top-level Choice rules are parsed with Next required"
)]
fn parse_state(name: &str, body: &Value) -> Result<State, LoadError> {
    let mut f = Fields::new(Some(name), body, "a state")?;
    f.get("Comment");
    let type_name = f.required_string("Type")?;
    let input_path = f.io_path("InputPath")?;
    let output_path = f.io_path("OutputPath")?;
    let kind = match type_name.as_str() {
        "Task" => Kind::Task(Task {
            resource: f.required_string("Resource")?,
            parameters: f.template("Parameters")?,
            result_selector: f.template("ResultSelector")?,
            result_path: f.result_path()?,
            retry: parse_retriers(&mut f)?,
            catch: parse_catchers(&mut f)?,
            timeout_seconds: f.positive_int("TimeoutSeconds", 1)?,
            transition: f.transition()?,
        }),
        "Pass" => Kind::Pass(Pass {
            result: f.get("Result").cloned(),
            parameters: f.template("Parameters")?,
            result_path: f.result_path()?,
            transition: f.transition()?,
        }),
        "Choice" => {
            let choices = f
                .get("Choices")
                .ok_or_else(|| f.error("Choices", "is required"))?;
            let items = choices
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| f.error("Choices", "must be a non-empty array"))?;
            let mut parsed = Vec::new();
            for (i, rule) in items.iter().enumerate() {
                let (rule, next) = choice::parse_rule(rule, true, &format!("Choices[{i}]"))
                    .map_err(|e| f.error("Choices", e))?;
                parsed.push((rule, next.expect("top-level rules carry Next")));
            }
            Kind::Choice(Choice {
                choices: parsed,
                default: f.string("Default")?,
            })
        }
        "Wait" => {
            let seconds = f.positive_int("Seconds", 0)?;
            let timestamp = f.string("Timestamp")?;
            let seconds_path = f.path("SecondsPath")?;
            let timestamp_path = f.path("TimestampPath")?;
            let wait_for = match (seconds, timestamp, seconds_path, timestamp_path) {
                (Some(s), None, None, None) => WaitFor::Seconds(s),
                (None, Some(t), None, None) => WaitFor::Timestamp(
                    chrono::DateTime::parse_from_rfc3339(&t)
                        .map_err(|e| {
                            f.error("Timestamp", format!("not an RFC 3339 timestamp: {e}"))
                        })?
                        .with_timezone(&chrono::Utc),
                ),
                (None, None, Some(p), None) => WaitFor::SecondsPath(p),
                (None, None, None, Some(p)) => WaitFor::TimestampPath(p),
                _ => {
                    return Err(err(
                        Some(name),
                        None,
                        "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
                    ));
                }
            };
            Kind::Wait(Wait {
                wait_for,
                transition: f.transition()?,
            })
        }
        "Succeed" => Kind::Succeed,
        "Fail" => {
            let fail = Fail {
                error: f.string("Error")?,
                cause: f.string("Cause")?,
                error_path: f.path("ErrorPath")?,
                cause_path: f.path("CausePath")?,
            };
            if fail.error.is_some() && fail.error_path.is_some() {
                return Err(f.error("ErrorPath", "use Error or ErrorPath, not both"));
            }
            if fail.cause.is_some() && fail.cause_path.is_some() {
                return Err(f.error("CausePath", "use Cause or CausePath, not both"));
            }
            Kind::Fail(fail)
        }
        other @ ("Map" | "Parallel") => {
            return Err(f.error(
                "Type",
                format!("{other} states are not supported by this interpreter"),
            ));
        }
        other => return Err(f.error("Type", format!("{other:?} is not a state type"))),
    };
    if matches!(kind, Kind::Fail(_)) && (input_path.is_some() || output_path.is_some()) {
        return Err(err(
            Some(name),
            None,
            "a Fail state takes no InputPath or OutputPath",
        ));
    }
    f.finish()?;
    Ok(State {
        name: name.to_string(),
        kind,
        input_path,
        output_path,
    })
}

fn error_names(
    f: &Fields<'_>,
    field: &str,
    value: Option<&Value>,
) -> Result<Vec<String>, LoadError> {
    let names: Vec<String> = value
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| {
            f.error(
                field,
                "ErrorEquals must be a non-empty array of error names",
            )
        })?;
    if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
        return Err(f.error(field, "States.ALL must appear alone in its ErrorEquals"));
    }
    Ok(names)
}

fn parse_retriers(f: &mut Fields<'_>) -> Result<Vec<Retrier>, LoadError> {
    let Some(value) = f.get("Retry") else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .ok_or_else(|| f.error("Retry", "must be an array"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("Retry[{i}]");
        let map = item
            .as_object()
            .ok_or_else(|| f.error(&field, "must be an object"))?;
        let allowed = [
            "ErrorEquals",
            "IntervalSeconds",
            "MaxAttempts",
            "BackoffRate",
            "MaxDelaySeconds",
            "JitterStrategy",
            "Comment",
        ];
        if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(f.error(
                &format!("{field}.{extra}"),
                "is not supported by this interpreter",
            ));
        }
        let int = |name: &str, min: u64| -> Result<Option<u64>, LoadError> {
            match map.get(name) {
                None => Ok(None),
                Some(v) => v.as_u64().filter(|n| *n >= min).map(Some).ok_or_else(|| {
                    f.error(
                        &format!("{field}.{name}"),
                        format!("must be a whole number ≥ {min}"),
                    )
                }),
            }
        };
        let backoff_rate = match map.get("BackoffRate") {
            None => 2.0,
            Some(v) => v.as_f64().filter(|r| *r >= 1.0).ok_or_else(|| {
                f.error(&format!("{field}.BackoffRate"), "must be a number ≥ 1.0")
            })?,
        };
        let jitter = match map.get("JitterStrategy").map(|v| v.as_str()) {
            None | Some(Some("NONE")) => Jitter::None,
            Some(Some("FULL")) => Jitter::Full,
            _ => {
                return Err(f.error(
                    &format!("{field}.JitterStrategy"),
                    "must be \"FULL\" or \"NONE\"",
                ));
            }
        };
        let retrier = Retrier {
            error_equals: error_names(f, &format!("{field}.ErrorEquals"), map.get("ErrorEquals"))?,
            interval_seconds: int("IntervalSeconds", 1)?.unwrap_or(1),
            max_attempts: u32::try_from(int("MaxAttempts", 0)?.unwrap_or(3))
                .map_err(|_| f.error(&format!("{field}.MaxAttempts"), "is too large"))?,
            backoff_rate,
            max_delay_seconds: int("MaxDelaySeconds", 1)?,
            jitter,
        };
        if retrier.error_equals == ["States.ALL"] && i + 1 != items.len() {
            return Err(f.error(&field, "a retrier on States.ALL must be the last one"));
        }
        out.push(retrier);
    }
    Ok(out)
}

#[allow(clippy::expect_used, reason = "\"$\" is a valid path")]
fn parse_catchers(f: &mut Fields<'_>) -> Result<Vec<Catcher>, LoadError> {
    let Some(value) = f.get("Catch") else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .ok_or_else(|| f.error("Catch", "must be an array"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("Catch[{i}]");
        let map = item
            .as_object()
            .ok_or_else(|| f.error(&field, "must be an object"))?;
        let allowed = ["ErrorEquals", "Next", "ResultPath", "Comment"];
        if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(f.error(
                &format!("{field}.{extra}"),
                "is not supported by this interpreter",
            ));
        }
        let next = map
            .get("Next")
            .and_then(Value::as_str)
            .ok_or_else(|| f.error(&format!("{field}.Next"), "is required and must be a string"))?;
        let result_path = match map.get("ResultPath") {
            None => ResultPath::At(Path::parse("$").expect("root")),
            Some(Value::Null) => ResultPath::Discard,
            Some(Value::String(p)) => ResultPath::At(
                Path::parse(p).map_err(|e| f.error(&format!("{field}.ResultPath"), e))?,
            ),
            Some(_) => {
                return Err(f.error(
                    &format!("{field}.ResultPath"),
                    "must be a path string or null",
                ));
            }
        };
        let catcher = Catcher {
            error_equals: error_names(f, &format!("{field}.ErrorEquals"), map.get("ErrorEquals"))?,
            next: next.to_string(),
            result_path,
        };
        if catcher.error_equals == ["States.ALL"] && i + 1 != items.len() {
            return Err(f.error(&field, "a catcher on States.ALL must be the last one"));
        }
        out.push(catcher);
    }
    Ok(out)
}

/// Every target a state can hand control to.
fn targets(state: &State) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    let transition = match &state.kind {
        Kind::Task(t) => {
            out.extend(t.catch.iter().map(|c| ("Catch.Next", c.next.as_str())));
            Some(&t.transition)
        }
        Kind::Pass(p) => Some(&p.transition),
        Kind::Wait(w) => Some(&w.transition),
        Kind::Choice(c) => {
            out.extend(
                c.choices
                    .iter()
                    .map(|(_, next)| ("Choices.Next", next.as_str())),
            );
            out.extend(c.default.iter().map(|d| ("Default", d.as_str())));
            None
        }
        Kind::Succeed | Kind::Fail(_) => None,
    };
    if let Some(Transition::Next(next)) = transition {
        out.push(("Next", next.as_str()));
    }
    out
}

fn is_terminal(state: &State) -> bool {
    match &state.kind {
        Kind::Succeed | Kind::Fail(_) => true,
        Kind::Task(t) => t.transition == Transition::End,
        Kind::Pass(p) => p.transition == Transition::End,
        Kind::Wait(w) => w.transition == Transition::End,
        Kind::Choice(_) => false,
    }
}

fn validate(def: &Definition) -> Result<(), LoadError> {
    if !def.states.contains_key(&def.start_at) {
        return Err(err(
            None,
            Some("StartAt"),
            format!("names {:?}, which is not a state", def.start_at),
        ));
    }
    for state in def.states.values() {
        for (field, target) in targets(state) {
            if !def.states.contains_key(target) {
                return Err(err(
                    Some(&state.name),
                    Some(field),
                    format!("names {target:?}, which is not a state"),
                ));
            }
        }
    }
    let mut reached = BTreeSet::from([def.start_at.as_str()]);
    let mut queue = VecDeque::from([def.start_at.as_str()]);
    while let Some(name) = queue.pop_front() {
        for (_, target) in targets(&def.states[name]) {
            if reached.insert(target) {
                queue.push_back(target);
            }
        }
    }
    if let Some(lost) = def.states.keys().find(|n| !reached.contains(n.as_str())) {
        return Err(err(
            Some(lost),
            None,
            format!("is unreachable from StartAt {:?}", def.start_at),
        ));
    }
    if !reached.iter().any(|n| is_terminal(&def.states[*n])) {
        return Err(err(
            None,
            Some("States"),
            "no terminal state (Succeed, Fail, or End: true) is reachable",
        ));
    }
    // Walked backwards from the terminal states: a state that reaches none of them is in
    // a loop with no exit (or leads only into one), and a run there would never end.
    let mut exits: BTreeSet<&str> = def
        .states
        .values()
        .filter(|s| is_terminal(s))
        .map(|s| s.name.as_str())
        .collect();
    loop {
        let before = exits.len();
        for state in def.states.values() {
            if targets(state).iter().any(|(_, t)| exits.contains(t)) {
                exits.insert(state.name.as_str());
            }
        }
        if exits.len() == before {
            break;
        }
    }
    if let Some(trapped) = def.states.keys().find(|n| !exits.contains(n.as_str())) {
        return Err(err(
            Some(trapped),
            None,
            "reaches no terminal state (Succeed, Fail, or End: true): it is in a loop with no exit",
        ));
    }
    Ok(())
}

/// A state on a cycle of `def`, if it has one: a definition without cycles ends every run
/// within as many transitions as it has states (retries stay in their state).
pub fn cycle(def: &Definition) -> Option<String> {
    // Kahn's algorithm: what cannot be ordered is on (or behind) a cycle.
    let mut incoming: BTreeMap<&str, usize> = def.states.keys().map(|k| (k.as_str(), 0)).collect();
    for state in def.states.values() {
        for (_, t) in targets(state) {
            *incoming.entry(t).or_default() += 1;
        }
    }
    let mut ready: VecDeque<&str> = incoming
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut ordered = BTreeSet::new();
    while let Some(name) = ready.pop_front() {
        ordered.insert(name);
        for (_, t) in targets(&def.states[name]) {
            if let Some(n) = incoming.get_mut(t) {
                *n -= 1;
                if *n == 0 {
                    ready.push_back(t);
                }
            }
        }
    }
    def.states
        .keys()
        .find(|k| !ordered.contains(k.as_str()))
        .cloned()
}
