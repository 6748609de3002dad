//! Runs a command and reads its resource use from the kernel's accounting (wait4), so the
//! figures are those of the measured process itself, not of a wrapper around it.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Measurement {
    pub status: ExitStatus,
    pub wall: Duration,
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Peak resident set size in KiB.
    pub max_rss_kib: u64,
}

/// Spawns `command`, waits for it and returns its exit status, wall time and rusage.
pub fn run(command: &mut Command) -> io::Result<Measurement> {
    let start = Instant::now();
    let child = command.spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let (status, usage) = wait4(pid)?;
    let wall = start.elapsed();
    // The child is reaped: dropping the handle neither waits nor kills.
    drop(child);
    Ok(Measurement {
        status: ExitStatus::from_raw(status),
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0), // KiB on Linux
    })
}

fn wait4(pid: libc::pid_t) -> io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std's `wait` was never called on
        // it), and both out-pointers point at live, writable locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((status, usage));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

fn timeval(t: libc::timeval) -> Duration {
    let secs = u64::try_from(t.tv_sec).unwrap_or(0);
    let micros = u64::try_from(t.tv_usec).unwrap_or(0);
    Duration::from_secs(secs) + Duration::from_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_child() {
        let m = run(Command::new("sh").args(["-c", "exit 3"])).unwrap();
        assert_eq!(m.status.code(), Some(3));
        assert!(m.max_rss_kib > 0);
        assert!(m.wall > Duration::ZERO);
    }
}
