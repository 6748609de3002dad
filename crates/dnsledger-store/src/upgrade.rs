//! Format upgrades a writer makes in place when it opens an older store (`docs/encoding.md`,
//! Versions).

use rocksdb::WriteBatch;

use crate::db::{cf, Store, StoreError};
use crate::keys;

/// Owners whose forward entries one atomic write of the upgrade replaces.
const OWNERS_PER_WRITE: usize = 10_000;

/// Rdata rows one atomic write of the upgrade moves to their new keys.
const RDATA_ROWS_PER_WRITE: usize = 50_000;

impl Store {
    /// Rewrites what version 3 changed in a store of version 1 or 2: the forward index and
    /// the rdata keys. The caller records version 3 afterwards, so an interrupted upgrade
    /// runs again and finds done what was done (each step's writes are atomic).
    pub(crate) fn upgrade_to_version_3(&self) -> Result<(), StoreError> {
        self.upgrade_forward_index()?;
        for family in [cf::RDATA, cf::RDATA_DNSSEC] {
            self.upgrade_rdata_keys(family)?;
        }
        Ok(())
    }

    /// Version 3 keeps the rdata of an A, AAAA or raw-kind row in its index only, where
    /// versions 1 and 2 repeated it after the owner. Each such row moves to its new key
    /// (its value a merge operand there, the old key deleted in the same atomic write).
    fn upgrade_rdata_keys(&self, family: &'static str) -> Result<(), StoreError> {
        let handle = self.handle(family);
        let mut rows = self.db().raw_iterator_cf(handle);
        rows.seek_to_first();
        let (mut batch, mut moved) = (WriteBatch::default(), 0usize);
        while let (Some(key), Some(value)) = (rows.key(), rows.value()) {
            let new_key =
                keys::current_rdata_key(key).ok_or_else(|| self.damaged_key(family, key))?;
            if new_key != key {
                batch.merge_cf(handle, new_key, value);
                batch.delete_cf(handle, key);
                moved += 1;
                if moved == RDATA_ROWS_PER_WRITE {
                    self.commit(std::mem::take(&mut batch))?;
                    moved = 0;
                }
            }
            rows.next();
        }
        rows.status().map_err(|e| self.engine_error(e))?;
        self.commit(batch)
    }

    /// Version 3 keeps one `rrset_fwd` entry per owner (`fname(owner)`) where versions 1 and
    /// 2 kept one per RRset row (`fname(owner) | dnssec flag | row key`). Each owner's row
    /// entries become its owner entry in one atomic write, so a reader never finds an owner
    /// under both kinds or neither.
    fn upgrade_forward_index(&self) -> Result<(), StoreError> {
        let handle = self.handle(cf::RRSET_FWD);
        let mut entries = self.db().raw_iterator_cf(handle);
        entries.seek_to_first();
        let mut batch = WriteBatch::default();
        let (mut owner, mut owners) = (Vec::new(), 0usize);
        while let Some(key) = entries.key() {
            let row_entry =
                keys::skip_fname(key).ok_or_else(|| self.damaged_key(cf::RRSET_FWD, key))?;
            if !row_entry.is_empty() {
                let entry_owner = &key[..key.len() - row_entry.len()];
                if entry_owner != owner {
                    if owners == OWNERS_PER_WRITE {
                        self.commit(std::mem::take(&mut batch))?;
                        owners = 0;
                    }
                    owner = entry_owner.to_vec();
                    batch.put_cf(handle, &owner, []);
                    owners += 1;
                }
                batch.delete_cf(handle, key);
            }
            entries.next();
        }
        entries.status().map_err(|e| self.engine_error(e))?;
        self.commit(batch)
    }

