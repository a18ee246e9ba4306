//! A process's resident memory, read from `/proc/<pid>/status`, so a soak run can show
//! whether the server's memory stays flat once warm (README: Benchmark).

/// `VmRSS` of process `pid`, in bytes, or `None` where there is no such process or no
/// `/proc`.
pub fn resident_bytes(pid: u32) -> Option<u64> {
    parse_status(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS:",
    )
}

/// `VmHWM` (the peak resident memory) of process `pid`, in bytes.
pub fn peak_resident_bytes(pid: u32) -> Option<u64> {
    parse_status(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmHWM:",
    )
}

/// The `kB` figure on the line starting with `field`, in bytes.
fn parse_status(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix(field))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_resident_and_peak_lines_in_bytes() {
        let text = "Name:\tzts\nVmPeak:\t  900000 kB\nVmHWM:\t   75152 kB\nVmRSS:\t   70316 kB\nThreads:\t7\n";
        assert_eq!(parse_status(text, "VmRSS:"), Some(70_316 * 1024));
        assert_eq!(parse_status(text, "VmHWM:"), Some(75_152 * 1024));
        assert_eq!(parse_status("Name:\tzts\n", "VmRSS:"), None);
    }

    #[test]
    fn this_process_is_resident() {
        let me = std::process::id();
        let rss = resident_bytes(me).expect("/proc/self/status");
        assert!(rss > 0 && peak_resident_bytes(me).expect("VmHWM") >= rss);
        assert_eq!(resident_bytes(u32::MAX), None);
    }
}
