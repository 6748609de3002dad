//! Splits one response into RRsets in canonical form.

use std::ops::Range;

use dnsledger_wire::{class, rtype, Message, Record, WireError};

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
    pub fn rdata(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
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
    pub fn load(&mut self, message: &Message<'_>) -> Result<(), RecordsError> {
        self.bytes.clear();
        self.spans.clear();
        self.skipped_meta = 0;
        self.skipped_class = 0;
        for record in message.records() {
            self.add(&record?)?;
        }
        let bytes = &self.bytes;
        self.spans.sort_unstable_by(|a, b| {
            (
                &bytes[a.owner.clone()],
                a.rtype,
                a.covered,
                &bytes[a.rdata.clone()],
            )
                .cmp(&(
                    &bytes[b.owner.clone()],
                    b.rtype,
                    b.covered,
                    &bytes[b.rdata.clone()],
                ))
        });
        Ok(())
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
        let owner_start = self.bytes.len();
        record.owner.write_canonical(&mut self.bytes);
        let rdata_start = self.bytes.len();
        record.canonical_rdata(&mut self.bytes)?;
        self.spans.push(RecordSpan {
            owner: owner_start..rdata_start,
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
                    && bytes[a.owner.clone()] == bytes[b.owner.clone()]
            })
            .map(move |records| SplitRRset {
                owner: &bytes[records[0].owner.clone()],
                rtype: records[0].rtype,
                records,
                bytes,
            })
    }
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
