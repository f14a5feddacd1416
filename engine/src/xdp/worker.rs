//! The receive worker: one thread per NIC queue, pinned to a configured core,
//! running one [`XskSocket`] into one [`PacketSink`].
//!
//! Invariants:
//! - in the steady state the loop allocates nothing, takes no lock and makes
//!   no syscall except the wakeups the kernel asks for (need_wakeup, busy
//!   polling); counters are published with relaxed atomic stores;
//! - when idle it spins a bounded number of empty polls, then blocks in
//!   poll() with a timeout, so it never holds a core that has nothing to do
//!   (a 2-core machine is not starved); it spins again only after poll()
//!   found the socket readable, never after a timeout;
//! - `stop` is seen within one poll timeout; the socket and the sink are
//!   handed back to the caller when the thread ends;
//! - the sink's `on_idle` runs before and after every blocking wait (not
//!   on each spin: the spin stays a bare ring check), so its timers advance
//!   at least once per poll timeout without traffic.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::XdpError;
use super::rx::{PacketSink, RxCounters};
use super::socket::XskSocket;

/// How a worker runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Core to pin the thread to (an id from `core_affinity::get_core_ids`);
    /// `None` leaves it to the scheduler.
    pub core: Option<usize>,
    /// Empty polls before blocking in poll().
    pub spin_polls: u32,
    /// How long one poll() blocks at most (also bounds how late `stop` is seen).
    pub poll_timeout: Duration,
    /// Rx descriptors handled per batch.
    pub batch: u32,
    /// Thread name.
    pub name: String,
    /// After poll() woke on a quiet socket, let packets gather this long
    /// before draining the ring, so one wakeup serves many packets (like a
    /// NIC's interrupt coalescing); zero drains at once. Keep it well below
    /// the time the rx ring takes to fill.
    pub coalesce: Duration,
}

impl Default for WorkerConfig {
    /// Unpinned, 2000 empty polls, 50 ms poll timeout, batches of 64, no coalescing.
    fn default() -> Self {
        WorkerConfig {
            core: None,
            spin_polls: 2000,
            poll_timeout: Duration::from_millis(50),
            batch: 64,
            name: "gvcap-xdp-rx".into(),
            coalesce: Duration::ZERO,
        }
    }
}

/// What a stopped worker hands back.
#[derive(Debug)]
pub struct WorkerReport<S> {
    /// The socket, still bound.
    pub socket: XskSocket,
    /// The sink, with whatever it accumulated.
    pub sink: S,
    /// Final counters.
    pub counters: RxCounters,
}

/// Counters a running worker publishes.
#[derive(Debug, Default)]
struct LiveCounters {
    packets: AtomicU64,
    payload_bytes: AtomicU64,
    descriptors: AtomicU64,
    multi_buffer: AtomicU64,
    malformed: AtomicU64,
    too_many_frags: AtomicU64,
    bad_descriptors: AtomicU64,
    no_timestamp: AtomicU64,
    fill_overflow: AtomicU64,
    wakeups: AtomicU64,
    sleeps: AtomicU64,
}

impl LiveCounters {
    fn store(&self, c: &RxCounters) {
        let r = Ordering::Relaxed;
        self.packets.store(c.packets, r);
        self.payload_bytes.store(c.payload_bytes, r);
        self.descriptors.store(c.descriptors, r);
        self.multi_buffer.store(c.multi_buffer, r);
        self.malformed.store(c.malformed, r);
        self.too_many_frags.store(c.too_many_frags, r);
        self.bad_descriptors.store(c.bad_descriptors, r);
        self.no_timestamp.store(c.no_timestamp, r);
        self.fill_overflow.store(c.fill_overflow, r);
        self.wakeups.store(c.wakeups, r);
        self.sleeps.store(c.sleeps, r);
    }

    fn load(&self) -> RxCounters {
        let r = Ordering::Relaxed;
        RxCounters {
            packets: self.packets.load(r),
            payload_bytes: self.payload_bytes.load(r),
            descriptors: self.descriptors.load(r),
            multi_buffer: self.multi_buffer.load(r),
            malformed: self.malformed.load(r),
            too_many_frags: self.too_many_frags.load(r),
            bad_descriptors: self.bad_descriptors.load(r),
            no_timestamp: self.no_timestamp.load(r),
            fill_overflow: self.fill_overflow.load(r),
            wakeups: self.wakeups.load(r),
            sleeps: self.sleeps.load(r),
        }
    }
}

