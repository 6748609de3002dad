//! Messages, questions and resource records, read in place from a byte buffer.

use std::iter::FusedIterator;

use crate::header::HEADER_LEN;
use crate::name::{parse_name, parse_name_canonical, Compression, Name};
use crate::{rdata, rtype, Header, WireError};

/// A DNS message: the header and the first question, parsed eagerly; the records are read
/// lazily by [`Message::records`]. Parsing allocates nothing.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    buf: &'a [u8],
    header: Header,
    question: Option<Question<'a>>,
    /// Offset just after the first question (or the header if there is none).
    after_question: usize,
}

/// A question: name, type and class.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    /// The name asked about.
    pub qname: Name<'a>,
    /// The type asked for.
    pub qtype: u16,
    /// The class asked for.
    pub qclass: u16,
}

/// The message section a record was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// Answer section.
    Answer,
    /// Authority section.
    Authority,
    /// Additional section.
    Additional,
}

/// A resource record inside a message buffer. Its rdata is not validated; see
/// [`Record::canonical_rdata`].
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The section the record was read from.
    pub section: Section,
    /// The owner name.
    pub owner: Name<'a>,
    /// The record type.
    pub rtype: u16,
    /// The class (for OPT: the UDP payload size).
    pub class: u16,
    /// The TTL (for OPT: extended rcode, version and flags).
    pub ttl: u32,
    buf: &'a [u8],
    rdata_start: usize,
    rdata_len: u16,
}

impl<'a> Message<'a> {
    /// Parses the header and the FIRST question (if qdcount >= 1); records are parsed lazily.
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, WireError> {
        Message::parse_with(buf, parse_question)
    }

    /// As [`Message::parse`], also appending the canonical form of the first question's
    /// name (uncompressed, lower case) to `qname` in the same walk of the name: for callers
    /// that need it for every message, as a sensor pairing queries with responses does.
    /// Nothing is appended when there is no question; on `Err`, `qname` is left as it was.
    pub fn parse_with_canonical_qname(
        buf: &'a [u8],
        qname: &mut Vec<u8>,
    ) -> Result<Message<'a>, WireError> {
        let mark = qname.len();
        let parsed = Message::parse_with(buf, |buf, pos| {
            let (name, end) =
                parse_name_canonical(buf, pos, buf.len(), Compression::Allowed, qname)?;
            question_after_name(buf, name, end)
        });
        if parsed.is_err() {
            qname.truncate(mark);
        }
        parsed
    }

    fn parse_with(
        buf: &'a [u8],
        question: impl FnOnce(&'a [u8], usize) -> Result<(Question<'a>, usize), WireError>,
    ) -> Result<Message<'a>, WireError> {
        let header = Header::parse(buf)?;
        let (question, after_question) = if header.qdcount >= 1 {
            let (q, end) = question(buf, HEADER_LEN)?;
            (Some(q), end)
        } else {
            (None, HEADER_LEN)
        };
        Ok(Message {
            buf,
            header,
            question,
            after_question,
        })
    }

    /// The header, with the counts as claimed by the message.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The first question.
    pub fn question(&self) -> Option<&Question<'a>> {
        self.question.as_ref()
    }

    /// All records of the answer, authority and additional sections in wire order (skipping
    /// the remaining questions if qdcount > 1).
    ///
    /// Yields `Err` once and then `None` when the message is damaged: after a bad record
    /// header the following offsets cannot be trusted. A record whose rdata is malformed is
    /// still yielded `Ok`: rdata is checked by [`Record::canonical_rdata`]. Counts larger than
    /// the message can hold cost nothing: the iteration stops at the first short record.
    pub fn records(&self) -> Records<'a> {
        Records {
            buf: self.buf,
            pos: self.after_question,
            questions_left: self.header.qdcount.saturating_sub(1),
            left: [
                self.header.ancount,
                self.header.nscount,
                self.header.arcount,
            ],
            section: 0,
            done: false,
        }
    }

    /// The whole message.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
}

fn parse_question(buf: &[u8], pos: usize) -> Result<(Question<'_>, usize), WireError> {
    let (qname, pos) = parse_name(buf, pos, buf.len(), Compression::Allowed)?;
    question_after_name(buf, qname, pos)
}

/// The rest of a question whose name ends at `pos`.
fn question_after_name<'a>(
    buf: &'a [u8],
    qname: Name<'a>,
    pos: usize,
) -> Result<(Question<'a>, usize), WireError> {
    let qtype = read_u16(buf, pos)?;
    let qclass = read_u16(buf, pos + 2)?;
    let q = Question {
        qname,
        qtype,
        qclass,
    };
    Ok((q, pos + 4))
}

