//! The api as deployed behind API Gateway: the router with authentication and the outer
//! layers, configured from the function's environment (CORS allow-list, default per-key
//! limits). HSTS is always on there: API Gateway serves only HTTPS.

use crate::{Api, Auth, HttpConfig, router, with_auth, with_envelope};
use axum::Router;
use std::sync::Arc;
use zts_aws::deploy::{ConfigError, Env, vars};
use zts_domain::auth::Limits;
use zts_domain::ports::KeyStore;

pub fn http_config<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> HttpConfig {
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

pub fn default_limits<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Limits, ConfigError> {
    let limits = Limits {
        rate: env
            .parsed(vars::RATE_PER_SECOND)?
            .unwrap_or(Limits::DEFAULT.rate),
        burst: env
            .parsed(vars::RATE_BURST)?
            .unwrap_or(Limits::DEFAULT.burst),
    };
    limits.validate().map_err(|reason| ConfigError::Invalid {
        name: vars::RATE_PER_SECOND,
        reason,
    })?;
    Ok(limits)
}

/// The whole HTTP application as Lambda serves it.
pub fn app<F: Fn(&str) -> Option<String>>(
    api: Api,
    keys: Arc<dyn KeyStore>,
    env: &Env<F>,
) -> Result<Router, ConfigError> {
    let auth = Auth {
        keys,
        default_limits: default_limits(env)?,
    };
    Ok(with_envelope(
        with_auth(router(api), auth),
        &http_config(env),
    ))
}
