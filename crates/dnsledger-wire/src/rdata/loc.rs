//! LOC (RFC 1876) presentation, as dnspython's `LOC.to_text` writes it:
//! `d m s.mmm N|S d m s.mmm E|W ALT.xxm [SIZE.xxm HPREC.xxm VPREC.xxm]`, the last three
//! only when they differ from the defaults (1 m, 10000 m, 10 m), every length with two
//! decimals.

use std::fmt::Write as _;

use super::Src;
use crate::WireError;

/// The equator / prime meridian: coordinates are stored as 2^31 + milliseconds of arc.
const ORIGIN: i64 = 1 << 31;
/// Altitude is stored as centimetres above 100 000 m below the WGS 84 spheroid.
const ALTITUDE_BASE_CM: i64 = 10_000_000;
const MS_PER_DEGREE: i64 = 3_600_000;
/// Defaults in centimetres: size 1 m, horizontal precision 10 km, vertical precision 10 m.
const DEFAULTS_CM: [u64; 3] = [100, 1_000_000, 1_000];

pub(super) fn fmt_loc(src: &mut Src<'_>, out: &mut String) -> Result<(), WireError> {
    let [version, size, hprec, vprec] = src.array()?;
    let latitude = i64::from(src.u32()?) - ORIGIN;
    let longitude = i64::from(src.u32()?) - ORIGIN;
    let altitude = i64::from(src.u32()?) - ALTITUDE_BASE_CM;
    if version != 0 || latitude.abs() > 90 * MS_PER_DEGREE || longitude.abs() > 180 * MS_PER_DEGREE
    {
        return Err(src.bad());
    }
    let sizes = [
        decode_size(size).ok_or(src.bad())?,
        decode_size(hprec).ok_or(src.bad())?,
        decode_size(vprec).ok_or(src.bad())?,
    ];
    push_coordinate(out, latitude, ['N', 'S']);
    out.push(' ');
    push_coordinate(out, longitude, ['E', 'W']);
    out.push(' ');
    push_metres(out, altitude);
    if sizes != DEFAULTS_CM {
        for cm in sizes {
            out.push(' ');
            push_metres(out, cm as i64); // at most 9e9
        }
    }
    Ok(())
}

/// `base * 10^exponent` centimetres from the packed nibbles. dnspython refuses digits
/// above 9 and a zero base with a non-zero exponent (a second encoding of 0).
fn decode_size(packed: u8) -> Option<u64> {
    let base = u64::from(packed >> 4);
    let exponent = u32::from(packed & 0x0f);
    if base > 9 || exponent > 9 || (base == 0 && exponent != 0) {
        return None;
    }
    Some(base * 10u64.pow(exponent))
}

/// `degrees minutes seconds.milliseconds hemisphere`; exactly 0 counts as north / east.
fn push_coordinate(out: &mut String, ms: i64, [positive, negative]: [char; 2]) {
    let hemisphere = if ms >= 0 { positive } else { negative };
    let ms = ms.unsigned_abs();
    let ms_per_degree = MS_PER_DEGREE as u64;
    let _ = write!(
        out,
        "{} {} {}.{:03} {hemisphere}",
        ms / ms_per_degree,
        ms % ms_per_degree / 60_000,
        ms % 60_000 / 1000,
        ms % 1000
    );
}

/// Centimetres as metres with two decimals and an `m` (Python `f"{cm / 100.0:0.2f}m"`).
fn push_metres(out: &mut String, cm: i64) {
    let sign = if cm < 0 { "-" } else { "" };
    let abs = cm.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:02}m", abs / 100, abs % 100);
}
