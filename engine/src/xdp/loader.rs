//! Loading the steering program (`bpf/gvsp_steer.bpf.c`, built by build.rs
//! and embedded here), attaching it to an interface, and driving its maps.
//!
//! Invariants:
//! - an attachment is a bpf_link owned by [`AttachedSteer`]: it ends when the
//!   value is dropped or the process ends in any way (exit, SIGINT, SIGTERM,
//!   SIGKILL, crash), because the kernel detaches a link whose last
//!   descriptor is closed; nothing is pinned, so nothing outlives us;
//! - a gvsp_steer program left attached through netlink (which does outlive
//!   its process) is recognised by name and replaced; any other program on
//!   the interface is left alone and reported as [`XdpError::Busy`];
//! - native mode is tried first; generic mode is used only when asked for or
//!   as a fallback, and then with a warning.

use std::net::Ipv4Addr;
use std::ops::Deref;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use libbpf_rs::query::ProgInfoIter;
use libbpf_rs::{MapCore, MapFlags, Object, ObjectBuilder, Program, ProgramInput, Xdp, XdpFlags};

use super::abi::{
    Counter, RxMeta, SteerCounters, StreamKey, MAP_COUNTERS, MAP_STREAMS, MAP_XSKS,
    PROG_DEVICE_BOUND, PROG_PLAIN, RX_META_SIZE,
};
use super::error::XdpError;
use super::sys;

#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

/// The compiled BPF object; 8-byte aligned so libelf can read it in place.
static OBJECT: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/gvsp_steer.bpf.o"
)));

/// Sends libbpf's own messages (verifier logs of the attempts that fall back
/// to another variant or mode) to `tracing` at debug level, target `libbpf`,
/// instead of stderr.
fn route_libbpf_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    fn forward(_level: libbpf_rs::PrintLevel, message: String) {
        tracing::debug!(target: "libbpf", "{}", message.trim_end());
    }
    ONCE.call_once(|| {
        libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, forward)));
    });
}

/// `XDP_PASS` from `<linux/bpf.h>`.
pub const XDP_PASS: u32 = 2;
/// `XDP_REDIRECT` from `<linux/bpf.h>`.
pub const XDP_REDIRECT: u32 = 4;

/// Which of the object's two programs to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `gvsp_steer`: software (CLOCK_TAI) timestamps; loads and attaches anywhere.
    Plain,
    /// `gvsp_steer_hw`: bound to one interface, asks the driver for hardware
    /// receive timestamps; attaches only to that interface, in native mode.
    DeviceBound {
        /// The interface it is bound to.
        ifindex: u32,
    },
}

/// How the program ended up attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpMode {
    /// In the driver (`XDP_FLAGS_DRV_MODE`).
    Native,
    /// On the generic skb path (`XDP_FLAGS_SKB_MODE`): slower, works everywhere.
    Generic,
}

impl XdpMode {
    fn name(self) -> &'static str {
        match self {
            XdpMode::Native => "native",
            XdpMode::Generic => "generic",
        }
    }

    fn flags(self) -> u32 {
        match self {
            XdpMode::Native => sys::XDP_FLAGS_DRV_MODE,
            XdpMode::Generic => sys::XDP_FLAGS_SKB_MODE,
        }
    }
}

/// Which attach mode to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModeRequest {
    /// Native, else generic with a warning.
    #[default]
    Auto,
    /// Native only.
    Native,
    /// Generic only.
    Generic,
}

/// Which receive timestamps to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampRequest {
    /// Try the device-bound program (hardware stamps where the driver has
    /// them, CLOCK_TAI otherwise), else the plain one.
    #[default]
    Auto,
    /// The plain program: CLOCK_TAI stamps only.
    Software,
}

/// Options for [`AttachedSteer::attach`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttachConfig {
    /// Attach mode.
    pub mode: ModeRequest,
    /// Timestamp source.
    pub timestamps: TimestampRequest,
}

/// What one [`SteerProgram::test_run`] did with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    /// The XDP action returned ([`XDP_PASS`], [`XDP_REDIRECT`], ...).
    pub action: u32,
    /// The prefix in front of the packet, when the program left one.
    pub meta: Option<RxMeta>,
    /// Bytes the packet grew at the front (0 when it comes back as it went
    /// in).
    pub meta_len: usize,
    /// The packet as the program left it, prefix included.
    pub data: Vec<u8>,
}

/// The loaded (not yet attached) steering program and its maps.
#[derive(Debug)]
pub struct SteerProgram {
    object: Object,
    variant: Variant,
}

