//! From dnstap frames to the sensor's entry points.

use std::net::IpAddr;

use dnsledger_capture::Transport;
use dnsledger_rrset::{counters, ObservationSink, SinkError};
use dnsledger_sensor::{ResolverReport, Sensor};

use crate::proto::{message_type, socket_protocol, Dnstap, Message, DNSTAP_MESSAGE};

counters! {
    /// What became of the dnstap frames handed to a [`Feeder`] (what the sensor then did with
    /// the DNS messages is in its own counters).
    pub struct DnstapStats {
        /// Data frames looked at.
        frames,
        /// Frames that are not a valid dnstap protobuf.
        frames_malformed,
        /// Frames whose type is not MESSAGE, or that carry no message.
        frames_without_message,
        /// RESOLVER_QUERY messages handed to the sensor.
        resolver_queries,
        /// RESOLVER_RESPONSE messages handed to the sensor.
        resolver_responses,
        /// RESOLVER_RESPONSE messages without `query_zone` (no bailiwick): dropped.
        resolver_responses_dropped_no_query_zone,
        /// CLIENT_RESPONSE messages handed to the sensor (client-side mode).
        client_responses,
        /// CLIENT_RESPONSE messages skipped because client-side mode is off.
        client_responses_skipped,
        /// Messages of the other types (AUTH_*, CLIENT_QUERY, FORWARDER_*, STUB_*, TOOL_*,
        /// UPDATE_*): not used.
        messages_other_type,
        /// Messages lacking a field their use needs (DNS message, time, addresses, server
        /// port, protocol).
        messages_dropped_missing_field,
        /// Messages with an address that is neither 4 nor 16 bytes, a port over 65535, a
        /// time out of range or an unknown protocol.
        messages_dropped_bad_field,
    }
}

/// What a message becomes: a call of one of the sensor's entry points.
enum Routed<'a> {
    ResolverQuery(ResolverReport<'a>),
    ResolverResponse(ResolverReport<'a>, &'a [u8]),
    ClientResponse(&'a [u8], i64),
}

/// Why a message is not handed to the sensor.
enum Skip {
    MissingField,
    BadField,
    NoQueryZone,
    ClientSideOff,
    OtherType,
}

/// Decodes dnstap frames and hands their DNS messages to a sensor: resolver queries and
/// responses (the response with its `query_zone` as bailiwick); the resolver's answers to
/// its clients only in client-side mode.
#[derive(Debug)]
pub struct Feeder {
    accept_client_side: bool,
    stats: DnstapStats,
}

impl Feeder {
    /// `accept_client_side`: also use CLIENT_RESPONSE messages (stored without bailiwick).
    /// The sensor must then be in client-side mode too
    /// (`SensorConfig::accept_recursion_desired`), or it drops them.
    pub fn new(accept_client_side: bool) -> Feeder {
        Feeder {
            accept_client_side,
            stats: DnstapStats::default(),
        }
    }

    /// One data frame. Errors come only from the sensor's sink.
    pub fn frame<S: ObservationSink>(
        &mut self,
        sensor: &mut Sensor<S>,
        frame: &[u8],
    ) -> Result<(), SinkError> {
        self.stats.frames += 1;
        let message = match Dnstap::decode(frame) {
            Ok(Dnstap {
                kind: Some(DNSTAP_MESSAGE),
                message: Some(message),
            }) => message,
            Ok(_) => {
                self.stats.frames_without_message += 1;
                return Ok(());
            }
            Err(_) => {
                self.stats.frames_malformed += 1;
                return Ok(());
            }
        };
        let routed = match self.route(&message) {
            Ok(routed) => routed,
            Err(skip) => {
                *self.skip_counter(skip) += 1;
                return Ok(());
            }
        };
        match routed {
            Routed::ResolverQuery(report) => {
                self.stats.resolver_queries += 1;
                sensor.handle_resolver_query(&report)
            }
            Routed::ResolverResponse(report, zone) => {
                self.stats.resolver_responses += 1;
                sensor.handle_resolver_response(&report, zone)
            }
            Routed::ClientResponse(data, ts_nanos) => {
                self.stats.client_responses += 1;
                sensor.handle_client_response(data, ts_nanos)
            }
        }
    }

    fn route<'a>(&self, message: &Message<'a>) -> Result<Routed<'a>, Skip> {
        match message.kind {
            Some(message_type::RESOLVER_QUERY) => {
                let report = resolver_report(message, message.query_message, Side::Query)?;
                Ok(Routed::ResolverQuery(report))
            }
            Some(message_type::RESOLVER_RESPONSE) => {
                let report = resolver_report(message, message.response_message, Side::Response)?;
                let zone = message.query_zone.ok_or(Skip::NoQueryZone)?;
                Ok(Routed::ResolverResponse(report, zone))
            }
            Some(message_type::CLIENT_RESPONSE) if self.accept_client_side => {
                let data = message.response_message.ok_or(Skip::MissingField)?;
                let ts_nanos = time_nanos(message.response_time_sec, message.response_time_nsec)?;
                Ok(Routed::ClientResponse(data, ts_nanos))
            }
            Some(message_type::CLIENT_RESPONSE) => Err(Skip::ClientSideOff),
            _ => Err(Skip::OtherType),
        }
    }

    fn skip_counter(&mut self, skip: Skip) -> &mut u64 {
        let stats = &mut self.stats;
        match skip {
            Skip::MissingField => &mut stats.messages_dropped_missing_field,
            Skip::BadField => &mut stats.messages_dropped_bad_field,
            Skip::NoQueryZone => &mut stats.resolver_responses_dropped_no_query_zone,
            Skip::ClientSideOff => &mut stats.client_responses_skipped,
            Skip::OtherType => &mut stats.messages_other_type,
        }
    }

    pub fn stats(&self) -> &DnstapStats {
        &self.stats
    }
}

