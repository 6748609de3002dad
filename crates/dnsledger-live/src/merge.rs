//! From the capture threads to the one sensor, in time order.
//!
//! Why one sensor for all threads: pairing needs a query and its response together, which
//! the fanout hash gives, but bailiwick reconstruction needs more: the referral one server
//! sent (one flow) decides whether the next server's response (another flow, most likely
//! another thread) is in bailiwick. Sensors per thread would each learn a fraction of the
//! delegations and drop the rest as `responses_dropped_unknown_server`; one shared map would
//! still depend on which thread ran first. So the threads decode (link, IP, fragments, TCP
//! streams: per-flow state, which the fanout hash keeps in one thread) and the sensor takes
//! their messages merged in timestamp order, as it would from one capture.
//!
//! How: with its batches each thread reports the wall-clock time at which it found its ring
//! empty ("caught up"). Every packet stamped before that time minus a guard (for the block
//! the kernel had not retired yet) has reached the thread, so messages up to the smallest
//! caught-up time minus the guard are final and go to the sensor oldest first. What is held
//! is bounded: past `max_held_bytes` the oldest message goes early, and is counted.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use dnsledger_capture::{ChecksumStatus, DnsPayload, Transport};

use crate::stats::LiveStats;

/// The "caught up" time of a thread's last batch: nothing more will come from it.
pub(crate) const FINISHED: i64 = i64::MAX;

/// A DNS message's metadata; its bytes are `start..start + len` of the batch's buffer.
#[derive(Clone, Copy, Debug)]
struct Item {
    ts_nanos: i64,
    transport: Transport,
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    udp_checksum: ChecksumStatus,
    start: usize,
    len: usize,
}

/// DNS messages one capture thread decoded, in its order, copied out of the ring.
#[derive(Debug)]
pub(crate) struct Batch {
    pub worker: usize,
    items: Vec<Item>,
    bytes: Vec<u8>,
    /// When the thread last found its ring empty (wall clock, ns since the epoch), if it
    /// did since the previous batch; [`FINISHED`] on its last batch.
    pub caught_up: Option<i64>,
}

impl Batch {
    pub fn new(worker: usize) -> Batch {
        Batch {
            worker,
            items: Vec::new(),
            bytes: Vec::new(),
            caught_up: None,
        }
    }

    pub fn push(&mut self, payload: &DnsPayload<'_>) {
        self.items.push(Item {
            ts_nanos: payload.ts_nanos,
            transport: payload.transport,
            src: payload.src,
            dst: payload.dst,
            src_port: payload.src_port,
            dst_port: payload.dst_port,
            udp_checksum: payload.udp_checksum,
            start: self.bytes.len(),
            len: payload.data.len(),
        });
        self.bytes.extend_from_slice(payload.data);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Memory held, roughly.
    pub fn size(&self) -> usize {
        self.bytes.len() + self.items.len() * std::mem::size_of::<Item>()
    }

    fn payload(&self, index: usize) -> DnsPayload<'_> {
        let item = &self.items[index];
        DnsPayload {
            ts_nanos: item.ts_nanos,
            transport: item.transport,
            src: item.src,
            dst: item.dst,
            src_port: item.src_port,
            dst_port: item.dst_port,
            udp_checksum: item.udp_checksum,
            data: &self.bytes[item.start..item.start + item.len],
        }
    }
}

#[derive(Debug)]
struct Queue {
    batches: VecDeque<Batch>,
    /// The next message in the front batch.
    cursor: usize,
    caught_up: i64,
}

impl Queue {
    fn head_time(&self) -> Option<i64> {
        let batch = self.batches.front()?;
        Some(batch.items[self.cursor].ts_nanos)
    }
}

/// Holds each thread's messages until they are final, and releases them oldest first.
#[derive(Debug)]
pub(crate) struct Merger {
    queues: Vec<Queue>,
    guard_nanos: i64,
    held_bytes: usize,
    max_held_bytes: usize,
    last_released: i64,
}

impl Merger {
    pub fn new(workers: usize, guard: Duration, max_held_bytes: usize) -> Merger {
        let queue = || Queue {
            batches: VecDeque::new(),
            cursor: 0,
            caught_up: i64::MIN,
        };
        Merger {
            queues: (0..workers).map(|_| queue()).collect(),
            guard_nanos: i64::try_from(guard.as_nanos()).unwrap_or(i64::MAX),
            held_bytes: 0,
            max_held_bytes,
            last_released: i64::MIN,
        }
    }

    pub fn push(&mut self, batch: Batch) {
        let queue = &mut self.queues[batch.worker];
        if let Some(time) = batch.caught_up {
            // A wall clock stepped back must not take back what was released.
            queue.caught_up = queue.caught_up.max(time);
        }
        if !batch.is_empty() {
            self.held_bytes += batch.size();
            queue.batches.push_back(batch);
        }
    }

    /// Every thread has ended: all that is held is final.
    pub fn finish(&mut self) {
        for queue in &mut self.queues {
            queue.caught_up = FINISHED;
        }
    }

