//! Byte-range fields and big-endian accessors shared by the packet views.
//!
//! Invariant: the `get_*`/`set_*` helpers index the slice directly; callers
//! use them only on ranges a prior `check_len` has proven in bounds. The
//! `read_*` helpers are checked and return `WireError::Truncated` instead.

use super::WireError;

/// A field's byte range inside a header.
pub(crate) type Field = core::ops::Range<usize>;

/// Reads a big-endian u16 at `at`; the caller has checked the bounds.
pub(crate) fn get_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Writes a big-endian u16 at `at`; the caller has checked the bounds.
pub(crate) fn set_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Writes a big-endian u32 at `at`; the caller has checked the bounds.
pub(crate) fn set_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// Writes a big-endian u64 at `at`; the caller has checked the bounds.
pub(crate) fn set_u64(data: &mut [u8], at: usize, value: u64) {
    data[at..at + 8].copy_from_slice(&value.to_be_bytes());
}

/// Reads a big-endian u16 at `at`, or `Truncated` when the slice is too short.
pub(crate) fn read_u16(data: &[u8], at: usize) -> Result<u16, WireError> {
    match data.get(at..at.saturating_add(2)) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(WireError::Truncated),
    }
}

/// Reads a big-endian u32 at `at`, or `Truncated` when the slice is too short.
pub(crate) fn read_u32(data: &[u8], at: usize) -> Result<u32, WireError> {
    match data.get(at..at.saturating_add(4)) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(WireError::Truncated),
    }
}

/// Reads a big-endian u64 at `at`, or `Truncated` when the slice is too short.
pub(crate) fn read_u64(data: &[u8], at: usize) -> Result<u64, WireError> {
    let high = read_u32(data, at)?;
    let low = read_u32(data, at.saturating_add(4))?;
    Ok((u64::from(high) << 32) | u64::from(low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_reads_report_truncation_instead_of_zero() {
        let data = [0x12, 0x34, 0x56];
        assert_eq!(read_u16(&data, 1), Ok(0x3456));
        assert_eq!(read_u16(&data, 2), Err(WireError::Truncated));
        assert_eq!(read_u32(&data, 0), Err(WireError::Truncated));
        assert_eq!(read_u64(&data, usize::MAX), Err(WireError::Truncated));
    }

    #[test]
    fn set_then_get_round_trips() {
        let mut data = [0u8; 8];
        set_u64(&mut data, 0, 0x0102_0304_0506_0708);
        assert_eq!(data, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(read_u64(&data, 0), Ok(0x0102_0304_0506_0708));
        set_u16(&mut data, 6, 0xBEEF);
        assert_eq!(get_u16(&data, 6), 0xBEEF);
        set_u32(&mut data, 0, 0xCAFE_F00D);
        assert_eq!(read_u32(&data, 0), Ok(0xCAFE_F00D));
    }
}
