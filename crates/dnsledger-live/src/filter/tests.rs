//! The filter programs run in a classic BPF interpreter written from the kernel's semantics
//! (net/core/filter.c): loads past the end of the frame drop it, jumps are relative to the
//! next instruction, `ret` gives the bytes to keep.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dnsledger_capture::testutil::{
    dns_message, eth_ip, ethernet, ethernet_vlan, ethertype_of, fragment_ipv4, fragment_ipv6, ipv4,
    tcp_packet, udp, udp_packet, TCP_ACK, TCP_PSH,
};

use super::*;

const PACKET_HOST: u32 = 0;
/// Classic BPF programs are at most this long (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

/// Runs `program` on `frame` whose packet type is `pkttype`; the bytes to keep (0 = drop).
fn run(program: &[Insn], frame: &[u8], pkttype: u32) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut pc = 0;
    loop {
        let insn = program[pc];
        pc += 1;
        match insn.code & 0x07 {
            class @ (BPF_LD | BPF_LDX) => {
                let value = match (insn.code & 0xe0, insn.k) {
                    (BPF_IMM, k) => Some(k),
                    (BPF_ABS, LOAD_PKTTYPE) => Some(pkttype),
                    (BPF_ABS, k) => load(frame, k as usize, insn.code & 0x18),
                    (BPF_IND, k) => load(frame, x as usize + k as usize, insn.code & 0x18),
                    (mode, _) => panic!("load mode {mode:#x} is not used by the filter"),
                };
                let Some(value) = value else { return 0 };
                match class {
                    BPF_LD => a = value,
                    _ => x = value,
                }
            }
            BPF_ALU => {
                let operand = if insn.code & BPF_X != 0 { x } else { insn.k };
                a = match insn.code & 0xf0 {
                    BPF_ADD => a.wrapping_add(operand),
                    BPF_AND => a & operand,
                    BPF_LSH => a << operand,
                    BPF_RSH => a >> operand,
                    op => panic!("ALU operation {op:#x} is not used by the filter"),
                };
            }
            BPF_JMP => {
                let taken = match insn.code & 0xf0 {
                    BPF_JA => {
                        pc += insn.k as usize;
                        continue;
                    }
                    BPF_JEQ => a == insn.k,
                    BPF_JSET => a & insn.k != 0,
                    op => panic!("jump {op:#x} is not used by the filter"),
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            BPF_RET => return insn.k,
            BPF_MISC => match insn.code & 0xf8 {
                BPF_TAX => x = a,
                BPF_TXA => a = x,
                op => panic!("misc operation {op:#x} is not used by the filter"),
            },
            class => panic!("instruction class {class} is not used by the filter"),
        }
    }
}

/// A big-endian load of the size in `size` bits of the opcode; `None` past the end.
fn load(frame: &[u8], at: usize, size: u16) -> Option<u32> {
    let len = match size {
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    };
    let bytes = frame.get(at..at.checked_add(len)?)?;
    Some(bytes.iter().fold(0, |acc, b| acc << 8 | u32::from(*b)))
}

/// What the kernel's checker insists on: bounded length, every jump inside the program,
/// and a `ret` at the end.
fn assert_valid(program: &[Insn]) {
    assert!(!program.is_empty() && program.len() <= MAX_INSNS);
    for (at, insn) in program.iter().enumerate() {
        if insn.code & 0x07 == BPF_JMP {
            let reach = if insn.code & 0xf0 == BPF_JA {
                insn.k as usize
            } else {
                usize::from(insn.jt.max(insn.jf))
            };
            assert!(
                at + 1 + reach < program.len(),
                "jump out of the program at {at}"
            );
        }
    }
    assert_eq!(program.last().unwrap().code & 0x07, BPF_RET);
}

fn dns_program(link: Link) -> Vec<Insn> {
    let program = program(Some(&[53]), link).unwrap();
    assert_valid(&program);
    program
}

fn passes(program: &[Insn], frame: &[u8]) -> bool {
    run(program, frame, PACKET_HOST) > 0
}

const V4_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const V4_SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 53));
const V6_CLIENT: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
const V6_SERVER: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53));

