//! Running the sync sequence against real cameras: the ops executed through
//! a [`SyncCamera`] per camera, scheduled ACTIONs through an
//! [`ActionSender`], time from a [`SyncClock`], frames from the capture path
//! through a channel.
//!
//! Invariants: the driver is the only place the sequence meets I/O; it runs
//! on one control thread and executes ops one at a time in the order polled
//! (so ops of one camera keep their order); every result is handed back with
//! the clock's time at completion, and the same clock stamps the timestamp
//! latch (just before and just after), so the sequence relates exactly the
//! clock it is given to the cameras' PTP time. A `Get` invalidates the
//! feature's cached value first, so the camera is asked every time. The
//! driver never sleeps past the sequence's next timeout, and wakes at least
//! every [`MAX_WAIT`] to look at the stop flag.

use std::borrow::Borrow;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::device::DeviceError;
use crate::genicam::{FeatureMap, FeatureRange, FeatureValue, GenicamError, MemoryPort};
use crate::wire::bootstrap;
use crate::wire::gvcp::{flags, AckRepr, CommandRepr, GVCP_PORT};

use super::config::SyncConfig;
use super::op::{ActionKeys, CameraId, LatchVia, Op, OpError, OpErrorKind, TimestampLatch, Value};
use super::plan::FeatureSet;
use super::report::SyncReport;
use super::sequence::{CameraSetup, Event, SyncError, SyncSequence};
use super::time::{HostTime, PtpTime};

/// The longest the driver waits before looking at the stop flag again.
pub const MAX_WAIT: Duration = Duration::from_millis(50);

/// The host clock the sequence runs on; it must be the clock that stamps
/// received frames.
pub trait SyncClock {
    /// Now, in ns.
    fn now(&self) -> HostTime;
    /// Which clock this is, for the report ("CLOCK_TAI").
    fn describe(&self) -> String;
}

/// A system clock read with `clock_gettime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemClock {
    /// CLOCK_REALTIME: what ptp4l serves as grandmaster with software timestamping.
    Realtime,
    /// CLOCK_TAI: what the XDP program stamps packets with when the NIC gives no stamp.
    Tai,
}

