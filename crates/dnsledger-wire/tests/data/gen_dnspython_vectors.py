#!/usr/bin/env python3
"""Writes dnspython_vectors.tsv: random rdata per type and what dnspython prints for it.

Each line is `TYPE<TAB>HEX<TAB>TEXT`, TEXT being dnspython's `to_text(chunksize=0)` of
`dns.rdata.from_wire(IN, TYPE, wire)`, or `!` if dnspython refuses the rdata. About half
of the rdata are well-formed, the rest are mutated (cut, extended, a byte changed) so that
the refusals are exercised too. Names are never compressed (the input is canonical rdata).

Run with dnspython 2.x installed:  python3 gen_dnspython_vectors.py > dnspython_vectors.tsv
The generator is deterministic (fixed seed) so the file only changes with dnspython.
"""

import random
import struct
import sys

import dns.rdata
import dns.rdataclass
import dns.rdatatype

R = random.Random(20250101)

LABEL_CHARS = b"abcdefghijklmnopqrstuvwxyz0123456789-_"
ODD_BYTES = b'."\\ ()@$;\x00\x7f\xffA*'


def label():
    n = R.choice([1, 2, 3, 5, 8, 13, 63]) if R.random() < 0.2 else R.randint(1, 10)
    chars = bytes(R.choice(LABEL_CHARS) for _ in range(n))
    if R.random() < 0.1:
        i = R.randrange(n)
        chars = chars[:i] + bytes([R.choice(ODD_BYTES)]) + chars[i + 1:]
    return chars


def name():
    if R.random() < 0.1:
        return b"\x00"
    out = b""
    for _ in range(R.randint(1, 4)):
        lab = label()
        out += bytes([len(lab)]) + lab
    return out + b"\x00"


def blob(lo=0, hi=40):
    return bytes(R.randrange(256) for _ in range(R.randint(lo, hi)))


def cstr(lo=0, hi=30):
    if R.random() < 0.2:
        s = blob(lo, hi)
    else:
        s = bytes(R.randrange(0x20, 0x7F) for _ in range(R.randint(lo, hi)))
    return bytes([len(s)]) + s


def u8(v=None):
    return struct.pack("!B", R.randrange(256) if v is None else v)


def u16(v=None):
    return struct.pack("!H", R.randrange(65536) if v is None else v)


def u32(v=None):
    return struct.pack("!I", R.randrange(1 << 32) if v is None else v)


def small_types():
    return [1, 2, 5, 6, 12, 15, 16, 28, 33, 43, 46, 47, 48, 50, 51, 52, 64, 65, 99, 255, 256, 257]