/// The IP packets of one exchange on `client_port` <-> `server_port`, over UDP and TCP,
/// in both directions, for both address families.
fn exchanges(client_port: u16, server_port: u16) -> Vec<Vec<u8>> {
    let query = dns_message(7, false, 30);
    let response = dns_message(7, true, 120);
    let mut packets = Vec::new();
    for (client, server) in [(V4_CLIENT, V4_SERVER), (V6_CLIENT, V6_SERVER)] {
        packets.push(udp_packet(client, server, client_port, server_port, &query));
        packets.push(udp_packet(
            server,
            client,
            server_port,
            client_port,
            &response,
        ));
        let flags = TCP_ACK | TCP_PSH;
        packets.push(tcp_packet(
            client,
            server,
            client_port,
            server_port,
            1,
            1,
            flags,
            &query,
        ));
        packets.push(tcp_packet(
            server,
            client,
            server_port,
            client_port,
            1,
            1,
            flags,
            &response,
        ));
    }
    packets
}

#[test]
fn dns_over_udp_and_tcp_passes_in_both_directions_over_ipv4_and_ipv6() {
    let program = dns_program(Link::Ethernet);
    for packet in exchanges(40_000, 53) {
        assert!(passes(&program, &eth_ip(&packet)), "{packet:02x?}");
        assert_eq!(run(&program, &eth_ip(&packet), PACKET_HOST), u32::MAX);
    }
}

#[test]
fn other_ports_and_other_protocols_do_not_pass() {
    let program = dns_program(Link::Ethernet);
    for packet in exchanges(40_000, 123) {
        assert!(!passes(&program, &eth_ip(&packet)));
    }
    let icmp = ipv4(
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 2),
        1,
        &[8; 40],
    );
    assert!(!passes(&program, &eth_ip(&icmp)));
    let arp = ethernet(0x0806, &[0; 28]);
    assert!(!passes(&program, &arp));
}

#[test]
fn fragments_pass_where_the_ports_cannot_be_seen() {
    let program = dns_program(Link::Ethernet);
    let big = dns_message(9, true, 3000);
    let v4 = udp_packet(V4_SERVER, V4_CLIENT, 53, 40_000, &big);
    for fragment in fragment_ipv4(&v4, 1400, 77) {
        assert!(passes(&program, &eth_ip(&fragment)));
    }
    // A later fragment of any datagram passes: it carries no ports to test.
    let ntp = udp_packet(V4_SERVER, V4_CLIENT, 123, 40_000, &[0; 3000]);
    let fragments = fragment_ipv4(&ntp, 1400, 78);
    assert!(!passes(&program, &eth_ip(&fragments[0])));
    assert!(passes(&program, &eth_ip(&fragments[1])));
    let v6 = udp_packet(V6_SERVER, V6_CLIENT, 53, 40_000, &big);
    for fragment in fragment_ipv6(&v6, 1400, 79) {
        assert!(passes(&program, &eth_ip(&fragment)));
    }
}

#[test]
fn ipv4_options_move_the_ports() {
    let program = dns_program(Link::Ethernet);
    let datagram = udp(V4_CLIENT, V4_SERVER, 40_000, 53, &dns_message(1, false, 20));
    let mut packet = ipv4(
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(198, 51, 100, 53),
        17,
        &[],
    );
    packet[0] = 0x46; // IHL 6: one word of options (NOPs)
    packet.extend_from_slice(&[1, 1, 1, 1]);
    packet.extend_from_slice(&datagram);
    assert!(passes(&program, &eth_ip(&packet)));
    packet[24 + 2..24 + 4].copy_from_slice(&123u16.to_be_bytes());
    assert!(!passes(&program, &eth_ip(&packet)));
}

#[test]
fn vlan_tags_left_in_the_frame_are_skipped() {
    let program = dns_program(Link::Ethernet);
    for (port, pass) in [(53, true), (123, false)] {
        for packet in exchanges(40_000, port) {
            let ethertype = ethertype_of(&packet);
            let one = ethernet_vlan(&[(0x8100, 10)], ethertype, &packet);
            let two = ethernet_vlan(&[(0x88a8, 10), (0x8100, 20)], ethertype, &packet);
            assert_eq!(passes(&program, &one), pass);
            assert_eq!(passes(&program, &two), pass);
        }
    }
}

#[test]
fn loopback_keeps_the_incoming_copy_only() {
    let program = dns_program(Link::Loopback);
    let frame = eth_ip(&exchanges(40_000, 53)[0]);
    assert!(run(&program, &frame, PACKET_HOST) > 0);
    assert_eq!(run(&program, &frame, PACKET_OUTGOING), 0);
    // On other interfaces what this host sends is traffic like any other.
    assert!(run(&dns_program(Link::Ethernet), &frame, PACKET_OUTGOING) > 0);
}

#[test]
fn raw_ip_links_have_no_header() {
    let program = dns_program(Link::RawIp);
    for packet in exchanges(40_000, 53) {
        assert!(passes(&program, &packet));
    }
    for packet in exchanges(40_000, 123) {
        assert!(!passes(&program, &packet));
    }
    assert!(!passes(&program, &[0x50; 40]));
}

