//! Bytes a process has caused to be written to storage, read from `/proc/<pid>/io`, so a
//! benchmark can print what a project costs the disk (WAL frames, checkpoints and all),
//! not only what the store was asked to write.

/// `write_bytes` of process `pid` (`None`: this process), or `None` where there is no
/// such process, no `/proc`, or no permission to read it.
pub fn storage_write_bytes(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/io"),
        None => "/proc/self/io".to_string(),
    };
    parse_io(&std::fs::read_to_string(path).ok()?)
}

/// The `write_bytes:` line of a `/proc/<pid>/io` file. (`wchar` would count socket
/// writes too; `write_bytes` is what reached the block layer.)
fn parse_io(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("write_bytes:"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_storage_line_not_the_character_count() {
        let text = "rchar: 10\nwchar: 999\nsyscr: 1\nsyscw: 2\nread_bytes: 0\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        assert_eq!(parse_io(text), Some(8192));
        assert_eq!(parse_io("wchar: 5\n"), None);
    }

    #[test]
    fn this_process_can_read_its_own_counter() {
        assert!(storage_write_bytes(None).is_some());
        assert_eq!(storage_write_bytes(Some(u32::MAX)), None, "no such process");
    }
}
