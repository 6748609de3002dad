//! The master-file reader (RFC 1035 section 5, RFC 2308 `$TTL`): entries into records,
//! directives applied, `$INCLUDE`s followed.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use dnsledger_wire::{class, rdata_from_text_in, rtype, ttl_from_text, type_from_name, NameBuf};
use dnsledger_wire::{type_name, WireError};
use sha2::{Digest, Sha256};

use crate::lexer::{Entry, LexError, Lexer};
use crate::source::{Line, SourceFile};
use crate::{Location, ZoneError};

/// Files open at once through nested `$INCLUDE`s, the top file included. Real zones nest one
/// or two levels; the bound stops a chain of includes from exhausting file handles.
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// One resource record, canonical: owner lower-case and absolute, rdata in the RFC 4034
/// section 6.2 form the wire crate produces. Neither TTL nor class is kept: passive DNS
/// keeps no TTL, and only class IN is returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub owner: NameBuf,
    pub rtype: u16,
    pub rdata: Vec<u8>,
}

/// What the reader counted besides the records it returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub files_read: u64,
    pub records_read: u64,
    /// Entries reported as [`ZoneError::Syntax`] and skipped.
    pub entries_bad: u64,
    /// Records of a class other than IN, skipped.
    pub records_other_class: u64,
    /// `$GENERATE` directives, which this reader does not expand: skipped.
    pub generate_skipped: u64,
}

/// One file being read, with the state RFC 1035 keeps per file: its origin and the last
/// owner named (the owner of entries that start with a blank).
struct Frame {
    file: SourceFile,
    line: u64,
    lexer: Lexer,
    origin: NameBuf,
    last_owner: Option<NameBuf>,
}

impl Frame {
    fn location(&self, line: u64) -> Location {
        Location {
            file: self.file.path.clone(),
            line,
        }
    }
}

/// Reads master files as one zone: an iterator of records, with every bad entry as a
/// [`ZoneError::Syntax`] (the reader goes on) and any other error last (the reader stops).
///
/// Also reads the output of `dig AXFR` and `kdig AXFR` (absolute names, `;;` comments,
/// the SOA at both ends). Gzip-compressed files are decompressed, told by their content.
/// `$INCLUDE` paths are relative to the including file; includes nest at most
/// [`MAX_INCLUDE_DEPTH`] deep and a file that includes itself, directly or not, is refused.
/// Memory is bounded by the longest entry and the include depth, whatever the input.
pub struct MasterReader {
    frames: Vec<Frame>,
    queued: VecDeque<PathBuf>,
    origin: NameBuf,
    digests: Vec<[u8; 32]>,
    stats: ReadStats,
    line: Vec<u8>,
    stopped: bool,
}

/// What one step of reading gave.
enum Step {
    Record(Record),
    Nothing,
    Finished,
}