    fn damaged_key(&self, family: &'static str, key: &[u8]) -> StoreError {
        StoreError::Damaged {
            path: self.path().to_path_buf(),
            cf: family,
            what: format!("undecodable key {key:02x?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Access, Lookup, NamePattern, TimeFence, TypeFilter};
    use dnsledger_rrset::{Observation, RRset, Seen};
    use dnsledger_wire::NameBuf;

    fn observation(owner: &str, rrtype: u16, rdata: &[u8]) -> Observation {
        Observation {
            rrset: RRset::new(
                NameBuf::from_text(owner).unwrap(),
                rrtype,
                Some(NameBuf::from_text("example.com.").unwrap()),
                vec![rdata.to_vec()],
            ),
            seen: Seen {
                time_first: 1_700_000_000,
                time_last: 1_700_000_000,
                count: 1,
            },
        }
    }

    /// A stored key and its value.
    type Entry = (Box<[u8]>, Box<[u8]>);

    fn entries(store: &Store, family: &str) -> Vec<Entry> {
        let handle = store.handle(family);
        let entries = store.db().iterator_cf(handle, rocksdb::IteratorMode::Start);
        entries.map(Result::unwrap).collect()
    }

    fn forward_entries(store: &Store) -> Vec<Box<[u8]>> {
        let entries = entries(store, cf::RRSET_FWD).into_iter();
        entries.map(|(key, _)| key).collect()
    }

    /// Rewrites the forward index and the rdata keys the way versions 1 and 2 kept them: an
    /// entry per RRset row, the rdata after the owner in every rdata key.
    fn downgrade_to_version_2(store: &Store) {
        let mut batch = WriteBatch::default();
        for family in [cf::RDATA, cf::RDATA_DNSSEC] {
            let handle = store.handle(family);
            for (key, value) in entries(store, family) {
                let row = keys::decode_rdata_key(&key).unwrap();
                batch.delete_cf(handle, &key);
                let legacy =
                    keys::legacy_rdata_key(&row.rrname, row.rrtype, &row.rdata, row.source);
                batch.put_cf(handle, legacy, value);
            }
        }
        let fwd = store.handle(cf::RRSET_FWD);
        for entry in forward_entries(store) {
            batch.delete_cf(fwd, entry);
        }
        for (family, dnssec) in [(cf::RRSET, 0u8), (cf::RRSET_DNSSEC, 1)] {
            let rows = store
                .db()
                .iterator_cf(store.handle(family), rocksdb::IteratorMode::Start);
            for row in rows {
                let key = row.unwrap().0;
                let (rrset, _) = keys::decode_rrset_key(&key).unwrap();
                let mut entry = keys::owner_forward_key(rrset.parts().rrname);
                entry.push(dnssec);
                entry.extend_from_slice(&key);
                batch.put_cf(fwd, entry, []);
            }
        }
        store.commit(batch).unwrap();
        store.meta_put("format_version", b"2").unwrap();
    }

    fn starting_with(store: &Store, prefix: &str, rrtype: TypeFilter) -> Vec<(Vec<u8>, u16)> {
        let lookup = Lookup::RRset {
            owner: NamePattern::Starting(NameBuf::from_text(prefix).unwrap()),
            rrtype,
            bailiwick: None,
        };
        let rows = store.lookup(&lookup, TimeFence::default()).unwrap();
        rows.map(|row| {
            row.map(|row| (row.rrname().to_vec(), row.rrtype()))
                .unwrap()
        })
        .collect()
    }

    #[test]
    fn a_writer_turns_entries_per_row_into_one_entry_per_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let written = [
            observation("www.example.com.", 1, &[192, 0, 2, 1]),
            observation("www.example.com.", 1, &[192, 0, 2, 2]),
            observation("www.example.com.", 16, b"\x02hi"),
            observation("www.example.com.", 43, &[0, 1, 8, 2, 0xab]),
            observation("www.example.net.", 1, &[192, 0, 2, 3]),
        ];
        let old = {
            let store = Store::open(&path, Access::ReadWrite).unwrap();
            store
                .write(&[(crate::keys::Source::Sensor, &written)], None)
                .unwrap();
            downgrade_to_version_2(&store);
            forward_entries(&store)
        };
        assert_eq!(old.len(), 5);
        let reader = Store::open(&path, Access::ReadOnly).unwrap();
        let before = starting_with(&reader, "www.example.", TypeFilter::Any);
        assert_eq!(before.len(), 4, "{before:?}");
        let addresses_before = addresses(&reader);
        assert_eq!(addresses_before.len(), 3);
        let legacy = entries(&reader, cf::RDATA)
            .into_iter()
            .chain(entries(&reader, cf::RDATA_DNSSEC));
        assert!(legacy
            .into_iter()
            .all(|(key, _)| keys::current_rdata_key(&key).is_some_and(|current| current != *key)));
        drop(reader);

        let store = Store::open(&path, Access::ReadWrite).unwrap();
        assert_eq!(store.format_version().unwrap(), crate::FORMAT_VERSION);
        let owners: Vec<Vec<u8>> = ["www.example.com.", "www.example.net."]
            .map(|name| keys::owner_forward_key(NameBuf::from_text(name).unwrap().as_wire()))
            .to_vec();
        let owner_entries: Vec<Vec<u8>> =
            forward_entries(&store).iter().map(|e| e.to_vec()).collect();
        assert_eq!(owner_entries, owners);
        assert_eq!(
            starting_with(&store, "www.example.", TypeFilter::Any),
            before
        );
        let ds = starting_with(&store, "www.example.", TypeFilter::AnyDnssec);
        assert_eq!(ds.iter().map(|(_, t)| *t).collect::<Vec<_>>(), [43]);
        let txt = starting_with(&store, "www.", TypeFilter::Only(16));
        assert_eq!(txt.iter().map(|(_, t)| *t).collect::<Vec<_>>(), [16]);
        assert_eq!(addresses(&store), addresses_before);
        let rdata = entries(&store, cf::RDATA)
            .into_iter()
            .chain(entries(&store, cf::RDATA_DNSSEC));
        assert!(rdata
            .into_iter()
            .all(|(key, _)| keys::current_rdata_key(&key).as_deref() == Some(&key[..])));
        assert!(store.verify().unwrap().is_empty());
    }

    /// The A rows of 192.0.2.0/24, with their counts.
    fn addresses(store: &Store) -> Vec<(Vec<u8>, Vec<Vec<u8>>, u64)> {
        let lookup = Lookup::RdataIp {
            lo: "192.0.2.0".parse().unwrap(),
            hi: "192.0.2.255".parse().unwrap(),
        };
        let rows = store.lookup(&lookup, TimeFence::default()).unwrap();
        rows.map(|row| {
            let row = row.unwrap();
            let rdata = row.rdata().map(<[u8]>::to_vec).collect();
            (row.rrname().to_vec(), rdata, row.seen.count)
        })
        .collect()
    }
}
