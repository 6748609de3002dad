//! LOC (RFC 1876) presentation, as dnspython's `LOC.to_text` writes it:
//! `d m s.mmm N|S d m s.mmm E|W ALT.xxm [SIZE.xxm HPREC.xxm VPREC.xxm]`, the last three
//! only when they differ from the defaults (1 m, 10000 m, 10 m), every length with two
//! decimals.

use std::fmt::Write as _;

use super::scan::Scanner;
use super::Src;
use crate::text::parse_decimal;
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

/// dnspython's `LOC.from_text`: `d [m [s[.fff]]] N|S d [m [s[.fff]]] E|W alt[m]
/// [size[m] [hprec[m] [vprec[m]]]]`. Lengths are read exactly to the centimetre (dnspython
/// goes through a float), then sizes are cut to one significant digit as dnspython's
/// `_encode_size` does; hemispheres in either case.
pub(super) fn scan_loc(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    let latitude = scan_coordinate(sc, ["N", "S"], 90)?;
    let longitude = scan_coordinate(sc, ["E", "W"], 180)?;
    let altitude = scan_centimetres(sc.word()?)?
        .checked_add(ALTITUDE_BASE_CM)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(sc.bad())?;
    let mut sizes = DEFAULTS_CM;
    for size in &mut sizes {
        if sc.at_end() {
            break;
        }
        *size = u64::try_from(scan_centimetres(sc.word()?)?).map_err(|_| sc.bad())?;
    }
    sc.out.push(0); // version
    for cm in sizes {
        sc.out.push(encode_size(cm).ok_or(sc.bad())?);
    }
    for v in [latitude, longitude, altitude] {
        sc.out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(())
}

/// Degrees, optional minutes, optional seconds with up to three decimals, hemisphere; as
/// the wire value 2^31 ± milliseconds of arc.
fn scan_coordinate(
    sc: &mut Scanner<'_>,
    [positive, negative]: [&str; 2],
    max_degrees: u64,
) -> Result<u32, WireError> {
    const BAD: WireError = WireError::BadText("bad LOC coordinate");
    let degrees: u64 = sc.number()?;
    let (mut minutes, mut seconds, mut ms) = (0u64, 0u64, 0u64);
    let mut t = sc.word()?;
    if let Some(m) = parse_decimal(t) {
        minutes = m;
        t = sc.word()?;
        if let Some((s, frac)) = t.split_once('.') {
            seconds = parse_decimal(s).ok_or(BAD)?;
            let f = parse_decimal(frac).filter(|_| frac.len() <= 3).ok_or(BAD)?;
            ms = f * 10u64.pow(3 - frac.len() as u32); // 1..=3 digits
            t = sc.word()?;
        } else if let Some(s) = parse_decimal(t) {
            seconds = s;
            t = sc.word()?;
        }
    }
    let sign = if t.eq_ignore_ascii_case(positive) {
        1
    } else if t.eq_ignore_ascii_case(negative) {
        -1
    } else {
        return Err(WireError::BadText("bad LOC hemisphere"));
    };
    if degrees > max_degrees || minutes > 59 || seconds > 59 {
        return Err(sc.bad());
    }
    let total = degrees * MS_PER_DEGREE as u64 + minutes * 60_000 + seconds * 1000 + ms;
    let total = i64::try_from(total).map_err(|_| sc.bad())?;
    u32::try_from(ORIGIN + sign * total).map_err(|_| sc.bad())
}

/// `[-]metres[.cc][m]` as centimetres; decimals past the second are cut (like `int()`).
fn scan_centimetres(text: &str) -> Result<i64, WireError> {
    const BAD: WireError = WireError::BadText("bad LOC length");
    let text = text.strip_suffix(['m', 'M']).unwrap_or(text);
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(BAD);
    }
    let int = if int.is_empty() {
        0
    } else {
        parse_decimal(int).ok_or(BAD)?
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    let cents = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(2)
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    let cm = int
        .checked_mul(100)
        .and_then(|v| v.checked_add(cents))
        .and_then(|v| i64::try_from(v).ok())
        .ok_or(BAD)?;
    Ok(if negative { -cm } else { cm })
}

/// dnspython's `_encode_size`: one significant digit and a power of ten; `None` from
/// 10^10 cm up.
fn encode_size(cm: u64) -> Option<u8> {
    if cm == 0 {
        return Some(0);
    }
    let exponent = cm.ilog10();
    if exponent > 9 {
        return None;
    }
    let base = cm / 10u64.pow(exponent);
    Some((base as u8) << 4 | exponent as u8) // base 1..=9, exponent <= 9
}
