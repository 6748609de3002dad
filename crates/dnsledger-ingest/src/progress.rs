//! Exactly-once ingest: which inputs the store has, and batches written with their progress.

use std::io::Read;
use std::path::Path;

use dnsledger_rrset::{Observation, SinkError};
use dnsledger_store::keys::Source;
use dnsledger_store::{Store, StoreError};
use sha2::{Digest, Sha256};

/// How far the store has an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputState {
    New,
    /// The first `batches` batches, cut at `max_rrsets` distinct RRsets, are durable.
    Partial {
        max_rrsets: usize,
        batches: u64,
    },
    Done,
}

/// The SHA-256 of a file's bytes, as lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn meta_key(digest: &str) -> String {
    format!("input/{digest}")
}

/// The recorded state of the input with this digest. A record that does not parse is an
/// error: guessing would risk counting the input twice.
pub fn state(store: &Store, digest: &str) -> Result<InputState, StoreError> {
    let key = meta_key(digest);
    let Some(value) = store.meta_get(&key)? else {
        return Ok(InputState::New);
    };
    let text = String::from_utf8_lossy(&value);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let parsed = match fields[..] {
        ["done"] => Some(InputState::Done),
        ["partial", max_rrsets, batches] => match (max_rrsets.parse(), batches.parse()) {
            (Ok(max_rrsets), Ok(batches)) => Some(InputState::Partial {
                max_rrsets,
                batches,
            }),
            _ => None,
        },
        _ => None,
    };
    parsed.ok_or_else(|| StoreError::Damaged {
        path: store.path().to_path_buf(),
        cf: "meta",
        what: format!("{key} = {text:?}"),
    })
}

/// Writes an input's batches with their progress record, skipping those an earlier run of
/// the same input already made durable.
pub struct BatchWriter<'s> {
    store: &'s Store,
    key: Option<String>,
    max_rrsets: usize,
    skip: u64,
    seen: u64,
    written: u64,
    rows: u64,
}

impl<'s> BatchWriter<'s> {
    pub fn new(
        store: &'s Store,
        digest: Option<String>,
        state: &InputState,
        max_rrsets: usize,
    ) -> BatchWriter<'s> {
        let skip = match state {
            InputState::Partial { batches, .. } => *batches,
            _ => 0,
        };
        BatchWriter {
            store,
            key: digest.as_deref().map(meta_key),
            max_rrsets,
            skip,
            seen: 0,
            written: 0,
            rows: 0,
        }
    }

    /// The next batch of the input: sensor-side and zone-file rows, written atomically with
    /// the progress record, or skipped if an earlier run wrote it.
    pub fn write(
        &mut self,
        sensor_rows: &[Observation],
        zone_rows: &[Observation],
    ) -> Result<(), SinkError> {
        self.seen += 1;
        if self.seen <= self.skip {
            return Ok(());
        }
        let progress = format!("partial {} {}", self.max_rrsets, self.seen);
        let meta = self.key.as_deref().map(|key| (key, progress.as_bytes()));
        let parts = [(Source::Sensor, sensor_rows), (Source::ZoneFile, zone_rows)];
        self.store
            .write(&parts, meta)
            .map_err(|e| SinkError::Refused(e.to_string()))?;
        self.written += 1;
        self.rows += (sensor_rows.len() + zone_rows.len()) as u64;
        Ok(())
    }

    /// Marks the input done.
    pub fn finish(&self) -> Result<(), StoreError> {
        match &self.key {
            Some(key) => self.store.meta_put(key, b"done"),
            None => Ok(()),
        }
    }

    pub fn batches_written(&self) -> u64 {
        self.written
    }

    pub fn batches_skipped(&self) -> u64 {
        self.seen.min(self.skip)
    }

    pub fn rows_written(&self) -> u64 {
        self.rows
    }
}
