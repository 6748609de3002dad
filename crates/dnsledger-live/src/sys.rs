//! The system calls: an `AF_PACKET` socket, its TPACKET_V3 receive ring, its filter, its
//! fanout group and its statistics. This is the crate's only unsafe code; every function
//! returns plain `io::Error`s, which `capture` turns into messages.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::filter::Insn;
use crate::ring::BODY_OFFSET;

/// The size and timing of a socket's receive ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingConfig {
    /// Bytes per block: a multiple of the page size; also the largest frame.
    pub block_bytes: u32,
    /// Blocks in the ring: the ring holds `block_bytes * blocks` bytes of frames.
    pub blocks: u32,
    /// A block that is not full goes to user space this long after it was opened.
    pub retire_timeout: Duration,
}

/// `tpacket_req3.tp_frame_size`: TPACKET_V3 packs frames of any size into a block, but the
/// kernel still checks that the block size is a multiple of this.
const FRAME_SIZE: u32 = 2048;
/// Where `tpacket_hdr_v1.block_status` is in a block.
const BLOCK_STATUS: usize = 8;
const FANOUT_ID_MASK: u32 = 0xffff;

/// The kernel's counters of one socket since the previous read (PACKET_STATISTICS resets
/// them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KernelCounts {
    /// Packets that passed the filter, including those dropped.
    pub packets: u64,
    /// Packets dropped because the ring had no free block.
    pub drops: u64,
    /// Times the queue was frozen because the ring was full.
    pub freezes: u64,
}

