//! The sensor's spool: batches the server has not acknowledged yet, on disk, in order.
//!
//! Layout of the spool directory `DIR`:
//! - `NNNNNNNNNNNNNNNNNNNN.batch`: one batch each, named by its sequence (20 digits, so
//!   that name order is sequence order): a header line `dnsledger-batch ID OBSERVATIONS`,
//!   then the gzip body exactly as it is sent.
//! - `rejected/`: batches the server refused as malformed, kept for inspection.
//! - `sequence`: the next sequence number, so that a restarted sensor never reuses one.
//! - `lock`: held (flock) while a process uses the spool; a second one is refused.
//!
//! Crash safety: every file is written as `NAME.part`, synced, renamed into place and the
//! directory synced, so a name that exists holds all its bytes; a `.part` file left by a
//! crash is removed on open. A batch is deleted only after the server acknowledged it; a
//! crash between the two resends it, and the server's batch id record makes that harmless.

use std::collections::VecDeque;
use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::batch::Batch;

const BATCH_EXTENSION: &str = "batch";
const PART_EXTENSION: &str = "part";
const REJECTED_DIR: &str = "rejected";
const SEQUENCE_FILE: &str = "sequence";
const LOCK_FILE: &str = "lock";
const HEADER_TAG: &str = "dnsledger-batch";

/// Why the spool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{dir}: another process is using this spool")]
    Locked { dir: PathBuf },
    #[error("{dir}: the spool is full ({bytes} bytes of at most {max})")]
    Full { dir: PathBuf, bytes: u64, max: u64 },
    #[error("{path}: not a spooled batch ({what})")]
    Damaged { path: PathBuf, what: String },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A spooled batch: its sequence and its size on disk.
#[derive(Clone, Copy, Debug)]
struct Spooled {
    seq: u64,
    bytes: u64,
}

/// The spool of one sensor. Holds the directory's lock while it lives.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// Bytes of every batch file, the rejected ones included: the bound covers them all.
    bytes: u64,
    /// Waiting batches, oldest first.
    queue: VecDeque<Spooled>,
    next_seq: u64,
    _lock: File,
}

impl Spool {
    /// Opens (creating) the spool in `dir`, bounded to `max_bytes` of batches: takes its
    /// lock, removes what a crash left half-written and lists the waiting batches.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        let rejected = dir.join(REJECTED_DIR);
        fs::create_dir_all(&rejected).map_err(io_error(&rejected))?;
        let lock = lock(dir)?;
        let waiting = scan(dir)?;
        let refused = scan(&rejected)?;
        let on_disk_max = waiting.iter().chain(&refused).map(|s| s.seq + 1).max();
        let next_seq = match read_sequence(dir)? {
            Some(saved) => saved.max(on_disk_max.unwrap_or(0)),
            None => on_disk_max.unwrap_or_else(fresh_sequence),
        };
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            bytes: waiting.iter().chain(&refused).map(|s| s.bytes).sum(),
            queue: waiting.into(),
            next_seq,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Batches waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes of batch files, waiting and rejected.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// A sequence number never handed out before by this spool, saved before it is returned.
    pub fn take_sequence(&mut self) -> Result<u64, SpoolError> {
        let seq = self.next_seq;
        let path = self.dir.join(SEQUENCE_FILE);
        write_durably(&path, &[format!("{}\n", seq + 1).as_bytes()])?;
        self.next_seq = seq + 1;
        Ok(seq)
    }

    /// Appends a batch (its sequence must be above every waiting one's, as
    /// [`Spool::take_sequence`] makes it). Refused when it would pass the bound.
    pub fn push(&mut self, batch: &Batch) -> Result<(), SpoolError> {
        debug_assert!(self
            .queue
            .back()
            .is_none_or(|last| last.seq < batch.id.seq()));
        let bytes = self.store(batch_path(&self.dir, batch.id.seq()), batch)?;
        self.queue.push_back(Spooled {
            seq: batch.id.seq(),
            bytes,
        });
        Ok(())
    }

    /// Keeps a batch the server refused as malformed in `rejected/` (within the bound).
    pub fn reject(&mut self, batch: &Batch) -> Result<(), SpoolError> {
        let path = batch_path(&self.dir.join(REJECTED_DIR), batch.id.seq());
        self.store(path, batch).map(drop)
    }

    /// The oldest waiting batch, read from its file.
    pub fn front(&self) -> Option<Result<Batch, SpoolError>> {
        let spooled = self.queue.front()?;
        Some(read_batch(&batch_path(&self.dir, spooled.seq)))
    }

