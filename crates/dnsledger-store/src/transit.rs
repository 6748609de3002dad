//! Rows in transit from a shard to a router: the body of `GET /internal/v1/rows/...`.
//!
//! A body is a sequence of frames, each `varint length | payload`. A row frame carries the
//! row's [`Position`] and the row itself, its value in the stored encoding
//! ([`value::to_bytes`]); the last frame says how the shard's answer ended. A body that
//! stops without its end frame was cut short, and the reader says so: a router never takes
//! a truncated answer for a complete one.
//!
//! Row payload: `0 | varint scan | bytes key | varint period | bytes rrname | u16 rrtype |
//! flags | [bytes bailiwick] | varint n | n * bytes rdata | bytes value`, where `bytes` is
//! `varint length | bytes` and flags are 1 = RRset row, 2 = has a bailiwick, 4 = zone file.
//! End payload: `1 | 0 (complete) or 1 (failed) | UTF-8 message`.

use std::io::Read;

use dnsledger_rrset::RRset;
use dnsledger_wire::NameBuf;

use crate::keys::Source;
use crate::query::{Position, Row};
use crate::value::{self, push_varint, take_varint, Value};

/// The largest frame a reader accepts: bounds its memory whatever a peer sends.
const MAX_FRAME: u64 = 16 << 20;

const ROW: u8 = 0;
const END: u8 = 1;
const RRSET_ROW: u8 = 1;
const HAS_BAILIWICK: u8 = 2;
const ZONE_FILE: u8 = 4;

/// How a shard's answer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransitEnd {
    /// Every row the request selected, or the number it wanted.
    Complete,
    /// The shard could not go on (its time budget, a store error).
    Failed(String),
}

/// One frame of a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Row(Position, Row),
    End(TransitEnd),
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TransitError {
    #[error("reading: {0}")]
    Io(#[from] std::io::Error),
    #[error("the answer stopped before its end frame")]
    CutShort,
    #[error("a frame of {0} bytes is over the limit")]
    TooLarge(u64),
    #[error("undecodable frame: {0}")]
    Malformed(&'static str),
}

/// Appends the frame of one row, length first.
pub fn write_row(out: &mut Vec<u8>, position: &Position, row: &Row) {
    framed(out, |payload| encode_row(position, row, payload));
}

/// Appends the end frame, length first.
pub fn write_end(out: &mut Vec<u8>, end: &TransitEnd) {
    framed(out, |payload| encode_end(end, payload));
}

fn framed(out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
    let mut payload = Vec::with_capacity(128);
    encode(&mut payload);
    push_varint(out, payload.len() as u64);
    out.extend_from_slice(&payload);
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn encode_row(position: &Position, row: &Row, out: &mut Vec<u8>) {
    out.push(ROW);
    push_varint(out, u64::from(position.scan));
    push_bytes(out, &position.key);
    push_varint(out, u64::from(position.period));
    let parts = row.parts();
    push_bytes(out, parts.rrname);
    out.extend_from_slice(&parts.rrtype.to_be_bytes());
    let mut flags = 0;
    if row.is_rrset_row {
        flags |= RRSET_ROW;
    }
    if parts.bailiwick.is_some() {
        flags |= HAS_BAILIWICK;
    }
    if row.source == Source::ZoneFile {
        flags |= ZONE_FILE;
    }
    out.push(flags);
    if let Some(bailiwick) = parts.bailiwick {
        push_bytes(out, bailiwick);
    }
    push_varint(out, parts.rdata().count() as u64);
    for rdata in parts.rdata() {
        push_bytes(out, rdata);
    }
    let value = Value {
        seen: row.seen,
        activity: row.activity.clone(),
    };
    push_bytes(out, &value::to_bytes(&value));
}

fn encode_end(end: &TransitEnd, out: &mut Vec<u8>) {
    out.push(END);
    match end {
        TransitEnd::Complete => out.push(0),
        TransitEnd::Failed(message) => {
            out.push(1);
            out.extend_from_slice(message.as_bytes());
        }
    }
}

/// Reads the frames of a body, ending after the end frame.
pub struct FrameReader<R> {
    reader: R,
    ended: bool,
}

impl<R: Read> FrameReader<R> {
    pub fn new(reader: R) -> FrameReader<R> {
        FrameReader {
            reader,
            ended: false,
        }
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, TransitError> {
        let Some(length) = self.length()? else {
            return Err(TransitError::CutShort);
        };
        if length > MAX_FRAME {
            return Err(TransitError::TooLarge(length));
        }
        let mut payload = vec![0; length as usize];
        self.reader
            .read_exact(&mut payload)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => TransitError::CutShort,
                _ => TransitError::Io(e),
            })?;
        decode(&payload).map(Some)
    }

    /// The next frame's length; `None` at the end of the body.
    fn length(&mut self) -> Result<Option<u64>, TransitError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let mut byte = [0u8];
            if self.reader.read(&mut byte)? == 0 {
                return match shift {
                    0 => Ok(None),
                    _ => Err(TransitError::CutShort),
                };
            }
            value |= u64::from(byte[0] & 0x7f) << shift;
            if byte[0] & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err(TransitError::Malformed("frame length"))
    }
}

impl<R: Read> Iterator for FrameReader<R> {
    type Item = Result<Frame, TransitError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        let frame = self.next_frame().transpose()?;
        self.ended = !matches!(frame, Ok(Frame::Row(..)));
        Some(frame)
    }
}