impl MasterReader {
    /// Reads `files` one after another as one zone, each starting with `origin` as its
    /// origin (the zone's name, as named-checkzone takes it).
    pub fn new(files: &[PathBuf], origin: NameBuf) -> MasterReader {
        MasterReader {
            frames: Vec::new(),
            queued: files.iter().cloned().collect(),
            origin,
            digests: Vec::new(),
            stats: ReadStats::default(),
            line: Vec::new(),
            stopped: false,
        }
    }

    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// The identity of what was read, once the reader is exhausted: SHA-256 (hex) over the
    /// origin and the text of every file read, in the order they ended. The same files give
    /// the same digest, compressed or not; a changed file or include gives another.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"dnsledger-zone import 1\n");
        hasher.update(self.origin.as_wire());
        for digest in &self.digests {
            hasher.update(digest);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn step(&mut self) -> Result<Step, ZoneError> {
        let Some(frame) = self.frames.last_mut() else {
            return match self.queued.pop_front() {
                Some(path) => {
                    self.open(&path, self.origin.clone(), None)?;
                    Ok(Step::Nothing)
                }
                None => Ok(Step::Finished),
            };
        };
        frame.line += 1;
        let line = frame
            .file
            .read_line(&mut self.line)
            .map_err(|source| ZoneError::Io {
                path: frame.file.path.clone(),
                source,
            })?;
        let lexed = match line {
            Line::Text => frame.lexer.line(frame.line, &self.line),
            Line::TooLong => {
                frame.lexer.overlong_line(frame.line);
                Ok(None)
            }
            Line::End => return self.close_file(),
        };
        match lexed.map_err(|e| lex_error(frame, e))? {
            Some(entry) => self.entry(&entry),
            None => Ok(Step::Nothing),
        }
    }

    /// Opens a file on top of the stack (a top-level file, or an include from `from`).
    fn open(
        &mut self,
        path: &Path,
        origin: NameBuf,
        from: Option<Location>,
    ) -> Result<(), ZoneError> {
        if let Some(location) = &from {
            if self.frames.len() >= MAX_INCLUDE_DEPTH {
                return Err(ZoneError::IncludeTooDeep {
                    location: location.clone(),
                    max: MAX_INCLUDE_DEPTH,
                });
            }
        }
        let file = SourceFile::open(path)?;
        if let Some(location) = from {
            if self.frames.iter().any(|f| f.file.identity == file.identity) {
                return Err(ZoneError::IncludeLoop {
                    location,
                    path: path.to_path_buf(),
                });
            }
        }
        self.stats.files_read += 1;
        self.frames.push(Frame {
            file,
            line: 0,
            lexer: Lexer::default(),
            origin,
            last_owner: None,
        });
        Ok(())
    }

    /// Ends the file on top: its digest joins the identity; an entry left open is an error.
    fn close_file(&mut self) -> Result<Step, ZoneError> {
        let Some(mut frame) = self.frames.pop() else {
            return Ok(Step::Nothing);
        };
        let ended = frame.lexer.end().map_err(|e| lex_error(&frame, e));
        self.digests.push(frame.file.digest());
        ended.map(|()| Step::Nothing)
    }

    fn entry(&mut self, entry: &Entry) -> Result<Step, ZoneError> {
        let directive = entry
            .token(0)
            .filter(|t| !entry.leading_blank && !t.quoted && t.text.starts_with('$'));
        match directive {
            Some(token) => self.directive(entry, &token.text.to_ascii_uppercase()),
            None => self.record(entry),
        }
    }

    fn directive(&mut self, entry: &Entry, name: &str) -> Result<Step, ZoneError> {
        let Some(frame) = self.frames.last_mut() else {
            return Ok(Step::Nothing);
        };
        let location = frame.location(entry.line);
        let syntax = |message: String| ZoneError::Syntax {
            location: location.clone(),
            message,
        };
        let argument = |i: usize| entry.token(i).map(|t| t.text);
        let max_arguments = match name {
            "$ORIGIN" | "$TTL" => 1,
            "$INCLUDE" => 2,
            "$GENERATE" => {
                self.stats.generate_skipped += 1;
                return Ok(Step::Nothing);
            }
            _ => return Err(syntax(format!("unknown directive {name}"))),
        };
        let Some(first) = argument(1) else {
            return Err(syntax(format!("{name} without its argument")));
        };
        if argument(max_arguments + 1).is_some() {
            return Err(syntax(format!("text after the arguments of {name}")));
        }
        match name {
            "$ORIGIN" => {
                frame.origin = NameBuf::from_text_in(first, &frame.origin)
                    .map_err(|e| syntax(format!("bad $ORIGIN {first:?}: {e}")))?;
            }
            "$TTL" => {
                ttl_from_text(first).map_err(|e| syntax(format!("bad $TTL {first:?}: {e}")))?;
            }
            _ => {
                let origin = match argument(2) {
                    Some(text) => NameBuf::from_text_in(text, &frame.origin)
                        .map_err(|e| syntax(format!("bad $INCLUDE origin {text:?}: {e}")))?,
                    None => frame.origin.clone(),
                };
                let path = frame
                    .file
                    .path
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(first);
                self.open(&path, origin, Some(location))?;
            }
        }
        Ok(Step::Nothing)
    }

    fn record(&mut self, entry: &Entry) -> Result<Step, ZoneError> {
        let Some(frame) = self.frames.last_mut() else {
            return Ok(Step::Nothing);
        };
        let fields = read_record(frame, entry).map_err(|m| syntax(frame, entry, m))?;
        if fields.class != class::IN {
            self.stats.records_other_class += 1;
            return Ok(Step::Nothing);
        }
        self.stats.records_read += 1;
        Ok(Step::Record(fields.record))
    }
}

impl Iterator for MasterReader {
    type Item = Result<Record, ZoneError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.stopped {
            match self.step() {
                Ok(Step::Record(record)) => return Some(Ok(record)),
                Ok(Step::Nothing) => {}
                Ok(Step::Finished) => self.stopped = true,
                Err(error) => {
                    match error.is_entry_error() {
                        true => self.stats.entries_bad += 1,
                        false => self.stopped = true,
                    }
                    return Some(Err(error));
                }
            }
        }
        None
    }
}

/// A record with the class it was written in.
struct Fields {
    record: Record,
    class: u16,
}

