//! The RocksDB database: column families, options, the merge operator, atomic batches.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dnsledger_rrset::{Observation, ObservationSink, SinkError};
use rocksdb::{ColumnFamilyDescriptor, MergeOperands, Options, WriteBatch, WriteOptions, DB};

use crate::keys::Source;
use crate::novelty::Novelty;
use crate::rows::SortedRows;
use crate::value;

/// The format this code writes and reads (`docs/encoding.md`).
pub const FORMAT_VERSION: &str = "3";
/// Older formats this code reads, and upgrades when it opens them for writing: version 1
/// differs in values without activity, which later versions read as such; versions 1 and
/// 2 in `rrset_fwd` entries per row and rdata keys that repeat indexed rdata, both of which
/// later versions read too (`upgrade.rs`).
const UPGRADABLE_VERSIONS: [&str; 2] = ["1", "2"];

/// Column family names, as in `docs/encoding.md`.
pub mod cf {
    pub const RRSET: &str = "rrset";
    pub const RRSET_DNSSEC: &str = "rrset_dnssec";
    pub const RRSET_FWD: &str = "rrset_fwd";
    pub const RDATA: &str = "rdata";
    pub const RDATA_DNSSEC: &str = "rdata_dnssec";
    pub const RDATA_NAME_FWD: &str = "rdata_name_fwd";
    pub const META: &str = "meta";
    /// Names known to the new-name feed, and its event log (`novelty`).
    pub const NAMES_KNOWN: &str = "names_known";
    pub const NAMES_NEW: &str = "names_new";
    /// Row column families: their values are merged.
    pub const ROWS: [&str; 4] = [RRSET, RRSET_DNSSEC, RDATA, RDATA_DNSSEC];
    /// Forward-name index column families: keys only.
    pub const INDEXES: [&str; 2] = [RRSET_FWD, RDATA_NAME_FWD];
    pub const ALL: [&str; 9] = [
        RRSET,
        RRSET_DNSSEC,
        RRSET_FWD,
        RDATA,
        RDATA_DNSSEC,
        RDATA_NAME_FWD,
        META,
        NAMES_KNOWN,
        NAMES_NEW,
    ];
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{path}: {source}")]
    Engine {
        path: PathBuf,
        #[source]
        source: rocksdb::Error,
    },
    #[error(
        "{path}: store format version {found:?}, this dnsledger reads versions 1 to {FORMAT_VERSION}"
    )]
    Version { path: PathBuf, found: String },
    #[error("{path}: no store here (dnsledger ingest creates one)")]
    Missing { path: PathBuf },
    #[error("{path}: creating the store: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: damaged row in {cf}: {what}")]
    Damaged {
        path: PathBuf,
        cf: &'static str,
        what: String,
    },
    #[error("the query ran past its time budget after reading {scanned} rows")]
    OutOfTime { scanned: u64 },
    /// The history would not run a request (a router's shards refused it).
    #[error("refused: {0}")]
    Refused(String),
    /// A shard of a routed history did not answer as it should.
    #[error("shard {shard}: {what}")]
    Shard { shard: String, what: String },
}

/// How a store is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The one writer; creates the store when missing.
    ReadWrite,
    /// The one writer of a bulk load (`dnsledger ingest`), as [`Access::ReadWrite`] with two
    /// differences that spare the writer work (`docs/BENCHMARKS.md`, store runs 4 and 6):
    ///
    /// - Writes skip the write-ahead log. Each write asks for a flush of every column
    ///   family, atomically (RocksDB's `atomic_flush`), without waiting for it: after a
    ///   crash the store is as it was after one of its writes, never in between, and a
    ///   write is durable once its flush is done, at the latest when
    ///   [`Store::checkpoint`] (or a meta record's write) returns. Ingest's resume records
    ///   travel in the same writes as their rows, so a crash loses whole batches that the
    ///   next run writes again, and never counts one twice.
    /// - The row and index families take writes into RocksDB's vector memtable (append
    ///   now, sort once when flushing, on the background thread). Reading unflushed writes
    ///   back stays correct but sorts a copy of them on every read, so a process that
    ///   answers queries while it writes (the server) opens with [`Access::ReadWrite`].
    Ingest,
    /// A reader beside a running writer (a RocksDB secondary instance): it sees the store
    /// as it was when opened, consistently, whatever the writer does meanwhile.
    ReadOnly,
}

