//! The text inputs: COF NDJSON (our `sensor` output, DNSDB `-j`, CIRCL) and gamelinux
//! passivedns logs, one observation per line.

use dnsledger_rrset::{
    read_cof_line, rrset_from_text, seen_checked, CofReject, CofTimes, Observation,
};
use dnsledger_store::keys::Source;

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

/// A COF line as an observation, sensor-side or zone-file-side by the times it carries.
pub fn cof_line(line: &str) -> Result<(Source, Observation), Reject> {
    let (times, observation) = read_cof_line(line.as_bytes()).map_err(|e| reject(e.reason))?;
    let source = match times {
        CofTimes::Sensor => Source::Sensor,
        CofTimes::ZoneFile => Source::ZoneFile,
    };
    Ok((source, observation))
}

fn reject(reason: CofReject) -> Reject {
    match reason {
        CofReject::Json => Reject::Json,
        CofReject::Name => Reject::Name,
        CofReject::Type => Reject::Type,
        CofReject::Rdata => Reject::Rdata,
        CofReject::Time => Reject::Time,
    }
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
    let rrset = rrset_from_text(query, rrtype, None, &[answer.to_string()])
        .map_err(|e| reject(e.reason))?;
    let seen = seen_checked(time, time, count).map_err(|e| reject(e.reason))?;
    Ok(Observation { rrset, seen })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_rrset::Seen;

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
