//! The project commands: flags, what each prints, and its exit code — 0 when the command
//! did what was asked (for `--watch` and `watch`: the run COMPLETED), 1 when a watched run
//! FAILED or was CANCELLED, 2 when the command could not be carried out (endpoint, key,
//! input, a state that does not allow it).

use super::follow::{self, Note};
use super::{Client, ClientError, summary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the API is and the key to call it with.
#[derive(clap::Args, Debug, Clone)]
pub struct Target {
    /// The API's URL: the local stack's, or a deployment's HttpApiUrl output.
    #[arg(long, default_value = "http://127.0.0.1:3000", env = "ZTS_ENDPOINT")]
    pub endpoint: String,
    /// The API key to call it with (the key `zts serve` printed when it first started, or
    /// one from `zts keys create`).
    #[arg(long, env = "ZTS_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

impl Target {
    fn client(&self) -> Result<Client, ClientError> {
        Client::new(&self.endpoint, self.api_key.as_deref())
    }
}

/// The idea, from flags or a JSON file.
#[derive(clap::Args, Debug, Clone)]
pub struct IdeaArgs {
    /// The idea's name (1–120 characters).
    #[arg(long, required_unless_present = "file", conflicts_with = "file")]
    pub name: Option<String>,
    /// The problem, who has it, and what you would build (up to 5,000 characters).
    #[arg(long, conflicts_with = "file")]
    pub description: Option<String>,
    /// What would prove it, with a number (up to 2,000 characters).
    #[arg(long, conflicts_with = "file")]
    pub hypothesis: Option<String>,
    /// A target customer (repeat for more, up to 10).
    #[arg(long = "avatar", conflicts_with = "file")]
    pub avatars: Vec<String>,
    /// The whole idea as JSON: {"name", "description", "hypothesis", "target_avatars"}.
    #[arg(long)]
    pub file: Option<PathBuf>,
}

/// Why `--file` gave no idea.
#[derive(Debug, thiserror::Error)]
pub enum IdeaFileError {
    #[error("could not read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not JSON: {source}", path.display())]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl IdeaArgs {
    fn body(&self) -> Result<Value, IdeaFileError> {
        if let Some(path) = &self.file {
            let text = std::fs::read_to_string(path).map_err(|source| IdeaFileError::Read {
                path: path.clone(),
                source,
            })?;
            return serde_json::from_str(&text).map_err(|source| IdeaFileError::NotJson {
                path: path.clone(),
                source,
            });
        }
        let mut body = json!({"name": self.name});
        if let Some(d) = &self.description {
            body["description"] = json!(d);
        }
        if let Some(h) = &self.hypothesis {
            body["hypothesis"] = json!(h);
        }
        if !self.avatars.is_empty() {
            body["target_avatars"] = json!(self.avatars);
        }
        Ok(body)
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("zts: {e}");
    ExitCode::from(2)
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// `zts new`: submits an idea; with `--watch`, follows it to the end.
pub async fn new(target: &Target, idea: &IdeaArgs, watch: bool, json: bool) -> ExitCode {
    let body = match idea.body() {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let created = match client.create(&body).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let id = created["project_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !watch {
        if json {
            print_json(&created);
        } else {
            println!("{id}");
            eprintln!("submitted; follow it with: zts watch {id}");
        }
        return ExitCode::SUCCESS;
    }
    eprintln!("submitted {id}");
    watch_run(&client, &id, 0, json).await
}

/// `zts watch`: follows a run from `after_seq` to its end, then prints the project.
pub async fn watch(target: &Target, id: &str, after_seq: u64, json: bool) -> ExitCode {
    match target.client() {
        Ok(client) => watch_run(&client, id, after_seq, json).await,
        Err(e) => fail(e),
    }
}

async fn watch_run(client: &Client, id: &str, after_seq: u64, json: bool) -> ExitCode {
    let progress = Progress::new();
    let ended = follow::follow(
        client,
        id,
        after_seq,
        |event| progress.event(event),
        |note| progress.note(&note),
    )
    .await;
    progress.finish();
    if let Err(e) = ended {
        return fail(e);
    }
    let project = match client.project(id).await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if json {
        print_json(&project);
    } else {
        print!("{}", summary::project(&project));
    }
    if project["state"] == "COMPLETED" {
        ExitCode::SUCCESS
    } else {
        match summary::failure(&project) {
            Some(reason) => eprintln!("zts: the run {}: {reason}", text_state(&project)),
            None => eprintln!("zts: the run {}", text_state(&project)),
        }
        ExitCode::from(1)
    }
}

fn text_state(project: &Value) -> String {
    project["state"].as_str().unwrap_or("ended").to_lowercase()
}

/// What a read command prints: the API's answer as JSON, or `render` of it.
async fn show(
    target: &Target,
    json: bool,
    read: impl AsyncFnOnce(Client) -> Result<Value, ClientError>,
    render: fn(&Value) -> String,
) -> ExitCode {
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match read(client).await {
        Ok(value) if json => {
            print_json(&value);
            ExitCode::SUCCESS
        }
        Ok(value) => {
            print!("{}", render(&value));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `zts retry`: a FAILED project's next run, from the step that failed; with `--watch`,
/// follows it from the retry's first event to the end.
pub async fn retry(target: &Target, id: &str, watch: bool, json: bool) -> ExitCode {
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // A FAILED project emits nothing until it is retried: the new run's events follow this.
    let after_seq = match client.last_seq(id).await {
        Ok(seq) => seq,
        Err(e) => return fail(e),
    };
    let retried = match client.retry(id).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if !watch {
        if json {
            print_json(&retried);
        } else {
            println!("{id} run {}", retried["run"]);
            eprintln!("retried; follow it with: zts watch {id} --after-seq {after_seq}");
        }
        return ExitCode::SUCCESS;
    }
    eprintln!("retried {id} (run {})", retried["run"]);
    watch_run(&client, id, after_seq, json).await
}

/// `zts cancel`: ends a run that has not finished.
pub async fn cancel(target: &Target, id: &str, json: bool) -> ExitCode {
    show(
        target,
        json,
        async |c| c.cancel(id).await,
        |s| format!("{}\n", summary::status_line(s)),
    )
    .await
}

/// `zts export`: everything stored about a project, as one JSON document, to `out` (or
/// standard output).
pub async fn export(target: &Target, id: &str, out: Option<&std::path::Path>) -> ExitCode {
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let export = match client.export(id).await {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let text = serde_json::to_string_pretty(&export).unwrap_or_default();
    match out {
        None => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(path, text + "\n") {
            Ok(()) => {
                eprintln!(
                    "wrote {} ({} events)",
                    path.display(),
                    export["events"].as_array().map_or(0, Vec::len)
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("could not write {}: {e}", path.display())),
        },
    }
}

/// `zts delete`: the project and everything about it, for good.
pub async fn delete(target: &Target, id: &str) -> ExitCode {
    let client = match target.client() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match client.delete(id).await {
        Ok(_) => {
            eprintln!("deleted {id}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

/// `zts status`: one line.
pub async fn status(target: &Target, id: &str, json: bool) -> ExitCode {
    show(
        target,
        json,
        async |c| c.status(id).await,
        |s| format!("{}\n", summary::status_line(s)),
    )
    .await
}

/// `zts get`: the project and its artifacts.
pub async fn get(target: &Target, id: &str, json: bool) -> ExitCode {
    show(
        target,
        json,
        async |c| c.project(id).await,
        summary::project,
    )
    .await
}

/// `zts list`: a page of the caller's projects.
pub async fn list(target: &Target, limit: u32, cursor: Option<&str>, json: bool) -> ExitCode {
    show(
        target,
        json,
        async |c| c.list(limit, cursor).await,
        summary::list,
    )
    .await
}

/// A progress bar on a terminal; plain lines on stderr otherwise (a pipe, a CI log), so
/// what happened is visible either way.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message("connecting…");
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar }
    }

    fn line(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    fn event(&self, event: &Value) {
        if let Some(p) = event["progress"].as_u64() {
            self.bar.set_position(p);
        }
        if event["event"] == "status_update" {
            self.bar
                .set_message(event["state"].as_str().unwrap_or_default().to_string());
        }
        self.line(&summary::event_line(event));
    }

    fn note(&self, note: &Note) {
        match note {
            Note::Live { .. } => {}
            Note::Reconnecting { after, reason } => self.line(&format!(
                "connection lost ({reason}); reconnecting in {:.1} s",
                after.as_secs_f64()
            )),
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