/// `[owner] [TTL] [class] type rdata`, TTL and class in either order (RFC 1035 5.1).
fn read_record(frame: &mut Frame, entry: &Entry) -> Result<Fields, String> {
    let mut next = 0usize;
    let owner = if entry.leading_blank {
        frame
            .last_owner
            .clone()
            .ok_or("no owner: the first record must name one")?
    } else {
        let token = entry.token(0).ok_or("empty entry")?;
        next = 1;
        if token.quoted {
            return Err("an owner name cannot be quoted".into());
        }
        let owner = NameBuf::from_text_in(token.text, &frame.origin)
            .map_err(|e| format!("bad owner {:?}: {e}", token.text))?;
        frame.last_owner = Some(owner.clone());
        owner
    };
    let (mut class, mut ttl) = (None, None);
    let rtype = loop {
        let token = entry
            .token(next)
            .filter(|t| !t.quoted)
            .ok_or("no record type")?;
        next += 1;
        if class.is_none() {
            class = class_from_name(token.text);
            if class.is_some() {
                continue;
            }
        }
        if ttl.is_none() {
            ttl = ttl_from_text(token.text).ok();
            if ttl.is_some() {
                continue;
            }
        }
        break type_from_name(token.text)
            .ok_or_else(|| format!("{:?} is not a record type, TTL or class", token.text))?;
    };
    if is_meta_type(rtype) {
        return Err(format!("{} cannot be in a zone", type_name(rtype)));
    }
    let rdata = rdata_from_text_in(rtype, entry.rest_from(next), &frame.origin)
        .map_err(|e: WireError| format!("bad {} rdata: {e}", type_name(rtype)))?;
    Ok(Fields {
        record: Record {
            owner,
            rtype,
            rdata,
        },
        class: class.unwrap_or(class::IN),
    })
}

/// Class mnemonics (RFC 1035 3.2.4, RFC 2136) and `CLASSnnn` (RFC 3597).
fn class_from_name(text: &str) -> Option<u16> {
    match text.to_ascii_uppercase().as_str() {
        "IN" => Some(class::IN),
        "CS" => Some(2),
        "CH" | "CHAOS" => Some(class::CH),
        "HS" | "HESIOD" => Some(class::HS),
        "NONE" => Some(class::NONE),
        "ANY" => Some(class::ANY),
        other => {
            let digits = other.strip_prefix("CLASS")?;
            match digits.bytes().all(|b| b.is_ascii_digit()) {
                true => digits.parse().ok(),
                false => None,
            }
        }
    }
}

/// Types that exist only in queries and transport (RFC 6895 3.1: 0, OPT, 128..=255).
fn is_meta_type(t: u16) -> bool {
    t == 0 || t == rtype::OPT || (128..=255).contains(&t)
}

fn syntax(frame: &Frame, entry: &Entry, message: String) -> ZoneError {
    ZoneError::Syntax {
        location: frame.location(entry.line),
        message,
    }
}

