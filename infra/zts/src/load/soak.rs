//! `zts load --soak SECONDS`: the same run repeated back to back until the time is up,
//! the server's resident memory read after every round, so a reader sees whether memory
//! grows once the server is warm (README: Benchmark). Each round's projects stay stored,
//! so the store grows through the soak while the server's memory should not.

use crate::load::{self, Report, Watch};
use std::time::{Duration, Instant};

/// One round's result and the server's memory right after it.
#[derive(Debug, Clone)]
pub struct Round {
    pub report: Report,
    pub resident_bytes: u64,
}

/// What a soak saw: every round, and the server's peak resident memory.
#[derive(Debug, Clone)]
pub struct Soak {
    pub rounds: Vec<Round>,
    pub peak_resident_bytes: u64,
}

impl Soak {
    /// Resident memory after the first round (warm: caches filled, pools grown) and the
    /// most it reached after any later round: their difference is the growth once warm.
    pub fn growth_after_warm_up(&self) -> Option<(u64, u64)> {
        let warm = self.rounds.first()?.resident_bytes;
        let later = self.rounds.iter().skip(1).map(|r| r.resident_bytes).max()?;
        Some((warm, later))
    }

    pub fn clean(&self) -> bool {
        self.rounds
            .iter()
            .all(|r| r.report.failed == 0 && r.report.lost_events == 0)
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Repeats the run until `duration` has passed (at least one round), printing a line per
/// round as it ends.
pub async fn run(
    url: &str,
    api_key: &str,
    projects: usize,
    concurrency: usize,
    watch: Watch,
    server_pid: u32,
    duration: Duration,
) -> Result<Soak, load::LoadError> {
    let started = Instant::now();
    let mut rounds = Vec::new();
    while rounds.is_empty() || started.elapsed() < duration {
        let report =
            load::run_measured(url, api_key, projects, concurrency, watch, Some(server_pid))
                .await?;
        let resident_bytes = super::memory::resident_bytes(server_pid)
            .ok_or(load::LoadError::NoMemoryReading(server_pid))?;
        println!(
            "round {:>3} at {:>4.0} s: {:.0} projects/s, p99 {:.0} ms, {} failed, {} lost, {} duplicated, server {:.3} ms CPU/project, resident {:.1} MiB",
            rounds.len() + 1,
            started.elapsed().as_secs_f64(),
            report.throughput(),
            report.percentile(99.0).as_secs_f64() * 1000.0,
            report.failed,
            report.lost_events,
            report.duplicate_events,
            report.per_project_ms(report.server_cpu).unwrap_or(f64::NAN),
            mib(resident_bytes),
        );
        rounds.push(Round {
            report,
            resident_bytes,
        });
    }
    // The kernel updates VmHWM lazily (its RSS counters are cached per CPU), so it can read
    // a few pages below a VmRSS read earlier: the peak is the larger of the two.
    let seen = rounds.iter().map(|r| r.resident_bytes).max().unwrap_or(0);
    let peak_resident_bytes = super::memory::peak_resident_bytes(server_pid)
        .unwrap_or(0)
        .max(seen);
    Ok(Soak {
        rounds,
        peak_resident_bytes,
    })
}

impl std::fmt::Display for Soak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let projects: usize = self.rounds.iter().map(|r| r.report.completed).sum();
        writeln!(
            f,
            "soak          {} rounds, {} projects completed",
            self.rounds.len(),
            projects
        )?;
        match self.growth_after_warm_up() {
            Some((warm, later)) => write!(
                f,
                "memory        resident {:.1} MiB after round 1, at most {:.1} MiB after any later round ({:+.1} MiB); peak {:.1} MiB",
                mib(warm),
                mib(later),
                mib(later) - mib(warm),
                mib(self.peak_resident_bytes)
            ),
            None => write!(
                f,
                "memory        one round only: resident {:.1} MiB; peak {:.1} MiB",
                self.rounds.first().map_or(0.0, |r| mib(r.resident_bytes)),
                mib(self.peak_resident_bytes)
            ),
        }
    }
}
