//! Lookups: every query form of passive DNS as bounded key-range scans (`docs/encoding.md`).

use std::net::IpAddr;

use dnsledger_rrset::{RRsetParts, Seen};
use dnsledger_wire::{is_dnssec_type, type_from_name, NameBuf};
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, DB};

use crate::db::cf;
use crate::keys::{self, kind, Source};
use crate::value::{self, Activity};
use crate::{Store, StoreError};

/// A name to look for, as the query forms spell it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamePattern {
    /// `example.com`: that name only.
    Exact(NameBuf),
    /// `*.example.com`: the name and everything below it.
    Below(NameBuf),
    /// `www.example.*`: every name whose leftmost labels are these.
    Starting(NameBuf),
}

/// Why a query cannot be run; the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl NamePattern {
    /// `*.suffix`, `prefix.*` or a plain name; case-insensitive, trailing dot optional.
    pub fn parse(text: &str) -> Result<NamePattern, QueryError> {
        let name = |t: &str| {
            NameBuf::from_text(t).map_err(|e| QueryError(format!("bad name {text:?}: {e}")))
        };
        let (left, right) = (text.starts_with("*."), text.ends_with(".*"));
        if text == "*" || (left && right) {
            return Err(QueryError(format!(
                "{text:?}: a wildcard goes on one side only"
            )));
        }
        let pattern = match (left, right) {
            (true, _) => NamePattern::Below(name(&text[2..])?),
            (_, true) => NamePattern::Starting(name(&text[..text.len() - 2])?),
            _ => NamePattern::Exact(name(text)?),
        };
        let inner = match &pattern {
            NamePattern::Below(n) | NamePattern::Starting(n) | NamePattern::Exact(n) => n,
        };
        if inner.labels().any(|label| label == b"*") {
            return Err(QueryError(format!(
                "{text:?}: no wildcard in the middle of a name"
            )));
        }
        Ok(pattern)
    }
}

/// Which types a query wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeFilter {
    /// `ANY`: every type except the DNSSEC ones (the default).
    Any,
    /// `ANY-DNSSEC`: only DS RRSIG NSEC DNSKEY NSEC3 NSEC3PARAM DLV CDS CDNSKEY TA.
    AnyDnssec,
    Only(u16),
}

impl TypeFilter {
    /// `ANY`, `ANY-DNSSEC`, a mnemonic or `TYPEnnn`, any case.
    pub fn parse(text: &str) -> Result<TypeFilter, QueryError> {
        match text.to_ascii_uppercase().as_str() {
            "ANY" => Ok(TypeFilter::Any),
            "ANY-DNSSEC" => Ok(TypeFilter::AnyDnssec),
            _ => type_from_name(text)
                .map(TypeFilter::Only)
                .ok_or_else(|| QueryError(format!("unknown rrtype {text:?}"))),
        }
    }

    pub fn admits(&self, rrtype: u16) -> bool {
        match self {
            TypeFilter::Any => !is_dnssec_type(rrtype),
            TypeFilter::AnyDnssec => is_dnssec_type(rrtype),
            TypeFilter::Only(t) => *t == rrtype,
        }
    }

    /// Whether matching rows live in the DNSSEC column families.
    fn dnssec(&self) -> bool {
        match self {
            TypeFilter::Any => false,
            TypeFilter::AnyDnssec => true,
            TypeFilter::Only(t) => is_dnssec_type(*t),
        }
    }
}

/// The four inclusive time fences of DNSDB, in epoch seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeFence {
    pub first_after: Option<i64>,
    pub first_before: Option<i64>,
    pub last_after: Option<i64>,
    pub last_before: Option<i64>,
}

impl TimeFence {
    pub fn admits(&self, seen: &Seen) -> bool {
        self.first_after.is_none_or(|t| seen.time_first >= t)
            && self.first_before.is_none_or(|t| seen.time_first <= t)
            && self.last_after.is_none_or(|t| seen.time_last >= t)
            && self.last_before.is_none_or(|t| seen.time_last <= t)
    }
}

