//! The authorizer's configuration: only the ApiKeys table (tickets live there).

use zts_aws::deploy::{ConfigError, Env, vars};

#[derive(Debug, Clone)]
pub struct Config {
    pub api_keys_table: String,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Config {
            api_keys_table: env.required(vars::API_KEYS_TABLE)?,
        })
    }
}
