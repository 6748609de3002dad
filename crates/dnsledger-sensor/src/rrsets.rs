//! Splits one response into RRsets in canonical form.

use std::cmp::Ordering;
use std::ops::Range;

use dnsledger_wire::{class, rtype, Message, Name, Record, WireError};

/// Why a response's records could not be used at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordsError {
    /// A record header or name was damaged; offsets after it cannot be trusted.
    Malformed,
}

impl From<WireError> for RecordsError {
    fn from(_: WireError) -> RecordsError {
        RecordsError::Malformed
    }
}

/// One record, as ranges into the scratch buffer.
#[derive(Clone, Debug)]
struct RecordSpan {
    owner: Range<usize>,
    rtype: u16,
    /// For RRSIG the covered type (RRSIGs form one set per covered type), otherwise 0.
    covered: u16,
    rdata: Range<usize>,
}

/// Reusable buffers for splitting responses, so the hot path does not allocate per record.
#[derive(Debug, Default)]
pub struct RRsetSplitter {
    bytes: Vec<u8>,
    spans: Vec<RecordSpan>,
    /// The owners decompressed so far in this response, by origin (see [`Name::origin`]).
    owners: Vec<(usize, Range<usize>)>,
    /// Records skipped: (meta records, other classes) for the last response.
    pub skipped_meta: u64,
    pub skipped_class: u64,
}

/// One RRset of a response: borrowed canonical owner and its records, sorted by rdata.
pub struct SplitRRset<'a> {
    pub owner: &'a [u8],
    pub rtype: u16,
    records: &'a [RecordSpan],
    bytes: &'a [u8],
}

impl<'a> SplitRRset<'a> {
    /// The distinct rdata, sorted bytewise (an RR repeated in two sections counts once).
    pub fn rdata(&self) -> impl Iterator<Item = &'a [u8]> + Clone + use<'a> {
        let bytes = self.bytes;
        let mut previous: Option<&[u8]> = None;
        self.records.iter().filter_map(move |span| {
            let rdata = &bytes[span.rdata.clone()];
            let repeated = previous == Some(rdata);
            previous = Some(rdata);
            (!repeated).then_some(rdata)
        })
    }
}

impl RRsetSplitter {
    /// Reads every record of `message` into canonical form. On error nothing is usable.
    ///
    /// `qname` is the canonical form of the message's question name, which the caller has
    /// already made: owners that point to the question are not decompressed again.
    pub fn load(&mut self, message: &Message<'_>, qname: &[u8]) -> Result<(), RecordsError> {
        self.bytes.clear();
        self.spans.clear();
        self.owners.clear();
        self.skipped_meta = 0;
        self.skipped_class = 0;
        if let Some(question) = message.question() {
            self.bytes.extend_from_slice(qname);
            self.owners.push((question.qname.origin(), 0..qname.len()));
        }
        for record in message.records() {
            self.add(&record?)?;
        }
        let bytes = &self.bytes;
        self.spans.sort_unstable_by(|a, b| {
            same_owner_order(bytes, a, b)
                .then(a.rtype.cmp(&b.rtype))
                .then(a.covered.cmp(&b.covered))
                .then_with(|| bytes[a.rdata.clone()].cmp(&bytes[b.rdata.clone()]))
        });
        Ok(())
    }

    /// Where the canonical form of `owner` lies in `bytes`: written there once per origin,
    /// so records of one owner share one range (the owners of a response are few; past
    /// [`MAX_SHARED_OWNERS`] of them each is written out, which is only slower).
    fn owner_range(&mut self, owner: &Name<'_>) -> Range<usize> {
        let origin = owner.origin();
        if let Some((_, range)) = self.owners.iter().find(|(held, _)| *held == origin) {
            return range.clone();
        }
        let start = self.bytes.len();
        owner.write_canonical(&mut self.bytes);
        let range = start..self.bytes.len();
        if self.owners.len() < MAX_SHARED_OWNERS {
            self.owners.push((origin, range.clone()));
        }
        range
    }

    fn add(&mut self, record: &Record<'_>) -> Result<(), RecordsError> {
        let covered = covered_type(record);
        if is_meta(record.rtype, covered) {
            self.skipped_meta += 1;
            return Ok(());
        }
        if record.class != class::IN {
            self.skipped_class += 1;
            return Ok(());
        }
        let owner = self.owner_range(&record.owner);
        let rdata_start = self.bytes.len();
        record.canonical_rdata(&mut self.bytes)?;
        self.spans.push(RecordSpan {
            owner,
            rtype: record.rtype,
            covered,
            rdata: rdata_start..self.bytes.len(),
        });
        Ok(())
    }

    /// The RRsets of the loaded response: all records of one (owner, type, covered type)
    /// from all sections.
    pub fn rrsets(&self) -> impl Iterator<Item = SplitRRset<'_>> {
        let bytes = &self.bytes;
        self.spans
            .chunk_by(|a, b| {
                a.rtype == b.rtype
                    && a.covered == b.covered
                    && same_owner_order(bytes, a, b).is_eq()
            })
            .map(move |records| SplitRRset {
                owner: &bytes[records[0].owner.clone()],
                rtype: records[0].rtype,
                records,
                bytes,
            })
    }
}

