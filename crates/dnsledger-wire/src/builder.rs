//! A small message composer for tests and synthetic captures.

use crate::message::Section;
use crate::{class, Header, NameBuf};

/// Composes a DNS message: header flags, at most one question, records with raw rdata.
///
/// Owner names and the question name are compressed against earlier names unless
/// [`MessageBuilder::compression`] turns that off; rdata is written exactly as given.
/// Records are written answer, authority, additional (in call order within a section) and
/// the header counts are set from what was added.
///
/// ```
/// use dnsledger_wire::{rtype, Message, MessageBuilder, NameBuf, Section};
/// let name = NameBuf::from_text("example.com.").unwrap();
/// let wire = MessageBuilder::query(7, &name, rtype::A)
///     .response()
///     .record(Section::Answer, &name, rtype::A, 300, &[192, 0, 2, 1])
///     .build();
/// let msg = Message::parse(&wire).unwrap();
/// assert_eq!(msg.header().ancount, 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MessageBuilder {
    header: Header,
    question: Option<(NameBuf, u16, u16)>,
    records: Vec<BuiltRecord>,
    no_compression: bool,
}

#[derive(Clone, Debug)]
struct BuiltRecord {
    section: Section,
    owner: NameBuf,
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: Vec<u8>,
}

impl MessageBuilder {
    /// A builder with these header fields (the counts are ignored and computed).
    pub fn new(header: Header) -> MessageBuilder {
        MessageBuilder {
            header,
            ..MessageBuilder::default()
        }
    }

    /// A query (QR=0, RD=0, opcode QUERY) with one class IN question.
    pub fn query(id: u16, qname: &NameBuf, qtype: u16) -> MessageBuilder {
        let mut b = MessageBuilder::new(Header {
            id,
            ..Header::default()
        });
        b.question(qname, qtype, class::IN);
        b
    }

    /// Turns the message into a response: QR=1 (AA and RCODE are left as they are).
    pub fn response(&mut self) -> &mut MessageBuilder {
        self.header.qr = true;
        self
    }

    /// Mutable access to the header fields (id, flags, opcode, rcode).
    pub fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }

    /// Sets the single question.
    pub fn question(&mut self, qname: &NameBuf, qtype: u16, qclass: u16) -> &mut MessageBuilder {
        self.question = Some((qname.clone(), qtype, qclass));
        self
    }

    /// Adds a class IN record with raw rdata (at most 65535 bytes are written).
    pub fn record(
        &mut self,
        section: Section,
        owner: &NameBuf,
        rtype: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> &mut MessageBuilder {
        self.record_with_class(section, owner, rtype, class::IN, ttl, rdata)
    }

    /// Adds a record of any class with raw rdata (at most 65535 bytes are written).
    pub fn record_with_class(
        &mut self,
        section: Section,
        owner: &NameBuf,
        rtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> &mut MessageBuilder {
        self.records.push(BuiltRecord {
            section,
            owner: owner.clone(),
            rtype,
            class,
            ttl,
            rdata: rdata.get(..usize::from(u16::MAX)).unwrap_or(rdata).to_vec(),
        });
        self
    }

    /// Turns name compression of owner and question names on (the default) or off.
    pub fn compression(&mut self, on: bool) -> &mut MessageBuilder {
        self.no_compression = !on;
        self
    }

    /// The message bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut header = self.header;
        header.qdcount = u16::from(self.question.is_some());
        header.ancount = self.count(Section::Answer);
        header.nscount = self.count(Section::Authority);
        header.arcount = self.count(Section::Additional);
        let mut out = header.to_bytes().to_vec();
        let mut names = NameTable::default();
        if let Some((qname, qtype, qclass)) = &self.question {
            self.write_name(&mut out, &mut names, qname);
            out.extend_from_slice(&qtype.to_be_bytes());
            out.extend_from_slice(&qclass.to_be_bytes());
        }
        for section in [Section::Answer, Section::Authority, Section::Additional] {
            for r in self.records.iter().filter(|r| r.section == section) {
                self.write_name(&mut out, &mut names, &r.owner);
                out.extend_from_slice(&r.rtype.to_be_bytes());
                out.extend_from_slice(&r.class.to_be_bytes());
                out.extend_from_slice(&r.ttl.to_be_bytes());
                out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes()); // capped above
                out.extend_from_slice(&r.rdata);
            }
        }
        out
    }

    fn count(&self, section: Section) -> u16 {
        let n = self.records.iter().filter(|r| r.section == section).count();
        u16::try_from(n).unwrap_or(u16::MAX)
    }

    fn write_name(&self, out: &mut Vec<u8>, names: &mut NameTable, name: &NameBuf) {
        if self.no_compression {
            out.extend_from_slice(name.as_wire());
        } else {
            names.write(out, name.as_wire());
        }
    }
}

