//! A zone rebuilt from history: a master file of what was observed with the zone as
//! bailiwick, plus the delegation the parent gave it, in a window of time.
//!
//! What goes in, from sensor rows and zone-file rows alike:
//! - every RRset at or below the zone whose bailiwick is the zone (the zone's own data,
//!   its delegations to children with their NS, DS and glue);
//! - from the parent side (a bailiwick above the zone): the NS and DS RRsets at the apex,
//!   and A/AAAA of the apex's in-zone name servers (glue). The zone's own version wins when
//!   both exist. A DS cannot stand at a zone's apex (RFC 4035 2.4; named-checkzone refuses
//!   it), so the parent's DS is written as a comment.
//!
//! When several versions of one RRset (owner, type; RRSIG: covered type) qualify, the one
//! last seen within the window is kept (a version seen past the window's end counts as
//! seen at its end; ties go to the newer version), and a comment says so. TTLs are not kept
//! by passive DNS: every record takes the file's `$TTL` ([`EXPORT_TTL`]). The SOA comes
//! first; when none was observed, one is synthesized and marked, so that the file loads.
//!
//! Owners come in the store's key order (each name before the names below it, the apex
//! first), so the export streams: only one owner's rows are held at a time, as the server
//! requires of every answer.

use std::collections::BTreeMap;
use std::io::Write;
use std::iter::Peekable;
use std::time::Instant;

use dnsledger_query::timefmt;
use dnsledger_rrset::Seen;
use dnsledger_store::{
    keys, History, Lookup, NamePattern, Row, RowRequest, RowStream, Selection, TimeFence,
    TypeFilter,
};
use dnsledger_wire::{is_subdomain_wire, push_name_text, push_rdata_text, rtype, type_name};
use dnsledger_wire::{rdata_generic, NameBuf};

use crate::group::covered_type;
use crate::ZoneError;

/// The TTL of every exported record (passive DNS keeps none): an hour, a common default.
pub const EXPORT_TTL: u32 = 3600;

/// The time a zone is rebuilt for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Every row, whenever seen.
    Whole,
    /// Rows whose [first, last] contains this time.
    At(i64),
    /// Rows whose [first, last] overlaps [from, to].
    Between(i64, i64),
}

impl Window {
    fn fence(self) -> TimeFence {
        let (seen_by, seen_since) = match self {
            Window::Whole => (None, None),
            Window::At(t) => (Some(t), Some(t)),
            Window::Between(from, to) => (Some(to), Some(from)),
        };
        TimeFence {
            first_before: seen_by,
            last_after: seen_since,
            ..TimeFence::default()
        }
    }

    fn end(self) -> i64 {
        match self {
            Window::Whole => i64::MAX,
            Window::At(t) | Window::Between(_, t) => t,
        }
    }

    fn describe(self) -> String {
        match self {
            Window::Whole => "the whole history".into(),
            Window::At(t) => format!("at {}", timefmt::format(t)),
            Window::Between(from, to) => format!(
                "between {} and {}",
                timefmt::format(from),
                timefmt::format(to)
            ),
        }
    }
}

/// How an export runs.
#[derive(Clone, Copy, Debug)]
pub struct ExportOptions {
    pub window: Window,
    /// When set, the store scan ends with [`StoreError::OutOfTime`](dnsledger_store::StoreError)
    /// past this instant (the server's query budget).
    pub deadline: Option<Instant>,
}

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// RRsets written as records.
    pub rrsets: u64,
    /// RRsets chosen among several versions in the window.
    pub rrsets_with_versions: u64,
    /// RRsets written as comments only (the parent's DS, the loser of a CNAME conflict).
    pub rrsets_commented: u64,
    pub soa_synthesized: bool,
    /// In-zone name servers of the apex without any address observed (named-checkzone
    /// refuses such a zone; the file says which).
    pub name_servers_without_address: u64,
}

