//! What the kernel keeps: the `--filter` forms, the link types a socket can capture, and the
//! classic BPF program ([`program`]) attached to every socket (`SO_ATTACH_FILTER`).
//!
//! The program runs in the kernel on each frame before it takes ring space, so everything
//! it refuses costs nothing downstream; it is deliberately loose where the exact test needs
//! more state than classic BPF has (fragments, IPv6 extension headers): such packets pass and
//! the decoder, which counts every drop, decides. For the `dns` form over Ethernet:
//!
//! ```text
//!     ld   pkttype            ; loopback only: both copies of a packet cross `lo`;
//!     jeq  #OUTGOING, drop    ;   keep the incoming one (as libpcap does)
//!     ldh  [12]               ; EtherType
//!     jeq  #0x8100, tag1      ; 802.1Q, or 802.1ad outer tag
//!     jeq  #0x88a8, tag1
//!     ldx  #14                ; X = offset of the IP header
//!     ja   l3
//! tag1: ldh [16]              ; the tag's EtherType
//!     jeq  #0x8100, tag2, one
//! tag2: ldh [20]              ; a second (inner) tag: QinQ
//!     ldx  #22
//!     ja   l3
//! one: ldx #18
//! l3: jeq  #0x0800, v4        ; A = EtherType of the IP packet
//!     jeq  #0x86dd, v6, drop
//! v4: ldh  [x+6]              ; flags and fragment offset
//!     jset #0x1fff, accept    ; a fragment after the first: no ports to look at
//!     ldb  [x+9]              ; protocol
//!     jeq  #17, l4
//!     jeq  #6, l4, drop
//! l4: ldb  [x+0]              ; X += IHL * 4
//!     and  #0x0f
//!     lsh  #2
//!     add  x
//!     tax
//!     ja   ports
//! v6: ldb  [x+6]              ; next header
//!     jeq  #17, l4v6
//!     jeq  #6, l4v6
//!     jeq  #44, accept        ; fragment header
//!     jeq  #0, accept         ; hop-by-hop, routing and destination options headers:
//!     jeq  #43, accept        ;   not walked here, the decoder walks them
//!     jeq  #60, accept, drop
//! l4v6: txa                   ; X += 40
//!     add  #40
//!     tax
//! ports: ldh [x+0]            ; source port
//!     jeq  #53, accept        ; (one jeq per port)
//!     ldh  [x+2]              ; destination port
//!     jeq  #53, accept, drop
//! accept: ret #0xffffffff     ; the whole frame
//! drop: ret #0
//! ```
//!
//! VLAN tags: a tag the NIC stripped (VLAN offload, the common case) is not in the frame at
//! all; up to two tags left in the frame are skipped as above; deeper stacks, MPLS and
//! tunnels do not pass (capture on the inner interface instead). Raw-IP interfaces (tun,
//! WireGuard, PPP) have no link header: the version nibble chooses `v4` or `v6` with X = 0.
//! `all` is just the loopback test and `ret`.

use std::fmt;
use std::str::FromStr;

use dnsledger_capture::link::{LINKTYPE_ETHERNET, LINKTYPE_RAW};

/// Ports a `port` filter (or `--dns-port` list) may name: every port costs two
/// instructions, and classic BPF jumps reach at most 255 instructions ahead.
pub const MAX_PORTS: usize = 64;

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Which packets the kernel hands to the sensor (`--filter`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// UDP and TCP to or from a DNS port (the sensor's `--dns-port` list), IP fragments.
    Dns,
    /// UDP and TCP to or from these ports, IP fragments: DNS on other ports.
    Ports(Vec<u16>),
    /// Every frame: the decoder counts what is not DNS.
    All,
}

/// A `--filter` that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    #[error("unknown filter {0:?}: expected `dns`, `port N[,M...]` or `all`")]
    Unknown(String),
    #[error("bad port {0:?} in the filter: expected a number from 1 to 65535")]
    BadPort(String),
    #[error("a filter takes at most {MAX_PORTS} ports")]
    TooManyPorts,
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Filter, FilterError> {
        match text.trim() {
            "dns" => Ok(Filter::Dns),
            "all" => Ok(Filter::All),
            other => match other.strip_prefix("port") {
                Some(list) if list.starts_with(char::is_whitespace) => parse_ports(list),
                _ => Err(FilterError::Unknown(text.to_string())),
            },
        }
    }
}