fn decode(payload: &[u8]) -> Result<Frame, TransitError> {
    let Some((&tag, mut rest)) = payload.split_first() else {
        return Err(TransitError::Malformed("empty frame"));
    };
    match tag {
        ROW => decode_row(&mut rest),
        END => decode_end(rest),
        _ => Err(TransitError::Malformed("unknown frame kind")),
    }
}

fn decode_end(rest: &[u8]) -> Result<Frame, TransitError> {
    match rest.split_first() {
        Some((0, [])) => Ok(Frame::End(TransitEnd::Complete)),
        Some((1, message)) => Ok(Frame::End(TransitEnd::Failed(
            String::from_utf8_lossy(message).into_owned(),
        ))),
        _ => Err(TransitError::Malformed("end frame")),
    }
}

fn decode_row(bytes: &mut &[u8]) -> Result<Frame, TransitError> {
    let malformed = TransitError::Malformed;
    let position = Position {
        scan: take_u32(bytes).ok_or(malformed("position"))?,
        key: take_bytes(bytes).ok_or(malformed("position"))?.to_vec(),
        period: take_u32(bytes).ok_or(malformed("position"))?,
    };
    let rrname = take_name(bytes).ok_or(malformed("rrname"))?;
    let (rrtype, flags) = match bytes {
        [high, low, flags, rest @ ..] => {
            *bytes = rest;
            (u16::from_be_bytes([*high, *low]), *flags)
        }
        _ => return Err(malformed("rrtype")),
    };
    let bailiwick = match flags & HAS_BAILIWICK {
        0 => None,
        _ => Some(take_name(bytes).ok_or(malformed("bailiwick"))?),
    };
    let count = take_varint(bytes)
        .and_then(|count| u16::try_from(count).ok())
        .ok_or(malformed("rdata count"))?;
    let mut rdata = Vec::with_capacity(usize::from(count).min(bytes.len()));
    for _ in 0..count {
        let one = take_bytes(bytes).filter(|r| r.len() <= usize::from(u16::MAX));
        rdata.push(one.ok_or(malformed("rdata"))?);
    }
    let value = take_bytes(bytes)
        .and_then(value::decode)
        .ok_or(malformed("value"))?;
    if !bytes.is_empty() {
        return Err(malformed("bytes after the row"));
    }
    let mut identity = Vec::new();
    RRset::encode(&mut identity, rrname, rrtype, bailiwick, rdata);
    let source = match flags & ZONE_FILE {
        0 => Source::Sensor,
        _ => Source::ZoneFile,
    };
    let mut row = Row::new(identity, value.seen, source, flags & RRSET_ROW != 0);
    row.activity = value.activity;
    Ok(Frame::Row(position, row))
}

fn take_u32(bytes: &mut &[u8]) -> Option<u32> {
    take_varint(bytes).and_then(|v| u32::try_from(v).ok())
}

fn take_bytes<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let length = usize::try_from(take_varint(bytes)?).ok()?;
    let (taken, rest) = bytes.split_at_checked(length)?;
    *bytes = rest;
    Some(taken)
}

/// A name in canonical wire form, checked: rows are presented as text from it.
fn take_name<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let wire = take_bytes(bytes)?;
    NameBuf::from_wire(wire).ok()?;
    Some(wire)
}