/// Writes the master file of `zone` as observed in the window to `out`.
/// [`ZoneError::NothingObserved`] (with nothing written) when no row qualifies.
pub fn export_zone(
    history: &dyn History,
    zone: &NameBuf,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> Result<ExportSummary, ZoneError> {
    let mut owners = OwnerRows::new(history, zone, options)?;
    let mut writer = ZoneWriter {
        zone: zone.clone(),
        window: options.window,
        out,
        started: false,
        glue_targets: BTreeMap::new(),
        summary: ExportSummary::default(),
    };
    while let Some((owner, rows)) = owners.next_owner()? {
        writer.owner(&owner, &rows).map_err(ZoneError::Write)?;
    }
    if !writer.started {
        return Err(ZoneError::NothingObserved {
            zone: zone.to_text(),
        });
    }
    writer.finish().map_err(ZoneError::Write)?;
    Ok(writer.summary)
}

/// An owner (canonical wire) and all its rows.
type OwnerGroup = (Vec<u8>, Vec<Row>);

/// The rows at or below the zone, one owner at a time, DNS and DNSSEC families merged.
struct OwnerRows<'s> {
    families: [Peekable<RowStream<'s>>; 2],
}

impl<'s> OwnerRows<'s> {
    fn new(
        history: &'s dyn History,
        zone: &NameBuf,
        options: &ExportOptions,
    ) -> Result<Self, ZoneError> {
        let scan = |rrtype| -> Result<Peekable<RowStream<'s>>, ZoneError> {
            let request = RowRequest {
                fence: options.window.fence(),
                deadline: options.deadline,
                ..RowRequest::new(Selection::Lookup(Lookup::RRset {
                    owner: NamePattern::Below(zone.clone()),
                    rrtype,
                    bailiwick: None,
                }))
            };
            Ok(history.rows(&request)?.peekable())
        };
        Ok(OwnerRows {
            families: [scan(TypeFilter::Any)?, scan(TypeFilter::AnyDnssec)?],
        })
    }

    /// The owner (wire) with the smallest key in either family, and all its rows.
    fn next_owner(&mut self) -> Result<Option<OwnerGroup>, ZoneError> {
        let mut next: Option<Vec<u8>> = None;
        for family in &mut self.families {
            if let Some(key) = peek_key(family)? {
                if next.as_ref().is_none_or(|k| key < *k) {
                    next = Some(key);
                }
            }
        }
        let Some(key) = next else { return Ok(None) };
        let mut rows = Vec::new();
        for family in &mut self.families {
            while peek_key(family)?.as_ref() == Some(&key) {
                rows.extend(family.next().and_then(Result::ok));
            }
        }
        let owner = rows
            .first()
            .map(|r| r.rrname().to_vec())
            .unwrap_or_default();
        Ok(Some((owner, rows)))
    }
}

/// The store key order of the next row's owner (its `rname`); a store error is returned.
fn peek_key(family: &mut Peekable<RowStream<'_>>) -> Result<Option<Vec<u8>>, ZoneError> {
    if matches!(family.peek(), Some(Err(_))) {
        if let Some(Err(error)) = family.next() {
            return Err(error.into());
        }
    }
    Ok(family
        .peek()
        .and_then(|r| r.as_ref().ok())
        .map(|row| rname(row.rrname())))
}

fn rname(owner: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(owner.len());
    keys::push_rname(&mut key, owner);
    key
}

/// Which side of a zone cut a row speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// The parent's delegation (bailiwick above the zone).
    Parent,
    /// The zone itself (bailiwick = the zone).
    Zone,
}

/// One version of an RRset: its rdata set, when it was seen (sensor and zone-file rows of
/// the same identity merged) and who said it.
#[derive(Clone, Debug)]
struct Version {
    rdata: Vec<Vec<u8>>,
    seen: Seen,
    side: Side,
    bailiwick: Vec<u8>,
}

/// The RRsets of one owner: (type, covered type) -> the versions that qualify.
type Versions = BTreeMap<(u16, u16), Vec<Version>>;

/// The RRset of one (type, covered type) chosen to be written, with how many versions it
/// was chosen among.
struct Chosen {
    rtype: u16,
    version: Version,
    among: usize,
    /// The other side's most recent version (the parent's NS when the zone's own is kept).
    other_side: Option<Version>,
}

/// Writes the master file, one owner at a time.
struct ZoneWriter<'w> {
    zone: NameBuf,
    window: Window,
    out: &'w mut dyn Write,
    started: bool,
    /// The apex's name servers inside the zone, and whether an address of each was written.
    glue_targets: BTreeMap<Vec<u8>, bool>,
    summary: ExportSummary,
}