def bitmap():
    types = set(R.sample(small_types(), R.randint(0, 6)))
    if R.random() < 0.3:
        types.add(R.randrange(1, 65536))
    windows = {}
    for t in types:
        windows.setdefault(t >> 8, set()).add(t & 0xFF)
    out = b""
    for w in sorted(windows):
        bits = bytearray(32)
        for b in windows[w]:
            bits[b // 8] |= 0x80 >> (b % 8)
        n = max(b // 8 for b in windows[w]) + 1
        out += bytes([w, n]) + bytes(bits[:n])
    return out


def digest(types):
    dt = R.choice(types)
    lengths = {0: 1, 1: 20, 2: 32, 3: 32, 4: 48}
    n = lengths.get(dt, R.randint(0, 40)) if R.random() < 0.9 else R.randint(0, 50)
    return u8(dt) + blob(n, n)


def loc():
    def size():
        if R.random() < 0.3:
            return R.choice([0x12, 0x16, 0x13, 0x00])
        return (R.randint(0, 9) << 4) | R.randint(0, 9) if R.random() < 0.9 else R.randrange(256)

    lat = 0x80000000 + R.randint(-90 * 3600000, 90 * 3600000)
    lon = 0x80000000 + R.randint(-180 * 3600000, 180 * 3600000)
    if R.random() < 0.1:
        lat = 0x80000000
    alt = R.choice([10000000, 9999800, R.randrange(1 << 32)])
    return u8(0) + bytes([size(), size(), size()]) + u32(lat) + u32(lon) + u32(alt)


def svcb_params():
    keys = sorted(R.sample([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 65000], R.randint(0, 5)))
    out = b""
    for k in keys:
        if k == 0:
            ks = sorted(R.sample([1, 3, 4, 6], R.randint(1, 2)))
            v = b"".join(u16(x) for x in ks)
        elif k in (1, 10):
            ids = [R.choice([b"h2", b"h3", b"http/1.1", b"a,b", b"x\\y", b'q"', b"\x01z"]) for _ in range(R.randint(1, 3))]
            v = b"".join(bytes([len(i)]) + i for i in ids)
        elif k in (2, 8):
            v = b""
        elif k == 3:
            v = u16()
        elif k == 4:
            v = blob(4, 4) + (blob(4, 4) if R.random() < 0.5 else b"")
        elif k == 5:
            body = blob(4, 12)
            v = u16(len(body)) + body
        elif k == 6:
            v = bytes(16) if R.random() < 0.3 else blob(16, 16)
        else:
            v = R.choice([b"", b"/dns-query{?dns}", blob(1, 8)])
        out += u16(k) + u16(len(v)) + v
    return out


def svcb():
    prio = 0 if R.random() < 0.2 else R.randint(1, 3)
    return u16(prio) + name() + (svcb_params() if prio else b"")


def apl():
    out = b""
    for _ in range(R.randint(0, 3)):
        fam = R.choice([1, 2, 3])
        n = R.randint(0, {1: 4, 2: 16, 3: 6}[fam])
        addr = blob(n, n)
        if addr and addr[-1] == 0 and R.random() < 0.9:
            addr = addr[:-1] + b"\x01"
        prefix = R.randint(0, {1: 32, 2: 128, 3: 255}[fam])
        out += u16(fam) + u8(prefix) + u8(len(addr) | (0x80 if R.random() < 0.3 else 0)) + addr
    return out


def gateway(t):
    return {0: b"", 1: blob(4, 4), 2: blob(16, 16), 3: name()}.get(t, b"")


def gpos_str():
    s = R.choice([b"0", b"-32.6882", b"+116.8652", b"10.", b".5", b"1.2.3", b"abc", b"", b"-90", b"91"])
    return bytes([len(s)]) + s


GEN = {
    "A": lambda: blob(4, 4),
    "AAAA": lambda: R.choice([bytes(16), bytes(15) + b"\x01", bytes(10) + b"\xff\xff" + blob(4, 4), blob(16, 16)]),
    "NS": name, "CNAME": name, "DNAME": name, "PTR": name, "NSAP-PTR": name,
    "SOA": lambda: name() + name() + blob(20, 20),
    "RP": lambda: name() + name(),
    "MX": lambda: u16() + name(), "AFSDB": lambda: u16() + name(), "RT": lambda: u16() + name(),
    "KX": lambda: u16() + name(), "LP": lambda: u16() + name(),
    "PX": lambda: u16() + name() + name(),
    "SRV": lambda: u16() + u16() + u16() + name(),
    "NAPTR": lambda: u16() + u16() + cstr() + cstr() + cstr() + name(),
    "TXT": lambda: b"".join(cstr() for _ in range(R.randint(0, 3))),
    "SPF": lambda: b"".join(cstr() for _ in range(R.randint(1, 2))),
    "AVC": lambda: cstr(), "RESINFO": lambda: cstr(), "WALLET": lambda: cstr(), "NINFO": lambda: cstr(),
    "HINFO": lambda: cstr() + cstr(),
    "X25": lambda: cstr(),
    "ISDN": lambda: cstr() + (cstr() if R.random() < 0.6 else b""),
    "GPOS": lambda: gpos_str() + gpos_str() + gpos_str(),
    "CAA": lambda: u8(R.choice([0, 128, R.randrange(256)])) + R.choice([b"\x05issue", b"\x09issuewild", b"\x05iodef", b"\x00", b"\x03a-b", b"\x03Tag"]) + blob(0, 30),
    "URI": lambda: u16() + u16() + R.choice([b"https://example.com/", b"", blob(1, 10)]),
    "LOC": loc,
    "DS": lambda: u16() + u8() + digest([0, 1, 2, 3, 4, 5]),
    "CDS": lambda: u16() + u8() + digest([0, 1, 2, 4, 7]),
    "DLV": lambda: u16() + u8() + digest([1, 2]),
    "DNSKEY": lambda: u16(R.choice([256, 257, R.randrange(65536)])) + u8(3) + u8() + blob(),
    "CDNSKEY": lambda: u16() + u8() + u8() + blob(),
    "KEY": lambda: u16() + u8() + u8() + blob(),
    "RRSIG": lambda: u16(R.choice(small_types())) + u8() + u8() + u32() + u32() + u32() + u16() + name() + blob(),
    "SIG": lambda: u16() + u8() + u8() + u32() + u32() + u32() + u16() + name() + blob(),
    "NSEC": lambda: name() + bitmap(),
    "NSEC3": lambda: u8(1) + u8() + u16() + cstr(0, 8) + R.choice([b"\x14" + blob(20, 20), b"\x00", cstr(1, 30)]) + bitmap(),
    "NSEC3PARAM": lambda: u8(1) + u8() + u16() + cstr(0, 8),
    "CSYNC": lambda: u32() + u16() + bitmap(),
    "ZONEMD": lambda: u32() + u8(R.choice([0, 1, 2])) + R.choice([u8(1) + blob(48, 48), u8(2) + blob(64, 64), u8(0) + blob(12, 12), u8(241) + blob(10, 20)]),
    "TLSA": lambda: u8() + u8() + R.choice([u8(1) + blob(32, 32), u8(2) + blob(64, 64), u8(0) + blob(0, 40), u8(1) + blob(0, 40)]),
    "SMIMEA": lambda: u8() + u8() + u8(R.choice([0, 1, 2, 3])) + blob(0, 64),
    "SSHFP": lambda: u8() + R.choice([u8(1) + blob(20, 20), u8(2) + blob(32, 32), u8(3) + blob(0, 30), u8(2) + blob(0, 30)]),
    "OPENPGPKEY": lambda: blob(), "DHCID": lambda: blob(), "HHIT": lambda: blob(), "BRID": lambda: blob(),
    "CERT": lambda: u16(R.choice([1, 2, 3, 9, 253, 254, 65535])) + u16() + u8(R.choice([0, 5, 8, 13, 17, 18, 252, 254, 255])) + blob(),
    "SVCB": svcb, "HTTPS": svcb,
    "EUI48": lambda: blob(6, 6), "EUI64": lambda: blob(8, 8),
    "L32": lambda: u16() + blob(4, 4), "L64": lambda: u16() + blob(8, 8), "NID": lambda: u16() + blob(8, 8),
    "NSAP": lambda: blob(1, 20),
    "WKS": lambda: blob(4, 4) + u8(R.choice([6, 17])) + blob(0, 12),
    "APL": apl,
    "IPSECKEY": lambda: (lambda t: u8() + u8(t) + u8() + gateway(t) + blob())(R.choice([0, 1, 2, 3, 4])),
    "AMTRELAY": lambda: (lambda t: u8() + u8(t | (0x80 if R.random() < 0.5 else 0)) + gateway(t))(R.choice([0, 1, 2, 3, 4])),
    "HIP": lambda: (lambda hit, key: u8(len(hit)) + u8() + u16(len(key)) + hit + key + b"".join(name() for _ in range(R.randint(0, 2))))(blob(1, 16), blob(1, 30)),
    "DSYNC": lambda: u16(R.choice(small_types())) + u8(R.choice([1, 2])) + u16() + name(),
    # Types dnspython prints in the generic form.
    "NULL": lambda: blob(0, 10), "TA": lambda: u16() + u8() + digest([1, 2]), "TYPE65280": lambda: blob(0, 10),
}


def mutate(wire):
    choice = R.random()
    if choice < 0.4 and wire:
        return wire[: R.randrange(len(wire))]
    if choice < 0.6:
        return wire + blob(1, 3)
    if wire:
        i = R.randrange(len(wire))
        return wire[:i] + bytes([R.randrange(256)]) + wire[i + 1:]
    return blob(1, 4)


def dnspython_text(rtype, wire):
    try:
        rd = dns.rdata.from_wire(dns.rdataclass.IN, rtype, wire, 0, len(wire))
        return rd.to_text(chunksize=0)
    except Exception:  # noqa: BLE001 - any refusal is a refusal
        return "!"


def main():
    per_type = int(sys.argv[1]) if len(sys.argv) > 1 else 24
    out = sys.stdout
    out.write(f"# generated by gen_dnspython_vectors.py with dnspython {dns.version.version}\n")
    for tname, gen in GEN.items():
        rtype = dns.rdatatype.from_text(tname)
        seen = set()
        for i in range(per_type):
            wire = gen()
            if i % 2:
                wire = mutate(wire)
            if wire in seen:
                continue
            seen.add(wire)
            text = dnspython_text(rtype, wire)
            assert "\t" not in text and "\n" not in text
            out.write(f"{tname}\t{wire.hex()}\t{text}\n")


if __name__ == "__main__":
    import dns.version

    main()
