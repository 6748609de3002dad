//! Newly observed domains and names, detected in the store's one write path.
//!
//! Why here: every writer (ingest, `sensor --output db:`, serve's collectors, submissions,
//! zone imports) goes through [`Store::write`], so every writer announces, and the events
//! of a batch are written in the same atomic write batch as its observations. Ingest's
//! exactly-once resume therefore makes the feed exactly-once too: a batch that is skipped
//! on resume was durable with its events, one that was not durable had none.
//!
//! Two column families (`docs/encoding.md`): `names_known` (`kind | rname(name)`), so a
//! restarted writer knows every name it announced, and `names_new`, the event log keyed by
//! a big-endian sequence number. Whether a name is new needs a read; a bounded in-memory
//! cache of known names stands in front of the point reads (bloom filters make the misses,
//! the new names, cheap).
//!
//! `names_known` also decides the owner's entry in the forward index (`rrset_fwd`, one per
//! owner since format version 3): it is written with the owner's known-name key.
//!
//! What counts: the owner name of every observed RRset, and its registered domain under
//! the Public Suffix List compiled in (`dnsledger-psl`). Names inside rdata do not (they
//! are announced when they are seen as owners). Zone-file rows make their names known
//! without announcing them: a zone file is a registry's list, not something newly seen.

use hashbrown::HashMap;
use std::sync::Mutex;

use dnsledger_rrset::{Fingerprint, Fingerprinter, Observation, ProbeTable, RRset};
use dnsledger_wire::NameBuf;
use rocksdb::WriteBatch;

use crate::db::{cf, Store, StoreError};
use crate::keys::{self, Source};

/// Known names the writer keeps in memory (two generations of half this many each): 16
/// bytes each in a probe table at most three quarters full, at most 128 MiB.
pub const KNOWN_CACHE_NAMES: usize = 4_194_304;

/// How many owners ahead `candidates` prefetches the cache slots it will probe.
const KNOWN_PREFETCHED_AHEAD: usize = 8;

/// Events a reader takes from the log at most per call.
pub const MAX_EVENTS_PER_READ: usize = 4096;

/// What an event announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NoveltyKind {
    /// A registered domain (public suffix plus one label) never seen before.
    Domain = 1,
    /// A full owner name never seen before.
    Name = 2,
}

impl NoveltyKind {
    pub fn from_byte(byte: u8) -> Option<NoveltyKind> {
        match byte {
            1 => Some(NoveltyKind::Domain),
            2 => Some(NoveltyKind::Name),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoveltyKind::Domain => "domain",
            NoveltyKind::Name => "name",
        }
    }
}

/// One announcement of the new-name feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewName {
    /// Position in the log: increasing, from 1, never reused.
    pub seq: u64,
    pub kind: NoveltyKind,
    /// The new name (canonical wire form): the registered domain or the owner name.
    pub name: NameBuf,
    /// The earliest `time_first` of the batch's observations of that name.
    pub first_seen: i64,
    /// The observation it was first seen in: owner, type, bailiwick and rdata.
    pub rrset: RRset,
}

/// Which events a reader wants.
#[derive(Clone, Debug, Default)]
pub struct NoveltyFilter {
    /// Names at or below one of these (empty: all).
    pub suffixes: Vec<NameBuf>,
    /// Only this kind (`None`: both).
    pub kind: Option<NoveltyKind>,
}

impl NoveltyFilter {
    pub fn matches(&self, event: &NewName) -> bool {
        self.kind.is_none_or(|kind| kind == event.kind)
            && (self.suffixes.is_empty()
                || self
                    .suffixes
                    .iter()
                    .any(|suffix| event.name.is_subdomain_of(suffix)))
    }
}

/// The writer's side: the next sequence number and the cache of known names.
pub(crate) struct Novelty {
    next_seq: u64,
    known: KnownCache,
}

impl Novelty {
    /// The state of a store opened for writing: the sequence continues the log.
    pub(crate) fn load(store: &Store) -> Result<Mutex<Novelty>, StoreError> {
        Ok(Mutex::new(Novelty {
            next_seq: store.last_new_name_seq()? + 1,
            known: KnownCache::new(KNOWN_CACHE_NAMES),
        }))
    }
}

