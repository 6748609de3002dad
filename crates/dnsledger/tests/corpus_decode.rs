//! Corpus tier: our decode of the public corpus (`$DNSLEDGER_CORPUS/public`) against the
//! expected outputs the upstream projects ship with their captures.
//!
//! Each test reads one source's machine-readable expectations (Arkime session JSON, the
//! pcap4j decode log, suricata-verify eve.json checks, Zeek `dns.log` baselines, tcpdump's
//! verbose text), turns every resource record they list into an [`Expected`] in our
//! presentation form, and checks that the record is among the records we decode from the
//! same capture: same owner, type and TTL and the same value. Upstream tools print values their own way, so each source has its
//! own, named normalisation of their text into ours (trailing dots, IPv6 compression, hex
//! case, quoting...) and, where upstream prints only part of a value, a named [`View`] that
//! reduces our value to exactly the part they print. Values are compared whole, never as
//! substrings.
//!
//! Where we legitimately differ from upstream (a capture that needs a tunnel decoder we do
//! not have, an rdata that is not valid for its type) the record is listed in the source's
//! exception list with the reason; an exception that no longer excuses anything fails.
//! Each test also asserts a minimum number of records compared, so a parser that silently
//! finds nothing fails.

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use common::corpus_dir;
use dnsledger_capture::testutil::decode_path;
use dnsledger_capture::DecoderConfig;
use dnsledger_wire::{rdata_generic, rdata_to_text, rtype, type_from_name, type_name};
use dnsledger_wire::{Message, Section};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Our side: every record of every DNS message in a capture, in presentation form.

/// Ports whose traffic the upstream tools decode as DNS: DNS, mDNS and LLMNR.
const DNS_PORTS: [u16; 3] = [53, 5353, 5355];

/// One resource record as we decode it.
#[derive(Debug, Clone)]
struct OurRecord {
    msg_id: u16,
    /// The first question's name, if the message has a question.
    qname: Option<String>,
    section: Section,
    owner: String,
    rtype: String,
    ttl: u32,
    /// `rdata_to_text` of the canonical rdata (RFC 3597 form where that refuses it, as the
    /// rrset crate does); `Err` when `canonical_rdata` finds the rdata malformed.
    value: Result<String, String>,
}

impl fmt::Display for OurRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match &self.value {
            Ok(v) => v.clone(),
            Err(e) => format!("<{e}>"),
        };
        write!(
            f,
            "id {} {:?} {} {} {} {value}",
            self.msg_id, self.section, self.owner, self.ttl, self.rtype
        )
    }
}

/// Every record (OPT excepted) of every message the capture crate finds in `capture`.
fn decode_records(capture: &Path) -> Vec<OurRecord> {
    let config = DecoderConfig {
        dns_ports: DNS_PORTS.to_vec(),
        ..DecoderConfig::default()
    };
    let decoded = decode_path(capture, config);
    assert!(
        decoded.frames > 0,
        "{}: no frames read ({:?})",
        capture.display(),
        decoded.error
    );
    let mut records = Vec::new();
    for payload in &decoded.payloads {
        if let Ok(msg) = Message::parse(&payload.data) {
            push_records(&msg, &mut records);
        }
    }
    records
}

fn push_records(msg: &Message<'_>, out: &mut Vec<OurRecord>) {
    let qname = msg.question().map(|q| q.qname.to_name_buf().to_text());
    let mut canonical = Vec::new();
    // After an Err the iterator stops: later offsets cannot be trusted.
    for record in msg.records().map_while(Result::ok) {
        if record.rtype == rtype::OPT {
            continue;
        }
        canonical.clear();
        let value = match record.canonical_rdata(&mut canonical) {
            Ok(()) => Ok(rdata_to_text(record.rtype, &canonical)
                .unwrap_or_else(|_| rdata_generic(&canonical))),
            Err(e) => Err(format!("malformed rdata: {e}")),
        };
        out.push(OurRecord {
            msg_id: msg.header().id,
            qname: qname.clone(),
            section: record.section,
            owner: record.owner.to_name_buf().to_text(),
            rtype: type_name(record.rtype).into_owned(),
            ttl: record.ttl,
            value,
        });
    }
}

// ---------------------------------------------------------------------------------------
// Upstream side and the comparison.

/// What an upstream tool prints of a record of the given type with our presentation text:
/// usually one value, [`full`] where that is the whole of ours; several where it logs one
/// entry per part of the record (suricata: one per TXT character-string).
type View = fn(rtype: &str, ours: &str) -> Vec<String>;

/// One record an upstream expected output lists, normalised to our presentation form.
#[derive(Clone)]
struct Expected {
    /// Where upstream lists it (file, and entry or line), for the failure message.
    origin: String,
    capture: PathBuf,
    /// The message it is in, where upstream says: its id and first question's name.
    msg_id: Option<u16>,
    qname: Option<String>,
    section: Option<Section>,
    owner: Option<String>,
    /// The acceptable types: one, except where upstream does not print the type.
    rtypes: Vec<String>,
    ttl: Option<u32>,
    /// `None` where upstream prints no value for the type.
    value: Option<String>,
    view: View,
}

impl Expected {
    fn new(origin: String, capture: PathBuf, rtypes: &[&str]) -> Expected {
        Expected {
            origin,
            capture,
            msg_id: None,
            qname: None,
            section: None,
            owner: None,
            rtypes: rtypes.iter().map(|t| (*t).to_owned()).collect(),
            ttl: None,
            value: None,
            view: full,
        }
    }

    fn matches(&self, ours: &OurRecord) -> bool {
        let in_scope = self.msg_id.is_none_or(|id| id == ours.msg_id)
            && self.section.is_none_or(|s| s == ours.section)
            // A message without a question (mDNS announcements) cannot be told by name.
            && match (&self.qname, &ours.qname) {
                (Some(theirs), Some(ours)) => theirs == ours,
                _ => true,
            };
        in_scope
            && self.owner.as_ref().is_none_or(|o| *o == ours.owner)
            && self.rtypes.contains(&ours.rtype)
            && self.ttl.is_none_or(|t| t == ours.ttl)
            && match (&self.value, &ours.value) {
                (None, _) => true,
                (Some(theirs), Ok(text)) => (self.view)(&ours.rtype, text).contains(theirs),
                (Some(_), Err(_)) => false,
            }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "*".to_owned());
        write!(
            f,
            "{}: id {} qname {} {:?} owner {} ttl {} type {} value {}",
            self.origin,
            self.msg_id.map_or("*".to_owned(), |i| i.to_string()),
            opt(&self.qname),
            self.section,
            opt(&self.owner),
            self.ttl.map_or("*".to_owned(), |t| t.to_string()),
            self.rtypes.join("|"),
            opt(&self.value),
        )
    }
}

/// A record, or a whole capture's records, where we legitimately differ from upstream.
struct Exception {
    /// A substring of [`Expected::origin`] (the upstream file).
    origin: &'static str,
    /// The type and normalised upstream value excused; `None` for any.
    rtype: Option<&'static str>,
    value: Option<&'static str>,
    why: &'static str,
}

impl Exception {
    fn excuses(&self, e: &Expected) -> bool {
        e.origin.contains(self.origin)
            && self.rtype.is_none_or(|t| e.rtypes.iter().any(|r| r == t))
            && self.value.is_none_or(|v| e.value.as_deref() == Some(v))
    }
}

/// What comparing one source gave.
#[derive(Default)]
struct Outcome {
    captures: usize,
    compared: usize,
    with_value: usize,
    /// For each exception, the records it excused.
    excused: Vec<(String, usize)>,
    problems: Vec<String>,
}

