//! A zone's master files into the store as zone-file rows, exactly once.
//!
//! Every RRset of the zone becomes one observation with [`Source::ZoneFile`], count 1 and
//! first = last = the zone time, bailiwick = the zone. An import is known by the digest of
//! what it read ([`MasterReader::digest`]); its progress is the meta record
//! `zone/<digest>` = `partial <batch_rrsets> <batches> <time>` after each batch (written in
//! the same atomic batch), then `done`. The RRsets come out of the sort in a deterministic
//! order, so a resumed import cuts the same batches and skips those already durable; an
//! import that is done is skipped whole.

use std::path::PathBuf;

use dnsledger_rrset::{Observation, RRset, Seen};
use dnsledger_store::keys::Source;
use dnsledger_store::{Store, StoreError};
use dnsledger_wire::NameBuf;

use crate::group::{Group, Next, Sorter};
use crate::master::{MasterReader, ReadStats};
use crate::ZoneError;

/// Bad entries kept in a report (all are counted).
pub const MAX_REPORTED_PROBLEMS: usize = 100;

/// How an import runs.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The zone: the origin of the files and the bailiwick of every row.
    pub zone: NameBuf,
    /// The zone time of this import, seconds since the epoch.
    pub time: i64,
    /// RRsets per atomic write.
    pub batch_rrsets: usize,
    /// Bytes of records held in memory before a sorted run goes to a temporary file.
    pub max_memory: usize,
}

impl ImportOptions {
    /// Batches of 100,000 RRsets; 256 MiB of records in memory.
    pub fn new(zone: NameBuf, time: i64) -> ImportOptions {
        ImportOptions {
            zone,
            time,
            batch_rrsets: 100_000,
            max_memory: 256 << 20,
        }
    }
}

/// How far the store has an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportState {
    New,
    /// The first `batches` batches of `batch_rrsets` RRsets, at zone time `time`, are durable.
    Partial {
        batch_rrsets: usize,
        batches: u64,
        time: i64,
    },
    Done,
}

/// What an import counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub read: ReadStats,
    /// Records whose owner is not at or below the zone: skipped.
    pub records_outside_zone: u64,
    /// RRsets with more rdata than one DNS message holds: skipped.
    pub rrsets_too_large: u64,
    pub sort_runs_spilled: u64,
    pub rrsets_written: u64,
    pub batches_written: u64,
    pub batches_skipped: u64,
}

