//! Presentation text to canonical rdata: the inverse of [`format`](super::format), for
//! ingesting what dnspython, DNSDB, CIRCL, BIND and our own COF output print.
//!
//! Each `scan_*` function mirrors the `from_text` of the dnspython class its `fmt_*`
//! counterpart mirrors, reading the same fields in the same order. What the text allows is
//! slightly wider than what the formatter prints (see [`rdata_from_text`]); what the rdata
//! may hold is exactly what the formatter accepts, because every typed result is checked by
//! formatting it (dnspython's constructors make the same checks on both paths).

use super::{canonical, loc, svcb};
use crate::rdata::format::{algorithm_from_name, cert_type_from_name, rdata_to_text};
use crate::text::{
    base32hex_into, base64_into, hex_into, name_wire_from_text, name_wire_from_text_in,
    parse_decimal, parse_ipv4, parse_ipv6, parse_sigtime, parse_ttl, unescape_into,
};
use crate::types::{rtype, type_from_name};
use crate::{NameBuf, WireError};

/// Most bytes an rdata can hold (its length is a 16-bit field).
const MAX_RDATA_LEN: usize = 65_535;

/// Parses the presentation text of one rdata of type `rtype` into canonical wire form
/// (names lower-cased, uncompressed), the inverse of [`rdata_to_text`]: for every canonical
/// rdata `r` (as [`Record::canonical_rdata`](crate::Record::canonical_rdata) produces) that
/// `rdata_to_text` accepts, `rdata_from_text(t, &rdata_to_text(t, r)?) == r`, with two
/// exceptions where the text does not carry every byte (dnspython reads them back the same
/// way): WKS bitmaps come back without trailing zero bytes and an ISDN subaddress that is
/// present but empty comes back absent. Every `Ok` result is canonical and formats back to
/// text that scans to the same bytes.
///
/// Accepts the RFC 3597 generic form `\# len hex` for every type (the only form for types
/// without a presentation format; names inside are lower-cased, compression pointers
/// refused), so the output of [`push_rdata_text`](crate::push_rdata_text) always scans back.
/// Also accepts the variants other producers print: relative or absolute names (taken as
/// absolute), hex, base64 and base32hex in either case and split by spaces where dnspython
/// concatenates (DNSKEY/DS/TLSA/RRSIG as BIND prints them), `( )` grouping, TXT strings as
/// unquoted single words, SVCB values unquoted, RRSIG times as `YYYYMMDDHHMMSS` or epoch
/// seconds, TTL units (`1h`) in SOA timers and the RRSIG original TTL, DNSSEC algorithm
/// and CERT type mnemonics, `tcp`/`udp` as WKS protocols.
///
/// `Err` for text that does not parse ([`WireError::BadText`], a name error) or that parses
/// into an rdata dnspython would refuse ([`WireError::BadRdata`]). Never panics.
pub fn rdata_from_text(rtype: u16, text: &str) -> Result<Vec<u8>, WireError> {
    scan_rdata(rtype, text, None)
}

/// [`rdata_from_text`] as a master file reads rdata (RFC 1035 section 5.1): names inside it
/// are relative to `origin` unless they end in an unescaped dot, and `@` is `origin`.
pub fn rdata_from_text_in(rtype: u16, text: &str, origin: &NameBuf) -> Result<Vec<u8>, WireError> {
    scan_rdata(rtype, text, Some(origin.as_wire()))
}

/// Names in the text are completed with `origin` when given, else taken as absolute.
fn scan_rdata(rtype: u16, text: &str, origin: Option<&[u8]>) -> Result<Vec<u8>, WireError> {
    let mut sc = Scanner::new(rtype, text, origin)?;
    if sc.peek().is_some_and(|t| !t.quoted && t.text == "\\#") {
        return scan_generic(sc);
    }
    if !scan_known(&mut sc)? {
        return Err(WireError::BadText(
            "no presentation format for this type: use the \\# generic form",
        ));
    }
    sc.finish()?;
    if sc.out.len() > MAX_RDATA_LEN {
        return Err(sc.bad());
    }
    // The formatter makes every check dnspython's constructors make.
    rdata_to_text(rtype, &sc.out)?;
    Ok(sc.out)
}

