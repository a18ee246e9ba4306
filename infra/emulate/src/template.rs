//! `template.yaml` as the emulation reads it: the functions it deploys (binary, timeout,
//! memory) with exactly the environment the template gives each one — Globals merged,
//! `!Ref`, `!GetAtt`, `!Sub` and `!If` (on `!Equals`/`!Not`/`!And`/`!Or` conditions)
//! resolved against the emulated resources. Anything the
//! emulation cannot honour is refused with the resource and property it sits in, never
//! guessed (README: `zts emulate`).

use serde_norway::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub use zts_cost::TEMPLATE;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template.yaml does not parse: {0}")]
    Parse(String),
    #[error("template.yaml, {resource} {property}: {what}; the emulation does not guess")]
    Unsupported {
        resource: String,
        property: String,
        what: String,
    },
    #[error("parameter {name}: {what}")]
    Parameter { name: String, what: String },
}

/// One Lambda function as the template deploys it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the package's directory under the functions dir.
    pub binary: String,
    /// `FunctionName`, resolved.
    pub name: String,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Globals' variables, then the function's own, every value resolved.
    pub environment: BTreeMap<String, String>,
    /// What its role may do to DynamoDB: (action, resource ARN or ARN pattern) from every
    /// `Allow` statement of its inline policies that names a `dynamodb:` action.
    pub dynamodb_grants: Vec<(String, String)>,
    /// `Tracing: Active` (its own or Globals'): Lambda starts X-Ray traces itself.
    pub active_tracing: bool,
}

/// Where the emulated stack "is": what pseudo parameters resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudo {
    pub region: String,
    pub account: String,
    pub stack_name: String,
}

impl Default for Pseudo {
    fn default() -> Self {
        Pseudo {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            stack_name: "zts-emulate".into(),
        }
    }
}

pub struct Template {
    doc: Value,
}

/// Resolves intrinsics against the template, its parameters and the physical values of
/// resources the emulation created itself (a secret's ARN, a queue's URL).
pub struct Resolver<'t> {
    template: &'t Template,
    parameters: BTreeMap<String, String>,
    pseudo: Pseudo,
    physical: BTreeMap<String, String>,
}

/// Where a value sits, for error messages.
#[derive(Clone, Copy)]
struct At<'a> {
    resource: &'a str,
    property: &'a str,
}

impl At<'_> {
    fn unsupported(&self, what: impl Into<String>) -> TemplateError {
        TemplateError::Unsupported {
            resource: self.resource.to_string(),
            property: self.property.to_string(),
            what: what.into(),
        }
    }
}

fn untagged(v: &Value) -> (&Value, Option<String>) {
    match v {
        Value::Tagged(t) => (&t.value, Some(t.tag.to_string())),
        other => (other, None),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let doc: Value =
            serde_norway::from_str(text).map_err(|e| TemplateError::Parse(e.to_string()))?;
        if !doc["Resources"].is_mapping() {
            return Err(TemplateError::Parse("no Resources".into()));
        }
        Ok(Template { doc })
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.doc["Resources"].get(logical_id)
    }

    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resource(logical_id).and_then(|r| r["Type"].as_str())
    }

    /// Logical ids of the resources of `kind`, in template order.
    pub fn resources_of(&self, kind: &str) -> Vec<String> {
        self.doc["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, r)| r["Type"].as_str() == Some(kind))
            .filter_map(|(k, _)| k.as_str().map(str::to_string))
            .collect()
    }

    /// Every function event of type `kind` (`Events.<name>.Type`), in template order:
    /// (function logical id, event name, the event).
    pub fn function_events(&self, kind: &str) -> Vec<(String, String, &Value)> {
        let mut out = Vec::new();
        for function in self.resources_of("AWS::Serverless::Function") {
            let Some(resource) = self.resource(&function) else {
                continue;
            };
            for (name, event) in resource["Properties"]["Events"]
                .as_mapping()
                .into_iter()
                .flatten()
            {
                if event["Type"].as_str() == Some(kind) {
                    let name = name.as_str().unwrap_or_default().to_string();
                    out.push((function.clone(), name, event));
                }
            }
        }
        out
    }

    /// Every parameter's value: its default, or the override given for it. An override for a
    /// parameter the template does not have, or a value outside its AllowedValues, is refused.
    pub fn parameters(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let declared = self.doc["Parameters"]
            .as_mapping()
            .cloned()
            .unwrap_or_default();
        for name in overrides.keys() {
            if !declared.contains_key(name.as_str()) {
                return Err(TemplateError::Parameter {
                    name: name.clone(),
                    what: "template.yaml has no such parameter".into(),
                });
            }
        }
        let mut out = BTreeMap::new();
        for (name, spec) in &declared {
            let Some(name) = name.as_str() else { continue };
            let value = match overrides.get(name) {
                Some(v) => v.clone(),
                None => scalar(&spec["Default"]).ok_or_else(|| TemplateError::Parameter {
                    name: name.to_string(),
                    what: "it has no Default; give it a value".into(),
                })?,
            };
            if let Some(allowed) = spec["AllowedValues"].as_sequence()
                && !allowed.iter().filter_map(scalar).any(|a| a == value)
            {
                return Err(TemplateError::Parameter {
                    name: name.to_string(),
                    what: format!("{value:?} is not one of its AllowedValues"),
                });
            }
            out.insert(name.to_string(), value);
        }
        Ok(out)
    }

    /// A resolver with the parameters' values (defaults and `overrides`).
    pub fn resolver(
        &self,
        overrides: &BTreeMap<String, String>,
        pseudo: Pseudo,
    ) -> Result<Resolver<'_>, TemplateError> {
        Ok(Resolver {
            template: self,
            parameters: self.parameters(overrides)?,
            pseudo,
            physical: BTreeMap::new(),
        })
    }
}

