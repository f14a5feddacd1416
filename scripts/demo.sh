#!/usr/bin/env bash
# demo.sh: gvcap against a two-camera rig, start to finish.
#
#   scripts/demo.sh [--camera aravis|gvsim] [--cameras N]
#
# Sets the machine up, builds the release binaries, brings up a rig of simulated
# cameras (Aravis's fake camera by default, gvsim once it exists), then runs in
# the rig's host namespace whatever gvcap supports today: `discover`, and
# `get <ip> Width Height PixelFormat` on each camera, with Aravis's arv-tool
# beside it for comparison. The rig is always torn down, on errors and Ctrl-C
# too. Needs root. RIG_PREFIX (default gvr) names the rig.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CAMERA=aravis
CAMERAS=2
while (($#)); do
    case $1 in
        --camera) CAMERA=${2:?}; shift 2 ;;
        --cameras) CAMERAS=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "demo.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
((EUID == 0)) || { echo "demo.sh: needs root (network namespaces)" >&2; exit 1; }
export RIG_PREFIX=${RIG_PREFIX:-gvr}

banner() { printf '\n==== %s\n' "$*"; }
# Runs a command in the rig's host namespace, bounded in time, and says how it ended.
in_host() {
    echo "\$ $*"
    local rc=0
    scripts/rig.sh exec -- timeout 30 "$@" || rc=$?
    ((rc == 0)) || echo "(exit status $rc)"
}

banner "setup"
scripts/setup.sh
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
fi

banner "cargo build --release"
cargo build --release
GVCAP=$PWD/target/release/gvcap
if [[ $CAMERA == gvsim && -z ${GVSIM_BIN:-} ]]; then
    export GVSIM_BIN=$PWD/target/release/gvsim
fi

banner "rig: $CAMERAS $CAMERA camera(s) behind a switch"
trap 'banner "tearing the rig down"; scripts/rig.sh down' EXIT
scripts/rig.sh up --cameras "$CAMERAS" --camera "$CAMERA"
mapfile -t IPS < <(python3 -c 'import json,sys; [print(c["address"]) for c in json.load(sys.stdin)["cameras"]]' \
    <"/run/gvcap-rig/$RIG_PREFIX/rig.json")

# A subcommand counts as supported when `gvcap --help` lists it.
supports() { "$GVCAP" --help 2>/dev/null | grep -qE "^\s+$1(\s|$)"; }

banner "gvcap discover (from the host namespace)"
if supports discover; then
    in_host "$GVCAP" discover
else
    echo "this gvcap build has no 'discover' yet ($("$GVCAP" --version 2>/dev/null || true))"
fi

banner "gvcap get <ip> Width Height PixelFormat"
if supports get; then
    for ip in "${IPS[@]}"; do in_host "$GVCAP" get "$ip" Width Height PixelFormat; done
else
    echo "this gvcap build has no 'get' yet"
fi

banner "for comparison: Aravis's arv-tool-0.8 in the same namespace"
in_host arv-tool-0.8
if [[ $CAMERA == aravis ]]; then
    for ip in "${IPS[@]}"; do in_host arv-tool-0.8 -a "$ip" control Width Height PixelFormat; done
fi

banner "rig status"
scripts/rig.sh status