/// One token of presentation text: a run of non-blank characters, or the inside of a
/// quoted string. Escapes are kept; the field that reads the token decodes them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a str,
    pub(crate) quoted: bool,
    /// No blank (or parenthesis) between the previous token and this one (`key="value"`).
    pub(crate) glued: bool,
}

/// Splits text into tokens like dnspython's tokenizer: blanks separate, `"..."` is one
/// token (a backslash escapes the next character, also `"`), `(` and `)` only group (they
/// must balance). Comments (`;`) are not recognised: one rdata is one line of data.
fn tokenize(s: &str) -> Result<Vec<Token<'_>>, WireError> {
    let bytes = s.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0usize;
    let mut depth = 0usize;
    let mut glued = false;
    while let Some(&c) = bytes.get(i) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                glued = false;
            }
            b'(' => {
                depth += 1;
                i += 1;
                glued = false;
            }
            b')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or(WireError::BadText("unbalanced parentheses"))?;
                i += 1;
                glued = false;
            }
            b'"' => {
                let end = token_end(bytes, i + 1, |c| c == b'"')?;
                if bytes.get(end) != Some(&b'"') {
                    return Err(WireError::BadText("unterminated quoted string"));
                }
                tokens.push(Token {
                    text: s.get(i + 1..end).unwrap_or_default(),
                    quoted: true,
                    glued,
                });
                i = end + 1;
                glued = true;
            }
            _ => {
                let end = token_end(bytes, i, |c| {
                    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b'"')
                })?;
                tokens.push(Token {
                    text: s.get(i..end).unwrap_or_default(),
                    quoted: false,
                    glued,
                });
                i = end;
                glued = true;
            }
        }
    }
    if depth != 0 {
        return Err(WireError::BadText("unbalanced parentheses"));
    }
    Ok(tokens)
}

/// The index of the first unescaped byte at or after `i` that `stop` accepts, or the end.
/// Token boundaries are ASCII bytes, so slicing the `str` there is always valid.
fn token_end(bytes: &[u8], mut i: usize, stop: impl Fn(u8) -> bool) -> Result<usize, WireError> {
    while let Some(&c) = bytes.get(i) {
        if c == b'\\' {
            if i + 1 >= bytes.len() {
                return Err(WireError::BadText("backslash at end"));
            }
            i += 2;
        } else if stop(c) {
            break;
        } else {
            i += 1;
        }
    }
    Ok(i)
}

/// The tokens of one rdata's text and the wire form being built from them.
pub(crate) struct Scanner<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    rtype: u16,
    /// The origin relative names are completed with (canonical wire); `None`: names are
    /// taken as absolute.
    origin: Option<&'a [u8]>,
    pub(crate) out: Vec<u8>,
}

const MISSING: WireError = WireError::BadText("rdata text ends before all fields");