/// Suffixes already written and where, for compression.
#[derive(Default)]
struct NameTable {
    entries: Vec<(Vec<u8>, u16)>,
}

impl NameTable {
    /// Writes `wire`, replacing its longest already-written suffix by a pointer.
    fn write(&mut self, out: &mut Vec<u8>, wire: &[u8]) {
        let mut pos = 0usize;
        while let Some(&len) = wire.get(pos) {
            let suffix = wire.get(pos..).unwrap_or_default();
            if len == 0 {
                out.push(0);
                return;
            }
            if let Some(&(_, offset)) = self.entries.iter().find(|(s, _)| s == suffix) {
                out.extend_from_slice(&(0xc000 | offset).to_be_bytes());
                return;
            }
            // Pointers hold 14 bits: later suffixes cannot be pointed at.
            if let Ok(offset) = u16::try_from(out.len()) {
                if offset < 0x4000 {
                    self.entries.push((suffix.to_vec(), offset));
                }
            }
            let label = wire
                .get(pos..pos + 1 + usize::from(len))
                .unwrap_or_default();
            out.extend_from_slice(label);
            pos += 1 + usize::from(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rtype, Message};

    fn nb(s: &str) -> NameBuf {
        NameBuf::from_text(s).unwrap()
    }

    #[test]
    fn compressed_and_uncompressed_parse_the_same() {
        let (a, b) = (nb("www.example.com."), nb("mail.example.com."));
        let mut builder = MessageBuilder::query(0x4242, &a, rtype::A);
        builder
            .response()
            .record(Section::Additional, &b, rtype::A, 60, &[192, 0, 2, 2])
            .record(Section::Answer, &a, rtype::A, 300, &[192, 0, 2, 1])
            .record(
                Section::Authority,
                &nb("example.com."),
                rtype::NS,
                300,
                b"\x01x\x00",
            );
        builder.header_mut().aa = true;
        let compressed = builder.build();
        let plain = builder.compression(false).build();
        assert!(compressed.len() < plain.len());
        for wire in [&compressed, &plain] {
            let msg = Message::parse(wire).unwrap();
            let h = msg.header();
            assert!(h.qr && h.aa && !h.rd);
            assert_eq!(
                (h.id, h.qdcount, h.ancount, h.nscount, h.arcount),
                (0x4242, 1, 1, 1, 1)
            );
            assert_eq!(msg.question().unwrap().qname.to_name_buf(), a);
            let got: Vec<(Section, NameBuf, Vec<u8>)> = msg
                .records()
                .map(|r| r.unwrap())
                .map(|r| (r.section, r.owner.to_name_buf(), r.rdata_wire().to_vec()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (Section::Answer, a.clone(), vec![192, 0, 2, 1]),
                    (
                        Section::Authority,
                        nb("example.com."),
                        b"\x01x\x00".to_vec()
                    ),
                    (Section::Additional, b.clone(), vec![192, 0, 2, 2]),
                ]
            );
        }
        // The second www.example.com. is a bare pointer to the question name at offset 12.
        assert_eq!(&compressed[33..35], &[0xc0, 12]);
    }

    #[test]
    fn no_question_and_root_owner() {
        let mut b = MessageBuilder::new(Header {
            id: 1,
            opcode: crate::opcode::NOTIFY,
            ..Header::default()
        });
        b.record_with_class(
            Section::Answer,
            &NameBuf::root(),
            rtype::TXT,
            class::CH,
            0,
            b"\x00",
        );
        let wire = b.build();
        let msg = Message::parse(&wire).unwrap();
        assert!(msg.question().is_none());
        assert_eq!(msg.header().opcode, crate::opcode::NOTIFY);
        let r = msg.records().next().unwrap().unwrap();
        assert!(r.owner.is_root());
        assert_eq!(
            (r.class, r.rtype, r.rdata_wire()),
            (class::CH, rtype::TXT, &b"\x00"[..])
        );
    }
}
