//! Valid inputs for every target, the starting points of the mutation runs: real traffic
//! from the testbed capture, and synthetic inputs for what it lacks (rare rdata types,
//! fragments, TCP, pcapng, gzip).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::OnceLock;

use dnsledger_capture::link::LINKTYPE_RAW;
use dnsledger_capture::testutil::{
    fragment_ipv4, fragment_ipv6, gzip, length_prefixed, tcp_packet, udp_packet, OwnedPayload,
    PcapBuilder, PcapNgBuilder, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN,
};
use dnsledger_capture::{CaptureReader, Decoder, DecoderConfig};
use dnsledger_fuzz::encode_frame;
use dnsledger_wire::{rtype, MessageBuilder, NameBuf, Section};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/testbed/run3_attack.resolver_auth.pcap.gz"
);
/// Frames read from the fixture: enough for a few hundred exchanges.
const FIXTURE_FRAMES: usize = 600;
/// Frames per frame-level seed: small inputs mutate into more distinct cases per second.
const FRAMES_PER_SEED: usize = 6;
const EXCHANGES_PER_SEED: usize = 3;
const NANOS: i64 = 1_000_000_000;

/// The first frames of the testbed capture and the payloads they decode to.
struct Fixture {
    frames: Vec<(u16, Vec<u8>)>,
    payloads: Vec<OwnedPayload>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE_DATA: OnceLock<Fixture> = OnceLock::new();
    FIXTURE_DATA.get_or_init(load_fixture)
}

fn load_fixture() -> Fixture {
    let mut reader = CaptureReader::open(Path::new(FIXTURE)).expect("the testbed capture opens");
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut fixture = Fixture {
        frames: Vec::new(),
        payloads: Vec::new(),
    };
    while fixture.frames.len() < FIXTURE_FRAMES {
        let Some(frame) = reader.next_frame().expect("the testbed capture reads") else {
            break;
        };
        decoder.decode(&frame, &mut |p| {
            fixture.payloads.push(OwnedPayload::from(p))
        });
        fixture.frames.push((frame.link_type, frame.data.to_vec()));
    }
    assert!(
        fixture.payloads.len() > 100,
        "the testbed capture holds DNS"
    );
    fixture
}

/// `wire_message`: real messages, plus one response per rdata layout the capture lacks.
pub fn wire() -> Vec<Vec<u8>> {
    let real = fixture().payloads.iter().map(|p| p.data.clone());
    real.chain(built_messages()).collect()
}

/// Responses whose single answer exercises a layout: compressed names in rdata, character
/// strings, SVCB parameters, LOC, APL, IPSECKEY, HIP.
fn built_messages() -> Vec<Vec<u8>> {
    let owner = NameBuf::from_text("Www.Example.COM.").expect("a valid name");
    let rdatas: [(u16, &[u8]); 10] = [
        (rtype::MX, b"\x00\x0a\x04MAIL\xc0\x0c"),
        (rtype::SRV, b"\x00\x01\x00\x02\x00\x35\x03ns1\xc0\x10"),
        (
            rtype::SOA,
            b"\x02ns\xc0\x0c\x00\x00\x00\x00\x01\x00\x00\x0e\x10\
              \x00\x00\x02\x58\x00\x09\x3a\x80\x00\x00\x01\x2c",
        ),
        (rtype::TXT, b"\x05hello\x00\x04a\"\\b"),
        (
            rtype::NAPTR,
            b"\x00\x0a\x00\x64\x01S\x07SIP+D2U\x00\x04_sip\x04_udp\xc0\x10",
        ),
        (
            rtype::HTTPS,
            b"\x00\x01\x00\x00\x01\x00\x03\x02h2\x00\x04\x00\x04\xc0\x00\x02\x01",
        ),
        (
            rtype::LOC,
            b"\x00\x12\x16\x13\x88\x97\x34\x70\x70\xbe\x15\xf0\x00\x98\x8d\x20",
        ),
        (
            rtype::APL,
            b"\x00\x01\x18\x03\xc0\x00\x02\x00\x02\x40\x82\x20\x01",
        ),
        (
            rtype::IPSECKEY,
            b"\x0a\x01\x02\xc0\x00\x02\x01\x01\x03\x01\x00\x01",
        ),
        (
            rtype::HIP,
            b"\x04\x02\x00\x03\xde\xad\xbe\xef\x01\x02\x03\x03rvs\x07example\x00",
        ),
    ];
    rdatas
        .iter()
        .map(|&(rtype, rdata)| {
            MessageBuilder::query(1, &owner, rtype)
                .response()
                .record(Section::Answer, &owner, rtype, 300, rdata)
                .build()
        })
        .collect()
}

/// `sensor_messages`: real query/response exchanges, a few per input.
pub fn messages() -> Vec<Vec<u8>> {
    let exchanges = exchanges(&fixture().payloads);
    exchanges
        .chunks(EXCHANGES_PER_SEED)
        .map(|chunk| {
            let framed = chunk
                .iter()
                .flat_map(|(q, r)| [length_prefixed(q), length_prefixed(r)]);
            framed.flatten().collect()
        })
        .collect()
}