impl ImportStats {
    /// Every counter with its stable name.
    pub fn counters(&self) -> [(&'static str, u64); 11] {
        [
            ("zone.files_read", self.read.files_read),
            ("zone.records_read", self.read.records_read),
            ("zone.entries_bad", self.read.entries_bad),
            ("zone.records_other_class", self.read.records_other_class),
            ("zone.generate_skipped", self.read.generate_skipped),
            ("zone.records_outside_zone", self.records_outside_zone),
            ("zone.rrsets_too_large", self.rrsets_too_large),
            ("zone.sort_runs_spilled", self.sort_runs_spilled),
            ("zone.rrsets_written", self.rrsets_written),
            ("zone.batches_written", self.batches_written),
            ("zone.batches_skipped", self.batches_skipped),
        ]
    }
}

/// What became of an import.
#[derive(Debug)]
pub struct ImportReport {
    /// The import's identity (`zone/<digest>` in the store's meta records).
    pub digest: String,
    /// How far the store had it before.
    pub before: ImportState,
    /// The zone time its rows carry (an interrupted import resumes with its first time).
    pub time: i64,
    pub stats: ImportStats,
    /// The first [`MAX_REPORTED_PROBLEMS`] bad entries, each with its `FILE:LINE`.
    pub problems: Vec<ZoneError>,
}

/// Imports `files`, read as one zone, into `store`. Bad entries are reported in the report
/// and skipped; an unreadable file, an include loop or a store failure ends the import
/// before anything is written (the store fails only between atomic batches).
pub fn import(
    store: &Store,
    files: &[PathBuf],
    options: &ImportOptions,
) -> Result<ImportReport, ZoneError> {
    let mut stats = ImportStats::default();
    let mut problems = Vec::new();
    let mut reader = MasterReader::new(files, options.zone.clone());
    let mut sorter = Sorter::new(options.max_memory);
    for item in reader.by_ref() {
        match item {
            Ok(record) if record.owner.is_subdomain_of(&options.zone) => {
                sorter.push(&record).map_err(ZoneError::Spill)?;
            }
            Ok(_) => stats.records_outside_zone += 1,
            Err(error) if error.is_entry_error() => {
                if problems.len() < MAX_REPORTED_PROBLEMS {
                    problems.push(error);
                }
            }
            Err(error) => return Err(error),
        }
    }
    stats.read = reader.stats();
    stats.sort_runs_spilled = sorter.runs_spilled() as u64;
    let digest = reader.digest();
    let before = state(store, &digest)?;
    let mut report = ImportReport {
        digest,
        time: options.time,
        before,
        stats,
        problems,
    };
    if report.before != ImportState::Done {
        write(store, sorter, options, &mut report)?;
    }
    Ok(report)
}

fn meta_key(digest: &str) -> String {
    format!("zone/{digest}")
}

/// The recorded state of the import with this digest. A record that does not parse is an
/// error: guessing would risk counting the import twice.
pub fn state(store: &Store, digest: &str) -> Result<ImportState, StoreError> {
    let key = meta_key(digest);
    let Some(value) = store.meta_get(&key)? else {
        return Ok(ImportState::New);
    };
    let text = String::from_utf8_lossy(&value);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let parsed = match fields[..] {
        ["done"] => Some(ImportState::Done),
        ["partial", batch_rrsets, batches, time] => {
            match (batch_rrsets.parse(), batches.parse(), time.parse()) {
                (Ok(batch_rrsets), Ok(batches), Ok(time)) => Some(ImportState::Partial {
                    batch_rrsets,
                    batches,
                    time,
                }),
                _ => None,
            }
        }
        _ => None,
    };
    parsed.ok_or_else(|| StoreError::Damaged {
        path: store.path().to_path_buf(),
        cf: "meta",
        what: format!("{key} = {text:?}"),
    })
}

/// Writes the sorted RRsets in batches with their progress, skipping the batches an earlier
/// run made durable, then marks the import done.
fn write(
    store: &Store,
    sorter: Sorter,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<(), ZoneError> {
    let (batch_rrsets, skip) = match report.before {
        ImportState::Partial {
            batch_rrsets,
            batches,
            time,
        } => {
            report.time = time;
            (batch_rrsets.max(1), batches)
        }
        _ => (options.batch_rrsets.max(1), 0),
    };
    let mut writer = BatchWriter {
        store,
        key: meta_key(&report.digest),
        batch_rrsets,
        time: report.time,
        skip,
        batches: 0,
        stats: &mut report.stats,
    };
    let mut groups = sorter.finish().map_err(ZoneError::Spill)?;
    let mut batch = Vec::with_capacity(batch_rrsets.min(1 << 16));
    loop {
        match groups.next_group().map_err(ZoneError::Spill)? {
            Next::RRset(group) => batch.push(observation(group, &options.zone, report.time)),
            Next::TooLarge => writer.stats.rrsets_too_large += 1,
            Next::End => break,
        }
        if batch.len() >= batch_rrsets {
            writer.write(&mut batch)?;
        }
    }
    if !batch.is_empty() {
        writer.write(&mut batch)?;
    }
    store.meta_put(&writer.key, b"done")?;
    Ok(())
}

fn observation(group: Group, zone: &NameBuf, time: i64) -> Observation {
    Observation {
        rrset: RRset::new(group.owner, group.rtype, Some(zone.clone()), group.rdata),
        seen: Seen::once(time),
    }
}

/// Numbers the batches of one import and writes those not yet durable.
struct BatchWriter<'a> {
    store: &'a Store,
    key: String,
    batch_rrsets: usize,
    time: i64,
    skip: u64,
    batches: u64,
    stats: &'a mut ImportStats,
}

impl BatchWriter<'_> {
    fn write(&mut self, batch: &mut Vec<Observation>) -> Result<(), ZoneError> {
        self.batches += 1;
        if self.batches <= self.skip {
            self.stats.batches_skipped += 1;
        } else {
            let progress = format!(
                "partial {} {} {}",
                self.batch_rrsets, self.batches, self.time
            );
            self.store.write(
                &[(Source::ZoneFile, batch.as_slice())],
                Some((&self.key, progress.as_bytes())),
            )?;
            self.stats.rrsets_written += batch.len() as u64;
            self.stats.batches_written += 1;
        }
        batch.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use dnsledger_store::{Access, Family, Row};

    use super::*;

    fn zone() -> NameBuf {
        NameBuf::from_text("example.com.").unwrap()
    }

    const ZONE: &str = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n\
                        @ NS ns1\n\
                        ns1 A 192.0.2.1\n\
                        www A 192.0.2.80\n\
                        www A 192.0.2.81\n\
                        outside.example.net. A 192.0.2.99\n";

    /// Every RRset row as (owner, type, rdata count, first, last, count, source).
    fn rows(store: &Store) -> Vec<(String, u16, usize, i64, i64, u64, Source)> {
        store
            .all_rows(Family::RRsets)
            .map(|row| {
                let row: Row = row.unwrap();
                assert_eq!(row.bailiwick(), Some(zone().as_wire()));
                let owner = NameBuf::from_wire(row.rrname()).unwrap().to_text();
                let seen = row.seen;
                (
                    owner,
                    row.rrtype(),
                    row.rdata().count(),
                    seen.time_first,
                    seen.time_last,
                    seen.count,
                    row.source,
                )
            })
            .collect()
    }

    fn open(dir: &Path, name: &str) -> Store {
        Store::open(&dir.join(name), Access::ReadWrite).unwrap()
    }

    #[test]
    fn the_same_files_count_once_and_a_changed_file_moves_zone_time_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), "db");
        let file = dir.path().join("zone");
        std::fs::write(&file, ZONE).unwrap();
        let files = std::slice::from_ref(&file);
        let first = import(&store, files, &ImportOptions::new(zone(), 100)).unwrap();
        assert_eq!(first.before, ImportState::New);
        assert_eq!(first.stats.records_outside_zone, 1);
        assert_eq!(first.stats.rrsets_written, 4);
        assert_eq!(state(&store, &first.digest).unwrap(), ImportState::Done);
        let zone_row = |owner: &str, t: u16, n: usize, first: i64, last: i64, count: u64| {
            (
                format!("{owner}example.com."),
                t,
                n,
                first,
                last,
                count,
                Source::ZoneFile,
            )
        };
        let once = vec![
            zone_row("", 2, 1, 100, 100, 1),
            zone_row("", 6, 1, 100, 100, 1),
            zone_row("ns1.", 1, 1, 100, 100, 1),
            zone_row("www.", 1, 2, 100, 100, 1),
        ];
        assert_eq!(rows(&store), once);

        let again = import(&store, files, &ImportOptions::new(zone(), 200)).unwrap();
        assert_eq!(
            (again.before, again.stats.rrsets_written),
            (ImportState::Done, 0)
        );
        assert_eq!(rows(&store), once);

        std::fs::write(&file, format!("{ZONE}new A 192.0.2.7\n")).unwrap();
        let changed = import(&store, files, &ImportOptions::new(zone(), 300)).unwrap();
        assert_eq!(changed.before, ImportState::New);
        assert_ne!(changed.digest, first.digest);
        assert_eq!(
            rows(&store),
            vec![
                zone_row("", 2, 1, 100, 300, 2),
                zone_row("", 6, 1, 100, 300, 2),
                zone_row("new.", 1, 1, 300, 300, 1),
                zone_row("ns1.", 1, 1, 100, 300, 2),
                zone_row("www.", 1, 2, 100, 300, 2),
            ]
        );
    }

    #[test]
    fn a_resumed_import_skips_the_durable_batches_and_keeps_its_first_zone_time() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zone");
        std::fs::write(&file, ZONE).unwrap();
        let files = std::slice::from_ref(&file);
        let whole = open(dir.path(), "whole");
        let options = ImportOptions {
            batch_rrsets: 1,
            ..ImportOptions::new(zone(), 100)
        };
        let done = import(&whole, files, &options).unwrap();
        assert_eq!(done.stats.batches_written, 4);

        // As if an import at time 50 had been killed after its first two batches.
        let resumed = open(dir.path(), "resumed");
        let key = meta_key(&done.digest);
        let mut all = Vec::new();
        let mut sorter = Sorter::new(usize::MAX);
        for record in MasterReader::new(files, zone()).flatten() {
            if record.owner.is_subdomain_of(&zone()) {
                sorter.push(&record).unwrap();
            }
        }
        let mut groups = sorter.finish().unwrap();
        while let Next::RRset(group) = groups.next_group().unwrap() {
            all.push(observation(group, &zone(), 50));
        }
        resumed
            .write(
                &[(Source::ZoneFile, &all[..2])],
                Some((&key, b"partial 1 2 50")),
            )
            .unwrap();
        let report = import(&resumed, files, &options).unwrap();
        assert_eq!(
            report.before,
            ImportState::Partial {
                batch_rrsets: 1,
                batches: 2,
                time: 50
            }
        );
        assert_eq!(report.time, 50);
        assert_eq!(
            (report.stats.batches_skipped, report.stats.batches_written),
            (2, 2)
        );
        let expected: Vec<_> = rows(&whole)
            .into_iter()
            .map(|(o, t, n, _, _, c, s)| (o, t, n, 50, 50, c, s))
            .collect();
        assert_eq!(rows(&resumed), expected);
        assert_eq!(state(&resumed, &done.digest).unwrap(), ImportState::Done);
    }

    #[test]
    fn a_zone_larger_than_memory_is_sorted_on_disk_to_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zone");
        let mut text = String::from(ZONE);
        for i in 0..200 {
            text.push_str(&format!("h{} A 192.0.2.{}\n", i % 37, i % 251));
        }
        std::fs::write(&file, text).unwrap();
        let files = std::slice::from_ref(&file);
        let (in_memory, on_disk) = (open(dir.path(), "memory"), open(dir.path(), "disk"));
        import(&in_memory, files, &ImportOptions::new(zone(), 100)).unwrap();
        let small = ImportOptions {
            max_memory: 1024,
            ..ImportOptions::new(zone(), 100)
        };
        let report = import(&on_disk, files, &small).unwrap();
        assert!(report.stats.sort_runs_spilled > 5, "{:?}", report.stats);
        assert_eq!(rows(&on_disk), rows(&in_memory));
    }

    #[test]
    fn a_damaged_progress_record_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), "db");
        store.meta_put("zone/abc", b"partial x").unwrap();
        assert!(matches!(
            state(&store, "abc"),
            Err(StoreError::Damaged { .. })
        ));
    }
}