/// Checks every expected record against our decode of its capture.
fn compare(expected: &[Expected], exceptions: &[Exception]) -> Outcome {
    let mut decoded: BTreeMap<PathBuf, Vec<OurRecord>> = BTreeMap::new();
    let mut used = vec![0; exceptions.len()];
    let mut outcome = Outcome::default();
    for e in expected {
        let ours = decoded
            .entry(e.capture.clone())
            .or_insert_with(|| decode_records(&e.capture));
        if ours.iter().any(|r| e.matches(r)) {
            outcome.compared += 1;
            outcome.with_value += usize::from(e.value.is_some());
            continue;
        }
        match exceptions.iter().position(|x| x.excuses(e)) {
            Some(i) => used[i] += 1,
            None => outcome.problems.push(mismatch(e, ours)),
        }
    }
    for (x, count) in exceptions.iter().zip(used) {
        let what = format!("{} {:?} {:?}", x.origin, x.rtype, x.value);
        if count == 0 {
            outcome
                .problems
                .push(format!("stale exception (excuses nothing): {what}"));
        } else {
            outcome
                .excused
                .push((format!("{what}\n    because {}", x.why), count));
        }
    }
    outcome.captures = decoded.len();
    outcome
}

/// The failure text for one expected record: it and our nearest records.
fn mismatch(e: &Expected, ours: &[OurRecord]) -> String {
    let near: Vec<String> = ours
        .iter()
        .filter(|r| match &e.owner {
            Some(owner) => *owner == r.owner,
            None => e.rtypes.contains(&r.rtype) && e.msg_id.is_none_or(|id| id == r.msg_id),
        })
        .take(8)
        .map(|r| format!("    ours: {r}"))
        .collect();
    let near = if near.is_empty() {
        format!("    ({} records decoded, none near)", ours.len())
    } else {
        near.join("\n")
    };
    format!("{e}\n{near}")
}

impl Outcome {
    /// Prints the counts and exceptions (visible with `--nocapture`) and fails on any
    /// mismatch or stale exception, or if fewer than `min_compared` records were compared.
    fn assert_ok(&self, source: &str, min_compared: usize) {
        println!(
            "{source}: {} records compared in {} captures ({} with a value; the rest by owner \
             and type, and TTL where printed)",
            self.compared, self.captures, self.with_value,
        );
        for (what, count) in &self.excused {
            println!("  {count} excused: {what}");
        }
        assert!(
            self.problems.is_empty(),
            "{source}: {} problems:\n{}",
            self.problems.len(),
            self.problems.join("\n")
        );
        assert!(
            self.compared >= min_compared,
            "{source}: only {} records compared, expected at least {min_compared}",
            self.compared
        );
    }
}

// ---------------------------------------------------------------------------------------
// Views: the part of our value an upstream tool prints.

fn full(_rtype: &str, ours: &str) -> Vec<String> {
    vec![ours.to_owned()]
}

/// Arkime prints an RRSIG without its signature (the last field).
fn rrsig_without_signature(_rtype: &str, ours: &str) -> Vec<String> {
    let head = ours
        .rsplit_once(' ')
        .map_or(ours, |(head, _signature)| head);
    vec![head.to_owned()]
}

/// Suricata logs each character-string of a TXT record as an answer of its own: our
/// strings one by one (`"a" "b"` gives `"a"` and `"b"`).
fn txt_each_string(_rtype: &str, ours: &str) -> Vec<String> {
    txt_strings(ours)
        .into_iter()
        .map(|s| format!("\"{s}\""))
        .collect()
}

/// The insides (still escaped) of the quoted character-strings of a presentation value.
fn txt_strings(text: &str) -> Vec<&str> {
    let mut strings = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let body = &rest[open + 1..];
        let mut escaped = false;
        let close = body.char_indices().find(|&(_, c)| {
            let closes = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            closes
        });
        let Some((close, _)) = close else { break };
        strings.push(&body[..close]);
        rest = &body[close + 1..];
    }
    strings
}

/// Suricata logs an SSHFP's algorithm and fingerprint, not the fingerprint type.
fn sshfp_without_fp_type(_rtype: &str, ours: &str) -> Vec<String> {
    let fields: Vec<&str> = ours.split(' ').collect();
    match fields.as_slice() {
        [alg, _fp_type, fp] => vec![format!("{alg} {fp}")],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Normalisation helpers shared by the sources: upstream text to our presentation form.

/// A name given as its raw label bytes joined by dots (no escapes) in our form: lower case,
/// absolute, special bytes escaped as dnspython does (`"().;\@$` with a backslash, bytes
/// outside 0x21..=0x7e as `\DDD`). The empty name and `.` are the root.
fn name_text(dotted: &[u8]) -> String {
    let dotted = dotted.strip_suffix(b".").unwrap_or(dotted);
    if dotted.is_empty() {
        return ".".to_owned();
    }
    let mut out = String::new();
    for label in dotted.split(|&b| b == b'.') {
        for &b in label {
            match b.to_ascii_lowercase() {
                c @ (b'"' | b'(' | b')' | b';' | b'\\' | b'@' | b'$') => {
                    out.push('\\');
                    out.push(char::from(c));
                }
                c @ 0x21..=0x7e => out.push(char::from(c)),
                c => out.push_str(&format!("\\{c:03}")),
            }
        }
        out.push('.');
    }
    out
}

/// A character-string in our form: quoted, `"` and `\` escaped with a backslash, bytes
/// outside 0x20..=0x7e as `\DDD` (dnspython's `_escapify`).
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// Several character-strings, space-separated, as a TXT value.
fn quoted_all<'a>(strings: impl IntoIterator<Item = &'a [u8]>) -> String {
    strings
        .into_iter()
        .map(quoted)
        .collect::<Vec<_>>()
        .join(" ")
}

/// An IPv6 address in RFC 5952 form (upstream tools print it uncompressed or with
/// leading zeros).
fn ipv6_text(text: &str) -> String {
    let addr: Ipv6Addr = text
        .parse()
        .unwrap_or_else(|e| panic!("upstream IPv6 address {text:?}: {e}"));
    addr.to_string()
}

/// Lower-case hex, as we print digests and fingerprints.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The RFC 3597 generic form of opaque rdata.
fn generic(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "\\# 0".to_owned()
    } else {
        format!("\\# {} {}", bytes.len(), hex(bytes))
    }
}

