//! The emulated deployment assembled (feature `aws`: it creates what CloudFormation would —
//! the tables and the cursor secret — on a DynamoDB/Secrets Manager endpoint, moto): every
//! function of the template as a pool of its packaged `bootstrap`, Step Functions, the
//! stream mappings, and the HTTP and WebSocket APIs on one address (README: `zts emulate`).

use super::http_api::{HttpApiEmulator, routes};
use super::iam::Gate;
use super::runtime::{FunctionPool, Launch};
use super::schedule::Schedule;
use super::states::{EmulatedFunctions, StepFunctionsEmulator};
use super::stream::{StreamMapping, StreamPoller};
use super::template::{Pseudo, TEMPLATE, Template, TemplateError, api_id};
use super::websocket::{ConnectionLimits, WebSocketEmulator, WebSocketSpec};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Debug, Clone)]
pub struct EmulateConfig {
    /// Where the HTTP API listens.
    pub addr: SocketAddr,
    /// Each function's package: `<dir>/<binary>/bootstrap` (what `infra/scripts/package.sh`
    /// builds).
    pub functions: FunctionsDir,
    /// The DynamoDB and Secrets Manager endpoint (moto).
    pub aws_endpoint: String,
    /// Template parameters that differ from their defaults.
    pub parameters: BTreeMap<String, String>,
    /// API keys to register in the emulated ApiKeys table: (owner, key, limits; None: the
    /// template's defaults).
    pub api_keys: Vec<(String, String, Option<zts_domain::auth::Limits>)>,
    /// Most processes per function.
    pub max_processes: usize,
    /// The WebSocket API's idle and age limits (API Gateway's by default).
    pub connection_limits: ConnectionLimits,
    /// Scheduled functions run at this period instead of their schedule's (None: as the
    /// template says).
    pub schedule_every: Option<std::time::Duration>,
    /// Meter every DynamoDB call's units (meter.rs) for `zts cost`. Off unless counting:
    /// the meter reads each item a write changes, around the write, which adds to the
    /// functions' durations.
    pub meter_dynamodb: bool,
}

#[derive(Debug, Clone)]
pub enum FunctionsDir {
    Packages(PathBuf),
}

impl FunctionsDir {
    fn bootstrap(&self, binary: &str) -> PathBuf {
        match self {
            FunctionsDir::Packages(dir) => dir.join(binary).join("bootstrap"),
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
    /// The default workflow's state machine.
    pub sfn: Arc<StepFunctionsEmulator>,
    /// Every workflow's state machine (the default's too).
    pub state_machines: Vec<Arc<StepFunctionsEmulator>>,
    /// The HTTP API.
    pub http: Arc<HttpApiEmulator>,
    /// Every function's DynamoDB read and write units (meter.rs).
    pub dynamodb: Arc<super::meter::DynamoMeter>,
    /// The WebSocket API, when the template has one: `ws://…/<stage>`.
    pub websocket: Option<Arc<WebSocketEmulator>>,
    /// Each stream event source mapping's poller.
    pub streams: Vec<Arc<StreamPoller>>,
    /// Each function's emulated IAM for DynamoDB, by logical id: what it asked for and
    /// what its role refused.
    pub iam: BTreeMap<String, Arc<Gate>>,
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
            "function      invocations errors retries timeouts throttles inits init-ms(avg) run-ms(avg)\n",
        );
        let avg_ms = |micros: u64, n: u64| {
            if n == 0 {
                0.0
            } else {
                micros as f64 / 1000.0 / n as f64
            }
        };
        for pool in self.functions.values() {
            let s = &pool.stats;
            let _ = writeln!(
                out,
                "{:<13} {:>11} {:>6} {:>7} {:>8} {:>9} {:>5} {:>12.1} {:>11.1}",
                pool.spec.binary,
                s.invocations.load(Ordering::Relaxed),
                s.errors.load(Ordering::Relaxed),
                s.retries.load(Ordering::Relaxed),
                s.timeouts.load(Ordering::Relaxed),
                s.throttles.load(Ordering::Relaxed),
                s.inits.load(Ordering::Relaxed),
                avg_ms(
                    s.init_micros.load(Ordering::Relaxed),
                    s.inits.load(Ordering::Relaxed)
                ),
                avg_ms(
                    s.run_micros.load(Ordering::Relaxed),
                    s.runs.load(Ordering::Relaxed)
                ),
            );
        }
        if let Some(ws) = &self.websocket {
            let c = &ws.counts;
            let _ = writeln!(
                out,
                "websocket: {} connected, {} refused, {} messages, {} pushes, {} gone",
                c.connects.load(Ordering::Relaxed),
                c.refused.load(Ordering::Relaxed),
                c.messages.load(Ordering::Relaxed),
                c.pushes.load(Ordering::Relaxed),
                c.gone.load(Ordering::Relaxed)
            );
        }
        for poller in &self.streams {
            let c = &poller.counts;
            let _ = writeln!(
                out,
                "stream → {}: {} records read, {} filtered out, {} batches, {} retries, {} bisects, {} records to the on-failure destination",
                poller.mapping.function,
                c.records_read.load(Ordering::Relaxed),
                c.records_filtered_out.load(Ordering::Relaxed),
                c.batches.load(Ordering::Relaxed),
                c.retries.load(Ordering::Relaxed),
                c.bisects.load(Ordering::Relaxed),
                c.records_sent_to_failure.load(Ordering::Relaxed)
            );
        }
        let total = |pick: fn(&super::states::ExecutionCounts) -> &std::sync::atomic::AtomicU64| {
            self.state_machines
                .iter()
                .map(|m| pick(&m.counts).load(Ordering::Relaxed))
                .sum::<u64>()
        };
        let _ = write!(
            out,
            "executions: {} started, {} succeeded, {} failed",
            total(|c| &c.started),
            total(|c| &c.succeeded),
            total(|c| &c.failed)
        );
        out
    }
}

