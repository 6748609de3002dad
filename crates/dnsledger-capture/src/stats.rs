//! Decoder counters.

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident, )*) => {
        /// Plain counters of everything the [`crate::Decoder`] saw, kept and dropped (every
        /// drop has a reason). [`DecodeStats::counters`] lists them with stable snake_case
        /// names in a stable order.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct DecodeStats {
            $( $(#[$doc])* pub $name: u64, )*
        }

        impl DecodeStats {
            /// Every counter with its stable name, in declaration order.
            pub fn counters(&self) -> Vec<(&'static str, u64)> {
                vec![ $( (stringify!($name), self.$name), )* ]
            }

            /// Adds another decoder's counters to these (for several decoding threads).
            pub fn merge(&mut self, other: &DecodeStats) {
                $( self.$name = self.$name.wrapping_add(other.$name); )*
            }
        }
    };
}

counters! {
    /// Frames given to `decode`.
    frames,
    /// Captured bytes of those frames.
    bytes,
    /// IPv4 packets (fragments included).
    ipv4,
    /// IPv6 packets (fragments included).
    ipv6,
    /// UDP datagrams (after reassembly).
    udp,
    /// TCP segments.
    tcp,
    /// DNS payloads emitted (UDP datagrams plus TCP messages).
    dns_payloads,
    /// Frames cut by the capture's snaplen (captured length < original length).
    dropped_snaplen_truncated,
    /// Frames of a link type this crate does not decode.
    dropped_unsupported_link_type,
    /// Frames too short for their link header(s) (VLAN tags, PPPoE, MPLS labels included).
    dropped_malformed_link,
    /// Frames whose link layer carries something other than IP (ARP, LLDP, a loopback
    /// address family that is not IPv4/IPv6, ...).
    dropped_not_ip,
    /// Bad IP headers (version, header length, total length beyond the captured bytes,
    /// extension-header chain).
    dropped_malformed_ip,
    /// IP packets carrying neither UDP nor TCP (ICMP, ESP, no next header, ...).
    dropped_other_protocol,
    /// UDP headers that are short or whose length field is impossible.
    dropped_malformed_udp,
    /// TCP headers that are short or whose data offset is impossible.
    dropped_malformed_tcp,
    /// UDP or TCP with no DNS port on either side.
    dropped_not_dns_port,
    /// Emitted UDP payloads whose checksum was checked and wrong.
    udp_checksum_invalid,
    /// Emitted IPv4 UDP payloads without a checksum (0).
    udp_checksum_absent,
    /// Emitted UDP payloads whose checksum field held only the pseudo-header sum (captured on
    /// the sending host before checksum offload); reported as `NotChecked`.
    udp_checksum_offloaded,
    /// IP fragments received (IPv4 and IPv6).
    fragments,
    /// Datagrams completed from fragments.
    fragments_reassembled,
    /// Incomplete datagrams discarded after `fragment_timeout_nanos`.
    fragments_expired,
    /// Fragments discarded because a per-datagram or global limit was reached.
    fragments_over_limit,
    /// Fragments with impossible offsets or lengths (discarded).
    fragments_invalid,
    /// Fragments overlapping data already received (the first copy is kept).
    fragments_overlapping,
    /// Datagrams discarded because overlapping fragments disagreed about their bytes or
    /// their end.
    fragments_conflicting,
    /// Incomplete datagrams discarded by `finish`.
    fragments_incomplete_at_finish,
    /// TCP stream directions started (at a SYN or mid-stream).
    tcp_streams,
    /// TCP stream directions started without a SYN (assumed to begin at a message).
    tcp_midstream_starts,
    /// DNS messages taken from TCP streams.
    tcp_messages,
    /// Payload bytes that repeated bytes already received (retransmissions), dropped.
    tcp_retransmitted_bytes,
    /// Segments that arrived ahead of a gap and were buffered.
    tcp_out_of_order_segments,
    /// Gaps that never filled (acknowledged by the receiver, buffer limit, timeout, FIN/RST,
    /// expiry, finish): the partial message was dropped and the stream resynchronised.
    tcp_holes,
    /// Segments (or stream starts) refused because a per-stream or global limit was reached.
    tcp_over_limit,
    /// Length prefixes announcing a message shorter than a DNS header (0-11 bytes): the rest of
    /// the segment was dropped and the stream resynchronised.
    tcp_bad_length_prefix,
    /// Segments skipped while resynchronising (after a hole, a bad length prefix or a start
    /// without SYN) because they did not look like the start of a message.
    tcp_resync_skipped_segments,
    /// Streams expired (idle for `tcp_timeout_nanos`) while holding a partial message or
    /// buffered segments.
    tcp_expired_partial,
    /// Streams closed by FIN or RST while holding a partial message.
    tcp_partial_at_close,
    /// Streams holding a partial message or buffered segments at `finish`.
    tcp_partial_at_finish,
    /// Payload segments after the stream direction was closed (FIN/RST), ignored.
    tcp_segments_after_close,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_merge() {
        let mut a = DecodeStats {
            frames: 2,
            tcp_holes: 1,
            ..DecodeStats::default()
        };
        let b = DecodeStats {
            frames: 3,
            dns_payloads: 7,
            ..DecodeStats::default()
        };
        a.merge(&b);
        let c = a.counters();
        assert_eq!(c[0], ("frames", 5));
        assert!(c.contains(&("dns_payloads", 7)));
        assert!(c.contains(&("tcp_holes", 1)));
        assert!(c.contains(&("dropped_snaplen_truncated", 0)));
        let mut names: Vec<_> = c.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), c.len());
    }
}