fn timespec_ns(ts: rustix::time::Timespec) -> HostTime {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    HostTime(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
}

impl SyncClock for SystemClock {
    fn now(&self) -> HostTime {
        let realtime = || timespec_ns(rustix::time::clock_gettime(rustix::time::ClockId::Realtime));
        match self {
            SystemClock::Realtime => realtime(),
            // CLOCK_TAI exists since Linux 3.10; gvcap needs 6.6.
            SystemClock::Tai => {
                rustix::time::clock_gettime_dynamic(rustix::time::DynamicClockId::Tai)
                    .map(timespec_ns)
                    .unwrap_or_else(|_| realtime())
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            SystemClock::Realtime => "system clock CLOCK_REALTIME".to_string(),
            SystemClock::Tai => "system clock CLOCK_TAI".to_string(),
        }
    }
}

/// A NIC's PTP hardware clock (`/dev/ptpN`), the clock of hardware receive
/// timestamps.
#[derive(Debug)]
pub struct PhcClock {
    device: std::fs::File,
    path: std::path::PathBuf,
}

impl PhcClock {
    /// Opens the PTP hardware clock at `path` (e.g. `/dev/ptp0`).
    pub fn open(path: impl Into<std::path::PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let device = std::fs::File::open(&path)?;
        rustix::time::clock_gettime_dynamic(rustix::time::DynamicClockId::Dynamic(
            std::os::fd::AsFd::as_fd(&device),
        ))
        .map_err(|e| io::Error::other(format!("{} is not a PTP clock: {e}", path.display())))?;
        Ok(PhcClock { device, path })
    }

    /// The PTP hardware clock of network interface `interface`, if it has one
    /// (found through `/sys/class/net/IF/device/ptp/`).
    pub fn for_interface(interface: &str) -> io::Result<Option<Self>> {
        let dir = std::path::Path::new("/sys/class/net")
            .join(interface)
            .join("device/ptp");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("ptp"))
            .collect();
        names.sort();
        match names.first() {
            Some(name) => PhcClock::open(std::path::Path::new("/dev").join(name)).map(Some),
            None => Ok(None),
        }
    }
}

impl SyncClock for PhcClock {
    fn now(&self) -> HostTime {
        let fd = std::os::fd::AsFd::as_fd(&self.device);
        // Opened and read once in `open`; a PHC that vanished reads as 0,
        // which the latch check reports as a clock running backwards.
        rustix::time::clock_gettime_dynamic(rustix::time::DynamicClockId::Dynamic(fd))
            .map(timespec_ns)
            .unwrap_or_default()
    }

    fn describe(&self) -> String {
        format!("PTP hardware clock {}", self.path.display())
    }
}

/// One camera as the driver needs it.
pub trait SyncCamera {
    /// The camera's name for messages.
    fn name(&self) -> &str;
    /// The features its XML declares.
    fn features(&self) -> FeatureSet;
    /// Reads a feature from the device (not from a cache).
    fn get(&self, feature: &str) -> Result<FeatureValue, OpError>;
    /// Writes a feature.
    fn set(&self, feature: &str, value: &FeatureValue) -> Result<(), OpError>;
    /// Executes a command.
    fn execute(&self, command: &str) -> Result<(), OpError>;
    /// The current range of a numeric feature.
    fn range(&self, feature: &str) -> Result<Option<FeatureRange>, OpError>;
    /// Latches the camera's clock; `clock` is read just before and just after.
    fn latch_timestamp(
        &self,
        via: LatchVia,
        clock: &dyn SyncClock,
    ) -> Result<TimestampLatch, OpError>;
}

/// Sends scheduled ACTION commands.
pub trait ActionSender {
    /// Asks `cameras` to act at PTP time `time` (ns) with `keys`.
    fn scheduled_action(
        &self,
        cameras: &[CameraId],
        time: PtpTime,
        keys: ActionKeys,
    ) -> Result<(), OpError>;
}

fn device_kind(error: &DeviceError) -> OpErrorKind {
    match error {
        DeviceError::Timeout { .. } => OpErrorKind::NoAnswer,
        _ => OpErrorKind::Refused,
    }
}

/// Classifies a GenICam error for the sequence: a transport timeout anywhere
/// in its chain is `NoAnswer`.
pub fn classify(error: &GenicamError) -> OpErrorKind {
    match error {
        GenicamError::OutOfRange { .. } | GenicamError::ValueRefused { .. } => {
            OpErrorKind::OutOfRange
        }
        GenicamError::UnknownFeature { .. }
        | GenicamError::NotAvailable { .. }
        | GenicamError::Locked { .. }
        | GenicamError::ReadOnly { .. }
        | GenicamError::WriteOnly { .. }
        | GenicamError::NoSuchEntry { .. }
        | GenicamError::EntryUnavailable { .. }
        | GenicamError::WrongKind { .. }
        | GenicamError::InvalidText { .. } => OpErrorKind::Unavailable,
        other => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(other);
            while let Some(error) = source {
                if let Some(device) = error.downcast_ref::<DeviceError>() {
                    return device_kind(device);
                }
                source = error.source();
            }
            OpErrorKind::Refused
        }
    }
}

fn genicam_error(camera: &str, error: GenicamError) -> OpError {
    OpError::new(classify(&error), format!("camera {camera}: {error}"))
}