impl ZoneWriter<'_> {
    fn owner(&mut self, owner: &[u8], rows: &[Row]) -> std::io::Result<()> {
        let apex = owner == self.zone.as_wire();
        let versions = self.versions(owner, apex, rows);
        if versions.is_empty() {
            return Ok(());
        }
        let mut chosen: Vec<Chosen> = versions
            .into_iter()
            .filter_map(|((rtype, _), versions)| self.choose(rtype, versions))
            .collect();
        chosen.sort_by_key(write_order);
        if !self.started {
            self.start(apex, &chosen)?;
        }
        if apex {
            self.note_glue_targets(&chosen);
        }
        let losers = cname_conflict_losers(apex, &chosen, self.window.end());
        for (index, rrset) in chosen.iter().enumerate() {
            let parent_ds = apex && rrset.rtype == rtype::DS;
            match (losers.contains(&index), parent_ds) {
                (true, _) => self.commented(
                    owner,
                    rrset,
                    "CNAME and other data cannot share a name; this one was seen less recently:",
                )?,
                (false, true) => self.commented(
                    owner,
                    rrset,
                    "the parent's DS for this zone (a DS cannot stand at a zone's apex):",
                )?,
                (false, false) => self.rrset(owner, rrset)?,
            }
        }
        Ok(())
    }

    /// The rows that belong in the zone, as versions per (type, covered type).
    fn versions(&self, owner: &[u8], apex: bool, rows: &[Row]) -> Versions {
        let mut versions = Versions::new();
        for row in rows {
            let parts = row.parts();
            let (Some(side), Some(bailiwick)) = (self.side(owner, apex, row), parts.bailiwick)
            else {
                continue;
            };
            let of_type = versions
                .entry((parts.rrtype, row_covered_type(row)))
                .or_default();
            let same = |v: &&mut Version| {
                v.side == side && v.bailiwick == bailiwick && v.rdata.iter().eq(parts.rdata())
            };
            match of_type.iter_mut().find(same) {
                Some(version) => version.seen.merge(&row.seen),
                None => of_type.push(Version {
                    rdata: parts.rdata().map(<[u8]>::to_vec).collect(),
                    seen: row.seen,
                    side,
                    bailiwick: bailiwick.to_vec(),
                }),
            }
        }
        versions
    }

    /// Whose data a row is, if it belongs in the zone at all.
    fn side(&self, owner: &[u8], apex: bool, row: &Row) -> Option<Side> {
        let bailiwick = row.bailiwick()?;
        let zone = self.zone.as_wire();
        if bailiwick == zone {
            return Some(Side::Zone);
        }
        let from_parent = is_subdomain_wire(zone, bailiwick);
        let delegation = apex && matches!(row.rrtype(), rtype::NS | rtype::DS);
        let glue =
            matches!(row.rrtype(), rtype::A | rtype::AAAA) && self.glue_targets.contains_key(owner);
        (from_parent && (delegation || glue)).then_some(Side::Parent)
    }

    /// The version to write: the zone's own over the parent's, then the last seen in the
    /// window, then the newest.
    fn choose(&self, rtype: u16, mut versions: Vec<Version>) -> Option<Chosen> {
        let end = self.window.end();
        let recency = |v: &Version| (v.side, v.seen.time_last.min(end), v.seen.time_first);
        versions.sort_by(|a, b| recency(b).cmp(&recency(a)).then(a.rdata.cmp(&b.rdata)));
        let mut versions = versions.into_iter();
        let version = versions.next()?;
        let rest: Vec<Version> = versions.collect();
        let among = 1 + rest.iter().filter(|v| v.side == version.side).count();
        let other_side = rest.into_iter().find(|v| v.side != version.side);
        Some(Chosen {
            rtype,
            version,
            among,
            other_side,
        })
    }

    /// The header, and the SOA first: the apex's own, or a synthesized one.
    fn start(&mut self, apex: bool, chosen: &[Chosen]) -> std::io::Result<()> {
        self.started = true;
        let zone = self.zone.to_text();
        writeln!(
            self.out,
            "; zone {zone} rebuilt by dnsledger zone-export from passive DNS history"
        )?;
        writeln!(self.out, "; window: {}", self.window.describe())?;
        writeln!(
            self.out,
            "; passive DNS keeps no TTLs: every record has the $TTL below"
        )?;
        writeln!(self.out, "$ORIGIN {zone}")?;
        writeln!(self.out, "$TTL {EXPORT_TTL}")?;
        let soa_seen = apex && chosen.iter().any(|c| c.rtype == rtype::SOA);
        if soa_seen {
            return Ok(());
        }
        let ns = chosen
            .iter()
            .find(|c| apex && c.rtype == rtype::NS)
            .and_then(|c| c.version.rdata.first());
        let mname = match ns {
            Some(target) => name_text(target),
            None => zone.clone(),
        };
        let contact = match self.zone.label_count() {
            0 => "hostmaster.".to_string(),
            _ => format!("hostmaster.{zone}"),
        };
        self.summary.soa_synthesized = true;
        writeln!(
            self.out,
            "; no SOA was observed in the window: this one is synthesized so that the file loads"
        )?;
        writeln!(
            self.out,
            "@\tIN\tSOA\t{mname} {contact} 1 3600 900 604800 3600"
        )?;
        if ns.is_none() {
            writeln!(self.out, "; warning: no NS RRset was observed at the apex")?;
        }
        Ok(())
    }

    /// Remembers the apex's in-zone name servers: their parent-side addresses are glue.
    fn note_glue_targets(&mut self, chosen: &[Chosen]) {
        let zone = self.zone.as_wire();
        for rrset in chosen.iter().filter(|c| c.rtype == rtype::NS) {
            for target in &rrset.version.rdata {
                if target.as_slice() != zone && is_subdomain_wire(target, zone) {
                    self.glue_targets.insert(target.clone(), false);
                }
            }
        }
    }

    fn rrset(&mut self, owner: &[u8], rrset: &Chosen) -> std::io::Result<()> {
        let version = &rrset.version;
        if rrset.among > 1 {
            self.summary.rrsets_with_versions += 1;
            writeln!(
                self.out,
                "; {} versions of {} {} qualify: the one last seen ({}) is kept",
                rrset.among,
                name_text(owner),
                type_name(rrset.rtype),
                timefmt::format(version.seen.time_last)
            )?;
        }
        if version.side == Side::Parent {
            writeln!(
                self.out,
                "; from the parent side (bailiwick {}): the zone's own was not observed",
                name_text(&version.bailiwick)
            )?;
        }
        let owner_text = self.relative(owner);
        for rdata in &version.rdata {
            writeln!(self.out, "{}", record_line(&owner_text, rrset.rtype, rdata))?;
        }
        self.summary.rrsets += 1;
        if matches!(rrset.rtype, rtype::A | rtype::AAAA) {
            if let Some(found) = self.glue_targets.get_mut(owner) {
                *found = true;
            }
        }
        if let Some(parent) = rrset
            .other_side
            .as_ref()
            .filter(|p| p.rdata != version.rdata)
        {
            writeln!(
                self.out,
                "; the parent (bailiwick {}) says otherwise:",
                name_text(&parent.bailiwick)
            )?;
            for rdata in &parent.rdata {
                writeln!(
                    self.out,
                    "; {}",
                    record_line(&owner_text, rrset.rtype, rdata)
                )?;
            }
        }
        Ok(())
    }

    fn commented(&mut self, owner: &[u8], rrset: &Chosen, why: &str) -> std::io::Result<()> {
        self.summary.rrsets_commented += 1;
        writeln!(self.out, "; {why}")?;
        let owner_text = self.relative(owner);
        for rdata in &rrset.version.rdata {
            writeln!(
                self.out,
                "; {}",
                record_line(&owner_text, rrset.rtype, rdata)
            )?;
        }
        Ok(())
    }

    /// Warns about the apex's in-zone name servers that have no address in the file.
    fn finish(&mut self) -> std::io::Result<()> {
        for (target, _) in self.glue_targets.iter().filter(|(_, found)| !**found) {
            self.summary.name_servers_without_address += 1;
            writeln!(
                self.out,
                "; warning: no address of the in-zone name server {} was observed",
                name_text(target)
            )?;
        }
        self.out.flush()
    }

    /// An owner relative to the zone (`@` for the apex), as master files write it.
    fn relative(&self, owner: &[u8]) -> String {
        let Ok(name) = NameBuf::from_wire(owner) else {
            return name_text(owner);
        };
        let keep = name.label_count().saturating_sub(self.zone.label_count());
        if keep == 0 {
            return "@".into();
        }
        let mut wire = Vec::with_capacity(owner.len());
        for label in name.labels().take(keep) {
            wire.push(label.len() as u8);
            wire.extend_from_slice(label);
        }
        wire.push(0);
        let mut text = name_text(&wire);
        text.pop(); // the root's dot: the name is relative to $ORIGIN
        text
    }
}

