#!/usr/bin/env bash
# bench-gvsim.sh: how fast one gvsim camera streams 9000-byte GVSP packets.
#
#   scripts/bench-gvsim.sh [--seconds S] [--sensor WxH] [--format F] [--prefix P] [--json]
#
# Builds gvsim and gvcap (release), brings up a one-camera rig at MTU 9000
# (direct topology), points the camera's stream at a sink in the host
# namespace, starts acquisition at the highest frame rate the camera allows,
# and measures for S seconds (default 10):
#   - wire rate: bytes the host interface received (its rx_bytes counter:
#     every GVSP packet that crossed the link, Ethernet headers included);
#   - GVSP rate: UDP payload bytes the sink socket read;
#   - frames per second and packets per second.
# Prints a summary (or one JSON object with --json) and tears the rig down.
# Needs root (network namespaces). Uses only the rig's link-local addresses.
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SECONDS_TO_RUN=10
SENSOR=4096x3072
FORMAT=Mono16
PREFIX=gvb
JSON=0

die() { echo "bench-gvsim.sh: $*" >&2; exit 1; }

while (($#)); do
    case $1 in
        --seconds) SECONDS_TO_RUN=${2:?}; shift 2 ;;
        --sensor) SENSOR=${2:?}; shift 2 ;;
        --format) FORMAT=${2:?}; shift 2 ;;
        --prefix) PREFIX=${2:?}; shift 2 ;;
        --json) JSON=1; shift ;;
        -h|--help) sed -n '2,/^set -Eeuo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (--help)" ;;
    esac
done
((EUID == 0)) || die "needs root (network namespaces)"
# shellcheck disable=SC2015 # die is meant to run when either test fails
[[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] && ((SECONDS_TO_RUN > 0)) || die "--seconds must be a positive integer"

TARGET=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
(cd "$REPO_ROOT" && cargo build --release --quiet --bin gvsim --bin gvcap) || die "cargo build failed"
GVSIM=$TARGET/release/gvsim
GVCAP=$TARGET/release/gvcap
RIG=$SCRIPT_DIR/rig.sh

cleanup() {
    if [[ -n ${SINK_PID:-} ]]; then kill "$SINK_PID" 2>/dev/null || true; fi
    if [[ -n ${SIM_PID:-} ]]; then kill "$SIM_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    bash "$RIG" down --prefix "$PREFIX" >/dev/null 2>&1 || true
}
trap cleanup EXIT

bash "$RIG" up --prefix "$PREFIX" --cameras 1 --topology direct --mtu 9000 --camera none >/dev/null
HOST_NS=$PREFIX-host
CAM_NS=$PREFIX-cam1
HOST_IF=${PREFIX}h1
CAM_IF=${PREFIX}c1
HOST_IP=169.254.1.1
CAM_IP=169.254.1.2
WORK=$(mktemp -d)

# The camera: a big sensor and a link that does not cap the frame rate, so
# that the sender itself is what is measured.
ip netns exec "$CAM_NS" "$GVSIM" --interface "$CAM_IF" --address "$CAM_IP" --serial BENCH \
    --sensor "$SENSOR" --link-mbps 100000 --no-ptp >"$WORK/gvsim.log" 2>&1 &
SIM_PID=$!

# The sink: reads and counts datagrams until told to stop; prints "bytes packets".
cat >"$WORK/sink.py" <<'PY'
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1], flush=True)
total = packets = 0
running = True
def stop(*_):
    global running
    running = False
signal.signal(signal.SIGTERM, stop)
s.settimeout(0.2)
buf = bytearray(10000)
while running:
    try:
        n = s.recv_into(buf)
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    total += n
    packets += 1
with open(sys.argv[2], "w") as out:
    out.write(f"{total} {packets}\n")
