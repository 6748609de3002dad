//! Open addressing with linear probing over one array of slots keyed by fingerprint: the
//! layout of the large tables probed at random (the sensor's aggregation rows and authority
//! facts, the store writer's cache of known names).
//!
//! Why not a general hash table: a lookup there reads a control byte group and then the
//! bucket, two cache misses in a table larger than the caches; here the slot a probe starts
//! at is computed from the fingerprint alone, so a lookup is one miss (its neighbours follow
//! in the same or the next line), and the caller can prefetch that slot as soon as it knows
//! the fingerprint ([`ProbeTable::prefetch`]), so that several misses overlap. At most
//! three quarters of the slots are taken, which keeps the runs a probe walks short.

use crate::{prefetch, Fingerprint};

/// What a [`ProbeTable`] holds: a fingerprint and whatever goes with it; slots whose
/// fingerprint is [`Fingerprint::VACANT`] are free.
pub trait Slot {
    const VACANT: Self;
    fn fingerprint(&self) -> Fingerprint;
}

impl Slot for Fingerprint {
    const VACANT: Fingerprint = Fingerprint::VACANT;
    fn fingerprint(&self) -> Fingerprint {
        *self
    }
}

/// A table of [`Slot`]s found by fingerprint (see the module documentation).
#[derive(Debug)]
pub struct ProbeTable<T> {
    /// A power of two of slots, or none until the first insert.
    slots: Vec<T>,
    len: usize,
    /// The slots the first insert allocates.
    room: usize,
}

const INITIAL_SLOTS: usize = 1024;

impl<T: Slot + Clone> Default for ProbeTable<T> {
    fn default() -> ProbeTable<T> {
        ProbeTable::new()
    }
}

