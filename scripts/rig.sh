#!/usr/bin/env bash
# rig.sh: a simulated GigE Vision camera network made of network namespaces.
#
#   rig.sh up     [--cameras N] [--topology switch|direct] [--mtu M]
#                 [--camera aravis|gvsim|none] [--grandmaster] [--ptp-one-step]
#                 [--prefix P] [--json] [--no-check]
#   rig.sh down   [--prefix P]
#   rig.sh status [--prefix P] [--json]
#   rig.sh check  [--prefix P] [--timeout S]   broadcast discovery from the host namespace
#   rig.sh exec   [--prefix P] [--in host|sw|camI] -- CMD...
#   rig.sh reap   tear down every rig whose owner process is gone
#
# RIG_OWNER="PID STARTTIME" at `up` records which process owns the rig (the
# Rust test harness sets it), so that `reap` can clean up after an owner that
# was killed before it could run `down`.
#
# Every name the rig creates starts with the prefix (option --prefix, else
# $RIG_PREFIX, else "gvr"), so several rigs can live side by side:
#   namespaces  P-host, P-sw (switch topology only), P-cam1..N
#   interfaces  Ph0 (switch) or Ph1..N (direct) in P-host; Pc<i> in P-cam<i>;
#               Pbr and Ps0..N in P-sw
# Addresses are link-local:
#   switch  host 169.254.0.1/16, camera i 169.254.1.i/16, one broadcast domain
#   direct  host 169.254.i.1/24 on Ph<i>, camera i 169.254.i.2/24, one subnet per link
# State (namespaces, pids, logs, rig.json) lives in $RIG_STATE_ROOT/P
# (default /run/gvcap-rig/P). `down` kills only the pids recorded there and
# deletes only the namespaces recorded there (or, if the record is lost, the
# ones that carry this prefix's exact names).
set -Eeuo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
STATE_ROOT=${RIG_STATE_ROOT:-/run/gvcap-rig}

die() { echo "rig.sh: $*" >&2; exit 1; }
say() { echo "rig.sh: $*" >&2; }

usage() {
    sed -n '2,/^set -Eeuo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit "${1:-0}"
}

# ---------------------------------------------------------------- options
cmd=${1:-}
[[ -n $cmd ]] || usage 2
shift
case $cmd in -h|--help|help) usage 0 ;; esac

PREFIX=${RIG_PREFIX:-gvr}
CAMERAS=1
TOPOLOGY=switch
MTU=1500
CAMERA=aravis
GRANDMASTER=0
ONE_STEP=0
JSON=0
CHECK=1
TIMEOUT=10
EXEC_IN=host
EXEC_ARGS=()

while (($#)); do
    case $1 in
        --prefix) PREFIX=${2:?--prefix needs a value}; shift 2 ;;
        --cameras) CAMERAS=${2:?--cameras needs a value}; shift 2 ;;
        --topology) TOPOLOGY=${2:?--topology needs a value}; shift 2 ;;
        --mtu) MTU=${2:?--mtu needs a value}; shift 2 ;;
        --camera) CAMERA=${2:?--camera needs a value}; shift 2 ;;
        --grandmaster) GRANDMASTER=1; shift ;;
        --ptp-one-step) GRANDMASTER=1; ONE_STEP=1; shift ;;
        --json) JSON=1; shift ;;
        --no-check) CHECK=0; shift ;;
        --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
        --in) EXEC_IN=${2:?--in needs a value}; shift 2 ;;
        --) shift; EXEC_ARGS=("$@"); break ;;
        -h|--help) usage 0 ;;
        *) die "unknown option '$1' (rig.sh --help)" ;;
    esac
done

[[ $PREFIX =~ ^[a-z][a-z0-9]{0,8}$ ]] ||
    die "prefix '$PREFIX' must be 1-9 characters [a-z0-9], starting with a letter (interface names are limited to 15)"
