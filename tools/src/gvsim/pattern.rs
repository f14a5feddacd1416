//! The deterministic image content gvsim sends, public so that a receiver
//! can verify every byte it got.
//!
//! The byte at offset `i` of the payload of block `block_id` from the camera
//! with serial `serial` is byte `i % 8` (little-endian) of the 64-bit word
//!
//! ```text
//! word(i) = (i / 8) * 0x9E3779B97F4A7C15  XOR  block_key(serial, block_id)
//! ```
//!
//! where `block_key = mix64(serial_key(serial) ^ mix64(block_id))` and
//! `serial_key` is FNV-1a over the serial's bytes. The offset fixes the pixel
//! position (`x = (i / bytes_per_pixel) % width`, `y = i / (width *
//! bytes_per_pixel)`), so a misplaced, stale, foreign or corrupted byte
//! fails the check.
//!
//! Invariants: `fill` and `byte_at` agree for every offset, whatever the
//! alignment of the slice; `verify` reports the first wrong offset.

use super::rng::mix64;

/// The multiplier that spreads word indices over all 64 bits (2^64 / golden ratio).
const POSITION_STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// The 64-bit key of a camera serial: FNV-1a over its bytes.
pub fn serial_key(serial: &str) -> u64 {
    serial.bytes().fold(0xCBF2_9CE4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The key of one block of one camera.
pub fn block_key(serial_key: u64, block_id: u64) -> u64 {
    mix64(serial_key ^ mix64(block_id))
}

/// The expected byte at payload offset `offset` of the block with key `block_key`.
pub fn byte_at(block_key: u64, offset: u64) -> u8 {
    let word = (offset / 8).wrapping_mul(POSITION_STEP) ^ block_key;
    word.to_le_bytes()[(offset % 8) as usize]
}

/// Fills `out` with the bytes at payload offsets `offset..offset + out.len()`.
pub fn fill(block_key: u64, offset: u64, out: &mut [u8]) {
    let mut at = offset;
    let mut rest = out;
    // Unaligned head, byte by byte.
    while at % 8 != 0 && !rest.is_empty() {
        rest[0] = byte_at(block_key, at);
        rest = &mut rest[1..];
        at += 1;
    }
    // Whole words: the position term grows by one step per word.
    let mut position = (at / 8).wrapping_mul(POSITION_STEP);
    let mut chunks = rest.chunks_exact_mut(8);
    for chunk in &mut chunks {
        chunk.copy_from_slice(&(position ^ block_key).to_le_bytes());
        position = position.wrapping_add(POSITION_STEP);
        at += 8;
    }
    for (k, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte = byte_at(block_key, at + k as u64);
    }
}

/// Checks `data` against the bytes expected at `offset..`; `Err(offset)` of the first mismatch.
pub fn verify(block_key: u64, offset: u64, data: &[u8]) -> Result<(), u64> {
    let mut expected = [0u8; 512];
    let mut at = offset;
    for chunk in data.chunks(expected.len()) {
        let want = &mut expected[..chunk.len()];
        fill(block_key, at, want);
        if let Some(k) = chunk.iter().zip(want.iter()).position(|(a, b)| a != b) {
            return Err(at + k as u64);
        }
        at += chunk.len() as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_matches_byte_at_for_any_alignment() {
        let key = block_key(serial_key("GVSIM1"), 7);
        for offset in [0u64, 1, 5, 7, 8, 9, 8191, 1 << 33] {
            for len in [0usize, 1, 7, 8, 9, 31, 100] {
                let mut out = vec![0u8; len];
                fill(key, offset, &mut out);
                for (k, b) in out.iter().enumerate() {
                    assert_eq!(*b, byte_at(key, offset + k as u64), "{offset}+{k}");
                }
                assert_eq!(verify(key, offset, &out), Ok(()));
            }
        }
    }

    #[test]
    fn serial_block_and_position_all_change_the_bytes() {
        let a = block_key(serial_key("GVSIM1"), 1);
        let b = block_key(serial_key("GVSIM2"), 1);
        let c = block_key(serial_key("GVSIM1"), 2);
        let mut x = [0u8; 64];
        let mut y = [0u8; 64];
        fill(a, 0, &mut x);
        fill(b, 0, &mut y);
        assert_ne!(x, y, "serial");
        fill(c, 0, &mut y);
        assert_ne!(x, y, "block id");
        fill(a, 64, &mut y);
        assert_ne!(x, y, "position");
        // A single flipped byte is found at its offset.
        let mut data = vec![0u8; 3000];
        fill(a, 100, &mut data);
        data[2049] ^= 1;
        assert_eq!(verify(a, 100, &data), Err(2149));
    }
}