/// A bounded set of known-name keys: two generations; a full current generation becomes
/// the previous one and the old previous one is forgotten, so memory stays below the bound
/// and names seen recently stay in (a hit in the previous generation is promoted: copied
/// into the current one). Forgetting costs only a point read later, never a wrong answer.
///
/// Keys are held as keyed 128-bit fingerprints ([`Fingerprinter`]), 16 bytes each in line
/// instead of an allocation per name: a writer at ten million RRsets spent more time
/// hashing, allocating and freeing the names it cached than writing its rows, and the bound
/// can be millions of names. Two different keys are taken as one only if their fingerprints
/// collide: about n^2 / 2^129 among n names, 10^-25 for the millions held, and nobody
/// without the per-process key can craft one. The generations are [`ProbeTable`]s, where
/// the slot a lookup reads follows from the fingerprint alone: a batch's lookups, one cache
/// miss each in tables of tens of MiB, are prefetched ahead ([`KnownCache::prefetch`]).
pub(crate) struct KnownCache {
    current: ProbeTable<Fingerprint>,
    previous: ProbeTable<Fingerprint>,
    generation: usize,
    fingerprints: Fingerprinter,
}

impl KnownCache {
    pub(crate) fn new(capacity: usize) -> KnownCache {
        KnownCache {
            current: ProbeTable::new(),
            previous: ProbeTable::new(),
            generation: (capacity / 2).max(1),
            fingerprints: Fingerprinter::new(),
        }
    }

    fn fingerprint(&self, key: &[u8]) -> Fingerprint {
        self.fingerprints.of(&[key])
    }

    /// Starts loading the slots where [`KnownCache::contains`] looks for `fingerprint`.
    fn prefetch(&self, fingerprint: Fingerprint) {
        self.current.prefetch(fingerprint);
        self.previous.prefetch(fingerprint);
    }

    fn contains(&mut self, fingerprint: Fingerprint) -> bool {
        if self.current.contains(fingerprint) {
            return true;
        }
        let promoted = self.previous.contains(fingerprint);
        if promoted {
            self.insert_fingerprint(fingerprint);
        }
        promoted
    }

    fn insert(&mut self, key: &[u8]) {
        let fingerprint = self.fingerprint(key);
        if !self.current.contains(fingerprint) {
            self.insert_fingerprint(fingerprint);
        }
    }

    /// Adds a fingerprint the current generation does not hold.
    fn insert_fingerprint(&mut self, fingerprint: Fingerprint) {
        if self.current.len() >= self.generation {
            self.previous = std::mem::replace(&mut self.current, ProbeTable::new());
        }
        self.current.insert(fingerprint);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }
}

/// A name a batch mentions: the earliest observation of it, and whether a sensor saw it.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    kind: NoveltyKind,
    name: &'a [u8],
    first_seen: i64,
    rrset: &'a RRset,
    observed: bool,
}

/// What one batch makes known: its new `names_known` keys, and how many events it adds.
struct Found {
    known: Vec<Vec<u8>>,
    events: usize,
}

/// Replaces `out` with the `names_known` key of `name`: `kind | rname(name)`.
fn set_known_key(out: &mut Vec<u8>, kind: NoveltyKind, name: &[u8]) {
    out.clear();
    out.push(kind as u8);
    keys::push_rname(out, name);
}

/// The registered domain of a canonical wire name, as a suffix of it.
pub fn registered_domain_wire(name: &[u8]) -> Option<&[u8]> {
    let mut text = String::with_capacity(name.len() + 1);
    dnsledger_wire::push_name_text(&mut text, name);
    let domain = dnsledger_psl::registered_domain(&text)?;
    let wanted = NameBuf::from_text(domain).ok()?.label_count();
    let owner = NameBuf::from_wire(name).ok()?;
    let mut at = 0usize;
    for _ in wanted..owner.label_count() {
        at += 1 + usize::from(*name.get(at)?);
    }
    name.get(at..)
}

