//! The text inputs: COF NDJSON (our `sensor` output, DNSDB `-j`, CIRCL) and gamelinux
//! passivedns logs, one observation per line.

use dnsledger_rrset::{Observation, RRset, Seen};
use dnsledger_store::keys::Source;
use dnsledger_wire::{rdata_from_text, type_from_name, NameBuf};
use serde::Deserialize;

/// Why a line was rejected; each reason has its counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    Json,
    Name,
    Type,
    Rdata,
    Time,
    Fields,
    Class,
}

/// One COF object. `rdata` may be one string (CIRCL) or an array (DNSDB, ours).
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

/// A COF line as an observation, sensor-side or zone-file-side by the times it carries.
pub fn cof_line(line: &str) -> Result<(Source, Observation), Reject> {
    let cof: CofLine = serde_json::from_str(line).map_err(|_| Reject::Json)?;
    let (source, first, last) = match (
        cof.time_first,
        cof.time_last,
        cof.zone_time_first,
        cof.zone_time_last,
    ) {
        (Some(first), Some(last), _, _) => (Source::Sensor, first, last),
        (None, None, Some(first), Some(last)) => (Source::ZoneFile, first, last),
        _ => return Err(Reject::Time),
    };
    let rdata = match cof.rdata {
        OneOrMany::One(text) => vec![text],
        OneOrMany::Many(texts) => texts,
    };
    let bailiwick = cof.bailiwick.as_deref().map(name).transpose()?;
    let rrset = rrset(&cof.rrname, &cof.rrtype, bailiwick, &rdata)?;
    Ok((
        source,
        Observation {
            rrset,
            seen: seen(first, last, cof.count.unwrap_or(1))?,
        },
    ))
}

/// A passivedns log line: `ts||client||server||class||query||type||answer||ttl||count`.
/// It carries no bailiwick: the sensor that wrote it did not reconstruct one.
pub fn passivedns_line(line: &str) -> Result<Observation, Reject> {
    let fields: Vec<&str> = line.split("||").collect();
    let [ts, _client, _server, class, query, rrtype, answer, _ttl, count] = fields[..] else {
        return Err(Reject::Fields);
    };
    if !class.eq_ignore_ascii_case("IN") {
        return Err(Reject::Class);
    }
    let time = ts
        .split('.')
        .next()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(Reject::Time)?;
    let count = count.trim().parse::<u64>().map_err(|_| Reject::Fields)?;
    let rrset = rrset(query, rrtype, None, &[answer.to_string()])?;
    Ok(Observation {
        rrset,
        seen: seen(time, time, count)?,
    })
}

fn name(text: &str) -> Result<NameBuf, Reject> {
    NameBuf::from_text(text).map_err(|_| Reject::Name)
}

fn rrset(
    rrname: &str,
    rrtype: &str,
    bailiwick: Option<NameBuf>,
    rdata: &[String],
) -> Result<RRset, Reject> {
    let owner = name(rrname)?;
    let rrtype = type_from_name(rrtype).ok_or(Reject::Type)?;
    let rdata = rdata
        .iter()
        .map(|text| rdata_from_text(rrtype, text).map_err(|_| Reject::Rdata))
        .collect::<Result<Vec<_>, _>>()?;
    if rdata.is_empty() {
        return Err(Reject::Rdata);
    }
    Ok(RRset::new(owner, rrtype, bailiwick, rdata))
}

fn seen(first: i64, last: i64, count: u64) -> Result<Seen, Reject> {
    if first < 0 || last < first || count == 0 {
        return Err(Reject::Time);
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
    fn our_own_cof_line_reads_back() {
        let line = r#"{"rrname":"www.example.com.","rrtype":"A","rdata":["192.0.2.2","192.0.2.1"],"bailiwick":"example.com.","count":3,"time_first":10,"time_last":20}"#;
        let (source, obs) = cof_line(line).unwrap();
        assert_eq!(source, Source::Sensor);
        assert_eq!(obs.rrset.rdata_text(), ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(
            obs.seen,
            Seen {
                time_first: 10,
                time_last: 20,
                count: 3
            }
        );
    }

    #[test]
    fn circl_and_zone_lines_read_too() {
        let circl = r#"{"rrname":"example.com","rrtype":"NS","rdata":"ns1.example.com","time_first":1,"time_last":2,"count":5}"#;
        let (_, obs) = cof_line(circl).unwrap();
        assert_eq!(obs.rrset.bailiwick(), None);
        let zone = r#"{"rrname":"example.com.","rrtype":"NS","rdata":["ns1.example.com."],"zone_time_first":1,"zone_time_last":2}"#;
        assert_eq!(cof_line(zone).unwrap().0, Source::ZoneFile);
    }

    #[test]
    fn bad_lines_say_why() {
        assert_eq!(cof_line("{").unwrap_err(), Reject::Json);
        let bad_type =
            r#"{"rrname":"a.","rrtype":"NOPE","rdata":["x"],"time_first":1,"time_last":2}"#;
        assert_eq!(cof_line(bad_type).unwrap_err(), Reject::Type);
        let bad_rdata =
            r#"{"rrname":"a.","rrtype":"A","rdata":["300.1.1.1"],"time_first":1,"time_last":2}"#;
        assert_eq!(cof_line(bad_rdata).unwrap_err(), Reject::Rdata);
        let backwards =
            r#"{"rrname":"a.","rrtype":"A","rdata":["192.0.2.1"],"time_first":5,"time_last":2}"#;
        assert_eq!(cof_line(backwards).unwrap_err(), Reject::Time);
    }

    #[test]
    fn passivedns_lines_read() {
        let line =
            "1322849924.408856||10.1.1.1||8.8.8.8||IN||www.Example.com.||A||192.0.2.7||300||4";
        let obs = passivedns_line(line).unwrap();
        assert_eq!(obs.rrset.rrname().to_text(), "www.example.com.");
        assert_eq!(
            obs.seen,
            Seen {
                time_first: 1322849924,
                time_last: 1322849924,
                count: 4
            }
        );
        assert_eq!(passivedns_line("a||b").unwrap_err(), Reject::Fields);
        let chaos = "1||a||b||CH||x.||TXT||\"v\"||1||1";
        assert_eq!(passivedns_line(chaos).unwrap_err(), Reject::Class);
    }
}
