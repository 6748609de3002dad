//! Exactly-once ingest: which inputs the store has, and batches written with their progress.
//!
//! Records (`input/<digest>` in the meta column family): `partial <max_rrsets> <batches>`,
//! `done`, or, for a piece of a capture set, `in-set <set digest>`: such a piece stands as
//! far as its set does, so the set's one `done` record marks every piece done at once.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::Scope;

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
    /// A piece of the capture set `set`, whose ingest began and did not finish: the piece's
    /// data is partly in the store as part of that set, so only that set, ingested again
    /// with all its pieces, completes it.
    InCaptureSet {
        set: String,
    },
}

impl InputState {
    /// Whether an input in this state may be read as a piece of a capture set: not when it
    /// is done, nor when it was partly ingested on its own (it resumes on its own).
    pub(crate) fn may_join_a_set(&self) -> bool {
        matches!(self, InputState::New | InputState::InCaptureSet { .. })
    }
}

const SET_MARK: &str = "in-set";

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
    Ok(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn meta_key(digest: &str) -> String {
    format!("input/{digest}")
}

/// The state of the input with this digest; a piece of a capture set stands as its set does.
pub fn state(store: &Store, digest: &str) -> Result<InputState, StoreError> {
    Ok(match recorded(store, digest)? {
        InputState::InCaptureSet { set } => match recorded(store, &set)? {
            // The pieces are marked before the set's first batch: a set with no record yet
            // has nothing in the store.
            InputState::New => InputState::New,
            InputState::Done => InputState::Done,
            _ => InputState::InCaptureSet { set },
        },
        own => own,
    })
}

/// The input's own record, as stored. A record that does not parse is an error: guessing
/// would risk counting the input twice.
fn recorded(store: &Store, digest: &str) -> Result<InputState, StoreError> {
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
        [SET_MARK, set] => Some(InputState::InCaptureSet {
            set: set.to_owned(),
        }),
        _ => None,
    };
    parsed.ok_or_else(|| StoreError::Damaged {
        path: store.path().to_path_buf(),
        cf: "meta",
        what: format!("{key} = {text:?}"),
    })
}

/// Records that these pieces are read as the capture set `set`. Done before the set's first
/// batch, so that no moment exists where part of a piece is stored and the piece looks new.
/// One write per piece suffices: until the set has a record, a marked piece still stands as
/// new.
pub fn mark_pieces<'a>(
    store: &Store,
    set: &str,
    pieces: impl IntoIterator<Item = &'a str>,
) -> Result<(), StoreError> {
    let mark = format!("{SET_MARK} {set}");
    pieces
        .into_iter()
        .try_for_each(|piece| store.meta_put(&meta_key(piece), mark.as_bytes()))
}

/// Writes an input's batches with their progress record, skipping those an earlier run of
/// the same input already made durable.
///
/// Batches are written on a thread of their own while the caller parses and aggregates the
/// next one (reading and writing took turns on one core before; `docs/BENCHMARKS.md`, store
/// run 4). Bounded: one batch is being written and at most one more waits to be handed over
/// ([`BatchWriter::write`] blocks until the writing thread takes it). Counters count a batch
/// once its write returned (for an ingest store, durable at the next checkpoint), and
/// [`BatchWriter::wait`] waits until the batches handed over are durable.
pub struct BatchWriter<'s> {
    store: &'s Store,
    key: Option<String>,
    max_rrsets: usize,
    skip: u64,
    seen: u64,
    written: u64,
    rows: u64,
    /// Batches to the writing thread.
    to_write: SyncSender<Batch>,
    /// For each batch handed over, in order: its rows once written, or why it was not.
    outcomes: Receiver<Result<u64, SinkError>>,
    in_flight: usize,
}

/// One batch and the progress record written with it.
struct Batch {
    sensor_rows: Vec<Observation>,
    zone_rows: Vec<Observation>,
    progress: Option<(String, String)>,
}

impl Batch {
    fn write(&self, store: &Store) -> Result<u64, SinkError> {
        let parts = [
            (Source::Sensor, &self.sensor_rows[..]),
            (Source::ZoneFile, &self.zone_rows[..]),
        ];
        let meta = self
            .progress
            .as_ref()
            .map(|(key, progress)| (key.as_str(), progress.as_bytes()));
        store
            .write(&parts, meta)
            .map_err(|e| SinkError::Refused(e.to_string()))?;
        Ok((self.sensor_rows.len() + self.zone_rows.len()) as u64)
    }
}