# shellcheck disable=SC2015 # die is meant to run when either test fails
[[ $CAMERAS =~ ^[0-9]+$ ]] && ((CAMERAS >= 1 && CAMERAS <= 254)) || die "--cameras must be 1..254"
# shellcheck disable=SC2015
[[ $MTU =~ ^[0-9]+$ ]] && ((MTU >= 576 && MTU <= 9000)) || die "--mtu must be 576..9000"
[[ $TOPOLOGY == switch || $TOPOLOGY == direct ]] || die "--topology must be switch or direct"
[[ $CAMERA == aravis || $CAMERA == gvsim || $CAMERA == none ]] || die "--camera must be aravis, gvsim or none"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout must be whole seconds"

STATE=$STATE_ROOT/$PREFIX
HOST_NS=$PREFIX-host
SW_NS=$PREFIX-sw

# ---------------------------------------------------------------- helpers
need_root() {
    ((EUID == 0)) || die "$cmd needs root (network namespaces, veth, sysctl)"
    command -v ip >/dev/null || die "ip (iproute2) not found: run scripts/setup.sh"
}

ns_exists() { [[ -e /run/netns/$1 ]]; }

# Run a command inside a namespace.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Namespace creation is recorded *before* it happens, so that `down` can
# clean up after an `up` that died half way.
add_ns() {
    echo "$1" >>"$STATE/netns"
    ip netns add "$1"
    ip -n "$1" link set lo up
    nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# Quiet an interface: no IPv6 (no router solicitations, no DAD), no reverse
# path filter, the rig's MTU, and up.
prep_if() {
    local ns=$1 ifname=$2
    nsx "$ns" sysctl -qw "net.ipv6.conf.$ifname.disable_ipv6=1" "net.ipv4.conf.$ifname.rp_filter=0"
    ip -n "$ns" link set "$ifname" mtu "$MTU"
    ip -n "$ns" link set "$ifname" up
}

# veth pair from ns1/if1 to ns2/if2, created directly inside the namespaces:
# nothing ever appears in the root namespace.
add_veth() {
    local ns1=$1 if1=$2 ns2=$3 if2=$4
    ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2"
    prep_if "$ns1" "$if1"
    prep_if "$ns2" "$if2"
}

proc_start_time() {
    # Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces.
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo "${20}"
}

# Start a long-lived process in a namespace, detached from our stdio, and
# record "pid start-time name" so that `down` kills exactly this process.
spawn() {
    local ns=$1 name=$2; shift 2
    ip netns exec "$ns" "$@" </dev/null >"$STATE/$name.log" 2>&1 &
    local pid=$!
    local start
    start=$(proc_start_time "$pid") || die "$name exited at once: $(tail -n 5 "$STATE/$name.log")"
    echo "$pid $start $name" >>"$STATE/pids"
    echo "$pid"
}

find_gvsim() {
    if [[ -n ${GVSIM_BIN:-} ]]; then
        [[ -x $GVSIM_BIN ]] || die "GVSIM_BIN=$GVSIM_BIN is not an executable file"
        echo "$GVSIM_BIN"
        return
    fi
    # The most recently built of the release and debug binaries: a stale
    # release build must not shadow the debug build just made.
    local target=${CARGO_TARGET_DIR:-$REPO_ROOT/target} b best=""
    for b in "$target/release/gvsim" "$target/debug/gvsim"; do
        [[ -x $b ]] || continue
        if [[ -z $best || $b -nt $best ]]; then best=$b; fi
    done
    [[ -n $best ]] && { echo "$best"; return; }
    die "--camera gvsim: no simulator binary (set GVSIM_BIN, or build it: cargo build --release --bin gvsim)"
}

# ---------------------------------------------------------------- address plan
cam_ns() { echo "$PREFIX-cam$1"; }
cam_if() { echo "${PREFIX}c$1"; }
host_if_for() { if [[ $TOPOLOGY == switch ]]; then echo "${PREFIX}h0"; else echo "${PREFIX}h$1"; fi; }
cam_ip() { if [[ $TOPOLOGY == switch ]]; then echo "169.254.1.$1"; else echo "169.254.$1.2"; fi; }
host_ip_for() { if [[ $TOPOLOGY == switch ]]; then echo "169.254.0.1"; else echo "169.254.$1.1"; fi; }
plen() { if [[ $TOPOLOGY == switch ]]; then echo 16; else echo 24; fi; }
serial_of() { if [[ $CAMERA == gvsim ]]; then echo "GVSIM$1"; else echo "$PREFIX-$1"; fi; }

# ---------------------------------------------------------------- discovery probe
# Broadcast a GVCP DISCOVERY_CMD (42 11 0002 0000 id) on every host interface
# and print one line per answer: "address serial model". Runs in the host ns.
probe() {
    local wait=$1; shift
    nsx "$HOST_NS" python3 - "$wait" "$@" <<'PY'
import socket, struct, sys, time
wait = float(sys.argv[1])
ifaces = sys.argv[2:]
socks = []
for i, name in enumerate(ifaces):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, name.encode())
    s.bind(("0.0.0.0", 0))
    s.setblocking(False)
    # key 0x42, flags: ack required | broadcast ack allowed, DISCOVERY_CMD, length 0
    s.sendto(struct.pack(">BBHHH", 0x42, 0x11, 0x0002, 0, 0x100 + i), ("255.255.255.255", 3956))
    socks.append(s)
seen = {}
deadline = time.monotonic() + wait
while time.monotonic() < deadline:
    for s in socks:
        try:
            data, (addr, _) = s.recvfrom(2048)
        except BlockingIOError:
            continue
        if len(data) < 8 + 0xF8 or struct.unpack(">H", data[2:4])[0] != 0x0003:
            continue
        p = data[8:]
        text = lambda a, n: p[a:a + n].split(b"\0")[0].decode("ascii", "replace").replace(" ", "_") or "-"
        seen[addr] = "%s %s %s" % (socket.inet_ntoa(p[0x24:0x28]), text(0xD8, 16), text(0x68, 32))
    time.sleep(0.02)
for line in sorted(seen.values()):
    print(line)
PY
}