PY
ip netns exec "$HOST_NS" python3 "$WORK/sink.py" "$HOST_IP" "$WORK/sink.out" >"$WORK/sink.port" &
SINK_PID=$!
for _ in $(seq 50); do [[ -s $WORK/sink.port ]] && break; sleep 0.1; done
PORT=$(head -n1 "$WORK/sink.port")
[[ -n $PORT ]] || die "the sink did not start"

run() { ip netns exec "$HOST_NS" "$@"; }
for _ in $(seq 50); do
    run "$GVCAP" get "$CAM_IP" DeviceSerialNumber >/dev/null 2>&1 && break
    sleep 0.1
done
HOST_IP_INT=$(python3 -c "import ipaddress; print(int(ipaddress.IPv4Address('$HOST_IP')))")
run "$GVCAP" set "$CAM_IP" PixelFormat="$FORMAT" ExposureTime=10 GevSCPSPacketSize=9000 \
    GevSCDA="$HOST_IP_INT" GevSCPHostPort="$PORT" >/dev/null
MAX=$(run "$GVCAP" get "$CAM_IP" AcquisitionFrameRateMax | cut -d= -f2)
run "$GVCAP" set "$CAM_IP" AcquisitionFrameRate="$MAX" >/dev/null
PAYLOAD=$(run "$GVCAP" get "$CAM_IP" PayloadSize | cut -d= -f2)

rx_bytes() { run cat "/sys/class/net/$HOST_IF/statistics/rx_bytes"; }
rx_packets() { run cat "/sys/class/net/$HOST_IF/statistics/rx_packets"; }
run "$GVCAP" exec "$CAM_IP" AcquisitionStart >/dev/null
sleep 1
B0=$(rx_bytes); P0=$(rx_packets); T0=$(date +%s.%N)
sleep "$SECONDS_TO_RUN"
B1=$(rx_bytes); P1=$(rx_packets); T1=$(date +%s.%N)
run "$GVCAP" exec "$CAM_IP" AcquisitionStop >/dev/null
kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=
read -r SINK_BYTES SINK_PACKETS <"$WORK/sink.out"

python3 - "$B0" "$B1" "$P0" "$P1" "$T0" "$T1" "$PAYLOAD" "$MAX" "$SINK_BYTES" "$SINK_PACKETS" "$JSON" "$SENSOR" "$FORMAT" <<'PY'
import json, sys
b0, b1, p0, p1 = (int(x) for x in sys.argv[1:5])
t0, t1 = float(sys.argv[5]), float(sys.argv[6])
payload, max_rate = int(sys.argv[7]), float(sys.argv[8])
sink_bytes, sink_packets = int(sys.argv[9]), int(sys.argv[10])
as_json, sensor, fmt = sys.argv[11] == "1", sys.argv[12], sys.argv[13]
dt = t1 - t0
wire = (b1 - b0) * 8 / dt / 1e9
pps = (p1 - p0) / dt
# Every 9000-byte IP packet carries 8972 bytes of UDP payload: the image share of the wire.
frames = (b1 - b0) / (payload * (9014 / 8952)) / dt
result = {
    "seconds": round(dt, 2),
    "sensor": sensor,
    "pixel_format": fmt,
    "payload_bytes": payload,
    "frame_rate_max_hz": max_rate,
    "wire_gbit_s": round(wire, 2),
    "packets_per_s": round(pps),
    "frames_per_s": round(frames, 1),
    "sink_packets": sink_packets,
    "sink_bytes": sink_bytes,
}
if as_json:
    print(json.dumps(result))
else:
    print(f"gvsim, one camera, 9000-byte packets, {sensor} {fmt} ({payload} B/frame), "
          f"AcquisitionFrameRate {max_rate:g} Hz requested")
    print(f"  wire:   {wire:.2f} Gbit/s  ({pps:,.0f} packets/s, {frames:.1f} frames/s) over {dt:.1f} s")
    print(f"  sink:   {sink_packets} packets ({sink_bytes / 1e9:.2f} GB) read by a socket in the host "
          f"namespace over the whole run (it may fall behind; the wire figure is the sender's)")
PY
