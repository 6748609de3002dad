//! Network namespaces of the tests' own, and a capture replayed onto their loopback: for
//! live capture (`sensor --interface`, `serve --interface`) without touching any interface
//! of the host. Needs root (`ip netns`, packet sockets).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dnsledger_capture::CaptureReader;
use xtask::generate::{generate_files, GenParams};

use super::{CofRow, RowKey};

/// Frames in the generated capture.
pub const PACKETS: u64 = 6000;

/// The generated capture (all DNS on port 53) and its root hints, in `dir`.
pub fn generate_capture(dir: &Path) -> (PathBuf, PathBuf) {
    let (capture, hints) = (dir.join("gen.pcap"), dir.join("gen.hints"));
    let params = GenParams {
        packets: PACKETS,
        seed: 7,
        domains: 50,
    };
    generate_files(&params, &capture, &hints).unwrap();
    (capture, hints)
}

/// Each RRset identity with its count summed over rows (a live sensor writes partial rows,
/// one per flush, that merge by summing).
pub fn counts_by_rrset(rows: &[CofRow]) -> BTreeMap<RowKey, u64> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row.key()).or_insert(0) += row.count;
    }
    counts
}

/// A network namespace with `lo` up, deleted on drop.
pub struct Namespace {
    name: String,
}

impl Namespace {
    pub fn create(tag: &str) -> Namespace {
        let name = format!("dnsl-live-{}-{tag}", std::process::id());
        run_ip(&["netns", "add", &name]);
        let namespace = Namespace { name };
        run_ip(&["-n", &namespace.name, "link", "set", "lo", "up"]);
        namespace
    }

    /// `program` to be run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs `work` on a thread that has joined the namespace (network namespaces belong to
    /// threads, so the test's other threads stay where they are).
    pub fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let path = PathBuf::from("/run/netns").join(&self.name);
        std::thread::spawn(move || {
            let handle = File::open(&path).unwrap();
            // SAFETY: setns(2) takes a namespace file descriptor that `handle` keeps open,
            // and moves only this thread into it.
            let joined = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(joined, 0, "setns: {}", std::io::Error::last_os_error());
            work()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

fn run_ip(args: &[&str]) {
    let status = Command::new("ip")
        .args(args)
        .status()
        .expect("ip (iproute2) runs");
    assert!(status.success(), "ip {args:?}");
}

/// Sends every frame of `capture` onto `lo` through a packet socket, in order; returns how
/// many. Runs inside the namespace.
pub fn send_capture_onto_lo(capture: &Path) -> usize {
    pin_to_this_cpu();
    let socket = loopback_sender();
    let mut reader = CaptureReader::open(capture).unwrap();
    let mut sent = 0;
    while let Some(frame) = reader.next_frame().unwrap() {
        // SAFETY: send(2) reads `data.len()` bytes from `data`, which outlives the call.
        let written = unsafe {
            libc::send(
                socket.as_raw_fd(),
                frame.data.as_ptr().cast(),
                frame.data.len(),
                0,
            )
        };
        assert_eq!(
            written,
            frame.data.len() as isize,
            "{}",
            std::io::Error::last_os_error()
        );
        sent += 1;
        // Paced a little: the loopback's backlog queue holds 1000 packets.
        if sent % 200 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    sent
}

/// A packet socket bound to `lo` that sends whole Ethernet frames (and receives nothing:
/// protocol 0).
fn loopback_sender() -> OwnedFd {
    // SAFETY: socket(2) has no memory arguments.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: `fd` is a new descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an all-zero sockaddr_ll is valid.
    let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    address.sll_family = libc::AF_PACKET as u16;
    // SAFETY: if_nametoindex(3) reads a NUL-terminated name.
    address.sll_ifindex = unsafe { libc::if_nametoindex(c"lo".as_ptr()) } as i32;
    // SAFETY: bind(2) reads a sockaddr_ll of the given size.
    let bound = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&address as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    assert_eq!(bound, 0, "{}", std::io::Error::last_os_error());
    socket
}

/// Keeps the sending thread on one CPU: frames sent on `lo` are received through that CPU's
/// backlog queue, so one queue keeps them in the order they were sent.
fn pin_to_this_cpu() {
    // SAFETY: sched_getcpu has no arguments; the cpu_set_t is a plain bit set, zeroed and
    // filled by libc's helpers, and sched_setaffinity(0, ...) reads it for this thread.
    unsafe {
        let cpu = libc::sched_getcpu();
        assert!(cpu >= 0);
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu as usize, &mut set);
        let pinned = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(pinned, 0, "{}", std::io::Error::last_os_error());
    }
}
