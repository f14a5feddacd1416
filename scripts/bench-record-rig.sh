#!/usr/bin/env bash
# bench-record-rig.sh: `gvcap record` capturing from gvsim cameras on a rig
# (scripts/rig.sh, AF_XDP where it works) against fio's sequential O_DIRECT
# write rate on the same filesystem, measured in the same run; prints the
# ratio (goal: >= 0.9) and what limited it.
#
# Each run: fio (one job, sequential write, O_DIRECT, io_uring with
# registered buffers, block size = the camera's payload rounded to 4 KiB,
# iodepth = gvcap's io depth / 2, --fallocate=posix as the recorder
# preallocates), then `gvcap record` of every camera for BENCH_SECONDS at
# the cameras' highest frame rate. gvcap's rate is payload bytes written
# over the time from the capture's start to every file closed and fsynced.
# Runs alternate; medians are compared.
#
# A third measurement separates the recorder from the rig: the same
# recorder fed from a frame ring without cameras (tools/tests/record_ring_bench.rs:
# 4096-padded ring slots handed over as they are, exactly what gvcap record
# passes), BENCH_MB in total, also against fio.
#
# Beside the ratios it prints where the bytes went: what the cameras were
# asked to send (cameras x fps x payload), what the capture delivered
# (written + dropped), what the cameras sent that never arrived (missed
# block ids), and the recorder thread's CPU share. When the rig delivers
# less than the disk takes, the ratio measures the rig, not the recorder:
# on 2 cores the gvsim senders, veth and the XDP copy share them with gvcap.
#
# Needs root (network namespaces), fio, python3.
# Environment: BENCH_BASE (directory on the filesystem to test, default
# /var/tmp), BENCH_CAMERAS (default 4), BENCH_SECONDS (default 8),
# BENCH_EXPOSURE_US (gvsim ExposureTime, default 1000: it bounds the frame
# rate), BENCH_FPS (default: the cameras' AcquisitionFrameRateMax),
# BENCH_RING_SLOTS (default 32), BENCH_IO_DEPTH (default 32), RUNS (default 3),
# BENCH_MB (fio's file, default 2048), BENCH_RIG_PREFIX (rig prefix, default
# gvr2b), BENCH_STRICT=1 to exit 1 below 0.9.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
fi
die() { echo "bench-record-rig.sh: $*" >&2; exit 1; }
((EUID == 0)) || die "needs root (it builds a rig of network namespaces)"
command -v fio >/dev/null || die "fio is not installed (apt-get install fio)"
command -v python3 >/dev/null || die "python3 is not installed"

base=${BENCH_BASE:-/var/tmp}
cameras=${BENCH_CAMERAS:-4}
seconds=${BENCH_SECONDS:-8}
exposure=${BENCH_EXPOSURE_US:-1000}
slots=${BENCH_RING_SLOTS:-32}
depth=${BENCH_IO_DEPTH:-32}
runs=${RUNS:-3}
prefix=${BENCH_RIG_PREFIX:-gvr2b}
fio_depth=$((depth / 2 > 0 ? depth / 2 : 1))

cargo build --release -q -p gvcap-tools --bins
cargo test --release -q -p gvcap-tools --test record_ring_bench --no-run 2>/dev/null
gvcap_bin=$PWD/target/release/gvcap

