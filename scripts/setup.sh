#!/usr/bin/env bash
# setup.sh: bring a Debian machine to the state gvcap's build and tests expect.
#
# Idempotent and quiet: it checks first and prints one line for each thing it
# actually changes. Safe to run before every test run.
#   - Debian packages for the BPF build (clang, llvm, libelf, zlib, make,
#     pkg-config), the rig (iproute2, ethtool, iputils-ping, procps, python3), the
#     reference peers (Aravis tools, linuxptp, tshark) and benches (fio, zstd);
#     `apt-get update` runs only when something is missing;
#   - 2 MiB hugepages for the frame ring and UMEM (raised, never lowered);
#   - bpffs on /sys/fs/bpf;
#   - clippy and rustfmt in the Rust toolchain.
# Environment: GVCAP_HUGEPAGES (default 256) pages of 2 MiB to reserve.
set -euo pipefail

say() { echo "setup.sh: $*"; }
warn() { echo "setup.sh: warning: $*" >&2; }

SUDO=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        SUDO=(false)
    fi
fi
as_root() { "${SUDO[@]}" "$@"; }

# ---------------------------------------------------------------- packages
# "package:command" — the package is skipped when it is installed, or when the
# command (if one is given) is already on PATH from elsewhere.
PACKAGES=(
    clang:clang llvm:llvm-strip libelf-dev: zlib1g-dev: linux-libc-dev: pkg-config:pkg-config make:make
    linuxptp:ptp4l aravis-tools:arv-fake-gv-camera-0.8 aravis-tools-cli:arv-tool-0.8
    tshark:tshark fio:fio iproute2:ip ethtool:ethtool iputils-ping:ping procps:sysctl python3:python3 zstd:zstd
)

installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

missing=()
for entry in "${PACKAGES[@]}"; do
    pkg=${entry%%:*}
    cmd=${entry#*:}
    if [[ -n $cmd ]] && command -v "$cmd" >/dev/null 2>&1; then continue; fi
    installed "$pkg" && continue
    missing+=("$pkg")
done

if ((${#missing[@]})); then
    if [[ ${SUDO[0]:-} == false ]]; then
        echo "setup.sh: missing packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
        exit 1
    fi
    say "apt-get update (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    # apt's chatter goes to a log that is shown only when apt fails.
    as_root apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    # tshark's setup asks whether non-root users may capture; answer no, silently.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
    say "apt-get install ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >"$log" 2>&1 ||
        { cat "$log" >&2; exit 1; }
fi

# ---------------------------------------------------------------- hugepages
want=${GVCAP_HUGEPAGES:-256}
hp=/proc/sys/vm/nr_hugepages
if [[ -r $hp ]] && grep -q '^Hugepagesize: *2048 kB' /proc/meminfo; then
    have=$(cat "$hp")
    if ((have < want)); then
        if echo "$want" | as_root tee "$hp" >/dev/null 2>&1; then
            got=$(cat "$hp")
            say "hugepages: $have -> $got of 2 MiB"
            ((got >= want)) || warn "only $got of $want hugepages could be reserved (memory fragmented?)"
        else
            warn "could not reserve $want hugepages ($hp not writable); capture falls back to ordinary pages"
        fi
    fi
else
    warn "no 2 MiB hugepages on this kernel; capture falls back to ordinary pages"
fi

# ---------------------------------------------------------------- bpffs
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
    if as_root mount -t bpf bpf /sys/fs/bpf 2>/dev/null; then
        say "mounted bpffs on /sys/fs/bpf"
    else
        warn "could not mount bpffs on /sys/fs/bpf (pinning BPF objects will not work)"
    fi
fi

# ---------------------------------------------------------------- rust
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
fi
command -v cargo >/dev/null || { echo "setup.sh: cargo not found (install Rust with rustup)" >&2; exit 1; }
if ! cargo clippy --version >/dev/null 2>&1; then
    say "rustup component add clippy"
    rustup component add clippy
fi
if ! cargo fmt --version >/dev/null 2>&1; then
    say "rustup component add rustfmt"
    rustup component add rustfmt
fi
