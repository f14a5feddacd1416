#!/usr/bin/env bash
# bench-record.sh: the recorder's sequential write rate against fio's on the
# same filesystem, in the same run, printed as a ratio (goal: >= 0.9).
#
# fio: one job, sequential write, O_DIRECT, io_uring with registered buffers,
# block size = our frame size, iodepth = our queue depth / 2 (each of our
# frames is two writes: a 4 KiB record header and the payload), and
# --fallocate=posix: the file preallocated with its size set, as the recorder
# does (fio's default keeps the size, so its writes extend the file, which
# ext4 serialises; that measured ~15% lower here).
# Ours: tests/record_bench.rs in release, synthetic frames of the same size
# from one registered (hugepage when available) region, written through
# WRITE_FIXED, including file creation, preallocation, index records and the
# final fsync. Each side runs RUNS times, alternating; medians are compared.
#
# Environment: BENCH_BASE (directory to test in, default /var/tmp),
# BENCH_MB (per run, default 1024), BENCH_FRAME_KB (default 1024),
# BENCH_DEPTH (default 64), RUNS (default 3), BENCH_STRICT=1 to exit 1 below 0.9.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
fi
command -v fio >/dev/null || { echo "bench-record.sh: fio is not installed (apt-get install fio)" >&2; exit 1; }

base=${BENCH_BASE:-/var/tmp}
mb=${BENCH_MB:-1024}
frame_kb=${BENCH_FRAME_KB:-1024}
depth=${BENCH_DEPTH:-64}
runs=${RUNS:-3}
fio_depth=$(( depth / 2 > 0 ? depth / 2 : 1 ))

dir=$(mktemp -d "$base/gvcap-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "bench-record.sh: $(df -hT "$dir" | awk 'NR==2 {print $1, $2}') at $dir; ${mb} MiB per run, ${frame_kb} KiB frames, depth $depth, $runs runs"

cargo test --release -q -p gvcap --test record_bench --no-run 2>/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fio_rates=()
our_rates=()
for ((i = 1; i <= runs; i++)); do
    fio --name=seq --directory="$dir" --rw=write --bs="${frame_kb}k" --size="${mb}M" \
        --ioengine=io_uring --direct=1 --iodepth="$fio_depth" --fixedbufs --fallocate=posix \
        --output-format=json >"$dir/fio.json"
    rate=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["write"]["bw_bytes"] / 1e6)' "$dir/fio.json")
    fio_rates+=("$rate")
    rm -f "$dir"/seq.*

    line=$(BENCH_DIR=$dir BENCH_MB=$mb BENCH_FRAME_KB=$frame_kb BENCH_DEPTH=$depth \
        cargo test --release -q -p gvcap --test record_bench -- --ignored --nocapture 2>/dev/null \
        | grep '^record_bench:')
    rate=$(sed -E 's/.* mb_per_s=([0-9.]+).*/\1/' <<<"$line")
    our_rates+=("$rate")
    rm -f "$dir"/bench-*.gvrec
    printf 'run %d: fio %8.1f MB/s   gvcap %8.1f MB/s   (%s)\n' "$i" "${fio_rates[-1]}" "$rate" \
        "$(sed -E 's/.*(backend=[^ ]+ fixed_writes=[0-9]+ copied=[0-9]+).*/\1/' <<<"$line")"
done

fio_med=$(printf '%s\n' "${fio_rates[@]}" | median)
our_med=$(printf '%s\n' "${our_rates[@]}" | median)
ratio=$(awk -v a="$our_med" -v b="$fio_med" 'BEGIN {printf "%.2f", a / b}')
echo "bench-record.sh: median fio ${fio_med} MB/s, gvcap ${our_med} MB/s, ratio ${ratio}x (goal >= 0.9x)"
if [[ ${BENCH_STRICT:-0} == 1 ]] && awk -v r="$ratio" 'BEGIN {exit !(r < 0.9)}'; then
    echo "bench-record.sh: below the 0.9x goal" >&2
    exit 1
fi
