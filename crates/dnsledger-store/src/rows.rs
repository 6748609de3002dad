//! The rows of one [`Store::write`](crate::Store::write), gathered per column family and
//! handed to RocksDB in key order.
//!
//! Why sorted: RocksDB sorts every memtable's keys, an ingest's vector memtable when it
//! flushes and the skiplist at each insert. In a profile of run 5's writer phase that
//! sort, on the flush thread, took more CPU than the writer thread itself, and the writer
//! waited for it. Keys that arrive in order make both cheap: the flush's sort meets a
//! sorted run, and the skiplist inserts next to its last insert position. Sorting here,
//! compact entries over one buffer, costs the writer thread about a quarter of its
//! instructions and saves the flush thread more (`docs/BENCHMARKS.md`, store run 6).
//! Equal keys within one write (rdata rows that two RRsets of one owner share) become one
//! operation: the merge of their values for row families (the merge is associative, so
//! the stored bytes are the same), one put for index families.

use dnsledger_rrset::Observation;
use rocksdb::{ColumnFamily, WriteBatch};

use crate::db::{cf, Store};
use crate::keys::{self, Source};
use crate::value;

/// One key and its value in a family's buffer.
#[derive(Clone, Copy)]
struct Entry {
    /// The key's first sixteen bytes, big-endian, zero-padded: the radix sort's digits
    /// (`sort_entries`); keys that tie on them are compared on the rest.
    prefix: u128,
    start: usize,
    key_len: u32,
    value_len: u32,
}

/// Keys and values of one column family, appended to one buffer.
#[derive(Default)]
struct FamilyRows {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl FamilyRows {
    fn reserve(&mut self, entries: usize, bytes: usize) {
        self.entries.reserve(entries);
        self.bytes.reserve(bytes);
    }

    /// Appends a key built by `push_key` (which appends to the buffer) and `value`.
    fn push(&mut self, push_key: impl FnOnce(&mut Vec<u8>), value: &[u8]) {
        let start = self.bytes.len();
        push_key(&mut self.bytes);
        let key_len = self.bytes.len() - start;
        self.bytes.extend_from_slice(value);
        self.entries.push(Entry {
            prefix: key_prefix(&self.bytes[start..start + key_len]),
            start,
            key_len: key_len as u32,
            value_len: value.len() as u32,
        });
    }

    fn key(&self, entry: &Entry) -> &[u8] {
        &self.bytes[entry.start..entry.start + entry.key_len as usize]
    }

    /// The key beyond its prefix: keys with equal prefixes compare as these do.
    fn key_after_prefix(&self, entry: &Entry) -> &[u8] {
        &self.key(entry)[(entry.key_len as usize).min(PREFIX_BYTES)..]
    }

    fn value(&self, entry: &Entry) -> &[u8] {
        let start = entry.start + entry.key_len as usize;
        &self.bytes[start..start + entry.value_len as usize]
    }

    /// Adds the family's rows to `batch` in key order, equal keys as one operation.
    fn write_sorted(mut self, batch: &mut WriteBatch, family: &ColumnFamily, merged: bool) {
        let entries = std::mem::take(&mut self.entries);
        let entries = self.sort_entries(entries);
        for group in entries.chunk_by(|a, b| a.prefix == b.prefix && self.key(a) == self.key(b)) {
            let key = self.key(&group[0]);
            match (merged, group) {
                (false, _) => batch.put_cf(family, key, []),
                (true, [single]) => batch.merge_cf(family, key, self.value(single)),
                (true, _) => {
                    let values = group.iter().map(|entry| self.value(entry));
                    batch.merge_cf(family, key, value::merge(None, values));
                }
            }
        }
    }