impl SteerProgram {
    /// Loads one variant of the program into the kernel.
    pub fn load(variant: Variant) -> Result<SteerProgram, XdpError> {
        let wanted = match variant {
            Variant::Plain => PROG_PLAIN,
            Variant::DeviceBound { .. } => PROG_DEVICE_BOUND,
        };
        route_libbpf_log();
        let load_error = |source| XdpError::Load {
            program: wanted,
            source,
        };
        let mut open = ObjectBuilder::default()
            .open_memory(&OBJECT.0)
            .map_err(load_error)?;
        for mut prog in open.progs_mut() {
            if prog.name() != wanted {
                prog.set_autoload(false);
                continue;
            }
            if let Variant::DeviceBound { ifindex } = variant {
                prog.set_ifindex(ifindex);
                // libbpf adds BPF_F_XDP_HAS_FRAGS (from the section name)
                // at load time, on top of these flags.
                prog.set_flags(libbpf_sys::BPF_F_XDP_DEV_BOUND_ONLY);
            }
        }
        let object = open.load().map_err(load_error)?;
        let program = SteerProgram { object, variant };
        // Fail here rather than later if the object lacks what we expect.
        program.program()?;
        Ok(program)
    }

    /// The variant loaded.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The kernel's id of the loaded program.
    pub fn id(&self) -> Result<u32, XdpError> {
        let prog = self.program()?;
        Program::id_from_fd(prog.as_fd()).map_err(|source| XdpError::Load {
            program: self.name(),
            source,
        })
    }

    /// A duplicate of the program's descriptor (to attach it elsewhere, or
    /// to query it).
    pub fn program_fd(&self) -> Result<OwnedFd, XdpError> {
        let prog = self.program()?;
        prog.as_fd()
            .try_clone_to_owned()
            .map_err(|e| XdpError::Load {
                program: self.name(),
                source: libbpf_rs::Error::from(e),
            })
    }

    fn name(&self) -> &'static str {
        match self.variant {
            Variant::Plain => PROG_PLAIN,
            Variant::DeviceBound { .. } => PROG_DEVICE_BOUND,
        }
    }

    fn program(&self) -> Result<Program<'_>, XdpError> {
        let name = self.name();
        self.object
            .progs()
            .find(|p| p.name() == name)
            .ok_or_else(|| XdpError::Load {
                program: name,
                source: libbpf_rs::Error::from(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "program missing from the embedded object (build.rs out of date?)",
                )),
            })
    }

    fn map(&self, name: &'static str) -> Result<libbpf_rs::Map<'_>, XdpError> {
        self.object
            .maps()
            .find(|m| m.name() == name)
            .ok_or_else(|| XdpError::Map {
                map: name,
                what: "find in the embedded object".into(),
                source: libbpf_rs::Error::from(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "map missing (build.rs out of date?)",
                )),
            })
    }

    /// Steers the packets from `source` to UDP port `dst_port` to the AF_XDP
    /// sockets; `tag` is stored beside the key for user space's own use.
    pub fn register_stream(
        &self,
        source: Ipv4Addr,
        dst_port: u16,
        tag: u32,
    ) -> Result<(), XdpError> {
        let key = StreamKey { source, dst_port };
        self.map(MAP_STREAMS)?
            .update(&key.to_bytes(), &tag.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source_err| XdpError::Map {
                map: MAP_STREAMS,
                what: format!("register {source}:{dst_port} (at most 1024 streams)"),
                source: source_err,
            })
    }

    /// Stops steering a stream; its packets go to the kernel again. Returns
    /// false when it was not registered.
    pub fn unregister_stream(&self, source: Ipv4Addr, dst_port: u16) -> Result<bool, XdpError> {
        let key = StreamKey { source, dst_port };
        let map = self.map(MAP_STREAMS)?;
        match map.delete(&key.to_bytes()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(false),
            Err(source_err) => Err(XdpError::Map {
                map: MAP_STREAMS,
                what: format!("unregister {source}:{dst_port}"),
                source: source_err,
            }),
        }
    }

    /// Sends the stream packets arriving on rx queue `queue` to `socket`, a
    /// bound AF_XDP socket (see [`crate::xdp::XskSocket`]).
    pub fn register_socket(&self, queue: u32, socket: BorrowedFd<'_>) -> Result<(), XdpError> {
        use std::os::fd::AsRawFd;
        let fd: i32 = socket.as_raw_fd();
        self.map(MAP_XSKS)?
            .update(&queue.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(|source| XdpError::Map {
                map: MAP_XSKS,
                what: format!(
                    "insert the socket for queue {queue} (is it bound, and is the queue below 64?)"
                ),
                source,
            })
    }

    /// Removes queue `queue`'s socket; its stream packets then go to the
    /// kernel (counted as `no_socket`).
    pub fn unregister_socket(&self, queue: u32) -> Result<(), XdpError> {
        match self.map(MAP_XSKS)?.delete(&queue.to_ne_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(XdpError::Map {
                map: MAP_XSKS,
                what: format!("remove the socket of queue {queue}"),
                source,
            }),
        }
    }

    /// The program's counters, summed over all CPUs.
    pub fn counters(&self) -> Result<SteerCounters, XdpError> {
        let map = self.map(MAP_COUNTERS)?;
        let mut out = SteerCounters::default();
        for which in Counter::ALL {
            let index = which as u32;
            let per_cpu = map
                .lookup_percpu(&index.to_ne_bytes(), MapFlags::ANY)
                .map_err(|source| XdpError::Map {
                    map: MAP_COUNTERS,
                    what: format!("read counter {which:?}"),
                    source,
                })?
                .unwrap_or_default();
            let sum = per_cpu
                .iter()
                .filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()))
                .map(u64::from_ne_bytes)
                .fold(0u64, u64::wrapping_add);
            out.set(which, sum);
        }
        Ok(out)
    }

    /// Runs the program once on `frame` in the kernel (`BPF_PROG_TEST_RUN`),
    /// without any interface. Only the plain variant can be run this way.
    pub fn test_run(&self, frame: &[u8]) -> Result<TestRun, XdpError> {
        let name = self.name();
        let prog = self
            .object
            .progs_mut()
            .find(|p| p.name() == name)
            .ok_or_else(|| XdpError::Load {
                program: name,
                source: libbpf_rs::Error::from(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "program missing from the embedded object",
                )),
            })?;
        let mut out = vec![0u8; frame.len() + 256];
        let input = ProgramInput {
            data_in: Some(frame),
            data_out: Some(&mut out),
            ..Default::default()
        };
        let output = prog.test_run(input).map_err(|source| XdpError::Load {
            program: self.name(),
            source,
        })?;
        let data = output.data.as_deref().unwrap_or(&[]);
        let meta_len = data.len().saturating_sub(frame.len());
        let meta = if meta_len == RX_META_SIZE {
            RxMeta::parse(&data[..RX_META_SIZE])
        } else {
            None
        };
        Ok(TestRun {
            action: output.return_value,
            meta,
            meta_len,
            data: data.to_vec(),
        })
    }

    /// Attaches this program to `ifindex` in `mode` through a bpf_link.
    fn link(&self, ifindex: u32, mode: XdpMode) -> std::io::Result<OwnedFd> {
        let prog = self
            .program()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()))?;
        sys::xdp_link_create(prog.as_fd(), ifindex, mode.flags())
    }
}

