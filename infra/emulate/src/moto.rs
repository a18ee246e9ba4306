//! The moto server `zts emulate` starts when no `--dynamodb-endpoint` is given: on a free
//! loopback port, stopped with the emulation. The program is `ZTS_MOTO_SERVER`, else the
//! checkout's `target/tools/bin/moto_server` (installed by `infra/scripts/tools.sh`, which
//! is run for it when it is missing and the script is there), else `moto_server` on PATH.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// How long moto may take to answer after it starts.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Why moto could not be found or started.
#[derive(Debug, thiserror::Error)]
pub enum MotoError {
    #[error(
        "moto_server was not found: set ZTS_MOTO_SERVER, put moto_server on PATH \
         (pip install 'moto[server]'), run from the checkout (infra/scripts/tools.sh installs \
         it), or pass --dynamodb-endpoint"
    )]
    NotFound,
    #[error("running {script}: {source}")]
    Install {
        script: PathBuf,
        source: std::io::Error,
    },
    #[error("no free loopback port: {0}")]
    NoPort(std::io::Error),
    #[error("starting {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{program} did not answer within {within:?}")]
    NotReady { program: PathBuf, within: Duration },
}

pub struct MotoServer {
    pub url: String,
    _child: tokio::process::Child,
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Where moto_server is, installing it into the checkout's tools when that is how this
/// checkout gets it.
pub fn find() -> Result<PathBuf, MotoError> {
    if let Some(p) = std::env::var_os("ZTS_MOTO_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let tools = Path::new("target/tools/bin/moto_server");
    if tools.is_file() {
        return Ok(tools.to_path_buf());
    }
    if let Some(p) = on_path("moto_server") {
        return Ok(p);
    }
    let script = Path::new("infra/scripts/tools.sh");
    if script.is_file() {
        eprintln!("zts emulate: installing moto (bash infra/scripts/tools.sh), once");
        let status = std::process::Command::new("bash")
            .arg(script)
            .stdout(Stdio::null())
            .status()
            .map_err(|source| MotoError::Install {
                script: script.to_path_buf(),
                source,
            })?;
        if status.success() && tools.is_file() {
            return Ok(tools.to_path_buf());
        }
    }
    Err(MotoError::NotFound)
}

impl MotoServer {
    /// Starts `program` on a free loopback port and waits until it answers.
    pub async fn start(program: &Path) -> Result<MotoServer, MotoError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(MotoError::NoPort)?
            .port();
        let child = tokio::process::Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // moto's Step Functions calls Lambda on its own port.
            .env("MOTO_PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| MotoError::Spawn {
                program: program.to_path_buf(),
                source,
            })?;
        let url = format!("http://127.0.0.1:{port}");
        let server = MotoServer { url, _child: child };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        while tokio::time::Instant::now() < deadline {
            let probe = http.get(format!("{}/moto-api/", server.url)).send().await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(MotoError::NotReady {
            program: program.to_path_buf(),
            within: READY_WITHIN,
        })
    }
}