    /// `entries` in key order: a least-significant-digit radix sort on the prefixes' bytes
    /// (a byte that every prefix shares, such as a kind byte or the `com` of most names, is
    /// no pass), then a comparison sort of each run of equal prefixes on the rest of the key.
    /// The comparison sort it replaced took a quarter of `Store::write`'s instructions
    /// (`docs/BENCHMARKS.md`, store run 9).
    fn sort_entries(&self, entries: Vec<Entry>) -> Vec<Entry> {
        let mut counts = [[0usize; 256]; PREFIX_BYTES];
        for entry in &entries {
            for (digit, byte) in entry.prefix.to_be_bytes().into_iter().enumerate() {
                counts[digit][usize::from(byte)] += 1;
            }
        }
        let mut from = entries;
        let mut to = from.clone();
        for digit in (0..PREFIX_BYTES).rev() {
            let count = &counts[digit];
            if count.contains(&from.len()) {
                continue;
            }
            let mut next = [0usize; 256];
            for byte in 1..256 {
                next[byte] = next[byte - 1] + count[byte - 1];
            }
            let shift = 8 * (PREFIX_BYTES - 1 - digit);
            for entry in &from {
                let byte = usize::from((entry.prefix >> shift) as u8);
                to[next[byte]] = *entry;
                next[byte] += 1;
            }
            std::mem::swap(&mut from, &mut to);
        }
        for tied in from.chunk_by_mut(|a, b| a.prefix == b.prefix) {
            tied.sort_unstable_by(|a, b| {
                self.key_after_prefix(a)
                    .cmp(self.key_after_prefix(b))
                    // Zero padding made a short key's prefix equal to its zero-extended twin's.
                    .then(a.key_len.cmp(&b.key_len))
            });
        }
        from
    }
}

const PREFIX_BYTES: usize = 16;

fn key_prefix(key: &[u8]) -> u128 {
    let mut prefix = [0u8; PREFIX_BYTES];
    let len = key.len().min(PREFIX_BYTES);
    prefix[..len].copy_from_slice(&key[..len]);
    u128::from_be_bytes(prefix)
}

/// The row and index families of one write, DNS and DNSSEC apart.
#[derive(Default)]
pub(crate) struct SortedRows {
    rrset: [FamilyRows; 2],
    rdata: [FamilyRows; 2],
    rdata_name_fwd: FamilyRows,
    /// The value of the observation being added, reused.
    value: Vec<u8>,
}

impl SortedRows {
    /// Buffers sized for `parts` from their RRsets' encodings, so that they are allocated
    /// once: grown by doubling, a batch's hundreds of megabytes were copied several times.
    /// An RRset key is about its encoding, rdata keys repeat the owner per RR; values are a
    /// few dozen bytes.
    pub(crate) fn for_parts(parts: &[(Source, &[Observation])]) -> SortedRows {
        let observations = parts
            .iter()
            .flat_map(|(_, observations)| observations.iter());
        let (count, bytes) = observations.fold((0, 0), |(count, bytes), observation| {
            (count + 1, bytes + observation.rrset.encoded().len())
        });
        let mut rows = SortedRows::default();
        rows.rrset[0].reserve(count, bytes + 32 * count);
        rows.rdata[0].reserve(2 * count, 2 * bytes + 64 * count);
        rows
    }

    /// One RRset row, one rdata row per RR, and the forward index entries of the names
    /// inside rdata. The owner's forward entry is written once per owner, when the new-name
    /// detection finds it new (`novelty`).
    pub(crate) fn add(&mut self, observation: &Observation, source: Source) {
        let parts = observation.rrset.parts();
        let dnssec = usize::from(keys::is_dnssec(parts.rrtype));
        self.value.clear();
        value::encode_seen(&observation.seen, &mut self.value);
        let rrset = &mut self.rrset[dnssec];
        rrset.push(|out| keys::push_rrset_key(out, &parts, source), &self.value);
        // The RRset key starts with `rname(owner)`, as long as the owner's wire form.
        let owner = &rrset.key(rrset.entries.last().expect("just pushed"))[..parts.rrname.len()];
        for rdata in parts.rdata() {
            let rows = &mut self.rdata[dnssec];
            rows.push(
                |out| keys::push_rdata_key_of_rname(out, owner, parts.rrtype, rdata, source),
                &self.value,
            );
            if let Some(name) = keys::indexed_name(parts.rrtype, rdata) {
                let row_key = rows.key(rows.entries.last().expect("just pushed"));
                self.rdata_name_fwd
                    .push(|out| push_forward_entry(out, name, dnssec, row_key), &[]);
            }
        }
    }

    /// About the bytes of the write batch these rows make, so that its buffer is allocated
    /// once (grown by doubling, a batch of hundreds of megabytes was copied several times
    /// over): every key and value, plus a record header (type, family, two lengths) each.
    pub(crate) fn batch_bytes(&self) -> usize {
        const RECORD_HEADER: usize = 16;
        self.families()
            .map(|rows| rows.bytes.len() + RECORD_HEADER * rows.entries.len())
            .sum()
    }