/// A DNSSEC signature time (seconds since 1970) as `YYYYMMDDHHMMSS` (RFC 4034 3.2).
fn sigtime(epoch: u64) -> String {
    let (mut days, secs) = (epoch / 86_400, epoch % 86_400);
    let mut year = 1970;
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let feb = if leap(year) { 29 } else { 28 };
    let mut month = 1;
    for len in [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    format!(
        "{year:04}{month:02}{:02}{:02}{:02}{:02}",
        days + 1,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// An internationalised label in its ASCII (punycode, RFC 3492) form, `xn--...`;
/// ASCII labels are returned as they are.
fn punycode_label(label: &str) -> String {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    if label.is_ascii() {
        return label.to_owned();
    }
    let label = label.to_lowercase();
    let code_points: Vec<u32> = label.chars().map(u32::from).collect();
    let mut out: String = label.chars().filter(char::is_ascii).collect();
    let basic = out.len();
    if basic > 0 {
        out.push('-');
    }
    // Punycode digits: 0..=25 are a..=z, 26..=35 are 0..=9.
    let digit = |d: u32| {
        char::from(if d < 26 {
            b'a' + d as u8
        } else {
            b'0' + (d - 26) as u8
        })
    };
    let (mut n, mut delta, mut bias, mut handled) = (128u32, 0u32, 72u32, basic);
    while handled < code_points.len() {
        let next = *code_points.iter().filter(|&&c| c >= n).min().unwrap();
        delta += (next - n) * (handled as u32 + 1);
        n = next;
        for &c in &code_points {
            if c < n {
                delta += 1;
            }
            if c != n {
                continue;
            }
            let mut q = delta;
            let mut k = BASE;
            loop {
                let t = k.saturating_sub(bias).clamp(T_MIN, T_MAX);
                if q < t {
                    break;
                }
                out.push(digit(t + (q - t) % (BASE - t)));
                q = (q - t) / (BASE - t);
                k += BASE;
            }
            out.push(digit(q));
            bias = punycode_adapt(delta, handled as u32 + 1, handled == basic);
            delta = 0;
            handled += 1;
        }
        delta += 1;
        n += 1;
    }
    format!("xn--{out}")
}

/// RFC 3492 6.1 bias adaptation.
fn punycode_adapt(delta: u32, points: u32, first: bool) -> u32 {
    const BASE: u32 = 36;
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / points;
    let mut k = 0;
    while delta > ((BASE - 1) * 26) / 2 {
        delta /= BASE - 1;
        k += BASE;
    }
    k + (BASE * delta) / (delta + 38)
}

/// Files under `dir` (recursively) whose name ends with `suffix`, sorted.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        let entries = std::fs::read_dir(&next)
            .unwrap_or_else(|e| panic!("{}: {e}", next.display()))
            .map(Result::unwrap);
        for entry in entries {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn public(relative: &str) -> PathBuf {
    let path = corpus_dir().join("public").join(relative);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

// ---------------------------------------------------------------------------------------
// Arkime: tests/pcap/<name>.test is the JSON of the sessions Arkime makes of <name>.pcap;
// each session's `dns[].answers[]` lists the records of every section (name, type, class,
// TTL and a type-specific value field).

/// Arkime captures where we legitimately decode less than Arkime.
const ARKIME_EXCEPTIONS: &[Exception] = &[
    Exception {
        origin: "6-4-gre-ppp-udp-4-dns.test",
        rtype: None,
        value: None,
        why: "DNS inside GRE/PPP: the capture crate follows no tunnels (by design, see its docs)",
    },
    Exception {
        origin: "dnssec_synthetic.test",
        rtype: Some("NSEC"),
        value: Some("next.example.com."),
        why: "the NSEC type bitmap claims 32 bytes and has 2: the rdata is invalid, so we \
              print it in RFC 3597 form (as dnspython refuses it); Arkime prints the next \
              name and an empty type list",
    },
    Exception {
        origin: "gtp-iphone.test",
        rtype: None,
        value: None,
        why: "DNS inside GTP-U: the capture crate follows no tunnels",
    },
    Exception {
        origin: "ipv6-gtp6.test",
        rtype: None,
        value: None,
        why: "DNS inside GTP-U over IPv6: the capture crate follows no tunnels",
    },
];

#[test]
fn arkime_session_answers_are_among_our_records() {
    let dir = public("arkime/tests/pcap");
    let mut expected = Vec::new();
    for test in files_ending(&dir, ".test") {
        expected.extend(arkime_expected(&test));
    }
    compare(&expected, ARKIME_EXCEPTIONS).assert_ok("arkime", 230);
}

/// The answers of every session of one `.test` file.
fn arkime_expected(test: &Path) -> Vec<Expected> {
    let capture = test.with_extension("pcap");
    assert!(capture.exists(), "{} has no capture", test.display());
    let json: Value =
        serde_json::from_str(&read(test)).unwrap_or_else(|e| panic!("{}: {e}", test.display()));
    let sessions = json["sessions3"].as_array().expect("sessions3 is a list");
    let answers = sessions
        .iter()
        .filter_map(|s| s["body"]["dns"].as_array())
        .flatten()
        .filter_map(|dns| dns["answers"].as_array())
        .flatten();
    let file = test.file_name().unwrap().to_string_lossy();
    answers
        .enumerate()
        .map(|(i, answer)| arkime_answer(answer, format!("arkime {file} answer {i}"), &capture))
        .collect()
}

fn arkime_answer(answer: &Value, origin: String, capture: &Path) -> Expected {
    let field = |key: &str| {
        answer[key]
            .as_str()
            .unwrap_or_else(|| panic!("{origin}: no string {key:?} in {answer}"))
    };
    let rtype = field("type");
    let mut e = Expected::new(origin.clone(), capture.to_path_buf(), &[rtype]);
    e.owner = Some(arkime_name(field("name")));
    e.ttl = Some(answer["ttl"].as_u64().expect("ttl") as u32);
    e.value = arkime_value(rtype, answer, &origin);
    if rtype == "RRSIG" {
        e.view = rrsig_without_signature;
    }
    e
}

/// Arkime's value field of a record in our form; `None` for the types Arkime prints no
/// value for (it must then have no field beyond name, type, class and TTL).
fn arkime_value(rtype: &str, answer: &Value, origin: &str) -> Option<String> {
    let field = |key: &str| answer[key].as_str().map(str::to_owned);
    let value = match rtype {
        "A" => field("ip"),
        "AAAA" => field("ip").map(|ip| ipv6_text(&ip)),
        "NS" => field("nameserver").map(|n| arkime_name(&n)),
        "CNAME" => field("cname").map(|n| arkime_name(&n)),
        "MX" => field("mx").map(|mx| format!("{} {}", answer["priority"], arkime_name(&mx))),
        "TXT" => answer["txt"].as_array().map(|strings| {
            quoted_all(
                strings
                    .iter()
                    .map(|s| s.as_str().unwrap_or_default().as_bytes()),
            )
        }),
        "CAA" => field("caa").map(|v| arkime_caa(&v)),
        "HTTPS" => field("https").map(|v| arkime_svcb(&v)),
        "DS" => field("ds").map(|v| arkime_ds(&v)),
        "NSEC" => field("nsec").map(|v| arkime_nsec(&v)),
        "RRSIG" => field("rrsig").map(|v| arkime_rrsig(&v)),
        _ => {
            let extra: Vec<&String> = answer
                .as_object()
                .expect("an answer is an object")
                .keys()
                .filter(|k| !["name", "type", "class", "ttl"].contains(&k.as_str()))
                .collect();
            assert!(
                extra.is_empty(),
                "{origin}: unhandled value fields {extra:?}"
            );
            return None;
        }
    };
    Some(value.unwrap_or_else(|| panic!("{origin}: no value field for {rtype}: {answer}")))
}

/// Arkime prints names without the trailing dot, the root as `<root>`, and IDN labels
/// decoded to Unicode (we print the punycode that is on the wire).
fn arkime_name(name: &str) -> String {
    if name == "<root>" {
        return ".".to_owned();
    }
    let ascii: Vec<String> = name.split('.').map(punycode_label).collect();
    name_text(ascii.join(".").as_bytes())
}

/// Drops Arkime's leading type mnemonic (`CAA 0 issue x` -> `0 issue x`).
fn without_mnemonic<'a>(value: &'a str, mnemonic: &str) -> &'a str {
    value
        .strip_prefix(mnemonic)
        .and_then(|v| v.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{value:?} does not start with {mnemonic}"))
}

/// `CAA flags tag value` with the value unquoted.
fn arkime_caa(value: &str) -> String {
    let mut parts = without_mnemonic(value, "CAA").splitn(3, ' ');
    let (flags, tag, rest) = (parts.next(), parts.next(), parts.next());
    format!(
        "{} {} {}",
        flags.unwrap(),
        tag.unwrap(),
        quoted(rest.unwrap_or_default().as_bytes())
    )
}

/// `HTTPS priority target key=value...` with the target without its dot and the values
/// unquoted (dnspython quotes every value).
fn arkime_svcb(value: &str) -> String {
    let mut parts = without_mnemonic(value, "HTTPS").split(' ');
    let priority = parts.next().unwrap();
    let target = arkime_name(parts.next().unwrap());
    let params = parts.map(|p| match p.split_once('=') {
        Some((key, v)) => format!("{key}=\"{v}\""),
        None => p.to_owned(),
    });
    let mut out = vec![priority.to_owned(), target];
    out.extend(params);
    out.join(" ")
}

/// `DS tag alg digest-type HEX` with the digest in upper case.
fn arkime_ds(value: &str) -> String {
    without_mnemonic(value, "DS").to_ascii_lowercase()
}

/// `NSEC next types...` with the next name without its dot (and a trailing space when the
/// bitmap is empty).
fn arkime_nsec(value: &str) -> String {
    let mut parts = without_mnemonic(value, "NSEC").split_whitespace();
    let mut out = vec![arkime_name(parts.next().unwrap())];
    out.extend(parts.map(str::to_owned));
    out.join(" ")
}

/// `RRSIG covered alg labels ttl expiration inception tag signer`: times in seconds since
/// 1970, the signer without its dot, and no signature (see [`rrsig_without_signature`]).
fn arkime_rrsig(value: &str) -> String {
    let fields: Vec<&str> = without_mnemonic(value, "RRSIG").split(' ').collect();
    let [covered, alg, labels, ttl, expiration, inception, tag, signer] = fields[..] else {
        panic!("unexpected Arkime RRSIG {value:?}");
    };
    let time = |t: &str| sigtime(t.parse().expect("RRSIG time is a number"));
    format!(
        "{covered} {alg} {labels} {ttl} {} {} {tag} {}",
        time(expiration),
        time(inception),
        arkime_name(signer)
    )
}

// ---------------------------------------------------------------------------------------
// pcap4j: DnsPacketTest.log is pcap4j's field-by-field dump of the one message in
// DnsPacketTest.pcap: per record its section, NAME, TYPE, TTL and the rdata fields.

const PCAP4J_DIR: &str = "pcap4j/pcap4j-packettest/src/test/resources";

/// pcap4j records where we legitimately differ.
const PCAP4J_EXCEPTIONS: &[Exception] = &[Exception {
    origin: "DnsPacketTest.log",
    rtype: Some("A"),
    value: Some("192.168.0.100"),
    why: "pcap4j also accepts an A rdata holding the address as 13 bytes of text; an A \
          rdata is a 32-bit address (RFC 1035 3.4.1), so we find it malformed",
}];

#[test]
fn pcap4j_decode_log_records_are_among_ours() {
    let dir = public(PCAP4J_DIR);
    let capture = dir.join("DnsPacketTest.pcap");
    let log = read(&dir.join("DnsPacketTest.log"));
    let expected: Vec<Expected> = pcap4j_records(&log)
        .iter()
        .filter(|r| r.rtype != "OPT")
        .map(|r| r.expected(&capture))
        .collect();
    // 21 records in the log, OPT not compared.
    assert_eq!(expected.len(), 20, "pcap4j log parse");
    compare(&expected, PCAP4J_EXCEPTIONS).assert_ok("pcap4j", 19);
}

/// One record of the pcap4j log: header fields and rdata fields in order.
struct Pcap4jRecord {
    line: usize,
    section: Section,
    name: String,
    rtype: String,
    ttl: u32,
    rdata: Vec<(String, String)>,
}

/// The records of the log. A record starts at a 2-space `Answer:`/`Authority:`/
/// `Additional:` line; its header fields are indented 4, its rdata fields 8.
fn pcap4j_records(log: &str) -> Vec<Pcap4jRecord> {
    let mut records: Vec<Pcap4jRecord> = Vec::new();
    for (n, line) in log.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let section = match line.trim() {
            "Answer:" => Some(Section::Answer),
            "Authority:" => Some(Section::Authority),
            "Additional:" => Some(Section::Additional),
            _ => None,
        };
        if let (2, Some(section)) = (indent, section) {
            records.push(Pcap4jRecord {
                line: n + 1,
                section,
                name: String::new(),
                rtype: String::new(),
                ttl: 0,
                rdata: Vec::new(),
            });
            continue;
        }
        let (Some(record), Some((key, value))) = (records.last_mut(), line.trim().split_once(": "))
        else {
            continue;
        };
        match (indent, key) {
            (4, "NAME") => record.name = value.to_owned(),
            // `1 (A (Host address))`: the mnemonic is the first word in the parentheses.
            (4, "TYPE") => {
                let inner = value.split_once('(').expect("TYPE has a mnemonic").1;
                record.rtype = inner.split([' ', ')']).next().unwrap().to_owned();
            }
            (4, "TTL") => record.ttl = value.parse().expect("TTL is a number"),
            (8, _) => record.rdata.push((key.to_owned(), value.to_owned())),
            _ => {}
        }
    }
    records
}

impl Pcap4jRecord {
    fn expected(&self, capture: &Path) -> Expected {
        let origin = format!("pcap4j DnsPacketTest.log line {}", self.line);
        let mut e = Expected::new(origin, capture.to_path_buf(), &[&self.rtype]);
        e.section = Some(self.section);
        e.owner = Some(pcap4j_name(&self.name));
        e.ttl = Some(self.ttl);
        e.value = Some(self.value());
        e
    }

    /// The value of the rdata field `key` (the first one of that name).
    fn field(&self, key: &str) -> &str {
        self.rdata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("line {}: no rdata field {key}", self.line))
    }

    fn name_field(&self, key: &str) -> String {
        pcap4j_name(self.field(key))
    }

    /// The rdata in our presentation form.
    fn value(&self) -> String {
        match self.rtype.as_str() {
            "A" => pcap4j_without_note(self.field("ADDRESS")).to_owned(),
            "AAAA" => ipv6_text(self.field("ADDRESS")),
            "CNAME" => self.name_field("CNAME"),
            "MB" | "MD" | "MF" => self.name_field("MADNAME"),
            "MG" => self.name_field("MGMNAME"),
            "MR" => self.name_field("NEWNAME"),
            "NS" => self.name_field("NSDNAME"),
            "PTR" => self.name_field("PTRDNAME"),
            "MINFO" => format!(
                "{} {}",
                self.name_field("RMAILBX"),
                self.name_field("EMAILBX")
            ),
            "MX" => format!(
                "{} {}",
                pcap4j_u16(self.field("PREFERENCE")),
                self.name_field("EXCHANGE")
            ),
            "HINFO" => quoted_all([self.field("CPU").as_bytes(), self.field("OS").as_bytes()]),
            "TXT" => quoted_all(
                self.rdata
                    .iter()
                    .filter(|(k, _)| k == "TEXT")
                    .map(|(_, v)| v.as_bytes()),
            ),
            "SOA" => self.soa(),
            "CAA" => self.caa(),
            "WKS" => self.wks(),
            "NULL" => generic(&parse_hex(self.field("data"))),
            other => panic!("line {}: unhandled pcap4j type {other}", self.line),
        }
    }

    fn soa(&self) -> String {
        let numbers = ["SERIAL", "REFRESH", "RETRY", "EXPIRE", "MINIMUM"].map(|k| self.field(k));
        format!(
            "{} {} {}",
            self.name_field("MNAME"),
            self.name_field("RNAME"),
            numbers.join(" ")
        )
    }

    /// pcap4j splits the flags byte into the issuer-critical bit and the other seven.
    fn caa(&self) -> String {
        let critical = if self.field("Issuer Critical") == "true" {
            0x80
        } else {
            0
        };
        let reserved = self.field("Reserved Flags");
        let reserved = u8::from_str_radix(reserved.trim_start_matches("0x"), 16).unwrap();
        format!(
            "{} {} {}",
            critical | reserved,
            self.field("Tag"),
            quoted(self.field("Value").as_bytes())
        )
    }

    /// `address protocol port...`; pcap4j prints the protocol as `17 (UDP)` and the ports
    /// comma-separated.
    fn wks(&self) -> String {
        let protocol = pcap4j_without_note(self.field("PROTOCOL"));
        let ports = self.field("PORTS").replace(", ", " ");
        format!("{} {protocol} {ports}", self.field("ADDRESS"))
    }
}

/// pcap4j prints names without the trailing dot and the root as `<ROOT>`.
fn pcap4j_name(name: &str) -> String {
    let name = pcap4j_without_note(name);
    name_text(if name == "<ROOT>" {
        b""
    } else {
        name.as_bytes()
    })
}

/// A value without pcap4j's trailing note: `1.2.3.4 (encoded)`, `www (name: www, pointer:
/// 12)`, `17 (UDP)`.
fn pcap4j_without_note(value: &str) -> &str {
    value.split_once(" (").map_or(value, |(v, _)| v)
}

/// pcap4j prints 16-bit fields as a signed Java `short`.
fn pcap4j_u16(value: &str) -> u16 {
    value.parse::<i16>().expect("a 16-bit number") as u16
}

/// `0x0102...` or `0102...` as bytes.
fn parse_hex(text: &str) -> Vec<u8> {
    let digits = text.trim_start_matches("0x");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digits"))
        .collect()
}

// ---------------------------------------------------------------------------------------
// suricata-verify: tests/**/test.yaml lists `checks: - filter: {count, match}` that
// suricata's eve.json output must satisfy. `match` keys such as
// `dns.answers[0].rrname/rrtype/ttl/rdata` (also `authorities`, `additionals`, and
// `mdns.`/`llmnr.` events) describe records; `dns.id` the message.

/// suricata-verify checks where we legitimately differ.
const SURICATA_EXCEPTIONS: &[Exception] = &[Exception {
    origin: "tests/dns-over-http2-post/",
    rtype: None,
    value: None,
    why: "DNS over HTTP/2: not DNS transport as the capture crate reads it (UDP/TCP \
              with a DNS port)",
}];

#[test]
fn suricata_verify_eve_records_are_among_ours() {
    let root = public("suricata-verify");
    let (mut expected, mut untyped) = (Vec::new(), Vec::new());
    for yaml in files_ending(&root.join("tests"), "test.yaml") {
        for record in suricata_expected(&yaml) {
            match record {
                Ok(e) => expected.push(e),
                Err(origin) => untyped.push(origin),
            }
        }
    }
    println!(
        "suricata-verify records not compared (the check gives neither type nor value): {}",
        untyped.len()
    );
    for origin in &untyped {
        println!("  {origin}");
    }
    compare(&expected, SURICATA_EXCEPTIONS).assert_ok("suricata-verify", 650);
}

/// A YAML value of a `match` entry: a scalar or a flow list of scalars.
#[derive(Debug, Clone)]
enum Yaml {
    Scalar(String),
    List(Vec<String>),
}

impl Yaml {
    fn scalar(&self) -> &str {
        match self {
            Yaml::Scalar(s) => s,
            Yaml::List(l) => panic!("expected a scalar, found {l:?}"),
        }
    }
}

/// One `- filter:` of a test.yaml.
#[derive(Default)]
struct Filter {
    line: usize,
    requires: Vec<String>,
    count: Option<String>,
    matches: Vec<(String, Yaml)>,
}

/// What this test reads of a test.yaml: `pcap:`, the keys of the top-level `requires:`,
/// and the filters of `checks:`.
#[derive(Default)]
struct SuricataTest {
    pcap: Option<String>,
    requires: Vec<String>,
    filters: Vec<Filter>,
}

/// Reads the YAML subset suricata-verify's test.yaml files use: top-level keys; under
/// `checks:` a list of items, of which `- filter:` ones hold `requires:`, `count:` and
/// `match:`, the last two levels deep as `key: value` lines. Indentation tells the levels.
fn parse_suricata_yaml(text: &str) -> SuricataTest {
    let mut test = SuricataTest::default();
    let mut top = String::new();
    // The indentation of the `- ` items of `checks:`; inside a filter, that of its own
    // keys, and the current sub-block.
    let mut item_indent: Option<usize> = None;
    let mut filter_indent: Option<usize> = None;
    let mut in_filter = false;
    let mut block = String::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && !trimmed.starts_with('-') {
            let (key, value) = yaml_key_value(trimmed);
            if key == "pcap" {
                test.pcap = Some(value.scalar().to_owned());
            }
            top = key;
            continue;
        }
        match top.as_str() {
            "requires" => test.requires.push(yaml_key_value(trimmed).0),
            "checks" => {
                let is_item = item_indent.is_none_or(|i| indent <= i);
                if let Some(item) = trimmed.strip_prefix("- ").filter(|_| is_item) {
                    item_indent = Some(indent);
                    in_filter = item.trim_end() == "filter:";
                    if in_filter {
                        test.filters.push(Filter {
                            line: n + 1,
                            ..Filter::default()
                        });
                    }
                    filter_indent = None;
                    block.clear();
                    continue;
                }
                let Some(filter) = test.filters.last_mut().filter(|_| in_filter) else {
                    continue;
                };
                // A nested block list (`requires: features: - x`) is not read; inside
                // `match` it would be a value we cannot see, so refuse it.
                if trimmed.starts_with("- ") {
                    assert!(block != "match", "line {}: block list in match", n + 1);
                    continue;
                }
                let own_indent = *filter_indent.get_or_insert(indent);
                let (key, value) = yaml_key_value(trimmed);
                if indent == own_indent {
                    if key == "count" {
                        filter.count = Some(value.scalar().to_owned());
                    }
                    block = key;
                } else if block == "requires" {
                    filter.requires.push(key);
                } else if block == "match" {
                    filter.matches.push((key, value));
                }
            }
            _ => {}
        }
    }
    test
}

/// `key: value` (or `key:`), the key unquoted, the value parsed.
fn yaml_key_value(line: &str) -> (String, Yaml) {
    let (key, value) = match line.split_once(": ") {
        Some((k, v)) => (k, v),
        None => (line.strip_suffix(':').unwrap_or(line), ""),
    };
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (key.to_owned(), yaml_value(value.trim()))
}

fn yaml_value(text: &str) -> Yaml {
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return Yaml::List(
            split_flow_list(inner)
                .iter()
                .map(|s| yaml_scalar(s))
                .collect(),
        );
    }
    Yaml::Scalar(yaml_scalar(text))
}