fn port_error(camera: &str, what: &str, error: &(dyn std::error::Error + 'static)) -> OpError {
    let kind = error
        .downcast_ref::<DeviceError>()
        .map_or(OpErrorKind::Refused, device_kind);
    OpError::new(kind, format!("camera {camera}: {what}: {error}"))
}

/// A camera driven through its GenICam features: a pointer to a
/// [`MemoryPort`] (`&Camera`, `Arc<Camera>`, `Box<Camera>` for the GVCP
/// client [`crate::device::Camera`]; a `&RegisterSpace` in tests) and the
/// [`FeatureMap`] built from its XML, owned or borrowed.
#[derive(Debug)]
pub struct GenicamCamera<P, F = FeatureMap> {
    name: String,
    port: P,
    features: F,
}

impl<P, F> GenicamCamera<P, F>
where
    P: Deref,
    P::Target: MemoryPort + Sized,
    F: Borrow<FeatureMap>,
{
    /// A camera named `name`, reached through `port`, described by `features`.
    pub fn new(name: impl Into<String>, port: P, features: F) -> Self {
        GenicamCamera {
            name: name.into(),
            port,
            features,
        }
    }

    /// Gives the port and feature map back.
    pub fn into_parts(self) -> (P, F) {
        (self.port, self.features)
    }

    fn map(&self) -> &FeatureMap {
        self.features.borrow()
    }

    fn read_u32(&self, address: u32) -> Result<u32, OpError> {
        let bytes = self.port.read_memory(u64::from(address), 4).map_err(|e| {
            port_error(
                &self.name,
                &format!("reading register {address:#06x}"),
                e.as_ref(),
            )
        })?;
        let word: [u8; 4] = bytes.as_slice().try_into().map_err(|_| {
            OpError::new(
                OpErrorKind::Refused,
                format!(
                    "camera {}: register {address:#06x} read {} bytes, not 4",
                    self.name,
                    bytes.len()
                ),
            )
        })?;
        Ok(u32::from_be_bytes(word))
    }

    fn read_u64(&self, high: u32, low: u32) -> Result<u64, OpError> {
        Ok((u64::from(self.read_u32(high)?) << 32) | u64::from(self.read_u32(low)?))
    }

    fn integer(&self, feature: &str) -> Result<i64, OpError> {
        self.map().invalidate(feature);
        self.map()
            .get_integer(&*self.port, feature)
            .map_err(|e| genicam_error(&self.name, e))
    }
}

/// Converts `ticks` at `frequency` Hz to ns.
fn ticks_to_ns(camera: &str, ticks: u64, frequency: u64) -> Result<u64, OpError> {
    if frequency == 0 {
        return Err(OpError::new(
            OpErrorKind::Unavailable,
            format!("camera {camera}: timestamp tick frequency is 0: the camera has no timestamp counter"),
        ));
    }
    let ns = u128::from(ticks) * 1_000_000_000 / u128::from(frequency);
    Ok(u64::try_from(ns).unwrap_or(u64::MAX))
}

impl<P, F> SyncCamera for GenicamCamera<P, F>
where
    P: Deref,
    P::Target: MemoryPort + Sized,
    F: Borrow<FeatureMap>,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn features(&self) -> FeatureSet {
        FeatureSet::from_feature_map(self.map())
    }

    fn get(&self, feature: &str) -> Result<FeatureValue, OpError> {
        self.map().invalidate(feature);
        self.map()
            .get(&*self.port, feature)
            .map_err(|e| genicam_error(&self.name, e))
    }

    fn set(&self, feature: &str, value: &FeatureValue) -> Result<(), OpError> {
        // The text form parses back to the same value for every settable kind.
        self.map()
            .set_from_str(&*self.port, feature, &value.to_string())
            .map_err(|e| genicam_error(&self.name, e))
    }

    fn execute(&self, command: &str) -> Result<(), OpError> {
        self.map()
            .execute(&*self.port, command)
            .map_err(|e| genicam_error(&self.name, e))
    }

    fn range(&self, feature: &str) -> Result<Option<FeatureRange>, OpError> {
        self.map()
            .range(&*self.port, feature)
            .map_err(|e| genicam_error(&self.name, e))
    }

    fn latch_timestamp(
        &self,
        via: LatchVia,
        clock: &dyn SyncClock,
    ) -> Result<TimestampLatch, OpError> {
        match via {
            LatchVia::Features {
                latch,
                value,
                tick_frequency,
            } => {
                let host_before = clock.now();
                self.execute(latch)?;
                let host_after = clock.now();
                let ticks = u64::try_from(self.integer(value)?).unwrap_or(0);
                let frequency = match tick_frequency {
                    Some(feature) => u64::try_from(self.integer(feature)?).unwrap_or(0),
                    None => 1_000_000_000,
                };
                Ok(TimestampLatch {
                    camera: PtpTime(ticks_to_ns(&self.name, ticks, frequency)?),
                    host_before,
                    host_after,
                })
            }
            LatchVia::Bootstrap => {
                let frequency = self.read_u64(
                    bootstrap::TIMESTAMP_TICK_FREQUENCY_HIGH,
                    bootstrap::TIMESTAMP_TICK_FREQUENCY_LOW,
                )?;
                let host_before = clock.now();
                self.port
                    .write_memory(
                        u64::from(bootstrap::TIMESTAMP_CONTROL),
                        &bootstrap::TIMESTAMP_CONTROL_LATCH.to_be_bytes(),
                    )
                    .map_err(|e| port_error(&self.name, "latching the timestamp", e.as_ref()))?;
                let host_after = clock.now();
                let ticks = self.read_u64(
                    bootstrap::TIMESTAMP_VALUE_HIGH,
                    bootstrap::TIMESTAMP_VALUE_LOW,
                )?;
                Ok(TimestampLatch {
                    camera: PtpTime(ticks_to_ns(&self.name, ticks, frequency)?),
                    host_before,
                    host_after,
                })
            }
        }
    }
}