/// The history store.
pub struct Store {
    db: DB,
    path: PathBuf,
    /// A reader's own directory for the secondary instance's files, removed on drop.
    secondary: Option<PathBuf>,
    /// The writer's new-name detection state (`None` for readers).
    novelty: Option<Mutex<Novelty>>,
    /// Writes skip the write-ahead log and are made durable by flushes ([`Access::Ingest`]).
    unlogged: bool,
}

impl Access {
    fn writes(self) -> bool {
        self != Access::ReadOnly
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(dir) = &self.secondary {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh directory for one reader's secondary-instance files.
fn secondary_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("dnsledger-reader-{}-{n}", std::process::id()))
}

impl Store {
    /// Opens (or, for a writer, creates) the store in `dir`.
    pub fn open(dir: &Path, access: Access) -> Result<Store, StoreError> {
        if access.writes() && !dir.join("CURRENT").exists() {
            Store::create(dir)?;
        }
        let engine = |source| StoreError::Engine {
            path: dir.to_path_buf(),
            source,
        };
        let cache = rocksdb::Cache::new_hyper_clock_cache(BLOCK_CACHE_BYTES, 0);
        let descriptors = |names: &[&str]| {
            names
                .iter()
                .map(|&name| ColumnFamilyDescriptor::new(name, cf_options(name, access, &cache)))
                .collect::<Vec<_>>()
        };
        let (db, secondary) = match access {
            Access::ReadWrite | Access::Ingest => {
                // A store from before a column family existed gets it here.
                let mut options = db_options(false, access);
                options.create_missing_column_families(true);
                let db = DB::open_cf_descriptors(&options, dir, descriptors(&cf::ALL))
                    .map_err(engine)?;
                (db, None)
            }
            Access::ReadOnly => {
                if !dir.join("CURRENT").exists() {
                    return Err(StoreError::Missing {
                        path: dir.to_path_buf(),
                    });
                }
                // A reader cannot create column families: it opens those the store has
                // (one from before the new-name feed has no `names_*`).
                let present = DB::list_cf(&Options::default(), dir).map_err(engine)?;
                let names: Vec<&str> = cf::ALL
                    .into_iter()
                    .filter(|name| present.iter().any(|p| p == name))
                    .collect();
                let secondary = secondary_dir();
                let mut options = db_options(false, access);
                options.set_max_open_files(-1);
                let db = DB::open_cf_descriptors_as_secondary(
                    &options,
                    dir,
                    &secondary,
                    descriptors(&names),
                )
                .map_err(engine)?;
                db.try_catch_up_with_primary().map_err(engine)?;
                (db, Some(secondary))
            }
        };
        let mut store = Store {
            db,
            path: dir.to_path_buf(),
            secondary,
            novelty: None,
            unlogged: access == Access::Ingest,
        };
        store.check_version(access)?;
        if access.writes() {
            store.novelty = Some(Novelty::load(&store)?);
        }
        Ok(store)
    }