/// The items of a flow list `"a", "b, c", d`: commas inside quotes do not split.
fn split_flow_list(inner: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let (mut quote, mut escaped) = (None, false);
    for c in inner.chars() {
        match (quote, c) {
            (None, ',') => items.push(std::mem::take(&mut current).trim().to_owned()),
            (None, '"' | '\'') => {
                quote = Some(c);
                current.push(c);
            }
            (Some(q), _) => {
                current.push(c);
                if c == q && !escaped {
                    quote = None;
                }
                escaped = q == '"' && c == '\\' && !escaped;
            }
            (None, _) => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        items.push(current.trim().to_owned());
    }
    items
}

/// A plain, 'single-quoted' or "double-quoted" (with YAML's escapes) scalar.
fn yaml_scalar(text: &str) -> String {
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        // A plain scalar ends at a comment.
        return text
            .split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escape = chars.next().expect("an escape after a backslash");
        let hex_digits = match escape {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if hex_digits > 0 {
            let code: String = chars.by_ref().take(hex_digits).collect();
            let code = u32::from_str_radix(&code, 16).expect("hex escape");
            out.push(char::from_u32(code).expect("a character"));
            continue;
        }
        out.push(match escape {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            other => other, // \" \\ \/
        });
    }
    out
}

/// The expected records of one test.yaml (none if it has no record checks); `Err` with
/// the origin for a record whose check does not tell its type.
fn suricata_expected(yaml: &Path) -> Vec<Result<Expected, String>> {
    let test = parse_suricata_yaml(&read(yaml));
    // Checks for older suricata versions (`lt-version`) describe behaviour since changed.
    if test.requires.iter().any(|r| r == "lt-version") {
        return Vec::new();
    }
    let dir = yaml.parent().unwrap();
    let relative = yaml.strip_prefix(public("suricata-verify")).unwrap();
    let mut expected = Vec::new();
    for filter in &test.filters {
        let current = !filter.requires.iter().any(|r| r == "lt-version");
        // `count: 0` asserts an event is absent.
        let present = filter.count.as_deref() != Some("0");
        let groups = suricata_record_groups(&filter.matches);
        if !(current && present) || groups.is_empty() {
            continue;
        }
        let capture = suricata_capture(dir, test.pcap.as_deref());
        let top_level = |name: &str| {
            filter
                .matches
                .iter()
                .find(|(k, _)| k.split_once('.').is_some_and(|(_, field)| field == name))
                .map(|(_, v)| v.scalar().to_owned())
        };
        let msg_id = top_level("id").map(|id| id.parse().expect("id is a number"));
        let qtype = top_level("queries[0].rrtype").or_else(|| top_level("rrtype"));
        for ((proto, section, index), fields) in groups {
            let origin = format!(
                "suricata-verify {} line {} {proto}.{section}[{index}]",
                relative.display(),
                filter.line
            );
            let record = suricata_record(&fields, &origin, &capture, &section, qtype.as_deref());
            expected.push(record.map(|e| Expected { msg_id, ..e }).ok_or(origin));
        }
    }
    expected
}

/// The capture a test runs on: `pcap:` relative to the test, else the one capture beside
/// the test.yaml.
fn suricata_capture(dir: &Path, pcap: Option<&str>) -> PathBuf {
    if let Some(pcap) = pcap {
        let path = dir.join(pcap);
        assert!(path.exists(), "{} is missing", path.display());
        return path;
    }
    let mut captures: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".pcap") || name.ends_with(".pcapng")
        })
        .collect();
    assert_eq!(captures.len(), 1, "{}: not one capture", dir.display());
    captures.pop().unwrap()
}

