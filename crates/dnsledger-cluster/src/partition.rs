//! Which partition a batch belongs to: a stable hash that keeps a registered domain
//! together, so that every RRset at or below `example.co.uk.` lives on the same shard.
//!
//! The partition of an owner name is FNV-1a 64 of the lower-case presentation text of its
//! registered domain (`dnsledger-psl`, trailing dot included), or of the owner itself when
//! it has none (a public suffix, the root), modulo the partition count. FNV-1a is fixed by
//! its definition (offset basis 0xcbf29ce484222325, prime 0x100000001b3), so every node and
//! every version computes the same partition: changing it would move data between shards.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use dnsledger_rrset::{read_cof_line, Observation};
use flate2::read::MultiGzDecoder;

/// The longest first line read to find a batch's partition (a COF line is far shorter).
const MAX_LINE_BYTES: u64 = 1024 * 1024;

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The partition of an owner name given in presentation form (`www.example.com.`).
pub fn partition_of(owner: &str, partitions: u32) -> u32 {
    if partitions <= 1 {
        return 0;
    }
    let owner = owner.to_ascii_lowercase();
    let key = dnsledger_psl::registered_domain(&owner).unwrap_or(&owner);
    (fnv1a64(key.as_bytes()) % u64::from(partitions)) as u32
}

/// A flush split by partition, in partition order.
pub fn split(observations: Vec<Observation>, partitions: u32) -> Vec<Vec<Observation>> {
    if partitions <= 1 {
        return vec![observations];
    }
    let mut groups: BTreeMap<u32, Vec<Observation>> = BTreeMap::new();
    for observation in observations {
        let owner = observation.rrset.rrname().to_text();
        groups
            .entry(partition_of(&owner, partitions))
            .or_default()
            .push(observation);
    }
    groups.into_values().collect()
}

/// Why a batch's partition could not be found.
#[derive(Debug, thiserror::Error)]
#[error("the batch's first line: {0}")]
pub struct BodyPartitionError(String);

/// The partition of a batch body (gzip COF NDJSON whose lines share one partition, as
/// [`split`] makes them): that of its first line. Only that line is decompressed.
pub fn partition_of_body(body: &[u8], partitions: u32) -> Result<u32, BodyPartitionError> {
    if partitions <= 1 {
        return Ok(0);
    }
    let mut line = Vec::new();
    BufReader::new(MultiGzDecoder::new(body).take(MAX_LINE_BYTES))
        .read_until(b'\n', &mut line)
        .map_err(|e| BodyPartitionError(e.to_string()))?;
    let (_, observation) = read_cof_line(&line).map_err(|e| BodyPartitionError(e.to_string()))?;
    Ok(partition_of(
        &observation.rrset.rrname().to_text(),
        partitions,
    ))
}

#[cfg(test)]
mod tests {
    use dnsledger_rrset::{RRset, Seen};
    use dnsledger_submit::batch;
    use dnsledger_wire::NameBuf;

    use super::*;

    #[test]
    fn fnv1a64_is_the_published_function() {
        // Test vectors of the FNV reference (Fowler, Noll, Vo).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn a_registered_domain_stays_in_one_partition() {
        for partitions in [2, 3, 7, 64] {
            let apex = partition_of("example.co.uk.", partitions);
            for name in [
                "www.example.co.uk.",
                "A.B.Example.CO.UK.",
                "*.example.co.uk.",
            ] {
                assert_eq!(partition_of(name, partitions), apex, "{name}");
            }
            assert!(apex < partitions);
        }
        assert_eq!(partition_of("anything.", 1), 0);
        // Names without a registered domain hash themselves.
        let spread: std::collections::BTreeSet<u32> = ["com.", "uk.", ".", "co.uk.", "net."]
            .iter()
            .map(|n| partition_of(n, 64))
            .collect();
        assert!(spread.len() > 1);
    }

    fn observation(owner: &str) -> Observation {
        Observation {
            rrset: RRset::new(
                NameBuf::from_text(owner).unwrap(),
                1,
                None,
                vec![vec![192, 0, 2, 1]],
            ),
            seen: Seen::once(1),
        }
    }

    #[test]
    fn a_split_flush_encodes_into_bodies_whose_first_line_names_their_partition() {
        let names: Vec<String> = (0..50)
            .map(|i| format!("h{i}.domain{}.org.", i % 9))
            .collect();
        let groups = split(names.iter().map(|n| observation(n)).collect(), 4);
        assert!(groups.len() > 1);
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 50);
        for group in groups {
            let partition = partition_of(&group[0].rrset.rrname().to_text(), 4);
            for observation in &group {
                assert_eq!(
                    partition_of(&observation.rrset.rrname().to_text(), 4),
                    partition
                );
            }
            for encoded in batch::encode(group, 200).unwrap() {
                assert_eq!(partition_of_body(&encoded.body, 4).unwrap(), partition);
            }
        }
        assert!(partition_of_body(b"not gzip", 4).is_err());
        assert_eq!(partition_of_body(b"not gzip", 1).unwrap(), 0);
    }
}
