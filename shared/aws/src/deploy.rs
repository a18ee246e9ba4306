//! What a deployed function reads from its environment. `template.yaml` sets these
//! variables; a missing one stops the function during init with a message naming it, not
//! on the first request.

use super::Tables;
use zts_domain::retention::Retention;
use zts_domain::workflows::{DEFAULT_WORKFLOW, Workflow};

/// Each workflow's state machine ARN, by workflow name (the default's always present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachines(pub std::collections::BTreeMap<String, String>);

impl StateMachines {
    /// The default workflow's state machine.
    pub fn default_arn(&self) -> &str {
        self.0.get(DEFAULT_WORKFLOW).map_or("", String::as_str)
    }
}

/// The environment variables, in one place.
pub mod vars {
    pub const PROJECTS_TABLE: &str = "ZTS_PROJECTS_TABLE";
    pub const CONNECTIONS_TABLE: &str = "ZTS_CONNECTIONS_TABLE";
    pub const API_KEYS_TABLE: &str = "ZTS_API_KEYS_TABLE";
    /// The default workflow's state machine (`zts_domain::workflows::DEFAULT_WORKFLOW`).
    pub const STATE_MACHINE_ARN: &str = "ZTS_STATE_MACHINE_ARN";
    /// The other workflows' state machines: `name=arn` pairs, comma-separated (the
    /// template lists every workflow it deploys).
    pub const STATE_MACHINE_ARNS: &str = "ZTS_STATE_MACHINE_ARNS";
    /// `STANDARD` or `EXPRESS` (the template's WorkflowType): only Standard executions can
    /// be stopped (StopExecution is not supported for Express).
    pub const WORKFLOW_TYPE: &str = "ZTS_WORKFLOW_TYPE";
    /// The WebSocket API's management endpoint, `https://{api}.execute-api.{region}.amazonaws.com/{stage}`.
    pub const WS_MANAGEMENT_ENDPOINT: &str = "ZTS_WS_MANAGEMENT_ENDPOINT";
    /// The public WebSocket URL given to clients in `links.websocket`.
    pub const WS_URL: &str = "ZTS_WS_URL";
    /// The Secrets Manager secret (ARN) that signs list cursors; the api reads its value at
    /// init, so every instance shares it and it is never in the environment.
    pub const CURSOR_SECRET_ARN: &str = "ZTS_CURSOR_SECRET_ARN";
    /// Comma-separated origins allowed by CORS.
    pub const CORS_ORIGINS: &str = "ZTS_CORS_ORIGINS";
    /// Default per-key limits: requests per second and burst.
    pub const RATE_PER_SECOND: &str = "ZTS_RATE_PER_SECOND";
    pub const RATE_BURST: &str = "ZTS_RATE_BURST";
    /// Regions whose national phone formats PII redaction knows (ISO 3166 codes,
    /// comma-separated); the template's `PiiRegions` parameter.
    pub const PII_REGIONS: &str = "ZTS_PII_REGIONS";
    /// Open WebSockets one owner may hold (the authorizer's cap); the template's
    /// `WebSocketConnectionsPerOwner` parameter.
    pub const WS_PER_OWNER: &str = "ZTS_WS_PER_OWNER";
    /// Days an ended project is kept (0 = forever); the template's `RetentionDays`.
    /// Unset: the default, 90.
    pub const RETENTION_DAYS: &str = zts_domain::retention::ENV_DAYS;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "the environment variable {0} is not set (template.yaml sets it for every function that needs it)"
    )]
    Missing(&'static str),
    #[error("the environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A value that must never be printed: `Debug` shows a placeholder and there is no
/// `Display`, so a config logged or unwrapped in a panic cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Reads variables from a lookup (the process environment, or a map in tests).
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl Env<fn(&str) -> Option<String>> {
    pub fn process() -> Self {
        Env(|name| std::env::var(name).ok())
    }
}

/// An environment held in memory ([`Env::from_pairs`]).
pub type MapEnv = Env<Box<dyn Fn(&str) -> Option<String>>>;

impl MapEnv {
    /// An environment of exactly these variables (tests, and the emulation's overrides).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env(Box::new(move |name: &str| map.get(name).cloned()))
    }
}

