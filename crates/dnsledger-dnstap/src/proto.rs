//! The dnstap protobuf schema (`dnstap.proto`), the fields the sensor needs, decoded by hand.
//!
//! Protobuf encodes a message as fields: a varint key (field number << 3 | wire type) and a
//! value whose form the wire type gives: varint (0), 8 bytes (1), length-delimited (2), group
//! start and end (3, 4, deprecated but skippable), 4 bytes (5). Unknown fields are skipped
//! whatever their wire type. Nothing is copied: byte fields borrow the frame. Every length is
//! checked against the bytes left, so hostile input fails with a [`ProtoError`].

/// `Message.type` values.
pub mod message_type {
    pub const AUTH_QUERY: u64 = 1;
    pub const AUTH_RESPONSE: u64 = 2;
    pub const RESOLVER_QUERY: u64 = 3;
    pub const RESOLVER_RESPONSE: u64 = 4;
    pub const CLIENT_QUERY: u64 = 5;
    pub const CLIENT_RESPONSE: u64 = 6;
}

/// `SocketProtocol` values.
pub mod socket_protocol {
    pub const UDP: u64 = 1;
    pub const TCP: u64 = 2;
    pub const DOT: u64 = 3;
    pub const DOH: u64 = 4;
    pub const DNSCRYPT_UDP: u64 = 5;
    pub const DNSCRYPT_TCP: u64 = 6;
    pub const DOQ: u64 = 7;
}

/// `Dnstap.type` MESSAGE: the only kind of frame dnstap defines.
pub const DNSTAP_MESSAGE: u64 = 1;

/// Groups nested deeper than this are refused (no real encoder nests them at all).
const MAX_GROUP_DEPTH: usize = 16;

/// Why a frame is not a valid protobuf of the expected shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoError {
    #[error("a varint runs past the end")]
    TruncatedVarint,
    #[error("a varint is longer than 64 bits")]
    VarintOverflow,
    #[error("a field of {len} bytes runs past the end ({left} left)")]
    LengthOverrun { len: u64, left: usize },
    #[error("a fixed-width field runs past the end")]
    TruncatedFixed,
    #[error("wire type {0} does not exist")]
    BadWireType(u64),
    #[error("field number {0} is out of range")]
    BadFieldNumber(u64),
    #[error("a group ends that did not start, or ends with another number")]
    UnbalancedGroup,
    #[error("groups nested deeper than {MAX_GROUP_DEPTH}")]
    GroupsTooDeep,
    #[error("field {field} has wire type {wire_type}, not the schema's")]
    WrongWireType { field: u32, wire_type: u8 },
}

/// A field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const BYTES: u8 = 2;
const GROUP_START: u8 = 3;
const GROUP_END: u8 = 4;
const FIXED32: u8 = 5;