/// The steering program attached to one interface. Dropping it detaches it.
#[derive(Debug)]
pub struct AttachedSteer {
    // Field order is drop order: the link (the attachment) goes first, then
    // the program and its maps.
    link: OwnedFd,
    program: SteerProgram,
    ifname: String,
    ifindex: u32,
    mode: XdpMode,
    replaced: Vec<u32>,
}

impl AttachedSteer {
    /// Loads and attaches the steering program to `ifname` (an interface of
    /// the calling thread's network namespace), replacing a gvsp_steer left
    /// attached by an earlier process.
    pub fn attach(ifname: &str, config: &AttachConfig) -> Result<AttachedSteer, XdpError> {
        let ifindex = interface_index(ifname)?;
        let replaced = remove_stale(ifname, ifindex)?;

        let mut last_error = None;
        let try_native = config.mode != ModeRequest::Generic;
        if try_native && config.timestamps == TimestampRequest::Auto {
            match Self::try_attach(
                ifname,
                ifindex,
                Variant::DeviceBound { ifindex },
                XdpMode::Native,
            ) {
                Ok(attached) => return Ok(attached.with_replaced(replaced)),
                Err(e) => {
                    tracing::debug!("{ifname}: device-bound XDP program not usable ({e}); using software timestamps");
                    last_error = Some(e);
                }
            }
        }
        if try_native {
            match Self::try_attach(ifname, ifindex, Variant::Plain, XdpMode::Native) {
                Ok(attached) => return Ok(attached.with_replaced(replaced)),
                Err(e) if config.mode == ModeRequest::Native => return Err(e),
                Err(e) => {
                    tracing::warn!(
                        "{ifname}: native XDP failed ({e}); falling back to generic mode, \
                         which is slower and copies every packet"
                    );
                    last_error = Some(e);
                }
            }
        }
        match Self::try_attach(ifname, ifindex, Variant::Plain, XdpMode::Generic) {
            Ok(attached) => Ok(attached.with_replaced(replaced)),
            Err(e) => {
                if let Some(native) = last_error {
                    tracing::warn!("{ifname}: native XDP failed too: {native}");
                }
                Err(e)
            }
        }
    }

