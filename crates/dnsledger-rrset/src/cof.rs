use std::io::Write;

use serde::Serialize;

use dnsledger_wire::{push_name_text, push_rdata_text, type_name};

use crate::{Observation, ObservationSink, SinkError};

/// One RRset in the Common Output Format (draft-dulaunoy-dnsop-passive-dns-cof), the shape
/// DNSDB, CIRCL and our own NDJSON outputs share: rdata always an array, times integers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CofRecord {
    pub rrname: String,
    pub rrtype: String,
    pub rdata: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bailiwick: Option<String>,
    pub count: u64,
    pub time_first: i64,
    pub time_last: i64,
}

impl From<&Observation> for CofRecord {
    fn from(obs: &Observation) -> CofRecord {
        CofRecord {
            rrname: obs.rrset.rrname().to_text(),
            rrtype: obs.rrset.rrtype_text(),
            rdata: obs.rrset.rdata_text(),
            bailiwick: obs.rrset.bailiwick().map(|b| b.to_text()),
            count: obs.seen.count,
            time_first: obs.seen.time_first,
            time_last: obs.seen.time_last,
        }
    }
}

/// Writes every observation as one COF JSON object per line, byte for byte what serializing
/// a [`CofRecord`] gives, but formatted straight into reused buffers: the sensor writes
/// hundreds of thousands of rows at the end of a capture.
pub struct CofSink<W: Write> {
    out: W,
    line: Vec<u8>,
    text: String,
}

impl<W: Write> CofSink<W> {
    pub fn new(out: W) -> CofSink<W> {
        CofSink {
            out,
            line: Vec::with_capacity(4096),
            text: String::with_capacity(1024),
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Formats one observation as a JSON line into `self.line`.
    fn format(&mut self, obs: &Observation) -> serde_json::Result<()> {
        let parts = obs.rrset.parts();
        self.line.clear();
        self.line.extend_from_slice(b"{\"rrname\":");
        self.json_text(|text| push_name_text(text, parts.rrname))?;
        self.line.extend_from_slice(b",\"rrtype\":");
        push_json_string(&mut self.line, &type_name(parts.rrtype))?;
        self.line.extend_from_slice(b",\"rdata\":[");
        for (index, rdata) in parts.rdata().enumerate() {
            if index > 0 {
                self.line.push(b',');
            }
            self.json_text(|text| push_rdata_text(text, parts.rrtype, rdata))?;
        }
        self.line.push(b']');
        if let Some(zone) = parts.bailiwick {
            self.line.extend_from_slice(b",\"bailiwick\":");
            self.json_text(|text| push_name_text(text, zone))?;
        }
        let seen = &obs.seen;
        push_integer(&mut self.line, b",\"count\":", seen.count);
        push_integer(&mut self.line, b",\"time_first\":", seen.time_first);
        push_integer(&mut self.line, b",\"time_last\":", seen.time_last);
        self.line.extend_from_slice(b"}\n");
        Ok(())
    }

    /// Appends the text `fill` writes as a JSON string.
    fn json_text(&mut self, fill: impl FnOnce(&mut String)) -> serde_json::Result<()> {
        self.text.clear();
        fill(&mut self.text);
        push_json_string(&mut self.line, &self.text)
    }
}

/// Appends `label` and `value` in decimal, with itoa: through `core::fmt` the three
/// integers of the bench capture's 644,478 rows cost 0.4 billion instructions more.
fn push_integer(out: &mut Vec<u8>, label: &[u8], value: impl itoa::Integer) {
    out.extend_from_slice(label);
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends `text` as a JSON string, exactly as serde_json writes it: most names and rdata
/// need no escaping (no control character, `"` or backslash) and are copied whole; the rest
/// go through serde_json.
fn push_json_string(out: &mut Vec<u8>, text: &str) -> serde_json::Result<()> {
    let needs_escape = text.bytes().fold(false, |found, b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        return serde_json::to_writer(out, text);
    }
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
}

impl<W: Write> ObservationSink for CofSink<W> {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        for obs in &batch {
            self.format(obs).map_err(std::io::Error::from)?;
            self.out.write_all(&self.line)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(self.out.flush()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RRset, Seen};
    use dnsledger_wire::NameBuf;

    #[test]
    fn writes_one_cof_line_per_observation() {
        let rrset = RRset::new(
            NameBuf::from_text("WWW.Example.com").unwrap(),
            1,
            Some(NameBuf::from_text("example.com.").unwrap()),
            vec![vec![192, 0, 2, 7], vec![192, 0, 2, 1]],
        );
        let seen = Seen {
            time_first: 1_700_000_000,
            time_last: 1_700_000_100,
            count: 3,
        };
        let mut sink = CofSink::new(Vec::new());
        sink.accept(vec![Observation { rrset, seen }]).unwrap();
        let text = String::from_utf8(sink.into_inner()).unwrap();
        assert_eq!(
            text,
            "{\"rrname\":\"www.example.com.\",\"rrtype\":\"A\",\"rdata\":[\"192.0.2.1\",\"192.0.2.7\"],\
             \"bailiwick\":\"example.com.\",\"count\":3,\"time_first\":1700000000,\"time_last\":1700000100}\n"
        );
    }

    #[test]
    fn json_strings_are_written_as_serde_writes_them() {
        for text in [
            "",
            "plain.example.",
            "a\"b",
            "back\\slash",
            "tab\tnl\n\u{1}",
            "é\u{7f}",
        ] {
            let mut fast = Vec::new();
            push_json_string(&mut fast, text).unwrap();
            assert_eq!(fast, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn the_fast_writer_prints_exactly_what_serde_prints() {
        let rows = [
            RRset::new(
                NameBuf::from_text("we\\\"ird\\.name.example.").unwrap(),
                16,
                Some(NameBuf::from_text("example.").unwrap()),
                vec![b"\x05a\"b\\c".to_vec(), b"\x00".to_vec()],
            ),
            RRset::new(NameBuf::root(), 65280, None, vec![vec![1, 2, 3], vec![]]),
            RRset::new(NameBuf::root(), 1, None, vec![vec![1, 2, 3]]),
        ];
        for rrset in rows {
            let obs = Observation {
                rrset,
                seen: Seen {
                    time_first: -5,
                    time_last: 7,
                    count: 9,
                },
            };
            let mut sink = CofSink::new(Vec::new());
            sink.accept(vec![obs.clone()]).unwrap();
            let expected = serde_json::to_string(&CofRecord::from(&obs)).unwrap() + "\n";
            assert_eq!(String::from_utf8(sink.into_inner()).unwrap(), expected);
        }
    }
}
