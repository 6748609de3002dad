//! Format upgrades a writer makes in place when it opens an older store (`docs/encoding.md`,
//! Versions).

use rocksdb::WriteBatch;

use crate::db::{cf, Store, StoreError};
use crate::keys;

/// Owners whose forward entries one atomic write of the upgrade replaces.
const OWNERS_PER_WRITE: usize = 10_000;

impl Store {
    /// Version 3 keeps one `rrset_fwd` entry per owner (`fname(owner)`) where versions 1 and
    /// 2 kept one per RRset row (`fname(owner) | dnssec flag | row key`). Each owner's row
    /// entries become its owner entry in one atomic write, so a reader never finds an owner
    /// under both kinds or neither. The caller records version 3 only afterwards: an
    /// interrupted upgrade runs again from the start, and finds the owners already done
    /// without row entries.
    pub(crate) fn upgrade_forward_index(&self) -> Result<(), StoreError> {
        let handle = self.handle(cf::RRSET_FWD);
        let mut entries = self.db().raw_iterator_cf(handle);
        entries.seek_to_first();
        let mut batch = WriteBatch::default();
        let (mut owner, mut owners) = (Vec::new(), 0usize);
        while let Some(key) = entries.key() {
            let row_entry = keys::skip_fname(key).ok_or_else(|| self.damaged_index(key))?;
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

    fn damaged_index(&self, key: &[u8]) -> StoreError {
        StoreError::Damaged {
            path: self.path().to_path_buf(),
            cf: cf::RRSET_FWD,
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

    fn forward_entries(store: &Store) -> Vec<Box<[u8]>> {
        let handle = store.handle(cf::RRSET_FWD);
        let entries = store.db().iterator_cf(handle, rocksdb::IteratorMode::Start);
        entries.map(|entry| entry.unwrap().0).collect()
    }

    /// Rewrites the forward index the way versions 1 and 2 kept it: an entry per RRset row.
    fn downgrade_forward_index(store: &Store) {
        let mut batch = WriteBatch::default();
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
        rows.map(|row| row.map(|row| (row.rrname, row.rrtype)).unwrap())
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
            downgrade_forward_index(&store);
            forward_entries(&store)
        };
        assert_eq!(old.len(), 5);
        let reader = Store::open(&path, Access::ReadOnly).unwrap();
        let before = starting_with(&reader, "www.example.", TypeFilter::Any);
        assert_eq!(before.len(), 4, "{before:?}");
        drop(reader);

        let store = Store::open(&path, Access::ReadWrite).unwrap();
        assert_eq!(store.format_version().unwrap(), crate::FORMAT_VERSION);
        let owners: Vec<Vec<u8>> = ["www.example.com.", "www.example.net."]
            .map(|name| keys::owner_forward_key(NameBuf::from_text(name).unwrap().as_wire()))
            .to_vec();
        let entries: Vec<Vec<u8>> = forward_entries(&store).iter().map(|e| e.to_vec()).collect();
        assert_eq!(entries, owners);
        assert_eq!(
            starting_with(&store, "www.example.", TypeFilter::Any),
            before
        );
        let ds = starting_with(&store, "www.example.", TypeFilter::AnyDnssec);
        assert_eq!(ds.iter().map(|(_, t)| *t).collect::<Vec<_>>(), [43]);
        let txt = starting_with(&store, "www.", TypeFilter::Only(16));
        assert_eq!(txt.iter().map(|(_, t)| *t).collect::<Vec<_>>(), [16]);
        assert!(store.verify().unwrap().is_empty());
    }
}