    fn try_attach(
        ifname: &str,
        ifindex: u32,
        variant: Variant,
        mode: XdpMode,
    ) -> Result<AttachedSteer, XdpError> {
        let program = SteerProgram::load(variant)?;
        let link = program
            .link(ifindex, mode)
            .map_err(|source| XdpError::Attach {
                ifname: ifname.to_string(),
                mode: mode.name(),
                source,
            })?;
        Ok(AttachedSteer {
            program,
            link,
            ifname: ifname.to_string(),
            ifindex,
            mode,
            replaced: Vec::new(),
        })
    }

    fn with_replaced(mut self, replaced: Vec<u32>) -> AttachedSteer {
        self.replaced = replaced;
        self
    }

    /// The interface's name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Native or generic.
    pub fn mode(&self) -> XdpMode {
        self.mode
    }

    /// Whether the device-bound program (hardware timestamps) is attached.
    pub fn device_bound(&self) -> bool {
        matches!(self.program.variant, Variant::DeviceBound { .. })
    }

    /// Ids of stale gvsp_steer programs this attachment replaced.
    pub fn replaced(&self) -> &[u32] {
        &self.replaced
    }

    /// The attached program (maps, counters).
    pub fn program(&self) -> &SteerProgram {
        &self.program
    }

    /// Detaches now (the same as dropping).
    pub fn detach(self) {
        drop(self);
    }

    /// The bpf_link's descriptor.
    pub fn link_fd(&self) -> BorrowedFd<'_> {
        self.link.as_fd()
    }
}

impl Deref for AttachedSteer {
    type Target = SteerProgram;

    fn deref(&self) -> &SteerProgram {
        &self.program
    }
}

/// Resolves an interface name in the calling thread's network namespace.
pub fn interface_index(ifname: &str) -> Result<u32, XdpError> {
    use rustix::net::{netdevice, socket, AddressFamily, SocketType};
    let err = |source: std::io::Error| XdpError::Interface {
        name: ifname.to_string(),
        source,
    };
    let sock = socket(AddressFamily::INET, SocketType::DGRAM, None).map_err(|e| err(e.into()))?;
    netdevice::name_to_index(&sock, ifname).map_err(|e| err(e.into()))
}

/// Finds the XDP program attached to `ifindex`; detaches it when it is a
/// gvsp_steer left attached through netlink; fails when it is anything else.
/// Returns the ids it detached.
fn remove_stale(ifname: &str, ifindex: u32) -> Result<Vec<u32>, XdpError> {
    let ifindex_i32 = i32::try_from(ifindex).unwrap_or(i32::MAX);
    // Xdp wants a program descriptor, which only its attach uses; query and
    // detach ignore it, so any open descriptor will do.
    let placeholder = std::fs::File::open("/dev/null").map_err(|source| XdpError::Interface {
        name: ifname.to_string(),
        source,
    })?;
    let xdp = Xdp::new(placeholder.as_fd());
    let query = match xdp.query(ifindex_i32, XdpFlags::NONE) {
        Ok(q) => q,
        Err(e) => {
            tracing::debug!("{ifname}: cannot query attached XDP programs ({e})");
            return Ok(Vec::new());
        }
    };
    let mut replaced = Vec::new();
    for (id, flags) in [
        (query.drv_prog_id, XdpFlags::DRV_MODE),
        (query.skb_prog_id, XdpFlags::SKB_MODE),
        (query.hw_prog_id, XdpFlags::HW_MODE),
    ] {
        if id == 0 {
            continue;
        }
        let name = program_name(id).unwrap_or_else(|| "?".into());
        let ours = name == PROG_PLAIN || name == PROG_DEVICE_BOUND;
        if !ours {
            return Err(XdpError::Busy {
                ifname: ifname.to_string(),
                name,
                id,
                how: "not a gvcap program",
            });
        }
        match xdp.detach(ifindex_i32, flags) {
            Ok(()) => {
                tracing::warn!(
                    "{ifname}: removed stale XDP program {name} (id {id}) left attached by an earlier run"
                );
                replaced.push(id);
            }
            Err(e) => {
                tracing::debug!("{ifname}: netlink detach of {name} (id {id}) failed: {e}");
                return Err(XdpError::Busy {
                    ifname: ifname.to_string(),
                    name,
                    id,
                    how: "held by a bpf_link of a running process, probably another gvcap",
                });
            }
        }
    }
    Ok(replaced)
}

/// The name of the loaded program with id `id`, if it still exists.
fn program_name(id: u32) -> Option<String> {
    ProgInfoIter::default()
        .find(|info| info.id == id)
        .map(|info| info.name.to_string_lossy().into_owned())
}
