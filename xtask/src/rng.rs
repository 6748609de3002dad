//! Deterministic randomness: a seeded generator for choices made while walking, a keyed hash
//! for properties that must not depend on the walk, and a Zipf sampler for popularity.
//!
//! Everything here is defined by integer arithmetic alone (no `rand` crate, no platform
//! hasher), so a seed names the same capture bytes on every machine and every release.

/// SplitMix64: one 64-bit state, full period, good enough statistics for traffic shapes.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// A generator for one purpose, independent of the others drawn from the same seed, so
    /// that a change in how often one stream is used does not shift the others.
    pub fn stream(seed: u64, purpose: u64) -> Rng {
        Rng::new(mix(seed, purpose))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        finalize(self.state)
    }

    /// Uniform in `0..n` (`n > 0`), by the multiply-high method (no modulo bias worth
    /// mentioning at these sizes, and no division).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille / 1000`.
    pub fn per_mille(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// Uniform in `[0, 1)` with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, drawn in proportion to them (their sum must be positive).
    pub fn weighted(&mut self, weights: impl Iterator<Item = u64> + Clone) -> usize {
        let mut roll = self.below(weights.clone().sum());
        for (index, weight) in weights.enumerate() {
            if roll < weight {
                return index;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the sum of the weights")
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// The SplitMix64 output function: a bijective avalanche of 64 bits.
fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes two words into one; chains for more (`mix(mix(a, b), c)`).
pub fn mix(a: u64, b: u64) -> u64 {
    finalize(a.wrapping_mul(GOLDEN_GAMMA) ^ finalize(b.wrapping_add(GOLDEN_GAMMA)))
}

/// Hashes bytes (FNV-1a, then an avalanche) with a key: a name's fixed properties.
pub fn hash_bytes(key: u64, bytes: &[u8]) -> u64 {
    let fnv = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    mix(key, fnv)
}

/// Ranks `0..n` drawn with probability proportional to `1 / (rank + 1)^exponent`: a few
/// names get most of the traffic, the long tail still gets some, as on real resolvers.
#[derive(Clone, Debug)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, exponent: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|rank| {
                total += (rank as f64).powf(-exponent);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    pub fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.unit() * total;
        let rank = self.cumulative.partition_point(|&c| c <= target);
        rank.min(self.cumulative.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::stream(7, 1).next_u64(), Rng::stream(7, 2).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(1);
        assert!((0..10_000).all(|_| rng.below(3) < 3));
        assert!((0..1000).all(|_| (5..=9).contains(&rng.between(5, 9))));
    }

    #[test]
    fn weighted_follows_the_weights() {
        let mut rng = Rng::new(5);
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[rng.weighted([1u64, 0, 9].into_iter())] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > 8 * counts[0], "{counts:?}");
    }

    #[test]
    fn zipf_favours_low_ranks() {
        let zipf = Zipf::new(1000, 1.0);
        let mut rng = Rng::new(3);
        let draws: Vec<usize> = (0..10_000).map(|_| zipf.sample(&mut rng)).collect();
        let top = draws.iter().filter(|&&r| r < 10).count();
        let tail = draws.iter().filter(|&&r| r >= 990).count();
        assert!(draws.iter().all(|&r| r < 1000));
        assert!(top > 10 * tail, "top {top} tail {tail}");
    }
}
