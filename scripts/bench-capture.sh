#!/usr/bin/env bash
# bench-capture.sh: the same gvsim stream(s) received, on a rig, by gvcap over
# AF_XDP, by gvcap over UDP sockets, and by Aravis (arv-camera-test-0.8 in the
# host namespace, packet-socket mode as root), each for a fixed duration at a
# series of frame rates. Prints per run the throughput, whether it was
# lossless, and the receiver's CPU seconds per GB; then, from this one run,
# the highest lossless throughput of each receiver and the ratios to Aravis.
#
#   bench-capture.sh [--cameras N] [--duration S] [--rates "R1 R2 ... max"]
#                    [--size WxH] [--mtu M] [--exposure-us US] [--cores LIST]
#                    [--prefix P] [--no-build]
#
# Defaults: 1 camera, 8 s per run, rates "25 50 max" fps, 1280x1024 Mono8,
# MTU 9000 (packet size = MTU), the cameras' own exposure (gvsim: 10 ms, which
# caps 1280x1024 at 99.8 fps; --exposure-us 1000 lets it reach 762 fps),
# unpinned, prefix gvcb. Needs root, iproute2, python3, aravis-tools; builds
# gvcap and gvsim in release mode unless --no-build.
#
# Receiver CPU is the receiving process's user + system time (/usr/bin/time),
# setup included. Host CPU is every CPU second the machine spent during the
# run (/proc/stat: user, nice, system, irq, softirq, steal), senders
# included: on veth the kernel's receive work (the XDP program and its copy
# into the UMEM, or the skb path, the IP stack and AF_PACKET's copy) runs in
# softirq context on whatever CPU sent the packet, so a per-process figure
# never sees it; "lossless" means every frame complete (resends allowed) and
# none dropped: gvcap's frames_incomplete, frames_dropped and packets_missing
# all 0; Aravis's n_failures and n_missing_packets 0.
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
CAMERAS=1
DURATION=8
RATES="25 50 max"
SIZE=1280x1024
MTU=9000
CORES=""
EXPOSURE=""
PREFIX=gvcb
BUILD=1

die() { echo "bench-capture.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -Eeuo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }

while (($#)); do
    case $1 in
        --cameras) CAMERAS=${2:?}; shift 2 ;;
        --duration) DURATION=${2:?}; shift 2 ;;
        --rates) RATES=${2:?}; shift 2 ;;
        --size) SIZE=${2:?}; shift 2 ;;
        --mtu) MTU=${2:?}; shift 2 ;;
        --cores) CORES=${2:?}; shift 2 ;;
        --exposure-us) EXPOSURE=${2:?}; shift 2 ;;
        --prefix) PREFIX=${2:?}; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) usage 0 ;;
        *) die "unknown option '$1' (--help)" ;;
    esac
