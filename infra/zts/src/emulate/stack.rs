//! The emulated deployment assembled (feature `aws`: it creates what CloudFormation would —
//! the tables and the cursor secret — on a DynamoDB/Secrets Manager endpoint, moto): every
//! function of the template as a pool of its packaged `bootstrap`, Step Functions, and the
//! HTTP API on one address. The WebSocket API, the stream mapping and the schedule are
//! still to come (README: `zts emulate`).

use super::http_api::{HttpApiEmulator, routes};
use super::runtime::{FunctionPool, Launch};
use super::states::{EmulatedFunctions, StepFunctionsEmulator};
use super::template::{Pseudo, TEMPLATE, Template, TemplateError, api_id};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use zts_domain::auth::{self, ApiKeyRecord, KeyStatus};
use zts_domain::ports::KeyStore;

#[derive(Debug, Clone)]
pub struct EmulateConfig {
    /// Where the HTTP API listens.
    pub addr: SocketAddr,
    /// Each function's package: `<dir>/<binary>/bootstrap` (what `infra/scripts/package.sh`
    /// builds), or a single directory holding one binary per function (a cargo build).
    pub functions: FunctionsDir,
    /// The DynamoDB and Secrets Manager endpoint (moto).
    pub aws_endpoint: String,
    /// Template parameters that differ from their defaults.
    pub parameters: BTreeMap<String, String>,
    /// API keys to register in the emulated ApiKeys table: (owner, key).
    pub api_keys: Vec<(String, String)>,
    /// Most processes per function.
    pub max_processes: usize,
}

#[derive(Debug, Clone)]
pub enum FunctionsDir {
    Packages(PathBuf),
    Binaries(PathBuf),
}

impl FunctionsDir {
    fn bootstrap(&self, binary: &str) -> PathBuf {
        match self {
            FunctionsDir::Packages(dir) => dir.join(binary).join("bootstrap"),
            FunctionsDir::Binaries(dir) => dir.join(binary),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmulateError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{0} is missing: build the packages first (bash infra/scripts/package.sh)")]
    MissingPackage(String),
    #[error("creating {what} on {endpoint}: {reason}")]
    Provision {
        what: String,
        endpoint: String,
        reason: String,
    },
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
}

pub struct Emulation {
    pub base_url: String,
    pub stage: String,
    /// Every function by logical id.
    pub functions: BTreeMap<String, Arc<FunctionPool>>,
    pub sfn: Arc<StepFunctionsEmulator>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Emulation {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Emulation {
    /// Invocations, errors, timeouts, throttles and inits per function; executions.
    pub fn summary(&self) -> String {
        let mut out = String::from(
            "function      invocations errors timeouts throttles inits init-ms(avg)\n",
        );
        for pool in self.functions.values() {
            let s = &pool.stats;
            let inits = s.inits.load(Ordering::Relaxed);
            let init_ms = s.init_micros.load(Ordering::Relaxed) as f64 / 1000.0;
            let _ = writeln!(
                out,
                "{:<13} {:>11} {:>6} {:>8} {:>9} {:>5} {:>12.1}",
                pool.spec.binary,
                s.invocations.load(Ordering::Relaxed),
                s.errors.load(Ordering::Relaxed),
                s.timeouts.load(Ordering::Relaxed),
                s.throttles.load(Ordering::Relaxed),
                inits,
                if inits == 0 {
                    0.0
                } else {
                    init_ms / inits as f64
                }
            );
        }
        let c = &self.sfn.counts;
        let _ = write!(
            out,
            "executions: {} started, {} succeeded, {} failed",
            c.started.load(Ordering::Relaxed),
            c.succeeded.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed)
        );
        out
    }
}

fn provision(what: &str, endpoint: &str, e: impl std::fmt::Display) -> EmulateError {
    EmulateError::Provision {
        what: what.to_string(),
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    }
}

pub async fn start(config: EmulateConfig) -> Result<Emulation, EmulateError> {
    let template = Template::parse(TEMPLATE)?;
    let pseudo = Pseudo::default();
    let endpoint = config.aws_endpoint.clone();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new(pseudo.region.clone()))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "emulated",
            "emulated",
            None,
            None,
            "zts-emulate",
        ))
        .load()
        .await;