/// A cursor over the fields of one message.
struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The next field that is not a group (groups are skipped whole); `None` at the end.
    fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, ProtoError> {
        while !self.buf.is_empty() {
            let (field, wire_type) = self.key()?;
            match wire_type {
                GROUP_START => self.skip_group(field, 1)?,
                GROUP_END => return Err(ProtoError::UnbalancedGroup),
                _ => return Ok(Some((field, self.value(wire_type)?))),
            }
        }
        Ok(None)
    }

    /// The value of a field of `wire_type`, which is not a group's start or end.
    fn value(&mut self, wire_type: u8) -> Result<Value<'a>, ProtoError> {
        match wire_type {
            VARINT => Ok(Value::Varint(self.varint()?)),
            FIXED64 => match self.take(8) {
                Some(_) => Ok(Value::Fixed64),
                None => Err(ProtoError::TruncatedFixed),
            },
            BYTES => Ok(Value::Bytes(self.length_delimited()?)),
            _ => match self.take(4) {
                Some(&[a, b, c, d]) => Ok(Value::Fixed32(u32::from_le_bytes([a, b, c, d]))),
                _ => Err(ProtoError::TruncatedFixed),
            },
        }
    }

    /// A key: field number (1 to 2^29 - 1) and wire type (0 to 5).
    fn key(&mut self) -> Result<(u32, u8), ProtoError> {
        let key = self.varint()?;
        let wire_type = (key & 7) as u8;
        if wire_type > FIXED32 {
            return Err(ProtoError::BadWireType(key & 7));
        }
        match u32::try_from(key >> 3) {
            Ok(field) if (1..1 << 29).contains(&field) => Ok((field, wire_type)),
            _ => Err(ProtoError::BadFieldNumber(key >> 3)),
        }
    }

    /// Skips a group's fields up to its end, nested groups included.
    fn skip_group(&mut self, number: u32, depth: usize) -> Result<(), ProtoError> {
        if depth > MAX_GROUP_DEPTH {
            return Err(ProtoError::GroupsTooDeep);
        }
        while !self.buf.is_empty() {
            let (field, wire_type) = self.key()?;
            match wire_type {
                GROUP_START => self.skip_group(field, depth + 1)?,
                GROUP_END if field == number => return Ok(()),
                GROUP_END => return Err(ProtoError::UnbalancedGroup),
                _ => {
                    self.value(wire_type)?;
                }
            }
        }
        Err(ProtoError::UnbalancedGroup)
    }

    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut value = 0u64;
        for (index, &byte) in self.buf.iter().enumerate().take(10) {
            let bits = u64::from(byte & 0x7f);
            // The tenth byte holds bit 63 only.
            if index == 9 && bits > 1 {
                return Err(ProtoError::VarintOverflow);
            }
            value |= bits << (7 * index);
            if byte & 0x80 == 0 {
                self.buf = &self.buf[index + 1..];
                return Ok(value);
            }
        }
        match self.buf.len() >= 10 {
            true => Err(ProtoError::VarintOverflow),
            false => Err(ProtoError::TruncatedVarint),
        }
    }

    fn length_delimited(&mut self) -> Result<&'a [u8], ProtoError> {
        let len = self.varint()?;
        let left = self.buf.len();
        usize::try_from(len)
            .ok()
            .and_then(|len| self.take(len))
            .ok_or(ProtoError::LengthOverrun { len, left })
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        if len > self.buf.len() {
            return None;
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Some(head)
    }
}

fn varint_of(field: u32, value: Value<'_>) -> Result<u64, ProtoError> {
    match value {
        Value::Varint(v) => Ok(v),
        other => Err(wrong_type(field, other)),
    }
}

fn bytes_of<'a>(field: u32, value: Value<'a>) -> Result<&'a [u8], ProtoError> {
    match value {
        Value::Bytes(b) => Ok(b),
        other => Err(wrong_type(field, other)),
    }
}

fn fixed32_of(field: u32, value: Value<'_>) -> Result<u32, ProtoError> {
    match value {
        Value::Fixed32(v) => Ok(v),
        other => Err(wrong_type(field, other)),
    }
}

fn wrong_type(field: u32, value: Value<'_>) -> ProtoError {
    let wire_type = match value {
        Value::Varint(_) => VARINT,
        Value::Fixed64 => FIXED64,
        Value::Bytes(_) => BYTES,
        Value::Fixed32(_) => FIXED32,
    };
    ProtoError::WrongWireType { field, wire_type }
}

/// The outer `Dnstap` message: its type and the `Message` it carries (identity, version and
/// extra are skipped).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dnstap<'a> {
    pub kind: Option<u64>,
    pub message: Option<Message<'a>>,
}