#[cfg(test)]
mod tests {
    use dnsledger_rrset::Seen;

    use super::*;

    fn row(rrset_row: bool, bailiwick: Option<&[u8]>) -> Row {
        let mut identity = Vec::new();
        let rdata: [&[u8]; 2] = [&[192, 0, 2, 1], &[192, 0, 2, 2]];
        RRset::encode(
            &mut identity,
            b"\x03www\x07example\x03com\x00",
            1,
            bailiwick,
            rdata,
        );
        let seen = Seen {
            time_first: 1_700_000_000,
            time_last: 1_700_100_000,
            count: 7,
        };
        let mut row = Row::new(identity, seen, Source::Sensor, rrset_row);
        row.activity =
            value::decode(&value::encoded(&Seen::once(1_700_000_000))).and_then(|v| v.activity);
        row
    }

    fn body(frames: &[Frame]) -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames {
            match frame {
                Frame::Row(position, row) => write_row(&mut out, position, row),
                Frame::End(end) => write_end(&mut out, end),
            }
        }
        out
    }

    fn position(scan: u32) -> Position {
        Position {
            scan,
            key: vec![1, 2, 3],
            period: 2,
        }
    }

    #[test]
    fn rows_and_the_end_read_back_as_written() {
        let frames = vec![
            Frame::Row(position(1), row(true, Some(b"\x03com\x00"))),
            Frame::Row(position(2), row(false, None)),
            Frame::End(TransitEnd::Failed("budget".into())),
        ];
        let read: Vec<Frame> = FrameReader::new(&body(&frames)[..])
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read, frames);
    }

    #[test]
    fn a_body_without_its_end_frame_is_cut_short() {
        let full = body(&[Frame::Row(position(1), row(true, None))]);
        let results: Vec<_> = FrameReader::new(&full[..]).collect();
        assert!(matches!(results.last(), Some(Err(TransitError::CutShort))));
        let half = &full[..full.len() / 2];
        let results: Vec<_> = FrameReader::new(half).collect();
        assert!(matches!(results.last(), Some(Err(TransitError::CutShort))));
    }

    #[test]
    fn every_mutation_and_cut_of_a_body_reads_to_an_end_without_panicking() {
        let body = body(&[
            Frame::Row(position(1), row(true, Some(b"\x03com\x00"))),
            Frame::Row(position(2), row(false, None)),
            Frame::End(TransitEnd::Complete),
        ]);
        let read_all = |bytes: &[u8]| {
            let frames = FrameReader::new(bytes).count();
            assert!(frames <= 3, "{frames} frames from {} bytes", bytes.len());
        };
        for at in 0..body.len() {
            read_all(&body[..at]);
            for flip in [0x01, 0x10, 0x80, 0xff] {
                let mut mutated = body.clone();
                mutated[at] ^= flip;
                read_all(&mutated);
            }
        }
    }

    #[test]
    fn hostile_frames_are_refused_not_followed() {
        let mut huge = Vec::new();
        push_varint(&mut huge, MAX_FRAME + 1);
        assert!(matches!(
            FrameReader::new(&huge[..]).next(),
            Some(Err(TransitError::TooLarge(_)))
        ));
        let mut bad_name = body(&[Frame::Row(position(1), row(true, None))]);
        // The rrname's first label length, pointed past the name's end.
        let label = bad_name.windows(4).position(|w| w == b"\x03www").unwrap();
        bad_name[label] = 60;
        assert!(matches!(
            FrameReader::new(&bad_name[..]).next(),
            Some(Err(TransitError::Malformed(_)))
        ));
        // More rdata than an RRset holds (a row's count is 16 bits): refused before any is read.
        let mut too_many = Vec::new();
        framed(&mut too_many, |payload| {
            payload.push(ROW);
            push_varint(payload, 1);
            push_bytes(payload, &[1]);
            push_varint(payload, 0);
            push_bytes(payload, b"\x00");
            payload.extend_from_slice(&1u16.to_be_bytes());
            payload.push(RRSET_ROW);
            push_varint(payload, 70_000);
        });
        assert!(matches!(
            FrameReader::new(&too_many[..]).next(),
            Some(Err(TransitError::Malformed("rdata count")))
        ));
    }
}