impl<'a> Scanner<'a> {
    fn new(rtype: u16, text: &'a str, origin: Option<&'a [u8]>) -> Result<Scanner<'a>, WireError> {
        Ok(Scanner {
            tokens: tokenize(text)?,
            pos: 0,
            rtype,
            origin,
            out: Vec::with_capacity(text.len()),
        })
    }

    /// The error for text that parses but does not fit the type.
    pub(crate) fn bad(&self) -> WireError {
        WireError::BadRdata { rtype: self.rtype }
    }

    pub(crate) fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// The next token, if any.
    pub(crate) fn next_token(&mut self) -> Option<Token<'a>> {
        let t = self.peek()?;
        self.pos += 1;
        Some(t)
    }

    /// The next token, which must be unquoted (a number, a name, a mnemonic, encoded data).
    pub(crate) fn word(&mut self) -> Result<&'a str, WireError> {
        let t = self.next_token().ok_or(MISSING)?;
        if t.quoted {
            return Err(WireError::BadText("quoted string where a word is expected"));
        }
        Ok(t.text)
    }

    /// A decimal number that fits `T`.
    pub(crate) fn number<T: TryFrom<u64>>(&mut self) -> Result<T, WireError> {
        const RANGE: WireError = WireError::BadText("number out of range");
        let w = self.word()?;
        let v = match parse_decimal(w) {
            Some(v) => v,
            None if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => return Err(RANGE),
            None => return Err(WireError::BadText("not a decimal number")),
        };
        T::try_from(v).map_err(|_| RANGE)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        let v: u8 = self.number()?;
        self.out.push(v);
        Ok(v)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, WireError> {
        let v: u16 = self.number()?;
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(v)
    }

    fn u32(&mut self) -> Result<(), WireError> {
        let v: u32 = self.number()?;
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }

    fn ttl(&mut self) -> Result<(), WireError> {
        let v = parse_ttl(self.word()?)?;
        self.out.extend_from_slice(&v.to_be_bytes());
        Ok(())
    }

    /// A name, relative or absolute, in canonical wire form.
    pub(crate) fn name(&mut self) -> Result<(), WireError> {
        let word = self.word()?;
        let wire = match self.origin {
            Some(origin) => name_wire_from_text_in(word, origin)?,
            None => name_wire_from_text(word)?,
        };
        self.out.extend_from_slice(&wire);
        Ok(())
    }

    /// A record type mnemonic or `TYPEnnn`.
    fn rtype(&mut self) -> Result<u16, WireError> {
        type_from_name(self.word()?).ok_or(WireError::BadText("unknown record type"))
    }

    /// A DNSSEC algorithm number or mnemonic.
    fn algorithm(&mut self) -> Result<(), WireError> {
        let w = self.word()?;
        let v = match parse_decimal(w) {
            Some(v) => u8::try_from(v).map_err(|_| WireError::BadText("number out of range"))?,
            None => algorithm_from_name(w).ok_or(WireError::BadText("unknown algorithm"))?,
        };
        self.out.push(v);
        Ok(())
    }

    /// The bytes of one string token, quoted or not, escapes decoded, appended to `out`.
    pub(crate) fn string_into(&mut self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let t = self.next_token().ok_or(MISSING)?;
        unescape_into(t.text, out)
    }

    /// One `<character-string>`: a length byte and at most 255 bytes.
    fn char_string(&mut self) -> Result<(), WireError> {
        let len_at = self.out.len();
        self.out.push(0);
        let t = self.next_token().ok_or(MISSING)?;
        unescape_into(t.text, &mut self.out)?;
        let len = u8::try_from(self.out.len() - len_at - 1)
            .map_err(|_| WireError::BadText("character-string longer than 255 bytes"))?;
        if let Some(b) = self.out.get_mut(len_at) {
            *b = len;
        }
        Ok(())
    }

    /// All remaining tokens concatenated (dnspython `concatenate_remaining_identifiers`).
    fn rest_joined(&mut self) -> Result<String, WireError> {
        let mut joined = String::new();
        while !self.at_end() {
            joined.push_str(self.word()?);
        }
        Ok(joined)
    }

    /// Hex up to the end, possibly split by blanks.
    fn rest_hex(&mut self) -> Result<(), WireError> {
        let joined = self.rest_joined()?;
        hex_into(&joined, &mut self.out)
    }

    /// Base64 up to the end, possibly split by blanks.
    fn rest_base64(&mut self) -> Result<(), WireError> {
        let joined = self.rest_joined()?;
        base64_into(&joined, &mut self.out)
    }

    /// Err unless every token has been read.
    fn finish(&self) -> Result<(), WireError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(WireError::BadText("trailing text after the rdata"))
        }
    }
}

/// `\# len hex`: the bytes as given, canonicalised (names lower-cased, the layout checked).
fn scan_generic(mut sc: Scanner<'_>) -> Result<Vec<u8>, WireError> {
    sc.next_token();
    let len: usize = sc.number()?;
    if len > MAX_RDATA_LEN {
        return Err(WireError::BadText("generic rdata longer than 65535 bytes"));
    }
    let mut data = Vec::with_capacity(len);
    let joined = sc.rest_joined()?;
    hex_into(&joined, &mut data)?;
    if data.len() != len {
        return Err(WireError::BadText(
            "generic rdata length does not match its data",
        ));
    }
    let mut out = Vec::with_capacity(len);
    canonical::write_canonical(sc.rtype, &data, 0, data.len(), &mut out)?;
    // Canonicalising only changes the length by expanding a compression pointer (2 bytes
    // become a suffix of 1 or at least 3), and RFC 3597 rdata must not be compressed.
    if out.len() != data.len() {
        return Err(WireError::UnexpectedPointer);
    }
    Ok(out)
}

