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
    /// rdata rows of its RRs, every index entry points at a row. Returns the problems found.
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
            for r in parts.rdata() {
                if !self.exists(
                    rdata,
                    &keys::rdata_key(parts.rrname, parts.rrtype, r, source),
                )? {
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

    /// Index keys are `fname | dnssec flag | row key`; the row must exist in the flagged family.
    fn verify_index(
        &self,
        index: &'static str,
        targets: [&'static str; 2],
        problems: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        for entry in self.entries(index) {
            let (key, _) = entry?;
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