pub(crate) fn provision_failed(
    what: &str,
    endpoint: &str,
    e: impl std::fmt::Display,
) -> EmulateError {
    EmulateError::Provision {
        what: what.to_string(),
        endpoint: endpoint.to_string(),
        reason: e.to_string(),
    }
}

/// Starts the emulated deployment: creates what CloudFormation would (`provision.rs`),
/// then the functions, the state machines, the stream mappings, the schedules and the two
/// APIs on one address.
pub async fn start(config: EmulateConfig) -> Result<Emulation, EmulateError> {
    let template = Template::parse(TEMPLATE)?;
    let pseudo = Pseudo::default();
    let endpoint = config.aws_endpoint.clone();
    let sdk = sdk_config(&endpoint, &pseudo.region).await;
    let made = super::provision::provision(&config, &template, &pseudo, &sdk).await?;
    let listeners = Listeners::bind(config.addr).await?;
    let functions = launch_functions(&config, &template, &pseudo, &made, &listeners).await?;
    let by_function_arn = Arc::new(EmulatedFunctions::new(functions.by_arn));
    let state_machines = template
        .resources_of("AWS::Serverless::StateMachine")
        .into_iter()
        .map(|id| {
            StepFunctionsEmulator::from_template(&made.resolver, &id, by_function_arn.clone())
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The default workflow's machine: the one whose counts the summary and tests read.
    let default = zts_domain::workflows::Workflow::default_workflow();
    let sfn = state_machines
        .iter()
        .find(|m| m.workflow() == default.name)
        .cloned()
        .ok_or_else(|| TemplateError::Parse("no state machine for the default workflow".into()))?;
    let mut tasks = Vec::new();
    let router = super::states::router(state_machines.clone());
    let sfn_listener = listeners.sfn;
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(sfn_listener, router).await;
    }));
    let http_api = template
        .resources_of("AWS::Serverless::HttpApi")
        .into_iter()
        .next()
        .unwrap_or_else(|| "HttpApi".to_string());
    let pools = functions.by_logical_id;
    let http = HttpApiEmulator::new(routes(&template), pools.clone(), api_id(&http_api));
    let websocket = WebSocketSpec::from_template(&template)?.map(|spec| {
        WebSocketEmulator::new(
            api_id(&spec.logical_id),
            made.stage.clone(),
            spec,
            pools.clone(),
            config.connection_limits,
        )
    });
    let streams = start_streams(&template, &pseudo, &made, &pools, &mut tasks).await?;
    for schedule in Schedule::from_template(&template)? {
        if let Some(function) = pools.get(&schedule.function).cloned() {
            tasks.push(schedule.run(
                function,
                config.schedule_every,
                pseudo.region.clone(),
                pseudo.account.clone(),
            ));
        }
    }
    let app = match &websocket {
        Some(ws) => ws.clone().router().merge(http.clone().router()),
        None => http.clone().router(),
    };
    let listener = listeners.api;
    tasks.push(tokio::spawn(async move {
        // Small WebSocket frames must not wait on Nagle's algorithm (see server.rs).
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    }));
    Ok(Emulation {
        base_url: format!("http://{}", listeners.addr),
        stage: made.stage,
        functions: pools,
        sfn,
        state_machines,
        http,
        dynamodb: made.meter,
        websocket,
        streams,
        iam: functions.iam,
        tasks,
    })
}

/// The emulation's own SDK configuration: the endpoint (moto), the template's region and
/// dummy credentials.
async fn sdk_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(zts_aws::http::https_client())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "emulated",
            "emulated",
            None,
            None,
            "zts-emulate",
        ))
        .load()
        .await
}

/// The two APIs' address and Step Functions' own (the functions' SDK is pointed at it).
struct Listeners {
    api: tokio::net::TcpListener,
    addr: SocketAddr,
    sfn: tokio::net::TcpListener,
    sfn_url: String,
}

impl Listeners {
    async fn bind(at: SocketAddr) -> Result<Self, EmulateError> {
        let failed = |e: std::io::Error| EmulateError::Listen {
            addr: at,
            reason: e.to_string(),
        };
        let api = tokio::net::TcpListener::bind(at).await.map_err(failed)?;
        let addr = api.local_addr().map_err(failed)?;
        let sfn = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(failed)?;
        let sfn_url = format!("http://{}", sfn.local_addr().map_err(failed)?);
        Ok(Listeners {
            api,
            addr,
            sfn,
            sfn_url,
        })
    }
}