/// What a step function (validator, advisory, finalize) reads: the tables.
#[derive(Debug, Clone)]
pub struct StepConfig {
    pub tables: Tables,
}

impl StepConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(StepConfig {
            tables: env.tables()?,
        })
    }
}

/// What a function that pushes to WebSocket clients (ws, broadcaster) reads.
#[derive(Debug, Clone)]
pub struct PushConfig {
    pub tables: Tables,
    /// The WebSocket API stage's management endpoint (PostToConnection).
    pub management_endpoint: String,
}

impl PushConfig {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(PushConfig {
            tables: env.tables()?,
            management_endpoint: env.required(vars::WS_MANAGEMENT_ENDPOINT)?,
        })
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        (self.0)(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing(name))
    }

    pub fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    pub fn parsed<T: std::str::FromStr>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.optional(name)
            .map(|v| {
                v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                    name,
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// The state machine of every workflow the deployment runs, by workflow name: the
    /// default's from [`vars::STATE_MACHINE_ARN`], the others from
    /// [`vars::STATE_MACHINE_ARNS`]. A name that is not a listed workflow stops init.
    pub fn state_machines(&self) -> Result<StateMachines, ConfigError> {
        let mut machines = std::collections::BTreeMap::from([(
            DEFAULT_WORKFLOW.to_string(),
            self.required(vars::STATE_MACHINE_ARN)?,
        )]);
        let invalid = |reason: String| ConfigError::Invalid {
            name: vars::STATE_MACHINE_ARNS,
            reason,
        };
        for pair in self
            .optional(vars::STATE_MACHINE_ARNS)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, arn) = pair
                .split_once('=')
                .map(|(n, a)| (n.trim(), a.trim()))
                .filter(|(n, a)| !n.is_empty() && a.starts_with("arn:"))
                .ok_or_else(|| invalid(format!("{pair:?} is not name=arn")))?;
            if Workflow::named(name).is_none() {
                return Err(invalid(format!("{name:?} is not a listed workflow")));
            }
            if machines.insert(name.to_string(), arn.to_string()).is_some() {
                return Err(invalid(format!("{name:?} is given twice")));
            }
        }
        Ok(StateMachines(machines))
    }

    pub fn tables(&self) -> Result<Tables, ConfigError> {
        Ok(Tables {
            projects: self.required(vars::PROJECTS_TABLE)?,
            connections: self.required(vars::CONNECTIONS_TABLE)?,
            api_keys: self.required(vars::API_KEYS_TABLE)?,
            retention: self
                .parsed::<u32>(vars::RETENTION_DAYS)?
                .map_or_else(Retention::default, Retention::days),
        })
    }
}

