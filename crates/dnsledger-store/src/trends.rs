//! Trends over the whole history, for the statistics pages: per UTC day, the names and the
//! registered domains first seen that day (also per top-level domain), the names with A
//! and with AAAA records active that day (the IPv6 share), and the delegations active that
//! day with and without DS (the DNSSEC-signed share).
//!
//! It is one full scan of the RRset rows with their activity: the deliberate exception to
//! bounded scans, run on demand under a deadline (the server caches the answer). Memory is
//! bounded by the number of days and top-level domains, not by the store: rows come sorted
//! by reversed owner name, so each owner's rows, and each registered domain's names, are
//! adjacent and are summed up as soon as the scan moves past them.
//!
//! Only sensor rows count (zone-file rows are not observations). A day is "active" for a
//! row when its activity has a count in a bucket covering that day (buckets of several days
//! mark each day they cover within the row's first..last); rows written before activity was
//! kept count on their first and last day only.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use dnsledger_wire::{is_dnssec_type, push_name_text, rtype};

use crate::history::{History, RowRequest, Selection, Shape};
use crate::keys::Source;
use crate::query::{Family, Row};
use crate::value::DAY;
use crate::StoreError;

/// What happened on one day (`day` = its midnight, seconds since the epoch).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayTrend {
    pub day: i64,
    /// Owner names whose earliest observation is on this day.
    pub new_names: u64,
    /// Registered domains (Public Suffix List) whose earliest observed name is on this day.
    pub new_domains: u64,
    pub names_with_a: u64,
    pub names_with_aaaa: u64,
    /// Names with an NS RRset from their parent's side (bailiwick above the name).
    pub delegations: u64,
    /// Names with a DS RRset.
    pub signed_delegations: u64,
}

/// The trends of a store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trends {
    /// Days with anything to count, ascending.
    pub days: Vec<DayTrend>,
    /// Per top-level domain (without dots, `com`), the new names per day.
    pub new_names_by_tld: BTreeMap<String, BTreeMap<i64, u64>>,
    /// Per top-level domain, the new registered domains per day.
    pub new_domains_by_tld: BTreeMap<String, BTreeMap<i64, u64>>,
    pub rows_scanned: u64,
}

/// Computes the trends of everything `history` holds (a store, or a router's shards: the
/// rows come in the same order), stopping with [`StoreError::OutOfTime`] once `deadline`
/// has passed.
pub fn trends(history: &dyn History, deadline: Instant) -> Result<Trends, StoreError> {
    let request = RowRequest {
        shape: Shape {
            periods: false,
            activity: true,
        },
        deadline: Some(deadline),
        ..RowRequest::new(Selection::Family(Family::RRsets))
    };
    let rows = history
        .rows(&request)
        .map_err(|refused| StoreError::Refused(refused.0))?;
    let mut builder = Builder::default();
    let mut scanned = 0;
    for row in rows {
        builder.add(&row?);
        scanned += 1;
    }
    let mut trends = builder.finish();
    trends.rows_scanned = scanned;
    Ok(trends)
}

/// The days a row was active on.
fn active_days(row: &Row, days: &mut BTreeSet<i64>) {
    let (first, last) = (row.seen.time_first, row.seen.time_last);
    let Some(activity) = &row.activity else {
        days.extend([midnight(first), midnight(last)]);
        return;
    };
    let width = activity.bucket_seconds();
    for (start, _) in activity.buckets() {
        let from = midnight(start.max(first));
        let to = (start + width - 1).min(last);
        days.extend((from..=to).step_by(DAY as usize));
    }
}

fn midnight(time: i64) -> i64 {
    time.div_euclid(DAY) * DAY
}

/// The top-level domain of a wire name, lower-case without dots (`None` for the root).
fn tld(wire: &[u8]) -> Option<String> {
    let mut rest = wire;
    let mut last = None;
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0 || tail.len() < len as usize {
            break;
        }
        last = Some(&tail[..len as usize]);
        rest = &tail[len as usize..];
    }
    last.map(|label| String::from_utf8_lossy(label).to_ascii_lowercase())
}

