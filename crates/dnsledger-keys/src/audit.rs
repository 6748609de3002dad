//! `DIR/audit/audit.log`: who asked what, one JSON line per answered request, rotated by size.

use std::fs::{self, DirBuilder, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::error::KeyError;
use crate::fsutil::private_options;

const AUDIT_DIR: &str = "audit";
const FILE_NAME: &str = "audit.log";
const DEFAULT_MAX_BYTES: u64 = 64 << 20;
const DEFAULT_KEEP: usize = 8;

/// One audited request; a line holds these fields in this order.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry<'a> {
    /// Epoch seconds.
    pub time: i64,
    /// The key's name.
    pub key: &'a str,
    /// The request path, e.g. `/dnsdb/v2/lookup/rrset/name/example.com`.
    pub endpoint: &'a str,
    /// The query string or the query's parameters, as the server chooses to render them.
    pub query: &'a str,
    /// Rows answered.
    pub rows: u64,
    /// HTTP status.
    pub status: u16,
}

/// The audit log. `Send + Sync`; lines from concurrent requests never interleave. Lines are
/// not synced one by one: a crash may lose the last few, which the cost of a sync per request
/// would not justify.
pub struct AuditLog {
    dir: PathBuf,
    max_bytes: u64,
    keep: usize,
    current: Mutex<Current>,
}

struct Current {
    file: File,
    len: u64,
}

impl AuditLog {
    /// `DIR/audit/audit.log`, rotated at 64 MiB, keeping 8 older files.
    pub fn open(dir: &Path) -> Result<AuditLog, KeyError> {
        AuditLog::with_rotation(dir, DEFAULT_MAX_BYTES, DEFAULT_KEEP)
    }

    /// `DIR/audit/audit.log` (the folder created if needed, `DIR` not), appended to. A file
    /// that would grow beyond `max_bytes` becomes `audit.log.1`; up to `keep` rotated files
    /// `audit.log.1` (newest) ... `audit.log.<keep>` are kept besides the current one.
    pub fn with_rotation(dir: &Path, max_bytes: u64, keep: usize) -> Result<AuditLog, KeyError> {
        let dir = dir.join(AUDIT_DIR);
        match DirBuilder::new().create(&dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(KeyError::io(&dir, e));
            }
            _ => {}
        }
        let path = dir.join(FILE_NAME);
        let current = open_current(&path).map_err(|e| KeyError::io(&path, e))?;
        Ok(AuditLog {
            dir,
            max_bytes,
            keep,
            current: Mutex::new(current),
        })
    }

    /// Appends one JSON line. When the line would take the file beyond `max_bytes` the file is
    /// rotated first; a line longer than `max_bytes` still gets a file of its own.
    pub fn record(&self, entry: &AuditEntry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        // A panic while holding the lock leaves at worst a short file length, so carry on.
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.len > 0 && current.len + line.len() as u64 > self.max_bytes {
            *current = self.rotate()?;
        }
        current.file.write_all(&line)?;
        current.len += line.len() as u64;
        Ok(())
    }

    /// Shifts `audit.log.N` to `N+1` (the one at `keep` is overwritten, so deleted), the
    /// current file to `.1`, and opens a new current file.
    fn rotate(&self) -> io::Result<Current> {
        let path = self.dir.join(FILE_NAME);
        let numbered = |n: usize| self.dir.join(format!("{FILE_NAME}.{n}"));
        for n in (1..self.keep).rev() {
            ignore_missing(fs::rename(numbered(n), numbered(n + 1)))?;
        }
        // The current file may be gone (removed by hand); a new one is started all the same.
        if self.keep == 0 {
            ignore_missing(fs::remove_file(&path))?;
        } else {
            ignore_missing(fs::rename(&path, numbered(1)))?;
        }
        open_current(&path)
    }
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn open_current(path: &Path) -> io::Result<Current> {
    let file = private_options().create(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    Ok(Current { file, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: i64) -> AuditEntry<'static> {
        AuditEntry {
            time,
            key: "alice",
            endpoint: "/dnsdb/v2/lookup/rrset/name/example.com",
            query: "limit=10&q=\"quoted\"\n",
            rows: 3,
            status: 200,
        }
    }

    fn lines(path: &Path) -> Vec<serde_json::Map<String, serde_json::Value>> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn audit_log_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<AuditLog>();
    }

    #[test]
    fn lines_are_json_objects_with_the_fields_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path()).unwrap();
        log.record(&entry(1)).unwrap();
        log.record(&entry(2)).unwrap();
        drop(log);
        // Reopening appends.
        AuditLog::open(dir.path())
            .unwrap()
            .record(&entry(3))
            .unwrap();

        let lines = lines(&dir.path().join("audit/audit.log"));
        assert_eq!(lines.len(), 3);
        for (line, time) in lines.iter().zip(1..) {
            let fields: Vec<&str> = line.keys().map(String::as_str).collect();
            assert_eq!(
                fields,
                ["time", "key", "endpoint", "query", "rows", "status"]
            );
            assert_eq!(line["time"], time);
            assert_eq!(line["query"], "limit=10&q=\"quoted\"\n");
            assert_eq!(line["rows"], 3);
            assert_eq!(line["status"], 200);
        }
    }

    #[test]
    fn rotation_keeps_at_most_keep_files_and_the_newest_entries() {
        let dir = tempfile::tempdir().unwrap();
        let line_len = serde_json::to_vec(&entry(1000)).unwrap().len() as u64 + 1;
        // Three lines of four-digit times per file.
        let log = AuditLog::with_rotation(dir.path(), 3 * line_len, 2).unwrap();
        for time in 1000..1020 {
            log.record(&entry(time)).unwrap();
        }
        let audit = dir.path().join("audit");
        let mut names: Vec<String> = fs::read_dir(&audit)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["audit.log", "audit.log.1", "audit.log.2"]);

        let mut times = Vec::new();
        for name in ["audit.log.2", "audit.log.1", "audit.log"] {
            let path = audit.join(name);
            assert!(fs::metadata(&path).unwrap().len() <= 3 * line_len);
            times.extend(lines(&path).iter().map(|l| l["time"].as_i64().unwrap()));
        }
        // 20 lines in files of 3: the current file has the last 2, the rotated ones 3 each.
        assert_eq!(times, (1012..1020).collect::<Vec<_>>());
    }

    #[test]
    fn keep_zero_starts_over_and_oversized_lines_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::with_rotation(dir.path(), 10, 0).unwrap();
        log.record(&entry(1)).unwrap();
        log.record(&entry(2)).unwrap();
        let audit = dir.path().join("audit");
        assert_eq!(fs::read_dir(&audit).unwrap().count(), 1);
        let lines = lines(&audit.join("audit.log"));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["time"], 2);
    }

    #[test]
    fn a_current_file_removed_by_hand_is_started_again() {
        let dir = tempfile::tempdir().unwrap();
        let line_len = serde_json::to_vec(&entry(1)).unwrap().len() as u64 + 1;
        let log = AuditLog::with_rotation(dir.path(), line_len, 2).unwrap();
        log.record(&entry(1)).unwrap();
        let path = dir.path().join("audit/audit.log");
        fs::remove_file(&path).unwrap();
        log.record(&entry(2)).unwrap();
        log.record(&entry(3)).unwrap();
        assert_eq!(lines(&path)[0]["time"], 3);
    }

    #[test]
    fn the_data_directory_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("store");
        assert!(matches!(AuditLog::open(&absent), Err(KeyError::Io { .. })));
        assert!(!absent.exists());
    }
}
