//! Puts query/response exchanges on the wire: picks the transport behaviour (plain UDP, TCP,
//! truncation and TCP retry, loss and retry, late duplicate), builds the frames, keeps them
//! in time order across concurrent exchanges, and stops at an exact packet count.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};
use std::net::IpAddr;

use dnsledger_capture::testutil::{
    eth_ip, length_prefixed, tcp_packet, udp_packet, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN,
};

use crate::pcap::PcapWriter;
use crate::rng::Rng;

const DNS_PORT: u16 = 53;
const MICROS: i64 = 1000;
const MILLIS: i64 = 1_000_000;
/// Unbound's first retransmission timeout: when a lost query is sent again.
const RETRY_AFTER: i64 = 376 * MILLIS;

/// Per mille of exchanges with each special behaviour; the rest are plain UDP.
const TCP_PER_MILLE: u64 = 25;
const TRUNCATED_PER_MILLE: u64 = 10;
const LOST_PER_MILLE: u64 = 5;
const LATE_DUPLICATE_PER_MILLE: u64 = 3;
/// Share of TCP responses sent as two segments.
const SPLIT_PER_MILLE: u64 = 300;
/// Linux's default ephemeral port range, which TCP connections take in turn.
const TCP_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

/// One question and its answer between the resolver and a server.
pub struct Exchange<'a> {
    /// When the resolver sends the query.
    pub at: i64,
    pub client: IpAddr,
    pub server: IpAddr,
    pub rtt_nanos: i64,
    /// Query and response messages; their ids are overwritten per transmission.
    pub query: &'a [u8],
    pub response: &'a [u8],
}

/// How an exchange travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    Udp,
    Tcp {
        split: bool,
    },
    /// A TC=1 UDP response, then the exchange again over TCP.
    Truncated {
        split: bool,
    },
    /// The query gets no answer; the resolver asks again after its timeout.
    Lost,
    /// The response arrives, and a copy of it much later.
    LateDuplicate,
    /// Only the query: the last packet of a capture whose packet count is odd.
    QueryOnly,
}

impl Delivery {
    fn packets(self) -> u64 {
        match self {
            Delivery::Udp => 2,
            Delivery::Tcp { split } => 8 + u64::from(split),
            Delivery::Truncated { split } => 2 + 8 + u64::from(split),
            Delivery::Lost | Delivery::LateDuplicate => 3,
            Delivery::QueryOnly => 1,
        }
    }
}

/// What was put on the wire, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrafficCounts {
    pub exchanges: u64,
    /// Response messages sent (each TCP, UDP, truncated and duplicate response counts).
    pub responses: u64,
    pub tcp: u64,
    pub truncated: u64,
    pub lost: u64,
    pub late_duplicates: u64,
    /// Queries never answered: the capture ended after them.
    pub unanswered: u64,
}

/// What a finished capture holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSummary {
    pub packets: u64,
    /// File size.
    pub bytes: u64,
    /// Packet time from the first to the last packet.
    pub duration_nanos: i64,
    pub traffic: TrafficCounts,
}

impl std::fmt::Display for CaptureSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.traffic;
        write!(
            f,
            "{} packets, {} bytes, {:.1} s of traffic; {} exchanges ({} TCP, {} truncated, \
             {} lost and retried, {} late duplicates), {} responses",
            self.packets,
            self.bytes,
            self.duration_nanos as f64 / 1e9,
            t.exchanges,
            t.tcp,
            t.truncated,
            t.lost,
            t.late_duplicates,
            t.responses,
        )
    }
}

/// A frame waiting for its time; ties keep scheduling order.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    ts: i64,
    order: u64,
    frame: Vec<u8>,
}

pub struct ExchangeWriter<W: Write> {
    pcap: PcapWriter<W>,
    pending: BinaryHeap<Reverse<Scheduled>>,
    scheduled: u64,
    budget: u64,
    rng: Rng,
    counts: TrafficCounts,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    /// The next TCP source port.
    tcp_port: u16,
}