/// One owner's rows while the scan is on them.
#[derive(Default)]
struct Owner {
    name: Vec<u8>,
    first_seen: Option<i64>,
    a: BTreeSet<i64>,
    aaaa: BTreeSet<i64>,
    delegated: BTreeSet<i64>,
    signed: BTreeSet<i64>,
}

/// One registered domain's names while the scan is on them.
struct Domain {
    name: String,
    first_seen: i64,
}

#[derive(Default)]
struct Builder {
    days: BTreeMap<i64, DayTrend>,
    new_names_by_tld: BTreeMap<String, BTreeMap<i64, u64>>,
    new_domains_by_tld: BTreeMap<String, BTreeMap<i64, u64>>,
    owner: Owner,
    domain: Option<Domain>,
}

impl Builder {
    fn add(&mut self, row: &Row) {
        if row.source != Source::Sensor {
            return;
        }
        let parts = row.parts();
        if parts.rrname != self.owner.name {
            self.finish_owner();
            self.owner.name.clear();
            self.owner.name.extend_from_slice(parts.rrname);
        }
        let owner = &mut self.owner;
        if is_dnssec_type(parts.rrtype) {
            // The DNSSEC rows come in a scan of their own, after every other row: they add
            // the signed delegations only, never a name.
            if parts.rrtype == rtype::DS {
                active_days(row, &mut owner.signed);
            }
            return;
        }
        owner.first_seen = Some(
            owner
                .first_seen
                .map_or(row.seen.time_first, |t| t.min(row.seen.time_first)),
        );
        match parts.rrtype {
            rtype::A => active_days(row, &mut owner.a),
            rtype::AAAA => active_days(row, &mut owner.aaaa),
            rtype::NS if parts.bailiwick.is_some_and(|b| b != parts.rrname) => {
                active_days(row, &mut owner.delegated)
            }
            _ => {}
        }
    }

    fn day(&mut self, day: i64) -> &mut DayTrend {
        self.days.entry(day).or_insert_with(|| DayTrend {
            day,
            ..DayTrend::default()
        })
    }

    /// Counts the owner the scan has just left.
    fn finish_owner(&mut self) {
        let owner = std::mem::take(&mut self.owner);
        let count =
            |builder: &mut Builder, days: &BTreeSet<i64>, field: fn(&mut DayTrend) -> &mut u64| {
                for &day in days {
                    *field(builder.day(day)) += 1;
                }
            };
        count(self, &owner.a, |d| &mut d.names_with_a);
        count(self, &owner.aaaa, |d| &mut d.names_with_aaaa);
        count(self, &owner.delegated, |d| &mut d.delegations);
        count(self, &owner.signed, |d| &mut d.signed_delegations);
        let Some(first_seen) = owner.first_seen else {
            return;
        };
        let day = midnight(first_seen);
        self.day(day).new_names += 1;
        if let Some(tld) = tld(&owner.name) {
            *self
                .new_names_by_tld
                .entry(tld)
                .or_default()
                .entry(day)
                .or_default() += 1;
        }
        self.note_domain(&owner.name, first_seen);
    }

    /// Folds a name into its registered domain, counting the previous domain once the scan
    /// has moved past all its names.
    fn note_domain(&mut self, wire: &[u8], first_seen: i64) {
        let mut text = String::new();
        push_name_text(&mut text, wire);
        let Some(registered) = dnsledger_psl::registered_domain(&text) else {
            return;
        };
        match &mut self.domain {
            Some(domain) if domain.name == registered => {
                domain.first_seen = domain.first_seen.min(first_seen);
            }
            _ => {
                let next = Domain {
                    name: registered.to_string(),
                    first_seen,
                };
                if let Some(done) = self.domain.replace(next) {
                    self.count_domain(done);
                }
            }
        }
    }

    fn count_domain(&mut self, domain: Domain) {
        let day = midnight(domain.first_seen);
        self.day(day).new_domains += 1;
        let tld = domain
            .name
            .trim_end_matches('.')
            .rsplit('.')
            .next()
            .unwrap_or_default();
        *self
            .new_domains_by_tld
            .entry(tld.to_string())
            .or_default()
            .entry(day)
            .or_default() += 1;
    }