/// Record fields of a filter's `match`, by (event type, section, index):
/// `dns.answers[1].rrname` goes to ("dns", "answers", 1) as `rrname`.
type RecordGroups = BTreeMap<(String, String, usize), Vec<(String, Yaml)>>;

fn suricata_record_groups(matches: &[(String, Yaml)]) -> RecordGroups {
    let mut groups = RecordGroups::new();
    for (key, value) in matches {
        let Some((proto, rest)) = key.split_once('.') else {
            continue;
        };
        let Some((section, rest)) = rest.split_once('[') else {
            continue;
        };
        let Some((index, field)) = rest.split_once("].") else {
            continue;
        };
        let is_dns = ["dns", "mdns", "llmnr"].contains(&proto);
        let is_record = ["answers", "authorities", "additionals"].contains(&section);
        if is_dns && is_record {
            let group = (proto.to_owned(), section.to_owned(), index.parse().unwrap());
            groups
                .entry(group)
                .or_default()
                .push((field.to_owned(), value.clone()));
        }
    }
    groups
}

/// One described record as an [`Expected`]; `None` if the check does not tell its type.
fn suricata_record(
    fields: &[(String, Yaml)],
    origin: &str,
    capture: &Path,
    section: &str,
    qtype: Option<&str>,
) -> Option<Expected> {
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let text = |name: &str| get(name).map(|v| v.scalar().to_owned());
    let rtype = text("rrtype")
        .or_else(|| suricata_type_from_fields(fields, qtype))?
        .to_ascii_uppercase();
    let mut e = Expected::new(origin.to_owned(), capture.to_path_buf(), &[&rtype]);
    e.section = Some(match section {
        "answers" => Section::Answer,
        "authorities" => Section::Authority,
        _ => Section::Additional,
    });
    e.owner = text("rrname").map(|n| name_text(&bytes_with_hex_escapes(&n)));
    e.ttl = text("ttl").map(|t| t.parse().expect("ttl is a number"));
    e.value = suricata_value(&rtype, fields, &mut e.view);
    Some(e)
}