/// Every query form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// RRsets by owner, with optional type and bailiwick (exact name).
    RRset {
        owner: NamePattern,
        rrtype: TypeFilter,
        bailiwick: Option<NameBuf>,
    },
    /// Rdata rows by a name inside NS/CNAME/DNAME/PTR/MX/SRV/SOA/SVCB/HTTPS rdata.
    RdataName {
        name: NamePattern,
        rrtype: TypeFilter,
    },
    /// A and AAAA rdata rows with an address in `lo..=hi` (one family).
    RdataIp { lo: IpAddr, hi: IpAddr },
    /// Rdata rows whose canonical rdata is exactly these bytes.
    RdataRaw { rdata: Vec<u8>, rrtype: TypeFilter },
}

/// One answer row: an RRset row (with bailiwick) or an rdata row (one rdata, none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The owner, type, bailiwick and rdata in the layout of `RRset::encode`: one
    /// allocation per row, where owned parts took one per name and per rdata (scans read
    /// millions of rows, and those allocations were a fifth of a scan's time).
    identity: Vec<u8>,
    pub seen: Seen,
    /// The per-day histogram, read only when asked for ([`Rows::with_activity`]) and absent
    /// from rows written before format version 2.
    pub activity: Option<Activity>,
    pub source: Source,
    /// RRset rows carry a bailiwick position even when it is absent (client-side data).
    pub is_rrset_row: bool,
}

impl Row {
    /// A row of the parts `RRset::encode` wrote to `identity`, without activity.
    pub(crate) fn new(identity: Vec<u8>, seen: Seen, source: Source, is_rrset_row: bool) -> Row {
        Row {
            identity,
            seen,
            activity: None,
            source,
            is_rrset_row,
        }
    }

    /// The owner, type, bailiwick and rdata, read from the row's encoding once.
    pub fn parts(&self) -> RRsetParts<'_> {
        RRsetParts::of_encoded(&self.identity)
    }

    /// The owner, canonical wire form.
    pub fn rrname(&self) -> &[u8] {
        self.parts().rrname
    }

    pub fn rrtype(&self) -> u16 {
        self.parts().rrtype
    }

    /// The bailiwick, canonical wire form; `None` in rdata rows and client-side RRset rows.
    pub fn bailiwick(&self) -> Option<&[u8]> {
        self.parts().bailiwick
    }

    /// The rdata, canonical wire form: the set of an RRset row, the one of an rdata row.
    pub fn rdata(&self) -> impl Iterator<Item = &[u8]> {
        self.parts().rdata()
    }
}

/// Where a row lies in the answer to its request: which of the request's scans read it,
/// the stored key it was read at, and which period of that key it is (`aggr=false`).
///
/// Rows come in ascending position, and a request plans the same scans on every store, so
/// the answers of stores holding disjoint parts of a history merge by position into the
/// answer of one store holding all of it (the shard router's invariant).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub scan: u32,
    pub key: Vec<u8>,
    pub period: u32,
}

/// What a query cost: rows read from the store, rows it read but rejected, rows answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryCounters {
    pub scanned: u64,
    pub filtered: u64,
    pub returned: u64,
}

/// How the rows of one scan are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScanKind {
    RRsetRows,
    RdataRows,
    /// Forward-name index entries pointing at rows of this family.
    ForwardIndex {
        target: &'static str,
        rows: RowsOf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowsOf {
    RRset,
    Rdata,
}

/// One bounded key-range scan.
#[derive(Clone, Debug)]
struct Scan {
    cf: &'static str,
    lower: Vec<u8>,
    upper: Option<Vec<u8>>,
    kind: ScanKind,
}

impl Scan {
    fn prefix(cf: &'static str, prefix: Vec<u8>, kind: ScanKind) -> Scan {
        Scan {
            upper: prefix_successor(&prefix),
            lower: prefix,
            cf,
            kind,
        }
    }
}

/// The smallest key greater than every key starting with `prefix`; `None` if unbounded.
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < 0xff {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}

/// The rows of a lookup, read lazily: nothing is buffered beyond the current scan position.
pub struct Rows<'a> {
    store: &'a Store,
    scans: std::vec::IntoIter<Scan>,
    /// The scan being read, positioned on its next entry. A raw iterator: rows decode from
    /// the borrowed key and value, where the boxed iterator copied both for every entry.
    current: Option<(Scan, DBRawIteratorWithThreadMode<'a, DB>)>,
    /// The rows of the owner an `rrset_fwd` entry of `current` named, being read.
    owner: Option<OwnerScan<'a>>,
    filter: Filter,
    counters: QueryCounters,
    /// `all_rows` keeps every row, DNSSEC ones included.
    admit_all: bool,
    /// When set, reading stops with [`StoreError::OutOfTime`] once this instant has passed.
    deadline: Option<std::time::Instant>,
    /// Whether rows carry their activity (decoding it costs the scans that do not show it).
    with_activity: bool,
    /// Set when rows are split into periods ([`Rows::periods`]): the fences they must pass.
    period_fence: Option<TimeFence>,
    /// Periods of the last row read, not yet returned.
    pending: std::vec::IntoIter<Row>,
    /// Scans started so far: the scan part of a [`Position`].
    scans_started: u32,
    /// Whether [`Rows::position`] is kept (a key copy per row, so only when asked).
    track_positions: bool,
    position: Position,
}

/// The RRset rows of one owner, found through its forward index entry (format version 3:
/// one entry per owner). Their positions are what version 2's per-row entries were,
/// `fname(owner) | dnssec flag | row key`, so every store orders them alike.
struct OwnerScan<'a> {
    position_prefix: Vec<u8>,
    iterator: DBRawIteratorWithThreadMode<'a, DB>,
}