/// Distinct owners of one response whose canonical form is shared; 16 cover any response
/// but a hostile one, which must not make each record search a long list.
const MAX_SHARED_OWNERS: usize = 16;

/// The order of two records' owners: equal without reading them when they share a range
/// (one origin), bytewise otherwise (the same name may come uncompressed twice).
fn same_owner_order(bytes: &[u8], a: &RecordSpan, b: &RecordSpan) -> Ordering {
    if a.owner == b.owner {
        return Ordering::Equal;
    }
    bytes[a.owner.clone()].cmp(&bytes[b.owner.clone()])
}

/// The type an RRSIG (or an old SIG) covers, 0 for other types.
fn covered_type(record: &Record<'_>) -> u16 {
    match (record.rtype, record.rdata_wire()) {
        (rtype::RRSIG | rtype::SIG, [high, low, ..]) => u16::from_be_bytes([*high, *low]),
        _ => 0,
    }
}

/// OPT, TSIG and SIG(0) describe the transaction, not the zone: never stored.
fn is_meta(rtype: u16, covered: u16) -> bool {
    rtype == rtype::OPT
        || rtype == rtype::TSIG
        || rtype == rtype::TKEY
        || (rtype == rtype::SIG && covered == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a test record's owner is written.
    enum Owner<'a> {
        /// A pointer to the question.
        Question,
        /// Uncompressed wire bytes (any case).
        Wire(&'a [u8]),
        /// A label, then a pointer to the question.
        LabelThenQuestion(&'a [u8]),
        /// A pointer to the owner of an earlier record (by index).
        PointerTo(usize),
    }

    const QUESTION: &[u8] = b"\x07Example\x03com\x00";

    /// A response to `Example.com. A` with A records of the given owners and last octets.
    fn response(records: &[(Owner<'_>, u8)]) -> Vec<u8> {
        let mut buf = vec![0, 1, 0x84, 0, 0, 1];
        buf.extend_from_slice(&(records.len() as u16).to_be_bytes());
        buf.extend_from_slice(&[0, 0, 0, 0]);
        buf.extend_from_slice(QUESTION);
        buf.extend_from_slice(&[0, 1, 0, 1]);
        let mut owner_at = Vec::new();
        for (owner, octet) in records {
            owner_at.push(buf.len() as u16);
            match owner {
                Owner::Question => buf.extend_from_slice(&[0xc0, 12]),
                Owner::Wire(wire) => buf.extend_from_slice(wire),
                Owner::LabelThenQuestion(label) => {
                    buf.push(label.len() as u8);
                    buf.extend_from_slice(label);
                    buf.extend_from_slice(&[0xc0, 12]);
                }
                Owner::PointerTo(index) => {
                    buf.extend_from_slice(&(0xc000 | owner_at[*index]).to_be_bytes())
                }
            }
            buf.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, *octet]);
        }
        buf
    }

    /// The RRsets as (owner, rdata) of a loaded response, in bytewise order of the owners.
    fn split(buf: &[u8]) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
        let message = Message::parse(buf).unwrap();
        let mut splitter = RRsetSplitter::default();
        let qname = b"\x07example\x03com\x00";
        splitter.load(&message, qname).unwrap();
        splitter
            .rrsets()
            .map(|rrset| {
                let rdata = rrset.rdata().map(<[u8]>::to_vec).collect();
                (rrset.owner.to_vec(), rdata)
            })
            .collect()
    }

    fn a(octets: &[u8]) -> Vec<Vec<u8>> {
        octets.iter().map(|&octet| vec![192, 0, 2, octet]).collect()
    }

    #[test]
    fn one_owner_written_in_different_ways_is_one_rrset() {
        let buf = response(&[
            (Owner::Question, 2),
            (Owner::Wire(b"\x07EXAMPLE\x03Com\x00"), 1),
            (Owner::LabelThenQuestion(b"WWW"), 4),
            (Owner::PointerTo(2), 4),
            (Owner::Wire(b"\x03www\x07example\x03com\x00"), 3),
            (Owner::PointerTo(1), 2),
        ]);
        assert_eq!(
            split(&buf),
            [
                (b"\x03www\x07example\x03com\x00".to_vec(), a(&[3, 4])),
                (QUESTION.to_ascii_lowercase(), a(&[1, 2])),
            ]
        );
    }

    #[test]
    fn owners_past_the_shared_ones_split_the_same() {
        let labels: Vec<[u8; 2]> = (0..2 * MAX_SHARED_OWNERS as u8)
            .map(|i| [b'h', b'a' + i])
            .collect();
        let mut records = Vec::new();
        for (index, label) in labels.iter().enumerate() {
            records.push((Owner::LabelThenQuestion(label), 9));
            records.push((Owner::PointerTo(2 * index), 1));
        }
        let rrsets = split(&response(&records));
        assert_eq!(rrsets.len(), labels.len());
        for ((owner, rdata), label) in rrsets.iter().zip(&labels) {
            assert_eq!(&owner[..3], &[2, label[0], label[1]]);
            assert_eq!(&owner[3..], &QUESTION.to_ascii_lowercase()[..]);
            assert_eq!(rdata, &a(&[1, 9]));
        }
    }
}
