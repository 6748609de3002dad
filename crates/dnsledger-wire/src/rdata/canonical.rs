//! RFC 4034 section 6.2 canonical rdata: names decompressed and lower-cased, everything else
//! byte-identical, the structure validated on the way.

use super::{layout, read_gateway, Field, Gateway, Layout, Src};
use crate::name::Compression;
use crate::WireError;

/// Appends the canonical form of the rdata `buf[start..end]` of type `rtype` to `out`.
/// `buf` is the whole message, because compression pointers are offsets into it.
/// On `Err`, `out` is truncated back to its length on entry.
pub(crate) fn write_canonical(
    rtype: u16,
    buf: &[u8],
    start: usize,
    end: usize,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let mark = out.len();
    let mut src = Src::new(rtype, buf, start, end);
    if end > buf.len() {
        return Err(src.bad());
    }
    let result = write_layout(&mut src, layout(rtype), out).and_then(|()| src.finish());
    if result.is_err() {
        out.truncate(mark);
    }
    result
}

fn write_layout(src: &mut Src<'_>, layout: Layout, out: &mut Vec<u8>) -> Result<(), WireError> {
    match layout {
        Layout::Opaque => out.extend_from_slice(src.rest()),
        Layout::Fields(fields) => {
            for &field in fields {
                write_field(src, field, out)?;
            }
        }
        Layout::Loc => write_loc(src, out)?,
        Layout::A6 => write_a6(src, out)?,
        Layout::Hip => write_hip(src, out)?,
        Layout::IpsecKey => {
            let [_precedence, gtype, _alg] = copy_header(src, out)?;
            write_gateway(src, gtype, out)?;
            out.extend_from_slice(src.rest());
        }
        Layout::AmtRelay => {
            let [_precedence, d_type] = copy_header(src, out)?;
            // The top bit is the discovery-optional flag, the rest the relay type.
            write_gateway(src, d_type & 0x7f, out)?;
        }
        Layout::Apl => {
            while src.remaining() > 0 {
                let [_family_hi, _family_lo, _prefix, n_len] = copy_header(src, out)?;
                // The top bit is the negation flag, the rest the address length.
                write_field(src, Field::Fixed(usize::from(n_len & 0x7f)), out)?;
            }
        }
    }
    Ok(())
}

fn write_field(src: &mut Src<'_>, field: Field, out: &mut Vec<u8>) -> Result<(), WireError> {
    match field {
        Field::Fixed(n) => out.extend_from_slice(src.bytes(n)?),
        Field::CompressedName => src.canonical_name(Compression::Allowed, out)?,
        Field::Name => src.canonical_name(Compression::Forbidden, out)?,
        Field::Str => write_str(src, out)?,
        Field::OptStr => {
            if src.remaining() > 0 {
                write_str(src, out)?;
            }
        }
        Field::Strings => {
            while src.remaining() > 0 {
                write_str(src, out)?;
            }
        }
        Field::Rest => out.extend_from_slice(src.rest()),
    }
    Ok(())
}

fn write_str(src: &mut Src<'_>, out: &mut Vec<u8>) -> Result<(), WireError> {
    let s = src.counted()?;
    out.push(s.len() as u8); // it came from a length byte
    out.extend_from_slice(s);
    Ok(())
}

/// Copies `N` fixed header bytes and returns them for the caller to inspect.
fn copy_header<const N: usize>(src: &mut Src<'_>, out: &mut Vec<u8>) -> Result<[u8; N], WireError> {
    let h: [u8; N] = src.array()?;
    out.extend_from_slice(&h);
    Ok(h)
}

fn write_gateway(src: &mut Src<'_>, gtype: u8, out: &mut Vec<u8>) -> Result<(), WireError> {
    match read_gateway(src, gtype)? {
        Gateway::None => {}
        Gateway::V4(a) => out.extend_from_slice(&a),
        Gateway::V6(a) => out.extend_from_slice(&a),
        Gateway::Name(n) => n.write_canonical(out),
    }
    Ok(())
}

/// Version 0 is exactly 16 bytes (RFC 1876); other versions have no defined layout.
fn write_loc(src: &mut Src<'_>, out: &mut Vec<u8>) -> Result<(), WireError> {
    let all = src.rest();
    match all.first() {
        Some(0) if all.len() != 16 => return Err(src.bad()),
        None => return Err(src.bad()),
        _ => out.extend_from_slice(all),
    }
    Ok(())
}

/// Prefix length (0..=128), the address suffix of `ceil((128 - len) / 8)` bytes, and the
/// prefix name (uncompressed, RFC 2874 section 3.1) unless the prefix length is 0.
fn write_a6(src: &mut Src<'_>, out: &mut Vec<u8>) -> Result<(), WireError> {
    let [prefix_len] = copy_header(src, out)?;
    let suffix = 128usize
        .checked_sub(usize::from(prefix_len))
        .ok_or(src.bad())?
        .div_ceil(8);
    out.extend_from_slice(src.bytes(suffix)?);
    if prefix_len > 0 {
        write_field(src, Field::Name, out)?;
    }
    Ok(())
}

/// HIT length, algorithm, public key length, HIT, key, then rendezvous server names.
fn write_hip(src: &mut Src<'_>, out: &mut Vec<u8>) -> Result<(), WireError> {
    let [hit_len, _alg, pk_hi, pk_lo] = copy_header(src, out)?;
    out.extend_from_slice(src.bytes(usize::from(hit_len))?);
    out.extend_from_slice(src.bytes(usize::from(u16::from_be_bytes([pk_hi, pk_lo])))?);
    while src.remaining() > 0 {
        write_field(src, Field::Name, out)?;
    }
    Ok(())
}
