//! AF_XDP end to end over a veth between two `gvx` namespaces (MTU 9000):
//! a plain UDP sender in one, gvsp_steer + an AF_XDP socket + a receive
//! worker in the other. Needs root.
//!
//! Shows: every registered datagram (1400 and 8000 bytes, the latter as a
//! 3-buffer chain) arrives intact with a timestamp; a datagram to another
//! port and a ping still go through the kernel; the program is gone once
//! the loader is dropped, and also when the process holding it dies.

mod xdp_support;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gvcap::xdp::{
    AttachConfig, AttachedSteer, BindMode, BusyPoll, ModeRequest, PacketSink, RxCounters, RxWorker,
    SteerCounters, WorkerConfig, XdpError, XdpMode, XskConfig, XskSocket,
};
use xdp_support::{enter_netns, ip, loud, VethPair};

const STREAM_PORT: u16 = 50_010;
const OTHER_PORT: u16 = 50_011;
const SENDER_PORT: u16 = 40_000;
const DATAGRAMS: u32 = 400;

fn datagram_len(seq: u32) -> usize {
    if seq % 2 == 0 {
        1400
    } else {
        8000
    }
}

fn pattern(seq: u32, i: usize) -> u8 {
    (seq as usize * 7 + i * 13) as u8
}

fn datagram(seq: u32) -> Vec<u8> {
    let len = datagram_len(seq);
    let mut d: Vec<u8> = (0..len).map(|i| pattern(seq, i)).collect();
    d[..4].copy_from_slice(&seq.to_be_bytes());
    d
}

/// Checks each datagram against the pattern as it arrives.
#[derive(Debug)]
struct Verify {
    seen: Vec<u32>,
    corrupt: Vec<u32>,
    frag_counts: Vec<usize>,
    first_stamp: u64,
    last_stamp: u64,
    zero_stamps: u32,
    hw_stamps: u32,
    sources: Vec<(SocketAddrV4, u16)>,
}

impl Verify {
    fn new() -> Verify {
        Verify {
            seen: vec![0; DATAGRAMS as usize],
            corrupt: Vec::new(),
            frag_counts: Vec::new(),
            first_stamp: 0,
            last_stamp: 0,
            zero_stamps: 0,
            hw_stamps: 0,
            sources: Vec::new(),
        }
    }
}

impl PacketSink for Verify {
    fn on_packet(&mut self, frags: &[&[u8]], src: SocketAddrV4, dst_port: u16, ts: u64, hw: bool) {
        let data: Vec<u8> = frags.concat();
        self.frag_counts.push(frags.len());
        if !self.sources.contains(&(src, dst_port)) {
            self.sources.push((src, dst_port));
        }
        if ts == 0 {
            self.zero_stamps += 1;
        } else {
            if self.first_stamp == 0 {
                self.first_stamp = ts;
            }
            self.last_stamp = ts;
        }
        if hw {
            self.hw_stamps += 1;
        }
        let Some(seq) = data
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        else {
            self.corrupt.push(u32::MAX);
            return;
        };
        if seq >= DATAGRAMS || data != datagram(seq) {
            self.corrupt.push(seq);
            return;
        }
        self.seen[seq as usize] += 1;
    }
}

/// What the receiver side saw.
#[derive(Debug)]
struct Received {
    verify: Verify,
    counters: RxCounters,
    steer: SteerCounters,
    mode: XdpMode,
    device_bound: bool,
    zero_copy: bool,
    hugepages: bool,
    busy_poll: bool,
    other_port: Option<Vec<u8>>,
    /// CLOCK_TAI just before the first datagram was sent and just after the
    /// last one was received.
    window: (u64, u64),
}

