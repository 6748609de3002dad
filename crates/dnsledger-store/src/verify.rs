//! The consistency check of `dnsledger stats --verify`.

use rocksdb::IteratorMode;

use crate::db::cf;
use crate::keys;
use crate::{value, Store, StoreError};

/// A stored key and value.
type Entry = (Box<[u8]>, Box<[u8]>);

/// Problems reported at most; past that the store is clearly damaged.
const MAX_PROBLEMS: usize = 100;

impl Store {
    /// Checks every row and index entry: keys and values decode, every RRset row has the
    /// rdata rows of its RRs and a forward entry of its owner, every index entry points at
    /// a row. Returns the problems found.
    pub fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        for (rrsets, rdata) in [(cf::RRSET, cf::RDATA), (cf::RRSET_DNSSEC, cf::RDATA_DNSSEC)] {
            self.verify_rrsets(rrsets, rdata, &mut problems)?;
            self.verify_rows(rdata, &mut problems)?;
        }
        self.verify_index(cf::RRSET_FWD, [cf::RRSET, cf::RRSET_DNSSEC], &mut problems)?;
        self.verify_index(
            cf::RDATA_NAME_FWD,
            [cf::RDATA, cf::RDATA_DNSSEC],
            &mut problems,
        )?;
        problems.truncate(MAX_PROBLEMS);
        Ok(problems)
    }

    fn entries(
        &self,
        family: &'static str,
    ) -> impl Iterator<Item = Result<Entry, StoreError>> + '_ {
        self.db()
            .iterator_cf(self.handle(family), IteratorMode::Start)
            .map(move |item| item.map_err(|e| self.engine_error(e)))
    }

    fn exists(&self, family: &'static str, key: &[u8]) -> Result<bool, StoreError> {
        let value = self
            .db()
            .get_pinned_cf(self.handle(family), key)
            .map_err(|e| self.engine_error(e))?;
        Ok(value.is_some())
    }

    fn verify_rrsets(
        &self,
        rrsets: &'static str,
        rdata: &'static str,
        problems: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        for entry in self.entries(rrsets) {
            let (key, value) = entry?;
            if value::decode(&value).is_none() {
                problems.push(format!("{rrsets}: undecodable value at {}", hex(&key)));
            }
            let Some((rrset, source)) = keys::decode_rrset_key(&key) else {
                problems.push(format!("{rrsets}: undecodable key {}", hex(&key)));
                continue;
            };
            let parts = rrset.parts();
            if !self.has_forward_entry(parts.rrname, rrsets == cf::RRSET_DNSSEC, &key)? {
                problems.push(format!(
                    "{rrsets}: row {} has no {} entry",
                    hex(&key),
                    cf::RRSET_FWD
                ));
            }
            for r in parts.rdata() {
                let (owner, rrtype) = (parts.rrname, parts.rrtype);
                // Keys of format versions 1 and 2 in a store not upgraded yet.
                let found = self.exists(rdata, &keys::rdata_key(owner, rrtype, r, source))?
                    || self.exists(rdata, &keys::legacy_rdata_key(owner, rrtype, r, source))?;
                if !found {
                    problems.push(format!(
                        "{rrsets}: row {} has no {rdata} row for one of its RRs",
                        hex(&key)
                    ));
                }
            }
            if problems.len() >= MAX_PROBLEMS {
                break;
            }
        }
        Ok(())
    }

    fn verify_rows(
        &self,
        rdata: &'static str,
        problems: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        for entry in self.entries(rdata) {
            let (key, value) = entry?;
            if keys::decode_rdata_key(&key).is_none() || value::decode(&value).is_none() {
                problems.push(format!("{rdata}: undecodable row {}", hex(&key)));
            }
            if problems.len() >= MAX_PROBLEMS {
                break;
            }
        }
        Ok(())
    }

    /// Whether `rrset_fwd` leads to a row of `owner`: its owner entry (format version 3) or
    /// the row's own entry (versions 1 and 2).
    fn has_forward_entry(
        &self,
        owner: &[u8],
        dnssec: bool,
        row_key: &[u8],
    ) -> Result<bool, StoreError> {
        let owner_entry = keys::owner_forward_key(owner);
        if self.exists(cf::RRSET_FWD, &owner_entry)? {
            return Ok(true);
        }
        let row_entry = [&owner_entry[..], &[u8::from(dnssec)], row_key].concat();
        self.exists(cf::RRSET_FWD, &row_entry)
    }

    /// Whether either RRset family holds a row of `owner`.
    fn has_rows_of(&self, owner: &[u8]) -> Result<bool, StoreError> {
        let mut prefix = Vec::with_capacity(owner.len() + 1);
        keys::push_rname(&mut prefix, owner);
        for family in [cf::RRSET, cf::RRSET_DNSSEC] {
            let mut rows = self.db().raw_iterator_cf(self.handle(family));
            rows.seek(&prefix);
            if rows.key().is_some_and(|key| key.starts_with(&prefix)) {
                return Ok(true);
            }
            rows.status().map_err(|e| self.engine_error(e))?;
        }
        Ok(false)
    }

    /// An owner entry of `rrset_fwd` (format version 3) must name an owner with rows.
    fn verify_owner_entry(&self, key: &[u8], owner: &[u8]) -> Result<Option<String>, StoreError> {
        Ok((!self.has_rows_of(owner)?).then(|| {
            format!(
                "{}: entry {} names an owner without rows",
                cf::RRSET_FWD,
                hex(key)
            )
        }))
    }

    /// Index keys are `fname | dnssec flag | row key`; the row must exist in the flagged family.
    /// `rrset_fwd` also holds owner entries (format version 3), checked apart.
    fn verify_index(
        &self,
        index: &'static str,
        targets: [&'static str; 2],
        problems: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        for entry in self.entries(index) {
            let (key, _) = entry?;
            if let Some(owner) = keys::forward_entry_owner(&key).filter(|_| index == cf::RRSET_FWD)
            {
                problems.extend(self.verify_owner_entry(&key, owner)?);
                continue;
            }
            let Some((flag, row_key)) = keys::skip_fname(&key).and_then(|rest| rest.split_first())
            else {
                problems.push(format!("{index}: undecodable key {}", hex(&key)));
                continue;
            };
            let target = targets[usize::from(*flag == 1)];
            if *flag > 1 || !self.exists(target, row_key)? {
                problems.push(format!(
                    "{index}: entry {} points at no {target} row",
                    hex(&key)
                ));
            }
            if problems.len() >= MAX_PROBLEMS {
                break;
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