/// Queries with the response that answered them (same endpoints and DNS id), in order.
fn exchanges(payloads: &[OwnedPayload]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let id = |data: &[u8]| data.get(..2).map(<[u8]>::to_vec);
    let mut outstanding = HashMap::new();
    let mut exchanges = Vec::new();
    for p in payloads {
        if p.dst_port == 53 {
            outstanding.insert((p.src, p.src_port, p.dst, id(&p.data)), &p.data);
        } else if let Some(query) = outstanding.remove(&(p.dst, p.dst_port, p.src, id(&p.data))) {
            exchanges.push((query.clone(), p.data.clone()));
        }
    }
    assert!(exchanges.len() > 10, "the testbed capture holds exchanges");
    exchanges
}

/// `decoder_frames`: windows of real frames, plus fragmented UDP and a TCP exchange with an
/// out-of-order segment over raw IP.
pub fn frames() -> Vec<Vec<u8>> {
    let real = fixture().frames.chunks(FRAMES_PER_SEED).map(|chunk| {
        let mut seed = Vec::new();
        for (link_type, data) in chunk {
            assert!(
                encode_frame(*link_type, data, &mut seed),
                "link type {link_type}"
            );
        }
        seed
    });
    let (query, response) = exchanges(&fixture().payloads).swap_remove(0);
    let synthetic = [
        fragmented_udp(&response, false),
        fragmented_udp(&response, true),
        tcp_exchange(&query, &response),
    ];
    real.chain(synthetic.into_iter().map(|packets| encode_raw_ip(&packets)))
        .collect()
}

fn encode_raw_ip(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut seed = Vec::new();
    for packet in packets {
        assert!(encode_frame(LINKTYPE_RAW, packet, &mut seed));
    }
    seed
}

/// A response from port 53 in 24-byte fragments, last fragment first.
fn fragmented_udp(message: &[u8], v6: bool) -> Vec<Vec<u8>> {
    let mut fragments = if v6 {
        let (server, client) = (
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 53),
            Ipv6Addr::LOCALHOST,
        );
        let packet = udp_packet(server.into(), client.into(), 53, 40_000, message);
        fragment_ipv6(&packet, 24, 7)
    } else {
        let (server, client) = (Ipv4Addr::new(198, 41, 0, 4), Ipv4Addr::new(192, 0, 2, 1));
        let packet = udp_packet(server.into(), client.into(), 53, 40_000, message);
        fragment_ipv4(&packet, 24, 7)
    };
    fragments.reverse();
    fragments
}

/// Both directions of a DNS-over-TCP exchange: handshake, the query in two segments sent
/// out of order, the response, FIN.
fn tcp_exchange(query: &[u8], response: &[u8]) -> Vec<Vec<u8>> {
    let client = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let server = IpAddr::V4(Ipv4Addr::new(198, 41, 0, 4));
    let (c_isn, s_isn) = (1_000u32, 9_000u32);
    let to_server = |seq: u32, flags: u8, data: &[u8]| {
        tcp_packet(client, server, 40_000, 53, seq, s_isn + 1, flags, data)
    };
    let to_client = |seq: u32, flags: u8, data: &[u8]| {
        tcp_packet(server, client, 53, 40_000, seq, c_isn + 1, flags, data)
    };
    let framed_query = length_prefixed(query);
    let (head, tail) = framed_query.split_at(framed_query.len() / 2);
    let framed_response = length_prefixed(response);
    let query_end = c_isn + 1 + framed_query.len() as u32;
    vec![
        to_server(c_isn, TCP_SYN, &[]),
        to_client(s_isn, TCP_SYN | TCP_ACK, &[]),
        to_server(c_isn + 1 + head.len() as u32, TCP_ACK | TCP_PSH, tail),
        to_server(c_isn + 1, TCP_ACK | TCP_PSH, head),
        to_client(s_isn + 1, TCP_ACK | TCP_PSH, &framed_response),
        to_server(query_end, TCP_ACK | TCP_FIN, &[]),
        to_client(
            s_isn + 1 + framed_response.len() as u32,
            TCP_ACK | TCP_FIN,
            &[],
        ),
    ]
}

/// `capture_file`: the same real frames as pcap in both byte orders and resolutions, as
/// pcapng with two interfaces and every packet block type, and gzip-compressed.
pub fn captures() -> Vec<Vec<u8>> {
    let frames = &fixture().frames;
    let pcaps = frames
        .chunks(FRAMES_PER_SEED)
        .take(8)
        .enumerate()
        .map(|(i, chunk)| {
            let (big_endian, nanos) = (i % 2 == 1, i % 4 >= 2);
            let mut pcap = PcapBuilder::new(u32::from(chunk[0].0), big_endian, nanos);
            for (n, (_, data)) in chunk.iter().enumerate() {
                pcap.packet((1_700_000_000 + n as i64) * NANOS, data);
            }
            pcap.bytes()
        });
    let mut seeds: Vec<Vec<u8>> = pcaps.collect();
    seeds.push(pcapng(&frames[..FRAMES_PER_SEED]));
    seeds.push(gzip(&seeds[0]));
    seeds
}

fn pcapng(frames: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut ng = PcapNgBuilder::new(false);
    let link_type = frames[0].0;
    ng.interface(link_type, 262_144, None, None);
    ng.interface(link_type, 262_144, Some(9), Some(1_700_000_000));
    for (n, (_, data)) in frames.iter().enumerate() {
        let len = data.len() as u32;
        match n % 3 {
            0 => ng.epb(1, n as u64 * 1_000_000, data, len),
            1 => ng.pb(0, 1_700_000_000_000_000 + n as u64, data, len),
            _ => ng.spb(data, len),
        };
    }
    ng.bytes()
}