/// Every function of the template as a pool of its package, each behind its IAM gate.
struct Launched {
    by_logical_id: BTreeMap<String, Arc<FunctionPool>>,
    by_arn: BTreeMap<String, Arc<FunctionPool>>,
    iam: BTreeMap<String, Arc<Gate>>,
}

async fn launch_functions(
    config: &EmulateConfig,
    template: &Template,
    pseudo: &Pseudo,
    made: &super::provision::Provisioned<'_>,
    listeners: &Listeners,
) -> Result<Launched, EmulateError> {
    let endpoint = &config.aws_endpoint;
    // The documented overrides (README: zts emulate): endpoints, dummy credentials.
    let extra_env = BTreeMap::from([
        ("AWS_ENDPOINT_URL".to_string(), endpoint.clone()),
        ("AWS_ENDPOINT_URL_SFN".into(), listeners.sfn_url.clone()),
        ("AWS_ACCESS_KEY_ID".into(), "emulated".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "emulated".into()),
        ("AWS_REGION".into(), pseudo.region.clone()),
        ("AWS_DEFAULT_REGION".into(), pseudo.region.clone()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ]);
    // The APIs' URLs (`https://{api id}.execute-api.{region}.amazonaws.com/…`, as the
    // template builds them) point at this address: the one documented rewrite of a value
    // the template gives (README: zts emulate).
    let api_hosts: Vec<String> = template
        .resources_of("AWS::ApiGatewayV2::Api")
        .into_iter()
        .chain(template.resources_of("AWS::Serverless::HttpApi"))
        .map(|id| {
            format!(
                "{}.execute-api.{}.amazonaws.com",
                api_id(&id),
                pseudo.region
            )
        })
        .collect();
    let addr = listeners.addr;
    let local = |value: &str| -> String {
        for host in &api_hosts {
            for (scheme, local_scheme) in [("wss://", "ws://"), ("https://", "http://")] {
                if let Some(rest) = value.strip_prefix(&format!("{scheme}{host}")) {
                    return format!("{local_scheme}{addr}{rest}");
                }
            }
        }
        value.to_string()
    };
    let mut launched = Launched {
        by_logical_id: BTreeMap::new(),
        by_arn: BTreeMap::new(),
        iam: BTreeMap::new(),
    };
    for mut spec in made.resolver.functions()? {
        for value in spec.environment.values_mut() {
            *value = local(value);
        }
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
        // Its DynamoDB calls pass its own IAM gate (iam.rs), which holds them to its role.
        let gate = Gate::new(
            &spec.name,
            spec.dynamodb_grants.clone(),
            endpoint,
            &pseudo.region,
            &pseudo.account,
            config.meter_dynamodb.then(|| made.meter.clone()),
        );
        let gate_url = gate.serve().await.map_err(|e| EmulateError::Listen {
            addr: config.addr,
            reason: e.to_string(),
        })?;
        let mut function_env = extra_env.clone();
        function_env.insert("AWS_ENDPOINT_URL_DYNAMODB".into(), gate_url);
        launched.iam.insert(logical.clone(), gate);
        let pool = FunctionPool::new(
            spec,
            Launch {
                bootstrap,
                extra_env: function_env,
                max_processes: config.max_processes,
            },
        );
        launched.by_arn.insert(arn, pool.clone());
        launched.by_logical_id.insert(logical, pool);
    }
    Ok(launched)
}

/// Each stream event source mapping's poller, started.
async fn start_streams(
    template: &Template,
    pseudo: &Pseudo,
    made: &super::provision::Provisioned<'_>,
    pools: &BTreeMap<String, Arc<FunctionPool>>,
    tasks: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<Vec<Arc<StreamPoller>>, EmulateError> {
    let endpoint = &made.endpoint;
    let mut streams = Vec::new();
    for mapping in StreamMapping::from_template(template)? {
        let table = made
            .resolver
            .resolve_property(&mapping.table, "TableName")?;
        let stream_arn = made
            .ddb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .map_err(|e| provision_failed(&format!("the stream of {table}"), endpoint, e))?
            .table
            .and_then(|t| t.latest_stream_arn)
            .ok_or_else(|| {
                provision_failed(&format!("the stream of {table}"), endpoint, "no stream")
            })?;
        let Some(function) = pools.get(&mapping.function).cloned() else {
            continue;
        };
        let function_arn = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            pseudo.region, pseudo.account, function.spec.name
        );
        let queue = mapping
            .on_failure
            .as_ref()
            .and_then(|q| made.queue_urls.get(q).cloned());
        let poller = StreamPoller::new(
            mapping,
            function,
            function_arn,
            stream_arn,
            queue,
            made.moto.clone(),
        );
        tasks.push(poller.clone().start().await);
        streams.push(poller);
    }
    Ok(streams)
}