/// Scans a type that has a presentation format; `Ok(false)` for the others.
fn scan_known(sc: &mut Scanner<'_>) -> Result<bool, WireError> {
    match sc.rtype {
        rtype::A => {
            let a = parse_ipv4(sc.word()?)?;
            sc.out.extend_from_slice(&a);
        }
        rtype::AAAA => {
            let a = parse_ipv6(sc.word()?)?;
            sc.out.extend_from_slice(&a);
        }
        rtype::NS
        | rtype::CNAME
        | rtype::DNAME
        | rtype::PTR
        | rtype::MB
        | rtype::MG
        | rtype::MR
        | rtype::MD
        | rtype::MF
        | rtype::NSAP_PTR => sc.name()?,
        rtype::SOA => {
            sc.name()?;
            sc.name()?;
            sc.u32()?; // the serial is a plain number, the timers are TTLs
            for _ in 0..4 {
                sc.ttl()?;
            }
        }
        rtype::MINFO | rtype::RP => {
            sc.name()?;
            sc.name()?;
        }
        rtype::MX | rtype::AFSDB | rtype::RT | rtype::KX | rtype::LP => {
            sc.u16()?;
            sc.name()?;
        }
        rtype::PX => {
            sc.u16()?;
            sc.name()?;
            sc.name()?;
        }
        rtype::SRV => {
            for _ in 0..3 {
                sc.u16()?;
            }
            sc.name()?;
        }
        rtype::NAPTR => {
            sc.u16()?;
            sc.u16()?;
            for _ in 0..3 {
                sc.char_string()?;
            }
            sc.name()?;
        }
        rtype::TXT | rtype::SPF | rtype::AVC | rtype::NINFO | rtype::RESINFO | rtype::WALLET => {
            if sc.at_end() {
                return Err(MISSING);
            }
            while !sc.at_end() {
                sc.char_string()?;
            }
        }
        rtype::HINFO => {
            sc.char_string()?;
            sc.char_string()?;
        }
        rtype::X25 => sc.char_string()?,
        rtype::ISDN => scan_isdn(sc)?,
        rtype::GPOS => {
            for _ in 0..3 {
                sc.char_string()?;
            }
        }
        rtype::CAA => {
            sc.u8()?;
            sc.char_string()?;
            let mut value = Vec::new();
            sc.string_into(&mut value)?;
            sc.out.extend_from_slice(&value);
        }
        rtype::URI => {
            sc.u16()?;
            sc.u16()?;
            let mut target = Vec::new();
            sc.string_into(&mut target)?;
            sc.out.extend_from_slice(&target);
        }
        rtype::LOC => loc::scan_loc(sc)?,
        rtype::DS | rtype::CDS | rtype::DLV => {
            sc.u16()?;
            sc.algorithm()?;
            sc.u8()?;
            sc.rest_hex()?;
        }
        rtype::DNSKEY | rtype::CDNSKEY | rtype::KEY => {
            sc.u16()?;
            sc.u8()?;
            sc.algorithm()?;
            sc.rest_base64()?;
        }
        rtype::RRSIG | rtype::SIG => scan_rrsig(sc)?,
        rtype::NSEC => {
            sc.name()?;
            scan_bitmap(sc)?;
        }
        rtype::NSEC3 => {
            scan_nsec3_salt_prefix(sc)?;
            let len_at = sc.out.len();
            sc.out.push(0);
            base32hex_into(sc.word()?, &mut sc.out)?;
            let len = u8::try_from(sc.out.len() - len_at - 1).map_err(|_| sc.bad())?;
            if let Some(b) = sc.out.get_mut(len_at) {
                *b = len;
            }
            scan_bitmap(sc)?;
        }
        rtype::NSEC3PARAM => scan_nsec3_salt_prefix(sc)?,
        rtype::CSYNC => {
            sc.u32()?;
            sc.u16()?;
            scan_bitmap(sc)?;
        }
        rtype::ZONEMD => {
            sc.u32()?;
            sc.u8()?;
            sc.u8()?;
            sc.rest_hex()?;
        }
        rtype::TLSA | rtype::SMIMEA => {
            for _ in 0..3 {
                sc.u8()?;
            }
            sc.rest_hex()?;
        }
        rtype::SSHFP => {
            sc.u8()?;
            sc.u8()?;
            sc.rest_hex()?;
        }
        rtype::OPENPGPKEY | rtype::DHCID | rtype::HHIT | rtype::BRID => sc.rest_base64()?,
        rtype::CERT => {
            let w = sc.word()?;
            let ctype = match parse_decimal(w) {
                Some(v) => {
                    u16::try_from(v).map_err(|_| WireError::BadText("number out of range"))?
                }
                None => cert_type_from_name(w).ok_or(WireError::BadText("unknown CERT type"))?,
            };
            sc.out.extend_from_slice(&ctype.to_be_bytes());
            sc.u16()?;
            sc.algorithm()?;
            sc.rest_base64()?;
        }
        rtype::SVCB | rtype::HTTPS => svcb::scan_svcb(sc)?,
        rtype::EUI48 => formatted_hex(sc, 6, 1, &['-', ':'])?,
        rtype::EUI64 => formatted_hex(sc, 8, 1, &['-', ':'])?,
        rtype::L32 => {
            sc.u16()?;
            let a = parse_ipv4(sc.word()?)?;
            sc.out.extend_from_slice(&a);
        }
        rtype::L64 | rtype::NID => {
            sc.u16()?;
            formatted_hex(sc, 4, 2, &[':'])?;
        }
        rtype::NSAP => {
            let w = sc.word()?;
            let digits = w
                .strip_prefix("0x")
                .or_else(|| w.strip_prefix("0X"))
                .ok_or(WireError::BadText("NSAP address must start with 0x"))?;
            hex_into(&digits.replace('.', ""), &mut sc.out)?;
        }
        rtype::WKS => scan_wks(sc)?,
        rtype::APL => scan_apl(sc)?,
        rtype::IPSECKEY => {
            sc.u8()?;
            let gtype = sc.u8()?;
            sc.u8()?;
            scan_gateway(sc, gtype)?;
            sc.rest_base64()?;
        }
        rtype::AMTRELAY => {
            sc.u8()?;
            let discovery_optional: u8 = sc.number()?;
            let relay_type: u8 = sc.number()?;
            if discovery_optional > 1 || relay_type > 0x7f {
                return Err(sc.bad());
            }
            sc.out.push(discovery_optional << 7 | relay_type);
            scan_gateway(sc, relay_type)?;
        }
        rtype::HIP => scan_hip(sc)?,
        rtype::DSYNC => {
            let covered = sc.rtype()?;
            sc.out.extend_from_slice(&covered.to_be_bytes());
            let w = sc.word()?;
            let scheme = if w.eq_ignore_ascii_case("NOTIFY") {
                1
            } else {
                parse_decimal(w)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or(WireError::BadText("bad DSYNC scheme"))?
            };
            sc.out.push(scheme);
            sc.u16()?;
            sc.name()?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `"address" ["subaddress"]`; an empty subaddress is left out, as dnspython writes it.
fn scan_isdn(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    sc.char_string()?;
    if !sc.at_end() {
        let mark = sc.out.len();
        sc.char_string()?;
        if sc.out.get(mark) == Some(&0) {
            sc.out.truncate(mark);
        }
    }
    Ok(())
}

/// `covered alg labels ttl expiration inception tag signer BASE64`.
fn scan_rrsig(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    let covered = sc.rtype()?;
    sc.out.extend_from_slice(&covered.to_be_bytes());
    sc.algorithm()?;
    sc.u8()?;
    sc.ttl()?;
    for _ in 0..2 {
        let t = parse_sigtime(sc.word()?)?;
        sc.out.extend_from_slice(&t.to_be_bytes());
    }
    sc.u16()?;
    sc.name()?;
    sc.rest_base64()
}

/// `algorithm flags iterations SALT` (`-` for no salt), shared by NSEC3 and NSEC3PARAM.
fn scan_nsec3_salt_prefix(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    sc.u8()?;
    sc.u8()?;
    sc.u16()?;
    let salt = sc.word()?;
    let len_at = sc.out.len();
    sc.out.push(0);
    if salt != "-" {
        hex_into(salt, &mut sc.out)?;
    }
    let len = u8::try_from(sc.out.len() - len_at - 1).map_err(|_| sc.bad())?;
    if let Some(b) = sc.out.get_mut(len_at) {
        *b = len;
    }
    Ok(())
}

/// Type mnemonics up to the end, as an RFC 4034 4.1.2 bitmap (sorted, duplicates merged;
/// the same mnemonic table the formatter prints from).
fn scan_bitmap(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    let mut types = Vec::new();
    while !sc.at_end() {
        types.push(sc.rtype()?);
    }
    types.sort_unstable();
    types.dedup();
    for window in types.chunk_by(|a, b| a >> 8 == b >> 8) {
        let mut bits = [0u8; 32];
        let mut len = 0usize;
        for &t in window {
            let low = usize::from(t & 0xff);
            if let Some(b) = bits.get_mut(low / 8) {
                *b |= 0x80 >> (low % 8);
            }
            len = low / 8 + 1;
        }
        let window_number = window.first().map_or(0, |t| t >> 8) as u8; // the high byte
        sc.out.push(window_number);
        sc.out.push(len as u8); // at most 32
        sc.out
            .extend_from_slice(bits.get(..len).unwrap_or_default());
    }
    Ok(())
}

/// `chunks` groups of `chunk_len` bytes in hex (two digits per byte, exactly), joined by
/// one of `separators` (EUI-48/64 `00-00-5e-00-53-2a`, L64/NID `2001:0db8:1140:1000`).
fn formatted_hex(
    sc: &mut Scanner<'_>,
    chunks: usize,
    chunk_len: usize,
    separators: &[char],
) -> Result<(), WireError> {
    const BAD: WireError = WireError::BadText("bad hex groups");
    let w = sc.word()?;
    let mut n = 0usize;
    for group in w.split(separators) {
        if group.len() != 2 * chunk_len {
            return Err(BAD);
        }
        hex_into(group, &mut sc.out)?;
        n += 1;
    }
    if n != chunks {
        return Err(BAD);
    }
    Ok(())
}

/// `address protocol port...`: the protocol a number or `tcp`/`udp`, ports as numbers;
/// the bitmap as short as the highest port allows (dnspython `_truncate_bitmap`).
fn scan_wks(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    let a = parse_ipv4(sc.word()?)?;
    sc.out.extend_from_slice(&a);
    let w = sc.word()?;
    let protocol = match parse_decimal(w) {
        Some(v) => u8::try_from(v).map_err(|_| WireError::BadText("number out of range"))?,
        None if w.eq_ignore_ascii_case("tcp") => 6,
        None if w.eq_ignore_ascii_case("udp") => 17,
        None => return Err(WireError::BadText("unknown WKS protocol")),
    };
    sc.out.push(protocol);
    let mut bitmap = Vec::new();
    while !sc.at_end() {
        let port: u16 = sc.number()?;
        let byte = usize::from(port / 8);
        if bitmap.len() <= byte {
            bitmap.resize(byte + 1, 0);
        }
        if let Some(b) = bitmap.get_mut(byte) {
            *b |= 0x80 >> (port % 8);
        }
    }
    sc.out.extend_from_slice(&bitmap);
    Ok(())
}

/// APL items `[!]family:address/prefix`: families 1 and 2 as IP addresses, others as hex;
/// trailing zero address bytes dropped (RFC 3123 4.1).
fn scan_apl(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    const BAD: WireError = WireError::BadText("bad APL item");
    while !sc.at_end() {
        let item = sc.word()?;
        let (negation, item) = match item.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let (family, rest) = item.split_once(':').ok_or(BAD)?;
        let (address, prefix) = rest.split_once('/').ok_or(BAD)?;
        let family = parse_decimal(family)
            .and_then(|v| u16::try_from(v).ok())
            .ok_or(BAD)?;
        let prefix = parse_decimal(prefix)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or(BAD)?;
        let mut addr = Vec::with_capacity(16);
        match family {
            1 => addr.extend_from_slice(&parse_ipv4(address)?),
            2 => addr.extend_from_slice(&parse_ipv6(address)?),
            _ => hex_into(address, &mut addr)?,
        }
        while addr.last() == Some(&0) {
            addr.pop();
        }
        let len = u8::try_from(addr.len())
            .ok()
            .filter(|&n| n <= 0x7f)
            .ok_or(BAD)?;
        sc.out.extend_from_slice(&family.to_be_bytes());
        sc.out.push(prefix);
        sc.out.push(len | if negation { 0x80 } else { 0 });
        sc.out.extend_from_slice(&addr);
    }
    Ok(())
}

/// The IPSECKEY gateway / AMTRELAY relay of type `gtype`: `.` for none, an IPv4 or IPv6
/// address, or a name.
fn scan_gateway(sc: &mut Scanner<'_>, gtype: u8) -> Result<(), WireError> {
    match gtype {
        0 => {
            if sc.word()? != "." {
                return Err(WireError::BadText("gateway type 0 needs `.`"));
            }
        }
        1 => {
            let a = parse_ipv4(sc.word()?)?;
            sc.out.extend_from_slice(&a);
        }
        2 => {
            let a = parse_ipv6(sc.word()?)?;
            sc.out.extend_from_slice(&a);
        }
        3 => sc.name()?,
        _ => return Err(sc.bad()),
    }
    Ok(())
}

/// `algorithm HIT-HEX KEY-BASE64 servers...`. A token with a dot cannot be base64: when it
/// follows the HIT, the key is empty (the formatter then prints two blanks).
fn scan_hip(sc: &mut Scanner<'_>) -> Result<(), WireError> {
    let alg: u8 = sc.number()?;
    let mut hit = Vec::new();
    hex_into(sc.word()?, &mut hit)?;
    let mut key = Vec::new();
    if sc.peek().is_some_and(|t| !t.text.contains('.')) {
        base64_into(sc.word()?, &mut key)?;
    }
    let hit_len = u8::try_from(hit.len()).map_err(|_| sc.bad())?;
    let key_len = u16::try_from(key.len()).map_err(|_| sc.bad())?;
    sc.out.push(hit_len);
    sc.out.push(alg);
    sc.out.extend_from_slice(&key_len.to_be_bytes());
    sc.out.extend_from_slice(&hit);
    sc.out.extend_from_slice(&key);
    while !sc.at_end() {
        sc.name()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(String, bool, bool)> {
        tokenize(s)
            .unwrap()
            .into_iter()
            .map(|t| (t.text.to_string(), t.quoted, t.glued))
            .collect()
    }

    #[test]
    fn tokenizer() {
        assert_eq!(
            toks(r#" a\ b "c \" d"e( f )alpn="x"  "#),
            vec![
                (r"a\ b".into(), false, false),
                (r#"c \" d"#.into(), true, false),
                ("e".into(), false, true),
                ("f".into(), false, false),
                ("alpn=".into(), false, false),
                ("x".into(), true, true),
            ]
        );
        assert_eq!(toks(r#""""#), vec![(String::new(), true, false)]);
        assert!(toks("  \t\n").is_empty());
        for bad in [r#""abc"#, r#""abc\""#, r"abc\", "(a", "a)", ")("] {
            assert!(tokenize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_in_rdata_relative_to_an_origin() {
        let origin = NameBuf::from_text("example.com.").unwrap();
        let cases = [
            (rtype::NS, "ns1", "ns1.example.com."),
            (rtype::NS, "@", "example.com."),
            (rtype::NS, "ns.other.", "ns.other."),
            (rtype::MX, "10 mail", "10 mail.example.com."),
            (
                rtype::SOA,
                "ns1 hostmaster ( 1 1h 600 1d 10 )",
                "ns1.example.com. hostmaster.example.com. 1 3600 600 86400 10",
            ),
            (rtype::TXT, "ns1", "\"ns1\""),
            (
                rtype::SVCB,
                "1 svc alpn=h2",
                "1 svc.example.com. alpn=\"h2\"",
            ),
        ];
        for (t, text, want) in cases {
            let wire = rdata_from_text_in(t, text, &origin).unwrap();
            assert_eq!(rdata_to_text(t, &wire).unwrap(), want, "{text}");
        }
        // Without an origin, relative names stay as they are written.
        let wire = rdata_from_text(rtype::NS, "ns1").unwrap();
        assert_eq!(rdata_to_text(rtype::NS, &wire).unwrap(), "ns1.");
    }
}