    /// Creates a store beside `dir`, with its column families and format version, and
    /// renames it into place: a reader never sees a store without a version.
    fn create(dir: &Path) -> Result<(), StoreError> {
        let staging = dir.with_extension(format!("creating-{}", std::process::id()));
        let engine = |source| StoreError::Engine {
            path: dir.to_path_buf(),
            source,
        };
        let cache = rocksdb::Cache::new_hyper_clock_cache(BLOCK_CACHE_BYTES, 0);
        let descriptors = cf::ALL.map(|name| {
            ColumnFamilyDescriptor::new(name, cf_options(name, Access::ReadWrite, &cache))
        });
        let db =
            DB::open_cf_descriptors(&db_options(true, Access::ReadWrite), &staging, descriptors)
                .map_err(engine)?;
        let meta = db.cf_handle(cf::META).expect("column family created above");
        db.put_cf_opt(meta, "format_version", FORMAT_VERSION, &durable())
            .map_err(engine)?;
        drop(db);
        std::fs::rename(&staging, dir).map_err(|e| StoreError::Create {
            path: dir.to_path_buf(),
            source: e,
        })
    }

    /// Accepts the current format and the upgradable ones; a writer records the upgrade
    /// before it writes anything, so older code then refuses the store instead of
    /// misreading it.
    fn check_version(&self, access: Access) -> Result<(), StoreError> {
        let found = self.meta_get("format_version")?;
        if found.as_deref() == Some(FORMAT_VERSION.as_bytes()) {
            return Ok(());
        }
        let upgradable = UPGRADABLE_VERSIONS
            .iter()
            .any(|old| found.as_deref() == Some(old.as_bytes()));
        match (upgradable, access) {
            (true, Access::ReadWrite | Access::Ingest) => {
                self.upgrade_to_version_3()?;
                return self.meta_put("format_version", FORMAT_VERSION.as_bytes());
            }
            (true, Access::ReadOnly) => return Ok(()),
            (false, _) => {}
        }
        let found = found.map_or("none".into(), |v| String::from_utf8_lossy(&v).into_owned());
        Err(StoreError::Version {
            path: self.path.clone(),
            found,
        })
    }

    /// The format version the store records: [`FORMAT_VERSION`], or an older one that a
    /// reader opened without upgrading it.
    pub fn format_version(&self) -> Result<String, StoreError> {
        let recorded = self.meta_get("format_version")?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&recorded).into_owned())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For a reader ([`Access::ReadOnly`]): sees what the writer made durable since it opened
    /// or last caught up. Queries running meanwhile keep their consistent view.
    pub fn catch_up(&self) -> Result<(), StoreError> {
        match self.secondary {
            Some(_) => self
                .db
                .try_catch_up_with_primary()
                .map_err(|e| self.engine_error(e)),
            None => Ok(()),
        }
    }

    /// RocksDB's estimate of the keys in a column family (cheap; for metrics, not answers).
    pub fn estimated_keys(&self, name: &str) -> u64 {
        self.int_property(name, "rocksdb.estimate-num-keys")
    }

    /// Bytes in the column family's table files and memtables.
    pub fn estimated_bytes(&self, name: &str) -> u64 {
        self.int_property(name, "rocksdb.total-sst-files-size")
            + self.int_property(name, "rocksdb.cur-size-all-mem-tables")
    }

    /// Whether RocksDB has a flush or compaction running or due in any column family. Reads
    /// engine counters only; for tools that wait for a store to settle (the store benchmark
    /// measures bytes on disk once background compaction is done).
    pub fn background_work_pending(&self) -> bool {
        const DATABASE: [&str; 2] = [
            "rocksdb.num-running-compactions",
            "rocksdb.num-running-flushes",
        ];
        const PER_FAMILY: [&str; 2] = [
            "rocksdb.compaction-pending",
            "rocksdb.mem-table-flush-pending",
        ];
        DATABASE.iter().any(|p| self.int_property(cf::META, p) > 0)
            || cf::ALL
                .iter()
                .any(|name| PER_FAMILY.iter().any(|p| self.int_property(name, p) > 0))
    }