/// SOA first, then NS, then the other types by number; each RRSIG right after the RRset it
/// covers.
fn write_order(rrset: &Chosen) -> (u8, u16, bool) {
    let covered = rrset
        .version
        .rdata
        .first()
        .map_or(0, |r| covered_type(rrset.rtype, r));
    let base = match covered {
        0 => rrset.rtype,
        _ => covered,
    };
    let rank = match base {
        rtype::SOA => 0,
        rtype::NS => 1,
        _ => 2,
    };
    (rank, base, covered != 0)
}

fn row_covered_type(row: &Row) -> u16 {
    let parts = row.parts();
    parts
        .rdata()
        .next()
        .map_or(0, |r| covered_type(parts.rrtype, r))
}

/// Which RRsets of one owner lose a CNAME conflict (RFC 1034 3.6.2: a CNAME owner has no
/// other data but its DNSSEC records): the CNAME at the apex always, elsewhere whichever
/// side (the CNAME or the rest) was seen less recently.
fn cname_conflict_losers(apex: bool, chosen: &[Chosen], end: i64) -> Vec<usize> {
    let is_cname = |c: &Chosen| c.rtype == rtype::CNAME;
    let coexists = |c: &Chosen| matches!(c.rtype, rtype::RRSIG | rtype::NSEC | rtype::CNAME);
    let Some(cname) = chosen.iter().position(is_cname) else {
        return Vec::new();
    };
    let others: Vec<usize> = (0..chosen.len())
        .filter(|&i| chosen.get(i).is_some_and(|c| !coexists(c)))
        .collect();
    if others.is_empty() && !apex {
        return Vec::new();
    }
    let recency = |i: &usize| {
        chosen
            .get(*i)
            .map_or(i64::MIN, |c| c.version.seen.time_last.min(end))
    };
    let others_recency = others.iter().map(recency).max().unwrap_or(i64::MIN);
    match !apex && recency(&cname) > others_recency {
        true => others,
        false => vec![cname],
    }
}