/// An `AF_PACKET` socket that does not receive yet (protocol 0): the filter and the ring
/// are set up before `bind` lets the first packet in, so none slips through unfiltered.
pub(crate) struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// Fails with `PermissionDenied` (EPERM) without CAP_NET_RAW.
    pub fn new() -> io::Result<Socket> {
        // SAFETY: socket(2) has no memory arguments; a non-negative result is a new file
        // descriptor that nothing else owns.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Socket { fd })
    }

    /// The index and `ARPHRD_*` hardware type of the interface called `name`; `NotFound`
    /// if there is none.
    pub fn interface(&self, name: &str) -> io::Result<(i32, u16)> {
        let not_found = || io::Error::from(io::ErrorKind::NotFound);
        let c_name = CString::new(name).map_err(|_| not_found())?;
        if c_name.as_bytes().len() >= libc::IFNAMSIZ {
            return Err(not_found());
        }
        // SAFETY: `c_name` is a NUL-terminated string that outlives the call.
        let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
        if index == 0 {
            return Err(not_found());
        }
        // SAFETY: an all-zero `ifreq` is valid (plain integers and arrays).
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        for (slot, byte) in request.ifr_name.iter_mut().zip(c_name.as_bytes()) {
            *slot = *byte as libc::c_char;
        }
        // SAFETY: SIOCGIFHWADDR reads the NUL-terminated name (shorter than IFNAMSIZ, the
        // rest zero) and writes `ifr_hwaddr` inside `request`, which outlives the call.
        let status = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SIOCGIFHWADDR,
                &mut request as *mut libc::ifreq,
            )
        };
        if status < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: SIOCGIFHWADDR filled the `ifru_hwaddr` member of the union.
        let hardware_type = unsafe { request.ifr_ifru.ifru_hwaddr.sa_family };
        Ok((index as i32, hardware_type))
    }

    /// Attaches a classic BPF program, replacing the one before (the kernel validates it).
    pub fn attach_filter(&self, program: &[Insn]) -> io::Result<()> {
        let len = u16::try_from(program.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
        let instructions: Vec<libc::sock_filter> = program
            .iter()
            .map(|insn| libc::sock_filter {
                code: insn.code,
                jt: insn.jt,
                jf: insn.jf,
                k: insn.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len,
            filter: instructions.as_ptr().cast_mut(),
        };
        // SAFETY: SO_ATTACH_FILTER copies `len` instructions from `filter` during the call;
        // `instructions` outlives it.
        unsafe { self.set(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog) }
    }

    /// Switches to TPACKET_V3 and maps a receive ring of `config`'s size.
    pub fn into_ring(self, config: &RingConfig) -> io::Result<PacketRing> {
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        // SAFETY: PACKET_VERSION reads one int.
        unsafe { self.set(libc::SOL_PACKET, libc::PACKET_VERSION, &version)? };
        let retire_ms = config
            .retire_timeout
            .as_millis()
            .clamp(1, u128::from(u32::MAX));
        let request = libc::tpacket_req3 {
            tp_block_size: config.block_bytes,
            tp_block_nr: config.blocks,
            tp_frame_size: FRAME_SIZE,
            tp_frame_nr: config.block_bytes / FRAME_SIZE * config.blocks,
            tp_retire_blk_tov: retire_ms as u32,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        // SAFETY: PACKET_RX_RING reads one `tpacket_req3` (TPACKET_V3 is set).
        unsafe { self.set(libc::SOL_PACKET, libc::PACKET_RX_RING, &request)? };
        let len = config.block_bytes as usize * config.blocks as usize;
        // SAFETY: maps the ring the kernel just allocated for this socket; the kernel
        // checks `len` against it. MAP_SHARED: the kernel and we both see every write.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(PacketRing {
            map: NonNull::new(map.cast()).ok_or(io::ErrorKind::AddrNotAvailable)?,
            len,
            block_bytes: config.block_bytes as usize,
            blocks: config.blocks as usize,
            next: 0,
            socket: self,
        })
    }

    /// setsockopt(2) with one value.
    ///
    /// # Safety
    /// `T` must be the type the kernel expects for `level`/`name`.
    unsafe fn set<T>(&self, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` points to a valid `T` of the given size for the whole call; the
        // caller vouches that `T` is what the option reads.
        let status = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (value as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        match status {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// getsockopt(2) of one value.
    ///
    /// # Safety
    /// `T` must be the plain-integer type the kernel writes for `level`/`name`.
    unsafe fn get<T: Default>(&self, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
        let mut value = T::default();
        let mut len = std::mem::size_of::<T>() as libc::socklen_t;
        // SAFETY: the kernel writes at most `len` bytes into `value`, which is that large;
        // any bit pattern is valid for the integer types callers use.
        let status = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&mut value as *mut T).cast(),
                &mut len,
            )
        };
        match status {
            0 => Ok(value),
            _ => Err(io::Error::last_os_error()),
        }
    }
}

/// A socket with its mapped TPACKET_V3 ring, read one block at a time in ring order.
pub(crate) struct PacketRing {
    map: NonNull<u8>,
    len: usize,
    block_bytes: usize,
    blocks: usize,
    next: usize,
    socket: Socket,
}

// SAFETY: the mapping belongs to this value alone (it is unmapped on drop and never shared),
// so moving it to another thread moves all access with it.
unsafe impl Send for PacketRing {}

impl PacketRing {
    /// Starts receiving every protocol on interface `index`, through the filter.
    pub fn bind(&self, index: i32) -> io::Result<()> {
        // SAFETY: an all-zero `sockaddr_ll` is valid.
        let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        address.sll_ifindex = index;
        // SAFETY: bind(2) reads a `sockaddr_ll` of the given length.
        let status = unsafe {
            libc::bind(
                self.socket.fd.as_raw_fd(),
                (&address as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        match status {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Joins fanout group `group` in hash mode, or creates a group with a fresh id when
    /// `group` is `None`; returns the group's id. The socket must be bound.
    pub fn join_fanout(&self, group: Option<u16>) -> io::Result<u16> {
        let mode = libc::PACKET_FANOUT_HASH
            | match group {
                None => libc::PACKET_FANOUT_FLAG_UNIQUEID,
                Some(_) => 0,
            };
        let value: u32 = u32::from(group.unwrap_or(0)) | mode << 16;
        // SAFETY: PACKET_FANOUT reads one u32 (id in the low half, mode and flags above).
        unsafe {
            self.socket
                .set(libc::SOL_PACKET, libc::PACKET_FANOUT, &value)?
        };
        // SAFETY: PACKET_FANOUT writes one u32, with the group's id in the low half.
        let joined: u32 = unsafe { self.socket.get(libc::SOL_PACKET, libc::PACKET_FANOUT)? };
        Ok((joined & FANOUT_ID_MASK) as u16)
    }

    /// Replaces the socket's filter.
    pub fn attach_filter(&self, program: &[Insn]) -> io::Result<()> {
        self.socket.attach_filter(program)
    }

    /// Waits until the next block is ready or `timeout` has passed; interrupted waits
    /// return early. A pending socket error (ENETDOWN when the interface goes down: the
    /// socket receives again once it is up) is taken, which clears it, and returned.
    pub fn wait(&self, timeout: Duration) -> io::Result<Option<io::Error>> {
        let mut poll = libc::pollfd {
            fd: self.socket.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: poll(2) reads and writes the one `pollfd` passed.
        let status = unsafe { libc::poll(&mut poll, 1, millis) };
        if status < 0 {
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::Interrupted => Ok(None),
                _ => Err(error),
            };
        }
        if poll.revents & libc::POLLERR == 0 {
            return Ok(None);
        }
        // SAFETY: SO_ERROR writes one int.
        let pending: libc::c_int = unsafe { self.socket.get(libc::SOL_SOCKET, libc::SO_ERROR)? };
        Ok(Some(io::Error::from_raw_os_error(pending)))
    }

    /// The next block in ring order if the kernel has handed it over; it goes back to the
    /// kernel when the returned [`Block`] is dropped.
    pub fn next_block(&mut self) -> Option<Block<'_>> {
        // SAFETY: `next < blocks`, so the block lies inside the mapping; `block_status` is
        // 4-aligned (blocks are page-aligned) and the kernel only ever accesses it as a
        // 32-bit word.
        let (block, status) = unsafe {
            let block = self.map.as_ptr().add(self.next * self.block_bytes);
            (block, &*block.add(BLOCK_STATUS).cast::<AtomicU32>())
        };
        // Acquire: the kernel set TP_STATUS_USER after writing the block's packets.
        if status.load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        self.next = (self.next + 1) % self.blocks;
        // SAFETY: while its status says TP_STATUS_USER the kernel leaves the block alone
        // until we hand it back (in `Block::drop`), so these bytes do not change while
        // borrowed; they exclude `block_status`, which is only accessed atomically.
        let body = unsafe {
            std::slice::from_raw_parts(block.add(BODY_OFFSET), self.block_bytes - BODY_OFFSET)
        };
        Some(Block { body, status })
    }

    /// The kernel's counters since the previous call.
    pub fn take_counts(&self) -> io::Result<KernelCounts> {
        // SAFETY: PACKET_STATISTICS on a TPACKET_V3 socket writes a `tpacket_stats_v3`
        // (three unsigned ints).
        let stats: StatsV3 = unsafe { self.socket.get(libc::SOL_PACKET, libc::PACKET_STATISTICS)? };
        Ok(KernelCounts {
            packets: u64::from(stats.packets),
            drops: u64::from(stats.drops),
            freezes: u64::from(stats.freeze_q_cnt),
        })
    }
}

impl Drop for PacketRing {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `into_ring`, which nothing borrows any
        // more (blocks borrow the ring). The socket closes afterwards.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.len) };
    }
}

/// `struct tpacket_stats_v3`, with `Default` for `Socket::get`.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct StatsV3 {
    packets: libc::c_uint,
    drops: libc::c_uint,
    freeze_q_cnt: libc::c_uint,
}

/// A block user space owns until it is dropped.
pub(crate) struct Block<'a> {
    /// The block's bytes from [`BODY_OFFSET`] on (see `ring`).
    pub body: &'a [u8],
    status: &'a AtomicU32,
}

impl Drop for Block<'_> {
    fn drop(&mut self) {
        // Release: every read of the block happens before the kernel may write it again.
        self.status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }
}
