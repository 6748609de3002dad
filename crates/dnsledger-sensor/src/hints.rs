//! Root hints: the servers trusted for `.` before anything has been learned.

use std::net::IpAddr;

use dnsledger_wire::NameBuf;

/// The IANA root servers, used when no hints file is given.
const IANA_ROOT_HINTS: &str = include_str!("root.hints");

/// Zones with the names and addresses of their servers, known before any traffic.
///
/// Read from the zone-file format of `named.root`: `OWNER [TTL] [IN] TYPE RDATA`, `;`
/// comments. Only NS, A and AAAA lines matter; any other type is ignored, so a trust-anchor
/// style file with extra records still loads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootHints {
    pub delegations: Vec<(NameBuf, NameBuf)>,
    pub addresses: Vec<(NameBuf, IpAddr)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("root hints line {line}: {reason}")]
pub struct HintsError {
    pub line: usize,
    pub reason: String,
}

impl RootHints {
    /// The real root servers.
    pub fn iana() -> RootHints {
        RootHints::parse(IANA_ROOT_HINTS).expect("the bundled root hints parse")
    }

    pub fn parse(text: &str) -> Result<RootHints, HintsError> {
        let mut hints = RootHints::default();
        for (index, raw) in text.lines().enumerate() {
            let content = raw.split(';').next().unwrap_or("");
            let fields: Vec<&str> = content.split_whitespace().collect();
            if fields.is_empty() {
                continue;
            }
            hints.add_line(&fields).map_err(|reason| HintsError {
                line: index + 1,
                reason,
            })?;
        }
        if hints.delegations.is_empty() {
            return Err(HintsError {
                line: 0,
                reason: "no NS record found".into(),
            });
        }
        Ok(hints)
    }

    fn add_line(&mut self, fields: &[&str]) -> Result<(), String> {
        let owner = NameBuf::from_text(fields[0]).map_err(|e| format!("bad owner name: {e}"))?;
        let rest = skip_ttl_and_class(&fields[1..]);
        let [rtype, rdata] = rest else {
            return Err(format!("expected TYPE RDATA after the owner, got {rest:?}"));
        };
        match rtype.to_ascii_uppercase().as_str() {
            "NS" => {
                let target = NameBuf::from_text(rdata).map_err(|e| format!("bad NS name: {e}"))?;
                self.delegations.push((owner, target));
            }
            "A" | "AAAA" => {
                let addr: IpAddr = rdata
                    .parse()
                    .map_err(|_| format!("bad address {rdata:?}"))?;
                self.addresses.push((owner, addr));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Drops the optional TTL and class fields that may stand between owner and type.
fn skip_ttl_and_class<'a, 'b>(mut fields: &'b [&'a str]) -> &'b [&'a str] {
    while let Some(first) = fields.first() {
        let is_ttl = first.bytes().all(|b| b.is_ascii_digit());
        let is_class = first.eq_ignore_ascii_case("IN");
        if !(is_ttl || is_class) {
            break;
        }
        fields = &fields[1..];
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_hints_name_thirteen_root_servers_with_both_families() {
        let hints = RootHints::iana();
        assert_eq!(hints.delegations.len(), 13);
        assert_eq!(hints.addresses.len(), 26);
        assert!(hints
            .delegations
            .iter()
            .all(|(zone, _)| *zone == NameBuf::root()));
    }

    #[test]
    fn parses_the_testbed_format() {
        let text = ".\t3600000\tNS\ta.root-servers.net.\n\
                    a.root-servers.net.\t3600000\tA\t127.0.0.10\n\
                    .\t3600000\tNS\tb.root-servers.net.\n\
                    b.root-servers.net.\t3600000\tAAAA\t::1\n";
        let hints = RootHints::parse(text).unwrap();
        assert_eq!(hints.delegations.len(), 2);
        assert_eq!(
            hints.addresses[1],
            (
                NameBuf::from_text("b.root-servers.net.").unwrap(),
                "::1".parse().unwrap()
            )
        );
    }

    #[test]
    fn a_bad_address_names_its_line() {
        let err = RootHints::parse(". NS a.\na. IN A 300.1.1.1\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn a_file_without_ns_records_is_refused() {
        assert!(RootHints::parse("; nothing here\n").is_err());
    }
}
