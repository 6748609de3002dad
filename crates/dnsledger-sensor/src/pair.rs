//! Pairing: each response must answer an outstanding query, or it is never used.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use dnsledger_capture::Transport;
use hashbrown::hash_map::EntryRef;
use hashbrown::{Equivalent, HashMap};

/// Everything a response must share with its query: transport, both endpoints, DNS id and
/// the question (qname compared in lower case, so the 0x20 trick's mixed case still pairs).
///
/// `Q` is the qname's storage: the table owns a [`Qname`], held in the key itself unless it
/// is unusually long; lookups use `&[u8]` borrowed from a scratch buffer. Nearly every query
/// is remembered and paired without allocating. Both hash alike because both hash as the
/// same byte slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairKey<Q = Qname> {
    pub transport: Transport,
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub id: u16,
    pub qtype: u16,
    pub qclass: u16,
    /// Canonical (lower-case, uncompressed) wire form of the qname.
    pub qname: Q,
}

/// A lookup key borrowing its qname.
pub type PairKeyRef<'a> = PairKey<&'a [u8]>;

/// Bytes of a qname held in the key itself; 64 fit the qnames of nearly all traffic.
const INLINE_QNAME: usize = 64;

/// An owned qname (canonical wire form), in line when it fits, on the heap otherwise.
#[derive(Clone, Debug)]
pub struct Qname(QnameBytes);

#[derive(Clone, Debug)]
enum QnameBytes {
    Inline { len: u8, bytes: [u8; INLINE_QNAME] },
    Heap(Box<[u8]>),
}

impl Qname {
    fn new(wire: &[u8]) -> Qname {
        let mut bytes = [0u8; INLINE_QNAME];
        Qname(match bytes.get_mut(..wire.len()) {
            Some(inline) => {
                inline.copy_from_slice(wire);
                QnameBytes::Inline {
                    len: wire.len() as u8,
                    bytes,
                }
            }
            None => QnameBytes::Heap(Box::from(wire)),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            QnameBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            QnameBytes::Heap(bytes) => bytes,
        }
    }
}

impl PartialEq for Qname {
    fn eq(&self, other: &Qname) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Qname {}

/// Hashes as the byte slice, like the `&[u8]` of a lookup key.
impl Hash for Qname {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

/// Every field, in five writes where the derived hash made twelve (the table hashes every
/// query and every response). All of them, so that queries differing in one field only
/// (a crafted run of classes, say) do not pile up on one hash.
impl<Q: Hash> Hash for PairKey<Q> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let small = u64::from(self.id)
            | u64::from(self.client_port) << 16
            | u64::from(self.server_port) << 32
            | u64::from(self.qtype) << 48;
        state.write_u64(small);
        let transport = match self.transport {
            Transport::Udp => 0,
            Transport::Tcp => 1,
        };
        state.write_u32(u32::from(self.qclass) | transport << 16);
        state.write_u128(address_word(self.client));
        state.write_u128(address_word(self.server));
        self.qname.hash(state);
    }
}

/// An address as one integer for hashing (an IPv4 address hashes like the IPv6 address
/// with the same low 32 bits and zeros above; equality tells them apart).
fn address_word(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl From<&PairKeyRef<'_>> for PairKey {
    fn from(key: &PairKeyRef<'_>) -> PairKey {
        PairKey {
            transport: key.transport,
            client: key.client,
            client_port: key.client_port,
            server: key.server,
            server_port: key.server_port,
            id: key.id,
            qtype: key.qtype,
            qclass: key.qclass,
            qname: Qname::new(key.qname),
        }
    }
}

impl Equivalent<PairKey> for PairKeyRef<'_> {
    fn equivalent(&self, key: &PairKey) -> bool {
        self.id == key.id
            && self.client_port == key.client_port
            && self.server_port == key.server_port
            && self.qtype == key.qtype
            && self.qclass == key.qclass
            && self.transport == key.transport
            && self.client == key.client
            && self.server == key.server
            && self.qname == key.qname.as_bytes()
    }
}

/// What is remembered about an outstanding query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingQuery {
    pub ts_nanos: i64,
    pub recursion_desired: bool,
}

/// Why a query was not remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryOutcome {
    Pending,
    /// The same key was already pending (a retransmission): the newer one replaces it.
    Duplicate,
    /// The table is full even after expiring old queries.
    OverLimit,
}

