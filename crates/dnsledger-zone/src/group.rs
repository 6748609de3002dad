//! Records into RRsets with bounded memory: an external merge sort.
//!
//! A master file may name the records of one RRset anywhere in the file (RFC 1035 does not
//! make them adjacent), and an RRset's identity is its whole rdata set, so no RRset can be
//! emitted before the file has been read to its end. Records are held in memory up to a
//! byte bound, then sorted and spilled to an anonymous temporary file as a run; at the end
//! the runs are merged and adjacent records of one (owner, type) form one RRset. The order
//! is deterministic (by bytes), which is what makes a resumed import produce the same
//! batches.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use dnsledger_wire::{rtype, NameBuf};

use crate::master::Record;

/// Most rdata bytes an RRset may hold: what fits in one DNS message. Nothing larger can be
/// served, so nothing larger is ever observed; such an RRset is counted and skipped, which
/// also bounds the memory one RRset takes while it is assembled.
pub(crate) const MAX_RRSET_BYTES: usize = 65_535;

/// Bytes of the sort key after the owner that the records of one RRset share: the type and
/// the RRSIG covered type.
const TYPE_FIELDS: usize = 4;

/// One RRset: owner, type and the rdata set (sorted, distinct).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) owner: NameBuf,
    pub(crate) rtype: u16,
    pub(crate) rdata: Vec<Vec<u8>>,
}

/// Collects records; [`Sorter::finish`] hands them back as RRsets.
pub(crate) struct Sorter {
    held: Vec<Vec<u8>>,
    held_bytes: usize,
    max_bytes: usize,
    runs: Vec<File>,
}

/// The sort key of a record: `owner wire | type | covered type | rdata`. Owner names are
/// prefix-free (they end with the root label), so byte order groups each owner, then each
/// type, then (for RRSIG, whose sets are one per covered type) each covered type.
fn sort_key(record: &Record) -> Vec<u8> {
    let owner = record.owner.as_wire();
    let mut key = Vec::with_capacity(owner.len() + TYPE_FIELDS + record.rdata.len());
    key.extend_from_slice(owner);
    key.extend_from_slice(&record.rtype.to_be_bytes());
    key.extend_from_slice(&covered_type(record.rtype, &record.rdata).to_be_bytes());
    key.extend_from_slice(&record.rdata);
    key
}

/// The type an RRSIG covers (its first field); 0 for other types.
pub(crate) fn covered_type(t: u16, rdata: &[u8]) -> u16 {
    match (t, rdata) {
        (rtype::RRSIG | rtype::SIG, [hi, lo, ..]) => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    }
}

/// Bytes of a key up to the end of the covered type: what one RRset's records share.
fn group_len(key: &[u8]) -> usize {
    let mut at = 0usize;
    while let Some(&len) = key.get(at) {
        at += 1 + usize::from(len);
        if len == 0 {
            break;
        }
    }
    (at + TYPE_FIELDS).min(key.len())
}