    /// Deletes the oldest waiting batch (the server acknowledged it).
    pub fn remove_front(&mut self) -> Result<(), SpoolError> {
        let Some(spooled) = self.queue.front().copied() else {
            return Ok(());
        };
        let path = batch_path(&self.dir, spooled.seq);
        fs::remove_file(&path).map_err(io_error(&path))?;
        self.queue.pop_front();
        self.bytes -= spooled.bytes;
        Ok(())
    }

    /// Moves the oldest waiting batch to `rejected/` (the server refused it, or its file is
    /// damaged): it stops blocking the others and stays for inspection.
    pub fn reject_front(&mut self) -> Result<(), SpoolError> {
        let Some(spooled) = self.queue.front().copied() else {
            return Ok(());
        };
        let from = batch_path(&self.dir, spooled.seq);
        let to = batch_path(&self.dir.join(REJECTED_DIR), spooled.seq);
        fs::rename(&from, &to).map_err(io_error(&from))?;
        sync_dir(&self.dir)?;
        self.queue.pop_front();
        Ok(())
    }

    /// Writes a batch file if the bound allows; its size.
    fn store(&mut self, path: PathBuf, batch: &Batch) -> Result<u64, SpoolError> {
        let header = format!("{HEADER_TAG} {} {}\n", batch.id, batch.observations);
        let bytes = (header.len() + batch.body.len()) as u64;
        if self.bytes + bytes > self.max_bytes {
            return Err(SpoolError::Full {
                dir: self.dir.clone(),
                bytes: self.bytes,
                max: self.max_bytes,
            });
        }
        write_durably(&path, &[header.as_bytes(), &batch.body])?;
        self.bytes += bytes;
        Ok(bytes)
    }
}

fn batch_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.{BATCH_EXTENSION}"))
}

/// Takes the spool's lock, or says another process holds it.
fn lock(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(SpoolError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(SpoolError::Io { path, source }),
    }
}

/// The batch files of a directory in sequence order; half-written ones are removed.
fn scan(dir: &Path) -> Result<Vec<Spooled>, SpoolError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let extension = path.extension().and_then(|e| e.to_str());
        if extension == Some(PART_EXTENSION) {
            fs::remove_file(&path).map_err(io_error(&path))?;
            continue;
        }
        let seq = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok());
        if let (Some(BATCH_EXTENSION), Some(seq)) = (extension, seq) {
            let bytes = fs::metadata(&path).map_err(io_error(&path))?.len();
            found.push(Spooled { seq, bytes });
        }
    }
    found.sort_unstable_by_key(|s| s.seq);
    Ok(found)
}

fn read_sequence(dir: &Path) -> Result<Option<u64>, SpoolError> {
    let path = dir.join(SEQUENCE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(&path)(error)),
    };
    let seq = text.trim().parse().map_err(|_| SpoolError::Damaged {
        path,
        what: format!("sequence {text:?}"),
    })?;
    Ok(Some(seq))
}

/// The first sequence of a new spool: the time in microseconds. A spool that was deleted
/// and made again then still starts above every sequence it handed out before (unless it
/// sent more than a million batches a second), so no new batch takes an old batch's id and
/// is mistaken by the server for one it already has.
fn fresh_sequence() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

fn read_batch(path: &Path) -> Result<Batch, SpoolError> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    let damaged = |what: &str| SpoolError::Damaged {
        path: path.to_path_buf(),
        what: what.to_string(),
    };
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| damaged("no header line"))?;
    let header = std::str::from_utf8(&bytes[..newline]).map_err(|_| damaged("header"))?;
    let fields: Vec<&str> = header.split(' ').collect();
    let [HEADER_TAG, id, observations] = fields[..] else {
        return Err(damaged("header"));
    };
    Ok(Batch {
        id: id
            .parse()
            .map_err(|e: crate::batch::BadId| damaged(&e.to_string()))?,
        observations: observations
            .parse()
            .map_err(|_| damaged("observation count"))?,
        body: bytes[newline + 1..].to_vec(),
    })
}