    fn finish(mut self) -> Trends {
        self.finish_owner();
        if let Some(domain) = self.domain.take() {
            self.count_domain(domain);
        }
        Trends {
            days: self.days.into_values().collect(),
            new_names_by_tld: self.new_names_by_tld,
            new_domains_by_tld: self.new_domains_by_tld,
            rows_scanned: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dnsledger_rrset::{Observation, RRset, Seen};
    use dnsledger_wire::NameBuf;

    const D0: i64 = 20_000 * DAY;

    fn observation(
        owner: &str,
        rrtype: u16,
        bailiwick: &str,
        rdata: &[u8],
        day: i64,
    ) -> Observation {
        let name = |t: &str| NameBuf::from_text(t).unwrap();
        Observation {
            rrset: RRset::new(
                name(owner),
                rrtype,
                Some(name(bailiwick)),
                vec![rdata.to_vec()],
            ),
            seen: Seen {
                time_first: D0 + day * DAY + 60,
                time_last: D0 + day * DAY + 120,
                count: 1,
            },
        }
    }

    fn ns(target: &str) -> Vec<u8> {
        NameBuf::from_text(target).unwrap().as_wire().to_vec()
    }

    #[test]
    fn trends_count_new_names_domains_ipv6_and_signed_delegations_per_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("db"), crate::Access::ReadWrite).unwrap();
        let batch = vec![
            observation(
                "www.example.com.",
                rtype::A,
                "example.com.",
                &[192, 0, 2, 1],
                0,
            ),
            observation(
                "www.example.com.",
                rtype::AAAA,
                "example.com.",
                &[0x20; 16],
                1,
            ),
            observation(
                "mail.example.com.",
                rtype::A,
                "example.com.",
                &[192, 0, 2, 2],
                1,
            ),
            observation("example.com.", rtype::NS, "com.", &ns("ns.example.com."), 0),
            observation("example.com.", rtype::DS, "com.", &[1, 2, 3, 4], 1),
            observation(
                "example.com.",
                rtype::NS,
                "example.com.",
                &ns("ns.example.com."),
                2,
            ),
            observation("other.org.", rtype::NS, "org.", &ns("ns.other.org."), 1),
        ];
        store.write(&[(Source::Sensor, &batch)], None).unwrap();
        let zone_row = vec![observation(
            "zone-only.net.",
            rtype::A,
            "net.",
            &[192, 0, 2, 9],
            0,
        )];
        store.write(&[(Source::ZoneFile, &zone_row)], None).unwrap();

        let trends = trends(&store, Instant::now() + std::time::Duration::from_secs(60)).unwrap();
        let day = |n: i64| {
            trends
                .days
                .iter()
                .find(|d| d.day == D0 + n * DAY)
                .unwrap()
                .clone()
        };
        // Day 0: www.example.com and example.com are new; example.com is a new domain.
        assert_eq!(
            day(0),
            DayTrend {
                day: D0,
                new_names: 2,
                new_domains: 1,
                names_with_a: 1,
                names_with_aaaa: 0,
                delegations: 1,
                signed_delegations: 0,
            }
        );
        // Day 1: mail.example.com and other.org are new, other.org a new domain; www has
        // AAAA, mail has A; other.org is delegated; example.com has DS.
        assert_eq!(
            day(1),
            DayTrend {
                day: D0 + DAY,
                new_names: 2,
                new_domains: 1,
                names_with_a: 1,
                names_with_aaaa: 1,
                delegations: 1,
                signed_delegations: 1,
            }
        );
        // Day 2: only the zone's own (child-side) NS: no delegation, nothing new.
        assert!(trends.days.iter().all(|d| d.day != D0 + 2 * DAY));
        assert_eq!(
            trends.new_names_by_tld["com"],
            BTreeMap::from([(D0, 2), (D0 + DAY, 1)])
        );
        assert_eq!(
            trends.new_domains_by_tld["org"],
            BTreeMap::from([(D0 + DAY, 1)])
        );
        assert!(
            !trends.new_names_by_tld.contains_key("net"),
            "zone-file rows do not count"
        );
    }

    #[test]
    fn tlds_are_the_last_label() {
        let wire = NameBuf::from_text("www.Example.COM.").unwrap();
        assert_eq!(tld(wire.as_wire()).as_deref(), Some("com"));
        assert_eq!(tld(NameBuf::root().as_wire()), None);
    }
}
