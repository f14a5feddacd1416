//! Hostile traffic during an AF_XDP capture of gvsim: malformed GVSP from
//! the camera's own address to the stream port, UDP packets truncated below
//! what their header announces (raw frames), well-formed GVSP from another
//! address to the stream port, and GVSP from the camera to another port.
//! None of it crashes the capture or changes a frame's bytes (every frame
//! checked against gvsim's pattern), and each kind is counted where it
//! lands. Needs root and python3.

mod capture_util;
mod gvsim_rigs;
mod gvsim_util;
mod support;

use std::process::Command;

use capture_util::{assert_all_verified, num, one_at_a_time, text, xdp_left, Running};
use gvsim_rigs::GvsimRig;
use support::Topology;

/// Sends crafted datagrams: `python3 - MODE SRC DST PORT COUNT [IFNAME DST_MAC]`.
const SENDER: &str = r#"
import socket, struct, sys, time
mode, src, dst, port, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

def gvsp(fmt, packet_id, body, block=0x1234):
    # Standard header: status, 16-bit block id, format (low 7 bits), 24-bit packet id.
    return struct.pack(">HHI", 0, block, (fmt << 24) | packet_id) + body

malformed = [
    b"\x00\x01\x02",                           # shorter than any header
    gvsp(0x0F, 1, b"\xaa" * 64),               # a format no version defines
    gvsp(3, 0xFFFFFF, b"\xaa" * 100),          # payload packet id beyond any trailer
    gvsp(3, 1, b"\xaa" * 1400),                # more data than a packet carries (1164)
    gvsp(1, 0, b"\x00\x01"),                   # a leader without its body
]

def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF

def truncated(i):
    # UDP says 8 + 500 bytes; the datagram carries 40.
    body = gvsp(3, 1 + i % 50, b"\x55" * 32)
    udp = struct.pack("!HHHH", 40000, port, 8 + 500, 0) + body
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp

if mode == "truncated":
    ifname, dst_mac = sys.argv[6], bytes.fromhex(sys.argv[7].replace(":", ""))
    src_mac = bytes.fromhex(open("/sys/class/net/%s/address" % ifname).read().strip().replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    for i in range(count):
        s.send(dst_mac + src_mac + b"\x08\x00" + truncated(i))
        time.sleep(0.001)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    for i in range(count):
        if mode == "malformed":
            data = malformed[i % len(malformed)]
        else:
            # Well-formed payload packets of plausible blocks, wrong source or port.
            data = gvsp(3, 1 + i % 50, bytes([i % 256]) * 1164, block=1 + i % 200)
        s.sendto(data, (dst, port))
        time.sleep(0.001)
"#;

/// Runs the sender in namespace `ns`.
fn send(ns: &str, args: &[&str]) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c", SENDER])
        .args(args)
        .output()
        .expect("run python3");
    assert!(out.status.success(), "sender {args:?}: {}", text(&out));
}

#[test]
fn malformed_truncated_foreign_and_wrong_port_packets_are_counted_and_harmless() {
    let name = "malformed_truncated_foreign_and_wrong_port_packets_are_counted_and_harmless";
    if !support::require_privileges(name) || !support::require_programs(name, &["python3"]) {
        return;
    }
    let _one = one_at_a_time();
    let sim = GvsimRig::up(2, Topology::Switch, 1500, false, |_| Vec::new());
    let rig = &sim.rig;
    let (cam1, cam2) = (rig.cameras()[0].clone(), rig.cameras()[1].clone());
    let host = rig.host_interfaces()[0].clone();
    let host_mac = Command::new("ip")
        .args(["netns", "exec", rig.host_ns(), "cat"])
        .arg(format!("/sys/class/net/{}/address", host.name))
        .output()
        .expect("read the host MAC");
    let host_mac = String::from_utf8_lossy(&host_mac.stdout).trim().to_string();
    let (port, wrong_port) = ("41000", "41007");
    let ip1 = cam1.address.to_string();
    let running = Running::start(
        rig,
        &[
            &ip1,
            "--frames",
            "150",
            "--path",
            "xdp",
            "--verify-pattern",
            "--port",
            port,
            "--packet-size",
            "1200",
            "--set",
            "Width=320",
            "--set",
            "Height=240",
            "--set",
            "AcquisitionFrameRate=50",
        ],
        1,
    );
    let (src1, src2, dst) = (
        cam1.address.to_string(),
        cam2.address.to_string(),
        host.address.to_string(),
    );
    send(&cam1.ns, &["malformed", &src1, &dst, port, "60"]);
    send(
        &cam1.ns,
        &[
            "truncated",
            &src1,
            &dst,
            port,
            "40",
            &cam1.interface,
            &host_mac,
        ],
    );
    send(&cam2.ns, &["foreign", &src2, &dst, port, "40"]);
    send(&cam1.ns, &["wrongport", &src1, &dst, wrong_port, "40"]);
    let report = running.finish();

    let camera = &report["cameras"][0];
    assert_all_verified(camera, 150, "xdp");
    assert_eq!(num(camera, "port"), 41000);
    // Malformed GVSP reaches the reassembler, which rejects it before any frame.
    assert_eq!(num(camera, "packets_malformed"), 60, "{camera:#}");
    // Another address: the program passes it, the kernel socket holding the port counts it.
    assert_eq!(num(camera, "packets_foreign"), 40, "{camera:#}");
    assert_eq!(num(camera, "packets_to_kernel"), 0, "{camera:#}");
    let xdp = &report["interfaces"][0]["xdp"];
    // Truncated below its UDP length: steered, then refused by the receive path.
    assert_eq!(num(xdp, "rx_malformed"), 40, "{report:#}");
    // Another port: the program passes it to the kernel (with GVCP, ARP, the foreign ones).
    assert!(num(xdp, "passed") >= 80, "{report:#}");
    assert_eq!(
        num(xdp, "steered"),
        num(camera, "packets_received") + 40,
        "steered = reassembled + truncated: {report:#}"
    );
    assert!(xdp_left(rig).is_empty(), "{}", xdp_left(rig));
}