fn read_u16(buf: &[u8], pos: usize) -> Result<u16, WireError> {
    match buf.get(pos..pos + 2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(WireError::Truncated),
    }
}

fn read_u32(buf: &[u8], pos: usize) -> Result<u32, WireError> {
    match buf.get(pos..pos + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(WireError::Truncated),
    }
}

/// Reads one record header and locates its rdata (which must lie inside the buffer).
fn parse_record(
    buf: &[u8],
    pos: usize,
    section: Section,
) -> Result<(Record<'_>, usize), WireError> {
    let (owner, pos) = parse_name(buf, pos, buf.len(), Compression::Allowed)?;
    let rtype = read_u16(buf, pos)?;
    let class = read_u16(buf, pos + 2)?;
    let ttl = read_u32(buf, pos + 4)?;
    let rdata_len = read_u16(buf, pos + 8)?;
    let rdata_start = pos + 10;
    let end = rdata_start + usize::from(rdata_len);
    if end > buf.len() {
        return Err(WireError::Truncated);
    }
    let record = Record {
        section,
        owner,
        rtype,
        class,
        ttl,
        buf,
        rdata_start,
        rdata_len,
    };
    Ok((record, end))
}

/// Iterator over the records of a message; see [`Message::records`].
#[derive(Clone, Debug)]
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    questions_left: u16,
    /// Records still to read in the answer, authority and additional sections.
    left: [u16; 3],
    section: usize,
    done: bool,
}

const SECTIONS: [Section; 3] = [Section::Answer, Section::Authority, Section::Additional];

impl<'a> Records<'a> {
    fn fail(&mut self, e: WireError) -> Option<Result<Record<'a>, WireError>> {
        self.done = true;
        Some(Err(e))
    }

    fn skip_questions(&mut self) -> Result<(), WireError> {
        while self.questions_left > 0 {
            let (_, end) = parse_question(self.buf, self.pos)?;
            self.pos = end;
            self.questions_left -= 1;
        }
        Ok(())
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Err(e) = self.skip_questions() {
            return self.fail(e);
        }
        loop {
            let (Some(left), Some(&section)) =
                (self.left.get_mut(self.section), SECTIONS.get(self.section))
            else {
                self.done = true;
                return None;
            };
            if *left == 0 {
                self.section += 1;
                continue;
            }
            *left -= 1;
            return match parse_record(self.buf, self.pos, section) {
                Ok((record, end)) => {
                    self.pos = end;
                    Some(Ok(record))
                }
                Err(e) => self.fail(e),
            };
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            return (0, Some(0));
        }
        let claimed: usize = self.left.iter().map(|&n| usize::from(n)).sum();
        // Every record needs at least 11 bytes; a final Err may come on top.
        let room = self.buf.len().saturating_sub(self.pos) / 11;
        (0, Some(claimed.min(room) + 1))
    }
}

impl FusedIterator for Records<'_> {}

impl<'a> Record<'a> {
    /// The rdata exactly as on the wire (it may hold compression pointers).
    pub fn rdata_wire(&self) -> &'a [u8] {
        let end = self.rdata_start + usize::from(self.rdata_len);
        self.buf.get(self.rdata_start..end).unwrap_or_default()
    }

    /// Appends the RFC 4034 section 6.2 canonical form of the rdata to `out`: names
    /// decompressed and lower-cased in every type that embeds names, everything else
    /// byte-identical. The structure is validated for every type with a known layout
    /// (A is exactly 4 bytes, MX is a u16 and a name that ends the rdata...); other types
    /// are copied opaque.
    ///
    /// Compression pointers are followed in the types of RFC 3597 section 4 (NS MD MF
    /// CNAME SOA MB MG MR PTR MINFO MX, and RP AFSDB RT SIG PX NXT NAPTR SRV KX); in any
    /// other type a pointer makes the rdata malformed.
    ///
    /// On `Err` the rdata is malformed and `out` is left as it was.
    pub fn canonical_rdata(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let end = self.rdata_start + usize::from(self.rdata_len);
        rdata::canonical::write_canonical(self.rtype, self.buf, self.rdata_start, end, out)
    }

    /// For RRSIG: the type covered (the first two rdata bytes). `None` for other types or
    /// if the rdata is too short.
    pub fn rrsig_covered(&self) -> Option<u16> {
        if self.rtype != rtype::RRSIG {
            return None;
        }
        match self.rdata_wire() {
            &[a, b, ..] => Some(u16::from_be_bytes([a, b])),
            _ => None,
        }
    }

    /// Offset of the rdata in the message buffer.
    pub fn rdata_offset(&self) -> usize {
        self.rdata_start
    }
}