    /// Whether more than the bound is held: take no more batches until some are released.
    pub fn is_full(&self) -> bool {
        self.held_bytes > self.max_held_bytes
    }

    /// Messages stamped up to this are final. One thread's messages are final at once.
    fn horizon(&self) -> i64 {
        if self.queues.len() == 1 {
            return i64::MAX;
        }
        let caught_up = self.queues.iter().map(|q| q.caught_up).min();
        caught_up
            .unwrap_or(i64::MAX)
            .saturating_sub(self.guard_nanos)
    }

    /// Hands every final message to `handle`, oldest first (and the oldest held ones
    /// regardless while over the bound). Stops at `handle`'s first error.
    pub fn release<E>(
        &mut self,
        stats: &mut LiveStats,
        mut handle: impl FnMut(&DnsPayload<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let horizon = self.horizon();
        while let Some((worker, time)) = self.oldest() {
            if time > horizon {
                if !self.is_full() {
                    break;
                }
                stats.messages_released_early += 1;
            }
            if time < self.last_released {
                stats.messages_out_of_order += 1;
            }
            self.last_released = self.last_released.max(time);
            let queue = &mut self.queues[worker];
            let batch = queue.batches.front().expect("a queue with a head");
            let result = handle(&batch.payload(queue.cursor));
            queue.cursor += 1;
            if queue.cursor == batch.items.len() {
                self.held_bytes -= batch.size();
                queue.batches.pop_front();
                queue.cursor = 0;
            }
            result?;
        }
        Ok(())
    }

    /// The thread whose next message is the oldest, and that message's time.
    fn oldest(&self) -> Option<(usize, i64)> {
        let heads = self.queues.iter().enumerate();
        let heads = heads.filter_map(|(worker, queue)| Some((worker, queue.head_time()?)));
        heads.min_by_key(|&(_, time)| time)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const GUARD: Duration = Duration::from_nanos(10);

    fn batch(worker: usize, times: &[i64], caught_up: Option<i64>) -> Batch {
        let mut batch = Batch::new(worker);
        for time in times {
            batch.push(&DnsPayload {
                ts_nanos: *time,
                transport: Transport::Udp,
                src: IpAddr::V4(Ipv4Addr::LOCALHOST),
                dst: IpAddr::V4(Ipv4Addr::LOCALHOST),
                src_port: 53,
                dst_port: 40_000,
                udp_checksum: ChecksumStatus::Valid,
                data: &time.to_be_bytes(),
            });
        }
        batch.caught_up = caught_up;
        batch
    }

    fn release(merger: &mut Merger, stats: &mut LiveStats) -> Vec<i64> {
        let mut seen = Vec::new();
        merger
            .release(stats, |payload| {
                assert_eq!(payload.data, payload.ts_nanos.to_be_bytes());
                seen.push(payload.ts_nanos);
                Ok::<(), ()>(())
            })
            .unwrap();
        seen
    }

    #[test]
    fn one_thread_is_released_at_once_in_its_order() {
        let mut merger = Merger::new(1, GUARD, 1 << 20);
        let mut stats = LiveStats::default();
        merger.push(batch(0, &[5, 3, 9], None));
        assert_eq!(release(&mut merger, &mut stats), vec![5, 3, 9]);
        assert_eq!(stats.messages_out_of_order, 1);
    }

    #[test]
    fn several_threads_merge_by_time_once_all_have_caught_up() {
        let mut merger = Merger::new(2, GUARD, 1 << 20);
        let mut stats = LiveStats::default();
        merger.push(batch(0, &[100, 130, 160], Some(200)));
        // Thread 1 has not reported yet: its earlier packets may still come.
        assert_eq!(release(&mut merger, &mut stats), Vec::<i64>::new());
        merger.push(batch(1, &[110, 150], Some(145)));
        // Final up to 145 - 10: the rest waits for thread 1 to catch up further.
        assert_eq!(release(&mut merger, &mut stats), vec![100, 110, 130]);
        merger.push(batch(1, &[], Some(FINISHED)));
        assert_eq!(release(&mut merger, &mut stats), vec![150, 160]);
        assert_eq!(stats, LiveStats::default());
    }

    #[test]
    fn past_the_bound_the_oldest_goes_early_and_is_counted() {
        let bound = batch(0, &[1], None).size();
        let mut merger = Merger::new(2, GUARD, bound);
        let mut stats = LiveStats::default();
        merger.push(batch(0, &[1], Some(100)));
        assert!(!merger.is_full());
        merger.push(batch(0, &[2], None));
        assert!(merger.is_full());
        assert_eq!(release(&mut merger, &mut stats), vec![1]);
        assert_eq!(stats.messages_released_early, 1);
        assert!(!merger.is_full());
    }

    #[test]
    fn a_clock_stepping_back_takes_nothing_back() {
        let mut merger = Merger::new(2, GUARD, 1 << 20);
        let mut stats = LiveStats::default();
        merger.push(batch(0, &[50], Some(100)));
        merger.push(batch(1, &[], Some(100)));
        merger.push(batch(1, &[], Some(20)));
        assert_eq!(release(&mut merger, &mut stats), vec![50]);
    }
}
