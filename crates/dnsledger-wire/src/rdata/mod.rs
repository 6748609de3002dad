//! Rdata: the per-type layouts, the canonical form ([`canonical`]), the presentation
//! text ([`format`](mod@format)) and its inverse ([`scan`]).
//!
//! Both directions read rdata through [`Src`], a bounds-checked cursor, so a malformed rdata
//! is an `Err`, never a panic.

pub(crate) mod canonical;
pub(crate) mod format;
mod loc;
pub(crate) mod scan;
mod svcb;

use crate::name::{parse_name, parse_name_canonical, Compression, Name};
use crate::{rtype, WireError};

/// A bounds-checked cursor over one rdata inside a buffer.
///
/// `buf` is the whole message when canonicalising (compression pointers are offsets into
/// it) and the rdata alone when formatting canonical bytes.
pub(crate) struct Src<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    rtype: u16,
}

impl<'a> Src<'a> {
    pub(crate) fn new(rtype: u16, buf: &'a [u8], start: usize, end: usize) -> Src<'a> {
        Src {
            buf,
            pos: start,
            end: end.min(buf.len()),
            rtype,
        }
    }

    /// The error for an rdata that does not fit its type.
    pub(crate) fn bad(&self) -> WireError {
        WireError::BadRdata { rtype: self.rtype }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(self.bad());
        }
        let b = self.buf.get(self.pos..self.pos + n).ok_or(self.bad())?;
        self.pos += n;
        Ok(b)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let b = self.bytes(N)?;
        b.try_into().map_err(|_| self.bad())
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A `<character-string>`: a length byte and that many bytes (returned without the
    /// length byte).
    pub(crate) fn counted(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }

    /// Everything up to the end of the rdata.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let b = self.buf.get(self.pos..self.end).unwrap_or_default();
        self.pos = self.end;
        b
    }

    /// A name whose in-line bytes lie inside the rdata.
    pub(crate) fn name(&mut self, compression: Compression) -> Result<Name<'a>, WireError> {
        let parsed = parse_name(self.buf, self.pos, self.end, compression);
        self.took_name(parsed)
    }

    /// As [`Src::name`], appending the name's canonical form to `out` in the same walk.
    pub(crate) fn canonical_name(
        &mut self,
        compression: Compression,
        out: &mut Vec<u8>,
    ) -> Result<(), WireError> {
        let parsed = parse_name_canonical(self.buf, self.pos, self.end, compression, out);
        self.took_name(parsed).map(|_| ())
    }

    /// Moves past a parsed name; a name running off the rdata makes the rdata bad.
    fn took_name(
        &mut self,
        parsed: Result<(Name<'a>, usize), WireError>,
    ) -> Result<Name<'a>, WireError> {
        let (name, after) = parsed.map_err(|e| {
            if e == WireError::Truncated {
                self.bad()
            } else {
                e
            }
        })?;
        self.pos = after;
        Ok(name)
    }

    /// Err unless the whole rdata has been consumed.
    pub(crate) fn finish(&self) -> Result<(), WireError> {
        if self.pos == self.end {
            Ok(())
        } else {
            Err(self.bad())
        }
    }
}

/// One field of an rdata layout.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Field {
    /// Fixed-size bytes copied as they are.
    Fixed(usize),
    /// A name that may be compressed on the wire (RFC 3597 section 4 types).
    CompressedName,
    /// A name that must not be compressed.
    Name,
    /// One `<character-string>`.
    Str,
    /// An optional final `<character-string>` (ISDN subaddress).
    OptStr,
    /// Zero or more `<character-string>`s up to the end (TXT and friends).
    Strings,
    /// Opaque bytes up to the end.
    Rest,
}

/// How an rdata type is laid out.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Layout {
    /// Unknown or free-form: copied as it is.
    Opaque,
    /// A fixed sequence of fields that must consume the rdata exactly.
    Fields(&'static [Field]),
    /// LOC: exactly 16 bytes when the version byte is 0, opaque for other versions.
    Loc,
    /// A6 (RFC 2874): prefix length, address suffix, prefix name if the length is > 0.
    A6,
    /// HIP (RFC 8005): counted HIT and public key, then rendezvous server names.
    Hip,
    /// IPSECKEY (RFC 4025): the gateway's form depends on the gateway type.
    IpsecKey,
    /// AMTRELAY (RFC 8777): like IPSECKEY's gateway, without a key.
    AmtRelay,
    /// APL (RFC 3123): a list of (family, prefix, length-counted address) items.
    Apl,
}

