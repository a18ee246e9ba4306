//! The authorizer's configuration: the ApiKeys table (tickets and connection slots live
//! there) and the per-owner cap on open WebSockets.

use crate::DEFAULT_PER_OWNER;
use zts_aws::deploy::{ConfigError, Env, vars};

#[derive(Debug, Clone)]
pub struct Config {
    pub api_keys_table: String,
    pub ws_per_owner: usize,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        let ws_per_owner = env
            .parsed::<usize>(vars::WS_PER_OWNER)?
            .unwrap_or(DEFAULT_PER_OWNER);
        if ws_per_owner == 0 {
            return Err(ConfigError::Invalid {
                name: vars::WS_PER_OWNER,
                reason: "must be at least 1".into(),
            });
        }
        Ok(Config {
            api_keys_table: env.required(vars::API_KEYS_TABLE)?,
            ws_per_owner,
        })
    }
}
