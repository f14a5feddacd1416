#!/usr/bin/env bash
# demo.sh: the main job, start to finish: a PTP-synchronized start of four
# simulated cameras, captured through AF_XDP, verified and reported.
#
#   scripts/demo.sh [--cameras N] [--frame-rate HZ] [--frames N] [--json]
#
# Sets the machine up (scripts/setup.sh), builds the release binaries, brings
# up a rig of gvsim cameras (one link each, ptp4l as two-step grandmaster on
# the host side), writes a rig file for them and runs, in the rig's host
# namespace,
#
#   gvcap sync --rig FILE --path xdp
#
# which takes control of every camera, broadcasts the settings, waits until
# every camera is PTP Slave, starts them all at one gate time, verifies frame
# alignment, PtpOffset and latency while frames arrive through AF_XDP, and
# prints the report. The rig is always torn down, on errors and Ctrl-C too.
# The exit status is gvcap's. Needs root. RIG_PREFIX (default gvdemo) names
# the rig.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CAMERAS=4
RATE=20
FRAMES=100
JSON=()
while (($#)); do
    case $1 in
        --cameras) CAMERAS=${2:?--cameras needs a value}; shift 2 ;;
        --frame-rate) RATE=${2:?--frame-rate needs a value}; shift 2 ;;
        --frames) FRAMES=${2:?--frames needs a value}; shift 2 ;;
        --json) JSON=(--json); shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo.sh: unknown option $1 (demo.sh --help)" >&2; exit 2 ;;
    esac
done
((EUID == 0)) || { echo "demo.sh: needs root (network namespaces, XDP)" >&2; exit 1; }
export RIG_PREFIX=${RIG_PREFIX:-gvdemo}

banner() { printf '\n==== %s\n' "$*" >&2; }

banner "setup"
scripts/setup.sh
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
fi

banner "cargo build --release --bins"
cargo build --release --bins
GVCAP=$PWD/target/release/gvcap
export GVSIM_BIN=$PWD/target/release/gvsim

banner "rig: $CAMERAS gvsim cameras, one link each, ptp4l as grandmaster"
# `up` cleans up after itself when it fails, and refuses when a rig of this
# prefix exists; from its success on, the rig is ours to tear down.
scripts/rig.sh up --cameras "$CAMERAS" --camera gvsim --grandmaster --topology direct >&2
trap 'banner "tearing the rig down"; scripts/rig.sh down' EXIT
STATE=${RIG_STATE_ROOT:-/run/gvcap-rig}/$RIG_PREFIX

RIG_FILE=$STATE/sync-rig.toml
python3 - "$STATE/rig.json" "$RATE" "$FRAMES" >"$RIG_FILE" <<'PY'
import json, sys
rig = json.load(open(sys.argv[1]))
print('ptp_mode = "two-step"        # ptp4l is a two-step grandmaster')
print(f'frame_rate = {float(sys.argv[2])}')
print(f'frames = {int(sys.argv[3])}')
print('path = "xdp"')
print()
print('[ptp]')
print('lock_timeout = 60.0          # fresh cameras take up to ~30 s to lock')
print()
print('[thresholds]')
print('offset_warn_ns = 2000')
print('offset_error_ns = 10000')
for cam in rig["cameras"]:
    print()
    print('[[camera]]')
    print(f'id = "{cam["address"]}"')
    print(f'interface = "{cam["host_interface"]}"')
PY
banner "rig file $RIG_FILE"
cat "$RIG_FILE" >&2

banner "smaller frames: gvcap set <ip> Width=640 Height=480"
while read -r ip; do
    scripts/rig.sh exec -- "$GVCAP" set "$ip" Width=640 Height=480 >/dev/null
done < <(python3 -c 'import json,sys; [print(c["address"]) for c in json.load(open(sys.argv[1]))["cameras"]]' "$STATE/rig.json")

banner "gvcap sync --rig $RIG_FILE"
rc=0
scripts/rig.sh exec -- timeout 180 "$GVCAP" sync --rig "$RIG_FILE" "${JSON[@]}" || rc=$?
banner "gvcap sync exited with status $rc"
exit "$rc"