    fn families(&self) -> impl Iterator<Item = &FamilyRows> {
        self.rrset
            .iter()
            .chain(&self.rdata)
            .chain([&self.rdata_name_fwd])
    }

    /// Adds every row to `batch`, one family after the other, each in key order.
    pub(crate) fn write_to(self, batch: &mut WriteBatch, store: &Store) {
        let [rrset, rrset_dnssec] = self.rrset;
        let [rdata, rdata_dnssec] = self.rdata;
        let families = [
            (rrset, cf::RRSET, true),
            (rrset_dnssec, cf::RRSET_DNSSEC, true),
            (rdata, cf::RDATA, true),
            (rdata_dnssec, cf::RDATA_DNSSEC, true),
            (self.rdata_name_fwd, cf::RDATA_NAME_FWD, false),
        ];
        for (rows, name, merged) in families {
            rows.write_sorted(batch, store.handle(name), merged);
        }
    }
}

/// A forward index entry of a name inside rdata: `fname(name) | dnssec flag | row key`,
/// appended to `out`.
fn push_forward_entry(out: &mut Vec<u8>, name: &[u8], dnssec: usize, row_key: &[u8]) {
    keys::push_fname(out, name);
    out.push(dnssec as u8);
    out.extend_from_slice(row_key);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Access;
    use dnsledger_rrset::{RRset, Seen};
    use dnsledger_wire::NameBuf;

    /// Every operation of a batch: column family id, key, value (merges and puts alike).
    #[derive(Default)]
    struct Operations(Vec<(u32, Vec<u8>, Vec<u8>)>);

    impl rocksdb::WriteBatchIteratorCf for Operations {
        fn put_cf(&mut self, cf_id: u32, key: &[u8], value: &[u8]) {
            self.0.push((cf_id, key.to_vec(), value.to_vec()));
        }
        fn delete_cf(&mut self, _: u32, key: &[u8]) {
            panic!("a delete of {key:?}");
        }
        fn merge_cf(&mut self, cf_id: u32, key: &[u8], value: &[u8]) {
            self.0.push((cf_id, key.to_vec(), value.to_vec()));
        }
    }

    fn a_rrset(owner: &str, rrtype: u16, rdata: &[&[u8]], time: i64) -> Observation {
        Observation {
            rrset: RRset::new(
                NameBuf::from_text(owner).unwrap(),
                rrtype,
                Some(NameBuf::from_text("example.com.").unwrap()),
                rdata.iter().map(|r| r.to_vec()).collect(),
            ),
            seen: Seen {
                time_first: time,
                time_last: time + 10,
                count: 2,
            },
        }
    }

    /// Two A RRsets of one owner that share an address, so that their rdata rows share a
    /// key; one name server under two owners; names out of key order; a DS RRset.
    fn overlapping() -> Vec<Observation> {
        let ns1 = NameBuf::from_text("ns1.example.com.").unwrap();
        vec![
            a_rrset("www.example.com.", 1, &[&[192, 0, 2, 1]], 1_700_000_000),
            a_rrset("a.example.com.", 1, &[&[192, 0, 2, 9]], 1_700_000_500),
            a_rrset(
                "www.example.com.",
                1,
                &[&[192, 0, 2, 1], &[192, 0, 2, 2]],
                1_700_086_400,
            ),
            a_rrset("example.com.", 2, &[ns1.as_wire()], 1_700_000_000),
            a_rrset("sub.example.com.", 2, &[ns1.as_wire()], 1_700_000_100),
            a_rrset("example.com.", 43, &[&[0, 1, 8, 2, 0xab]], 1_700_000_000),
        ]
    }

    #[test]
    fn each_family_is_written_in_key_order_with_equal_keys_as_one_operation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::Ingest).unwrap();
        let mut rows = SortedRows::default();
        for observation in &overlapping() {
            rows.add(observation, Source::Sensor);
        }
        let mut batch = WriteBatch::default();
        rows.write_to(&mut batch, &store);
        let mut operations = Operations::default();
        batch.iterate_cf(&mut operations);
        // 6 RRset rows, 7 rdata rows of which www's 192.0.2.1 twice, 2 name index entries
        // (ns1 under two owners). Owners' forward entries are the new-name detection's.
        assert_eq!(operations.0.len(), 6 + (7 - 1) + 2);
        for pair in operations.0.windows(2) {
            let ((cf_a, key_a, _), (cf_b, key_b, _)) = (&pair[0], &pair[1]);
            assert!(cf_a != cf_b || key_a < key_b, "{key_a:?} then {key_b:?}");
        }
        let families: Vec<u32> = operations.0.iter().map(|(cf, ..)| *cf).collect();
        assert!(
            families.chunk_by(|a, b| a == b).count() == 5,
            "{families:?}"
        );
    }

    /// The keys one family's sorted write hands RocksDB, in its order.
    fn written_in_order(keys: &[impl AsRef<[u8]>]) -> Vec<Vec<u8>> {
        let mut family = FamilyRows::default();
        for key in keys {
            family.push(|out| out.extend_from_slice(key.as_ref()), &[]);
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::Ingest).unwrap();
        let mut batch = WriteBatch::default();
        family.write_sorted(&mut batch, store.handle(cf::RDATA_NAME_FWD), false);
        let mut operations = Operations::default();
        batch.iterate_cf(&mut operations);
        operations.0.into_iter().map(|(_, key, _)| key).collect()
    }

    #[test]
    fn keys_shorter_than_the_prefix_sort_before_their_zero_extended_twins() {
        // Two keys that tie on the whole prefix and differ after it.
        let long_z = [&b"ab"[..], &[0; 30], b"z"].concat();
        let long_y = [&b"ab"[..], &[0; 30], b"y"].concat();
        let keys: [&[u8]; 7] = [
            b"ab\0\0",
            b"ab",
            &long_z,
            b"ab\0",
            b"aa",
            &long_y,
            b"ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0z",
        ];
        let written = written_in_order(&keys);
        let mut expected = keys.to_vec();
        expected.sort();
        assert_eq!(written, expected);
    }

    #[test]
    fn the_radix_sort_orders_keys_as_bytes_compare() {
        // Keys over three byte values, 0 to 40 bytes long: many share their prefix, many
        // tie on all sixteen prefix bytes, some are equal.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let keys: Vec<Vec<u8>> = (0..3000)
            .map(|_| {
                let len = (next() % 41) as usize;
                (0..len)
                    .map(|_| [0u8, 7, 255][(next() % 3) as usize])
                    .collect()
            })
            .collect();
        let written = written_in_order(&keys);
        let mut expected = keys;
        expected.sort();
        expected.dedup();
        assert_eq!(written, expected);
    }

    /// A column family's name, a key and its value.
    type Stored = (&'static str, Box<[u8]>, Box<[u8]>);

    /// Every row and index entry of a store, values merged.
    fn contents(store: &Store) -> Vec<Stored> {
        cf::ROWS
            .into_iter()
            .chain(cf::INDEXES)
            .flat_map(|name| {
                store
                    .db()
                    .iterator_cf(store.handle(name), rocksdb::IteratorMode::Start)
                    .map(move |entry| {
                        let (key, value) = entry.unwrap();
                        (name, key, value)
                    })
            })
            .collect()
    }

    #[test]
    fn one_write_stores_what_one_write_per_observation_does() {
        let dir = tempfile::tempdir().unwrap();
        let together = Store::open(&dir.path().join("together"), Access::Ingest).unwrap();
        together
            .write(&[(Source::Sensor, &overlapping())], None)
            .unwrap();
        let apart = Store::open(&dir.path().join("apart"), Access::ReadWrite).unwrap();
        for observation in overlapping().into_iter().rev() {
            apart
                .write(&[(Source::Sensor, &[observation])], None)
                .unwrap();
        }
        let stored = contents(&together);
        // 6 RRset rows, 6 rdata rows, a forward entry per owner (4), 2 name index entries.
        assert_eq!(stored.len(), 18);
        assert_eq!(stored, contents(&apart));
    }

    #[test]
    fn an_ingest_store_is_durable_after_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let store = Store::open(&path, Access::Ingest).unwrap();
        store
            .write(&[(Source::Sensor, &overlapping())], None)
            .unwrap();
        store.checkpoint().unwrap();
        let expected = contents(&store);
        // A reader sees what a checkpoint made durable, with no write-ahead log to replay.
        let reader = Store::open(&path, Access::ReadOnly).unwrap();
        assert_eq!(contents(&reader), expected);
        assert_eq!(expected.len(), 18);
    }
}
