#!/usr/bin/env bash
# test.sh: everything CI checks, in order: machine setup, formatting, clippy
# (warnings are errors), the whole workspace's tests (unit, integration,
# conformance, and the privileged rig tests, which need root: without it they
# say SKIPPED loudly, and under CI=true they fail), and a build of the fuzz
# targets with a run of each over its committed seeds when fuzz/ exists.
#
# Every step runs even after an earlier one failed, so one run shows all
# problems; the exit status is non-zero if any step failed.
# Environment: TEST_TIMEOUT (seconds, default 3600) bounds `cargo test`.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    source "$HOME/.cargo/env"
fi
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

start=$SECONDS
passed=()
failed=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step() {
    local name=$1; shift
    local t0=$SECONDS
    echo "=== test.sh: $name: $*"
    if "$@"; then
        passed+=("$name")
        echo "=== test.sh: $name ok ($((SECONDS - t0))s)"
    else
        failed+=("$name")
        echo "=== test.sh: $name FAILED ($((SECONDS - t0))s)"
    fi
}

# Without the machine's packages nothing else can be meaningful.
step setup scripts/setup.sh
if ((${#failed[@]})); then
    echo "test.sh: FAILED: setup (nothing else was run)"
    exit 1
fi

step fmt cargo fmt --all --check
step clippy cargo clippy --workspace --all-targets -- -D warnings
run_tests() {
    timeout --kill-after=30 "${TEST_TIMEOUT:-3600}" cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
}
step test run_tests
if [[ -f fuzz/Cargo.toml ]]; then
    # On stable the targets build and link against libFuzzer without
    # coverage instrumentation; run that way they execute each committed
    # seed once (no fuzzing), so a seed that crashes its target fails CI.
    fuzz_seeds() {
        cargo build --manifest-path fuzz/Cargo.toml || return 1
        local target ok=0
        for target in fuzz/fuzz_targets/*.rs; do
            target=$(basename "$target" .rs)
            if [[ ! -d fuzz/corpus/$target ]]; then
                echo "test.sh: fuzz target $target has no seed corpus in fuzz/corpus/$target"
                ok=1
            elif ! "fuzz/target/debug/$target" fuzz/corpus/"$target"/* >/dev/null 2>&1; then
                echo "test.sh: fuzz target $target failed on its seed corpus (run fuzz/target/debug/$target fuzz/corpus/$target/*)"
                ok=1
            fi
        done
        return "$ok"
    }
    step fuzz-seeds fuzz_seeds
    # The instrumented build needs a nightly toolchain and cargo-fuzz; where
    # both are present, build the targets as a fuzzing run would.
    if cargo +nightly --version >/dev/null 2>&1 && cargo +nightly fuzz --version >/dev/null 2>&1; then
        fuzz_build() { (cd fuzz && cargo +nightly fuzz build -O); }
        step fuzz-build fuzz_build
    else
        echo "test.sh: fuzz targets built on stable without instrumentation (no nightly toolchain with cargo-fuzz here)"
    fi
fi

# Add up cargo test's "test result:" lines for the summary.
read -r n_pass n_fail n_ign < <(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i+1) ~ /^passed/) p += $i
            if ($(i+1) ~ /^failed/) f += $i
            if ($(i+1) ~ /^ignored/) g += $i
        } } END { print p+0, f+0, g+0 }' "$log")

summary="steps ok: ${passed[*]:-none}; tests: $n_pass passed, $n_fail failed, $n_ign ignored; $((SECONDS - start))s"
if ((${#failed[@]})); then
    echo "test.sh: FAILED (${failed[*]}) -- $summary"
    exit 1
fi
echo "test.sh: OK -- $summary"