dir=$(mktemp -d "$base/gvcap-rigbench.XXXXXX")
cleanup() {
    bash scripts/rig.sh down --prefix "$prefix" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
GVSIM_BIN=$PWD/target/release/gvsim bash scripts/rig.sh up --prefix "$prefix" \
    --cameras "$cameras" --camera gvsim --mtu 9000 --json >"$dir/rig.json"
host=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host_ns"])' "$dir/rig.json")
mapfile -t ips < <(python3 -c 'import json,sys; [print(c["address"]) for c in json.load(open(sys.argv[1]))["cameras"]]' "$dir/rig.json")
in_host() { ip netns exec "$host" "$@"; }

for ip in "${ips[@]}"; do
    in_host "$gvcap_bin" set "$ip" "ExposureTime=$exposure" >/dev/null
done
value() { in_host "$gvcap_bin" get "${ips[0]}" "$1" | cut -d= -f2; }
fps=${BENCH_FPS:-$(value AcquisitionFrameRateMax)}
payload=$(value PayloadSize)
# shellcheck disable=SC2017 # rounds up to whole 4 KiB blocks on purpose
frame_kb=$(((payload + 4095) / 4096 * 4))
asked=$(python3 -c "print(f'{$cameras * $fps * $payload / 1e6:.1f}')")
mb=${BENCH_MB:-2048}
# Refuses to fill the disk: fio's file, then a recording of at most what the
# cameras are asked for or the disk takes, plus one preallocated extent per file.
check_space() {
    local need_mb free_mb
    need_mb=$(python3 -c "print(int($1) + 256)")
    free_mb=$(df -Pm "$dir" | awk 'NR==2 {print $4}')
    ((free_mb > need_mb)) ||
        die "$dir has ${free_mb} MiB free, the next step needs about ${need_mb} MiB (lower BENCH_MB or BENCH_SECONDS)"
}
echo "bench-record-rig.sh: $(df -hT "$dir" | awk 'NR==2 {print $1, $2}') at $dir; $(nproc) cores;" \
    "$cameras gvsim cameras x ${fps} fps x $payload bytes = $asked MB/s asked;" \
    "io depth $depth, $slots slots per camera; fio ${mb} MiB in ${frame_kb} KiB blocks; $runs runs"

# Utime + stime (ticks) of the threads of process $1 named $2.
thread_ticks() {
    local total=0 t
    for t in /proc/"$1"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == "$2" ]] || continue
        total=$((total + $(awk '{print $14 + $15}' "$t/stat")))
    done
    echo "$total"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fio_rates=()