/// The layout of an rdata type.
pub(crate) fn layout(rtype: u16) -> Layout {
    use Field::*;
    const ONE_CNAME: &[Field] = &[CompressedName];
    const TWO_CNAMES: &[Field] = &[CompressedName, CompressedName];
    const PREF_CNAME: &[Field] = &[Fixed(2), CompressedName];
    const STRINGS: &[Field] = &[Strings];
    const KEY: &[Field] = &[Fixed(4), Rest];
    const SIG_FIXED: usize = 18; // type covered .. key tag
    match rtype {
        rtype::A => Layout::Fields(&[Fixed(4)]),
        rtype::AAAA => Layout::Fields(&[Fixed(16)]),
        rtype::NS
        | rtype::MD
        | rtype::MF
        | rtype::CNAME
        | rtype::MB
        | rtype::MG
        | rtype::MR
        | rtype::PTR => Layout::Fields(ONE_CNAME),
        rtype::DNAME | rtype::NSAP_PTR => Layout::Fields(&[Name]),
        rtype::SOA => Layout::Fields(&[CompressedName, CompressedName, Fixed(20)]),
        rtype::MINFO | rtype::RP => Layout::Fields(TWO_CNAMES),
        rtype::MX | rtype::AFSDB | rtype::RT | rtype::KX => Layout::Fields(PREF_CNAME),
        rtype::PX => Layout::Fields(&[Fixed(2), CompressedName, CompressedName]),
        rtype::SRV => Layout::Fields(&[Fixed(6), CompressedName]),
        rtype::NAPTR => Layout::Fields(&[Fixed(4), Str, Str, Str, CompressedName]),
        rtype::SIG => Layout::Fields(&[Fixed(SIG_FIXED), CompressedName, Rest]),
        rtype::RRSIG => Layout::Fields(&[Fixed(SIG_FIXED), Name, Rest]),
        rtype::NXT => Layout::Fields(&[CompressedName, Rest]),
        rtype::NSEC | rtype::TKEY | rtype::TSIG => Layout::Fields(&[Name, Rest]),
        rtype::SVCB | rtype::HTTPS => Layout::Fields(&[Fixed(2), Name, Rest]),
        rtype::LP => Layout::Fields(&[Fixed(2), Name]),
        rtype::DSYNC => Layout::Fields(&[Fixed(5), Name]),
        rtype::HINFO => Layout::Fields(&[Str, Str]),
        rtype::GPOS => Layout::Fields(&[Str, Str, Str]),
        rtype::X25 => Layout::Fields(&[Str]),
        rtype::ISDN => Layout::Fields(&[Str, OptStr]),
        rtype::TXT | rtype::SPF | rtype::AVC | rtype::NINFO | rtype::RESINFO | rtype::WALLET => {
            Layout::Fields(STRINGS)
        }
        rtype::CAA => Layout::Fields(&[Fixed(1), Str, Rest]),
        rtype::URI => Layout::Fields(&[Fixed(4), Rest]),
        rtype::DS | rtype::CDS | rtype::DLV | rtype::TA => Layout::Fields(KEY),
        rtype::DNSKEY | rtype::CDNSKEY | rtype::KEY => Layout::Fields(KEY),
        rtype::SSHFP => Layout::Fields(&[Fixed(2), Rest]),
        rtype::TLSA | rtype::SMIMEA => Layout::Fields(&[Fixed(3), Rest]),
        rtype::NSEC3 => Layout::Fields(&[Fixed(4), Str, Str, Rest]),
        rtype::NSEC3PARAM => Layout::Fields(&[Fixed(4), Str]),
        rtype::CSYNC | rtype::ZONEMD => Layout::Fields(&[Fixed(6), Rest]),
        rtype::CERT | rtype::WKS => Layout::Fields(&[Fixed(5), Rest]),
        rtype::EUI48 | rtype::L32 => Layout::Fields(&[Fixed(6)]),
        rtype::EUI64 => Layout::Fields(&[Fixed(8)]),
        rtype::NID | rtype::L64 => Layout::Fields(&[Fixed(10)]),
        rtype::LOC => Layout::Loc,
        rtype::A6 => Layout::A6,
        rtype::HIP => Layout::Hip,
        rtype::IPSECKEY => Layout::IpsecKey,
        rtype::AMTRELAY => Layout::AmtRelay,
        rtype::APL => Layout::Apl,
        _ => Layout::Opaque,
    }
}

/// The gateway (IPSECKEY) or relay (AMTRELAY) field, whose form the type byte selects.
pub(crate) enum Gateway<'a> {
    None,
    V4([u8; 4]),
    V6([u8; 16]),
    Name(Name<'a>),
}

/// Reads a gateway of type `gtype` (0 none, 1 IPv4, 2 IPv6, 3 uncompressed name).
pub(crate) fn read_gateway<'a>(src: &mut Src<'a>, gtype: u8) -> Result<Gateway<'a>, WireError> {
    Ok(match gtype {
        0 => Gateway::None,
        1 => Gateway::V4(src.array()?),
        2 => Gateway::V6(src.array()?),
        3 => Gateway::Name(src.name(Compression::Forbidden)?),
        _ => return Err(src.bad()),
    })
}