done
((EUID == 0)) || die "needs root (network namespaces, XDP, packet sockets)"
WIDTH=${SIZE%x*}
HEIGHT=${SIZE#*x}
[[ $WIDTH =~ ^[0-9]+$ && $HEIGHT =~ ^[0-9]+$ ]] || die "--size must be WIDTHxHEIGHT"
for p in python3 arv-camera-test-0.8 /usr/bin/time ip; do
    command -v "$p" >/dev/null || die "$p not found: run scripts/setup.sh"
done

cd "$REPO"
if ((BUILD)); then
    cargo build --release --bin gvcap --bin gvsim >&2
fi
GVCAP=$REPO/target/release/gvcap
export GVSIM_BIN=$REPO/target/release/gvsim
[[ -x $GVCAP && -x $GVSIM_BIN ]] || die "release binaries missing (run without --no-build)"

WORK=$(mktemp -d)
cleanup() {
    bash "$REPO/scripts/rig.sh" down --prefix "$PREFIX" >/dev/null 2>&1 || true
    [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
bash "$REPO/scripts/rig.sh" up --prefix "$PREFIX" --cameras "$CAMERAS" --camera gvsim --mtu "$MTU" >&2
HOST_NS=$PREFIX-host
mapfile -t IPS < <(for ((i = 1; i <= CAMERAS; i++)); do echo "169.254.1.$i"; done)

# Busy CPU seconds of the whole machine so far (all CPUs, from /proc/stat).
TICK=$(getconf CLK_TCK)
host_busy() {
    awk -v tick="$TICK" '$1 == "cpu" { printf "%.3f\n", ($2 + $3 + $4 + $7 + $8 + $9) / tick }' /proc/stat
}

# Runs "$@" in the host namespace under /usr/bin/time; CPU seconds go to
# $WORK/cpu, the machine's busy seconds meanwhile to $WORK/host.
timed() {
    local out=$1; shift
    local before
    before=$(host_busy)
    /usr/bin/time -f "%U %S" -o "$WORK/time" ip netns exec "$HOST_NS" "$@" >"$out" 2>"$out.err" || true
    python3 -c "print(f'{$(host_busy) - $before:.3f}')" >"$WORK/host"
    tail -n 1 "$WORK/time" | awk '{ printf "%.3f\n", $1 + $2 }' >"$WORK/cpu"
}

RESULTS=$WORK/results
: >"$RESULTS"

run_gvcap() {
    local path=$1 rate=$2 out=$WORK/gvcap-$1-$2.json
    local extra=()
    [[ -z $CORES ]] || extra=(--cores "$CORES")
    timed "$out" "$GVCAP" capture "${IPS[@]}" --duration-s "$DURATION" --path "$path" --json \
        --timeout-s $((DURATION + 30)) --set "Width=$WIDTH" --set "Height=$HEIGHT" \
        --set PixelFormat=Mono8 --set "AcquisitionFrameRate=$rate" "${extra[@]}"
    python3 - "$out" "$(cat "$WORK/cpu")" "gvcap-$path" "$rate" "$DURATION" "$(cat "$WORK/host")" >>"$RESULTS" <<'PY'
import json, sys
path, cpu, name, rate, duration, host = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6]
try:
    report = json.load(open(path))
except Exception:
    print(f"{name} {rate} error 0 0 0 {cpu} {host}")
    sys.exit()
cams = report["cameras"]
nbytes = sum(c["bytes"] for c in cams)
frames = sum(c["frames_complete"] for c in cams)
lossless = all(c["frames_incomplete"] == 0 and c["frames_dropped"] == 0 and c["packets_missing"] == 0 for c in cams)
used = cams[0]["path"]
if used != name.split("-")[1]:
    name += "(fell-back-to-" + used + ")"
print(f"{name} {rate} {'yes' if lossless and frames else 'no'} {nbytes} {frames} {nbytes / duration} {cpu} {host}")
PY
}

run_aravis() {
    local rate=$1 i pids=() before
    before=$(host_busy)
    for i in "${!IPS[@]}"; do
        (
            /usr/bin/time -f "%U %S" -o "$WORK/time-arv-$i" ip netns exec "$HOST_NS" \
                arv-camera-test-0.8 -n "${IPS[$i]}" -w "$WIDTH" -h "$HEIGHT" -f "$rate" \
                -i "$MTU" --duration "$DURATION" >"$WORK/arv-$rate-$i.txt" 2>&1 || true
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    local host
    host=$(python3 -c "print(f'{$(host_busy) - $before:.3f}')")
    python3 - "$WORK" "$rate" "${#IPS[@]}" "$DURATION" "$host" >>"$RESULTS" <<'PY'
import sys
work, rate, n, duration, host = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
def counter(text, name):
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == name:
            return int(value.strip())
    return None
nbytes = frames = 0
cpu = 0.0
lossless = True
for i in range(n):
    text = open(f"{work}/arv-{rate}-{i}.txt").read()
    u, s = open(f"{work}/time-arv-{i}").read().split()[-2:]
    cpu += float(u) + float(s)
    got = counter(text, "n_transferred_bytes")
    if got is None:
        print(f"aravis {rate} error 0 0 0 {cpu} {host}")
        sys.exit()
    nbytes += got
    frames += counter(text, "n_completed_buffers") or 0
    lossless &= counter(text, "n_failures") == 0 and counter(text, "n_missing_packets") == 0
print(f"aravis {rate} {'yes' if lossless and frames else 'no'} {nbytes} {frames} {nbytes / duration} {cpu:.3f} {host}")
PY
}

# The highest frame rate the cameras allow at this size (gvsim bounds it by
# sensor, exposure and link); "max" in --rates means it, and higher rates
# are clamped to it for every receiver alike.
max_rate() {
    ip netns exec "$HOST_NS" "$GVCAP" set "${IPS[0]}" "Width=$WIDTH" "Height=$HEIGHT" \
        PixelFormat=Mono8 AcquisitionFrameRate=1000000 2>&1 |
        sed -n 's/.*valid values are [0-9.]* to \([0-9.]*\).*/\1/p' | head -n 1 || true
}
if [[ -n $EXPOSURE ]]; then
    # Kept by the cameras for every receiver's runs (Aravis's test tool leaves it).
    for ip in "${IPS[@]}"; do
        ip netns exec "$HOST_NS" "$GVCAP" set "$ip" "ExposureTime=$EXPOSURE" >/dev/null
    done
fi
MAX=$(max_rate)
[[ -n $MAX ]] || die "could not read the cameras' highest frame rate"
MAX=$(python3 -c "import math; print(math.floor(float('$MAX') * 10) / 10)")
clamp() { python3 -c "r = '$1'; m = float('$MAX'); print(m if r == 'max' else min(float(r), m))"; }

for rate in $RATES; do
    rate=$(clamp "$rate")
    echo "bench-capture.sh: $CAMERAS camera(s), ${WIDTH}x$HEIGHT Mono8 at $rate fps, ${DURATION}s per receiver" >&2
    run_gvcap xdp "$rate"
    run_gvcap udp "$rate"
    run_aravis "$rate"
done

python3 - "$RESULTS" "$CAMERAS" "$WIDTH" "$HEIGHT" "$MTU" "$DURATION" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
cams, w, h, mtu, duration = sys.argv[2:]
print(f"gvsim stream: {cams} camera(s), {w}x{h} Mono8, {mtu}-byte packets, {duration} s per run")
print(f"{'receiver':<28} {'fps':>5} {'lossless':>8} {'frames':>7} {'MB/s':>8} {'CPU s':>7} {'CPU s/GB':>9} {'host s/GB':>9}")
best = {}
per_rate = {}
for name, rate, ok, nbytes, frames, bps, cpu, host in rows:
    nbytes, bps, cpu, host = float(nbytes), float(bps), float(cpu), float(host)
    per_gb = cpu / (nbytes / 1e9) if nbytes else float("inf")
    host_gb = host / (nbytes / 1e9) if nbytes else float("inf")
    print(f"{name:<28} {rate:>5} {ok:>8} {frames:>7} {bps / 1e6:>8.1f} {cpu:>7.2f} {per_gb:>9.2f} {host_gb:>9.2f}")
    per_rate.setdefault(rate, {})[name] = (ok == "yes", bps, per_gb, host_gb)
    if ok == "yes" and bps > best.get(name, (0, 0, 0))[0]:
        best[name] = (bps, per_gb, host_gb)
print()
print("highest lossless throughput of this run, and CPU per GB there (receiver process; whole host):")
for name, (bps, per_gb, host_gb) in sorted(best.items()):
    print(f"  {name:<26} {bps / 1e6:8.1f} MB/s  {per_gb:6.2f} CPU s/GB  {host_gb:6.2f} host s/GB")
if "aravis" in best:
    a_bps, a_gb, a_host = best["aravis"]
    for name in ("gvcap-xdp", "gvcap-udp"):
        if name in best:
            bps, gb, host_gb = best[name]
            print(f"  {name} / aravis: throughput x{bps / a_bps:.2f}, receiver CPU per GB x{gb / a_gb:.2f}, host CPU per GB x{host_gb / a_host:.2f}")
print()
print("CPU per GB relative to Aravis at each rate where both were lossless (receiver process; whole host):")
for rate, by in per_rate.items():
    a = by.get("aravis")
    for name in ("gvcap-xdp", "gvcap-udp"):
        g = by.get(name)
        if a and g and a[0] and g[0]:
            print(f"  {rate:>5} fps  {name} / aravis: x{g[2] / a[2]:.2f}; host x{g[3] / a[3]:.2f}")
PY