#[test]
fn truncated_frames_do_not_pass() {
    let program = dns_program(Link::Ethernet);
    let frame = eth_ip(&exchanges(40_000, 53)[1]);
    for len in [0, 13, 14, 20, 14 + 20 + 1] {
        assert!(!passes(&program, &frame[..len]), "cut at {len}");
    }
}

#[test]
fn a_port_filter_tests_its_ports_instead() {
    let Ok(filter @ Filter::Ports(_)) = "port 5353,8053".parse::<Filter>() else {
        panic!("a port filter")
    };
    let program = program(filter.ports(&[53]), Link::Ethernet).unwrap();
    assert_valid(&program);
    for port in [5353, 8053] {
        for packet in exchanges(40_000, port) {
            assert!(passes(&program, &eth_ip(&packet)));
        }
    }
    for packet in exchanges(40_000, 53) {
        assert!(!passes(&program, &eth_ip(&packet)));
    }
}

#[test]
fn all_passes_everything_but_the_second_loopback_copy() {
    for link in [Link::Ethernet, Link::Loopback] {
        let program = program(Filter::All.ports(&[53]), link).unwrap();
        assert_valid(&program);
        assert!(passes(&program, &ethernet(0x0806, &[0; 28])));
        assert!(passes(&program, &[]));
    }
    let program = program(None, Link::Loopback).unwrap();
    assert_eq!(run(&program, &[0; 60], PACKET_OUTGOING), 0);
}

#[test]
fn the_placeholder_program_keeps_nothing() {
    assert_valid(&REJECT_ALL);
    for link in [Link::Ethernet, Link::Loopback] {
        for packet in exchanges(40_000, 53) {
            assert_eq!(run(&REJECT_ALL, &eth_ip(&packet), PACKET_HOST), 0, "{link}");
        }
    }
}

#[test]
fn the_most_ports_still_fit_the_jumps() {
    let ports: Vec<u16> = (1..=MAX_PORTS as u16).collect();
    for link in [Link::Ethernet, Link::Loopback, Link::RawIp] {
        let program = program(Some(&ports), link).unwrap();
        assert_valid(&program);
        let last = *ports.last().unwrap();
        let frame = eth_ip(&exchanges(40_000, last)[3]);
        let frame = if link == Link::RawIp {
            &frame[14..]
        } else {
            &frame
        };
        assert!(passes(&program, frame));
    }
    let too_many: Vec<u16> = (1..=MAX_PORTS as u16 + 1).collect();
    assert_eq!(
        program(Some(&too_many), Link::Ethernet),
        Err(FilterError::TooManyPorts)
    );
}

#[test]
fn filter_forms_parse_and_print() {
    for (text, filter) in [
        ("dns", Filter::Dns),
        ("all", Filter::All),
        ("port 5353", Filter::Ports(vec![5353])),
        ("port 53, 5353,8053", Filter::Ports(vec![53, 5353, 8053])),
    ] {
        assert_eq!(text.parse::<Filter>(), Ok(filter.clone()));
        assert_eq!(filter.to_string().parse::<Filter>(), Ok(filter));
    }
    assert!(matches!(
        "udp".parse::<Filter>(),
        Err(FilterError::Unknown(_))
    ));
    assert!(matches!(
        "port".parse::<Filter>(),
        Err(FilterError::Unknown(_))
    ));
    assert!(matches!(
        "ports 53".parse::<Filter>(),
        Err(FilterError::Unknown(_))
    ));
    assert_eq!(
        "port 53,0".parse::<Filter>(),
        Err(FilterError::BadPort("0".into()))
    );
    assert_eq!(
        "port 70000".parse::<Filter>(),
        Err(FilterError::BadPort("70000".into()))
    );
    let many = format!("port {}", vec!["53"; MAX_PORTS + 1].join(","));
    assert_eq!(many.parse::<Filter>(), Err(FilterError::TooManyPorts));
}

#[test]
fn links_map_from_hardware_types() {
    assert_eq!(Link::from_arphrd(1), Some(Link::Ethernet));
    assert_eq!(Link::from_arphrd(772), Some(Link::Loopback));
    assert_eq!(Link::from_arphrd(0xfffe), Some(Link::RawIp));
    assert_eq!(Link::from_arphrd(801), None); // 802.11 radiotap
    assert_eq!(Link::Loopback.link_type(), LINKTYPE_ETHERNET);
    assert_eq!(Link::RawIp.link_type(), LINKTYPE_RAW);
}