    /// For a bulk load that ends with [`Store::compact`]: until then, tables that
    /// compactions write to the bottom level take LZ4, as the levels above it do, instead
    /// of zstd with a dictionary trained for each table. The final compaction rewrites every
    /// table anyway, and the zstd work was the costliest part of an ingest's background
    /// compactions (`docs/BENCHMARKS.md`, store run 17). [`Store::compact`] restores the
    /// bottom level's compression before it starts; a process that stops before leaves LZ4
    /// tables at the bottom until later compactions rewrite them.
    pub fn defer_bottom_level_compression(&self) -> Result<(), StoreError> {
        self.set_bottom_level_compression(&[
            ("bottommost_compression", "kLZ4Compression"),
            ("bottommost_compression_opts", "{enabled=false}"),
        ])
    }

    /// The bottom level's compression as `cf_options` configures it (the dictionary sizes
    /// set at open stay as they were; only the switches change).
    fn restore_bottom_level_compression(&self) -> Result<(), StoreError> {
        self.set_bottom_level_compression(&[
            ("bottommost_compression", "kZSTD"),
            ("bottommost_compression_opts", "{enabled=true}"),
        ])
    }

    fn set_bottom_level_compression(&self, settings: &[(&str, &str)]) -> Result<(), StoreError> {
        for name in cf::ALL {
            self.db
                .set_options_cf(self.handle(name), settings)
                .map_err(|e| self.engine_error(e))?;
        }
        Ok(())
    }

    /// Rewrites every column family into its bottom level and waits until that is done.
    /// Merge operands collapse into one value per row (fewer bytes, and reads stop merging
    /// them again), and a lookup probes one level instead of several. Costs about what
    /// writing the store once did: for the end of a large ingest, not for every batch.
    pub fn compact(&self) -> Result<(), StoreError> {
        self.restore_bottom_level_compression()?;
        let mut options = rocksdb::CompactOptions::default();
        options.set_exclusive_manual_compaction(true);
        // Files this compaction itself writes to the bottom level are not rewritten again.
        options.set_bottommost_level_compaction(rocksdb::BottommostLevelCompaction::ForceOptimized);
        for name in cf::ALL {
            self.db
                .compact_range_cf_opt(self.handle(name), None::<&[u8]>, None::<&[u8]>, &options);
        }
        Ok(())
    }

    /// Table files of a column family per level, level 0 first.
    #[cfg(test)]
    fn files_per_level(&self, name: &str) -> Vec<u64> {
        (0..7)
            .map(|level| self.int_property(name, &format!("rocksdb.num-files-at-level{level}")))
            .collect()
    }

    fn int_property(&self, cf_name: &str, property: &str) -> u64 {
        let Some(handle) = self.db.cf_handle(cf_name) else {
            return 0;
        };
        self.db
            .property_int_value_cf(handle, property)
            .ok()
            .flatten()
            .unwrap_or(0)
    }

    pub(crate) fn novelty(&self) -> Option<&Mutex<Novelty>> {
        self.novelty.as_ref()
    }

    pub(crate) fn db(&self) -> &DB {
        &self.db
    }

    pub(crate) fn engine_error(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Engine {
            path: self.path.clone(),
            source,
        }
    }