fn tai_ns() -> u64 {
    let t =
        rustix::time::clock_gettime_dynamic(rustix::time::DynamicClockId::Tai).expect("CLOCK_TAI");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn run_stream(
    pair: &VethPair,
    config: AttachConfig,
    xsk: XskConfig,
    worker_config: WorkerConfig,
) -> Received {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let (sent_tx, sent_rx) = mpsc::channel::<()>();
    let receiver = {
        let ns = format!("/run/netns/{}", pair.receiver_ns);
        let ifname = pair.receiver_if.clone();
        let sender_ip = pair.sender_ip;
        std::thread::spawn(move || -> Received {
            enter_netns(&ns);
            let setup = || -> Result<_, gvcap::xdp::XdpError> {
                let steer = AttachedSteer::attach(&ifname, &config)?;
                let socket = XskSocket::open(steer.ifindex(), 0, &xsk)?;
                steer.register_socket(0, std::os::fd::AsFd::as_fd(&socket))?;
                steer.register_stream(sender_ip, STREAM_PORT, 1)?;
                Ok((steer, socket))
            };
            let (steer, socket) = match setup() {
                Ok(x) => x,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    panic!("receiver setup: {e}");
                }
            };
            let other =
                UdpSocket::bind((Ipv4Addr::UNSPECIFIED, OTHER_PORT)).expect("bind other port");
            other
                .set_read_timeout(Some(Duration::from_secs(3)))
                .unwrap();
            let zero_copy = socket.is_zero_copy();
            let hugepages = socket.umem_on_hugepages();
            let busy_poll = socket.busy_poll();
            let worker =
                RxWorker::spawn(socket, Verify::new(), worker_config).expect("spawn worker");
            ready_tx.send(Ok(())).unwrap();

            sent_rx.recv().expect("sender finished");
            let deadline = Instant::now() + Duration::from_secs(5);
            while worker.counters().packets < u64::from(DATAGRAMS) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let mut buf = [0u8; 2048];
            let other_port = other.recv(&mut buf).ok().map(|n| buf[..n].to_vec());
            let report = worker.stop().expect("stop worker");
            let steer_counters = steer.counters().expect("read counters");
            Received {
                mode: steer.mode(),
                device_bound: steer.device_bound(),
                zero_copy,
                hugepages,
                busy_poll,
                verify: report.sink,
                counters: report.counters,
                steer: steer_counters,
                other_port,
                window: (0, 0),
            }
            // `steer` and the socket drop here: the program is detached.
        })
    };
    ready_rx
        .recv()
        .expect("receiver thread")
        .unwrap_or_else(|e| panic!("receiver setup failed: {e}"));

    // ICMP and ARP go through the kernel while the program is attached.
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.sender_ns,
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
        ])
        .arg(pair.receiver_ip.to_string())
        .output()
        .expect("run ping");
    assert!(
        ping.status.success(),
        "ping through XDP_PASS: {}",
        xdp_support::describe(&ping)
    );

    let sent_from = tai_ns();
    let sender = {
        let ns = format!("/run/netns/{}", pair.sender_ns);
        let (src, dst) = (pair.sender_ip, pair.receiver_ip);
        std::thread::spawn(move || {
            enter_netns(&ns);
            let sock = UdpSocket::bind((src, SENDER_PORT)).expect("bind sender");
            for seq in 0..DATAGRAMS {
                sock.send_to(&datagram(seq), (dst, STREAM_PORT))
                    .expect("send stream datagram");
                if seq % 32 == 31 {
                    // Stay well inside the rx ring even if the worker is descheduled.
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            sock.send_to(b"to the kernel", (dst, OTHER_PORT))
                .expect("send other datagram");
        })
    };
    sender.join().expect("sender thread");
    sent_tx.send(()).unwrap();
    let mut received = receiver.join().expect("receiver thread");
    received.window = (sent_from, tai_ns());
    received
}

fn check(pair: &VethPair, r: &Received, label: &str) {
    let v = &r.verify;
    let missing: Vec<usize> = (0..v.seen.len()).filter(|&i| v.seen[i] == 0).collect();
    let dup: Vec<usize> = (0..v.seen.len()).filter(|&i| v.seen[i] > 1).collect();
    assert!(
        v.corrupt.is_empty(),
        "{label}: corrupt datagrams {:?}",
        v.corrupt
    );
    assert!(
        missing.is_empty(),
        "{label}: missing {} datagrams, first {:?}; counters {:?}",
        missing.len(),
        &missing[..missing.len().min(10)],
        r.counters
    );
    assert!(dup.is_empty(), "{label}: duplicates {dup:?}");
    assert_eq!(
        v.sources,
        vec![(SocketAddrV4::new(pair.sender_ip, SENDER_PORT), STREAM_PORT)]
    );
    assert_eq!(r.counters.packets, u64::from(DATAGRAMS));
    assert_eq!(
        r.counters.multi_buffer,
        u64::from(DATAGRAMS / 2),
        "{label}: 8000-byte datagrams span buffers"
    );
    assert!(
        v.frag_counts.iter().all(|&n| n == 1 || n == 3),
        "{label}: fragments per packet {:?}",
        v.frag_counts
    );
    assert_eq!(
        r.counters.malformed + r.counters.bad_descriptors + r.counters.too_many_frags,
        0
    );
    assert_eq!(v.zero_stamps, 0, "{label}: every packet has a timestamp");
    assert!(v.last_stamp >= v.first_stamp);
    if v.hw_stamps == 0 {
        let (from, to) = r.window;
        assert!(
            from <= v.first_stamp && v.last_stamp <= to,
            "{label}: CLOCK_TAI stamps [{}, {}] within the run [{from}, {to}]",
            v.first_stamp,
            v.last_stamp
        );
    }
    assert_eq!(
        r.steer.steered,
        u64::from(DATAGRAMS),
        "{label}: program counters {:?}",
        r.steer
    );
    assert!(
        r.steer.passed >= 3,
        "{label}: ping, ARP and the other datagram were passed: {:?}",
        r.steer
    );
    assert_eq!(
        r.other_port.as_deref(),
        Some(&b"to the kernel"[..]),
        "{label}: unregistered port reaches the kernel socket"
    );
    assert!(
        pair.receiver_xdp_gone(),
        "{label}: program gone after drop: {}",
        pair.receiver_link()
    );
    loud(&format!(
        "{label}: mode {:?}, device-bound {}, zero-copy {}, hugepages {}, busy-poll {}, hw stamps {}, {:?}",
        r.mode, r.device_bound, r.zero_copy, r.hugepages, r.busy_poll, v.hw_stamps, r.counters
    ));
}

#[test]
fn af_xdp_receives_streams_and_the_kernel_keeps_the_rest() {
    if !xdp_support::require_root("af_xdp_receives_streams_and_the_kernel_keeps_the_rest") {
        return;
    }
    let pair = VethPair::up();
    // Pinned to the last core this process may use (get_core_ids reports
    // the calling thread's mask, and nothing is pinned yet).
    let core = core_affinity::get_core_ids()
        .and_then(|ids| ids.last().map(|c| c.id))
        .expect("at least one core");
    let worker = WorkerConfig {
        core: Some(core),
        ..WorkerConfig::default()
    };
    let r = run_stream(&pair, AttachConfig::default(), XskConfig::default(), worker);
    assert_eq!(r.mode, XdpMode::Native, "veth has native XDP");
    assert!(r.device_bound, "veth accepts the device-bound program");
    assert!(!r.zero_copy, "veth has no zero-copy AF_XDP");
    check(&pair, &r, "native");
}

#[test]
fn generic_mode_works_too() {
    if !xdp_support::require_root("generic_mode_works_too") {
        return;
    }
    let pair = VethPair::up();
    let config = AttachConfig {
        mode: ModeRequest::Generic,
        ..AttachConfig::default()
    };
    let xsk = XskConfig {
        bind: BindMode::Copy,
        busy_poll: Some(BusyPoll {
            usecs: 20,
            budget: 64,
        }),
        ..XskConfig::default()
    };
    let r = run_stream(&pair, config, xsk, WorkerConfig::default());
    assert_eq!(r.mode, XdpMode::Generic);
    assert!(r.busy_poll, "root may set the busy-poll options");
    assert!(!r.device_bound);
    check(&pair, &r, "generic");
}

#[test]
fn worker_refuses_a_core_outside_the_cpu_set() {
    if !xdp_support::require_root("worker_refuses_a_core_outside_the_cpu_set") {
        return;
    }
    let pair = VethPair::up();
    let ns = format!("/run/netns/{}", pair.receiver_ns);
    let ifname = pair.receiver_if.clone();
    let err = std::thread::spawn(move || {
        enter_netns(&ns);
        let ifindex = gvcap::xdp::loader::interface_index(&ifname).unwrap();
        let socket = XskSocket::open(ifindex, 0, &XskConfig::default()).expect("open socket");
        let config = WorkerConfig {
            core: Some(100_000),
            ..WorkerConfig::default()
        };
        RxWorker::spawn(socket, Verify::new(), config)
            .map(|_| ())
            .unwrap_err()
    })
    .join()
    .unwrap();
    assert!(
        matches!(err, XdpError::Config(ref m) if m.contains("core 100000")),
        "{err}"
    );
}

#[test]
fn a_queue_the_interface_lacks_is_refused_clearly() {
    if !xdp_support::require_root("a_queue_the_interface_lacks_is_refused_clearly") {
        return;
    }
    let pair = VethPair::up();
    let ns = format!("/run/netns/{}", pair.receiver_ns);
    let ifname = pair.receiver_if.clone();
    let err = std::thread::spawn(move || {
        enter_netns(&ns);
        let ifindex = gvcap::xdp::loader::interface_index(&ifname).unwrap();
        XskSocket::open(ifindex, 7, &XskConfig::default())
            .map(|_| ())
            .unwrap_err()
    })
    .join()
    .unwrap();
    let text = err.to_string();
    assert!(text.contains("queue 7") && text.contains("bind"), "{text}");
}

#[test]
fn stale_netlink_attachment_is_replaced() {
    if !xdp_support::require_root("stale_netlink_attachment_is_replaced") {
        return;
    }
    let pair = VethPair::up();
    let ns = format!("/run/netns/{}", pair.receiver_ns);
    let ifname = pair.receiver_if.clone();
    // A run that attached through netlink and died leaves its program behind.
    let stale_id = std::thread::spawn({
        let ns = ns.clone();
        let ifname = ifname.clone();
        move || {
            enter_netns(&ns);
            let ifindex = gvcap::xdp::loader::interface_index(&ifname).unwrap();
            let program = gvcap::xdp::SteerProgram::load(gvcap::xdp::Variant::Plain).unwrap();
            let fd = program.program_fd().unwrap();
            libbpf_rs::Xdp::new(std::os::fd::AsFd::as_fd(&fd))
                .attach(ifindex as i32, libbpf_rs::XdpFlags::DRV_MODE)
                .expect("netlink attach");
            program.id().unwrap()
        }
    })
    .join()
    .unwrap();
    assert!(
        pair.receiver_has_xdp(),
        "stale program attached: {}",
        pair.receiver_link()
    );

    let replaced = std::thread::spawn(move || {
        enter_netns(&ns);
        let steer =
            AttachedSteer::attach(&ifname, &AttachConfig::default()).expect("attach over stale");
        let replaced = steer.replaced().to_vec();
        let id = steer.id().unwrap();
        (replaced, id)
    })
    .join()
    .unwrap();
    assert_eq!(replaced.0, vec![stale_id]);
    assert_ne!(replaced.1, stale_id);
    assert!(
        pair.receiver_xdp_gone(),
        "nothing left: {}",
        pair.receiver_link()
    );
}

#[test]
fn an_interface_held_by_a_live_attachment_is_busy() {
    if !xdp_support::require_root("an_interface_held_by_a_live_attachment_is_busy") {
        return;
    }
    let pair = VethPair::up();
    let ns = format!("/run/netns/{}", pair.receiver_ns);
    let ifname = pair.receiver_if.clone();
    let (first_id, err) = std::thread::spawn(move || {
        enter_netns(&ns);
        let first = AttachedSteer::attach(&ifname, &AttachConfig::default()).expect("first attach");
        let second = AttachedSteer::attach(&ifname, &AttachConfig::default());
        (first.id().unwrap(), second.map(|_| ()).unwrap_err())
    })
    .join()
    .unwrap();
    match err {
        XdpError::Busy { id, how, .. } => {
            assert_eq!(id, first_id);
            assert!(how.contains("bpf_link"), "{err}");
        }
        other => panic!("expected Busy, got {other}"),
    }
    assert!(pair.receiver_xdp_gone());
}

/// Not a test by itself: the child process of
/// `program_detached_when_its_process_dies`, which runs this binary with
/// `--ignored --exact` inside the receiver namespace.
#[test]
#[ignore = "helper run in a child process by program_detached_when_its_process_dies"]
fn child_holds_an_attachment() {
    let ifname = std::env::var("GVX_CHILD_IF").expect("GVX_CHILD_IF set by the parent test");
    let steer = AttachedSteer::attach(&ifname, &AttachConfig::default()).expect("attach in child");
    println!("ATTACHED {}", steer.id().unwrap());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(30));
    panic!("the parent should have killed this process");
}