fn parse_ports(list: &str) -> Result<Filter, FilterError> {
    let ports = list
        .split(',')
        .map(|part| match part.trim().parse::<u16>() {
            Ok(port) if port > 0 => Ok(port),
            _ => Err(FilterError::BadPort(part.trim().to_string())),
        })
        .collect::<Result<Vec<u16>, FilterError>>()?;
    if ports.len() > MAX_PORTS {
        return Err(FilterError::TooManyPorts);
    }
    Ok(Filter::Ports(ports))
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Dns => f.write_str("dns"),
            Filter::All => f.write_str("all"),
            Filter::Ports(ports) => {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                write!(f, "port {}", list.join(","))
            }
        }
    }
}

impl Filter {
    /// The ports the program tests, given the sensor's DNS ports; `None` = no port test.
    pub fn ports<'a>(&'a self, dns_ports: &'a [u16]) -> Option<&'a [u16]> {
        match self {
            Filter::Dns => Some(dns_ports),
            Filter::Ports(ports) => Some(ports),
            Filter::All => None,
        }
    }
}

/// How frames of an interface start, from its `ARPHRD_*` hardware type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Ethernet (`ARPHRD_ETHER`).
    Ethernet,
    /// `lo` (`ARPHRD_LOOPBACK`): Ethernet framing with zero addresses on Linux, and every
    /// packet crosses it twice (sent, then received).
    Loopback,
    /// No link header: tun, WireGuard, PPP (`ARPHRD_NONE`, `ARPHRD_RAWIP`, `ARPHRD_PPP`).
    RawIp,
}

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_PPP: u16 = 512;
const ARPHRD_RAWIP: u16 = 519;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;

impl Link {
    /// The link of an `ARPHRD_*` hardware type; `None` for types the decoder cannot read.
    pub fn from_arphrd(hardware_type: u16) -> Option<Link> {
        match hardware_type {
            ARPHRD_ETHER => Some(Link::Ethernet),
            ARPHRD_LOOPBACK => Some(Link::Loopback),
            ARPHRD_NONE | ARPHRD_RAWIP | ARPHRD_PPP => Some(Link::RawIp),
            _ => None,
        }
    }

    /// The LINKTYPE_* the decoder reads these frames as.
    pub fn link_type(self) -> u16 {
        match self {
            Link::Ethernet | Link::Loopback => LINKTYPE_ETHERNET,
            Link::RawIp => LINKTYPE_RAW,
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Link::Ethernet => "Ethernet",
            Link::Loopback => "loopback",
            Link::RawIp => "raw IP",
        })
    }
}

// Classic BPF opcodes (linux/bpf_common.h, linux/filter.h).
pub(crate) const BPF_LD: u16 = 0x00;
pub(crate) const BPF_LDX: u16 = 0x01;
pub(crate) const BPF_ALU: u16 = 0x04;
pub(crate) const BPF_JMP: u16 = 0x05;
pub(crate) const BPF_RET: u16 = 0x06;
pub(crate) const BPF_MISC: u16 = 0x07;
pub(crate) const BPF_W: u16 = 0x00;
pub(crate) const BPF_H: u16 = 0x08;
pub(crate) const BPF_B: u16 = 0x10;
pub(crate) const BPF_IMM: u16 = 0x00;
pub(crate) const BPF_ABS: u16 = 0x20;
pub(crate) const BPF_IND: u16 = 0x40;
pub(crate) const BPF_ADD: u16 = 0x00;
pub(crate) const BPF_AND: u16 = 0x50;
pub(crate) const BPF_LSH: u16 = 0x60;
pub(crate) const BPF_RSH: u16 = 0x70;
pub(crate) const BPF_JA: u16 = 0x00;
pub(crate) const BPF_JEQ: u16 = 0x10;
pub(crate) const BPF_JSET: u16 = 0x40;
pub(crate) const BPF_K: u16 = 0x00;
pub(crate) const BPF_X: u16 = 0x08;
pub(crate) const BPF_TAX: u16 = 0x00;
pub(crate) const BPF_TXA: u16 = 0x80;

/// `SKF_AD_OFF + SKF_AD_PKTTYPE`: the load offset that reads the packet type.
pub(crate) const LOAD_PKTTYPE: u32 = (-0x1000i32 + 4) as u32;
/// `PACKET_OUTGOING`: a packet this host sent.
pub(crate) const PACKET_OUTGOING: u32 = 4;
/// Accept: keep this many bytes of the frame, i.e. all of it.
const KEEP_WHOLE_FRAME: u32 = u32::MAX;