/// Sends scheduled ACTION commands by unicast to each camera's GVCP port and
/// waits for every acknowledge. The time goes out as is: PTP-enabled GigE
/// Vision cameras count their timestamp in ns.
#[derive(Debug)]
pub struct UdpActionSender {
    socket: UdpSocket,
    targets: Vec<(String, Ipv4Addr)>,
    timeout: Duration,
    next_id: Mutex<u16>,
}

impl UdpActionSender {
    /// A sender to `targets` (name and address, indexed by [`CameraId`]),
    /// waiting `timeout` for the acknowledges.
    pub fn new(targets: Vec<(String, Ipv4Addr)>, timeout: Duration) -> io::Result<Self> {
        let socket = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        Ok(UdpActionSender {
            socket,
            targets,
            timeout,
            next_id: Mutex::new(0x4000),
        })
    }

    fn take_id(&self) -> u16 {
        let mut id = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
        *id = id.wrapping_add(1).max(1);
        *id
    }
}

impl ActionSender for UdpActionSender {
    fn scheduled_action(
        &self,
        cameras: &[CameraId],
        time: PtpTime,
        keys: ActionKeys,
    ) -> Result<(), OpError> {
        let command = CommandRepr::Action {
            device_key: keys.device_key,
            group_key: keys.group_key,
            group_mask: keys.group_mask,
            action_time: Some(time.0),
        };
        let mut waiting = Vec::new();
        let mut buffer = vec![0u8; command.buffer_len()];
        for camera in cameras {
            let Some((name, ip)) = self.targets.get(camera.0) else {
                return Err(OpError::new(
                    OpErrorKind::Refused,
                    format!("no address for camera #{}", camera.0),
                ));
            };
            let id = self.take_id();
            let len = command
                .emit(id, flags::ACK_REQUIRED, &mut buffer)
                .map_err(|e| {
                    OpError::new(
                        OpErrorKind::Refused,
                        format!("camera {name}: cannot encode ACTION: {e}"),
                    )
                })?;
            self.socket
                .send_to(&buffer[..len], SocketAddrV4::new(*ip, GVCP_PORT))
                .map_err(|e| {
                    OpError::new(
                        OpErrorKind::Refused,
                        format!("camera {name}: sending ACTION: {e}"),
                    )
                })?;
            waiting.push((id, name.as_str(), *ip));
        }
        let deadline = Instant::now() + self.timeout;
        let mut reply = [0u8; 600];
        while !waiting.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.socket.set_read_timeout(Some(left)).map_err(|e| {
                OpError::new(OpErrorKind::Refused, format!("ACTION acknowledges: {e}"))
            })?;
            let (len, from) = match self.socket.recv_from(&mut reply) {
                Ok(got) => got,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => {
                    return Err(OpError::new(
                        OpErrorKind::Refused,
                        format!("ACTION acknowledges: {e}"),
                    ))
                }
            };
            let Ok((header, body)) = AckRepr::parse(&reply[..len]) else {
                continue;
            };
            let Some(index) = waiting.iter().position(|(id, _, ip)| {
                *id == header.ack_id && std::net::IpAddr::V4(*ip) == from.ip()
            }) else {
                continue;
            };
            let (_, name, _) = waiting.remove(index);
            if !header.status.is_success()
                || !matches!(body, AckRepr::Action | AckRepr::Empty { .. })
            {
                return Err(OpError::new(
                    OpErrorKind::Refused,
                    format!(
                        "camera {name}: ACTION refused with status {}",
                        header.status
                    ),
                ));
            }
        }
        if waiting.is_empty() {
            Ok(())
        } else {
            let names: Vec<&str> = waiting.iter().map(|(_, name, _)| *name).collect();
            Err(OpError::new(
                OpErrorKind::NoAnswer,
                format!(
                    "no ACTION acknowledge from {} within {} ms",
                    names.join(", "),
                    self.timeout.as_millis()
                ),
            ))
        }
    }
}