#[derive(Clone, Copy)]
enum Side {
    Query,
    Response,
}

/// A resolver message as the sensor takes it: the query's time for a query, the response's
/// for a response; the resolver is the query's initiator, the server its responder.
fn resolver_report<'a>(
    message: &Message<'a>,
    data: Option<&'a [u8]>,
    side: Side,
) -> Result<ResolverReport<'a>, Skip> {
    let (sec, nsec) = match side {
        Side::Query => (message.query_time_sec, message.query_time_nsec),
        Side::Response => (message.response_time_sec, message.response_time_nsec),
    };
    let port = message.response_port.ok_or(Skip::MissingField)?;
    Ok(ResolverReport {
        ts_nanos: time_nanos(sec, nsec)?,
        transport: transport(message.socket_protocol)?,
        resolver: address(message.query_address)?,
        server: address(message.response_address)?,
        server_port: u16::try_from(port).map_err(|_| Skip::BadField)?,
        data: data.ok_or(Skip::MissingField)?,
    })
}

/// Datagram protocols pair as UDP, stream protocols as TCP: a query and its response always
/// share their protocol, so only the distinction matters.
fn transport(protocol: Option<u64>) -> Result<Transport, Skip> {
    match protocol.ok_or(Skip::MissingField)? {
        socket_protocol::UDP | socket_protocol::DNSCRYPT_UDP | socket_protocol::DOQ => {
            Ok(Transport::Udp)
        }
        socket_protocol::TCP
        | socket_protocol::DOT
        | socket_protocol::DOH
        | socket_protocol::DNSCRYPT_TCP => Ok(Transport::Tcp),
        _ => Err(Skip::BadField),
    }
}

fn address(bytes: Option<&[u8]>) -> Result<IpAddr, Skip> {
    match bytes.ok_or(Skip::MissingField)? {
        &[a, b, c, d] => Ok(IpAddr::from([a, b, c, d])),
        bytes => <[u8; 16]>::try_from(bytes)
            .map(IpAddr::from)
            .map_err(|_| Skip::BadField),
    }
}