/// The SDK configuration: credentials and region from the environment (Lambda sets them),
/// endpoints from `AWS_ENDPOINT_URL*` when set (moto, the local gateway), the project's
/// HTTP client (`crate::http`). Builds no connection: the first call opens one.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::http::https_client())
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> MapEnv {
        Env::from_pairs(pairs)
    }

    #[test]
    fn each_workflow_gets_its_state_machine_and_an_unknown_name_stops_init() {
        let arn = |n: &str| format!("arn:aws:states:us-east-1:1:stateMachine:{n}");
        let e = env(&[
            (vars::STATE_MACHINE_ARN, &arn("a")),
            (
                vars::STATE_MACHINE_ARNS,
                &format!("quick-check={}, triage={}", arn("q"), arn("t")),
            ),
        ]);
        let machines = e.state_machines().unwrap();
        assert_eq!(machines.default_arn(), arn("a"));
        assert_eq!(machines.0["quick-check"], arn("q"));
        assert_eq!(machines.0["triage"], arn("t"));
        // Only the default: a deployment without the others still starts.
        let only = env(&[(vars::STATE_MACHINE_ARN, &arn("a"))]);
        assert_eq!(only.state_machines().unwrap().0.len(), 1);
        for bad in [
            format!("deep-dive={}", arn("d")),
            "quick-check".to_string(),
            "quick-check=not-an-arn".to_string(),
            format!("quick-check={},quick-check={}", arn("q"), arn("q")),
        ] {
            let e = env(&[
                (vars::STATE_MACHINE_ARN, &arn("a")),
                (vars::STATE_MACHINE_ARNS, &bad),
            ]);
            assert!(
                matches!(
                    e.state_machines(),
                    Err(ConfigError::Invalid {
                        name: vars::STATE_MACHINE_ARNS,
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            env(&[]).state_machines().unwrap_err(),
            ConfigError::Missing(vars::STATE_MACHINE_ARN)
        );
    }

    #[test]
    fn a_missing_table_is_named() {
        let e = env(&[(vars::PROJECTS_TABLE, "p"), (vars::CONNECTIONS_TABLE, "c")]);
        assert_eq!(
            e.tables().unwrap_err(),
            ConfigError::Missing(vars::API_KEYS_TABLE)
        );
        assert!(
            e.tables()
                .unwrap_err()
                .to_string()
                .contains("ZTS_API_KEYS_TABLE")
        );
    }

    #[test]
    fn blank_counts_as_missing_and_numbers_are_checked() {
        let e = env(&[(vars::STATE_MACHINE_ARN, "  "), (vars::RATE_BURST, "ten")]);
        assert_eq!(
            e.required(vars::STATE_MACHINE_ARN).unwrap_err(),
            ConfigError::Missing(vars::STATE_MACHINE_ARN)
        );
        assert!(matches!(
            e.parsed::<u32>(vars::RATE_BURST),
            Err(ConfigError::Invalid {
                name: "ZTS_RATE_BURST",
                ..
            })
        ));
        assert_eq!(e.parsed::<u32>(vars::RATE_PER_SECOND).unwrap(), None);
    }

    #[test]
    fn retention_is_read_in_days_with_ninety_by_default_and_zero_forever() {
        let base = [
            (vars::PROJECTS_TABLE, "p"),
            (vars::CONNECTIONS_TABLE, "c"),
            (vars::API_KEYS_TABLE, "k"),
        ];
        assert_eq!(env(&base).tables().unwrap().retention, Retention::days(90));
        let mut with = base.to_vec();
        with.push((vars::RETENTION_DAYS, "0"));
        assert!(env(&with).tables().unwrap().retention.is_forever());
        with.pop();
        with.push((vars::RETENTION_DAYS, "7"));
        assert_eq!(env(&with).tables().unwrap().retention, Retention::days(7));
        with.pop();
        with.push((vars::RETENTION_DAYS, "ninety"));
        assert!(matches!(
            env(&with).tables(),
            Err(ConfigError::Invalid {
                name: "ZTS_RETENTION_DAYS",
                ..
            })
        ));
    }

    #[test]
    fn push_functions_need_the_management_endpoint() {
        let tables = [
            (vars::PROJECTS_TABLE, "p"),
            (vars::CONNECTIONS_TABLE, "c"),
            (vars::API_KEYS_TABLE, "k"),
        ];
        assert!(StepConfig::from_env(&env(&tables)).is_ok());
        assert_eq!(
            PushConfig::from_env(&env(&tables)).unwrap_err(),
            ConfigError::Missing(vars::WS_MANAGEMENT_ENDPOINT)
        );
        let mut with = tables.to_vec();
        with.push((vars::WS_MANAGEMENT_ENDPOINT, "https://example/dev"));
        let config = PushConfig::from_env(&env(&with)).unwrap();
        assert_eq!(config.management_endpoint, "https://example/dev");
    }
}