    pub(crate) fn handle(&self, name: &str) -> &rocksdb::ColumnFamily {
        // Every name in cf::ALL is opened in `open`; a missing one is a bug here.
        self.db
            .cf_handle(name)
            .expect("column family opened with the store")
    }

    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.handle(cf::META), key)
            .map_err(|e| self.engine_error(e))
    }

    /// Every meta record whose key starts with `prefix`, in key order (keys are ASCII by
    /// convention; a byte that is not UTF-8 reads as U+FFFD). One bounded range scan.
    pub fn meta_scan<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = Result<(String, Vec<u8>), StoreError>> + 'a {
        let start = rocksdb::IteratorMode::From(prefix.as_bytes(), rocksdb::Direction::Forward);
        self.db
            .iterator_cf(self.handle(cf::META), start)
            .map(|entry| entry.map_err(|e| self.engine_error(e)))
            .take_while(move |entry| {
                entry
                    .as_ref()
                    .map_or(true, |(key, _)| key.starts_with(prefix.as_bytes()))
            })
            .map(|entry| {
                entry.map(|(key, value)| (String::from_utf8_lossy(&key).into_owned(), value.into()))
            })
    }

    /// Writes one meta record; durable, with every write before it, when this returns.
    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta_put_all(&[(key, value)])
    }

    /// Writes many meta records as one atomic, durable write: one sync for all of them
    /// (a log of many small records would otherwise pay one sync each).
    pub fn meta_put_all<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        records: &[(K, V)],
    ) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        for (key, value) in records {
            batch.put_cf(self.handle(cf::META), key, value);
        }
        self.commit(batch)?;
        self.checkpoint()
    }

    /// Writes `batch` atomically. A logged store syncs it to the write-ahead log, so it is
    /// durable when this returns; an unlogged one ([`Access::Ingest`]) puts it in the
    /// memtables and asks for their flush without waiting for it.
    pub(crate) fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut options = WriteOptions::default();
        match self.unlogged {
            true => options.disable_wal(true),
            false => options.set_sync(true),
        }
        self.db
            .write_opt(batch, &options)
            .map_err(|e| self.engine_error(e))?;
        match self.unlogged {
            true => self.flush_all(false),
            false => Ok(()),
        }
    }

    /// Makes every write so far durable. Only an unlogged store ([`Access::Ingest`]) has
    /// anything to do: it waits until its memtables are flushed.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        match self.unlogged {
            true => self.flush_all(true),
            false => Ok(()),
        }
    }

    /// Flushes every column family's memtable, all of them in one atomic step.
    fn flush_all(&self, wait: bool) -> Result<(), StoreError> {
        let mut options = rocksdb::FlushOptions::default();
        options.set_wait(wait);
        let families = cf::ALL.map(|name| self.handle(name));
        self.db
            .flush_cfs_opt(&families, &options)
            .map_err(|e| self.engine_error(e))
    }

    /// Writes observations (each slice with its source) and, optionally, one meta record, as
    /// one atomic batch of blind merges: if it fails, none of it was written. Durable when it
    /// returns, or for [`Access::Ingest`] once flushed ([`Store::checkpoint`]). The names it
    /// makes known, and the new-name events it announces (`novelty`), are part of the same
    /// batch.
    pub fn write(
        &self,
        parts: &[(Source, &[Observation])],
        meta: Option<(&str, &[u8])>,
    ) -> Result<(), StoreError> {
        let mut rows = SortedRows::for_parts(parts);
        for (source, observations) in parts {
            for observation in *observations {
                rows.add(observation, *source);
            }
        }
        let mut batch = WriteBatch::with_capacity_bytes(rows.batch_bytes());
        rows.write_to(&mut batch, self);
        if let Some((key, value)) = meta {
            batch.put_cf(self.handle(cf::META), key, value);
        }
        self.commit_with_novelty(batch, parts)
    }
}

/// Uncompressed blocks a store keeps in memory, shared by its column families. RocksDB's
/// default, 32 MiB per family, held only part of a busy suffix's RRset rows in the
/// 10M-RRset benchmark, so a second scan decompressed most blocks again (`docs/BENCHMARKS.md`,
/// store run 6: 1.65x on `*.com`). The cache fills only with what is read: an ingest reads
/// little.
const BLOCK_CACHE_BYTES: usize = 1 << 30;

/// Writes are synced to the write-ahead log: a batch reported written is durable.
fn durable() -> WriteOptions {
    let mut options = WriteOptions::default();
    options.set_sync(true);
    options
}

fn db_options(create: bool, access: Access) -> Options {
    let mut options = Options::default();
    options.create_if_missing(create);
    options.create_missing_column_families(create);
    options.set_max_background_jobs(2);
    if access == Access::Ingest {
        // The vector memtable takes one writer at a time (there is one).
        options.set_allow_concurrent_memtable_write(false);
        // Without the write-ahead log, only flushing every column family at once keeps
        // a batch's rows and its resume record together on disk.
        options.set_atomic_flush(true);
    }
    options
}

