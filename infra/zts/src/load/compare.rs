//! `zts load --beside URL --beside-pid PID`: the Python prototype measured first, then the
//! local stack, with the same generator in one invocation, and the ratios printed, so a
//! side-by-side figure (README: Benchmark) comes from one command rather than two runs put
//! together by hand.

use crate::load::Report;
use std::fmt;

/// The two reports of one side-by-side run.
#[derive(Debug, Clone)]
pub struct SideBySide {
    pub prototype: Report,
    pub stack: Report,
}

impl SideBySide {
    /// The stack's throughput over the prototype's.
    pub fn throughput_ratio(&self) -> f64 {
        self.stack.throughput() / self.prototype.throughput().max(1e-9)
    }

    /// The stack's server CPU per project over the prototype's, when both were measured.
    pub fn cpu_ratio(&self) -> Option<f64> {
        let stack = self.stack.per_project_ms(self.stack.server_cpu)?;
        let prototype = self.prototype.per_project_ms(self.prototype.server_cpu)?;
        (prototype > 0.0).then(|| stack / prototype)
    }

    /// Whether the stack's p99 is below the prototype's p50.
    pub fn p99_below_prototype_p50(&self) -> bool {
        self.stack.percentile(99.0) < self.prototype.percentile(50.0)
    }

    pub fn clean(&self) -> bool {
        [&self.prototype, &self.stack]
            .iter()
            .all(|r| r.failed == 0 && r.lost_events == 0 && r.duplicate_events == 0)
    }
}

impl fmt::Display for SideBySide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |r: &Report, p: f64| r.percentile(p).as_secs_f64() * 1000.0;
        writeln!(f, "== the prototype (--beside)\n{}", self.prototype)?;
        writeln!(f, "== the stack\n{}", self.stack)?;
        let cpu = match self.cpu_ratio() {
            Some(ratio) => format!("×{ratio:.2}"),
            None => "not measured (give both pids)".to_string(),
        };
        write!(
            f,
            "stack ÷ prototype: throughput ×{:.2}, server CPU per project {}, p99 {:.1} ms {} the prototype's p50 {:.1} ms",
            self.throughput_ratio(),
            cpu,
            ms(&self.stack, 99.0),
            if self.p99_below_prototype_p50() {
                "below"
            } else {
                "not below"
            },
            ms(&self.prototype, 50.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report(completed: usize, seconds: u64, cpu_ms: u64, latencies_ms: &[u64]) -> Report {
        Report {
            projects: completed,
            concurrency: 1,
            elapsed: Duration::from_secs(seconds),
            completed,
            failed: 0,
            lost_events: 0,
            duplicate_events: 0,
            latencies: latencies_ms
                .iter()
                .map(|&ms| Duration::from_millis(ms))
                .collect(),
            server_cpu: Some(Duration::from_millis(cpu_ms)),
            generator_cpu: None,
            store: None,
            server_storage_bytes: None,
        }
    }

    #[test]
    fn ratios_are_the_stacks_figures_over_the_prototypes() {
        let both = SideBySide {
            prototype: report(100, 2, 200, &[50, 60, 70, 80]),
            stack: report(100, 1, 100, &[10, 20, 30, 45]),
        };
        assert!((both.throughput_ratio() - 2.0).abs() < 1e-9);
        assert!((both.cpu_ratio().unwrap() - 0.5).abs() < 1e-9);
        assert!(both.p99_below_prototype_p50(), "45 ms < 60 ms");
        let printed = both.to_string();
        assert!(printed.contains("throughput ×2.00"), "{printed}");
        assert!(printed.contains("per project ×0.50"), "{printed}");
        assert!(printed.contains("below the prototype's p50"), "{printed}");
        assert!(both.clean());

        let mut slow = both.clone();
        slow.stack = report(100, 1, 100, &[10, 20, 30, 65]);
        slow.prototype.server_cpu = None;
        slow.stack.lost_events = 1;
        assert!(!slow.p99_below_prototype_p50());
        assert_eq!(slow.cpu_ratio(), None);
        assert!(slow.to_string().contains("not below"));
        assert!(!slow.clean(), "a lost event fails the run");
    }
}