/// Nanoseconds since the epoch; the nanoseconds field may be absent (0).
fn time_nanos(sec: Option<u64>, nsec: Option<u32>) -> Result<i64, Skip> {
    const NANOS: i64 = 1_000_000_000;
    let sec = i64::try_from(sec.ok_or(Skip::MissingField)?).map_err(|_| Skip::BadField)?;
    let nsec = i64::from(nsec.unwrap_or(0));
    if nsec >= NANOS {
        return Err(Skip::BadField);
    }
    sec.checked_mul(NANOS)
        .and_then(|nanos| nanos.checked_add(nsec))
        .ok_or(Skip::BadField)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::encode::*;
    use dnsledger_rrset::{CofRecord, VecSink};
    use dnsledger_sensor::{SensorConfig, SensorStats};
    use dnsledger_wire::{rtype, MessageBuilder, NameBuf, Section};

    const SECOND: u64 = 1_700_000_000;

    fn name(text: &str) -> NameBuf {
        NameBuf::from_text(text).unwrap()
    }

    fn query(id: u16, qname: &str) -> Vec<u8> {
        MessageBuilder::query(id, &name(qname), rtype::A).build()
    }

    /// An answer to `qname` A carrying `records` (owner, address).
    fn response(id: u16, qname: &str, records: &[(&str, [u8; 4])]) -> Vec<u8> {
        let mut builder = MessageBuilder::query(id, &name(qname), rtype::A);
        builder.response();
        for (owner, addr) in records {
            builder.record(Section::Answer, &name(owner), rtype::A, 300, addr);
        }
        builder.build()
    }

    struct Msg<'a> {
        kind: u64,
        resolver_port: u64,
        dns: &'a [u8],
        zone: Option<&'a str>,
        sec: u64,
    }

    fn frame(m: &Msg<'_>) -> Vec<u8> {
        let mut inner = Vec::new();
        varint_field(&mut inner, 1, m.kind);
        varint_field(&mut inner, 3, socket_protocol::UDP);
        bytes_field(&mut inner, 4, &[127, 0, 0, 2]);
        bytes_field(&mut inner, 5, &[127, 0, 0, 11]);
        varint_field(&mut inner, 6, m.resolver_port);
        varint_field(&mut inner, 7, 53);
        let is_query = m.kind % 2 == 1;
        let (sec_field, nsec_field, dns_field) = match is_query {
            true => (8, 9, 10),
            false => (12, 13, 14),
        };
        varint_field(&mut inner, sec_field, m.sec);
        fixed32_field(&mut inner, nsec_field, 500);
        bytes_field(&mut inner, dns_field, m.dns);
        if let Some(zone) = m.zone {
            bytes_field(&mut inner, 11, name(zone).as_wire());
        }
        let mut outer = Vec::new();
        bytes_field(&mut outer, 14, &inner);
        varint_field(&mut outer, 15, DNSTAP_MESSAGE);
        outer
    }

    fn run(frames: &[Vec<u8>], client_side: bool) -> (Vec<CofRecord>, SensorStats, DnstapStats) {
        let config = SensorConfig {
            accept_recursion_desired: client_side,
            ..SensorConfig::default()
        };
        let mut sensor = Sensor::new(config, VecSink::default());
        let mut feeder = Feeder::new(client_side);
        for frame in frames {
            feeder.frame(&mut sensor, frame).unwrap();
        }
        let (sink, stats) = sensor.finish().unwrap();
        let rows = sink.observations.iter().map(CofRecord::from).collect();
        (rows, stats, feeder.stats().clone())
    }

    fn resolver_exchange(query_port: u64, response_port: u64, zone: &str) -> Vec<Vec<u8>> {
        let q = query(7, "www.example.com.");
        let r = response(
            7,
            "WWW.example.com.",
            &[("www.example.com.", [192, 0, 2, 1])],
        );
        vec![
            frame(&Msg {
                kind: message_type::RESOLVER_QUERY,
                resolver_port: query_port,
                dns: &q,
                zone: Some(zone),
                sec: SECOND,
            }),
            frame(&Msg {
                kind: message_type::RESOLVER_RESPONSE,
                resolver_port: response_port,
                dns: &r,
                zone: Some(zone),
                sec: SECOND + 1,
            }),
        ]
    }

    #[test]
    fn a_resolver_response_is_stored_with_its_query_zone_despite_a_wrong_port() {
        let (rows, sensor, dnstap) = run(&resolver_exchange(40000, 1234, "Example.COM."), false);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].rrname, "www.example.com.");
        assert_eq!(rows[0].bailiwick.as_deref(), Some("example.com."));
        assert_eq!(rows[0].time_first, SECOND as i64 + 1);
        assert_eq!((sensor.pairs, sensor.responses_used), (1, 1));
        assert_eq!((dnstap.resolver_queries, dnstap.resolver_responses), (1, 1));
    }

    #[test]
    fn a_query_zone_that_does_not_enclose_the_question_drops_the_response() {
        let (rows, sensor, _) = run(&resolver_exchange(40000, 40000, "example.org."), false);
        assert!(rows.is_empty());
        assert_eq!(sensor.responses_dropped_qname_outside_zone, 1);
    }

    #[test]
    fn records_outside_the_query_zone_are_dropped() {
        let q = query(9, "www.example.com.");
        let r = response(
            9,
            "www.example.com.",
            &[
                ("www.example.com.", [192, 0, 2, 1]),
                ("www.victim.org.", [6, 6, 6, 6]),
            ],
        );
        let frames = [
            frame(&Msg {
                kind: message_type::RESOLVER_QUERY,
                resolver_port: 1,
                dns: &q,
                zone: None,
                sec: SECOND,
            }),
            frame(&Msg {
                kind: message_type::RESOLVER_RESPONSE,
                resolver_port: 1,
                dns: &r,
                zone: Some("com."),
                sec: SECOND,
            }),
        ];
        let (rows, sensor, _) = run(&frames, false);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].bailiwick.as_deref(), Some("com."));
        assert_eq!(sensor.rrsets_dropped_out_of_bailiwick, 1);
    }

    #[test]
    fn a_response_with_another_question_or_no_query_is_unsolicited() {
        let q = query(7, "www.example.com.");
        let forged = response(
            7,
            "evil.example.com.",
            &[("evil.example.com.", [6, 6, 6, 6])],
        );
        let frames = [
            frame(&Msg {
                kind: message_type::RESOLVER_QUERY,
                resolver_port: 1,
                dns: &q,
                zone: None,
                sec: SECOND,
            }),
            frame(&Msg {
                kind: message_type::RESOLVER_RESPONSE,
                resolver_port: 1,
                dns: &forged,
                zone: Some("example.com."),
                sec: SECOND,
            }),
        ];
        let (rows, sensor, _) = run(&frames, false);
        assert!(rows.is_empty());
        assert_eq!(sensor.responses_dropped_unsolicited, 1);
        assert_eq!(sensor.queries_unanswered, 1);
    }

    #[test]
    fn client_responses_need_client_side_mode_and_have_no_bailiwick() {
        let r = response(
            3,
            "www.example.com.",
            &[("www.example.com.", [192, 0, 2, 1])],
        );
        let frames = [frame(&Msg {
            kind: message_type::CLIENT_RESPONSE,
            resolver_port: 1,
            dns: &r,
            zone: None,
            sec: SECOND,
        })];
        let (rows, _, dnstap) = run(&frames, false);
        assert!(rows.is_empty());
        assert_eq!(dnstap.client_responses_skipped, 1);
        let (rows, sensor, dnstap) = run(&frames, true);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].bailiwick, None);
        assert_eq!(sensor.responses_used_client_side, 1);
        assert_eq!(dnstap.client_responses, 1);
    }

    #[test]
    fn malformed_frames_and_incomplete_messages_are_counted() {
        let r = response(7, "www.example.com.", &[]);
        let without_zone = frame(&Msg {
            kind: message_type::RESOLVER_RESPONSE,
            resolver_port: 1,
            dns: &r,
            zone: None,
            sec: SECOND,
        });
        // A RESOLVER_RESPONSE with nothing but its type.
        let mut bare = Vec::new();
        varint_field(&mut bare, 1, message_type::RESOLVER_RESPONSE);
        let mut without_fields = Vec::new();
        bytes_field(&mut without_fields, 14, &bare);
        varint_field(&mut without_fields, 15, DNSTAP_MESSAGE);
        let mut not_a_message = Vec::new();
        varint_field(&mut not_a_message, 15, 2);
        let frames = [without_zone, without_fields, not_a_message, vec![0xff]];
        let (_, _, dnstap) = run(&frames, false);
        assert_eq!(dnstap.frames, 4);
        assert_eq!(dnstap.resolver_responses_dropped_no_query_zone, 1);
        assert_eq!(dnstap.messages_dropped_missing_field, 1);
        assert_eq!(dnstap.frames_without_message, 1);
        assert_eq!(dnstap.frames_malformed, 1);
    }

    #[test]
    fn times_and_addresses_are_checked() {
        assert_eq!(time_nanos(Some(2), Some(5)).ok(), Some(2_000_000_005));
        assert!(time_nanos(Some(2), Some(1_000_000_000)).is_err());
        assert!(time_nanos(Some(u64::MAX), None).is_err());
        assert!(time_nanos(None, Some(1)).is_err());
        assert_eq!(
            address(Some(&[0; 16])).ok(),
            Some("::".parse::<IpAddr>().unwrap())
        );
        assert!(address(Some(&[1, 2, 3])).is_err());
        assert!(transport(Some(99)).is_err());
    }
}