# ---------------------------------------------------------------- status output
load_state() {
    [[ -f $STATE/rig.env ]] || return 1
    # shellcheck disable=SC1091
    source "$STATE/rig.env"
}

print_json() {
    local i first=1 hif
    printf '{"prefix":"%s","state_dir":"%s","topology":"%s","mtu":%s,"camera":"%s",' \
        "$PREFIX" "$STATE" "$TOPOLOGY" "$MTU" "$CAMERA"
    printf '"host_ns":"%s",' "$HOST_NS"
    if [[ $TOPOLOGY == switch ]]; then printf '"switch_ns":"%s",' "$SW_NS"; else printf '"switch_ns":null,'; fi
    printf '"host_interfaces":['
    if [[ $TOPOLOGY == switch ]]; then
        printf '{"name":"%s","address":"%s","prefix_len":%s}' "$(host_if_for 1)" "$(host_ip_for 1)" "$(plen)"
    else
        for ((i = 1; i <= CAMERAS; i++)); do
            ((i > 1)) && printf ','
            printf '{"name":"%s","address":"%s","prefix_len":%s}' "$(host_if_for "$i")" "$(host_ip_for "$i")" "$(plen)"
        done
    fi
    printf '],"cameras":['
    for ((i = 1; i <= CAMERAS; i++)); do
        ((first)) || printf ','
        first=0
        hif=$(host_if_for "$i")
        printf '{"index":%d,"ns":"%s","interface":"%s","address":"%s","prefix_len":%s,"host_interface":"%s","host_address":"%s","serial":%s,"pid":%s}' \
            "$i" "$(cam_ns "$i")" "$(cam_if "$i")" "$(cam_ip "$i")" "$(plen)" "$hif" "$(host_ip_for "$i")" \
            "$([[ $CAMERA == none ]] && echo null || echo "\"$(serial_of "$i")\"")" \
            "$(pid_of "cam$i")"
    done
    printf '],"grandmaster":%s,"ptp4l_pid":%s}\n' \
        "$([[ $GRANDMASTER == 1 ]] && echo true || echo false)" "$(pid_of ptp4l)"
}