/// The type of a record whose check gives no `rrtype`: from the type-specific value fields
/// (`srv.port`, `a`, `ptr`...), else, for a bare `rdata`, the query's type. (A wrong guess
/// cannot pass: the value is still compared exactly.)
fn suricata_type_from_fields(fields: &[(String, Yaml)], qtype: Option<&str>) -> Option<String> {
    let by_field = fields.iter().find_map(|(k, _)| {
        let prefix = k.split('.').next().unwrap_or_default();
        ["a", "ptr", "txt", "srv", "sshfp", "soa"]
            .contains(&prefix)
            .then(|| prefix.to_owned())
    });
    let has_rdata = fields.iter().any(|(k, _)| k == "rdata");
    by_field.or_else(|| qtype.filter(|_| has_rdata).map(str::to_owned))
}

/// The record's value in our form, from `rdata` or the type's own fields; sets the view
/// where suricata prints only part of the value.
fn suricata_value(rtype: &str, fields: &[(String, Yaml)], view: &mut View) -> Option<String> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.scalar().to_owned())
    };
    let names = |keys: &[&str]| -> Option<Vec<String>> { keys.iter().map(|k| get(k)).collect() };
    if let Some(Yaml::List(strings)) = fields.iter().find(|(k, _)| k == "txt").map(|(_, v)| v) {
        return Some(quoted_all(strings.iter().map(|s| s.as_bytes())));
    }
    if let Some(v) = get("a").or(get("ptr")) {
        return Some(suricata_rdata(rtype, &v, view));
    }
    if let Some(rdata) = get("rdata") {
        return Some(suricata_rdata(rtype, &rdata, view));
    }
    if let Some([p, w, port, target]) =
        names(&["srv.priority", "srv.weight", "srv.port", "srv.name"]).as_deref()
    {
        return Some(format!("{p} {w} {port} {}", name_text(target.as_bytes())));
    }
    if let Some([alg, fp]) = names(&["sshfp.algo", "sshfp.fingerprint"]).as_deref() {
        *view = sshfp_without_fp_type;
        return Some(format!("{alg} {}", fp.replace(':', "")));
    }
    let soa = [
        "soa.mname",
        "soa.rname",
        "soa.serial",
        "soa.refresh",
        "soa.retry",
        "soa.expire",
        "soa.minimum",
    ];
    if let Some([mname, rname, numbers @ ..]) = names(&soa).as_deref() {
        return Some(format!(
            "{} {} {}",
            name_text(mname.as_bytes()),
            name_text(rname.as_bytes()),
            numbers.join(" ")
        ));
    }
    None
}

/// Suricata's `rdata` string in our form for the type.
fn suricata_rdata(rtype: &str, rdata: &str, view: &mut View) -> String {
    let bytes = bytes_with_hex_escapes(rdata);
    match rtype {
        "A" => rdata.to_owned(),
        "AAAA" => ipv6_text(rdata),
        "CNAME" | "NS" | "PTR" | "DNAME" => name_text(&bytes),
        "TXT" => {
            *view = txt_each_string;
            quoted(&bytes)
        }
        "NULL" => generic(&bytes),
        other => panic!("unhandled suricata rdata of type {other}: {rdata:?}"),
    }
}