fn lex_error(frame: &Frame, error: LexError) -> ZoneError {
    ZoneError::Syntax {
        location: frame.location(error.line),
        message: error.message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use dnsledger_wire::rdata_to_text;

    use super::*;

    fn origin() -> NameBuf {
        NameBuf::from_text("example.com.").unwrap()
    }

    /// Every record as `owner TYPE rdata`, and every error as its message.
    fn read(files: &[PathBuf], origin: NameBuf) -> (Vec<String>, Vec<String>, MasterReader) {
        let mut reader = MasterReader::new(files, origin);
        let (mut records, mut errors) = (Vec::new(), Vec::new());
        for item in reader.by_ref() {
            match item {
                Ok(r) => records.push(format!(
                    "{} {} {}",
                    r.owner,
                    type_name(r.rtype),
                    rdata_to_text(r.rtype, &r.rdata).unwrap()
                )),
                Err(e) => errors.push(e.to_string()),
            }
        }
        (records, errors, reader)
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const ZONE: &str = r#"; a zone with most of what RFC 1035 allows
$TTL 1h
@   IN  SOA ns1 hostmaster (
        2025010101 ; serial
        1h 10m 1d 300 )
    IN  NS  ns1
        NS  ns2.example.net.
ns1 300 IN A 192.0.2.1
    IN 300 AAAA 2001:db8::1
www 60 CNAME @
$ORIGIN sub
host TXT "quoted; \"escaped\"" plain
host TYPE65280 \# 3 abcdef
chaos CH TXT "not IN"
$GENERATE 1-3 h$ A 192.0.2.$
WWW.EXAMPLE.COM. MX 10 mail.Example.Com.
"#;

    #[test]
    fn a_master_file_with_directives_relative_names_and_omissions() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "zone", ZONE);
        let (records, errors, reader) = read(&[file], origin());
        assert_eq!(errors, Vec::<String>::new());
        assert_eq!(
            records,
            [
                "example.com. SOA ns1.example.com. hostmaster.example.com. 2025010101 3600 600 86400 300",
                "example.com. NS ns1.example.com.",
                "example.com. NS ns2.example.net.",
                "ns1.example.com. A 192.0.2.1",
                "ns1.example.com. AAAA 2001:db8::1",
                "www.example.com. CNAME example.com.",
                "host.sub.example.com. TXT \"quoted; \\\"escaped\\\"\" \"plain\"",
                "host.sub.example.com. TYPE65280 \\# 3 abcdef",
                "www.example.com. MX 10 mail.example.com.",
            ]
        );
        let stats = reader.stats();
        assert_eq!(
            (
                stats.files_read,
                stats.records_read,
                stats.records_other_class
            ),
            (1, 9, 1)
        );
        assert_eq!((stats.generate_skipped, stats.entries_bad), (1, 0));
    }

    #[test]
    fn kdig_axfr_output_reads_as_a_master_file() {
        let dir = tempfile::tempdir().unwrap();
        let soa = "ns1.quebec-ns.org. hostmaster.xray-mx.org. 2025010101 3600 600 86400 10";
        let text = format!(
            ";; AXFR for xray-mx.org.\n\
             xray-mx.org.        \t30\tIN\tSOA\t{soa}\n\
             xray-mx.org.        \t30\tIN\tNS\tns1.quebec-ns.org.\n\
             nomail.xray-mx.org. \t30\tIN\tMX\t0 .\n\
             xray-mx.org.        \t30\tIN\tSOA\t{soa}\n\
             ;; Received 152 B (1 messages, 4 records)\n\
             ;; Time 2025-01-01 00:00:00 UTC\n\
             ;; From 127.0.0.29@53(TCP) in 0.3 ms\n"
        );
        let file = write(dir.path(), "xfr", &text);
        let (records, errors, _) = read(&[file], NameBuf::from_text("xray-mx.org.").unwrap());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            records,
            [
                format!("xray-mx.org. SOA {soa}"),
                "xray-mx.org. NS ns1.quebec-ns.org.".into(),
                "nomail.xray-mx.org. MX 0 .".into(),
                format!("xray-mx.org. SOA {soa}"),
            ]
        );
    }

    #[test]
    fn bad_entries_are_reported_with_file_and_line_and_reading_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let text = "\tA 192.0.2.1\n\
                    a A 192.0.2.300\n\
                    b FOO 1\n\
                    c IN ANY x\n\
                    $ORIGIN\n\
                    $BOGUS x\n\
                    d TXT \"open\n\
                    e ( A\n\
                    192.0.2.5 ) )\n\
                    \"q\" A 192.0.2.6\n\
                    f A 192.0.2.7\n\
                    g SOA ( x\n";
        let file = write(dir.path(), "bad.zone", text);
        let (records, errors, reader) = read(&[file], origin());
        assert_eq!(records, ["f.example.com. A 192.0.2.7"]);
        let path = dir.path().join("bad.zone").display().to_string();
        let expected = [
            "1: no owner: the first record must name one",
            "2: bad A rdata: bad presentation text: bad IPv4 address",
            "3: \"FOO\" is not a record type, TTL or class",
            "4: ANY cannot be in a zone",
            "5: $ORIGIN without its argument",
            "6: unknown directive $BOGUS",
            "7: quoted string not closed on its line",
            "8: unbalanced ')'",
            "10: an owner name cannot be quoted",
            "12: parenthesis not closed before the end of the file",
        ]
        .map(|e| format!("{path}:{e}"));
        assert_eq!(errors, expected);
        assert_eq!(reader.stats().entries_bad, expected.len() as u64);
    }

    #[test]
    fn includes_are_relative_to_the_including_file_and_keep_their_own_origin() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("parts")).unwrap();
        write(
            dir.path(),
            "parts/hosts",
            "www A 192.0.2.80\n$INCLUDE more other.example.com.\n",
        );
        write(dir.path(), "parts/more", "@ A 192.0.2.90\n");
        let main = write(
            dir.path(),
            "main.zone",
            "@ NS ns1\n$INCLUDE parts/hosts sub\n\tA 192.0.2.1\nlast A 192.0.2.2\n",
        );
        let (records, errors, reader) = read(&[main], origin());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            records,
            [
                "example.com. NS ns1.example.com.",
                "www.sub.example.com. A 192.0.2.80",
                "other.example.com. A 192.0.2.90",
                // The owner and origin of the including file are its own again.
                "example.com. A 192.0.2.1",
                "last.example.com. A 192.0.2.2",
            ]
        );
        assert_eq!(reader.stats().files_read, 3);
    }

    #[test]
    fn include_loops_and_missing_includes_end_the_reading() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a", "a A 192.0.2.1\n$INCLUDE b\n");
        write(
            dir.path(),
            "b",
            "b A 192.0.2.2\n$INCLUDE a\nnever A 192.0.2.3\n",
        );
        let (records, errors, _) = read(&[dir.path().join("a")], origin());
        assert_eq!(records.len(), 2);
        assert_eq!(errors.len(), 1);
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        assert_eq!(
            errors[0],
            format!(
                "{}:2: $INCLUDE of {} includes itself",
                b.display(),
                a.display()
            )
        );
        let main = write(dir.path(), "c", "$INCLUDE missing\nnever A 192.0.2.3\n");
        let (records, errors, _) = read(&[main], origin());
        assert!(records.is_empty());
        assert!(errors[0].starts_with(&dir.path().join("missing").display().to_string()));
    }

    #[test]
    fn includes_nest_only_so_deep() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..MAX_INCLUDE_DEPTH + 1 {
            write(
                dir.path(),
                &format!("z{n}"),
                &format!("h{n} A 192.0.2.1\n$INCLUDE z{}\n", n + 1),
            );
        }
        let (records, errors, _) = read(&[dir.path().join("z0")], origin());
        assert_eq!(records.len(), MAX_INCLUDE_DEPTH);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("nested deeper than 8 files"),
            "{errors:?}"
        );
    }

    #[test]
    fn the_digest_names_the_content_and_origin_not_the_compression() {
        let dir = tempfile::tempdir().unwrap();
        let plain = write(dir.path(), "zone", ZONE);
        let packed = dir.path().join("zone.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, ZONE.as_bytes()).unwrap();
        std::fs::write(&packed, encoder.finish().unwrap()).unwrap();
        let digest = |files: &[PathBuf], origin: NameBuf| read(files, origin).2.digest();
        let first = digest(std::slice::from_ref(&plain), origin());
        assert_eq!(first.len(), 64);
        assert_eq!(digest(&[packed], origin()), first);
        assert_ne!(
            digest(
                std::slice::from_ref(&plain),
                NameBuf::from_text("org.").unwrap()
            ),
            first
        );
        write(dir.path(), "zone", &format!("{ZONE}extra A 192.0.2.9\n"));
        assert_ne!(digest(&[plain], origin()), first);
    }

    /// A small deterministic generator (xorshift64*), so the property runs the same inputs
    /// on every machine.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A reader of bytes in memory, as if they were the file `fuzz.zone`.
    fn in_memory(bytes: Vec<u8>) -> MasterReader {
        let path = PathBuf::from("fuzz.zone");
        let file = SourceFile::from_reader(path.clone(), path, std::io::Cursor::new(bytes));
        let mut reader = MasterReader::new(&[], origin());
        reader.frames.push(Frame {
            file: file.unwrap(),
            line: 0,
            lexer: Lexer::default(),
            origin: origin(),
            last_owner: None,
        });
        reader
    }

    #[test]
    fn property_garbage_and_mutated_zones_never_panic() {
        let alphabet = b" \t\n;()\"\\$@.0123456789abcxyzAIN";
        let mut random = Random(0x5eed_cafe_f00d_d00d);
        for round in 0..3000 {
            let mut bytes = ZONE.as_bytes().to_vec();
            if round % 3 == 0 {
                bytes = (0..random.below(400))
                    .map(|_| random.next() as u8)
                    .collect();
            }
            for _ in 0..random.below(12) {
                let at = random.below(bytes.len() + 1);
                match random.below(4) {
                    0 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, alphabet[random.below(alphabet.len())]),
                    2 => bytes.insert(at, random.next() as u8),
                    _ if at < bytes.len() => bytes[at] = alphabet[random.below(alphabet.len())],
                    _ => {}
                }
            }
            if round % 5 == 0 {
                bytes.extend_from_slice(b"\n$INCLUDE /nonexistent\n");
            }
            let len = bytes.len() as u64;
            let mut reader = in_memory(bytes);
            let items = reader.by_ref().take(10_000).count();
            assert!(items < 10_000, "the reader did not end on round {round}");
            let stats = reader.stats();
            assert!(stats.records_read + stats.entries_bad <= len + 1);
        }
    }
}