/// Table settings (`docs/BENCHMARKS.md`, store runs 3, 4, 9 and 10): zstd with a dictionary
/// at the bottom level, where most bytes settle (names and rdata are short strings that
/// compress poorly one 4 KiB block at a time without one), LZ4 above it, where tables are
/// rewritten by every compaction on their way down (zstd there took the flush and
/// compaction threads more CPU than the writer during an ingest); 4 KiB blocks for the
/// RRset families, whose exact lookups read one block, 16 KiB for the other families (for
/// `names_known`, probed by every write, 4 KiB gave no gain in run 10); bloom filters only on
/// `names_known`, the one family read for keys that are mostly absent (every other read is
/// a range scan, which a whole-key filter does not serve, or a point read of a key an index
/// entry names, which exists). The merge operator on the row families. For
/// [`Access::Ingest`], the vector memtable on the families that only take writes (the row
/// and index families; `names_known` is read on every write and `meta` by ingest's resume,
/// so they keep the skiplist). One block cache for all families of a store.
fn cf_options(name: &str, access: Access, cache: &rocksdb::Cache) -> Options {
    let mut options = Options::default();
    if access == Access::Ingest && (cf::ROWS.contains(&name) || cf::INDEXES.contains(&name)) {
        options.set_memtable_factory(rocksdb::MemtableFactory::Vector);
    }
    options.set_compression_type(rocksdb::DBCompressionType::Lz4);
    // `Store::restore_bottom_level_compression` switches these back on after a deferral:
    // a change of codec here changes it there too.
    options.set_bottommost_compression_type(rocksdb::DBCompressionType::Zstd);
    // Window bits and strategy as RocksDB's defaults, zstd's default level, a 16 KiB
    // dictionary trained on up to 100 times as many bytes of each compaction's input.
    const DICTIONARY_BYTES: i32 = 16 * 1024;
    options.set_bottommost_compression_options(-14, 32767, 0, DICTIONARY_BYTES, true);
    options.set_bottommost_zstd_max_train_bytes(100 * DICTIONARY_BYTES, true);
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(cache);
    let lookups = [cf::RRSET, cf::RRSET_DNSSEC, cf::META].contains(&name);
    table.set_block_size(if lookups { 4 * 1024 } else { 16 * 1024 });
    if name == cf::NAMES_KNOWN {
        table.set_bloom_filter(10.0, false);
    }
    options.set_block_based_table_factory(&table);
    if cf::ROWS.contains(&name) {
        options.set_merge_operator_associative("seen", merge_operator);
    }
    options
}

fn merge_operator(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &MergeOperands,
) -> Option<Vec<u8>> {
    Some(value::merge(existing, operands.iter()))
}

/// The store as an observation sink: every batch is one atomic durable write.
pub struct StoreSink<'a> {
    store: &'a Store,
    source: Source,
}

