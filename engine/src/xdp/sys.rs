//! The few kernel calls that neither libbpf-rs nor rustix wrap safely:
//! creating an XDP bpf_link with mode flags, and the busy-poll socket options.
//!
//! Invariants: every function here is safe to call; each unsafe block passes
//! the kernel only pointers to live, correctly sized values on the stack, and
//! every returned descriptor is owned (closed on drop).

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `XDP_FLAGS_SKB_MODE` from `<linux/if_link.h>`: generic (skb) mode.
pub(crate) const XDP_FLAGS_SKB_MODE: u32 = libbpf_sys::XDP_FLAGS_SKB_MODE;
/// `XDP_FLAGS_DRV_MODE` from `<linux/if_link.h>`: native (driver) mode.
pub(crate) const XDP_FLAGS_DRV_MODE: u32 = libbpf_sys::XDP_FLAGS_DRV_MODE;

/// Attaches `prog` to interface `ifindex` through a new bpf_link
/// (`BPF_LINK_CREATE`, attach type `BPF_XDP`) with `flags` (one of the
/// `XDP_FLAGS_*_MODE`). The link, and with it the attachment, lives exactly as
/// long as the returned descriptor: closing it, or the process ending in any
/// way, detaches the program.
pub(crate) fn xdp_link_create(
    prog: BorrowedFd<'_>,
    ifindex: u32,
    flags: u32,
) -> io::Result<OwnedFd> {
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?;
    let opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as libbpf_sys::size_t,
        flags,
        ..Default::default()
    };
    // Safety: `opts` is a fully initialised `struct bpf_link_create_opts`
    // (tools/lib/bpf/bpf.h) whose `sz` is its own size, alive for the call;
    // libbpf only reads it. `prog` is a valid descriptor borrowed for the call.
    let ret = unsafe {
        libbpf_sys::bpf_link_create(prog.as_raw_fd(), ifindex, libbpf_sys::BPF_XDP, &opts)
    };
    if ret < 0 {
        // libbpf 1.x returns -errno.
        return Err(io::Error::from_raw_os_error(-ret));
    }
    // Safety: on success bpf_link_create returns a new descriptor that nothing
    // else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

// Socket option numbers from <asm-generic/socket.h> (x86_64 and arm64 use
// the generic values).
const SO_BUSY_POLL: libc::c_int = 46;
const SO_PREFER_BUSY_POLL: libc::c_int = 69;
const SO_BUSY_POLL_BUDGET: libc::c_int = 70;

/// Sets one `int` socket option at `SOL_SOCKET`.
fn set_socket_int(fd: BorrowedFd<'_>, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // Safety: the option value is a live `int` on the stack and its size is
    // passed with it; the kernel copies it and keeps no pointer.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `SO_PREFER_BUSY_POLL` (`<asm-generic/socket.h>`).
pub(crate) fn set_prefer_busy_poll(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_socket_int(fd, SO_PREFER_BUSY_POLL, on.into())
}

/// `SO_BUSY_POLL` in microseconds (`<asm-generic/socket.h>`).
pub(crate) fn set_busy_poll_usecs(fd: BorrowedFd<'_>, usecs: u32) -> io::Result<()> {
    let usecs = libc::c_int::try_from(usecs).unwrap_or(libc::c_int::MAX);
    set_socket_int(fd, SO_BUSY_POLL, usecs)
}

/// `SO_BUSY_POLL_BUDGET`, packets per busy-poll round (`<asm-generic/socket.h>`).
pub(crate) fn set_busy_poll_budget(fd: BorrowedFd<'_>, budget: u32) -> io::Result<()> {
    let budget = libc::c_int::try_from(budget).unwrap_or(libc::c_int::MAX);
    set_socket_int(fd, SO_BUSY_POLL_BUDGET, budget)
}
