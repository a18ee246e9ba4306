//! The api function's configuration: what template.yaml gives it, read once at init; a
//! missing or invalid variable stops init naming it.

use crate::HttpConfig;
use zts_aws::Tables;
use zts_aws::deploy::{ConfigError, Env, StateMachines, vars};
use zts_domain::auth::Limits;
use zts_domain::pii::PiiPolicy;

/// A cursor secret shorter than this is refused: HMAC keys this short are guessable.
pub const CURSOR_SECRET_MIN_BYTES: usize = 16;

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    /// Each workflow's state machine (a create may choose any of these workflows).
    pub state_machines: StateMachines,
    /// The state machine is EXPRESS (its executions cannot be stopped; a cancel relies on
    /// the project's state alone). From `ZTS_WORKFLOW_TYPE`, STANDARD when unset.
    pub workflow_express: bool,
    /// The WebSocket URL clients get in `links.websocket`.
    pub websocket_url: String,
    /// The WebSocket stage's Management API, probed by `GET /health/ready`.
    pub management_endpoint: String,
    /// The secret that signs list cursors (its ARN): read from Secrets Manager at init
    /// (`zts_aws::lambda::secret`, at least [`CURSOR_SECRET_MIN_BYTES`]).
    pub cursor_secret_arn: String,
    pub http: HttpConfig,
    /// Limits for keys created without their own.
    pub default_limits: Limits,
    /// What PII redaction knows; the default regions when the variable is unset.
    pub pii: PiiPolicy,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: env.tables()?,
            state_machines: env.state_machines()?,
            workflow_express: workflow_express(env)?,
            websocket_url: env.required(vars::WS_URL)?,
            management_endpoint: env.required(vars::WS_MANAGEMENT_ENDPOINT)?,
            cursor_secret_arn: env.required(vars::CURSOR_SECRET_ARN)?,
            http: http_config(env),
            default_limits: default_limits(env)?,
            pii: pii_policy(env)?,
        })
    }
}

fn workflow_express<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<bool, ConfigError> {
    match env.optional(vars::WORKFLOW_TYPE).as_deref() {
        None | Some("STANDARD") => Ok(false),
        Some("EXPRESS") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            name: vars::WORKFLOW_TYPE,
            reason: format!("{other:?} is neither STANDARD nor EXPRESS"),
        }),
    }
}

/// CORS origins from a comma-separated list; HSTS always on (API Gateway serves only HTTPS).
fn http_config<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> HttpConfig {
    HttpConfig {
        cors_origins: env
            .optional(vars::CORS_ORIGINS)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        hsts: true,
    }
}

fn pii_policy<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<PiiPolicy, ConfigError> {
    match env.optional(vars::PII_REGIONS) {
        None => Ok(PiiPolicy::default()),
        Some(list) => PiiPolicy::from_regions(&list).map_err(|e| ConfigError::Invalid {
            name: vars::PII_REGIONS,
            reason: e.to_string(),
        }),
    }
}

fn default_limits<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Limits, ConfigError> {
    let limits = Limits {
        rate: env
            .parsed(vars::RATE_PER_SECOND)?
            .unwrap_or(Limits::DEFAULT.rate),
        burst: env
            .parsed(vars::RATE_BURST)?
            .unwrap_or(Limits::DEFAULT.burst),
    };
    limits.validate().map_err(|e| ConfigError::Invalid {
        name: vars::RATE_PER_SECOND,
        reason: e.to_string(),
    })?;
    Ok(limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> zts_aws::deploy::MapEnv {
        Env::from_pairs(pairs)
    }

    const COMPLETE: &[(&str, &str)] = &[
        (vars::PROJECTS_TABLE, "p"),
        (vars::CONNECTIONS_TABLE, "c"),
        (vars::API_KEYS_TABLE, "k"),
        (
            vars::STATE_MACHINE_ARN,
            "arn:aws:states:us-east-1:123456789012:stateMachine:zts",
        ),
        (
            vars::WS_URL,
            "wss://example.execute-api.us-east-1.amazonaws.com/dev",
        ),
        (
            vars::WS_MANAGEMENT_ENDPOINT,
            "https://example.execute-api.us-east-1.amazonaws.com/dev",
        ),
        (
            vars::CURSOR_SECRET_ARN,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:zts-dev-cursor-secret-AbCdEf",
        ),
        (
            vars::CORS_ORIGINS,
            " https://a.example , ,https://b.example",
        ),
        (vars::RATE_BURST, "3"),
        (vars::PII_REGIONS, "gb, DE"),
    ];

    #[test]
    fn reads_every_setting() {
        let config = Config::from_env(&env(COMPLETE)).unwrap();
        assert_eq!(
            config.http.cors_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(config.default_limits.burst, 3);
        assert_eq!(config.default_limits.rate, Limits::DEFAULT.rate);
        assert_eq!(config.pii.regions(), ["GB", "DE"]);
        assert!(
            config
                .cursor_secret_arn
                .ends_with("zts-dev-cursor-secret-AbCdEf")
        );
    }

    #[test]
    fn a_missing_setting_is_named() {
        for (missing, _) in COMPLETE.iter().take(7) {
            let pairs: Vec<_> = COMPLETE
                .iter()
                .copied()
                .filter(|(k, _)| k != missing)
                .collect();
            let err = Config::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(err, ConfigError::Missing(missing), "{missing}");
        }
    }

    #[test]
    fn pii_regions_default_when_unset_and_a_bad_code_is_named() {
        let unset: Vec<_> = COMPLETE
            .iter()
            .copied()
            .filter(|(k, _)| *k != vars::PII_REGIONS)
            .collect();
        let config = Config::from_env(&env(&unset)).unwrap();
        assert_eq!(config.pii, PiiPolicy::default());
        let mut bad = unset.clone();
        bad.push((vars::PII_REGIONS, "US,XX"));
        match Config::from_env(&env(&bad)) {
            Err(ConfigError::Invalid { name, reason }) => {
                assert_eq!(name, vars::PII_REGIONS);
                assert!(reason.contains("\"XX\""), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_workflow_type_decides_whether_a_cancel_stops_the_execution() {
        assert!(!Config::from_env(&env(COMPLETE)).unwrap().workflow_express);
        for (value, express) in [("STANDARD", false), ("EXPRESS", true)] {
            let mut pairs = COMPLETE.to_vec();
            pairs.push((vars::WORKFLOW_TYPE, value));
            assert_eq!(
                Config::from_env(&env(&pairs)).unwrap().workflow_express,
                express
            );
        }
        let mut pairs = COMPLETE.to_vec();
        pairs.push((vars::WORKFLOW_TYPE, "express"));
        assert!(matches!(
            Config::from_env(&env(&pairs)),
            Err(ConfigError::Invalid { name, .. }) if name == vars::WORKFLOW_TYPE
        ));
    }
}