# pid recorded for a process name, or null.
pid_of() {
    local pid start name
    [[ -f $STATE/pids ]] || { echo null; return; }
    while read -r pid start name; do
        [[ $name == "$1" ]] && { echo "$pid"; return; }
    done <"$STATE/pids"
    echo null
}

print_human() {
    local i
    echo "rig $PREFIX: $TOPOLOGY topology, $CAMERAS camera(s) [$CAMERA], MTU $MTU, state in $STATE"
    echo "  host namespace: $HOST_NS   (run commands there: scripts/rig.sh exec --prefix $PREFIX -- CMD)"
    if [[ $TOPOLOGY == switch ]]; then
        echo "  host interface: $(host_if_for 1) $(host_ip_for 1)/16  (bridge ${PREFIX}br in namespace $SW_NS)"
    fi
    for ((i = 1; i <= CAMERAS; i++)); do
        printf '  camera %-3s %-15s on %s (ns %s, if %s)%s\n' "$i" "$(cam_ip "$i")" \
            "$(host_if_for "$i")$([[ $TOPOLOGY == direct ]] && echo " $(host_ip_for "$i")/24")" \
            "$(cam_ns "$i")" "$(cam_if "$i")" \
            "$([[ $CAMERA != none ]] && echo ", $CAMERA serial $(serial_of "$i"), pid $(pid_of "cam$i")")"
    done
    if ((GRANDMASTER)); then
        echo "  PTP grandmaster: ptp4l pid $(pid_of ptp4l), log $STATE/ptp4l.log"
    fi
}