impl<W: Write> ExchangeWriter<W> {
    /// A writer that schedules exactly `packets` packets; `rng` drives transport choices.
    pub fn new(pcap: PcapWriter<W>, packets: u64, mut rng: Rng) -> ExchangeWriter<W> {
        let tcp_port =
            rng.between(u64::from(*TCP_PORTS.start()), u64::from(*TCP_PORTS.end())) as u16;
        ExchangeWriter {
            pcap,
            pending: BinaryHeap::new(),
            scheduled: 0,
            budget: packets,
            rng,
            counts: TrafficCounts::default(),
            first_ts: None,
            last_ts: None,
            tcp_port,
        }
    }

    pub fn counts(&self) -> &TrafficCounts {
        &self.counts
    }

    /// Schedules one exchange. Returns when the resolver holds the answer, or `None` when
    /// the packet budget ran out (then only the query went out, or nothing did).
    pub fn exchange(&mut self, exchange: &Exchange<'_>) -> Option<i64> {
        if self.budget == 0 {
            return None;
        }
        let wanted = self.choose();
        let delivery = self.fit(wanted);
        self.budget -= delivery.packets();
        self.counts.exchanges += 1;
        let mut flow = Flow::new(exchange, &mut self.rng);
        match delivery {
            Delivery::Udp => Some(self.udp(&mut flow, exchange.at)),
            Delivery::Tcp { split } => Some(self.tcp(&mut flow, exchange.at, split)),
            Delivery::Truncated { split } => Some(self.truncated(&mut flow, split)),
            Delivery::Lost => Some(self.lost(&mut flow)),
            Delivery::LateDuplicate => Some(self.late_duplicate(&mut flow)),
            Delivery::QueryOnly => {
                self.counts.unanswered += 1;
                flow.query_udp(self, exchange.at);
                None
            }
        }
    }

    fn choose(&mut self) -> Delivery {
        let split = self.rng.per_mille(SPLIT_PER_MILLE);
        let special =
            TCP_PER_MILLE + TRUNCATED_PER_MILLE + LOST_PER_MILLE + LATE_DUPLICATE_PER_MILLE;
        let mix = [
            (Delivery::Tcp { split }, TCP_PER_MILLE),
            (Delivery::Truncated { split }, TRUNCATED_PER_MILLE),
            (Delivery::Lost, LOST_PER_MILLE),
            (Delivery::LateDuplicate, LATE_DUPLICATE_PER_MILLE),
            (Delivery::Udp, 1000 - special),
        ];
        mix[self.rng.weighted(mix.iter().map(|&(_, share)| share))].0
    }

    /// The chosen delivery if it fits the remaining budget, else the largest that does.
    fn fit(&self, wanted: Delivery) -> Delivery {
        match self.budget {
            b if b >= wanted.packets() => wanted,
            b if b >= Delivery::Udp.packets() => Delivery::Udp,
            _ => Delivery::QueryOnly,
        }
    }

    fn udp(&mut self, flow: &mut Flow<'_>, at: i64) -> i64 {
        flow.query_udp(self, at);
        let done = at + flow.rtt;
        flow.response_udp(self, done, flow.exchange.response);
        done
    }

    fn lost(&mut self, flow: &mut Flow<'_>) -> i64 {
        self.counts.lost += 1;
        let at = flow.exchange.at;
        flow.query_udp(self, at);
        flow.renew(&mut self.rng);
        self.udp(flow, at + RETRY_AFTER)
    }

    fn late_duplicate(&mut self, flow: &mut Flow<'_>) -> i64 {
        self.counts.late_duplicates += 1;
        let done = self.udp(flow, flow.exchange.at);
        let late = done + self.rng.between(100, 400) as i64 * MILLIS;
        flow.response_udp(self, late, flow.exchange.response);
        done
    }

    fn truncated(&mut self, flow: &mut Flow<'_>, split: bool) -> i64 {
        self.counts.truncated += 1;
        let at = flow.exchange.at;
        flow.query_udp(self, at);
        let truncated = truncate(flow.exchange.response);
        flow.response_udp(self, at + flow.rtt, &truncated);
        flow.renew(&mut self.rng);
        self.tcp(flow, at + flow.rtt + 50 * MICROS, split)
    }