const ETHERTYPE_IPV4: u32 = 0x0800;
const ETHERTYPE_IPV6: u32 = 0x86dd;
const ETHERTYPE_VLAN: u32 = 0x8100;
const ETHERTYPE_QINQ: u32 = 0x88a8;
const PROTO_HOP_BY_HOP: u32 = 0;
const PROTO_TCP: u32 = 6;
const PROTO_UDP: u32 = 17;
const PROTO_ROUTING: u32 = 43;
const PROTO_FRAGMENT: u32 = 44;
const PROTO_DESTINATION_OPTIONS: u32 = 60;

/// A program that keeps nothing: a socket has it until capture starts (see `capture`).
pub(crate) const REJECT_ALL: [Insn; 1] = [Insn {
    code: BPF_RET | BPF_K,
    jt: 0,
    jf: 0,
    k: 0,
}];

/// The classic BPF program for `ports` (`None` = every frame) on `link`; the module
/// documentation shows it. Fails only when there are more than [`MAX_PORTS`] ports.
pub fn program(ports: Option<&[u16]>, link: Link) -> Result<Vec<Insn>, FilterError> {
    if ports.is_some_and(|ports| ports.len() > MAX_PORTS) {
        return Err(FilterError::TooManyPorts);
    }
    let mut asm = Asm::default();
    let accept = asm.label();
    let drop = asm.label();
    if link == Link::Loopback {
        asm.stmt(BPF_LD | BPF_W | BPF_ABS, LOAD_PKTTYPE);
        asm.jeq(PACKET_OUTGOING, Dest::To(drop), Dest::Next);
    }
    if let Some(ports) = ports {
        let v4 = asm.label();
        let v6 = asm.label();
        match link {
            Link::Ethernet | Link::Loopback => ethernet(&mut asm, v4, v6, drop),
            Link::RawIp => raw_ip(&mut asm, v4, v6, drop),
        }
        transport(&mut asm, ports, [v4, v6, accept, drop]);
    }
    asm.bind(accept);
    asm.stmt(BPF_RET | BPF_K, KEEP_WHOLE_FRAME);
    asm.bind(drop);
    asm.stmt(BPF_RET | BPF_K, 0);
    Ok(asm.finish())
}

/// Ethernet with up to two VLAN tags: leaves A = the EtherType of the IP packet and
/// X = its offset, and goes to `v4` or `v6`.
fn ethernet(asm: &mut Asm, v4: Label, v6: Label, drop: Label) {
    let (tag1, one_tag, l3) = (asm.label(), asm.label(), asm.label());
    asm.stmt(BPF_LD | BPF_H | BPF_ABS, 12);
    asm.jeq(ETHERTYPE_VLAN, Dest::To(tag1), Dest::Next);
    asm.jeq(ETHERTYPE_QINQ, Dest::To(tag1), Dest::Next);
    asm.stmt(BPF_LDX | BPF_W | BPF_IMM, 14);
    asm.ja(l3);
    asm.bind(tag1);
    asm.stmt(BPF_LD | BPF_H | BPF_ABS, 16);
    asm.jeq(ETHERTYPE_VLAN, Dest::Next, Dest::To(one_tag));
    asm.stmt(BPF_LD | BPF_H | BPF_ABS, 20);
    asm.stmt(BPF_LDX | BPF_W | BPF_IMM, 22);
    asm.ja(l3);
    asm.bind(one_tag);
    asm.stmt(BPF_LDX | BPF_W | BPF_IMM, 18);
    asm.bind(l3);
    asm.jeq(ETHERTYPE_IPV4, Dest::To(v4), Dest::Next);
    asm.jeq(ETHERTYPE_IPV6, Dest::To(v6), Dest::To(drop));
}

/// No link header: X = 0, the version nibble chooses.
fn raw_ip(asm: &mut Asm, v4: Label, v6: Label, drop: Label) {
    asm.stmt(BPF_LDX | BPF_W | BPF_IMM, 0);
    asm.stmt(BPF_LD | BPF_B | BPF_ABS, 0);
    asm.stmt(BPF_ALU | BPF_RSH | BPF_K, 4);
    asm.jeq(4, Dest::To(v4), Dest::Next);
    asm.jeq(6, Dest::To(v6), Dest::To(drop));
}