# ---------------------------------------------------------------- down
do_down() {
    local did=0 pid start name ns
    if [[ -f $STATE/pids ]]; then
        local killed=()
        while read -r pid start name; do
            [[ -n $pid ]] || continue
            if [[ $(proc_start_time "$pid" 2>/dev/null || true) == "$start" ]]; then
                kill -TERM "$pid" 2>/dev/null && killed+=("$pid") && say "stopped $name (pid $pid)"
                did=1
            fi
        done <"$STATE/pids"
        local t
        for pid in "${killed[@]}"; do
            for ((t = 0; t < 30; t++)); do
                [[ -e /proc/$pid ]] || break
                # A zombie whose parent is gone is reaped by init soon; do not wait on it forever.
                [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
                sleep 0.1
            done
            if [[ -e /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
    fi
    local nss=()
    if [[ -f $STATE/netns ]]; then
        mapfile -t nss <"$STATE/netns"
    else
        # No record: take only the exact names this prefix would have created.
        for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
            [[ $ns == "$HOST_NS" || $ns == "$SW_NS" || $ns =~ ^$PREFIX-cam[0-9]+$ ]] && nss+=("$ns")
        done
    fi
    for ns in "${nss[@]}"; do
        [[ -n $ns ]] || continue
        if ns_exists "$ns"; then
            local left
            left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
            [[ -z $left ]] || say "warning: namespace $ns still holds processes we did not start: $left(left alone)"
            ip netns del "$ns" && say "deleted namespace $ns"
            did=1
        fi
    done
    if [[ -d $STATE ]]; then
        rm -rf "$STATE"
        did=1
    fi
    ((did)) || say "rig $PREFIX: nothing to tear down"
    return 0
}

# ---------------------------------------------------------------- up
up_failed() {
    local rc=$?
    trap - EXIT INT TERM HUP
    say "up failed (exit $rc): tearing down what was built"
    do_down
    exit 1
}

do_up() {
    need_root
    ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (no network namespace support?)"
    if [[ -d $STATE ]] || ns_exists "$HOST_NS"; then
        die "rig $PREFIX is already up (or a crashed one is left): run 'rig.sh down --prefix $PREFIX' first"
    fi
    local gvsim=""
    case $CAMERA in
        aravis) command -v arv-fake-gv-camera-0.8 >/dev/null ||
                    die "arv-fake-gv-camera-0.8 not found: run scripts/setup.sh (package aravis-tools)" ;;
        gvsim) gvsim=$(find_gvsim) ;;
    esac
    if ((GRANDMASTER)); then
        command -v ptp4l >/dev/null || die "ptp4l not found: run scripts/setup.sh (package linuxptp)"
        ((ONE_STEP)) && die "--ptp-one-step: ptp4l refuses one-step sync with software time stamping" \
            "('one step is only possible with hardware time stamping'), and veth has no hardware stamps"
    fi
    if [[ $CAMERA != none ]] && ((CHECK)); then
        command -v python3 >/dev/null || die "python3 not found (the discovery check needs it): run scripts/setup.sh"
    fi

    mkdir -p "$STATE"
    : >"$STATE/netns"
    : >"$STATE/pids"
    [[ -z ${RIG_OWNER:-} ]] || echo "$RIG_OWNER" >"$STATE/owner"
    # From here on, any failure or interruption tears down what exists so far.
    trap up_failed EXIT
    trap 'exit 130' INT TERM HUP

    local i
    add_ns "$HOST_NS"
    if [[ $TOPOLOGY == switch ]]; then
        add_ns "$SW_NS"
        ip -n "$SW_NS" link add "${PREFIX}br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
        add_veth "$HOST_NS" "${PREFIX}h0" "$SW_NS" "${PREFIX}s0"
        ip -n "$SW_NS" link set "${PREFIX}s0" master "${PREFIX}br"
        ip -n "$HOST_NS" addr add "$(host_ip_for 1)/16" broadcast 169.254.255.255 dev "${PREFIX}h0"
    fi
    for ((i = 1; i <= CAMERAS; i++)); do
        add_ns "$(cam_ns "$i")"
        if [[ $TOPOLOGY == switch ]]; then
            add_veth "$(cam_ns "$i")" "$(cam_if "$i")" "$SW_NS" "${PREFIX}s$i"
            ip -n "$SW_NS" link set "${PREFIX}s$i" master "${PREFIX}br"
        else
            add_veth "$HOST_NS" "$(host_if_for "$i")" "$(cam_ns "$i")" "$(cam_if "$i")"
            ip -n "$HOST_NS" addr add "$(host_ip_for "$i")/24" broadcast "169.254.$i.255" dev "$(host_if_for "$i")"
        fi
        ip -n "$(cam_ns "$i")" addr add "$(cam_ip "$i")/$(plen)" broadcast + dev "$(cam_if "$i")"
    done
    if [[ $TOPOLOGY == switch ]]; then
        nsx "$SW_NS" sysctl -qw "net.ipv6.conf.${PREFIX}br.disable_ipv6=1"
        ip -n "$SW_NS" link set "${PREFIX}br" mtu "$MTU"
        ip -n "$SW_NS" link set "${PREFIX}br" up
    fi

    for ((i = 1; i <= CAMERAS; i++)); do
        case $CAMERA in
            aravis) spawn "$(cam_ns "$i")" "cam$i" arv-fake-gv-camera-0.8 -i "$(cam_if "$i")" -s "$(serial_of "$i")" >/dev/null ;;
            gvsim) spawn "$(cam_ns "$i")" "cam$i" "$gvsim" --interface "$(cam_if "$i")" \
                       --address "$(cam_ip "$i")" --serial "$(serial_of "$i")" >/dev/null ;;
        esac
    done

    if ((GRANDMASTER)); then
        # A clock that wins every best-master comparison: priority1/2 = 1, clock class 6
        # (synchronized to a primary reference). Two-step, UDPv4, E2E: ptp4l's defaults.
        # Eight Syncs a second: slaves on a loaded host (software timestamps through a
        # bridge) then have enough samples to pick the least delayed ones.
        cat >"$STATE/ptp4l.conf" <<EOF
