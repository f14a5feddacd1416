//! Builds the XDP program in `bpf/` with libbpf-cargo's SkeletonBuilder (clang,
//! `-target bpf`) into `$OUT_DIR/gvsp_steer.bpf.o`, which `src/xdp/loader.rs`
//! embeds with `include_bytes!`.
//!
//! Only the object is built: the loader opens it with libbpf-rs by name, so no
//! generated (unsafe) skeleton code enters the crate.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SOURCE: &str = "../bpf/gvsp_steer.bpf.c";
const HEADER: &str = "../bpf/gvsp_steer.h";

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let obj = out.join("gvsp_steer.bpf.o");
    // Debian keeps the asm/ headers that linux/*.h include under the multiarch
    // directory, which clang's BPF target does not search by itself.
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let multiarch = format!("-I/usr/include/{arch}-linux-gnu");
    let built = SkeletonBuilder::new()
        .source(SOURCE)
        .obj(&obj)
        .clang_args(["-Wall", "-Werror", multiarch.as_str(), "-I../bpf"])
        .build();
    if let Err(e) = built {
        panic!(
            "building {SOURCE} failed: {e:#}\n\
             (needs clang and the Linux UAPI headers: run scripts/setup.sh)"
        );
    }
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-changed={HEADER}");
}