/// From the IP header at X: protocol, fragments, then the ports.
fn transport(asm: &mut Asm, ports: &[u16], [v4, v6, accept, drop]: [Label; 4]) {
    let (l4_v4, l4_v6, test_ports) = (asm.label(), asm.label(), asm.label());
    asm.bind(v4);
    asm.stmt(BPF_LD | BPF_H | BPF_IND, 6);
    asm.jump(BPF_JSET, 0x1fff, Dest::To(accept), Dest::Next);
    asm.stmt(BPF_LD | BPF_B | BPF_IND, 9);
    asm.jeq(PROTO_UDP, Dest::To(l4_v4), Dest::Next);
    asm.jeq(PROTO_TCP, Dest::To(l4_v4), Dest::To(drop));
    asm.bind(l4_v4);
    asm.stmt(BPF_LD | BPF_B | BPF_IND, 0);
    asm.stmt(BPF_ALU | BPF_AND | BPF_K, 0x0f);
    asm.stmt(BPF_ALU | BPF_LSH | BPF_K, 2);
    asm.stmt(BPF_ALU | BPF_ADD | BPF_X, 0);
    asm.stmt(BPF_MISC | BPF_TAX, 0);
    asm.ja(test_ports);
    asm.bind(v6);
    asm.stmt(BPF_LD | BPF_B | BPF_IND, 6);
    asm.jeq(PROTO_UDP, Dest::To(l4_v6), Dest::Next);
    asm.jeq(PROTO_TCP, Dest::To(l4_v6), Dest::Next);
    asm.jeq(PROTO_FRAGMENT, Dest::To(accept), Dest::Next);
    asm.jeq(PROTO_HOP_BY_HOP, Dest::To(accept), Dest::Next);
    asm.jeq(PROTO_ROUTING, Dest::To(accept), Dest::Next);
    asm.jeq(PROTO_DESTINATION_OPTIONS, Dest::To(accept), Dest::To(drop));
    asm.bind(l4_v6);
    asm.stmt(BPF_MISC | BPF_TXA, 0);
    asm.stmt(BPF_ALU | BPF_ADD | BPF_K, 40);
    asm.stmt(BPF_MISC | BPF_TAX, 0);
    asm.bind(test_ports);
    for offset in [0, 2] {
        asm.stmt(BPF_LD | BPF_H | BPF_IND, offset);
        for port in ports {
            asm.jeq(u32::from(*port), Dest::To(accept), Dest::Next);
        }
    }
    asm.ja(drop);
}

/// A label: an index into [`Asm::bound`].
#[derive(Clone, Copy, Debug)]
struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum Dest {
    Next,
    To(Label),
}

#[derive(Debug)]
enum Op {
    Stmt(u16, u32),
    Jump(u16, u32, Dest, Dest),
    Always(Label),
}

/// A tiny assembler: instructions with symbolic forward jumps, resolved by `finish`.
#[derive(Debug, Default)]
struct Asm {
    ops: Vec<Op>,
    bound: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.bound.push(None);
        Label(self.bound.len() - 1)
    }

    fn bind(&mut self, label: Label) {
        self.bound[label.0] = Some(self.ops.len());
    }

    fn stmt(&mut self, code: u16, k: u32) {
        self.ops.push(Op::Stmt(code, k));
    }

    fn jump(&mut self, condition: u16, k: u32, jt: Dest, jf: Dest) {
        self.ops.push(Op::Jump(condition, k, jt, jf));
    }

    fn jeq(&mut self, k: u32, jt: Dest, jf: Dest) {
        self.jump(BPF_JEQ, k, jt, jf);
    }

    fn ja(&mut self, to: Label) {
        self.ops.push(Op::Always(to));
    }

    /// Resolves the jumps. The programs above only jump forward and never further than a
    /// conditional jump reaches with [`MAX_PORTS`] ports: anything else is a bug here.
    fn finish(self) -> Vec<Insn> {
        let offset = |at: usize, dest: Dest| -> usize {
            match dest {
                Dest::Next => 0,
                Dest::To(label) => {
                    let target = self.bound[label.0].expect("every label is bound");
                    assert!(target > at, "classic BPF jumps only forward");
                    target - at - 1
                }
            }
        };
        let short = |at: usize, dest: Dest| -> u8 {
            u8::try_from(offset(at, dest)).expect("conditional jumps reach 255 instructions")
        };
        self.ops
            .iter()
            .enumerate()
            .map(|(at, op)| match *op {
                Op::Stmt(code, k) => Insn {
                    code,
                    jt: 0,
                    jf: 0,
                    k,
                },
                Op::Jump(condition, k, jt, jf) => Insn {
                    code: BPF_JMP | condition | BPF_K,
                    jt: short(at, jt),
                    jf: short(at, jf),
                    k,
                },
                Op::Always(to) => Insn {
                    code: BPF_JMP | BPF_JA,
                    jt: 0,
                    jf: 0,
                    k: offset(at, Dest::To(to)) as u32,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
