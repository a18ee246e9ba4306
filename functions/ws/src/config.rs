//! The ws function's configuration: what template.yaml gives it, read once at init;
//! a missing variable stops init naming it.

use zts_aws::Tables;
use zts_aws::deploy::{ConfigError, Env, vars};

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    /// The WebSocket API stage's management endpoint (PostToConnection).
    pub management_endpoint: String,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: env.tables()?,
            management_endpoint: env.required(vars::WS_MANAGEMENT_ENDPOINT)?,
        })
    }
}
