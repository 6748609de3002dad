//! Runs reader and decoder over real captures from the shared corpus.
//!
//! The corpus lives outside the repository: `DNSLEDGER_CORPUS` names it (as `scripts/test
//! --corpus DIR` sets it), else `shared/corpus/` beside the repository is used. These tests
//! fail loudly when it is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dnsledger_capture::testutil::{decode_path, Decoded, OwnedPayload};
use dnsledger_capture::{CaptureError, DecoderConfig, Transport};

/// Generous even for an unoptimised build: the largest file is about 1 MiB.
const TIME_BOUND: Duration = Duration::from_secs(20);

fn corpus(rel: &str) -> PathBuf {
    let root = match std::env::var_os("DNSLEDGER_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    assert!(
        root.is_dir(),
        "the shared capture corpus is missing: expected it at {} (set DNSLEDGER_CORPUS, or put \
         shared/corpus beside the repository)",
        root.display()
    );
    let p = root.join(rel);
    assert!(p.exists(), "corpus file missing: {}", p.display());
    p
}

fn public(rel: &str) -> PathBuf {
    corpus(&format!("public/{rel}"))
}

fn decode(rel: &str) -> Decoded {
    let d = decode_path(&public(rel), DecoderConfig::default());
    assert!(d.error.is_none(), "{rel}: {:?}", d.error);
    d
}

fn payload_set(d: &Decoded) -> BTreeSet<Vec<u8>> {
    d.payloads.iter().map(|p| p.data.clone()).collect()
}

#[test]
fn dnscap_plain_fragmented_and_vlan_give_the_same_payloads() {
    let plain = decode("dnscap/src/test/dns.pcap");
    let frags = decode("dnscap/src/test/frags.pcap");
    let vlan = decode("dnscap/src/test/vlan11.pcap");
    assert!(plain.payloads.len() >= 80, "{}", plain.payloads.len());
    assert!(frags.stats.fragments_reassembled > 0, "{:?}", frags.stats);
    assert!(vlan.stats.dropped_not_ip + vlan.stats.dns_payloads > 0);
    let p = payload_set(&plain);
    assert_eq!(p, payload_set(&frags));
    assert_eq!(p, payload_set(&vlan));
    // Same addresses, ports and checksum verdicts too.
    let meta = |d: &Decoded| -> BTreeSet<String> {
        d.payloads
            .iter()
            .map(|x| {
                format!(
                    "{}:{}>{}:{} {:?} {:02x?}",
                    x.src,
                    x.src_port,
                    x.dst,
                    x.dst_port,
                    x.udp_checksum,
                    &x.data[..2]
                )
            })
            .collect()
    };
    assert_eq!(meta(&plain), meta(&vlan));
}

fn tcp_messages(d: &Decoded) -> Vec<&OwnedPayload> {
    d.payloads
        .iter()
        .filter(|p| p.transport == Transport::Tcp)
        .collect()
}

#[test]
fn dnscap_many_segments_and_one_segment_give_the_same_tcp_messages() {
    // The same three queries, once each in several segments (length prefix split off), once
    // all three in one segment; only the second capture has the server's answer.
    let many = decode("dnscap/src/test/dnsotcp-manyopkts.pcap");
    let one = decode("dnscap/src/test/dnsotcp-many1pkt.pcap");
    let queries = |d: &Decoded| -> Vec<Vec<u8>> {
        tcp_messages(d)
            .iter()
            .filter(|p| p.dst_port == 53)
            .map(|p| p.data.clone())
            .collect()
    };
    let a = queries(&many);
    assert_eq!(a.len(), 3);
    assert_eq!(a, queries(&one));
    assert_eq!(tcp_messages(&many).len(), 3);
    assert_eq!(tcp_messages(&one).len(), 4);
    for d in [&many, &one] {
        assert_eq!(d.stats.tcp_bad_length_prefix, 0);
        assert_eq!(d.stats.tcp_holes, 0);
    }
}

#[test]
fn dnscap_tcp_gaps_and_midstream_starts_recover() {
    // Segments lost by the capture (acknowledged by the receiver): a hole, then resync.
    let midmiss = decode("dnscap/src/test/dnso1tcp-midmiss.pcap");
    assert_eq!(midmiss.stats.tcp_holes, 2);
    assert_eq!(tcp_messages(&midmiss).len(), 6);
    let big = decode("dnscap/src/test/dnso1tcp-bighole.pcap");
    assert!(big.stats.tcp_holes >= 1);
    assert!(tcp_messages(&big).len() >= 70, "{}", big.payloads.len());
    assert_eq!(big.stats.tcp_bad_length_prefix, 0);
    // Every message is a plausible DNS message: id echoed between query and response.
    for p in &big.payloads {
        assert!(p.data.len() >= 12 && p.data.len() < 200, "{}", p.data.len());
    }
    // No SYN seen: best effort from the first segment.
    let nosyn = decode("dnscap/src/test/1qtcpnosyn.pcap");
    assert_eq!(nosyn.stats.tcp_midstream_starts, 2);
    assert_eq!(tcp_messages(&nosyn).len(), 2);
    // No SYN and the first segment lacks its length prefix: skipped, later ones used.
    let nolen = decode("dnscap/src/test/do1t-nosyn-1nolen.pcap");
    assert_eq!(nolen.stats.tcp_resync_skipped_segments, 1);
    assert_eq!(tcp_messages(&nolen).len(), 3);
}