/// A record line: relative owner, class, type and rdata (the `$TTL` applies). Types
/// outside [`widely_known_type`] are written as `TYPEnnn \# len hex` (RFC 3597), which
/// every current server reads.
fn record_line(owner: &str, t: u16, rdata: &[u8]) -> String {
    if !widely_known_type(t) {
        return format!("{owner}\tIN\tTYPE{t}\t{}", rdata_generic(rdata));
    }
    let mut line = format!("{owner}\tIN\t{}\t", type_name(t));
    push_rdata_text(&mut line, t, rdata);
    line
}

/// Types whose mnemonic and presentation format BIND 9.18, Knot and NSD all read as the
/// wire crate prints them. Others (recent or obsolete types) are written generically.
fn widely_known_type(t: u16) -> bool {
    use rtype::*;
    matches!(
        t,
        A | NS
            | CNAME
            | SOA
            | PTR
            | HINFO
            | MX
            | TXT
            | RP
            | AFSDB
            | AAAA
            | LOC
            | SRV
            | NAPTR
            | KX
            | CERT
            | DNAME
            | DS
            | SSHFP
            | IPSECKEY
            | RRSIG
            | NSEC
            | DNSKEY
            | DHCID
            | NSEC3
            | NSEC3PARAM
            | TLSA
            | SMIMEA
            | CDS
            | CDNSKEY
            | OPENPGPKEY
            | CSYNC
            | ZONEMD
            | SVCB
            | HTTPS
            | SPF
            | URI
            | CAA
    )
}

fn name_text(wire: &[u8]) -> String {
    let mut text = String::with_capacity(wire.len() + 1);
    push_name_text(&mut text, wire);
    text
}