/// Every name the batch mentions that `known` does not hold, by `names_known` key, with its
/// earliest observation (ties broken by the RRset's bytes, so a batch always announces the
/// same thing).
///
/// Owners are gathered first, borrowed: a batch repeats an owner once per type and rdata
/// set, and its registered domain (a Public Suffix List lookup) is worked out once per
/// owner. An owner in `known` is skipped with its registered domain: the two are made known
/// in the same write, so a known owner's domain is known too.
fn candidates<'a>(
    parts: &[(Source, &'a [Observation])],
    known: &mut KnownCache,
) -> Vec<(Vec<u8>, Candidate<'a>)> {
    let observations = parts.iter().map(|(_, batch)| batch.len()).sum();
    let mut owners: HashMap<&'a [u8], Candidate<'a>> = HashMap::with_capacity(observations);
    for (source, observations) in parts {
        let observed = *source == Source::Sensor;
        for observation in *observations {
            let owner = observation.rrset.rrname_wire();
            let candidate = Candidate {
                kind: NoveltyKind::Name,
                name: owner,
                first_seen: observation.seen.time_first,
                rrset: &observation.rrset,
                observed,
            };
            owners
                .entry(owner)
                .and_modify(|held| held.absorb(&candidate))
                .or_insert(candidate);
        }
    }
    let mut found: Vec<(Vec<u8>, Candidate<'a>)> = Vec::new();
    // Each domain is looked up in `known` once, when first met; `None` marks a known one.
    let mut domains: HashMap<Vec<u8>, Option<Candidate<'a>>> = HashMap::new();
    // Keys are built in one buffer and copied only when kept: most owners of a batch are
    // known already, and a domain repeats once per owner below it.
    let mut key = Vec::new();
    let owners: Vec<(Fingerprint, &'a [u8], Candidate<'a>)> = owners
        .into_iter()
        .map(|(owner, candidate)| {
            set_known_key(&mut key, NoveltyKind::Name, owner);
            (known.fingerprint(&key), owner, candidate)
        })
        .collect();
    for (at, &(fingerprint, owner, candidate)) in owners.iter().enumerate() {
        if let Some((ahead, ..)) = owners.get(at + KNOWN_PREFETCHED_AHEAD) {
            known.prefetch(*ahead);
        }
        if known.contains(fingerprint) {
            continue;
        }
        set_known_key(&mut key, NoveltyKind::Name, owner);
        let owner_key = key.clone();
        if let Some(domain) = registered_domain_wire(owner) {
            let as_domain = Candidate {
                kind: NoveltyKind::Domain,
                name: domain,
                ..candidate
            };
            set_known_key(&mut key, NoveltyKind::Domain, domain);
            match domains.get_mut(&key[..]) {
                Some(Some(held)) => held.absorb(&as_domain),
                Some(None) => {}
                None => {
                    let unknown = (!known.contains(known.fingerprint(&key))).then_some(as_domain);
                    domains.insert(key.clone(), unknown);
                }
            }
        }
        found.push((owner_key, candidate));
    }
    found.extend(
        domains
            .into_iter()
            .filter_map(|(key, held)| Some((key, held?))),
    );
    // Keys are distinct (owners and domains were gathered in maps, and their kind byte
    // tells them apart): sorting by key alone is deterministic.
    found.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    found
}

impl<'a> Candidate<'a> {
    fn absorb(&mut self, other: &Candidate<'a>) {
        if !other.observed {
            return;
        }
        let earlier = (other.first_seen, other.rrset) < (self.first_seen, self.rrset);
        if !self.observed || earlier {
            *self = Candidate { ..*other };
        }
    }
}

impl Store {
    /// Adds the batch's new names to `batch`, writes it atomically and durably, then
    /// remembers them. The writer's lock is held throughout, so sequence numbers follow
    /// commit order; a failed write leaves the cache and the sequence untouched.
    pub(crate) fn commit_with_novelty(
        &self,
        mut batch: WriteBatch,
        parts: &[(Source, &[Observation])],
    ) -> Result<(), StoreError> {
        let Some(novelty) = self.novelty() else {
            return self.commit(batch);
        };
        let mut state = novelty.lock().unwrap_or_else(|p| p.into_inner());
        let found = self.detect(&mut state, parts, &mut batch)?;
        self.commit(batch)?;
        state.next_seq += found.events as u64;
        for key in found.known {
            state.known.insert(&key);
        }
        Ok(())
    }

    /// The names of `parts` not known yet, added to `batch` as known names and events.
    /// Events are numbered in order of first-seen time, then kind (a domain before its
    /// names), then name.
    fn detect(
        &self,
        state: &mut Novelty,
        parts: &[(Source, &[Observation])],
        batch: &mut WriteBatch,
    ) -> Result<Found, StoreError> {
        let mut unknown = candidates(parts, &mut state.known);
        let handle = self.handle(cf::NAMES_KNOWN);
        // `unknown` is in key order (`candidates` sorts it): RocksDB need not sort it again.
        let stored =
            self.db()
                .batched_multi_get_cf(handle, unknown.iter().map(|(key, _)| key), true);
        let mut fresh = Vec::with_capacity(unknown.len());
        for ((key, candidate), stored) in unknown.drain(..).zip(stored) {
            match stored.map_err(|e| self.engine_error(e))? {
                Some(_) => state.known.insert(&key),
                None => fresh.push((key, candidate)),
            }
        }
        self.add_owner_entries(batch, &fresh);
        let seqs = self.add_events(batch, state.next_seq, &fresh);
        let events = seqs.iter().flatten().count();
        // In key order, as `fresh` is: this family keeps the skiplist memtable (it is read
        // at every write), where inserting keys in order costs a fraction of inserting them
        // at random places.
        let mut known = Vec::with_capacity(fresh.len());
        for ((key, _), seq) in fresh.into_iter().zip(seqs) {
            let value = seq.map(u64::to_be_bytes);
            batch.put_cf(handle, &key, value.as_ref().map_or(&[][..], |v| &v[..]));
            known.push(key);
        }
        Ok(Found { events, known })
    }

    /// Adds the events of the observed names among `fresh`, numbered from `next_seq` in
    /// order of first-seen time, then kind (a domain before its names), then name; returns
    /// the sequence number of each of `fresh` (none for a zone file's names).
    fn add_events(
        &self,
        batch: &mut WriteBatch,
        next_seq: u64,
        fresh: &[(Vec<u8>, Candidate<'_>)],
    ) -> Vec<Option<u64>> {
        let mut order: Vec<usize> = (0..fresh.len()).collect();
        order.sort_unstable_by_key(|&at| {
            let candidate = &fresh[at].1;
            (candidate.first_seen, candidate.kind, candidate.name)
        });
        let handle = self.handle(cf::NAMES_NEW);
        let mut seqs = vec![None; fresh.len()];
        let mut seq = next_seq;
        for at in order {
            let candidate = &fresh[at].1;
            if candidate.observed {
                batch.put_cf(handle, seq.to_be_bytes(), encode_event(candidate));
                seqs[at] = Some(seq);
                seq += 1;
            }
        }
        seqs
    }

    /// The `rrset_fwd` entry (`fname(owner)`, format version 3) of every owner the batch
    /// makes known: an owner not in `names_known` has no rows yet, one in it has its entry,
    /// so each owner gets one entry, in the write of its first rows. In key order.
    fn add_owner_entries(&self, batch: &mut WriteBatch, fresh: &[(Vec<u8>, Candidate<'_>)]) {
        let mut entries: Vec<Vec<u8>> = fresh
            .iter()
            .filter(|(_, candidate)| candidate.kind == NoveltyKind::Name)
            .map(|(_, candidate)| keys::owner_forward_key(candidate.name))
            .collect();
        entries.sort_unstable();
        let handle = self.handle(cf::RRSET_FWD);
        for entry in entries {
            batch.put_cf(handle, entry, []);
        }
    }

    /// The sequence number of the newest event (0 when there is none).
    pub fn last_new_name_seq(&self) -> Result<u64, StoreError> {
        let Some(handle) = self.db().cf_handle(cf::NAMES_NEW) else {
            return Ok(0);
        };
        let mut iter = self.db().raw_iterator_cf(handle);
        iter.seek_to_last();
        let last = iter.key().map(|key| self.event_seq(key)).transpose()?;
        iter.status().map_err(|e| self.engine_error(e))?;
        Ok(last.unwrap_or(0))
    }

    /// Events after `after`, in order, at most `limit` (and [`MAX_EVENTS_PER_READ`]), with
    /// the sequence number of the last one read (matching or not), so a reader filtering
    /// most events away still moves on. A store from before the feed has none.
    pub fn new_names_after(
        &self,
        after: u64,
        limit: usize,
        filter: &NoveltyFilter,
    ) -> Result<(Vec<NewName>, u64), StoreError> {
        let Some(handle) = self.db().cf_handle(cf::NAMES_NEW) else {
            return Ok((Vec::new(), after));
        };
        let limit = limit.min(MAX_EVENTS_PER_READ);
        let mut iter = self.db().raw_iterator_cf(handle);
        iter.seek(after.saturating_add(1).to_be_bytes());
        let (mut events, mut read, mut last) = (Vec::new(), 0usize, after);
        while let (Some(key), Some(value)) = (iter.key(), iter.value()) {
            if events.len() >= limit || read >= MAX_EVENTS_PER_READ {
                break;
            }
            last = self.event_seq(key)?;
            let event = decode_event(last, value).ok_or_else(|| self.damaged(key))?;
            if filter.matches(&event) {
                events.push(event);
            }
            read += 1;
            iter.next();
        }
        iter.status().map_err(|e| self.engine_error(e))?;
        Ok((events, last))
    }

    fn event_seq(&self, key: &[u8]) -> Result<u64, StoreError> {
        <[u8; 8]>::try_from(key)
            .map(u64::from_be_bytes)
            .map_err(|_| self.damaged(key))
    }

    fn damaged(&self, key: &[u8]) -> StoreError {
        StoreError::Damaged {
            path: self.path().to_path_buf(),
            cf: cf::NAMES_NEW,
            what: format!("event {key:02x?}"),
        }
    }
}

/// `kind u8 | first_seen i64 BE | name length u8 | name (wire) | RRset encoding`.
fn encode_event(candidate: &Candidate<'_>) -> Vec<u8> {
    let encoded = candidate.rrset.encoded();
    let mut value = Vec::with_capacity(10 + candidate.name.len() + encoded.len());
    value.push(candidate.kind as u8);
    value.extend_from_slice(&candidate.first_seen.to_be_bytes());
    // A wire name is at most 255 bytes.
    value.push(candidate.name.len() as u8);
    value.extend_from_slice(candidate.name);
    value.extend_from_slice(encoded);
    value
}

fn decode_event(seq: u64, value: &[u8]) -> Option<NewName> {
    let (&kind, rest) = value.split_first()?;
    let (first_seen, rest) = rest.split_first_chunk::<8>()?;
    let (&name_len, rest) = rest.split_first()?;
    let (name, rrset) = rest.split_at_checked(usize::from(name_len))?;
    Some(NewName {
        seq,
        kind: NoveltyKind::from_byte(kind)?,
        name: NameBuf::from_wire(name).ok()?,
        first_seen: i64::from_be_bytes(*first_seen),
        rrset: RRset::from_encoded(rrset).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Access;
    use dnsledger_rrset::Seen;
    use dnsledger_wire::rtype;

    fn observation(owner: &str, address: [u8; 4], time: i64) -> Observation {
        let zone = NameBuf::from_text(dnsledger_psl::registered_domain(owner).unwrap_or(owner));
        Observation {
            rrset: RRset::new(
                NameBuf::from_text(owner).unwrap(),
                rtype::A,
                Some(zone.unwrap()),
                vec![address.to_vec()],
            ),
            seen: Seen::once(time),
        }
    }

    fn all_events(store: &Store) -> Vec<NewName> {
        store
            .new_names_after(0, usize::MAX, &NoveltyFilter::default())
            .unwrap()
            .0
    }

    fn summary(events: &[NewName]) -> Vec<(u64, &'static str, String, i64)> {
        events
            .iter()
            .map(|e| (e.seq, e.kind.as_str(), e.name.to_text(), e.first_seen))
            .collect()
    }

    #[test]
    fn the_cache_stays_within_its_bound_and_keeps_recent_names() {
        let mut cache = KnownCache::new(10);
        for i in 0..1000u32 {
            cache.insert(&i.to_be_bytes());
            assert!(cache.len() <= 10, "{} names held", cache.len());
        }
        assert!(cache.contains(cache.fingerprint(&999u32.to_be_bytes())));
        assert!(!cache.contains(cache.fingerprint(&0u32.to_be_bytes())));
    }

    #[test]
    fn a_batch_announces_each_name_once_in_first_seen_order_with_its_earliest_rdata() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        let batch = [
            observation("www.example.com.", [192, 0, 2, 2], 200),
            observation("example.com.", [192, 0, 2, 9], 300),
            observation("www.example.com.", [192, 0, 2, 1], 100),
            observation("a.example.org.", [192, 0, 2, 3], 100),
        ];
        store.write(&[(Source::Sensor, &batch)], None).unwrap();
        let events = all_events(&store);
        assert_eq!(
            summary(&events),
            [
                (1, "domain", "example.com.".into(), 100),
                (2, "domain", "example.org.".into(), 100),
                (3, "name", "a.example.org.".into(), 100),
                (4, "name", "www.example.com.".into(), 100),
                (5, "name", "example.com.".into(), 300),
            ]
        );
        assert_eq!(events[3].rrset.rdata().next(), Some(&[192, 0, 2, 1][..]));
        assert_eq!(
            events[0].rrset, batch[2].rrset,
            "the domain's first sighting"
        );
        store.write(&[(Source::Sensor, &batch)], None).unwrap();
        assert_eq!(all_events(&store).len(), 5, "nothing is announced twice");
    }

    #[test]
    fn zone_file_rows_make_names_known_without_announcing_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        let zone = [observation("ns1.example.com.", [192, 0, 2, 53], 50)];
        store.write(&[(Source::ZoneFile, &zone)], None).unwrap();
        assert!(all_events(&store).is_empty());
        let seen = [
            observation("ns1.example.com.", [192, 0, 2, 54], 60),
            observation("www.example.com.", [192, 0, 2, 80], 70),
        ];
        store.write(&[(Source::Sensor, &seen)], None).unwrap();
        assert_eq!(
            summary(&all_events(&store)),
            [(1, "name", "www.example.com.".into(), 70)]
        );
    }

    #[test]
    fn a_reopened_store_remembers_known_names_and_continues_the_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let first = [observation("a.example.com.", [192, 0, 2, 1], 10)];
        let store = Store::open(&path, Access::ReadWrite).unwrap();
        store.write(&[(Source::Sensor, &first)], None).unwrap();
        drop(store);
        let store = Store::open(&path, Access::ReadWrite).unwrap();
        let second = [
            observation("a.example.com.", [192, 0, 2, 1], 20),
            observation("b.example.com.", [192, 0, 2, 2], 20),
        ];
        store.write(&[(Source::Sensor, &second)], None).unwrap();
        assert_eq!(
            summary(&all_events(&store)),
            [
                (1, "domain", "example.com.".into(), 10),
                (2, "name", "a.example.com.".into(), 10),
                (3, "name", "b.example.com.".into(), 20),
            ]
        );
    }

    #[test]
    fn names_the_cache_forgot_are_found_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        store.novelty().unwrap().lock().unwrap().known = KnownCache::new(2);
        let names: Vec<Observation> = (0..20u8)
            .map(|i| observation(&format!("h{i}.example.net."), [192, 0, 2, i], 1))
            .collect();
        store.write(&[(Source::Sensor, &names)], None).unwrap();
        store.write(&[(Source::Sensor, &names)], None).unwrap();
        assert_eq!(all_events(&store).len(), 21);
    }

    #[test]
    fn readers_page_through_the_log_and_filter_by_suffix_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Access::ReadWrite).unwrap();
        let batch = [
            observation("www.example.com.", [192, 0, 2, 1], 1),
            observation("www.example.cz.", [192, 0, 2, 2], 2),
        ];
        store.write(&[(Source::Sensor, &batch)], None).unwrap();
        let cz = NoveltyFilter {
            suffixes: vec![NameBuf::from_text("cz").unwrap()],
            kind: Some(NoveltyKind::Name),
        };
        let (events, last) = store.new_names_after(0, 10, &cz).unwrap();
        assert_eq!(summary(&events), [(4, "name", "www.example.cz.".into(), 2)]);
        assert_eq!(last, 4);
        let (page, last) = store
            .new_names_after(1, 2, &NoveltyFilter::default())
            .unwrap();
        assert_eq!((page[0].seq, page[1].seq, last), (2, 3, 3));
        assert_eq!(store.last_new_name_seq().unwrap(), 4);
    }

    #[test]
    fn a_store_from_before_the_feed_opens_for_reading_and_for_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let old = &cf::ALL[..7];
        let db = rocksdb::DB::open_cf(&options, &path, old).unwrap();
        let meta = db.cf_handle(cf::META).unwrap();
        db.put_cf(meta, "format_version", crate::FORMAT_VERSION)
            .unwrap();
        drop(db);
        let reader = Store::open(&path, Access::ReadOnly).unwrap();
        assert!(all_events(&reader).is_empty());
        assert_eq!(reader.last_new_name_seq().unwrap(), 0);
        drop(reader);
        let writer = Store::open(&path, Access::ReadWrite).unwrap();
        let batch = [observation("www.example.com.", [192, 0, 2, 1], 1)];
        writer.write(&[(Source::Sensor, &batch)], None).unwrap();
        assert_eq!(all_events(&writer).len(), 2);
    }

    #[test]
    fn registered_domains_are_suffixes_of_the_wire_name() {
        let wire = |text: &str| NameBuf::from_text(text).unwrap().as_wire().to_vec();
        let owner = wire("a.b.example.co.uk.");
        assert_eq!(
            registered_domain_wire(&owner),
            Some(&wire("example.co.uk.")[..])
        );
        assert_eq!(registered_domain_wire(&wire("co.uk.")), None);
        assert_eq!(registered_domain_wire(&wire(".")), None);
    }
}