impl<'a> StoreSink<'a> {
    pub fn new(store: &'a Store, source: Source) -> StoreSink<'a> {
        StoreSink { store, source }
    }
}

impl ObservationSink for StoreSink<'_> {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        self.store
            .write(&[(self.source, &batch)], None)
            .map_err(|e| SinkError::Refused(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_store_has_no_background_work_and_a_busy_one_settles() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        assert!(!store.background_work_pending());
        let handle = store.handle(cf::RRSET);
        for round in 0..6u32 {
            for i in 0..100u32 {
                store
                    .db
                    .put_cf(
                        handle,
                        [round.to_be_bytes(), i.to_be_bytes()].concat(),
                        b"v",
                    )
                    .unwrap();
            }
            store.db.flush_cf(handle).unwrap();
        }
        // Six level-0 files are above the compaction trigger (4): work is due or running
        // until RocksDB has compacted them (files this small may be done before the first
        // look), and the accessor must say when that is over.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while store.background_work_pending() {
            assert!(
                std::time::Instant::now() < deadline,
                "compaction never settled"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!store.background_work_pending());
    }

    #[test]
    fn compaction_leaves_one_level_per_family_and_the_same_rows() {
        use dnsledger_rrset::{RRset, Seen};
        use dnsledger_wire::NameBuf;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::Ingest).unwrap();
        // The same RRsets written in several flushed rounds: their merge operands lie in
        // several level-0 files until a compaction merges them.
        for round in 0..3i64 {
            let observations: Vec<Observation> = (0..200u8)
                .map(|i| Observation {
                    rrset: RRset::new(
                        NameBuf::from_text(&format!("host{i}.example.com.")).unwrap(),
                        1,
                        Some(NameBuf::from_text("example.com.").unwrap()),
                        vec![vec![192, 0, 2, i]],
                    ),
                    seen: Seen {
                        time_first: 1_700_000_000 + round,
                        time_last: 1_700_000_100 + round,
                        count: 1,
                    },
                })
                .collect();
            store
                .write(&[(Source::Sensor, &observations)], None)
                .unwrap();
            for name in cf::ALL {
                store.db.flush_cf(store.handle(name)).unwrap();
            }
        }
        let before = all_rows(&store);
        // Three overlapping level-0 files: below the trigger of an automatic compaction.
        assert_eq!(store.files_per_level(cf::RRSET)[0], 3);
        store.compact().unwrap();
        for name in cf::ALL {
            let levels = store.files_per_level(name);
            let occupied = levels.iter().filter(|&&files| files > 0).count();
            assert!(levels[0] == 0 && occupied <= 1, "{name}: {levels:?}");
        }
        let after = all_rows(&store);
        assert_eq!(after, before);
        assert_eq!(after.len(), 400);
        assert!(after.iter().all(|(_, _, _, count)| *count == 3));
    }

