use std::io::Write;

use serde::Serialize;

use dnsledger_wire::{push_name_text, push_rdata_text, type_name};

use crate::{
    prefetch, EncodedObservation, Observation, ObservationSink, RRsetParts, Seen, SinkError,
};

/// How far ahead of the row being written a lent batch's rows are prefetched: enough to
/// cover a trip to main memory while a few rows are formatted.
const ROWS_PREFETCHED_AHEAD: usize = 8;

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
/// a [`CofRecord`] gives, but formatted straight into one reused line: the sensor writes
/// hundreds of thousands of rows at the end of a capture.
pub struct CofSink<W: Write> {
    out: W,
    line: String,
}

impl<W: Write> CofSink<W> {
    pub fn new(out: W) -> CofSink<W> {
        CofSink {
            out,
            line: String::with_capacity(4096),
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Writes one observation as a JSON line.
    fn write_row(&mut self, parts: RRsetParts<'_>, seen: &Seen) -> Result<(), SinkError> {
        self.format(parts, seen).map_err(std::io::Error::from)?;
        self.out.write_all(self.line.as_bytes())?;
        Ok(())
    }

    /// Formats one observation (the parts of its RRset and its statistics) as a JSON line
    /// into `self.line`.
    fn format(&mut self, parts: RRsetParts<'_>, seen: &Seen) -> serde_json::Result<()> {
        let line = &mut self.line;
        line.clear();
        line.push_str("{\"rrname\":");
        push_json_text(line, |text| push_name_text(text, parts.rrname))?;
        line.push_str(",\"rrtype\":");
        push_json_text(line, |text| text.push_str(&type_name(parts.rrtype)))?;
        line.push_str(",\"rdata\":[");
        for (index, rdata) in parts.rdata().enumerate() {
            if index > 0 {
                line.push(',');
            }
            push_json_text(line, |text| push_rdata_text(text, parts.rrtype, rdata))?;
        }
        line.push(']');
        if let Some(zone) = parts.bailiwick {
            line.push_str(",\"bailiwick\":");
            push_json_text(line, |text| push_name_text(text, zone))?;
        }
        push_integer(line, ",\"count\":", seen.count);
        push_integer(line, ",\"time_first\":", seen.time_first);
        push_integer(line, ",\"time_last\":", seen.time_last);
        line.push_str("}\n");
        Ok(())
    }
}

/// Appends `label` and `value` in decimal, with itoa: through `core::fmt` the three
/// integers of the bench capture's 644,478 rows cost 0.4 billion instructions more.
fn push_integer(out: &mut String, label: &str, value: impl itoa::Integer) {
    out.push_str(label);
    out.push_str(itoa::Buffer::new().format(value));
}

/// Appends the text `fill` writes as a JSON string, exactly as serde_json writes it. The
/// text is written in place: most names and rdata need no escaping (no control character,
/// `"` or backslash) and are left as they are; the rest are taken out again and go through
/// serde_json.
fn push_json_text(line: &mut String, fill: impl FnOnce(&mut String)) -> serde_json::Result<()> {
    line.push('"');
    let start = line.len();
    fill(line);
    let needs_escape = line.as_bytes()[start..].iter().fold(false, |found, &b| {
        found | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        let text = line.split_off(start);
        line.pop(); // the opening quote, which serde_json writes again
        line.push_str(&serde_json::to_string(&text)?);
        return Ok(());
    }
    line.push('"');
    Ok(())
}

impl<W: Write> ObservationSink for CofSink<W> {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        for obs in &batch {
            self.write_row(obs.rrset.parts(), &obs.seen)?;
        }
        Ok(())
    }

    fn accept_encoded(&mut self, batch: &[EncodedObservation<'_>]) -> Result<(), SinkError> {
        for (index, row) in batch.iter().enumerate() {
            // The rows come in identity order, which is no order in memory: each would be
            // a cache miss when its turn comes.
            if let Some(ahead) = batch.get(index + ROWS_PREFETCHED_AHEAD) {
                prefetch(ahead.encoded);
            }
            self.write_row(RRsetParts::of_encoded(row.encoded), &row.seen)?;
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
    use crate::{RRset, VecSink};
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
    fn lent_rows_are_written_as_owned_ones() {
        let observations: Vec<Observation> = [
            (
                NameBuf::from_text("a.example.").unwrap(),
                Some(NameBuf::root()),
            ),
            (NameBuf::from_text("b\\\"q.example.").unwrap(), None),
        ]
        .into_iter()
        .enumerate()
        .map(|(index, (name, zone))| Observation {
            rrset: RRset::new(name, 16, zone, vec![b"\x02hi".to_vec(), vec![1, b'"']]),
            seen: Seen {
                time_first: index as i64,
                time_last: 10,
                count: 2,
            },
        })
        .collect();
        let lent: Vec<EncodedObservation<'_>> = observations
            .iter()
            .map(|obs| EncodedObservation {
                encoded: obs.rrset.encoded(),
                seen: obs.seen,
            })
            .collect();
        let mut owned = CofSink::new(Vec::new());
        owned.accept(observations.clone()).unwrap();
        let mut borrowed = CofSink::new(Vec::new());
        borrowed.accept_encoded(&lent).unwrap();
        assert_eq!(borrowed.into_inner(), owned.into_inner());
        // A sink that keeps owned observations gets them copied out by the default.
        let mut kept = VecSink::default();
        kept.accept_encoded(&lent).unwrap();
        assert_eq!(kept.observations, observations);
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
            let mut fast = String::from("[");
            push_json_text(&mut fast, |line| line.push_str(text)).unwrap();
            assert_eq!(fast, format!("[{}", serde_json::to_string(text).unwrap()));
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
