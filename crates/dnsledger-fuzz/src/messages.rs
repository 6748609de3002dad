//! Target `sensor_messages`: the bytes are DNS messages, fed to the sensor as exchanges
//! between one client and one server, so that pairing, hardening, bailiwick and aggregation
//! run on every input rather than only on those that survive capture decoding.
//!
//! Input format, one record after another to the end of the input: `length: u16,
//! big-endian | message: [u8; length]` (the DNS-over-TCP framing); a last record shorter
//! than its length takes what is left.

use std::net::{IpAddr, Ipv4Addr};

use dnsledger_capture::{ChecksumStatus, DnsPayload, Transport};

use crate::input::take_record;
use crate::pipeline;

const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const CLIENT_PORT: u16 = 40_000;
/// a.root-servers.net: the default root hints trust it for `.`, so its responses have a
/// bailiwick, and NS and glue records naming it teach the sensor deeper zones.
const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 41, 0, 4));
const DNS_PORT: u16 = 53;

/// Packet time between messages: ten messages outlast the fuzz sensor's pairing timeout,
/// a hundred its flush interval.
const STEP_NANOS: i64 = 10_000_000;
/// Packet time of the first message (2023-11-14).
const START_NANOS: i64 = 1_700_000_000 * 1_000_000_000;

/// Feeds the messages in `data` to a sensor: the 1st, 3rd... as queries from the client to
/// the server, the 2nd, 4th... as the server's responses; then ends the input.
pub fn sensor_messages(data: &[u8]) {
    let mut sensor = pipeline::sensor();
    let mut rest = data;
    let mut ts_nanos = START_NANOS;
    let mut query = true;
    while let Some((message, after)) = take_record(rest) {
        pipeline::handle(&mut sensor, &payload(message, query, ts_nanos));
        (rest, query) = (after, !query);
        ts_nanos += STEP_NANOS;
    }
    pipeline::finish(sensor);
}

fn payload(data: &[u8], query: bool, ts_nanos: i64) -> DnsPayload<'_> {
    let (src, src_port, dst, dst_port) = match query {
        true => (CLIENT, CLIENT_PORT, SERVER, DNS_PORT),
        false => (SERVER, DNS_PORT, CLIENT, CLIENT_PORT),
    };
    DnsPayload {
        ts_nanos,
        transport: Transport::Udp,
        src,
        dst,
        src_port,
        dst_port,
        udp_checksum: ChecksumStatus::Valid,
        data,
    }
}