/// Outstanding queries, expired by packet time so that a capture replays the same way
/// whenever it is read.
#[derive(Debug)]
pub struct Pairing {
    pending: HashMap<PairKey, PendingQuery>,
    timeout_nanos: i64,
    max_pending: usize,
    last_sweep_nanos: i64,
    expired: u64,
}

impl Pairing {
    pub fn new(timeout_nanos: i64, max_pending: usize) -> Pairing {
        Pairing {
            pending: HashMap::new(),
            timeout_nanos,
            max_pending,
            last_sweep_nanos: i64::MIN,
            expired: 0,
        }
    }

    /// Remembers a query seen at `query.ts_nanos`.
    pub fn add_query(&mut self, key: &PairKeyRef<'_>, query: PendingQuery) -> QueryOutcome {
        self.sweep_if_due(query.ts_nanos);
        if self.pending.len() >= self.max_pending {
            if let Some(pending) = self.pending.get_mut(key) {
                *pending = query;
                return QueryOutcome::Duplicate;
            }
            self.sweep(query.ts_nanos);
            if self.pending.len() >= self.max_pending {
                return QueryOutcome::OverLimit;
            }
        }
        // One hash and one probe, whether the key is new or a retransmission.
        match self.pending.entry_ref(key) {
            EntryRef::Occupied(mut held) => {
                *held.get_mut() = query;
                QueryOutcome::Duplicate
            }
            EntryRef::Vacant(free) => {
                free.insert(query);
                QueryOutcome::Pending
            }
        }
    }

    /// The query a response seen at `ts_nanos` answers, if one is outstanding and not
    /// older than the timeout. A query pairs at most once: it is removed here.
    pub fn take_query(&mut self, key: &PairKeyRef<'_>, ts_nanos: i64) -> Option<PendingQuery> {
        self.sweep_if_due(ts_nanos);
        let query = self.pending.remove(key)?;
        if ts_nanos.saturating_sub(query.ts_nanos) > self.timeout_nanos {
            self.expired += 1;
            return None;
        }
        Some(query)
    }

    /// Queries that expired unanswered so far.
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// Queries still outstanding.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// Counts everything still outstanding as unanswered (end of input).
    pub fn finish(&mut self) {
        self.expired += self.pending.len() as u64;
        self.pending.clear();
    }

    /// A full sweep costs one pass over the table, so it runs once per timeout of packet
    /// time: each entry is visited about twice in its life.
    fn sweep_if_due(&mut self, now_nanos: i64) {
        if now_nanos.saturating_sub(self.last_sweep_nanos) >= self.timeout_nanos {
            self.sweep(now_nanos);
        }
    }

    fn sweep(&mut self, now_nanos: i64) {
        let timeout = self.timeout_nanos;
        let before = self.pending.len();
        self.pending
            .retain(|_, query| now_nanos.saturating_sub(query.ts_nanos) <= timeout);
        self.expired += (before - self.pending.len()) as u64;
        self.last_sweep_nanos = now_nanos;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    fn key(id: u16) -> PairKeyRef<'static> {
        PairKey {
            transport: Transport::Udp,
            client: "127.0.0.2".parse().unwrap(),
            client_port: 40000,
            server: "127.0.0.11".parse().unwrap(),
            server_port: 53,
            id,
            qtype: 1,
            qclass: 1,
            qname: b"\x03com\x00",
        }
    }

    fn query(ts_nanos: i64) -> PendingQuery {
        PendingQuery {
            ts_nanos,
            recursion_desired: false,
        }
    }

    #[test]
    fn a_query_pairs_with_the_first_response_only() {
        let mut pairing = Pairing::new(5 * SECOND, 100);
        assert_eq!(pairing.add_query(&key(1), query(0)), QueryOutcome::Pending);
        assert_eq!(pairing.take_query(&key(1), SECOND), Some(query(0)));
        assert_eq!(pairing.take_query(&key(1), SECOND), None);
    }

    #[test]
    fn every_field_of_the_key_must_match() {
        let mut pairing = Pairing::new(5 * SECOND, 100);
        pairing.add_query(&key(1), query(0));
        for other in keys_differing_in_one_field() {
            assert_eq!(pairing.take_query(&other, SECOND), None, "{other:?}");
        }
        assert_eq!(pairing.take_query(&key(2), SECOND), None);
        assert_eq!(pairing.take_query(&key(1), SECOND), Some(query(0)));
    }

