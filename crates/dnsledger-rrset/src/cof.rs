use std::io::Write;

use serde::Serialize;

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

/// Writes every observation as one COF JSON object per line.
pub struct CofSink<W: Write> {
    out: W,
}

impl<W: Write> CofSink<W> {
    pub fn new(out: W) -> CofSink<W> {
        CofSink { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> ObservationSink for CofSink<W> {
    fn accept(&mut self, batch: Vec<Observation>) -> Result<(), SinkError> {
        for obs in &batch {
            serde_json::to_writer(&mut self.out, &CofRecord::from(obs))
                .map_err(std::io::Error::from)?;
            self.out.write_all(b"\n")?;
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
}
