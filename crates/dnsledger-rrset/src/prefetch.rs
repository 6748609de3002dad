//! Software prefetch: asking the CPU to start loading a cache line that will be needed a
//! little later, so that misses to main memory overlap instead of following one another.
//! The sensor's tables are far larger than the caches and touched at random, a miss per
//! probe; where the next probes are known ahead (the RRsets of a response, the rows of a
//! flush), they are prefetched first.

/// Starts loading the cache line that holds the start of `value` into every cache level.
/// Only a hint: it changes no result, and does nothing on targets without the instruction.
#[inline(always)]
pub fn prefetch<T: ?Sized>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 reads nothing the program can observe and never faults, whatever
    // the address; SSE, the extension it belongs to, is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