/// What a row must satisfy beyond lying in a scan's range.
#[derive(Clone, Debug)]
struct Filter {
    rrtype: TypeFilter,
    bailiwick: Option<Vec<u8>>,
    fence: TimeFence,
    raw_rdata: Option<Vec<u8>>,
}

/// The row families `dump` and `stats` walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// RRset rows, DNS then DNSSEC.
    RRsets,
    /// Rdata rows, DNS then DNSSEC.
    Rdata,
}

impl Store {
    /// Runs a lookup. Every form is one or a few bounded scans, never a full scan.
    pub fn lookup(&self, lookup: &Lookup, fence: TimeFence) -> Result<Rows<'_>, QueryError> {
        let (scans, filter) = plan(lookup, fence)?;
        Ok(self.rows(scans, filter))
    }

    /// Every row of a family in key order: the one deliberate full scan (`dump`, `stats`).
    pub fn all_rows(&self, family: Family) -> Rows<'_> {
        let (families, kind) = match family {
            Family::RRsets => ([cf::RRSET, cf::RRSET_DNSSEC], ScanKind::RRsetRows),
            Family::Rdata => ([cf::RDATA, cf::RDATA_DNSSEC], ScanKind::RdataRows),
        };
        let scans = families
            .map(|cf| Scan {
                cf,
                lower: Vec::new(),
                upper: None,
                kind,
            })
            .to_vec();
        let everything = Filter {
            rrtype: TypeFilter::Any,
            bailiwick: None,
            fence: TimeFence::default(),
            raw_rdata: None,
        };
        let mut rows = self.rows(scans, everything);
        rows.admit_all = true;
        rows
    }

    fn rows(&self, scans: Vec<Scan>, filter: Filter) -> Rows<'_> {
        Rows {
            store: self,
            scans: scans.into_iter(),
            current: None,
            owner: None,
            filter,
            counters: QueryCounters::default(),
            admit_all: false,
            deadline: None,
            with_activity: false,
            period_fence: None,
            pending: Vec::new().into_iter(),
            scans_started: 0,
            track_positions: false,
            position: Position::default(),
        }
    }
}

fn plan(lookup: &Lookup, fence: TimeFence) -> Result<(Vec<Scan>, Filter), QueryError> {
    let mut filter = Filter {
        rrtype: TypeFilter::Any,
        bailiwick: None,
        fence,
        raw_rdata: None,
    };
    let scans = match lookup {
        Lookup::RRset {
            owner,
            rrtype,
            bailiwick,
        } => {
            filter.rrtype = *rrtype;
            filter.bailiwick = bailiwick.as_ref().map(|b| b.as_wire().to_vec());
            vec![rrset_scan(owner, *rrtype)]
        }
        Lookup::RdataName { name, rrtype } => {
            filter.rrtype = *rrtype;
            vec![rdata_name_scan(name, *rrtype)]
        }
        Lookup::RdataIp { lo, hi } => vec![ip_scan(*lo, *hi, &mut filter)?],
        Lookup::RdataRaw { rdata, rrtype } => {
            filter.rrtype = *rrtype;
            filter.raw_rdata = Some(rdata.clone());
            raw_scans(rdata, *rrtype)
        }
    };
    Ok((scans, filter))
}

