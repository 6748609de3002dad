//! Small inputs for the unit tests.

use std::path::{Path, PathBuf};

/// A classic little-endian pcap (microseconds) with one empty Ethernet frame per timestamp:
/// a capture with packet times and no DNS in it.
pub fn pcap(seconds: &[u32]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for field in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        bytes.extend_from_slice(&field.to_le_bytes());
    }
    for seconds in seconds {
        for field in [*seconds, 0, 14, 14] {
            bytes.extend_from_slice(&field.to_le_bytes());
        }
        bytes.extend_from_slice(&[0; 14]);
    }
    bytes
}

pub fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}