#[cfg(test)]
mod tests {
    use dnsledger_rrset::{Observation, RRset};
    use dnsledger_store::keys::Source;
    use dnsledger_store::{Access, Store};
    use dnsledger_wire::{rdata_from_text, type_from_name};

    use super::*;
    use crate::MasterReader;

    fn name(text: &str) -> NameBuf {
        NameBuf::from_text(text).unwrap()
    }

    /// A sensor observation of `owner TYPE rdata...` with `bailiwick`, seen [first, last].
    fn seen(
        owner: &str,
        t: &str,
        bailiwick: &str,
        rdata: &[&str],
        span: (i64, i64),
    ) -> Observation {
        let t = type_from_name(t).unwrap();
        let rdata = rdata
            .iter()
            .map(|r| rdata_from_text(t, r).unwrap())
            .collect();
        Observation {
            rrset: RRset::new(name(owner), t, Some(name(bailiwick)), rdata),
            seen: Seen {
                time_first: span.0,
                time_last: span.1,
                count: 1,
            },
        }
    }

    const DS: &str = "12345 13 2 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";

    fn history() -> Vec<Observation> {
        let ns = ["ns1.example.com.", "ns2.example.com."];
        vec![
            seen("example.com.", "NS", "example.com.", &ns, (10, 50)),
            seen("example.com.", "NS", "com.", &ns, (5, 40)),
            seen("example.com.", "DS", "com.", &[DS], (5, 40)),
            seen("ns1.example.com.", "A", "com.", &["192.0.2.1"], (5, 40)),
            seen(
                "ns2.example.com.",
                "A",
                "example.com.",
                &["192.0.2.2"],
                (10, 50),
            ),
            seen("ns2.example.com.", "A", "com.", &["192.0.2.2"], (5, 40)),
            seen(
                "www.example.com.",
                "A",
                "example.com.",
                &["192.0.2.10"],
                (10, 20),
            ),
            seen(
                "www.example.com.",
                "A",
                "example.com.",
                &["192.0.2.11"],
                (30, 60),
            ),
            seen(
                "alias.example.com.",
                "CNAME",
                "example.com.",
                &["www.example.com."],
                (10, 20),
            ),
            seen(
                "alias.example.com.",
                "A",
                "example.com.",
                &["192.0.2.12"],
                (15, 50),
            ),
            seen(
                "sub.example.com.",
                "NS",
                "example.com.",
                &["ns.sub.example.com."],
                (10, 50),
            ),
            seen(
                "ns.sub.example.com.",
                "A",
                "example.com.",
                &["192.0.2.53"],
                (10, 50),
            ),
            // Not this zone's data: the child's own, another zone, an unrelated parent row.
            seen(
                "deep.sub.example.com.",
                "A",
                "sub.example.com.",
                &["192.0.2.54"],
                (10, 50),
            ),
            seen(
                "www.example.org.",
                "A",
                "example.org.",
                &["192.0.2.55"],
                (10, 50),
            ),
            seen("www.example.com.", "A", "com.", &["192.0.2.56"], (10, 50)),
        ]
    }

    fn export(
        store: &Store,
        zone: &str,
        window: Window,
    ) -> Result<(String, ExportSummary), ZoneError> {
        let mut out = Vec::new();
        let options = ExportOptions {
            window,
            deadline: None,
        };
        let summary = export_zone(store, &name(zone), &options, &mut out)?;
        Ok((String::from_utf8(out).unwrap(), summary))
    }

    fn store_with(dir: &std::path::Path, observations: &[Observation]) -> Store {
        let store = Store::open(&dir.join("db"), Access::ReadWrite).unwrap();
        store
            .write(&[(Source::Sensor, observations)], None)
            .unwrap();
        store
    }