/// The bytes behind Suricata's and Zeek's text for raw bytes: characters as their UTF-8,
/// `\xNN` (how both print a byte they do not show) as the byte.
fn bytes_with_hex_escapes(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let escaped = rest
            .strip_prefix("\\x")
            .and_then(|r| r.get(..2))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            rest = &rest[4..];
        } else {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Zeek: testing/btest/Baseline/<test>/dns.log is the dns.log Zeek writes for the trace its
// btest script reads (`zeek ... -r $TRACES/<trace>`). A row is one query and its response:
// `trans_id`, `query`, and the answer section as `answers` (values only, no owner or type)
// with `TTLs`. Zeek prints some types in full (addresses, names, TXT strings) and others as
// a summary (`RRSIG 48 paypal.com`, `DS 5 1`, `SSHFP: <hex>`); each form gets its type(s)
// and a view of ours that prints what Zeek prints.

const ZEEK_BTEST: &str = "zeek/testing/btest";

/// Zeek baselines where we legitimately decode less than Zeek.
const ZEEK_EXCEPTIONS: &[Exception] = &[Exception {
    origin: "core.tunnels.gre-over-udp/",
    rtype: None,
    value: None,
    why: "DNS inside GRE over UDP: the capture crate follows no tunnels",
}];

#[test]
fn zeek_dns_log_answers_are_among_ours() {
    let btest = public(ZEEK_BTEST);
    let mut expected = Vec::new();
    let mut not_compared: BTreeMap<&'static str, usize> = BTreeMap::new();
    for log in files_ending(&btest.join("Baseline"), "/dns.log") {
        let trace = zeek_trace(&btest, &log);
        for (e, kind) in zeek_expected(&log, &trace) {
            match e {
                Some(e) => expected.push(e),
                None => *not_compared.entry(kind).or_default() += 1,
            }
        }
    }
    println!("zeek answers not compared (summaries without a comparable value): {not_compared:?}");
    compare(&expected, ZEEK_EXCEPTIONS).assert_ok("zeek", 70);
}

/// The trace a baseline's dns.log was written from: the last `-r $TRACES/...` of the btest
/// script named like the baseline directory (`scripts.base.protocols.dns.nsec` is
/// `scripts/base/protocols/dns/nsec.zeek`), before its `btest-diff dns.log`.
fn zeek_trace(btest: &Path, log: &Path) -> PathBuf {
    let test = log.parent().unwrap().file_name().unwrap().to_string_lossy();
    let stem = test.replace('.', "/");
    let script = ["zeek", "test"]
        .iter()
        .map(|ext| btest.join(format!("{stem}.{ext}")))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no btest script for {test}"));
    let text = read(&script);
    let before_diff = text.split("btest-diff dns.log").next().unwrap();
    let trace = before_diff
        .rsplit("$TRACES/")
        .next()
        .filter(|_| before_diff.contains("$TRACES/"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{}: no trace", script.display()));
    let path = btest.join("Traces").join(trace);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// Each answer of each row: the expected record, or `None` and the kind of summary that is
/// not compared.
fn zeek_expected(log: &Path, trace: &Path) -> Vec<(Option<Expected>, &'static str)> {
    let text = read(log);
    let test = log.parent().unwrap().file_name().unwrap().to_string_lossy();
    let columns: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .expect("a #fields header")
        .split('\t')
        .collect();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if !line.starts_with('#') {
            let row: BTreeMap<&str, &str> = columns.iter().copied().zip(line.split('\t')).collect();
            let origin = format!("zeek {test}/dns.log line {}", n + 1);
            out.extend(zeek_row_expected(&row, &origin, trace));
        }
    }
    out
}

/// The answers of one dns.log row, scoped to its message (`trans_id` and `query`).
fn zeek_row_expected(
    row: &BTreeMap<&str, &str>,
    origin: &str,
    trace: &Path,
) -> Vec<(Option<Expected>, &'static str)> {
    let vector = |name: &str| zeek_vector(row.get(name).copied().unwrap_or("-"));
    let (answers, ttls) = (vector("answers"), vector("TTLs"));
    assert_eq!(answers.len(), ttls.len(), "{origin}: answers and TTLs");
    let mut out = Vec::new();
    for (i, (answer, ttl)) in answers.iter().zip(ttls).enumerate() {
        let Some((rtypes, value, view)) = zeek_answer(answer) else {
            out.push((None, zeek_summary_kind(answer)));
            continue;
        };
        let origin = format!("{origin} answer {i}");
        let mut e = Expected::new(origin, trace.to_path_buf(), rtypes);
        e.value = Some(value);
        e.view = view;
        e.section = Some(Section::Answer);
        e.ttl = Some(ttl.parse::<f64>().expect("a TTL") as u32);
        e.msg_id = row.get("trans_id").and_then(|id| id.parse().ok());
        e.qname = row
            .get("query")
            .filter(|q| **q != "-")
            .map(|q| name_text(&bytes_with_hex_escapes(q)));
        out.push((Some(e), ""));
    }
    out
}

/// A Zeek vector field: comma-separated, `-` unset, `(empty)` empty.
fn zeek_vector(field: &str) -> Vec<String> {
    match field {
        "-" | "(empty)" => Vec::new(),
        _ => field.split(',').map(str::to_owned).collect(),
    }
}

/// The types, our-form value and view of one Zeek answer; `None` for a summary that does
/// not identify the value (`DNSKEY`'s algorithm alone is compared; `LOC:`,
/// `NSEC3PARAM`, update prerequisites... are not).
fn zeek_answer(answer: &str) -> Option<(&'static [&'static str], String, View)> {
    const NAME_TYPES: &[&str] = &["CNAME", "DNAME", "NS", "PTR", "MX", "SRV", "SOA"];
    if answer.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some((&["A"], answer.to_owned(), full));
    }
    if answer.parse::<Ipv6Addr>().is_ok() {
        return Some((&["AAAA"], ipv6_text(answer), full));
    }
    let bytes = bytes_with_hex_escapes(answer);
    for (prefix, rtype) in [("TXT ", &["TXT"]), ("SPF ", &["SPF"])] {
        if bytes.starts_with(prefix.as_bytes()) {
            let strings = zeek_character_strings(&bytes, prefix.as_bytes())?;
            return Some((rtype, quoted_all(strings.iter().map(Vec::as_slice)), full));
        }
    }
    let fields: Vec<&str> = answer.split(' ').collect();
    match fields.as_slice() {
        ["RRSIG", covered, signer] => Some((
            &["RRSIG"],
            format!("{covered} {}", name_text(signer.as_bytes())),
            zeek_rrsig_view,
        )),
        ["DNSKEY", alg] => Some((&["DNSKEY"], (*alg).to_owned(), zeek_dnskey_view)),
        ["DS", alg, digest_type] => Some((&["DS"], format!("{alg} {digest_type}"), zeek_ds_view)),
        ["SSHFP:", fingerprint] => Some((&["SSHFP"], (*fingerprint).to_owned(), zeek_sshfp_view)),
        [name] if zeek_is_name(name) => Some((NAME_TYPES, name_text(&bytes), zeek_name_view)),
        _ => None,
    }
}

/// `TXT 3 abc TXT 2 de`: each string's length, then that many bytes (which may hold
/// spaces and the word TXT); `None` if the lengths do not fit.
fn zeek_character_strings(bytes: &[u8], prefix: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut strings = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        rest = rest.strip_prefix(prefix)?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let len: usize = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        let body = rest.get(digits + 1..digits + 1 + len)?;
        strings.push(body.to_vec());
        rest = &rest[digits + 1 + len..];
        rest = rest.strip_prefix(b" ").unwrap_or(rest);
    }
    Some(strings)
}

/// A single-word answer that is a domain name (not a summary like `NSEC3PARAM`).
fn zeek_is_name(word: &str) -> bool {
    word.contains('.') && !word.ends_with(':')
}

/// What the answer is, for the count of answers not compared.
fn zeek_summary_kind(answer: &str) -> &'static str {
    const KINDS: &[&str] = &["LOC:", "NSEC3PARAM", "BIND9", "pre:", "del:", "add:"];
    KINDS
        .iter()
        .find(|k| answer.starts_with(**k))
        .copied()
        .unwrap_or("other")
}

/// Zeek logs an MX's exchange, an SRV's target and an SOA's mname; the name itself for
/// CNAME, DNAME, NS and PTR.
fn zeek_name_view(rtype: &str, ours: &str) -> Vec<String> {
    let fields: Vec<&str> = ours.split(' ').collect();
    let name = match (rtype, fields.as_slice()) {
        ("MX", [_, exchange]) => exchange,
        ("SRV", [_, _, _, target]) => target,
        ("SOA", [mname, ..]) => mname,
        ("CNAME" | "DNAME" | "NS" | "PTR", [name]) => name,
        _ => return Vec::new(),
    };
    vec![(*name).to_owned()]
}

/// `RRSIG <type covered as a number> <signer>`.
fn zeek_rrsig_view(_rtype: &str, ours: &str) -> Vec<String> {
    let fields: Vec<&str> = ours.split(' ').collect();
    let (Some(covered), Some(signer)) = (fields.first(), fields.get(7)) else {
        return Vec::new();
    };
    let covered = type_from_name(covered).expect("we print a type we can read");
    vec![format!("{covered} {signer}")]
}

/// `DNSKEY <algorithm>`.
fn zeek_dnskey_view(_rtype: &str, ours: &str) -> Vec<String> {
    ours.split(' ')
        .nth(2)
        .map(str::to_owned)
        .into_iter()
        .collect()
}

/// `DS <algorithm> <digest type>`.
fn zeek_ds_view(_rtype: &str, ours: &str) -> Vec<String> {
    let fields: Vec<&str> = ours.split(' ').collect();
    match fields.as_slice() {
        [_, alg, digest_type, _] => vec![format!("{alg} {digest_type}")],
        _ => Vec::new(),
    }
}

