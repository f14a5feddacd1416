//! `gvcap`: find GigE Vision cameras, read and write their features.

fn main() {
    println!("gvcap {}", env!("CARGO_PKG_VERSION"));
}