/// Runs a [`SyncSequence`] against cameras on the calling (control) thread.
pub struct Driver<'a> {
    cameras: Vec<&'a dyn SyncCamera>,
    actions: Option<&'a dyn ActionSender>,
    clock: &'a dyn SyncClock,
    frames: Option<Receiver<super::verify::FrameRecord>>,
    stop: Option<&'a AtomicBool>,
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field(
                "cameras",
                &self.cameras.iter().map(|c| c.name()).collect::<Vec<_>>(),
            )
            .field("clock", &self.clock.describe())
            .field("actions", &self.actions.is_some())
            .field("frames", &self.frames.is_some())
            .finish()
    }
}

impl<'a> Driver<'a> {
    /// A driver for `cameras` (indexed by [`CameraId`]) on `clock`.
    pub fn new(cameras: Vec<&'a dyn SyncCamera>, clock: &'a dyn SyncClock) -> Self {
        Driver {
            cameras,
            actions: None,
            clock,
            frames: None,
            stop: None,
        }
    }

    /// Sends scheduled ACTIONs through `actions`.
    pub fn with_actions(mut self, actions: &'a dyn ActionSender) -> Self {
        self.actions = Some(actions);
        self
    }

    /// Takes frames from the capture path through `frames`.
    pub fn with_frames(mut self, frames: Receiver<super::verify::FrameRecord>) -> Self {
        self.frames = Some(frames);
        self
    }

    /// Stops the run (or abandons the start) when `stop` becomes true.
    pub fn with_stop(mut self, stop: &'a AtomicBool) -> Self {
        self.stop = Some(stop);
        self
    }

    /// The sequence for these cameras with `config`, naming this driver's clock.
    pub fn sequence(&self, mut config: SyncConfig) -> Result<SyncSequence, SyncError> {
        config.host_clock = self.clock.describe();
        let setups = self
            .cameras
            .iter()
            .map(|c| CameraSetup {
                name: c.name().to_string(),
                features: c.features(),
            })
            .collect();
        SyncSequence::new(self.clock.now(), config, setups)
    }

    /// Executes one op.
    pub fn execute(&self, op: &Op) -> Result<Value, OpError> {
        let camera = |id: CameraId| {
            self.cameras.get(id.0).copied().ok_or_else(|| {
                OpError::new(
                    OpErrorKind::Refused,
                    format!("no camera #{} in the driver", id.0),
                )
            })
        };
        match op {
            Op::Set {
                camera: id,
                feature,
                value,
            } => camera(*id)?.set(feature, value).map(|()| Value::Done),
            Op::Get {
                camera: id,
                feature,
            } => camera(*id)?.get(feature).map(Value::Feature),
            Op::Execute {
                camera: id,
                command,
            } => camera(*id)?.execute(command).map(|()| Value::Done),
            Op::Range {
                camera: id,
                feature,
            } => camera(*id)?.range(feature).map(Value::Range),
            Op::LatchTimestamp { camera: id, via } => camera(*id)?
                .latch_timestamp(*via, self.clock)
                .map(Value::Latch),
            Op::ScheduledAction {
                cameras,
                time,
                keys,
            } => match self.actions {
                Some(actions) => actions
                    .scheduled_action(cameras, *time, *keys)
                    .map(|()| Value::Done),
                None => Err(OpError::new(
                    OpErrorKind::Refused,
                    "a camera needs scheduled ACTION commands but the driver has no ACTION sender",
                )),
            },
        }
    }

    fn drain_frames(&self, seq: &mut SyncSequence) {
        if let Some(frames) = &self.frames {
            while let Ok(record) = frames.try_recv() {
                seq.handle_frame(self.clock.now(), &record);
            }
        }
    }

