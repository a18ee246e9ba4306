//! The advisory function's configuration: what template.yaml gives it, read once at init;
//! a missing variable stops init naming it.

use zts_aws::Tables;
use zts_aws::deploy::{ConfigError, Env};

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: env.tables()?,
        })
    }
}