    /// Handshake, length-prefixed query, response (one or two segments), both FINs.
    fn tcp(&mut self, flow: &mut Flow<'_>, at: i64, split: bool) -> i64 {
        use Side::{Client, Server};
        self.counts.tcp += 1;
        self.counts.responses += 1;
        flow.port = self.next_tcp_port();
        let rtt = flow.rtt;
        let query = length_prefixed(&flow.query);
        let response = length_prefixed(&flow.response);
        let cut = match split {
            true => 2 + self.rng.below(response.len() as u64 - 2) as usize,
            false => response.len(),
        };
        let mut conn = Connection::new(flow, &mut self.rng);
        conn.send(self, Client, at, TCP_SYN, &[]);
        conn.send(self, Server, at + rtt, TCP_SYN | TCP_ACK, &[]);
        let sent = at + rtt + 20 * MICROS;
        conn.send(self, Client, sent, TCP_ACK, &[]);
        conn.send(self, Client, sent + 10 * MICROS, TCP_PSH | TCP_ACK, &query);
        let mut done = sent + rtt + 10 * MICROS;
        conn.send(self, Server, done, TCP_PSH | TCP_ACK, &response[..cut]);
        if cut < response.len() {
            done += 30 * MICROS;
            conn.send(self, Server, done, TCP_PSH | TCP_ACK, &response[cut..]);
        }
        // The resolver closes first, as resolvers do once they have their answer.
        let closing = done + 100 * MICROS;
        conn.send(self, Client, closing, TCP_FIN | TCP_ACK, &[]);
        conn.send(self, Server, closing + rtt, TCP_FIN | TCP_ACK, &[]);
        conn.send(self, Client, closing + rtt + 20 * MICROS, TCP_ACK, &[]);
        done
    }

    /// Ports are taken in turn, as the kernel does, rather than at random: a random port
    /// could repeat a connection to the same server that is still open (or lingering in
    /// the sensor's TCP table), which no real host does.
    fn next_tcp_port(&mut self) -> u16 {
        let port = self.tcp_port;
        self.tcp_port = match port < *TCP_PORTS.end() {
            true => port + 1,
            false => *TCP_PORTS.start(),
        };
        port
    }

    fn schedule(&mut self, ts: i64, frame: Vec<u8>) {
        self.scheduled += 1;
        self.pending.push(Reverse(Scheduled {
            ts,
            order: self.scheduled,
            frame,
        }));
    }

    /// Writes every frame due at or before `ts`. Callers promise that nothing scheduled
    /// later starts before `ts`, which keeps the file in time order.
    pub fn release_until(&mut self, ts: i64) -> io::Result<()> {
        while let Some(Reverse(next)) = self.pending.peek() {
            if next.ts > ts {
                break;
            }
            let Some(Reverse(next)) = self.pending.pop() else {
                break;
            };
            self.pcap.packet(next.ts, &next.frame)?;
            self.first_ts.get_or_insert(next.ts);
            self.last_ts = Some(next.ts);
        }
        Ok(())
    }

    /// Writes what is still pending; returns the output and what it holds.
    pub fn finish(mut self) -> io::Result<(W, CaptureSummary)> {
        self.release_until(i64::MAX)?;
        let summary = CaptureSummary {
            packets: self.pcap.packets(),
            bytes: self.pcap.bytes(),
            duration_nanos: self.last_ts.zip(self.first_ts).map_or(0, |(l, f)| l - f),
            traffic: self.counts,
        };
        Ok((self.pcap.finish()?, summary))
    }
}

/// One transmission's endpoints, ids and messages (the id patched in).
struct Flow<'a> {
    exchange: &'a Exchange<'a>,
    rtt: i64,
    port: u16,
    query: Vec<u8>,
    response: Vec<u8>,
}

