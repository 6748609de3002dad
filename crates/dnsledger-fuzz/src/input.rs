//! The one framing the structured targets share: a big-endian `u16` length, then that many
//! bytes (the DNS-over-TCP framing).

/// Splits `input` into the next length-prefixed record and the rest. A record shorter than
/// its length takes what is left, so that a fuzzer's cut never wastes an input.
/// `None` when fewer than two bytes are left.
pub(crate) fn take_record(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&[hi, lo], rest) = input.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes([hi, lo])).min(rest.len());
    Some(rest.split_at(len))
}