#[test]
fn program_detached_when_its_process_dies() {
    if !xdp_support::require_root("program_detached_when_its_process_dies") {
        return;
    }
    let pair = VethPair::up();
    let exe = std::env::current_exe().expect("test binary path");
    for signal in ["INT", "TERM", "KILL"] {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &pair.receiver_ns])
            .arg(&exe)
            .args([
                "--ignored",
                "--exact",
                "child_holds_an_attachment",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GVX_CHILD_IF", &pair.receiver_if)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        // libtest prints "test NAME ... " before the test's own output, on the
        // same line.
        while !line.contains("ATTACHED") {
            line.clear();
            let n = std::io::BufRead::read_line(&mut out, &mut line).expect("read child");
            assert!(n > 0, "child ended before attaching");
        }
        assert!(
            pair.receiver_has_xdp(),
            "child's program attached: {}",
            pair.receiver_link()
        );
        // `ip netns exec` execs the test binary, so the child's pid is its pid.
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = child.wait().expect("wait child");
        assert!(
            !exit.success(),
            "SIG{signal}: child should die of the signal: {exit}"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while pair.receiver_has_xdp() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            !pair.receiver_has_xdp(),
            "after SIG{signal}: {}",
            pair.receiver_link()
        );
    }
    // The interface is free for the next run.
    let _ = ip(&["-n", &pair.receiver_ns, "link", "show"]);
}
