//! CPU time a process has used (user + system, all its threads), read from
//! `/proc/<pid>/stat`, so a benchmark can print the server's and its own cost per project.

use std::time::Duration;

/// `USER_HZ`: the unit of `/proc/<pid>/stat`'s times. The kernel fixes it at 100 for
/// user space on every architecture Linux runs this project on (x86-64, arm64).
const TICKS_PER_SECOND: u64 = 100;

/// The CPU time of process `pid` (`None`: this process) so far, or `None` where there is
/// no such process or no `/proc`.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field
/// 2) is in parentheses and may itself hold spaces or parentheses, so fields are counted
/// from the last `)`.
fn parse_stat(line: &str) -> Option<Duration> {
    let after_name = &line[line.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_time_past_an_awkward_command_name() {
        let line = "4242 (zts (serve) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 731 219 0 0 20 0 3 0 99 0 0";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(9_500)));
        assert_eq!(parse_stat("4242 (zts) S 1"), None);
    }

    #[test]
    fn this_process_time_grows_while_it_computes() {
        let before = cpu_time(None).expect("/proc/self/stat");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut x = 0u64;
        while cpu_time(None).expect("readable") < before + Duration::from_millis(50) {
            assert!(std::time::Instant::now() < deadline, "no CPU time counted");
            for i in 0..100_000u64 {
                x = x.wrapping_mul(31).wrapping_add(i);
            }
        }
        std::hint::black_box(x);
        assert_eq!(cpu_time(Some(u32::MAX)), None, "no such process");
    }
}