impl<'s> BatchWriter<'s> {
    /// Starts the writing thread in `scope`; it ends when the writer is dropped.
    pub fn new<'scope>(
        scope: &'scope Scope<'scope, '_>,
        store: &'s Store,
        digest: Option<String>,
        state: &InputState,
        max_rrsets: usize,
    ) -> std::io::Result<BatchWriter<'s>>
    where
        's: 'scope,
    {
        let skip = match state {
            InputState::Partial { batches, .. } => *batches,
            _ => 0,
        };
        let (to_write, batches) = sync_channel::<Batch>(0);
        let (done, outcomes) = channel();
        std::thread::Builder::new()
            .name("ingest-writer".into())
            .spawn_scoped(scope, move || {
                for batch in batches {
                    let outcome = batch.write(store);
                    let failed = outcome.is_err();
                    // Nothing more is written after a failure: the batches must stay in order.
                    if done.send(outcome).is_err() || failed {
                        break;
                    }
                }
            })?;
        Ok(BatchWriter {
            store,
            key: digest.as_deref().map(meta_key),
            max_rrsets,
            skip,
            seen: 0,
            written: 0,
            rows: 0,
            to_write,
            outcomes,
            in_flight: 0,
        })
    }

    /// Hands over the next batch of the input: sensor-side and zone-file rows, to be written
    /// atomically with the progress record, or skips it if an earlier run wrote it. Fails
    /// with the error of an earlier batch that could not be written.
    pub fn write(
        &mut self,
        sensor_rows: Vec<Observation>,
        zone_rows: Vec<Observation>,
    ) -> Result<(), SinkError> {
        self.seen += 1;
        if self.seen <= self.skip {
            return Ok(());
        }
        self.settle(false)?;
        let progress = self.key.as_ref().map(|key| {
            let record = format!("partial {} {}", self.max_rrsets, self.seen);
            (key.clone(), record)
        });
        let batch = Batch {
            sensor_rows,
            zone_rows,
            progress,
        };
        if self.to_write.send(batch).is_err() {
            // The writing thread stopped after a failed batch: its outcome says why.
            self.settle(true)?;
            return Err(SinkError::Refused("the store writer stopped".into()));
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Waits until every batch handed over is durable (or has failed: its error).
    pub fn wait(&mut self) -> Result<(), SinkError> {
        self.settle(true)?;
        self.store
            .checkpoint()
            .map_err(|e| SinkError::Refused(e.to_string()))
    }

    /// Counts the batches whose write ended: all of them when `block`, else those done now.
    fn settle(&mut self, block: bool) -> Result<(), SinkError> {
        while self.in_flight > 0 {
            let outcome = match block {
                true => self.outcomes.recv().ok(),
                false => self.outcomes.try_recv().ok(),
            };
            let Some(outcome) = outcome else {
                if block {
                    return Err(SinkError::Refused("the store writer stopped".into()));
                }
                return Ok(());
            };
            self.in_flight -= 1;
            self.rows += outcome?;
            self.written += 1;
        }
        Ok(())
    }

    /// Marks the input done; only after [`BatchWriter::wait`] found every batch durable.
    pub fn finish(&self) -> Result<(), StoreError> {
        debug_assert_eq!(self.in_flight, 0, "finish before wait");
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

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_store::Access;

    #[test]
    fn a_marked_piece_stands_as_its_set_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        mark_pieces(&store, "set", ["a", "b"]).unwrap();
        assert_eq!(
            state(&store, "a").unwrap(),
            InputState::New,
            "nothing written yet"
        );
        store.meta_put("input/set", b"partial 40 3").unwrap();
        let unfinished = InputState::InCaptureSet { set: "set".into() };
        assert_eq!(state(&store, "b").unwrap(), unfinished);
        assert_eq!(
            state(&store, "set").unwrap(),
            InputState::Partial {
                max_rrsets: 40,
                batches: 3
            }
        );
        store.meta_put("input/set", b"done").unwrap();
        assert_eq!(state(&store, "a").unwrap(), InputState::Done);
        assert_eq!(state(&store, "b").unwrap(), InputState::Done);
    }

    #[test]
    fn batches_count_once_durable_and_those_an_earlier_run_wrote_are_skipped() {
        use dnsledger_rrset::{RRset, Seen};
        use dnsledger_store::Family;
        use dnsledger_wire::NameBuf;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::Ingest).unwrap();
        let batch = |n: u8| {
            let owner = NameBuf::from_text(&format!("host{n}.example.com.")).unwrap();
            let rrset = RRset::new(owner, 1, None, vec![vec![192, 0, 2, n]]);
            vec![Observation {
                rrset,
                seen: Seen::once(1_700_000_000),
            }]
        };
        // An earlier run made the first batch durable: this run skips it.
        let earlier = InputState::Partial {
            max_rrsets: 10,
            batches: 1,
        };
        std::thread::scope(|scope| {
            let mut writer =
                BatchWriter::new(scope, &store, Some("abc".into()), &earlier, 10).unwrap();
            for n in 1..=4 {
                writer.write(batch(n), Vec::new()).unwrap();
            }
            writer.wait().unwrap();
            assert_eq!(writer.batches_skipped(), 1);
            assert_eq!(writer.batches_written(), 3);
            assert_eq!(writer.rows_written(), 3);
            assert_eq!(
                state(&store, "abc").unwrap(),
                InputState::Partial {
                    max_rrsets: 10,
                    batches: 4
                }
            );
            writer.finish().unwrap();
        });
        assert_eq!(state(&store, "abc").unwrap(), InputState::Done);
        let owners: Vec<Vec<u8>> = store
            .all_rows(Family::RRsets)
            .map(|row| row.unwrap().rrname().to_vec())
            .collect();
        let wire = |n: u8| {
            NameBuf::from_text(&format!("host{n}.example.com."))
                .unwrap()
                .as_wire()
                .to_vec()
        };
        assert_eq!(owners, [wire(2), wire(3), wire(4)], "batch 1 was skipped");
    }

    #[test]
    fn a_record_that_does_not_parse_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        store.meta_put("input/x", b"in-set").unwrap();
        assert!(matches!(
            state(&store, "x"),
            Err(StoreError::Damaged { .. })
        ));
    }
}