fn testbed_counts(scenario: &str, packets: u64, dns_messages: u64, udp_packets: u64) {
    let path = corpus(&format!("testbed/captures/{scenario}/resolver_auth.pcap"));
    let d = decode_path(&path, DecoderConfig::default());
    assert!(d.error.is_none(), "{:?}", d.error);
    assert_eq!(d.frames, packets);
    assert_eq!(d.stats.frames, packets);
    // UDP packets of any port, as the testbed counts them.
    assert_eq!(d.stats.udp, udp_packets, "{:?}", d.stats);
    let udp = d
        .payloads
        .iter()
        .filter(|p| p.transport == Transport::Udp)
        .count() as u64;
    assert_eq!(udp, udp_packets - d.stats.dropped_not_dns_port);
    assert_eq!(d.payloads.len() as u64, dns_messages, "{:?}", d.stats);
    assert_eq!(d.stats.dns_payloads, dns_messages);
    assert_eq!(d.stats.tcp_bad_length_prefix, 0);
    assert_eq!(d.stats.tcp_holes, 0);
    assert_eq!(d.stats.tcp_resync_skipped_segments, 0);
    // Captured on loopback: responses carry offload placeholders, not bad checksums.
    assert_eq!(d.stats.udp_checksum_invalid, 0);
    assert!(d.stats.udp_checksum_offloaded > 1000, "{:?}", d.stats);
}

#[test]
fn testbed_run1_resolver_auth_counts_match_the_summary() {
    testbed_counts("run1_qmin_on", 15_109, 15_010, 14_352);
}

#[test]
fn testbed_run3_resolver_auth_counts_match_the_summary() {
    testbed_counts("run3_attack", 11_123, 11_026, 10_440);
}

/// Every corpus path of the corpus's manifest.tsv, with its packet count where known.
fn manifest() -> BTreeMap<String, Option<u64>> {
    let text = std::fs::read_to_string(public("manifest.tsv")).expect("manifest.tsv");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let packets = cols.get(7).and_then(|p| p.parse().ok());
            Some((cols.first()?.to_string(), packets))
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable corpus directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "gz")
        ) {
            out.push(p);
        }
    }
}

#[test]
fn every_public_capture_decodes_without_panic_or_hang() {
    let root = public("");
    let counts = manifest();
    let mut files = Vec::new();
    walk(&root, &mut files);
    // plus what the manifest lists under other names (err-eof.bin, original.pcap_, ...)
    for rel in counts.keys() {
        let p = root.join(rel);
        if p.is_file() && !files.contains(&p) {
            files.push(p);
        }
    }
    assert!(
        files.len() >= 380,
        "only {} capture files found",
        files.len()
    );
    let mut panics = Vec::new();
    let mut slow = Vec::new();
    let mut count_mismatch = Vec::new();
    let mut errors = Vec::new();
    let mut total_frames = 0;
    let mut total_payloads = 0;
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        // Each file in its own thread, so that a hang is reported instead of blocking.
        let start = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let owned = path.clone();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| decode_path(&owned, DecoderConfig::default()));
            let _ = tx.send(result);
        });
        let d = match rx.recv_timeout(TIME_BOUND) {
            Ok(Ok(d)) => d,
            Ok(Err(_)) => {
                panics.push(rel);
                continue;
            }
            Err(_) => {
                slow.push(format!("{rel}: no result after {TIME_BOUND:?}"));
                continue;
            }
        };
        let elapsed = start.elapsed();
        if elapsed > TIME_BOUND {
            slow.push(format!("{rel}: {elapsed:?}"));
        }
        total_frames += d.frames;
        total_payloads += d.payloads.len();
        if let Some(e) = &d.error {
            errors.push(format!("{rel}: {e}"));
        }
        let key = rel.strip_suffix(".gz").unwrap_or(&rel);
        let expected = counts.get(key).copied().flatten();
        let valid = !matches!(d.error, Some(CaptureError::UnknownFormat { .. }));
        match expected {
            Some(n) if valid && d.frames != n => count_mismatch.push(format!(
                "{rel}: {} frames, manifest says {n} ({:?})",
                d.frames, d.error
            )),
            None if valid && d.frames == 0 => {
                count_mismatch.push(format!("{rel}: no frame ({:?})", d.error))
            }
            _ => {}
        }
    }
    eprintln!(
        "{} files, {total_frames} frames, {total_payloads} DNS payloads; {} ended with an error:\n  {}",
        files.len(),
        errors.len(),
        errors.join("\n  ")
    );
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    assert!(slow.is_empty(), "too slow: {slow:#?}");
    assert!(
        count_mismatch.is_empty(),
        "frame counts differ: {count_mismatch:#?}"
    );
}