our_rates=()
delivered_rates=()
ring_rates=()
for ((i = 1; i <= runs; i++)); do
    check_space "$mb"
    ring=$(BENCH_DIR=$dir BENCH_MB=$mb BENCH_FRAME_BYTES=$payload BENCH_DEPTH=$depth BENCH_SLOTS=$slots \
        cargo test --release -q -p gvcap-tools --test record_ring_bench -- --ignored --nocapture 2>/dev/null |
        grep '^record_ring_bench:') || die "record_ring_bench failed (run it by hand to see why)"
    ring_rates+=("$(sed -E 's/.* mb_per_s=([0-9.]+).*/\1/' <<<"$ring")")
    rm -f "$dir"/ringbench-*.gvrec

    check_space "$mb"
    fio --name=seq --directory="$dir" --rw=write --bs="${frame_kb}k" --size="${mb}M" \
        --ioengine=io_uring --direct=1 --iodepth="$fio_depth" --fixedbufs --fallocate=posix \
        --output-format=json >"$dir/fio.json"
    rate=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["write"]["bw_bytes"] / 1e6)' "$dir/fio.json")
    fio_rates+=("$rate")
    rm -f "$dir"/seq.*

    # The recording may not take more than half the free space (8 GiB at most):
    # past that it is stopped early with SIGINT (the rate stays valid).
    budget_mb=$(df -Pm "$dir" | awk 'NR==2 {m = int($4 / 2); print (m < 8192 ? m : 8192)}')
    mkdir -p "$dir/rec"
    # Not through in_host: $! must be the process that becomes gvcap (ip netns exec execs it).
    ip netns exec "$host" "$gvcap_bin" record "${ips[@]}" --out "$dir/rec" --duration "$seconds" \
        --ring-slots "$slots" --io-depth "$depth" --name "run$i" --json \
        --set "AcquisitionFrameRate=$fps" \
        >"$dir/rec.json" 2>"$dir/rec.err" &
    pid=$!
    # The writer thread's CPU from 2 s into the run to 1 s before its end.
    started=$SECONDS
    t0="" t1="" t0_at=0 t1_at=0 early=""
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.25
        now=$((SECONDS - started))
        if [[ -z $t0 ]] && ((now >= 2)); then
            t0=$(thread_ticks "$pid" gvcap-record) t0_at=$now
        fi
        if [[ -n $t0 && -z $t1 ]] && ((now >= seconds - 1 && now > t0_at)); then
            t1=$(thread_ticks "$pid" gvcap-record) t1_at=$now
        fi
        if [[ -z $early ]] && (($(du -sm "$dir/rec" | cut -f1) > budget_mb)); then
            early=" (stopped early at ${budget_mb} MiB)"
            if [[ -n $t0 && -z $t1 ]] && ((now > t0_at)); then
                t1=$(thread_ticks "$pid" gvcap-record) t1_at=$now
            fi
            kill -INT "$pid" 2>/dev/null || true
        fi
    done
    if ! wait "$pid"; then
        cat "$dir/rec.err" >&2
        die "gvcap record failed (run $i)"
    fi
    span=$((t1_at > t0_at ? t1_at - t0_at : 0))
    t0=${t0:-0} t1=${t1:-0}
    line=$(python3 - "$dir/rec.json" "$payload" "$t0" "$t1" "$span" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
payload, t0, t1, span, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
delivered = (s["frames"] + s["dropped"]) * payload / s["seconds"] / 1e6
# Not sampled twice (a run shorter than 3 s): no figure rather than a wrong one.
cpu = f"{100.0 * (t1 - t0) / hz / span:.0f}%" if span > 0 and t1 >= t0 else "n/a"
paths = ",".join(sorted({c["path"] for c in s["cameras"]}))
print(f'{s["mb_per_s"]:.1f} {delivered:.1f} delivered={delivered:.1f} frames={s["frames"]} dropped={s["dropped"]} '
      f'missed={s["missed"]} copied={s["copied"]} writer_cpu={cpu} path={paths}')
EOF
)
    read -r rate delivered detail <<<"$line"
    our_rates+=("$rate")
    delivered_rates+=("$delivered")
    rm -rf "$dir/rec"
    printf 'run %d: fio %8.1f MB/s   recorder from ring slots %8.1f MB/s (%s)\n' "$i" \
        "${fio_rates[-1]}" "${ring_rates[-1]}" \
        "$(sed -E 's/.*(fixed_writes=[0-9]+ copied=[0-9]+ hugepage_slots=[0-9/]+).*/\1/' <<<"$ring")"
    printf '       gvcap record from the rig %8.1f MB/s (%s)%s\n' "$rate" "$detail" "$early"
done

fio_med=$(printf '%s\n' "${fio_rates[@]}" | median)
our_med=$(printf '%s\n' "${our_rates[@]}" | median)
delivered_med=$(printf '%s\n' "${delivered_rates[@]}" | median)
ring_med=$(printf '%s\n' "${ring_rates[@]}" | median)
ring_ratio=$(awk -v a="$ring_med" -v b="$fio_med" 'BEGIN {printf "%.2f", a / b}')
ratio=$(awk -v a="$our_med" -v b="$fio_med" 'BEGIN {printf "%.2f", a / b}')
echo "bench-record-rig.sh: median fio ${fio_med} MB/s, gvcap record ${our_med} MB/s, ratio ${ratio}x (goal >= 0.9x)"
echo "bench-record-rig.sh: recorder alone from ring slots ${ring_med} MB/s, ratio ${ring_ratio}x"
echo "bench-record-rig.sh: cameras asked for ${asked} MB/s, the capture delivered ${delivered_med} MB/s to the recorder (median)"
if awk -v d="$delivered_med" -v b="$fio_med" 'BEGIN {exit !(d < 0.9 * b)}'; then
    echo "bench-record-rig.sh: the rig delivered less than 0.9x fio, so the ratio measures the rig (gvsim, veth, capture"
    echo "  on $(nproc) cores), not the recorder: the recorder's own rate is the ring-slot line above"
fi
if [[ ${BENCH_STRICT:-0} == 1 ]] && awk -v r="$ratio" 'BEGIN {exit !(r < 0.9)}'; then
    echo "bench-record-rig.sh: below the 0.9x goal" >&2
    exit 1
fi