/// A running receive worker.
#[derive(Debug)]
pub struct RxWorker<S> {
    stop: Arc<AtomicBool>,
    live: Arc<LiveCounters>,
    thread: Option<JoinHandle<WorkerReport<S>>>,
}

impl<S: PacketSink + Send + 'static> RxWorker<S> {
    /// Starts the worker thread; fails when the core is not one this process
    /// may run on, or the thread cannot be started or pinned.
    pub fn spawn(
        socket: XskSocket,
        sink: S,
        config: WorkerConfig,
    ) -> Result<RxWorker<S>, XdpError> {
        if config.batch == 0 {
            return Err(XdpError::Config("worker batch must be at least 1".into()));
        }
        // get_core_ids reports the calling thread's affinity mask: ask before
        // anything is pinned.
        let core = match config.core {
            None => None,
            Some(id) => {
                let allowed = core_affinity::get_core_ids().unwrap_or_default();
                match allowed.into_iter().find(|c| c.id == id) {
                    Some(c) => Some(c),
                    None => {
                        return Err(XdpError::Config(format!(
                            "core {id} is not in this process's CPU set (see taskset -p {})",
                            std::process::id()
                        )))
                    }
                }
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(LiveCounters::default());
        let (started_tx, started_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
        let thread = {
            let stop = Arc::clone(&stop);
            let live = Arc::clone(&live);
            std::thread::Builder::new()
                .name(config.name.clone())
                .spawn(move || {
                    if let Some(core) = core {
                        if !core_affinity::set_for_current(core) {
                            let _ =
                                started_tx.send(Err(format!("could not pin to core {}", core.id)));
                            return WorkerReport {
                                counters: socket.counters(),
                                socket,
                                sink,
                            };
                        }
                    }
                    let _ = started_tx.send(Ok(()));
                    run(socket, sink, &config, &stop, &live)
                })
                .map_err(|e| XdpError::Worker(format!("cannot start thread: {e}")))?
        };
        match started_rx.recv() {
            Ok(Ok(())) => Ok(RxWorker {
                stop,
                live,
                thread: Some(thread),
            }),
            Ok(Err(why)) => {
                let _ = thread.join();
                Err(XdpError::Worker(why))
            }
            Err(_) => {
                let _ = thread.join();
                Err(XdpError::Worker(
                    "worker thread ended while starting".into(),
                ))
            }
        }
    }

    /// The counters as last published (at most one batch old).
    pub fn counters(&self) -> RxCounters {
        self.live.load()
    }

    /// Asks the worker to stop, waits for it, and hands back socket and sink.
    pub fn stop(mut self) -> Result<WorkerReport<S>, XdpError> {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self
            .thread
            .take()
            .ok_or_else(|| XdpError::Worker("worker already stopped".into()))?;
        thread
            .join()
            .map_err(|_| XdpError::Worker("worker thread panicked (in the sink?)".into()))
    }
}

impl<S> Drop for RxWorker<S> {
    /// Stops the thread if [`RxWorker::stop`] was not called (the socket and
    /// sink are then dropped with it).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The worker's loop.
fn run<S: PacketSink>(
    mut socket: XskSocket,
    mut sink: S,
    config: &WorkerConfig,
    stop: &AtomicBool,
    live: &LiveCounters,
) -> WorkerReport<S> {
    let mut idle: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        let polled = socket.receive(&mut sink, config.batch);
        if polled.descriptors > 0 {
            idle = 0;
            live.store(&socket.counters());
            continue;
        }
        idle += 1;
        if idle < config.spin_polls {
            std::hint::spin_loop();
            continue;
        }
        sink.on_idle();
        let readable = socket.wait(config.poll_timeout);
        if readable && !config.coalesce.is_zero() {
            std::thread::sleep(config.coalesce);
        }
        sink.on_idle();
        // Spin again only after traffic: a quiet socket is waited on, not
        // polled in a loop between timeouts.
        idle = if readable { 0 } else { config.spin_polls };
        live.store(&socket.counters());
    }
    let counters = socket.counters();
    live.store(&counters);
    WorkerReport {
        socket,
        sink,
        counters,
    }
}