impl<T: Slot + Clone> ProbeTable<T> {
    pub fn new() -> ProbeTable<T> {
        ProbeTable {
            slots: Vec::new(),
            len: 0,
            room: INITIAL_SLOTS,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the probe for `fingerprint` begins (0 while there are no slots).
    fn home(&self, fingerprint: Fingerprint) -> usize {
        fingerprint.table_hash() as usize & self.slots.len().saturating_sub(1)
    }

    /// Starts loading the slot where the probe for `fingerprint` begins.
    pub fn prefetch(&self, fingerprint: Fingerprint) {
        if let Some(slot) = self.slots.get(self.home(fingerprint)) {
            prefetch(slot);
        }
    }

    /// The first slot holding `fingerprint` that `accept` accepts; `accept` sees every slot
    /// holding it until then, in probe order.
    pub fn find_mut(
        &mut self,
        fingerprint: Fingerprint,
        accept: impl FnMut(&T) -> bool,
    ) -> Option<&mut T> {
        let at = self.position(fingerprint, accept)?;
        Some(&mut self.slots[at])
    }

    pub fn contains(&self, fingerprint: Fingerprint) -> bool {
        self.position(fingerprint, |_| true).is_some()
    }

    fn position(
        &self,
        fingerprint: Fingerprint,
        mut accept: impl FnMut(&T) -> bool,
    ) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(fingerprint);
        loop {
            let held = self.slots[at].fingerprint();
            if held == Fingerprint::VACANT {
                return None;
            }
            if held == fingerprint && accept(&self.slots[at]) {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds `slot`, which no lookup has found (several slots may share a fingerprint).
    pub fn insert(&mut self, slot: T) {
        if self.slots.is_empty() {
            self.slots = vacant_slots(self.room);
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(slot);
        self.len += 1;
    }

    fn place(&mut self, slot: T) {
        let mask = self.slots.len() - 1;
        let mut at = self.home(slot.fingerprint());
        while self.slots[at].fingerprint() != Fingerprint::VACANT {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    fn grow(&mut self) {
        let doubled = vacant_slots(self.slots.len() * 2);
        let old = std::mem::replace(&mut self.slots, doubled);
        for slot in old {
            if slot.fingerprint() != Fingerprint::VACANT {
                self.place(slot);
            }
        }
    }

    /// Takes every slot out, leaving the table empty; its next insert makes room for as
    /// many as it held. A live sensor drains once a second: a burst must not leave it
    /// walking (and holding) a table sized for the burst at every flush after; and the
    /// last drain of a capture allocates nothing.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + use<T> {
        self.room = slots_for(self.len);
        self.len = 0;
        std::mem::take(&mut self.slots)
            .into_iter()
            .filter(|slot| slot.fingerprint() != Fingerprint::VACANT)
    }
}

/// `len` vacant slots, in huge pages where the kernel has them: the tables are probed at
/// random over tens of MiB, and with 4 KiB pages nearly every probe (and every prefetch,
/// which waits for its page walk) missed the TLB as well as the caches.
fn vacant_slots<T: Slot + Clone>(len: usize) -> Vec<T> {
    let mut slots = Vec::with_capacity(len);
    advise_huge_pages(slots.spare_capacity_mut());
    slots.resize(len, T::VACANT);
    slots
}

/// Asks the kernel to back the whole 2 MiB pages inside `memory` with huge pages when they
/// are first touched (transparent huge pages in `madvise` mode, Debian's default). Only a
/// hint: where huge pages are off or none is free, the memory is the same in 4 KiB pages.
fn advise_huge_pages<T>(memory: &mut [std::mem::MaybeUninit<T>]) {
    const HUGE_PAGE: usize = 2 << 20;
    let start = memory.as_mut_ptr() as usize;
    let first = start.next_multiple_of(HUGE_PAGE);
    let end = (start + std::mem::size_of_val(memory)) / HUGE_PAGE * HUGE_PAGE;
    if end > first {
        // SAFETY: the range lies inside `memory`, which this process owns; MADV_HUGEPAGE
        // neither reads nor writes it and changes no contents, only how later page faults
        // in it are served. Its result is ignored on purpose: a refusal leaves 4 KiB pages.
        #[cfg(target_os = "linux")]
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

/// The fewest slots (a power of two, at least [`INITIAL_SLOTS`]) that hold `len` at most
/// three quarters full.
fn slots_for(len: usize) -> usize {
    len.saturating_mul(4)
        .div_ceil(3)
        .next_power_of_two()
        .max(INITIAL_SLOTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fingerprinter;

    /// A slot with a payload, several of which may share a fingerprint.
    #[derive(Clone, Debug)]
    struct Tagged(Fingerprint, u32);

    impl Slot for Tagged {
        const VACANT: Tagged = Tagged(Fingerprint::VACANT, 0);
        fn fingerprint(&self) -> Fingerprint {
            self.0
        }
    }

    #[test]
    fn slots_are_found_through_growth_with_their_twins_and_drained_once() {
        let fingerprints = Fingerprinter::new();
        let keys: Vec<Fingerprint> = (0..5_000u32)
            .map(|key| fingerprints.of(&[&key.to_be_bytes()]))
            .collect();
        let mut table = ProbeTable::new();
        for (tag, &key) in keys.iter().enumerate() {
            assert!(table.find_mut(key, |_| true).is_none());
            table.insert(Tagged(key, tag as u32));
            table.insert(Tagged(key, tag as u32 + 1_000_000));
        }
        assert_eq!(table.len(), 2 * keys.len());
        assert!(table.slots.len() * 3 >= table.len() * 4, "grown past 3/4");
        for (tag, &key) in keys.iter().enumerate() {
            // Twins come in no particular order (growth may swap them): `accept` sees each
            // until the one it takes.
            let mut seen = Vec::new();
            let twin = table.find_mut(key, |slot| {
                seen.push(slot.1);
                slot.1 >= 1_000_000
            });
            assert_eq!(twin.map(|slot| slot.1), Some(tag as u32 + 1_000_000));
            assert_eq!(seen.last(), Some(&(tag as u32 + 1_000_000)));
            assert!(seen.iter().all(|&held| held % 1_000_000 == tag as u32));
        }
        let mut drained: Vec<u32> = table.drain().map(|slot| slot.1).collect();
        drained.sort_unstable();
        assert_eq!(drained.len(), 2 * keys.len());
        assert_eq!(drained[..3], [0, 1, 2]);
        assert_eq!((table.len(), table.drain().count()), (0, 0));
        assert!(!table.contains(keys[0]));
        table.prefetch(keys[0]);
        assert_eq!(table.room, INITIAL_SLOTS, "an empty drain shrinks it back");
    }

    #[test]
    fn a_drain_leaves_room_for_as_many_as_were_held() {
        let fingerprints = Fingerprinter::new();
        let mut table = ProbeTable::new();
        for key in 0..10_000u32 {
            table.insert(fingerprints.of(&[&key.to_be_bytes()]));
        }
        assert_eq!(table.slots.len(), 16_384);
        assert_eq!(table.drain().count(), 10_000);
        assert!(
            table.slots.is_empty(),
            "nothing allocated until the next insert"
        );
        table.insert(fingerprints.of(&[b"one"]));
        assert_eq!(table.slots.len(), 16_384, "room for the same load again");
        assert_eq!(table.drain().count(), 1);
        table.insert(fingerprints.of(&[b"two"]));
        assert_eq!(table.slots.len(), INITIAL_SLOTS);
        assert_eq!(slots_for(768), 1024);
        assert_eq!(slots_for(769), 2048);
    }
}