    #[test]
    fn a_deferred_bottom_level_takes_lz4_until_the_compaction_restores_zstd() {
        use dnsledger_rrset::{RRset, Seen};
        use dnsledger_wire::NameBuf;
        let observations: Vec<Observation> = (0..20_000u32)
            .map(|i| Observation {
                rrset: RRset::new(
                    NameBuf::from_text(&format!("www.host-{i}.example{}.com.", i % 97)).unwrap(),
                    1,
                    Some(NameBuf::from_text("com.").unwrap()),
                    vec![i.to_be_bytes().to_vec()],
                ),
                seen: Seen {
                    time_first: 1_700_000_000 + i64::from(i),
                    time_last: 1_700_000_100 + i64::from(i),
                    count: 1,
                },
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        // Bytes of the RRset family's tables once compacted: `deferred` defers the bottom
        // level's compression first, `restored` compacts with `Store::compact` (which
        // restores it) rather than with a bare compaction.
        let compacted_bytes = |label: &str, deferred: bool, restored: bool| {
            let store = Store::open(&dir.path().join(label), Access::Ingest).unwrap();
            if deferred {
                store.defer_bottom_level_compression().unwrap();
            }
            store
                .write(&[(Source::Sensor, &observations)], None)
                .unwrap();
            if restored {
                store.compact().unwrap();
            } else {
                let handle = store.handle(cf::RRSET);
                store
                    .db
                    .compact_range_cf(handle, None::<&[u8]>, None::<&[u8]>);
            }
            store.int_property(cf::RRSET, "rocksdb.total-sst-files-size")
        };
        let zstd = compacted_bytes("zstd", false, true);
        let restored = compacted_bytes("restored", true, true);
        let lz4 = compacted_bytes("lz4", true, false);
        assert!(zstd > 0);
        assert_eq!(
            restored, zstd,
            "the compaction restores zstd with its dictionary"
        );
        assert!(lz4 > zstd * 5 / 4, "deferred: {lz4} bytes, zstd: {zstd}");
    }

    /// A row as (rrname, rrtype, rdata, count).
    type RowSummary = (Vec<u8>, u16, Vec<Vec<u8>>, u64);

    /// Every row of a store, in key order.
    fn all_rows(store: &Store) -> Vec<RowSummary> {
        [crate::Family::RRsets, crate::Family::Rdata]
            .into_iter()
            .flat_map(|family| store.all_rows(family))
            .map(|row| {
                let row = row.unwrap();
                let rdata = row.rdata().map(<[u8]>::to_vec).collect();
                (row.rrname().to_vec(), row.rrtype(), rdata, row.seen.count)
            })
            .collect()
    }

    #[test]
    fn an_ingest_writer_stores_and_reads_back_what_a_read_write_one_does() {
        use dnsledger_rrset::{RRset, Seen};
        use dnsledger_wire::NameBuf;
        let name = |text: &str| NameBuf::from_text(text).unwrap();
        let observations: Vec<Observation> = (0..300u32)
            .map(|i| Observation {
                rrset: RRset::new(
                    name(&format!("host-{}.example{}.com.", i % 40, i % 7)),
                    [1, 2, 46][i as usize % 3],
                    Some(name("com.")),
                    vec![
                        vec![192, 0, 2, (i % 5) as u8],
                        name("ns.example.net.").as_wire().to_vec(),
                    ],
                ),
                seen: Seen {
                    time_first: 1_700_000_000 + i64::from(i),
                    time_last: 1_700_000_100 + i64::from(i),
                    count: u64::from(i % 3 + 1),
                },
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let stores = [Access::ReadWrite, Access::Ingest].map(|access| {
            let store = Store::open(&dir.path().join(format!("{access:?}")), access).unwrap();
            for chunk in observations.chunks(70) {
                store.write(&[(Source::Sensor, chunk)], None).unwrap();
            }
            store
        });
        // Read back before any flush (the writes are in the memtables), then after one.
        let unflushed = all_rows(&stores[1]);
        assert!(unflushed.len() > 300, "{} rows", unflushed.len());
        assert_eq!(unflushed, all_rows(&stores[0]));
        stores[1].db.flush().unwrap();
        assert_eq!(all_rows(&stores[1]), unflushed);
        // More writes left in the WAL only, replayed into the memtables when reopened.
        for store in &stores {
            store
                .write(&[(Source::Sensor, &observations[..50])], None)
                .unwrap();
        }
        drop(stores);
        let reopened = [Access::ReadWrite, Access::Ingest]
            .map(|access| Store::open(&dir.path().join(format!("{access:?}")), access).unwrap());
        assert_eq!(all_rows(&reopened[1]), all_rows(&reopened[0]));
        assert_ne!(all_rows(&reopened[1]), unflushed);
    }

    #[test]
    fn meta_scan_reads_exactly_the_keys_under_a_prefix_and_meta_put_all_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        for key in [
            "watch/rule/2",
            "watch/rule/1",
            "watch/rulez",
            "watch/hit/1/a.",
            "x",
        ] {
            store.meta_put(key, key.as_bytes()).unwrap();
        }
        let found: Vec<(String, Vec<u8>)> = store
            .meta_scan("watch/rule/")
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            found,
            [
                ("watch/rule/1".to_owned(), b"watch/rule/1".to_vec()),
                ("watch/rule/2".to_owned(), b"watch/rule/2".to_vec())
            ]
        );
        assert_eq!(store.meta_scan("nothing/").count(), 0);
        store
            .meta_put_all(&[("watch/rule/3", "c"), ("watch/rule/1", "a")])
            .unwrap();
        let values: Vec<Vec<u8>> = store
            .meta_scan("watch/rule/")
            .map(|entry| entry.unwrap().1)
            .collect();
        assert_eq!(
            values,
            [b"a".to_vec(), b"watch/rule/2".to_vec(), b"c".to_vec()]
        );
    }
}