/// Writes `parts` to `path` so that the name never shows partial content: `.part` file,
/// synced, renamed, directory synced.
fn write_durably(path: &Path, parts: &[&[u8]]) -> Result<(), SpoolError> {
    let part = path.with_extension(PART_EXTENSION);
    let mut file = File::create(&part).map_err(io_error(&part))?;
    for bytes in parts {
        file.write_all(bytes).map_err(io_error(&part))?;
    }
    file.sync_all().map_err(io_error(&part))?;
    fs::rename(&part, path).map_err(io_error(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Makes renames and new names in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::BatchId;

    fn batch(spool: &mut Spool, body: &[u8]) -> Batch {
        let seq = spool.take_sequence().unwrap();
        Batch {
            id: BatchId::new("tap", seq).unwrap(),
            observations: 3,
            body: body.to_vec(),
        }
    }

    /// The ids of the waiting batches, oldest first, as a fresh open sees them.
    fn waiting(spool: &mut Spool) -> Vec<String> {
        let mut ids = Vec::new();
        while let Some(front) = spool.front() {
            ids.push(front.unwrap().id.to_string());
            spool.remove_front().unwrap();
        }
        ids
    }

    #[test]
    fn batches_come_back_in_order_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        let pushed: Vec<Batch> = (0..3).map(|i| batch(&mut spool, &[i; 10])).collect();
        for b in &pushed {
            spool.push(b).unwrap();
        }
        drop(spool);
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(spool.len(), 3);
        assert_eq!(spool.front().unwrap().unwrap(), pushed[0]);
        let ids: Vec<String> = pushed.iter().map(|b| b.id.to_string()).collect();
        assert_eq!(waiting(&mut spool), ids);
        assert_eq!(spool.bytes(), 0);
        drop(spool);
        assert!(Spool::open(dir.path(), 1 << 20).unwrap().is_empty());
    }

    #[test]
    fn sequences_never_repeat_across_reopens_even_when_batches_are_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        let first = spool.take_sequence().unwrap();
        let second = spool.take_sequence().unwrap();
        assert_eq!(second, first + 1);
        drop(spool);
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(spool.take_sequence().unwrap(), second + 1);
        drop(spool);
        // A spool made anew starts from the clock, above what the old one handed out.
        let again = tempfile::tempdir().unwrap();
        assert!(
            Spool::open(again.path(), 1)
                .unwrap()
                .take_sequence()
                .unwrap()
                > second + 1
        );
    }

    #[test]
    fn a_full_spool_refuses_new_batches_and_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 200).unwrap();
        let first = batch(&mut spool, &[1; 100]);
        spool.push(&first).unwrap();
        let second = batch(&mut spool, &[2; 100]);
        assert!(matches!(spool.push(&second), Err(SpoolError::Full { .. })));
        assert!(matches!(
            spool.reject(&second),
            Err(SpoolError::Full { .. })
        ));
        assert_eq!(spool.len(), 1);
        drop(spool);
        let mut spool = Spool::open(dir.path(), 200).unwrap();
        assert_eq!(waiting(&mut spool), [first.id.to_string()]);
        spool.push(&second).unwrap();
    }

    #[test]
    fn rejected_batches_leave_the_queue_but_count_against_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        let (a, b) = (batch(&mut spool, b"a"), batch(&mut spool, b"b"));
        spool.push(&a).unwrap();
        spool.push(&b).unwrap();
        let bytes = spool.bytes();
        spool.reject_front().unwrap();
        assert_eq!(spool.bytes(), bytes);
        assert_eq!(spool.front().unwrap().unwrap(), b);
        let rejected = dir.path().join(REJECTED_DIR);
        assert_eq!(read_batch(&batch_path(&rejected, a.id.seq())).unwrap(), a);
        drop(spool);
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!((spool.len(), spool.bytes()), (1, bytes));
    }

    #[test]
    fn half_written_files_from_a_crash_are_removed_and_damaged_ones_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        let good = batch(&mut spool, b"body");
        spool.push(&good).unwrap();
        drop(spool);
        let part = dir.path().join(format!("{:020}.part", good.id.seq() + 1));
        fs::write(&part, b"dnsledger-batch tap/").unwrap();
        let damaged = batch_path(dir.path(), good.id.seq() + 2);
        fs::write(&damaged, b"garbage").unwrap();
        let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
        assert!(!part.exists());
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.front().unwrap().unwrap(), good);
        spool.remove_front().unwrap();
        assert!(matches!(
            spool.front().unwrap(),
            Err(SpoolError::Damaged { .. })
        ));
        spool.reject_front().unwrap();
        assert!(spool.is_empty());
        assert!(spool.take_sequence().unwrap() > good.id.seq() + 2);
    }

    #[test]
    fn one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Spool::open(dir.path(), 1).unwrap();
        assert!(matches!(
            Spool::open(dir.path(), 1),
            Err(SpoolError::Locked { .. })
        ));
    }
}