impl Sorter {
    /// Holds at most about `max_bytes` of records in memory before spilling a run.
    pub(crate) fn new(max_bytes: usize) -> Sorter {
        Sorter {
            held: Vec::new(),
            held_bytes: 0,
            max_bytes: max_bytes.max(1),
            runs: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, record: &Record) -> io::Result<()> {
        let key = sort_key(record);
        self.held_bytes += key.len() + std::mem::size_of::<Vec<u8>>();
        self.held.push(key);
        if self.held_bytes >= self.max_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// Runs spilled to temporary files so far.
    pub(crate) fn runs_spilled(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> io::Result<()> {
        let mut keys = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        keys.sort_unstable();
        keys.dedup();
        let mut out = BufWriter::new(tempfile::tempfile()?);
        for key in &keys {
            out.write_all(&(key.len() as u32).to_be_bytes())?;
            out.write_all(key)?;
        }
        let mut file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        self.runs.push(file);
        Ok(())
    }

    /// Every record held or spilled, as RRsets in key order.
    pub(crate) fn finish(mut self) -> io::Result<Groups> {
        self.held.sort_unstable();
        self.held.dedup();
        let mut sources: Vec<Run> = self
            .runs
            .into_iter()
            .map(|file| Run::Spilled(BufReader::new(file)))
            .collect();
        sources.push(Run::Held(self.held.into_iter()));
        let mut heap = BinaryHeap::new();
        for (index, source) in sources.iter_mut().enumerate() {
            if let Some(key) = source.next_key()? {
                heap.push(Reverse((key, index)));
            }
        }
        Ok(Groups {
            sources,
            heap,
            pending: None,
        })
    }
}

/// The longest sort key: a name, the two types and one rdata.
const MAX_KEY_LEN: usize = dnsledger_wire::MAX_NAME_LEN + TYPE_FIELDS + 65_535;

/// A spilled run that does not read back as it was written (the temporary file changed).
fn damaged_run() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a sorted run read back damaged")
}

/// One sorted run: spilled to a file, or the last one still in memory.
enum Run {
    Spilled(BufReader<File>),
    Held(std::vec::IntoIter<Vec<u8>>),
}

impl Run {
    fn next_key(&mut self) -> io::Result<Option<Vec<u8>>> {
        let reader = match self {
            Run::Held(keys) => return Ok(keys.next()),
            Run::Spilled(reader) => reader,
        };
        let mut len = [0u8; 4];
        match reader.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_KEY_LEN {
            return Err(damaged_run());
        }
        let mut key = vec![0u8; len];
        reader.read_exact(&mut key)?;
        Ok(Some(key))
    }
}

/// The merged runs, as RRsets in key order; [`Groups::next_group`] also says which RRsets
/// were too large to keep.
pub(crate) struct Groups {
    sources: Vec<Run>,
    heap: BinaryHeap<Reverse<(Vec<u8>, usize)>>,
    /// The first key of the next RRset, already taken from the merge.
    pending: Option<Vec<u8>>,
}

/// What the merge gave next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    RRset(Group),
    /// An RRset with more than [`MAX_RRSET_BYTES`] of rdata: its records were read and
    /// dropped.
    TooLarge,
    End,
}

impl Groups {
    /// The smallest key of all runs, refilling the heap from the run it came from.
    fn pop_key(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(Reverse((key, index))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(source) = self.sources.get_mut(index) {
            if let Some(next) = source.next_key()? {
                self.heap.push(Reverse((next, index)));
            }
        }
        Ok(Some(key))
    }

    /// The next key, once: the same record in several runs is one record.
    fn next_key(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(key) = self.pop_key()? else {
            return Ok(None);
        };
        while self
            .heap
            .peek()
            .is_some_and(|Reverse((other, _))| *other == key)
        {
            self.pop_key()?;
        }
        Ok(Some(key))
    }

    pub(crate) fn next_group(&mut self) -> io::Result<Next> {
        let first = match self.pending.take() {
            Some(key) => key,
            None => match self.next_key()? {
                Some(key) => key,
                None => return Ok(Next::End),
            },
        };
        let shared = group_len(&first);
        let mut rdata_bytes = first.len() - shared;
        let mut rdata = vec![first.get(shared..).unwrap_or_default().to_vec()];
        while let Some(key) = self.next_key()? {
            if key.get(..shared) != first.get(..shared) {
                self.pending = Some(key);
                break;
            }
            rdata_bytes += key.len() - shared;
            if rdata_bytes <= MAX_RRSET_BYTES {
                rdata.push(key.get(shared..).unwrap_or_default().to_vec());
            }
        }
        if rdata_bytes > MAX_RRSET_BYTES {
            return Ok(Next::TooLarge);
        }
        let owner_end = shared - TYPE_FIELDS;
        let (Some(owner), Some(&[hi, lo])) =
            (first.get(..owner_end), first.get(owner_end..owner_end + 2))
        else {
            return Err(damaged_run());
        };
        Ok(Next::RRset(Group {
            owner: NameBuf::from_wire(owner).map_err(|_| damaged_run())?,
            rtype: u16::from_be_bytes([hi, lo]),
            rdata,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(owner: &str, t: u16, rdata: &[u8]) -> Record {
        Record {
            owner: NameBuf::from_text(owner).unwrap(),
            rtype: t,
            rdata: rdata.to_vec(),
        }
    }

    fn all(groups: &mut Groups) -> Vec<Next> {
        let mut out = Vec::new();
        loop {
            match groups.next_group().unwrap() {
                Next::End => return out,
                next => out.push(next),
            }
        }
    }

    fn group(owner: &str, t: u16, rdata: &[&[u8]]) -> Next {
        Next::RRset(Group {
            owner: NameBuf::from_text(owner).unwrap(),
            rtype: t,
            rdata: rdata.iter().map(|r| r.to_vec()).collect(),
        })
    }

    fn records() -> Vec<Record> {
        vec![
            record("b.", rtype::A, &[192, 0, 2, 2]),
            record("a.", rtype::A, &[192, 0, 2, 9]),
            record("b.", rtype::AAAA, &[0; 16]),
            record("a.", rtype::A, &[192, 0, 2, 1]),
            record("a.", rtype::RRSIG, &[0, 1, 9]),
            record("a.", rtype::RRSIG, &[0, 28, 9]),
            record("a.", rtype::A, &[192, 0, 2, 1]),
            record("a.", rtype::RRSIG, &[0, 1, 8]),
        ]
    }

    fn expected() -> Vec<Next> {
        vec![
            group("a.", rtype::A, &[&[192, 0, 2, 1], &[192, 0, 2, 9]]),
            group("a.", rtype::RRSIG, &[&[0, 1, 8], &[0, 1, 9]]),
            group("a.", rtype::RRSIG, &[&[0, 28, 9]]),
            group("b.", rtype::A, &[&[192, 0, 2, 2]]),
            group("b.", rtype::AAAA, &[&[0; 16]]),
        ]
    }

    #[test]
    fn records_anywhere_in_the_input_form_one_rrset_per_owner_type_and_covered_type() {
        let mut sorter = Sorter::new(usize::MAX);
        for r in records() {
            sorter.push(&r).unwrap();
        }
        assert_eq!(sorter.runs_spilled(), 0);
        assert_eq!(all(&mut sorter.finish().unwrap()), expected());
    }

    #[test]
    fn spilled_runs_merge_to_the_same_rrsets() {
        let mut sorter = Sorter::new(1);
        for r in records() {
            sorter.push(&r).unwrap();
        }
        assert_eq!(sorter.runs_spilled(), records().len());
        assert_eq!(all(&mut sorter.finish().unwrap()), expected());
    }

    #[test]
    fn an_rrset_larger_than_a_message_is_dropped_and_the_next_one_kept() {
        let mut sorter = Sorter::new(100_000);
        for i in 0..300u16 {
            let mut rdata = vec![0u8; 254];
            rdata.extend_from_slice(&i.to_be_bytes());
            sorter.push(&record("big.", rtype::TXT, &rdata)).unwrap();
        }
        sorter.push(&record("c.", rtype::A, &[1, 2, 3, 4])).unwrap();
        assert_eq!(
            all(&mut sorter.finish().unwrap()),
            vec![group("c.", rtype::A, &[&[1, 2, 3, 4]]), Next::TooLarge]
        );
    }
}
