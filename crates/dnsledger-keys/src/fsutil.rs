//! Durable whole-file replacement and owner-only file creation.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of concurrent writers in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` so that a reader (or a crash) sees the old or the new content,
/// never a mix: a temporary file beside it is written, synced and renamed over it, then the
/// directory is synced so the rename itself survives a power loss.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // The pid and the counter keep concurrent writers apart; the name cannot be mistaken for
    // a RocksDB file that shares the directory.
    let temp = dir.join(format!(
        "{name}.tmp.{}.{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_synced(&temp, bytes)
        .and_then(|()| fs::rename(&temp, path))
        .and_then(|()| sync_dir(dir));
    if result.is_err() {
        // Best effort: the temporary file is garbage whatever went wrong.
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = private_options().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Options that create files readable by the owner only: key hashes, key names and the
/// queries they ran are nobody else's business.
pub(crate) fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

// Directories cannot be opened as files elsewhere; the rename is as durable as the OS makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
