//! The live receiver: resolvers connect over a unix socket or TCP and stream dnstap.
//!
//! One thread per listener accepts connections; one thread per connection does the Frame
//! Streams handshake and reads data frames into a bounded queue that the sensor's thread
//! drains ([`Receiver::recv_timeout`]). A connection never waits for the sensor: when the
//! queue is full (in frames or in bytes) the frame is dropped and counted
//! (`frames_dropped_queue_full`), because a resolver whose dnstap socket blocks slows down or
//! drops data itself, and resolving must never wait for passive DNS.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver as Queue, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use dnsledger_rrset::counters;

use crate::frames::StreamReader;

/// Where the receiver listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:PATH`
    Unix(PathBuf),
    /// `tcp:ADDRESS:PORT` (`tcp:[::1]:6000` for IPv6).
    Tcp(String),
}

impl FromStr for Endpoint {
    type Err = ReceiverError;

    fn from_str(text: &str) -> Result<Endpoint, ReceiverError> {
        match text.split_once(':') {
            Some(("unix", path)) if !path.is_empty() => Ok(Endpoint::Unix(path.into())),
            Some(("tcp", address)) if !address.is_empty() => Ok(Endpoint::Tcp(address.into())),
            _ => Err(ReceiverError::BadEndpoint(text.to_string())),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiverError {
    #[error("not an endpoint: {0:?} (expected unix:PATH or tcp:ADDRESS:PORT)")]
    BadEndpoint(String),
    #[error("{endpoint}: {source}")]
    Listen {
        endpoint: Endpoint,
        source: io::Error,
    },
    #[error("{0}: a file that is not a socket is in the way")]
    NotASocket(PathBuf),
    #[error("{0}: another process is listening on this socket")]
    SocketInUse(PathBuf),
}

/// Bounds of the receiver.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// Frames queued for the sensor at most.
    pub queue_frames: usize,
    /// Bytes queued for the sensor at most.
    pub queue_bytes: usize,
    /// Connections served at once; more are closed at once and counted.
    pub max_connections: usize,
    /// Time a new connection has to complete the handshake.
    pub handshake_timeout: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> ReceiverConfig {
        ReceiverConfig {
            queue_frames: 65_536,
            queue_bytes: 64 << 20,
            max_connections: 64,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

counters! {
    /// What the receiver's connections did.
    pub struct ReceiverStats {
        /// Connections accepted.
        connections_accepted,
        /// Connections closed at once: `max_connections` were being served.
        connections_refused_over_limit,
        /// Connections that failed the handshake (malformed, wrong content type, timeout).
        connections_failed_handshake,
        /// Connections that ended with STOP and FINISH.
        connections_finished,
        /// Connections that ended otherwise (closed without STOP, malformed or oversized
        /// frame, read error); their frames before that were used.
        connections_broken,
        /// Data frames received.
        frames_received,
        /// Data frames dropped because the queue to the sensor was full.
        frames_dropped_queue_full,
    }
}

/// State shared by the receiver's threads.
struct Shared {
    config: ReceiverConfig,
    stats: Mutex<ReceiverStats>,
    queued_bytes: AtomicUsize,
    connections: AtomicUsize,
}

impl Shared {
    fn count(&self) -> MutexGuard<'_, ReceiverStats> {
        // A counter update cannot leave the struct inconsistent: a poisoned lock is fine.
        self.stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a frame for the sensor unless the queue is full; false once the sensor's end
    /// is gone.
    fn offer(&self, queue: &SyncSender<Vec<u8>>, frame: &[u8]) -> bool {
        self.count().frames_received += 1;
        let len = frame.len();
        let queued = self.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if queued + len > self.config.queue_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.count().frames_dropped_queue_full += 1;
            return true;
        }
        match queue.try_send(frame.to_vec()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                self.count().frames_dropped_queue_full += 1;
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// A listening receiver: threads accept and read connections; the owner takes the frames.
/// Dropping it removes the unix sockets it created; its threads end with the process.
pub struct Receiver {
    queue: Queue<Vec<u8>>,
    shared: Arc<Shared>,
    endpoints: Vec<Endpoint>,
    socket_files: Vec<PathBuf>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Receiver {
    /// Listens on every endpoint (all bound before any is served, so a bad one fails the
    /// start), then serves them in the background.
    pub fn start(
        endpoints: &[Endpoint],
        config: ReceiverConfig,
    ) -> Result<Receiver, ReceiverError> {
        let mut listeners = Vec::new();
        let mut bound = Vec::new();
        let mut socket_files = Vec::new();
        for endpoint in endpoints {
            let (listener, actual) = match listen(endpoint) {
                Ok(listening) => listening,
                Err(error) => {
                    remove_files(&socket_files);
                    return Err(error);
                }
            };
            if let Endpoint::Unix(path) = endpoint {
                socket_files.push(path.clone());
            }
            listeners.push(listener);
            bound.push(actual);
        }
        let (sender, queue) = mpsc::sync_channel(config.queue_frames.max(1));
        let shared = Arc::new(Shared {
            config,
            stats: Mutex::default(),
            queued_bytes: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
        });
        for listener in listeners {
            let (shared, sender) = (Arc::clone(&shared), sender.clone());
            thread::spawn(move || match listener {
                Listener::Unix(l) => accept_loop(l.incoming(), &shared, &sender),
                Listener::Tcp(l) => accept_loop(l.incoming(), &shared, &sender),
            });
        }
        Ok(Receiver {
            queue,
            shared,
            endpoints: bound,
            socket_files,
        })
    }

    /// Where it listens (TCP with the port actually bound, for port 0).
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The next frame, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Vec<u8>> {
        match self.queue.recv_timeout(timeout) {
            Ok(frame) => Some(self.dequeued(frame)),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next frame if one is queued.
    pub fn try_recv(&self) -> Option<Vec<u8>> {
        self.queue.try_recv().ok().map(|frame| self.dequeued(frame))
    }

    fn dequeued(&self, frame: Vec<u8>) -> Vec<u8> {
        self.shared
            .queued_bytes
            .fetch_sub(frame.len(), Ordering::Relaxed);
        frame
    }

    /// The counters so far.
    pub fn stats(&self) -> ReceiverStats {
        self.shared.count().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        remove_files(&self.socket_files);
    }
}

/// Removes the socket files this receiver created; one already gone is fine.
fn remove_files(paths: &[PathBuf]) {
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}

fn listen(endpoint: &Endpoint) -> Result<(Listener, Endpoint), ReceiverError> {
    let failed = |source| ReceiverError::Listen {
        endpoint: endpoint.clone(),
        source,
    };
    match endpoint {
        Endpoint::Unix(path) => {
            remove_stale_socket(path)?;
            let listener = UnixListener::bind(path).map_err(failed)?;
            Ok((Listener::Unix(listener), endpoint.clone()))
        }
        Endpoint::Tcp(address) => {
            let listener = TcpListener::bind(address.as_str()).map_err(failed)?;
            let actual = listener.local_addr().map_err(failed)?;
            Ok((Listener::Tcp(listener), Endpoint::Tcp(actual.to_string())))
        }
    }
}

/// A socket file left by an earlier run is removed; one that a live process listens on, or
/// a file that is not a socket, is left alone and refused.
fn remove_stale_socket(path: &PathBuf) -> Result<(), ReceiverError> {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !metadata.file_type().is_socket() {
        return Err(ReceiverError::NotASocket(path.clone()));
    }
    if UnixStream::connect(path).is_ok() {
        return Err(ReceiverError::SocketInUse(path.clone()));
    }
    std::fs::remove_file(path).map_err(|source| ReceiverError::Listen {
        endpoint: Endpoint::Unix(path.clone()),
        source,
    })
}

/// A connected stream of either family.
trait Connection: Read + Write + Send + 'static {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Connection for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
}

impl Connection for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

fn accept_loop<C: Connection>(
    incoming: impl Iterator<Item = io::Result<C>>,
    shared: &Arc<Shared>,
    sender: &SyncSender<Vec<u8>>,
) {
    for stream in incoming {
        match stream {
            Ok(stream) => admit(stream, shared, sender),
            // Out of descriptors and the like: wait instead of spinning.
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Serves a new connection on its own thread, unless `max_connections` are served already.
fn admit<C: Connection>(stream: C, shared: &Arc<Shared>, sender: &SyncSender<Vec<u8>>) {
    let serving = shared.connections.fetch_add(1, Ordering::Relaxed);
    if serving >= shared.config.max_connections {
        shared.connections.fetch_sub(1, Ordering::Relaxed);
        shared.count().connections_refused_over_limit += 1;
        return;
    }
    shared.count().connections_accepted += 1;
    let (thread_shared, sender) = (Arc::clone(shared), sender.clone());
    let spawned = thread::Builder::new()
        .name("dnstap-connection".into())
        .spawn(move || {
            let ending = receive(stream, &thread_shared, &sender);
            let mut stats = thread_shared.count();
            match ending {
                Ending::Finished => stats.connections_finished += 1,
                Ending::Handshake => stats.connections_failed_handshake += 1,
                Ending::Broken | Ending::SensorGone => stats.connections_broken += 1,
            }
            drop(stats);
            thread_shared.connections.fetch_sub(1, Ordering::Relaxed);
        });
    if spawned.is_err() {
        shared.connections.fetch_sub(1, Ordering::Relaxed);
        shared.count().connections_broken += 1;
    }
}

/// How a connection ended.
enum Ending {
    Finished,
    Handshake,
    Broken,
    SensorGone,
}

fn receive<C: Connection>(stream: C, shared: &Shared, queue: &SyncSender<Vec<u8>>) -> Ending {
    // A peer that connects and says nothing must not hold a connection slot for ever.
    if stream
        .set_read_timeout(Some(shared.config.handshake_timeout))
        .is_err()
    {
        return Ending::Handshake;
    }
    let Ok(mut reader) = StreamReader::accept(stream) else {
        return Ending::Handshake;
    };
    // Once streaming, a quiet resolver is simply idle.
    if reader.get_ref().set_read_timeout(None).is_err() {
        return Ending::Broken;
    }
    loop {
        match reader.next_data() {
            Ok(Some(frame)) => {
                if !shared.offer(queue, frame) {
                    return Ending::SensorGone;
                }
            }
            Ok(None) => return Ending::Finished,
            Err(_) => return Ending::Broken,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::{ControlFrame, ControlType, StreamWriter};
    use std::time::Instant;

    fn socket_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("dnstap-{}-{name}.sock", std::process::id()))
    }

    fn send(stream: impl Read + Write, frames: &[&[u8]]) {
        let mut writer = StreamWriter::connect(stream).unwrap();
        for frame in frames {
            writer.write(frame).unwrap();
        }
        writer.finish().unwrap();
    }

    fn receive_all(receiver: &Receiver, count: usize) -> Vec<Vec<u8>> {
        (0..count)
            .map(|_| receiver.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect()
    }

    /// Waits until the counters satisfy `done` (connection threads count asynchronously).
    fn wait_for(receiver: &Receiver, done: impl Fn(&ReceiverStats) -> bool) -> ReceiverStats {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stats = receiver.stats();
            if done(&stats) || Instant::now() > deadline {
                return stats;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            "unix:/run/dnstap.sock".parse::<Endpoint>().unwrap(),
            Endpoint::Unix("/run/dnstap.sock".into())
        );
        assert_eq!(
            "tcp:[::1]:6000".parse::<Endpoint>().unwrap(),
            Endpoint::Tcp("[::1]:6000".into())
        );
        assert!("udp:1.2.3.4:5".parse::<Endpoint>().is_err());
        assert!("unix:".parse::<Endpoint>().is_err());
    }

    #[test]
    fn frames_arrive_over_a_unix_socket_and_tcp() {
        let path = socket_path("both");
        let endpoints = [
            Endpoint::Unix(path.clone()),
            "tcp:127.0.0.1:0".parse().unwrap(),
        ];
        let receiver = Receiver::start(&endpoints, ReceiverConfig::default()).unwrap();
        send(UnixStream::connect(&path).unwrap(), &[b"one", b"two"]);
        assert_eq!(receive_all(&receiver, 2), [&b"one"[..], b"two"]);
        let Endpoint::Tcp(address) = &receiver.endpoints()[1] else {
            panic!("not tcp")
        };
        send(TcpStream::connect(address).unwrap(), &[b"three"]);
        assert_eq!(receive_all(&receiver, 1), [&b"three"[..]]);
        let stats = wait_for(&receiver, |s| s.connections_finished == 2);
        assert_eq!((stats.connections_accepted, stats.frames_received), (2, 3));
        drop(receiver);
        assert!(!path.exists(), "the socket file is removed");
    }

    #[test]
    fn a_full_queue_drops_frames_and_counts_them_without_blocking_the_sender() {
        let path = socket_path("full");
        let config = ReceiverConfig {
            queue_frames: 2,
            ..ReceiverConfig::default()
        };
        let receiver = Receiver::start(&[Endpoint::Unix(path.clone())], config).unwrap();
        // Nobody takes frames: FINISH still comes back, so the sender was never blocked.
        send(
            UnixStream::connect(&path).unwrap(),
            &[b"1", b"2", b"3", b"4", b"5"],
        );
        let stats = wait_for(&receiver, |s| s.connections_finished == 1);
        assert_eq!(
            (stats.frames_received, stats.frames_dropped_queue_full),
            (5, 3)
        );
        assert_eq!(receive_all(&receiver, 2), [&b"1"[..], b"2"]);
    }

    #[test]
    fn the_byte_bound_drops_too() {
        let path = socket_path("bytes");
        let config = ReceiverConfig {
            queue_bytes: 5,
            ..ReceiverConfig::default()
        };
        let receiver = Receiver::start(&[Endpoint::Unix(path.clone())], config).unwrap();
        send(UnixStream::connect(&path).unwrap(), &[b"abc", b"def", b"g"]);
        let stats = wait_for(&receiver, |s| s.connections_finished == 1);
        assert_eq!(stats.frames_dropped_queue_full, 1);
        assert_eq!(receive_all(&receiver, 2), [&b"abc"[..], b"g"]);
    }

    #[test]
    fn bad_handshakes_and_broken_streams_are_counted() {
        let path = socket_path("bad");
        let config = ReceiverConfig {
            handshake_timeout: Duration::from_millis(100),
            ..ReceiverConfig::default()
        };
        let receiver = Receiver::start(&[Endpoint::Unix(path.clone())], config).unwrap();
        let mut wrong = UnixStream::connect(&path).unwrap();
        let mut ready = ControlFrame::new(ControlType::Ready);
        ready.content_types.push(b"protobuf:other".to_vec());
        wrong.write_all(&ready.encode()).unwrap();
        let _silent = UnixStream::connect(&path).unwrap();
        let mut writer = StreamWriter::connect(UnixStream::connect(&path).unwrap()).unwrap();
        writer.write(b"kept").unwrap();
        drop(writer);
        let stats = wait_for(&receiver, |s| {
            s.connections_failed_handshake == 2 && s.connections_broken == 1
        });
        assert_eq!(stats.connections_failed_handshake, 2);
        assert_eq!(stats.connections_broken, 1);
        assert_eq!(receive_all(&receiver, 1), [&b"kept"[..]]);
    }

    #[test]
    fn connections_over_the_limit_are_refused() {
        let path = socket_path("limit");
        let config = ReceiverConfig {
            max_connections: 1,
            ..ReceiverConfig::default()
        };
        let receiver = Receiver::start(&[Endpoint::Unix(path.clone())], config).unwrap();
        let first = StreamWriter::connect(UnixStream::connect(&path).unwrap()).unwrap();
        let _second = UnixStream::connect(&path).unwrap();
        let stats = wait_for(&receiver, |s| s.connections_refused_over_limit == 1);
        assert_eq!(stats.connections_refused_over_limit, 1);
        first.finish().unwrap();
    }

    #[test]
    fn a_live_socket_or_a_plain_file_is_not_replaced() {
        let path = socket_path("taken");
        let _first =
            Receiver::start(&[Endpoint::Unix(path.clone())], ReceiverConfig::default()).unwrap();
        let second = Receiver::start(&[Endpoint::Unix(path.clone())], ReceiverConfig::default());
        assert!(matches!(second, Err(ReceiverError::SocketInUse(_))));
        let file = socket_path("plain");
        std::fs::write(&file, b"data").unwrap();
        let third = Receiver::start(&[Endpoint::Unix(file.clone())], ReceiverConfig::default());
        assert!(matches!(third, Err(ReceiverError::NotASocket(_))));
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn a_stale_socket_file_is_replaced() {
        let path = socket_path("stale");
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let receiver =
            Receiver::start(&[Endpoint::Unix(path.clone())], ReceiverConfig::default()).unwrap();
        send(UnixStream::connect(&path).unwrap(), &[b"x"]);
        assert_eq!(receive_all(&receiver, 1), [&b"x"[..]]);
    }
}
