//! Reading COF: one JSON object per line, as our `sensor` writes it, DNSDB's `-j` output and
//! CIRCL's answers; `ingest` and the submission endpoint both read it here.

use dnsledger_wire::{rdata_from_text, type_from_name, NameBuf};
use serde::Deserialize;

use crate::{Observation, RRset, Seen};

/// Why a line or record was refused; readers count each reason apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CofReject {
    /// Not a JSON object with the required fields.
    Json,
    /// rrname or bailiwick is not a domain name.
    Name,
    /// rrtype is not a known mnemonic or TYPEnnn.
    Type,
    /// An rdata does not read as its type's presentation form, or there is none.
    Rdata,
    /// Times missing or reversed, or a count of 0.
    Time,
}

/// A refused line: the reason, and the details for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct CofError {
    pub reason: CofReject,
    pub detail: String,
}

fn refuse<T>(reason: CofReject, detail: String) -> Result<T, CofError> {
    Err(CofError { reason, detail })
}

/// Which times a line carries: a sensor's (`time_first/last`) or a zone file's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CofTimes {
    Sensor,
    ZoneFile,
}

/// One COF object. `rdata` may be one string (CIRCL) or an array (DNSDB, ours); a missing
/// count is 1.
#[derive(Deserialize)]
struct CofLine {
    rrname: String,
    rrtype: String,
    rdata: OneOrMany,
    bailiwick: Option<String>,
    count: Option<u64>,
    time_first: Option<i64>,
    time_last: Option<i64>,
    zone_time_first: Option<i64>,
    zone_time_last: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A COF line as an observation, with the kind of times it carries.
pub fn read_cof_line(line: &[u8]) -> Result<(CofTimes, Observation), CofError> {
    let cof: CofLine = match serde_json::from_slice(line) {
        Ok(cof) => cof,
        Err(error) => return refuse(CofReject::Json, format!("not a COF object: {error}")),
    };
    let (times, first, last) = match (
        cof.time_first,
        cof.time_last,
        cof.zone_time_first,
        cof.zone_time_last,
    ) {
        (Some(first), Some(last), _, _) => (CofTimes::Sensor, first, last),
        (None, None, Some(first), Some(last)) => (CofTimes::ZoneFile, first, last),
        _ => {
            return refuse(
                CofReject::Time,
                "time_first and time_last (or zone_time_first and zone_time_last) are needed"
                    .into(),
            )
        }
    };
    let rdata = match cof.rdata {
        OneOrMany::One(text) => vec![text],
        OneOrMany::Many(texts) => texts,
    };
    let bailiwick = cof.bailiwick.as_deref().map(cof_name).transpose()?;
    let rrset = rrset_from_text(&cof.rrname, &cof.rrtype, bailiwick, &rdata)?;
    let seen = seen_checked(first, last, cof.count.unwrap_or(1))?;
    Ok((times, Observation { rrset, seen }))
}

/// A name in presentation form.
pub fn cof_name(text: &str) -> Result<NameBuf, CofError> {
    NameBuf::from_text(text).or_else(|e| refuse(CofReject::Name, format!("name {text:?}: {e}")))
}

/// An RRset from its presentation form; at least one rdata.
pub fn rrset_from_text(
    rrname: &str,
    rrtype: &str,
    bailiwick: Option<NameBuf>,
    rdata: &[String],
) -> Result<RRset, CofError> {
    let owner = cof_name(rrname)?;
    let Some(rrtype_code) = type_from_name(rrtype) else {
        return refuse(CofReject::Type, format!("unknown rrtype {rrtype:?}"));
    };
    let rdata = rdata
        .iter()
        .map(|text| {
            rdata_from_text(rrtype_code, text)
                .or_else(|e| refuse(CofReject::Rdata, format!("rdata {text:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if rdata.is_empty() {
        return refuse(CofReject::Rdata, "empty rdata".into());
    }
    Ok(RRset::new(owner, rrtype_code, bailiwick, rdata))
}

/// First and last seen and a count, checked: 0 <= first <= last, count >= 1.
pub fn seen_checked(first: i64, last: i64, count: u64) -> Result<Seen, CofError> {
    if first < 0 || last < first || count == 0 {
        return refuse(
            CofReject::Time,
            format!("times must be 0 <= first <= last and count at least 1 (got {first}, {last}, {count})"),
        );
    }
    Ok(Seen {
        time_first: first,
        time_last: last,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cof_dialect_reads_and_each_problem_has_its_reason() {
        let ours = br#"{"rrname":"a.example.","rrtype":"A","rdata":["192.0.2.1"],"bailiwick":"example.","count":3,"time_first":1,"time_last":2}"#;
        let (times, observation) = read_cof_line(ours).unwrap();
        assert_eq!((times, observation.seen.count), (CofTimes::Sensor, 3));
        let circl = br#"{"rrname":"a.example","rrtype":"A","rdata":"192.0.2.1","time_first":1,"time_last":2}"#;
        assert_eq!(
            read_cof_line(circl).unwrap().1.seen.count,
            1,
            "count defaults to 1"
        );
        let zone = br#"{"rrname":"a.example.","rrtype":"NS","rdata":["ns.example."],"zone_time_first":5,"zone_time_last":6}"#;
        assert_eq!(read_cof_line(zone).unwrap().0, CofTimes::ZoneFile);
        for (line, reason) in [
            (&b"[1]"[..], CofReject::Json),
            (br#"{"rrname":"a..b","rrtype":"A","rdata":["192.0.2.1"],"time_first":1,"time_last":2}"#, CofReject::Name),
            (br#"{"rrname":"a.","rrtype":"NOPE","rdata":["x"],"time_first":1,"time_last":2}"#, CofReject::Type),
            (br#"{"rrname":"a.","rrtype":"A","rdata":[],"time_first":1,"time_last":2}"#, CofReject::Rdata),
            (br#"{"rrname":"a.","rrtype":"A","rdata":["192.0.2.1"],"time_first":3,"time_last":2}"#, CofReject::Time),
            (br#"{"rrname":"a.","rrtype":"A","rdata":["192.0.2.1"],"time_first":1}"#, CofReject::Time),
        ] {
            let error = read_cof_line(line).unwrap_err();
            assert_eq!(error.reason, reason, "{}", String::from_utf8_lossy(line));
        }
    }
}