impl<'a> Dnstap<'a> {
    pub fn decode(buf: &'a [u8]) -> Result<Dnstap<'a>, ProtoError> {
        let mut out = Dnstap::default();
        let mut fields = Fields { buf };
        while let Some((field, value)) = fields.next_field()? {
            match field {
                14 => out.message = Some(Message::decode(bytes_of(field, value)?)?),
                15 => out.kind = Some(varint_of(field, value)?),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// The fields of `dnstap.Message` the sensor uses. For RESOLVER_* messages the query's
/// initiator is the resolver and the responder the authoritative server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: Option<u64>,
    pub socket_family: Option<u64>,
    pub socket_protocol: Option<u64>,
    pub query_address: Option<&'a [u8]>,
    pub response_address: Option<&'a [u8]>,
    pub query_port: Option<u64>,
    pub response_port: Option<u64>,
    pub query_time_sec: Option<u64>,
    pub query_time_nsec: Option<u32>,
    pub query_message: Option<&'a [u8]>,
    /// The zone the resolver asked the server about (uncompressed wire form): its bailiwick.
    pub query_zone: Option<&'a [u8]>,
    pub response_time_sec: Option<u64>,
    pub response_time_nsec: Option<u32>,
    pub response_message: Option<&'a [u8]>,
}

impl<'a> Message<'a> {
    pub fn decode(buf: &'a [u8]) -> Result<Message<'a>, ProtoError> {
        let mut m = Message::default();
        let mut fields = Fields { buf };
        while let Some((field, value)) = fields.next_field()? {
            match field {
                1 => m.kind = Some(varint_of(field, value)?),
                2 => m.socket_family = Some(varint_of(field, value)?),
                3 => m.socket_protocol = Some(varint_of(field, value)?),
                4 => m.query_address = Some(bytes_of(field, value)?),
                5 => m.response_address = Some(bytes_of(field, value)?),
                6 => m.query_port = Some(varint_of(field, value)?),
                7 => m.response_port = Some(varint_of(field, value)?),
                8 => m.query_time_sec = Some(varint_of(field, value)?),
                9 => m.query_time_nsec = Some(fixed32_of(field, value)?),
                10 => m.query_message = Some(bytes_of(field, value)?),
                11 => m.query_zone = Some(bytes_of(field, value)?),
                12 => m.response_time_sec = Some(varint_of(field, value)?),
                13 => m.response_time_nsec = Some(fixed32_of(field, value)?),
                14 => m.response_message = Some(bytes_of(field, value)?),
                _ => {}
            }
        }
        Ok(m)
    }
}

/// A small protobuf encoder for tests: fields appended in any order.
#[cfg(test)]
pub(crate) mod encode {
    pub fn varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }

    pub fn key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
        varint(out, (u64::from(field) << 3) | u64::from(wire_type));
    }

    pub fn varint_field(out: &mut Vec<u8>, field: u32, value: u64) {
        key(out, field, 0);
        varint(out, value);
    }

    pub fn bytes_field(out: &mut Vec<u8>, field: u32, value: &[u8]) {
        key(out, field, 2);
        varint(out, value.len() as u64);
        out.extend_from_slice(value);
    }

    pub fn fixed32_field(out: &mut Vec<u8>, field: u32, value: u32) {
        key(out, field, 5);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::encode::*;
    use super::*;

    fn resolver_response() -> Vec<u8> {
        let mut m = Vec::new();
        varint_field(&mut m, 1, message_type::RESOLVER_RESPONSE);
        varint_field(&mut m, 3, socket_protocol::UDP);
        bytes_field(&mut m, 4, &[127, 0, 0, 2]);
        bytes_field(&mut m, 5, &[127, 0, 0, 11]);
        varint_field(&mut m, 7, 53);
        varint_field(&mut m, 12, 1_700_000_000);
        fixed32_field(&mut m, 13, 250_000_000);
        bytes_field(&mut m, 11, b"\x03com\x00");
        bytes_field(&mut m, 14, b"dns");
        let mut d = Vec::new();
        bytes_field(&mut d, 1, b"identity");
        bytes_field(&mut d, 14, &m);
        varint_field(&mut d, 15, DNSTAP_MESSAGE);
        d
    }

    #[test]
    fn decodes_the_fields_the_sensor_needs() {
        let frame = resolver_response();
        let d = Dnstap::decode(&frame).unwrap();
        assert_eq!(d.kind, Some(DNSTAP_MESSAGE));
        let m = d.message.unwrap();
        assert_eq!(m.kind, Some(message_type::RESOLVER_RESPONSE));
        assert_eq!(m.socket_protocol, Some(socket_protocol::UDP));
        assert_eq!(m.query_address, Some(&[127, 0, 0, 2][..]));
        assert_eq!(m.response_address, Some(&[127, 0, 0, 11][..]));
        assert_eq!((m.query_port, m.response_port), (None, Some(53)));
        assert_eq!(m.response_time_sec, Some(1_700_000_000));
        assert_eq!(m.response_time_nsec, Some(250_000_000));
        assert_eq!(m.query_zone, Some(&b"\x03com\x00"[..]));
        assert_eq!(m.response_message, Some(&b"dns"[..]));
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let mut m = Vec::new();
        varint_field(&mut m, 99, 12345);
        key(&mut m, 100, FIXED64);
        m.extend_from_slice(&[1; 8]);
        fixed32_field(&mut m, 101, 7);
        bytes_field(&mut m, 102, b"opaque");
        // A group holding a nested group and a field numbered like a known one.
        key(&mut m, 103, GROUP_START);
        varint_field(&mut m, 1, 42);
        key(&mut m, 104, GROUP_START);
        bytes_field(&mut m, 14, b"inner");
        key(&mut m, 104, GROUP_END);
        key(&mut m, 103, GROUP_END);
        varint_field(&mut m, 1, message_type::CLIENT_RESPONSE);
        let decoded = Message::decode(&m).unwrap();
        assert_eq!(decoded.kind, Some(message_type::CLIENT_RESPONSE));
        assert_eq!(decoded.response_message, None);
    }

    #[test]
    fn truncated_varints_and_overlong_ones_are_errors() {
        assert_eq!(
            Message::decode(&[0x08, 0x80]),
            Err(ProtoError::TruncatedVarint)
        );
        assert_eq!(Message::decode(&[0x88]), Err(ProtoError::TruncatedVarint));
        let mut overlong = vec![0x08];
        overlong.extend_from_slice(&[0xff; 10]);
        overlong.push(0x01);
        assert_eq!(Message::decode(&overlong), Err(ProtoError::VarintOverflow));
        // Ten bytes whose last carries more than bit 63.
        let mut too_big = vec![0x08];
        too_big.extend_from_slice(&[0xff; 9]);
        too_big.push(0x02);
        assert_eq!(Message::decode(&too_big), Err(ProtoError::VarintOverflow));
        let mut max = vec![0x08];
        max.extend_from_slice(&[0xff; 9]);
        max.push(0x01);
        assert_eq!(Message::decode(&max).unwrap().kind, Some(u64::MAX));
    }

    #[test]
    fn hostile_lengths_are_errors_without_allocation() {
        let mut m = Vec::new();
        key(&mut m, 14, BYTES);
        varint(&mut m, u64::MAX);
        assert_eq!(
            Message::decode(&m),
            Err(ProtoError::LengthOverrun {
                len: u64::MAX,
                left: 0
            })
        );
        let mut short = Vec::new();
        key(&mut short, 14, BYTES);
        varint(&mut short, 5);
        short.extend_from_slice(b"abc");
        assert_eq!(
            Message::decode(&short),
            Err(ProtoError::LengthOverrun { len: 5, left: 3 })
        );
        assert_eq!(
            Message::decode(&[(9 << 3) | 5, 1, 2]),
            Err(ProtoError::TruncatedFixed)
        );
        assert_eq!(
            Message::decode(&[(99 << 3) | 1, 1]),
            Err(ProtoError::TruncatedFixed)
        );
    }

    #[test]
    fn malformed_keys_and_groups_are_errors() {
        assert_eq!(Message::decode(&[0x0e]), Err(ProtoError::BadWireType(6)));
        assert_eq!(Message::decode(&[0x00]), Err(ProtoError::BadFieldNumber(0)));
        let mut unended = Vec::new();
        key(&mut unended, 103, GROUP_START);
        varint_field(&mut unended, 1, 1);
        assert_eq!(Message::decode(&unended), Err(ProtoError::UnbalancedGroup));
        let mut stray_end = Vec::new();
        key(&mut stray_end, 103, GROUP_END);
        assert_eq!(
            Message::decode(&stray_end),
            Err(ProtoError::UnbalancedGroup)
        );
        let mut mismatched = Vec::new();
        key(&mut mismatched, 103, GROUP_START);
        key(&mut mismatched, 104, GROUP_END);
        assert_eq!(
            Message::decode(&mismatched),
            Err(ProtoError::UnbalancedGroup)
        );
        let mut deep = Vec::new();
        for _ in 0..=MAX_GROUP_DEPTH {
            key(&mut deep, 103, GROUP_START);
        }
        assert_eq!(Message::decode(&deep), Err(ProtoError::GroupsTooDeep));
    }

    #[test]
    fn a_known_field_with_the_wrong_wire_type_is_an_error() {
        let mut m = Vec::new();
        bytes_field(&mut m, 1, b"x");
        assert_eq!(
            Message::decode(&m),
            Err(ProtoError::WrongWireType {
                field: 1,
                wire_type: BYTES
            })
        );
        let mut d = Vec::new();
        varint_field(&mut d, 14, 1);
        assert!(matches!(
            Dnstap::decode(&d),
            Err(ProtoError::WrongWireType { field: 14, .. })
        ));
    }

    #[test]
    fn every_prefix_of_a_frame_decodes_or_fails_cleanly() {
        let frame = resolver_response();
        for cut in 0..frame.len() {
            let _ = Dnstap::decode(&frame[..cut]);
        }
    }
}
