//! The reconciler's configuration: the tables and the state machine template.yaml gives it,
//! read once at init; a missing variable stops init naming it.

use zts_aws::Tables;
use zts_aws::deploy::{ConfigError, Env, vars};
use zts_domain::reconcile::ReconcilePolicy;

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    pub state_machine_arn: String,
    /// The deadline outlasts the state machine's own timeout (a test holds the two
    /// together), so it is not a deployment setting.
    pub policy: ReconcilePolicy,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: env.tables()?,
            state_machine_arn: env.required(vars::STATE_MACHINE_ARN)?,
            policy: ReconcilePolicy::DEFAULT,
        })
    }
}