fn rrset_scan(owner: &NamePattern, rrtype: TypeFilter) -> Scan {
    let family = if rrtype.dnssec() {
        cf::RRSET_DNSSEC
    } else {
        cf::RRSET
    };
    let mut prefix = Vec::with_capacity(64);
    match owner {
        NamePattern::Exact(name) => {
            keys::push_rname(&mut prefix, name.as_wire());
            if let TypeFilter::Only(t) = rrtype {
                prefix.extend_from_slice(&t.to_be_bytes());
            }
            Scan::prefix(family, prefix, ScanKind::RRsetRows)
        }
        NamePattern::Below(name) => {
            keys::push_rname_prefix(&mut prefix, name.as_wire());
            Scan::prefix(family, prefix, ScanKind::RRsetRows)
        }
        NamePattern::Starting(name) => {
            keys::push_fname_prefix(&mut prefix, name.as_wire());
            let kind = ScanKind::ForwardIndex {
                target: family,
                rows: RowsOf::RRset,
            };
            Scan::prefix(cf::RRSET_FWD, prefix, kind)
        }
    }
}

fn rdata_name_scan(name: &NamePattern, rrtype: TypeFilter) -> Scan {
    let family = if rrtype.dnssec() {
        cf::RDATA_DNSSEC
    } else {
        cf::RDATA
    };
    let mut prefix = vec![kind::NAME];
    match name {
        NamePattern::Exact(n) => keys::push_rname(&mut prefix, n.as_wire()),
        NamePattern::Below(n) => keys::push_rname_prefix(&mut prefix, n.as_wire()),
        NamePattern::Starting(n) => {
            let mut fwd = Vec::with_capacity(64);
            keys::push_fname_prefix(&mut fwd, n.as_wire());
            let kind = ScanKind::ForwardIndex {
                target: family,
                rows: RowsOf::Rdata,
            };
            return Scan::prefix(cf::RDATA_NAME_FWD, fwd, kind);
        }
    }
    Scan::prefix(family, prefix, ScanKind::RdataRows)
}

fn ip_scan(lo: IpAddr, hi: IpAddr, filter: &mut Filter) -> Result<Scan, QueryError> {
    let (index_kind, lo, hi, rrtype) = match (lo, hi) {
        (IpAddr::V4(lo), IpAddr::V4(hi)) => {
            (kind::IPV4, lo.octets().to_vec(), hi.octets().to_vec(), 1)
        }
        (IpAddr::V6(lo), IpAddr::V6(hi)) => {
            (kind::IPV6, lo.octets().to_vec(), hi.octets().to_vec(), 28)
        }
        _ => {
            return Err(QueryError(
                "an address range must not mix IPv4 and IPv6".into(),
            ))
        }
    };
    if lo > hi {
        return Err(QueryError(
            "the range's low address is above its high address".into(),
        ));
    }
    filter.rrtype = TypeFilter::Only(rrtype);
    let mut lower = vec![index_kind];
    lower.extend_from_slice(&lo);
    let mut last = vec![index_kind];
    last.extend_from_slice(&hi);
    Ok(Scan {
        cf: cf::RDATA,
        lower,
        upper: prefix_successor(&last),
        kind: ScanKind::RdataRows,
    })
}

/// Raw rdata: every index kind the bytes could be stored under, each an exact prefix.
fn raw_scans(rdata: &[u8], rrtype: TypeFilter) -> Vec<Scan> {
    let candidate_types: Vec<u16> = match rrtype {
        TypeFilter::Only(t) => vec![t],
        _ => vec![1, 28, 2, 5, 39, 12, 15, 33, 6, 64, 65, 16],
    };
    let mut prefixes: Vec<(bool, Vec<u8>)> = candidate_types
        .into_iter()
        .filter(|t| rrtype.admits(*t) || matches!(rrtype, TypeFilter::Only(_)))
        .map(|t| {
            let mut prefix = Vec::new();
            keys::push_rdata_index(&mut prefix, t, rdata);
            (is_dnssec_type(t), prefix)
        })
        .collect();
    if !matches!(rrtype, TypeFilter::Only(_)) {
        let mut raw = vec![kind::RAW];
        raw.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        raw.extend_from_slice(rdata);
        prefixes.push((rrtype.dnssec(), raw));
    }
    prefixes.sort();
    prefixes.dedup();
    prefixes
        .into_iter()
        .map(|(dnssec, prefix)| {
            let family = if dnssec { cf::RDATA_DNSSEC } else { cf::RDATA };
            Scan::prefix(family, prefix, ScanKind::RdataRows)
        })
        .collect()
}

