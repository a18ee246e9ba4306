//! The reconciler's configuration: the tables and the state machine template.yaml gives it,
//! read once at init; a missing variable stops init naming it.

use zts_aws::Tables;
use zts_aws::deploy::{ConfigError, Env, StateMachines};
use zts_domain::reconcile::ReconcilePolicy;

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    /// Each workflow's state machine: a stale run restarts on its project's workflow.
    pub state_machines: StateMachines,
    /// The deadline outlasts the state machine's own timeout (a test holds the two
    /// together), so it is not a deployment setting.
    pub policy: ReconcilePolicy,
}

impl Config {
    pub fn from_env<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: env.tables()?,
            state_machines: env.state_machines()?,
            policy: ReconcilePolicy::DEFAULT,
        })
    }
}