    // What CloudFormation would create before the functions exist.
    let probe = template.resolver(&config.parameters, pseudo.clone())?;
    let stage = probe.parameter("Stage").unwrap_or("dev").to_string();
    let secret_name = probe.resolve_property("CursorSecret", "Name")?;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret_value = format!(
        "{}{}",
        zts_domain::ProjectId::generate().as_str().replace('-', ""),
        zts_domain::ProjectId::generate().as_str().replace('-', "")
    );
    let secret_arn = match secrets
        .create_secret()
        .name(&secret_name)
        .secret_string(secret_value)
        .send()
        .await
    {
        Ok(out) => out.arn.unwrap_or_default(),
        // A second emulation on the same endpoint reuses the stage's secret.
        Err(_) => secrets
            .describe_secret()
            .secret_id(&secret_name)
            .send()
            .await
            .map_err(|e| provision("the cursor secret", &endpoint, e))?
            .arn
            .unwrap_or_default(),
    };
    let resolver = template
        .resolver(&config.parameters, pseudo.clone())?
        .with_physical("CursorSecret", &secret_arn);
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for table in template.resources_of("AWS::DynamoDB::Table") {
        let name = resolver.resolve_property(&table, "TableName")?;
        super::tables::create(&ddb, &template, &table, &name)
            .await
            .map_err(|e| provision(&format!("table {name}"), &endpoint, e))?;
    }
    if !config.api_keys.is_empty() {
        let keys = zts_aws::DynamoKeyStore::new(
            ddb.clone(),
            resolver.resolve_property("ApiKeysTable", "TableName")?,
        );
        for (owner, key) in &config.api_keys {
            let owner = zts_domain::Owner::parse(owner).ok_or_else(|| {
                provision("an API key", &endpoint, format!("invalid owner {owner:?}"))
            })?;
            keys.put_key(ApiKeyRecord {
                key_hash: auth::hash(key),
                owner,
                status: KeyStatus::Active,
                limits: None,
                created_at: zts_domain::clock::now(),
                expires_at: None,
                revoked_at: None,
            })
            .await
            .map_err(|e| provision("an API key", &endpoint, e))?;
        }
    }

    // Step Functions' endpoint first: the functions' SDK is pointed at it.
    let sfn_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| EmulateError::Listen {
            addr: config.addr,
            reason: e.to_string(),
        })?;
    let sfn_url = format!(
        "http://{}",
        sfn_listener
            .local_addr()
            .map_err(|e| EmulateError::Listen {
                addr: config.addr,
                reason: e.to_string(),
            })?
    );
    // The documented overrides (README: zts emulate): endpoints, dummy credentials.
    let extra_env = BTreeMap::from([
        ("AWS_ENDPOINT_URL".to_string(), endpoint.clone()),
        ("AWS_ENDPOINT_URL_SFN".into(), sfn_url),
        ("AWS_ACCESS_KEY_ID".into(), "emulated".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "emulated".into()),
        ("AWS_REGION".into(), pseudo.region.clone()),
        ("AWS_DEFAULT_REGION".into(), pseudo.region.clone()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]);
    let mut functions = BTreeMap::new();
    let mut by_arn = BTreeMap::new();
    for spec in resolver.functions()? {
        let bootstrap = config.functions.bootstrap(&spec.binary);
        if !bootstrap.exists() {
            return Err(EmulateError::MissingPackage(
                bootstrap.display().to_string(),
            ));
        }
        let arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            pseudo.region, pseudo.account, spec.name
        );
        let logical = spec.logical_id.clone();
        let pool = FunctionPool::new(
            spec,
            Launch {
                bootstrap,
                extra_env: extra_env.clone(),
                max_processes: config.max_processes,
            },
        );
        by_arn.insert(arn, pool.clone());
        functions.insert(logical, pool);
    }
    let machine = template
        .resources_of("AWS::Serverless::StateMachine")
        .into_iter()
        .next()
        .ok_or_else(|| TemplateError::Parse("no AWS::Serverless::StateMachine".into()))?;
    let sfn = Arc::new(StepFunctionsEmulator::from_template(
        &resolver,
        &machine,
        crate::STATE_MACHINE,
        Arc::new(EmulatedFunctions::new(by_arn)),
    )?);
    let mut tasks = Vec::new();
    let router = sfn.clone().router();
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(sfn_listener, router).await;
    }));
    let http_api = template
        .resources_of("AWS::Serverless::HttpApi")
        .into_iter()
        .next()
        .unwrap_or_else(|| "HttpApi".to_string());
    let http = HttpApiEmulator::new(routes(&template), functions.clone(), api_id(&http_api));
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| EmulateError::Listen {
            addr: config.addr,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| EmulateError::Listen {
        addr: config.addr,
        reason: e.to_string(),
    })?;
    let app = http.router();
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    }));
    Ok(Emulation {
        base_url: format!("http://{addr}"),
        stage,
        functions,
        sfn,
        tasks,
    })
}