/// Rows read between two looks at the clock: cheap, and a few milliseconds at most.
const ROWS_PER_CLOCK_CHECK: u64 = 1024;

impl<'a> Rows<'a> {
    /// Bounds the time spent reading, filtered rows included: a query that would scan for
    /// longer ends with [`StoreError::OutOfTime`] instead.
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Rows carry their per-day activity.
    pub fn with_activity(mut self) -> Self {
        self.with_activity = true;
        self
    }

    /// The rows split into the periods of their activity (DNSDB's `aggr=false`): one row per
    /// bucket with a count, its times the bucket's bounds clipped to the row's, and one row
    /// for what a row counted before activity was kept. The time fences apply to these
    /// periods instead of to the aggregates.
    /// Counters count periods as the rows returned or filtered.
    pub fn periods(mut self) -> Self {
        self.period_fence = Some(std::mem::take(&mut self.filter.fence));
        self.with_activity = true;
        self
    }

    /// Keeps the [`Position`] of each row returned ([`Rows::position`]).
    pub fn with_positions(mut self) -> Self {
        self.track_positions = true;
        self
    }

    /// The position of the row last returned, when kept ([`Rows::with_positions`]).
    pub fn position(&self) -> Option<&Position> {
        self.track_positions.then_some(&self.position)
    }

    fn out_of_time(&self) -> bool {
        self.counters.scanned.is_multiple_of(ROWS_PER_CLOCK_CHECK)
            && self
                .deadline
                .is_some_and(|deadline| std::time::Instant::now() >= deadline)
    }

    /// What the lookup has cost so far.
    pub fn counters(&self) -> QueryCounters {
        self.counters
    }

    fn next_scan(&mut self) -> bool {
        let Some(scan) = self.scans.next() else {
            return false;
        };
        self.scans_started += 1;
        let iterator = self.range(scan.cf, &scan.lower, scan.upper.as_deref());
        self.current = Some((scan, iterator));
        true
    }