[global]
priority1 1
priority2 1
clockClass 6
domainNumber 0
logAnnounceInterval 0
announceReceiptTimeout 2
logSyncInterval -3
logMinDelayReqInterval -3
EOF
        local pif=()
        if [[ $TOPOLOGY == switch ]]; then
            pif=(-i "${PREFIX}h0")
        else
            for ((i = 1; i <= CAMERAS; i++)); do pif+=(-i "$(host_if_for "$i")"); done
        fi
        spawn "$HOST_NS" ptp4l ptp4l -f "$STATE/ptp4l.conf" "${pif[@]}" -S -m -q >/dev/null
    fi

    {
        echo "TOPOLOGY=$TOPOLOGY"
        echo "CAMERAS=$CAMERAS"
        echo "MTU=$MTU"
        echo "CAMERA=$CAMERA"
        echo "GRANDMASTER=$GRANDMASTER"
    } >"$STATE/rig.env"

    # Every process must still be alive, and every camera must answer a broadcast
    # discovery from the host namespace.
    sleep 0.3
    local pid start name
    while read -r pid start name; do
        [[ $(proc_start_time "$pid" || true) == "$start" ]] ||
            { say "$name died: $(tail -n 5 "$STATE/$name.log")"; false; }
    done <"$STATE/pids"
    if [[ $CAMERA != none ]] && ((CHECK)); then
        do_check || false
    fi
    trap - EXIT INT TERM HUP
    print_json >"$STATE/rig.json"
    if ((JSON)); then cat "$STATE/rig.json"; else print_human; fi
}

# Broadcast discovery until every camera answered or the timeout passed.
do_check() {
    local hifs=() i deadline answers missing
    if [[ $TOPOLOGY == switch ]]; then hifs=("${PREFIX}h0"); else
        for ((i = 1; i <= CAMERAS; i++)); do hifs+=("$(host_if_for "$i")"); done
    fi
    deadline=$((SECONDS + TIMEOUT))
    while :; do
        answers=$(probe 1 "${hifs[@]}")
        missing=()
        for ((i = 1; i <= CAMERAS; i++)); do
            grep -q "^$(cam_ip "$i") " <<<"$answers" || missing+=("$(cam_ip "$i")")
        done
        ((${#missing[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            say "discovery from $HOST_NS: no answer from ${missing[*]} within ${TIMEOUT}s"
            [[ -z $answers ]] || say "answers seen: $(tr '\n' ';' <<<"$answers")"
            return 1
        fi
    done
    say "discovery from $HOST_NS: all $CAMERAS camera(s) answered"
    [[ $cmd == check ]] && echo "$answers"
    return 0
}

case $cmd in
    up) do_up ;;
    down) need_root; do_down ;;
    status)
        load_state || { say "rig $PREFIX is not up"; exit 1; }
        if ((JSON)); then print_json; exit 0; fi
        print_human
        rc=0
        while read -r ns; do
            ns_exists "$ns" || { echo "  MISSING namespace $ns"; rc=1; }
        done <"$STATE/netns"
        while read -r pid start name; do
            [[ $(proc_start_time "$pid" || true) == "$start" ]] || { echo "  DEAD process $name (pid $pid)"; rc=1; }
        done <"$STATE/pids"
        exit $rc ;;
    check)
        need_root
        load_state || die "rig $PREFIX is not up"
        [[ $CAMERA != none ]] || die "rig $PREFIX has no cameras to discover"
        do_check ;;
    exec)
        need_root
        ((${#EXEC_ARGS[@]})) || die "exec needs a command after --"
        case $EXEC_IN in
            host) ns=$HOST_NS ;;
            sw) ns=$SW_NS ;;
            cam[0-9]*) ns=$PREFIX-$EXEC_IN ;;
            *) die "--in must be host, sw or cam<i>" ;;
        esac
        ns_exists "$ns" || die "namespace $ns does not exist (is rig $PREFIX up?)"
        exec ip netns exec "$ns" "${EXEC_ARGS[@]}" ;;
    reap)
        need_root
        for owner in "$STATE_ROOT"/*/owner; do
            [[ -f $owner ]] || continue
            read -r pid start <"$owner" || continue
            [[ $(proc_start_time "$pid" || true) == "$start" ]] && continue
            p=$(basename "$(dirname "$owner")")
            say "reaping rig $p (owner pid $pid is gone)"
            "${BASH_SOURCE[0]}" down --prefix "$p" || true
        done ;;
    *) die "unknown command '$cmd' (up, down, status, check, exec, reap)" ;;
esac
