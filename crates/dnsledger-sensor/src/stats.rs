//! The sensor's counters: every message it looked at and every drop, by reason.

use dnsledger_rrset::counters;

counters! {
    /// What the sensor did with the DNS messages the capture layer handed it.
    pub struct SensorStats {
        /// DNS payloads looked at.
        messages,
        /// Payloads whose DNS header or question could not be parsed.
        dropped_malformed_message,
        /// Messages that are neither a query to nor a response from a DNS port.
        dropped_wrong_direction,
        /// Queries (QR=0 to a DNS port) remembered for pairing.
        queries,
        /// Queries without exactly one question: nothing can pair with them.
        queries_dropped_no_single_question,
        /// Queries whose key was already outstanding (retransmissions).
        queries_duplicate,
        /// Queries not remembered because the pairing table was full.
        queries_dropped_over_limit,
        /// Queries that expired (or ended the input) without a response.
        queries_unanswered,
        /// Responses (QR=1 from a DNS port).
        responses,
        /// Responses whose UDP checksum was wrong.
        responses_dropped_bad_checksum,
        /// Responses without exactly one question.
        responses_dropped_no_single_question,
        /// Responses that answer no outstanding query: forged, late duplicates, stray.
        responses_dropped_unsolicited,
        /// Paired responses.
        pairs,
        /// Responses to RD=1 (client-side) queries, dropped unless client-side mode is on.
        responses_dropped_recursion_desired,
        /// Responses with an opcode other than QUERY.
        responses_dropped_opcode,
        /// Responses with TC=1: incomplete by definition.
        responses_dropped_truncated_tc,
        responses_dropped_rcode_formerr,
        responses_dropped_rcode_servfail,
        responses_dropped_rcode_notimp,
        responses_dropped_rcode_refused,
        /// Responses with an RCODE other than those above, NOERROR and NXDOMAIN.
        responses_dropped_rcode_other,
        /// NXDOMAIN responses when only NOERROR is kept.
        responses_dropped_rcode_nxdomain,
        /// Responses from an address not known to serve any zone enclosing the question.
        responses_dropped_unknown_server,
        /// Resolver-reported responses whose reported zone (dnstap `query_zone`) does not
        /// enclose the question.
        responses_dropped_qname_outside_zone,
        /// Responses whose records could not be parsed, or whose rdata does not fit its type.
        responses_dropped_malformed_records,
        /// Responses that passed every other check but whose question is outside the scope
        /// (`--include-suffix`, `--exclude-suffix`); the authority they carry is still learnt.
        responses_dropped_scope,
        /// Responses that fed the history.
        responses_used,
        /// Of those, client-side responses (RD=1, no bailiwick), in client-side mode only.
        responses_used_client_side,
        /// RRsets accepted: one per RRset per used response (the observations).
        rrsets_accepted,
        /// RRsets whose owner is not at or below the bailiwick.
        rrsets_dropped_out_of_bailiwick,
        /// RRsets within the bailiwick not recorded because their owner, or the question of
        /// their response, is outside the scope.
        rrsets_dropped_scope,
        /// OPT, TSIG and SIG(0) records, never stored.
        records_skipped_meta,
        /// Records of a class other than IN.
        records_skipped_class,
        /// Authority facts (zone servers) not learned because the table was full.
        authority_facts_dropped_over_limit,
        /// Times the aggregation table was drained to the sink.
        flushes,
        /// Aggregated rows handed to the sink.
        rrsets_flushed,
    }
}