    /// An iterator over `lower..upper` of a family, positioned on its first entry.
    fn range(
        &self,
        family: &'static str,
        lower: &[u8],
        upper: Option<&[u8]>,
    ) -> DBRawIteratorWithThreadMode<'a, DB> {
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(lower.to_vec());
        if let Some(upper) = upper {
            options.set_iterate_upper_bound(upper.to_vec());
        }
        let mut iterator = self
            .store
            .db()
            .raw_iterator_cf_opt(self.store.handle(family), options);
        iterator.seek(lower);
        iterator
    }

    /// The scan of the rows of `owner` (canonical wire form) in `target`, of the wanted type
    /// when the query names one.
    fn owner_scan(&self, target: &'static str, owner: &[u8]) -> OwnerScan<'a> {
        let mut prefix = Vec::with_capacity(owner.len() + 3);
        keys::push_rname(&mut prefix, owner);
        if let TypeFilter::Only(rrtype) = self.filter.rrtype {
            prefix.extend_from_slice(&rrtype.to_be_bytes());
        }
        let upper = prefix_successor(&prefix);
        let iterator = self.range(target, &prefix, upper.as_deref());
        let mut position_prefix = owner.to_vec();
        position_prefix.push(u8::from(target == cf::RRSET_DNSSEC));
        OwnerScan {
            position_prefix,
            iterator,
        }
    }

    /// Turns one stored key/value into a row, following index entries; `None` = not a match.
    fn row(&self, kind: ScanKind, key: &[u8], value: &[u8]) -> Result<Option<Row>, StoreError> {
        match kind {
            ScanKind::RRsetRows => self.rrset_row(key, value).map(Some),
            ScanKind::RdataRows => self.rdata_row(key, value).map(Some),
            ScanKind::ForwardIndex { target, rows } => self.follow(target, rows, key),
        }
    }

    /// The row a per-row forward entry names: every `rdata_name_fwd` entry, and the
    /// `rrset_fwd` entries of stores of format versions 1 and 2 read without upgrading them.
    fn follow(
        &self,
        target: &'static str,
        rows: RowsOf,
        key: &[u8],
    ) -> Result<Option<Row>, StoreError> {
        let dnssec = u8::from(target == cf::RRSET_DNSSEC || target == cf::RDATA_DNSSEC);
        let Some(row_key) = keys::skip_fname(key).and_then(|rest| rest.strip_prefix(&[dnssec]))
        else {
            return Ok(None);
        };
        let value = self
            .store
            .db()
            .get_cf(self.store.handle(target), row_key)
            .map_err(|e| self.store.engine_error(e))?;
        let Some(value) = value else { return Ok(None) };
        match rows {
            RowsOf::RRset => self.rrset_row(row_key, &value).map(Some),
            RowsOf::Rdata => self.rdata_row(row_key, &value).map(Some),
        }
    }

    fn damaged(&self, cf: &'static str, what: &str) -> StoreError {
        StoreError::Damaged {
            path: self.store.path().to_path_buf(),
            cf,
            what: what.to_string(),
        }
    }

    fn rrset_row(&self, key: &[u8], value: &[u8]) -> Result<Row, StoreError> {
        let mut identity = Vec::with_capacity(key.len() + 1);
        let source = keys::decode_rrset_row_into(key, &mut identity)
            .ok_or_else(|| self.damaged(cf::RRSET, "undecodable key"))?;
        self.decoded_row(cf::RRSET, identity, value, source, true)
    }

    fn rdata_row(&self, key: &[u8], value: &[u8]) -> Result<Row, StoreError> {
        let mut identity = Vec::with_capacity(key.len() + 8);
        let source = keys::decode_rdata_row_into(key, &mut identity)
            .ok_or_else(|| self.damaged(cf::RDATA, "undecodable key"))?;
        self.decoded_row(cf::RDATA, identity, value, source, false)
    }

    fn decoded_row(
        &self,
        cf: &'static str,
        identity: Vec<u8>,
        value: &[u8],
        source: Source,
        is_rrset_row: bool,
    ) -> Result<Row, StoreError> {
        let (seen, activity) = self.value(cf, value)?;
        let mut row = Row::new(identity, seen, source, is_rrset_row);
        row.activity = activity;
        Ok(row)
    }

    fn value(
        &self,
        cf: &'static str,
        bytes: &[u8],
    ) -> Result<(Seen, Option<Activity>), StoreError> {
        let undecodable = || self.damaged(cf, "undecodable value");
        if !self.with_activity {
            let seen = value::decode_seen(bytes).ok_or_else(undecodable)?;
            return Ok((seen, None));
        }
        let value = value::decode(bytes).ok_or_else(undecodable)?;
        Ok((value.seen, value.activity))
    }

    fn admits(&self, row: &Row) -> bool {
        let filter = &self.filter;
        if self.admit_all {
            return true;
        }
        if !filter.fence.admits(&row.seen) {
            return false;
        }
        let reads_parts = !matches!(filter.rrtype, TypeFilter::Any)
            || filter.bailiwick.is_some()
            || filter.raw_rdata.is_some();
        if !reads_parts {
            // Most scans. `Any` scans read only the non-DNSSEC families, which hold no
            // DNSSEC type (`keys::is_dnssec` places every row), so no row's layout needs
            // walking to admit it.
            return true;
        }
        let parts = row.parts();
        filter.rrtype.admits(parts.rrtype)
            && filter
                .bailiwick
                .as_ref()
                .is_none_or(|b| parts.bailiwick == Some(b.as_slice()))
            && filter
                .raw_rdata
                .as_ref()
                .is_none_or(|raw| parts.rdata().next() == Some(raw.as_slice()))
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let Some(fence) = self.period_fence else {
            return self.next_aggregate();
        };
        loop {
            for period in self.pending.by_ref() {
                self.position.period += 1;
                if fence.admits(&period.seen) {
                    self.counters.returned += 1;
                    return Some(Ok(period));
                }
                self.counters.filtered += 1;
            }
            match self.next_aggregate()? {
                Ok(row) => {
                    self.counters.returned -= 1;
                    self.pending = split_into_periods(row).into_iter();
                }
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl Rows<'_> {
    /// The next row of the scans that passes the filter, as stored.
    fn next_aggregate(&mut self) -> Option<Result<Row, StoreError>> {
        loop {
            let outcome = if self.owner.is_some() {
                self.step_owner_scan()
            } else if self.current.is_some() || self.next_scan() {
                self.step_scan()
            } else {
                return None;
            };
            if outcome.is_some() {
                return outcome;
            }
        }
    }

    /// Reads the current scan's next entry: a row that passes the filter, an error, or
    /// `None` (a row filtered out, an owner scan started, or the scan's end).
    fn step_scan(&mut self) -> Option<Result<Row, StoreError>> {
        // Taken out while its entry is read, so that the entry's key and value borrow the
        // iterator and not `self`; put back once it has moved on.
        let (scan, mut iterator) = self.current.take()?;
        let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
            let status = iterator.status();
            return status.err().map(|e| Err(self.store.engine_error(e)));
        };
        if let Some(stop) = self.count_scanned() {
            return Some(stop);
        }
        let owner = match scan.kind {
            ScanKind::ForwardIndex {
                target,
                rows: RowsOf::RRset,
            } => keys::forward_entry_owner(key).map(|owner| (target, owner)),
            _ => None,
        };
        let outcome = match owner {
            Some((target, owner)) => {
                self.owner = Some(self.owner_scan(target, owner));
                None
            }
            None => self.admit(scan.kind, key, value, &[]),
        };
        iterator.next();
        self.current = Some((scan, iterator));
        outcome
    }

    /// Reads the next row of the owner scan, as [`Rows::step_scan`] does.
    fn step_owner_scan(&mut self) -> Option<Result<Row, StoreError>> {
        let mut owner = self.owner.take()?;
        let (Some(key), Some(value)) = (owner.iterator.key(), owner.iterator.value()) else {
            let status = owner.iterator.status();
            return status.err().map(|e| Err(self.store.engine_error(e)));
        };
        if let Some(stop) = self.count_scanned() {
            return Some(stop);
        }
        let outcome = self.admit(ScanKind::RRsetRows, key, value, &owner.position_prefix);
        owner.iterator.next();
        self.owner = Some(owner);
        outcome
    }

    /// Counts an entry read; past the deadline, ends the lookup with the error to return.
    fn count_scanned(&mut self) -> Option<Result<Row, StoreError>> {
        self.counters.scanned += 1;
        if !self.out_of_time() {
            return None;
        }
        self.scans = Vec::new().into_iter();
        self.current = None;
        self.owner = None;
        Some(Err(StoreError::OutOfTime {
            scanned: self.counters.scanned,
        }))
    }

    /// The row of one stored entry if it passes the filter (counted either way); its
    /// position key is `position_prefix | key`.
    fn admit(
        &mut self,
        kind: ScanKind,
        key: &[u8],
        value: &[u8],
        position_prefix: &[u8],
    ) -> Option<Result<Row, StoreError>> {
        match self.row(kind, key, value) {
            Err(e) => Some(Err(e)),
            Ok(Some(row)) if self.admits(&row) => {
                self.counters.returned += 1;
                if self.track_positions {
                    self.position = Position {
                        scan: self.scans_started,
                        key: [position_prefix, key].concat(),
                        period: 0,
                    };
                }
                Some(Ok(row))
            }
            Ok(_) => {
                self.counters.filtered += 1;
                None
            }
        }
    }
}

/// One row per activity bucket, after one for the count the activity does not hold.
fn split_into_periods(row: Row) -> Vec<Row> {
    let Some(activity) = &row.activity else {
        return vec![row];
    };
    let period = |seen: Seen| Row {
        seen,
        activity: None,
        ..row.clone()
    };
    let untracked = row.seen.count.saturating_sub(activity.total());
    let width = activity.bucket_seconds();
    let before = (untracked > 0).then(|| {
        period(Seen {
            count: untracked,
            ..row.seen
        })
    });
    let buckets = activity.buckets().map(|(start, count)| {
        period(Seen {
            time_first: start.max(row.seen.time_first),
            time_last: (start + width - 1).min(row.seen.time_last),
            count,
        })
    });
    before.into_iter().chain(buckets).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_patterns_parse_each_form_and_refuse_middle_or_double_wildcards() {
        let name = |t: &str| NameBuf::from_text(t).unwrap();
        assert_eq!(
            NamePattern::parse("Example.COM"),
            Ok(NamePattern::Exact(name("example.com.")))
        );
        assert_eq!(
            NamePattern::parse("*.example.com."),
            Ok(NamePattern::Below(name("example.com.")))
        );
        assert_eq!(
            NamePattern::parse("www.example.*"),
            Ok(NamePattern::Starting(name("www.example.")))
        );
        for bad in ["*.example.*", "www.*.com", "*"] {
            assert!(NamePattern::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn type_filters_split_dnssec_from_the_rest() {
        assert!(TypeFilter::Any.admits(1) && !TypeFilter::Any.admits(46));
        assert!(TypeFilter::AnyDnssec.admits(43) && !TypeFilter::AnyDnssec.admits(2));
        assert_eq!(TypeFilter::parse("type65280"), Ok(TypeFilter::Only(65280)));
        assert!(TypeFilter::parse("NOPE").is_err());
    }

    #[test]
    fn prefix_successor_bounds_a_prefix() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
    }

    #[test]
    fn time_fences_are_inclusive() {
        let seen = Seen {
            time_first: 10,
            time_last: 20,
            count: 1,
        };
        let fence = TimeFence {
            first_after: Some(10),
            last_before: Some(20),
            ..TimeFence::default()
        };
        assert!(fence.admits(&seen));
        assert!(!TimeFence {
            first_after: Some(11),
            ..TimeFence::default()
        }
        .admits(&seen));
        assert!(!TimeFence {
            last_before: Some(19),
            ..TimeFence::default()
        }
        .admits(&seen));
    }

    fn store_with_three_days() -> (tempfile::TempDir, Store) {
        use dnsledger_rrset::{Observation, RRset};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), crate::Access::ReadWrite).unwrap();
        let rrset = RRset::new(
            NameBuf::from_text("www.example.com.").unwrap(),
            1,
            Some(NameBuf::from_text("example.com.").unwrap()),
            vec![vec![192, 0, 2, 1]],
        );
        let day = |d: i64, s: i64, count: u64| Observation {
            rrset: rrset.clone(),
            seen: Seen {
                time_first: d * value::DAY + s,
                time_last: d * value::DAY + s + 10,
                count,
            },
        };
        for batch in [
            [day(20_000, 100, 2), day(20_002, 5, 1)],
            [day(20_000, 50, 3), day(20_005, 0, 4)],
        ] {
            store.write(&[(Source::Sensor, &batch)], None).unwrap();
        }
        (dir, store)
    }

    fn www() -> Lookup {
        Lookup::RRset {
            owner: NamePattern::parse("www.example.com").unwrap(),
            rrtype: TypeFilter::Any,
            bailiwick: None,
        }
    }

    #[test]
    fn rows_carry_their_activity_only_when_asked() {
        let (_dir, store) = store_with_three_days();
        let plain: Vec<Row> = store
            .lookup(&www(), TimeFence::default())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].activity, None);
        assert_eq!(plain[0].seen.count, 10);
        let rows = store
            .lookup(&www(), TimeFence::default())
            .unwrap()
            .with_activity();
        let rows: Vec<Row> = rows.map(Result::unwrap).collect();
        let day = |d: i64| d * value::DAY;
        let buckets: Vec<(i64, u64)> = rows[0].activity.as_ref().unwrap().buckets().collect();
        assert_eq!(
            buckets,
            [(day(20_000), 5), (day(20_002), 1), (day(20_005), 4)]
        );
    }

    #[test]
    fn periods_split_a_row_by_day_and_take_the_fences() {
        let (_dir, store) = store_with_three_days();
        let day = |d: i64| d * value::DAY;
        let rows = store
            .lookup(&www(), TimeFence::default())
            .unwrap()
            .periods();
        let periods: Vec<Seen> = rows.map(|row| row.unwrap().seen).collect();
        assert_eq!(
            periods,
            [
                Seen {
                    time_first: day(20_000) + 50,
                    time_last: day(20_001) - 1,
                    count: 5
                },
                Seen {
                    time_first: day(20_002),
                    time_last: day(20_003) - 1,
                    count: 1
                },
                Seen {
                    time_first: day(20_005),
                    time_last: day(20_005) + 10,
                    count: 4
                },
            ]
        );
        // A fence the aggregate fails (it was last seen on day 20005) admits earlier periods.
        let fence = TimeFence {
            last_before: Some(day(20_004)),
            ..TimeFence::default()
        };
        assert_eq!(store.lookup(&www(), fence).unwrap().count(), 0);
        let mut rows = store.lookup(&www(), fence).unwrap().periods();
        let counts: Vec<u64> = rows.by_ref().map(|row| row.unwrap().seen.count).collect();
        assert_eq!(counts, [5, 1]);
        assert_eq!(
            rows.counters(),
            QueryCounters {
                scanned: 1,
                filtered: 1,
                returned: 2
            }
        );
    }
}