    #[test]
    fn the_zone_its_delegations_and_the_parents_glue_in_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), &history());
        let (text, summary) = export(&store, "example.com.", Window::Whole).unwrap();
        let expected = "\
; zone example.com. rebuilt by dnsledger zone-export from passive DNS history
; window: the whole history
; passive DNS keeps no TTLs: every record has the $TTL below
$ORIGIN example.com.
$TTL 3600
; no SOA was observed in the window: this one is synthesized so that the file loads
@\tIN\tSOA\tns1.example.com. hostmaster.example.com. 1 3600 900 604800 3600
@\tIN\tNS\tns1.example.com.
@\tIN\tNS\tns2.example.com.
; the parent's DS for this zone (a DS cannot stand at a zone's apex):
; @\tIN\tDS\t12345 13 2 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
; from the parent side (bailiwick com.): the zone's own was not observed
ns1\tIN\tA\t192.0.2.1
ns2\tIN\tA\t192.0.2.2
sub\tIN\tNS\tns.sub.example.com.
ns.sub\tIN\tA\t192.0.2.53
; 2 versions of www.example.com. A qualify: the one last seen (1970-01-01 00:01:00) is kept
www\tIN\tA\t192.0.2.11
alias\tIN\tA\t192.0.2.12
; CNAME and other data cannot share a name; this one was seen less recently:
; alias\tIN\tCNAME\twww.example.com.
";
        assert_eq!(text, expected);
        assert_eq!(
            summary,
            ExportSummary {
                rrsets: 7,
                rrsets_with_versions: 1,
                rrsets_commented: 2,
                soa_synthesized: true,
                name_servers_without_address: 0,
            }
        );
    }

    #[test]
    fn a_window_keeps_the_versions_it_overlaps() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), &history());
        let (at, _) = export(&store, "example.com.", Window::At(15)).unwrap();
        assert!(at.contains("; window: at 1970-01-01 00:00:15\n"), "{at}");
        assert!(at.contains("\nwww\tIN\tA\t192.0.2.10\n"), "{at}");
        assert!(!at.contains("192.0.2.11"), "{at}");
        let (between, _) = export(&store, "example.com.", Window::Between(45, 100)).unwrap();
        assert!(between.contains("\nwww\tIN\tA\t192.0.2.11\n"), "{between}");
        // Only the zone's own NS and ns2 are seen after 40; ns1 has no address left.
        assert!(!between.contains("192.0.2.1\n"), "{between}");
        assert!(between.ends_with(
            "; warning: no address of the in-zone name server ns1.example.com. was observed\n"
        ));
        assert!(matches!(
            export(&store, "example.com.", Window::At(1000)),
            Err(ZoneError::NothingObserved { .. })
        ));
    }

    #[test]
    fn the_export_reads_back_as_the_rrsets_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut history = history();
        history.push(seen(
            "example.com.",
            "SOA",
            "example.com.",
            &["ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300"],
            (10, 50),
        ));
        history.push(seen(
            "x.example.com.",
            "TYPE65280",
            "example.com.",
            &["\\# 2 abcd"],
            (10, 50),
        ));
        let store = store_with(dir.path(), &history);
        let (text, summary) = export(&store, "example.com.", Window::Whole).unwrap();
        assert!(!summary.soa_synthesized);
        assert!(text.contains("\n@\tIN\tSOA\tns1.example.com. hostmaster.example.com. 7 "));
        assert!(text.contains("\nx\tIN\tTYPE65280\t\\# 2 abcd\n"), "{text}");
        let file = dir.path().join("export.zone");
        std::fs::write(&file, &text).unwrap();
        let mut records: Vec<String> = MasterReader::new(&[file], name("example.com."))
            .map(|r| {
                let r = r.unwrap();
                format!("{} {}", r.owner, type_name(r.rtype))
            })
            .collect();
        records.sort();
        assert_eq!(
            records,
            [
                "alias.example.com. A",
                "example.com. NS",
                "example.com. NS",
                "example.com. SOA",
                "ns.sub.example.com. A",
                "ns1.example.com. A",
                "ns2.example.com. A",
                "sub.example.com. NS",
                "www.example.com. A",
                "x.example.com. TYPE65280",
            ]
        );
    }

    #[test]
    fn a_zone_without_its_apex_starts_with_a_synthesized_soa() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(
            dir.path(),
            &[seen(
                "www.example.com.",
                "A",
                "example.com.",
                &["192.0.2.10"],
                (10, 20),
            )],
        );
        let (text, summary) = export(&store, "example.com.", Window::Whole).unwrap();
        assert!(summary.soa_synthesized);
        assert!(
            text.contains(
                "@\tIN\tSOA\texample.com. hostmaster.example.com. 1 3600 900 604800 3600\n\
             ; warning: no NS RRset was observed at the apex\n\
             www\tIN\tA\t192.0.2.10\n"
            ),
            "{text}"
        );
    }
}
