//! Reading one retired TPACKET_V3 block: the packets the kernel packed into it.
//!
//! A block starts with `struct tpacket_block_desc` (linux/if_packet.h): `version`,
//! `offset_to_priv`, then `struct tpacket_hdr_v1` with `block_status` (byte 8), `num_pkts`
//! (12) and `offset_to_first_pkt` (16). Each packet is a `struct tpacket3_hdr` with
//! `tp_next_offset` (0), `tp_sec` (4), `tp_nsec` (8), `tp_snaplen` (12), `tp_len` (16) and
//! `tp_mac` (24), the frame `tp_mac` bytes after the header's start. Everything here is safe
//! code over the block's bytes after `block_status` (which only `sys` touches, atomically):
//! offsets are checked, so a block that does not add up ends the walk and is counted
//! instead of being read out of bounds.

/// Where [`Block::body`](crate::sys::Block) starts in a block: after `block_status`.
pub(crate) const BODY_OFFSET: usize = 12;

const NUM_PKTS: usize = 12;
const OFFSET_TO_FIRST_PKT: usize = 16;
const TP_NEXT_OFFSET: usize = 0;
const TP_SEC: usize = 4;
const TP_NSEC: usize = 8;
const TP_SNAPLEN: usize = 12;
const TP_LEN: usize = 16;
const TP_MAC: usize = 24;
const TPACKET3_HDR_LEN: usize = 48;

/// One captured frame in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RingFrame<'a> {
    /// The kernel's receive time, nanoseconds since the Unix epoch (`CLOCK_REALTIME`).
    pub ts_nanos: i64,
    /// The captured bytes, from the link header on.
    pub data: &'a [u8],
    /// The frame's length on the wire (more than `data` if the ring had to cut it).
    pub orig_len: u32,
}

/// Calls `each` for every frame in a retired block, given its bytes from [`BODY_OFFSET`]
/// on. Returns `false` if the block's offsets do not add up (the frames before the problem
/// were handed over).
pub(crate) fn for_each_frame<'a>(body: &'a [u8], mut each: impl FnMut(RingFrame<'a>)) -> bool {
    let (Some(count), Some(first)) = (
        read_u32(body, NUM_PKTS),
        read_u32(body, OFFSET_TO_FIRST_PKT),
    ) else {
        return false;
    };
    let mut at = first as usize;
    for index in 0..count {
        let Some((frame, next)) = frame_at(body, at) else {
            return false;
        };
        each(frame);
        if index + 1 < count {
            at = match at.checked_add(next) {
                Some(after) if next > 0 => after,
                _ => return false,
            };
        }
    }
    true
}

/// The frame whose `tpacket3_hdr` starts at block offset `at`, and `tp_next_offset`.
fn frame_at(body: &[u8], at: usize) -> Option<(RingFrame<'_>, usize)> {
    if at < BODY_OFFSET || at.checked_add(TPACKET3_HDR_LEN)? > BODY_OFFSET + body.len() {
        return None;
    }
    let field = |offset: usize| read_u32(body, at + offset);
    let mac = usize::from(read_u16(body, at + TP_MAC)?);
    let snaplen = field(TP_SNAPLEN)? as usize;
    let start = (at + mac).checked_sub(BODY_OFFSET)?;
    let data = body.get(start..start.checked_add(snaplen)?)?;
    let ts_nanos = i64::from(field(TP_SEC)?) * 1_000_000_000 + i64::from(field(TP_NSEC)?);
    let frame = RingFrame {
        ts_nanos,
        data,
        orig_len: field(TP_LEN)?,
    };
    Some((frame, field(TP_NEXT_OFFSET)? as usize))
}

/// A native-endian `u32` at block offset `at`.
fn read_u32(body: &[u8], at: usize) -> Option<u32> {
    let start = at.checked_sub(BODY_OFFSET)?;
    let bytes = body.get(start..start + 4)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

fn read_u16(body: &[u8], at: usize) -> Option<u16> {
    let start = at.checked_sub(BODY_OFFSET)?;
    let bytes = body.get(start..start + 2)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block as the kernel lays it out: descriptor, then each frame behind a 48-byte
    /// header plus 32 bytes (where `struct sockaddr_ll` goes), 16-byte aligned.
    fn block(frames: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut block = vec![0u8; 48];
        block[NUM_PKTS..NUM_PKTS + 4].copy_from_slice(&(frames.len() as u32).to_ne_bytes());
        block[OFFSET_TO_FIRST_PKT..OFFSET_TO_FIRST_PKT + 4].copy_from_slice(&48u32.to_ne_bytes());
        for (index, (sec, nsec, data)) in frames.iter().enumerate() {
            let at = block.len();
            let mac = 48 + 32;
            let len = (mac + data.len()).div_ceil(16) * 16;
            block.resize(at + len, 0);
            let next = if index + 1 == frames.len() { 0 } else { len };
            let put = |block: &mut Vec<u8>, offset: usize, value: u32| {
                block[at + offset..at + offset + 4].copy_from_slice(&value.to_ne_bytes())
            };
            put(&mut block, TP_NEXT_OFFSET, next as u32);
            put(&mut block, TP_SEC, *sec);
            put(&mut block, TP_NSEC, *nsec);
            put(&mut block, TP_SNAPLEN, data.len() as u32);
            put(&mut block, TP_LEN, data.len() as u32 + 4);
            block[at + TP_MAC..at + TP_MAC + 2].copy_from_slice(&(mac as u16).to_ne_bytes());
            block[at + mac..at + mac + data.len()].copy_from_slice(data);
        }
        block
    }

    fn walk(block: &[u8]) -> (bool, Vec<(i64, Vec<u8>, u32)>) {
        let mut seen = Vec::new();
        let whole = for_each_frame(&block[BODY_OFFSET..], |f| {
            seen.push((f.ts_nanos, f.data.to_vec(), f.orig_len))
        });
        (whole, seen)
    }

    #[test]
    fn walks_every_frame_with_its_time_and_lengths() {
        let block = block(&[(10, 5, b"first frame"), (11, 0, b"second")]);
        let (whole, seen) = walk(&block);
        assert!(whole);
        assert_eq!(
            seen,
            vec![
                (10_000_000_005, b"first frame".to_vec(), 15),
                (11_000_000_000, b"second".to_vec(), 10),
            ]
        );
    }

    #[test]
    fn a_block_that_does_not_add_up_ends_the_walk() {
        let mut bad = block(&[(1, 0, b"one"), (2, 0, b"two")]);
        let second = 48 + (48 + 32 + 3usize).div_ceil(16) * 16;
        bad[second + TP_SNAPLEN..second + TP_SNAPLEN + 4].copy_from_slice(&9999u32.to_ne_bytes());
        let (whole, seen) = walk(&bad);
        assert!(!whole);
        assert_eq!(seen.len(), 1);

        let mut bad = block(&[(1, 0, b"one")]);
        bad[OFFSET_TO_FIRST_PKT..OFFSET_TO_FIRST_PKT + 4].copy_from_slice(&4u32.to_ne_bytes());
        assert_eq!(walk(&bad), (false, vec![]));
        assert!(!for_each_frame(&[0; 3], |_| {}));
    }

    #[test]
    fn an_empty_block_has_no_frames() {
        assert_eq!(walk(&block(&[])), (true, vec![]));
    }
}