/// `SSHFP: <fingerprint>`.
fn zeek_sshfp_view(_rtype: &str, ours: &str) -> Vec<String> {
    ours.split(' ')
        .nth(2)
        .map(str::to_owned)
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------------------
// tcpdump: tests/<name>.out is tcpdump's text for the capture (arguments in
// TESTS-dns.txt). After a response's `an/ns/ar` counts it prints its answers as
// `TYPE value`; with -vv every record as `owner. TYPE value` (with -vvv also `[ttl]`),
// answers first, then `ns: ` authority and `ar: ` additional.

/// The expected outputs compared, with their captures: every -vv/-vvv one of a well-formed
/// capture (the others are of fuzzed captures, or read port 8053, which is no DNS port to
/// us), and the default-verbosity ones with answers not also printed with -vv.
const TCPDUMP_OUTPUTS: &[(&str, &str)] = &[
    ("dns-uri.out", "dns-uri.pcap"),
    ("nflog-e.out", "nflog.pcap"),
    ("dns_udp-vv.out", "dns_udp.pcap"),
    ("dns_udp-vvv.out", "dns_udp.pcap"),
    ("dns_tcp-vv.out", "dns_tcp.pcap"),
    ("dns_tcp-vvv.out", "dns_tcp.pcap"),
    ("dns_udp_2.out", "dns_udp_2.pcap"),
    ("dnssec-vv.out", "dnssec.pcap"),
    ("edns-opts-vv.out", "edns-opts.pcap"),
];

/// tcpdump outputs where we legitimately decode less.
const TCPDUMP_EXCEPTIONS: &[Exception] = &[
    Exception {
        origin: "nflog-e.out",
        rtype: None,
        value: None,
        why: "link type NFLOG (239) is not one the capture crate reads \
              (`dropped_unsupported_link_type`)",
    },
    Exception {
        origin: "dns_udp_2.out",
        rtype: Some("A"),
        value: Some("192.139.46.66"),
        why: "the response was captured with 98 of its 266 bytes: the capture crate drops a \
          cut datagram (`dropped_snaplen_truncated`); tcpdump prints the records that fit",
    },
];

#[test]
fn tcpdump_verbose_records_are_among_ours() {
    let dir = public("tcpdump/tests");
    let mut expected = Vec::new();
    let mut not_compared = 0;
    for (output, capture) in TCPDUMP_OUTPUTS {
        let capture = dir.join(capture);
        for (n, line) in read(&dir.join(output)).lines().enumerate() {
            for (i, record) in tcpdump_records(line).into_iter().enumerate() {
                let origin = format!("tcpdump {output} line {} record {i}", n + 1);
                match record.expected(origin, &capture) {
                    Some(e) => expected.push(e),
                    None => not_compared += 1,
                }
            }
        }
    }
    println!(
        "tcpdump records not compared (a value in tcpdump's own format, or neither owner nor \
         value): {not_compared}"
    );
    compare(&expected, TCPDUMP_EXCEPTIONS).assert_ok("tcpdump", 95);
}

/// A record as tcpdump prints it.
#[derive(Debug)]
struct TcpdumpRecord<'a> {
    section: Section,
    /// Printed with -vv only.
    owner: Option<&'a str>,
    ttl: Option<&'a str>,
    rtype: &'a str,
    value: Vec<&'a str>,
}

/// The records of one output line: after the `an/ns/ar` counts of a response, up to the
/// final ` (length)` or the truncation mark ` [|domain]` (a record cut there is dropped).
fn tcpdump_records(line: &str) -> Vec<TcpdumpRecord<'_>> {
    let is_counts = |w: &str| {
        let parts: Vec<&str> = w.split('/').collect();
        parts.len() == 3 && parts.iter().all(|n| n.parse::<u16>().is_ok())
    };
    let Some(counts) = line.split(' ').find(|w| is_counts(w)) else {
        return Vec::new();
    };
    // The body keeps its leading space, so that ` (length)` also ends an empty one.
    let (_, body) = line.split_once(&format!(" {counts}")).unwrap_or_default();
    let body = match body.split_once(" [|domain]") {
        Some((complete, _)) => complete.rsplit_once(", ").map_or("", |(head, _)| head),
        None => body.rsplit_once(" (").map_or(body, |(head, _)| head),
    };
    let mut records = Vec::new();
    for (section, text) in tcpdump_sections(body) {
        let texts = text.split(", ").filter(|t| !t.is_empty());
        records.extend(texts.filter_map(|t| tcpdump_record(section, t)));
    }
    records
}

/// The answer, `ns: ` and `ar: ` parts of a response's records (either may be absent).
fn tcpdump_sections(body: &str) -> [(Section, &str); 3] {
    let (before_ar, additional) = body.split_once("ar: ").unwrap_or((body, ""));
    let (answer, authority) = before_ar.split_once("ns: ").unwrap_or((before_ar, ""));
    [
        (Section::Answer, answer.trim()),
        (Section::Authority, authority.trim()),
        (Section::Additional, additional.trim()),
    ]
}

/// `[owner. [ttl]] TYPE value...`; `None` for OPT.
fn tcpdump_record(section: Section, text: &str) -> Option<TcpdumpRecord<'_>> {
    let mut words = text.split(' ').peekable();
    let owner = words.next_if(|w| w.ends_with('.'));
    let ttl = words
        .next_if(|w| w.starts_with('[') && w.ends_with(']'))
        .map(|w| w.trim_matches(['[', ']']));
    let rtype = words.next()?;
    let record = TcpdumpRecord {
        section,
        owner,
        ttl,
        rtype,
        value: words.collect(),
    };
    (rtype != "OPT").then_some(record)
}

impl TcpdumpRecord<'_> {
    /// `None` where tcpdump prints a value in a form of its own, or prints neither owner
    /// nor value (not compared).
    fn expected(&self, origin: String, capture: &Path) -> Option<Expected> {
        let value = match (self.rtype, self.value.as_slice()) {
            ("A", [address]) => Some((*address).to_owned()),
            ("AAAA", [address]) => Some(ipv6_text(address)),
            ("NS" | "CNAME" | "PTR" | "DNAME", [name]) => Some(name_text(name.as_bytes())),
            // tcpdump prints the URI target unquoted.
            ("URI", [priority, weight, target]) => {
                Some(format!("{priority} {weight} {}", quoted(target.as_bytes())))
            }
            // Types tcpdump prints by name only (RRSIG, SSHFP, DNSKEY...).
            (_, []) => None,
            _ => return None,
        };
        if self.owner.is_none() && value.is_none() {
            return None;
        }
        let mut e = Expected::new(origin, capture.to_path_buf(), &[self.rtype]);
        e.section = Some(self.section);
        e.owner = self.owner.map(|o| name_text(o.as_bytes()));
        e.ttl = self.ttl.map(tcpdump_ttl);
        e.value = value;
        Some(e)
    }
}

/// tcpdump's TTL: `1w2d3h4m5s` style.
fn tcpdump_ttl(text: &str) -> u32 {
    let mut total = 0;
    let mut number = 0;
    for c in text.chars() {
        match c.to_digit(10) {
            Some(d) => number = number * 10 + d,
            None => {
                let unit = match c {
                    'w' => 604_800,
                    'd' => 86_400,
                    'h' => 3_600,
                    'm' => 60,
                    's' => 1,
                    other => panic!("unknown TTL unit {other:?} in {text:?}"),
                };
                total += number * unit;
                number = 0;
            }
        }
    }
    total + number
}

// ---------------------------------------------------------------------------------------
// The normalisation helpers themselves, on known values (a wrong helper would make the
// comparisons above fail or, worse, agree for the wrong reason).

#[test]
fn normalisation_helpers_give_known_values() {
    // RFC 3492 7.1 sample (B) and the usual IDNA example.
    assert_eq!(
        punycode_label("почемужеонинеговорятпорусски"),
        "xn--b1abfaaepdrnnbgefbadotcwatmq2g4l"
    );
    assert_eq!(punycode_label("Bücher"), "xn--bcher-kva");
    assert_eq!(sigtime(0), "19700101000000");
    assert_eq!(sigtime(951_782_400), "20000229000000");
    assert_eq!(sigtime(1_737_849_600), "20250126000000");
    assert_eq!(name_text(b"Foo.\"x y\".com"), r#"foo.\"x\032y\".com."#);
    assert_eq!(name_text(b""), ".");
    assert_eq!(quoted(b"a\"\\\x01"), r#""a\"\\\001""#);
    assert_eq!(txt_strings(r#""a\"b" "" "c""#), [r#"a\"b"#, "", "c"]);
    assert_eq!(yaml_scalar(r#""VACKD\u0003\\xc5""#), "VACKD\u{3}\\xc5");
    assert_eq!(yaml_scalar("'it''s'"), "it's");
    assert_eq!(bytes_with_hex_escapes("V\\xc5"), b"V\xc5");
    assert_eq!(tcpdump_ttl("1d2h3m4s"), 93_784);
    assert_eq!(
        zeek_character_strings(b"TXT 3 a b TXT 0 ", b"TXT "),
        Some(vec![b"a b".to_vec(), Vec::new()])
    );
}