    /// `key(1)` changed in one field each (the address also to its IPv6-mapped form).
    fn keys_differing_in_one_field() -> Vec<PairKeyRef<'static>> {
        let variants: [fn(&mut PairKeyRef<'static>); 10] = [
            |k| k.transport = Transport::Tcp,
            |k| k.client = "127.0.0.3".parse().unwrap(),
            |k| k.client = "::ffff:127.0.0.2".parse().unwrap(),
            |k| k.client_port = 40001,
            |k| k.server = "127.0.0.12".parse().unwrap(),
            |k| k.server_port = 5353,
            |k| k.id = 2,
            |k| k.qtype = 28,
            |k| k.qclass = 3,
            |k| k.qname = b"\x03net\x00",
        ];
        variants
            .into_iter()
            .map(|change| {
                let mut other = key(1);
                change(&mut other);
                other
            })
            .collect()
    }

    #[test]
    fn owned_and_borrowed_keys_hash_alike_and_every_field_moves_the_hash() {
        fn hash_of(key: &impl Hash) -> u64 {
            let mut hasher = std::hash::DefaultHasher::new();
            key.hash(&mut hasher);
            hasher.finish()
        }
        let borrowed = key(1);
        assert_eq!(hash_of(&borrowed), hash_of(&PairKey::from(&borrowed)));
        for other in keys_differing_in_one_field() {
            assert_ne!(hash_of(&other), hash_of(&borrowed), "{other:?}");
        }
    }

    #[test]
    fn a_retransmitted_query_replaces_the_pending_one() {
        let mut pairing = Pairing::new(5 * SECOND, 100);
        assert_eq!(pairing.add_query(&key(1), query(0)), QueryOutcome::Pending);
        assert_eq!(
            pairing.add_query(&key(1), query(SECOND)),
            QueryOutcome::Duplicate
        );
        assert_eq!(pairing.outstanding(), 1);
        assert_eq!(pairing.take_query(&key(1), 2 * SECOND), Some(query(SECOND)));
    }

    #[test]
    fn a_long_qname_pairs_like_a_short_one() {
        let mut long = vec![63];
        long.extend([b'a'; 63]);
        long.extend(b"\x03com\x00");
        assert!(long.len() > INLINE_QNAME);
        let mut pairing = Pairing::new(5 * SECOND, 100);
        let long_key = PairKey {
            qname: &long[..],
            ..key(1)
        };
        pairing.add_query(&long_key, query(0));
        assert_eq!(pairing.take_query(&key(1), SECOND), None);
        assert_eq!(pairing.take_query(&long_key, SECOND), Some(query(0)));
    }

    #[test]
    fn a_late_response_does_not_pair_and_the_query_counts_as_expired() {
        let mut pairing = Pairing::new(5 * SECOND, 100);
        pairing.add_query(&key(1), query(0));
        assert_eq!(pairing.take_query(&key(1), 6 * SECOND), None);
        assert_eq!(pairing.expired(), 1);
    }

    #[test]
    fn expiry_follows_packet_time() {
        let mut pairing = Pairing::new(5 * SECOND, 100);
        pairing.add_query(&key(1), query(0));
        pairing.add_query(&key(2), query(10 * SECOND));
        assert_eq!(pairing.expired(), 1);
        assert_eq!(pairing.outstanding(), 1);
    }

    #[test]
    fn the_table_bound_refuses_new_queries() {
        let mut pairing = Pairing::new(5 * SECOND, 2);
        pairing.add_query(&key(1), query(0));
        pairing.add_query(&key(2), query(0));
        assert_eq!(
            pairing.add_query(&key(3), query(1)),
            QueryOutcome::OverLimit
        );
        assert_eq!(
            pairing.add_query(&key(2), query(1)),
            QueryOutcome::Duplicate
        );
    }

    #[test]
    fn finish_counts_outstanding_queries_as_unanswered() {
        let mut pairing = Pairing::new(5 * SECOND, 10);
        pairing.add_query(&key(1), query(0));
        pairing.finish();
        assert_eq!((pairing.expired(), pairing.outstanding()), (1, 0));
    }
}