impl<'a> Flow<'a> {
    fn new(exchange: &'a Exchange<'a>, rng: &mut Rng) -> Flow<'a> {
        let mut flow = Flow {
            exchange,
            // Every exchange sees the server's RTT give or take 10%.
            rtt: exchange.rtt_nanos * (90 + rng.below(21) as i64) / 100,
            port: 0,
            query: exchange.query.to_vec(),
            response: exchange.response.to_vec(),
        };
        flow.renew(rng);
        flow
    }

    /// A new source port and DNS id, as for a retransmission.
    fn renew(&mut self, rng: &mut Rng) {
        self.port = rng.between(1024, 65535) as u16;
        let id = (rng.next_u64() as u16).to_be_bytes();
        self.query[..2].copy_from_slice(&id);
        self.response[..2].copy_from_slice(&id);
    }

    fn query_udp<W: Write>(&self, writer: &mut ExchangeWriter<W>, at: i64) {
        let (c, s) = (self.exchange.client, self.exchange.server);
        writer.schedule(
            at,
            eth_ip(&udp_packet(c, s, self.port, DNS_PORT, &self.query)),
        );
    }

    /// A response datagram; `message` is the full response or a truncated one, with this
    /// flow's id put in.
    fn response_udp<W: Write>(&self, writer: &mut ExchangeWriter<W>, at: i64, message: &[u8]) {
        writer.counts.responses += 1;
        let mut message = message.to_vec();
        message[..2].copy_from_slice(&self.query[..2]);
        let (c, s) = (self.exchange.client, self.exchange.server);
        writer.schedule(at, eth_ip(&udp_packet(s, c, DNS_PORT, self.port, &message)));
    }
}

/// One TCP connection of a flow: each side's next sequence number, advanced by what it
/// sends (SYN and FIN count one), and acknowledged by the other side's next segments.
struct Connection<'f, 'a> {
    flow: &'f Flow<'a>,
    client_next: u32,
    server_next: u32,
}

impl<'f, 'a> Connection<'f, 'a> {
    fn new(flow: &'f Flow<'a>, rng: &mut Rng) -> Connection<'f, 'a> {
        Connection {
            flow,
            client_next: rng.next_u64() as u32,
            server_next: rng.next_u64() as u32,
        }
    }

    /// Sends one segment from `from` to the other side.
    fn send<W: Write>(
        &mut self,
        writer: &mut ExchangeWriter<W>,
        from: Side,
        at: i64,
        flags: u8,
        payload: &[u8],
    ) {
        let client = (self.flow.exchange.client, self.flow.port);
        let server = (self.flow.exchange.server, DNS_PORT);
        let ((src, sport), (dst, dport), next, other_next) = match from {
            Side::Client => (client, server, &mut self.client_next, self.server_next),
            Side::Server => (server, client, &mut self.server_next, self.client_next),
        };
        let (seq, ack) = (*next, ack_field(flags, other_next));
        let packet = tcp_packet(src, dst, sport, dport, seq, ack, flags, payload);
        *next = advance(seq, flags, payload);
        writer.schedule(at, eth_ip(&packet));
    }
}

/// The end of a TCP connection a segment comes from.
#[derive(Clone, Copy)]
enum Side {
    Client,
    Server,
}

/// The acknowledgement number field: the other side's next sequence number once ACK is set.
fn ack_field(flags: u8, other_next: u32) -> u32 {
    match flags & TCP_ACK {
        0 => 0,
        _ => other_next,
    }
}

/// The sequence number after a segment.
fn advance(seq: u32, flags: u8, payload: &[u8]) -> u32 {
    let control = u32::from(flags & (TCP_SYN | TCP_FIN) != 0);
    seq.wrapping_add(payload.len() as u32 + control)
}

/// What a server sends when the response does not fit: the header with TC=1 and no
/// records, and the question.
fn truncate(response: &[u8]) -> Vec<u8> {
    let question_end = question_end(response);
    let mut out = response[..question_end].to_vec();
    out[2] |= 0x02; // TC
    out[6..12].fill(0); // no answer, authority or additional records
    out
}

/// The end of the (uncompressed) question of a message this crate built.
fn question_end(message: &[u8]) -> usize {
    let mut pos = 12;
    while message[pos] != 0 {
        pos += 1 + usize::from(message[pos]);
    }
    pos + 1 + 4
}
