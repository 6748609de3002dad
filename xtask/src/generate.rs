//! `gen-capture`: the deterministic resolver<->authoritative capture and its root hints.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use crate::exchange::CaptureSummary;
use crate::exchange::ExchangeWriter;
use crate::hierarchy::Hierarchy;
use crate::pcap::PcapWriter;
use crate::resolver::Resolver;
use crate::rng::Rng;

/// Capture start: 2025-01-01T00:00:00Z.
const START_NANOS: i64 = 1_735_689_600 * 1_000_000_000;
/// Mean gap between exchanges: 20,000 exchanges per second.
const MEAN_GAP_NANOS: u64 = 50_000;

/// What to generate. The same parameters always give the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenParams {
    pub packets: u64,
    pub seed: u64,
    pub domains: u32,
}

/// Writes the capture to `out`; returns `out` and what it holds.
pub fn generate<W: Write>(params: &GenParams, out: W) -> io::Result<(W, CaptureSummary)> {
    let tree = Hierarchy::build(params.seed, params.domains);
    let pcap = PcapWriter::new(out)?;
    let mut writer = ExchangeWriter::new(pcap, params.packets, Rng::stream(params.seed, 0x7a));
    let mut resolver = Resolver::new(&tree, params.seed);
    let mut pacing = Rng::stream(params.seed, 0x9a);
    let mut clock = START_NANOS;
    loop {
        // Every later exchange starts at `clock` or after: what is due is final.
        writer.release_until(clock)?;
        let before = writer.counts().exchanges;
        if resolver.resolve_next(clock, &mut writer).is_none() {
            break;
        }
        let exchanges = writer.counts().exchanges - before;
        clock += (exchanges * pacing.below(2 * MEAN_GAP_NANOS)) as i64;
    }
    writer.finish()
}

/// Writes the capture and the root hints to files (each complete or not at all).
pub fn generate_files(params: &GenParams, pcap: &Path, hints: &Path) -> Result<CaptureSummary> {
    let root_hints = Hierarchy::build(params.seed, params.domains).root_hints();
    write_atomically(hints, |out| out.write_all(root_hints.as_bytes()))?;
    write_atomically(pcap, |out| Ok(generate(params, out)?.1))
}

/// Writes through a temporary file renamed into place, so that an interrupted run never
/// leaves a partial capture that a later benchmark would take for a complete one.
fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> Result<T> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let value = write(&mut out)
        .and_then(|value| out.flush().map(|()| value))
        .with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, path)
        .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
    Ok(value)
}

/// Packets of the probe capture behind [`fingerprint`]: enough to pass through every part
/// of the generator (referrals, answers of each kind, TCP, truncation), cheap to make.
const FINGERPRINT_PACKETS: u64 = 20_000;

/// A hash of what the generator makes for these parameters (on a short probe capture):
/// changes whenever the generator's output does.
pub fn fingerprint(params: &GenParams) -> io::Result<u64> {
    let probe = GenParams {
        packets: params.packets.min(FINGERPRINT_PACKETS),
        ..params.clone()
    };
    Ok(generate(&probe, HashWriter::default())?.0.hash)
}

/// Hashes what is written to it (FNV-1a, 64 bits).
pub struct HashWriter {
    pub hash: u64,
}

impl Default for HashWriter {
    fn default() -> HashWriter {
        HashWriter {
            hash: 0xcbf2_9ce4_8422_2325,
        }
    }
}

impl Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        for &b in bytes {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