    /// Runs `seq` to its end, handing every event to `on_event`, and returns
    /// its report.
    pub fn run(&self, seq: &mut SyncSequence, mut on_event: impl FnMut(&Event)) -> SyncReport {
        let mut stop_sent = false;
        loop {
            if !stop_sent && self.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                stop_sent = true;
                seq.request_stop(self.clock.now());
            }
            while let Some((id, op)) = seq.poll_op() {
                let result = self.execute(&op);
                seq.handle_result(self.clock.now(), id, result);
                self.drain_frames(seq);
            }
            self.drain_frames(seq);
            while let Some(event) = seq.poll_event() {
                on_event(&event);
            }
            if seq.is_done() {
                break;
            }
            let now = self.clock.now();
            let deadline = seq.poll_timeout();
            let wait = deadline.map_or(MAX_WAIT, |t| t.since(now).min(MAX_WAIT));
            match &self.frames {
                Some(frames) if !wait.is_zero() => match frames.recv_timeout(wait) {
                    Ok(record) => seq.handle_frame(self.clock.now(), &record),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => thread::sleep(wait),
                },
                _ => thread::sleep(wait),
            }
            let now = self.clock.now();
            if deadline.is_some_and(|t| t <= now) {
                seq.handle_timeout(now);
            }
        }
        seq.report()
    }
}

/// Owned parts for [`spawn`]: the cameras, an optional ACTION sender and the clock.
pub struct ControlParts {
    /// The cameras, indexed by [`CameraId`].
    pub cameras: Vec<Box<dyn SyncCamera + Send>>,
    /// Where scheduled ACTIONs go, if any camera needs them.
    pub actions: Option<Box<dyn ActionSender + Send>>,
    /// The host clock (the clock that stamps received frames).
    pub clock: Box<dyn SyncClock + Send>,
}

impl std::fmt::Debug for ControlParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlParts")
            .field(
                "cameras",
                &self
                    .cameras
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .field("clock", &self.clock.describe())
            .finish_non_exhaustive()
    }
}

/// Runs the sync on its own control thread ("gvcap-sync"); events go to
/// `events`, frames come from `frames`, `stop` ends the run.
pub fn spawn(
    parts: ControlParts,
    config: SyncConfig,
    frames: Option<Receiver<super::verify::FrameRecord>>,
    events: Option<Sender<Event>>,
    stop: Arc<AtomicBool>,
) -> io::Result<thread::JoinHandle<Result<SyncReport, SyncError>>> {
    thread::Builder::new()
        .name("gvcap-sync".into())
        .spawn(move || {
            let cameras: Vec<&dyn SyncCamera> = parts
                .cameras
                .iter()
                .map(|c| c.as_ref() as &dyn SyncCamera)
                .collect();
            let mut driver = Driver::new(cameras, parts.clock.as_ref()).with_stop(&stop);
            if let Some(actions) = &parts.actions {
                driver = driver.with_actions(actions.as_ref());
            }
            if let Some(frames) = frames {
                driver = driver.with_frames(frames);
            }
            let mut seq = driver.sequence(config)?;
            Ok(driver.run(&mut seq, |event| {
                if let Some(events) = &events {
                    let _ = events.send(event.clone());
                }
            }))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_convert_at_the_camera_frequency() {
        assert_eq!(ticks_to_ns("c", 1_000, 1_000_000_000).unwrap(), 1_000);
        assert_eq!(
            ticks_to_ns("c", 125_000_000, 125_000_000).unwrap(),
            1_000_000_000
        );
        assert_eq!(ticks_to_ns("c", u64::MAX, 1).unwrap(), u64::MAX);
        let err = ticks_to_ns("cam9", 1, 0).unwrap_err();
        assert!(err.message.contains("cam9") && err.message.contains("no timestamp counter"));
    }

    #[test]
    fn system_clocks_tick_and_name_themselves() {
        let a = SystemClock::Tai.now();
        let b = SystemClock::Tai.now();
        assert!(b >= a && a.0 > 1_000_000_000 * 1_000_000_000);
        assert!(SystemClock::Realtime.describe().contains("CLOCK_REALTIME"));
    }

    #[test]
    fn device_timeouts_anywhere_in_the_chain_mean_no_answer() {
        let timeout = DeviceError::Timeout {
            camera: "c".into(),
            operation: crate::device::Operation::ReadRegister(0x944),
            attempts: 4,
            timeout_ms: 500,
        };
        let port = GenicamError::Port {
            operation: "reading",
            address: 0x944,
            len: 4,
            context: "feature PtpStatus".into(),
            source: Box::new(timeout),
        };
        assert_eq!(classify(&port), OpErrorKind::NoAnswer);
        let unknown = GenicamError::UnknownFeature {
            feature: "X".into(),
        };
        assert_eq!(classify(&unknown), OpErrorKind::Unavailable);
    }
}