impl<'t> Resolver<'t> {
    /// `!Ref logical_id` (and `${logical_id}`) resolves to `value`: for resources whose
    /// physical id only exists once created (a secret's ARN suffix, a queue URL).
    pub fn with_physical(mut self, logical_id: &str, value: impl Into<String>) -> Self {
        self.physical.insert(logical_id.to_string(), value.into());
        self
    }

    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    pub fn pseudo(&self) -> &Pseudo {
        &self.pseudo
    }

    /// Every function of the template, resolved.
    pub fn functions(&self) -> Result<Vec<FunctionSpec>, TemplateError> {
        let globals = &self.template.doc["Globals"]["Function"];
        self.template
            .resources_of("AWS::Serverless::Function")
            .into_iter()
            .map(|id| self.function(&id, globals))
            .collect()
    }

    fn function(&self, id: &str, globals: &Value) -> Result<FunctionSpec, TemplateError> {
        let resource = self.template.resource(id).unwrap_or(&Value::Null);
        let props = &resource["Properties"];
        let at = |property| At {
            resource: id,
            property,
        };
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| at("Metadata.BuildProperties.Binary").unsupported("no binary named"))?
            .to_string();
        let number = |key: &'static str, default: u64| -> Result<u64, TemplateError> {
            let v = if props[key].is_null() {
                &globals[key]
            } else {
                &props[key]
            };
            match v {
                Value::Null => Ok(default),
                other => other
                    .as_u64()
                    .ok_or_else(|| at(key).unsupported("not a plain number")),
            }
        };
        let mut environment = BTreeMap::new();
        for source in [
            (&globals["Environment"]["Variables"], "Globals Environment"),
            (&props["Environment"]["Variables"], "Environment"),
        ] {
            for (name, value) in source.0.as_mapping().into_iter().flatten() {
                let Some(name) = name.as_str() else { continue };
                let property = format!("{}.{name}", source.1);
                let at = At {
                    resource: id,
                    property: &property,
                };
                environment.insert(name.to_string(), self.resolve(value, at)?);
            }
        }
        let dynamodb_grants = self.dynamodb_grants(id, &props["Policies"])?;
        let tracing = if props["Tracing"].is_null() {
            &globals["Tracing"]
        } else {
            &props["Tracing"]
        };
        let active_tracing =
            !tracing.is_null() && self.resolve(tracing, at("Tracing"))? == "Active";
        Ok(FunctionSpec {
            active_tracing,
            logical_id: id.to_string(),
            dynamodb_grants,
            binary,
            name: self.resolve(&props["FunctionName"], at("FunctionName"))?,
            timeout: Duration::from_secs(number("Timeout", 3)?),
            memory_mb: number("MemorySize", 128)? as u32,
            environment,
        })
    }

    /// The DynamoDB half of a function's inline policies, resolved. A policy the
    /// emulation cannot read (a SAM policy template, a `Deny`) is refused by name.
    fn dynamodb_grants(
        &self,
        id: &str,
        policies: &Value,
    ) -> Result<Vec<(String, String)>, TemplateError> {
        let at = At {
            resource: id,
            property: "Policies",
        };
        let list = |v: &Value| -> Vec<Value> {
            match v {
                Value::Sequence(items) => items.clone(),
                Value::Null => Vec::new(),
                other => vec![other.clone()],
            }
        };
        let mut grants = Vec::new();
        for policy in list(policies) {
            let Some(statements) = policy.get("Statement") else {
                return Err(at.unsupported("only inline policy documents are emulated"));
            };
            for statement in list(statements) {
                let actions: Vec<String> = list(&statement["Action"])
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .filter(|a| a.starts_with("dynamodb:"))
                    .collect();
                if actions.is_empty() {
                    continue;
                }
                if statement["Effect"].as_str() != Some("Allow") {
                    return Err(at.unsupported("a DynamoDB statement that is not Allow"));
                }
                for resource in list(&statement["Resource"]) {
                    let arn = self.resolve(&resource, at)?;
                    for action in &actions {
                        grants.push((action.clone(), arn.clone()));
                    }
                }
            }
        }
        Ok(grants)
    }

    /// The string a property holding an intrinsic (or a plain scalar) resolves to.
    pub fn resolve_property(
        &self,
        resource: &str,
        property: &str,
    ) -> Result<String, TemplateError> {
        let value = self
            .template
            .resource(resource)
            .map(|r| &r["Properties"][property])
            .unwrap_or(&Value::Null);
        self.resolve(value, At { resource, property })
    }

    /// A property nested in a map (`Tracing.Enabled`), resolved; `None` when absent.
    pub fn resolve_nested(
        &self,
        resource: &str,
        property: &str,
        key: &str,
    ) -> Result<Option<String>, TemplateError> {
        let value = self
            .template
            .resource(resource)
            .map(|r| &r["Properties"][property][key])
            .unwrap_or(&Value::Null);
        if value.is_null() {
            return Ok(None);
        }
        self.resolve(value, At { resource, property }).map(Some)
    }

    /// A property holding a map of strings (DefinitionSubstitutions), each value resolved.
    pub fn resolve_map_property(
        &self,
        resource: &str,
        property: &str,
    ) -> Result<BTreeMap<String, String>, TemplateError> {
        let value = self
            .template
            .resource(resource)
            .map(|r| &r["Properties"][property])
            .unwrap_or(&Value::Null);
        let mut out = BTreeMap::new();
        for (k, v) in value.as_mapping().into_iter().flatten() {
            let Some(k) = k.as_str() else { continue };
            let path = format!("{property}.{k}");
            out.insert(
                k.to_string(),
                self.resolve(
                    v,
                    At {
                        resource,
                        property: &path,
                    },
                )?,
            );
        }
        Ok(out)
    }

    fn resolve(&self, value: &Value, at: At<'_>) -> Result<String, TemplateError> {
        let (inner, tag) = untagged(value);
        match tag.as_deref() {
            None => scalar(inner).ok_or_else(|| at.unsupported("not a string or an intrinsic")),
            Some("!Ref") => {
                let name = inner
                    .as_str()
                    .ok_or_else(|| at.unsupported("!Ref of a non-string"))?;
                self.ref_of(name, at)
            }
            Some("!GetAtt") => {
                let (res, attr) = match inner {
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(r, a)| (r.to_string(), a.to_string()))
                        .ok_or_else(|| at.unsupported(format!("!GetAtt {s}")))?,
                    Value::Sequence(parts) if parts.len() == 2 => (
                        scalar(&parts[0]).unwrap_or_default(),
                        scalar(&parts[1]).unwrap_or_default(),
                    ),
                    _ => return Err(at.unsupported("!GetAtt of an unexpected shape")),
                };
                self.get_att(&res, &attr, at)
            }
            Some("!Sub") => match inner {
                Value::String(s) => self.sub(s, &BTreeMap::new(), at),
                Value::Sequence(parts) if parts.len() == 2 => {
                    let text = parts[0]
                        .as_str()
                        .ok_or_else(|| at.unsupported("!Sub without a string"))?;
                    let mut vars = BTreeMap::new();
                    for (k, v) in parts[1].as_mapping().into_iter().flatten() {
                        if let Some(k) = k.as_str() {
                            vars.insert(k.to_string(), self.resolve(v, at)?);
                        }
                    }
                    self.sub(text, &vars, at)
                }
                _ => Err(at.unsupported("!Sub of an unexpected shape")),
            },
            Some("!If") => match inner {
                Value::Sequence(parts) if parts.len() == 3 => {
                    let name = parts[0]
                        .as_str()
                        .ok_or_else(|| at.unsupported("!If without a condition name"))?;
                    let branch = if self.condition(name, at)? {
                        &parts[1]
                    } else {
                        &parts[2]
                    };
                    self.resolve(branch, at)
                }
                _ => Err(at.unsupported("!If of an unexpected shape")),
            },
            Some(other) => Err(at.unsupported(format!("the intrinsic {other} is not supported"))),
        }
    }

    /// A condition of the template's `Conditions`, evaluated with the parameters' values.
    fn condition(&self, name: &str, at: At<'_>) -> Result<bool, TemplateError> {
        let spec = &self.template.doc["Conditions"][name];
        if spec.is_null() {
            return Err(at.unsupported(format!("no condition {name}")));
        }
        self.evaluate(spec, at)
    }

    fn evaluate(&self, spec: &Value, at: At<'_>) -> Result<bool, TemplateError> {
        let (inner, tag) = untagged(spec);
        let operands = || -> Result<&Vec<Value>, TemplateError> {
            match inner {
                Value::Sequence(items) => Ok(items),
                _ => Err(at.unsupported("a condition function without a list")),
            }
        };
        match tag.as_deref() {
            Some("!Equals") => match operands()?.as_slice() {
                [a, b] => Ok(self.resolve(a, at)? == self.resolve(b, at)?),
                _ => Err(at.unsupported("!Equals needs two values")),
            },
            Some("!Not") => match operands()?.as_slice() {
                [a] => Ok(!self.evaluate(a, at)?),
                _ => Err(at.unsupported("!Not needs one condition")),
            },
            Some("!And") => operands()?
                .iter()
                .try_fold(true, |all, c| Ok(all && self.evaluate(c, at)?)),
            Some("!Or") => operands()?
                .iter()
                .try_fold(false, |any, c| Ok(any || self.evaluate(c, at)?)),
            Some("!Condition") => {
                let name = inner
                    .as_str()
                    .ok_or_else(|| at.unsupported("!Condition of a non-string"))?;
                self.condition(name, at)
            }
            _ => Err(at.unsupported("a condition the emulation cannot evaluate")),
        }
    }

    fn sub(
        &self,
        text: &str,
        vars: &BTreeMap<String, String>,
        at: At<'_>,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| at.unsupported(format!("an unclosed ${{ in {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(v);
            } else if let Some((res, attr)) = name.split_once('.') {
                out.push_str(&self.get_att(res, attr, at)?);
            } else {
                out.push_str(&self.ref_of(name, at)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn ref_of(&self, name: &str, at: At<'_>) -> Result<String, TemplateError> {
        let p = &self.pseudo;
        match name {
            "AWS::Region" => return Ok(p.region.clone()),
            "AWS::AccountId" => return Ok(p.account.clone()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::StackName" => return Ok(p.stack_name.clone()),
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.physical.get(name) {
            return Ok(v.clone());
        }
        let kind = self
            .template
            .resource_type(name)
            .ok_or_else(|| at.unsupported(format!("!Ref {name}: no such parameter or resource")))?;
        match kind {
            "AWS::DynamoDB::Table" => self.resolve_property(name, "TableName"),
            "AWS::Serverless::Function" => self.resolve_property(name, "FunctionName"),
            "AWS::Serverless::StateMachine" => Ok(format!(
                "arn:aws:states:{}:{}:stateMachine:{}",
                p.region,
                p.account,
                self.resolve_property(name, "Name")?
            )),
            // API ids are ten lower-case characters; the emulation's are made from the
            // logical id, so URLs built from them are recognisable.
            "AWS::ApiGatewayV2::Api" | "AWS::Serverless::HttpApi" => Ok(api_id(name)),
            other => Err(at.unsupported(format!(
                "!Ref {name} ({other}) has no value until the emulation creates it"
            ))),
        }
    }

    fn get_att(&self, res: &str, attr: &str, at: At<'_>) -> Result<String, TemplateError> {
        let p = &self.pseudo;
        let kind = self
            .template
            .resource_type(res)
            .ok_or_else(|| at.unsupported(format!("!GetAtt {res}.{attr}: no such resource")))?;
        match (kind, attr) {
            ("AWS::Serverless::Function", "Arn") => Ok(format!(
                "arn:aws:lambda:{}:{}:function:{}",
                p.region,
                p.account,
                self.ref_of(res, at)?
            )),
            ("AWS::DynamoDB::Table", "Arn") => Ok(format!(
                "arn:aws:dynamodb:{}:{}:table/{}",
                p.region,
                p.account,
                self.ref_of(res, at)?
            )),
            _ => Err(at.unsupported(format!("!GetAtt {res}.{attr} ({kind}) is not supported"))),
        }
    }
}

/// The emulated id of an API: its logical id, lower-cased, ten characters.
pub fn api_id(logical_id: &str) -> String {
    let mut id: String = logical_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect();
    while id.len() < 10 {
        id.push('0');
    }
    id
}
