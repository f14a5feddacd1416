//! PFNC pixel format codes as carried in GVSP image leaders.
//!
//! Invariant: a `PixelFormat` is any 32-bit code; bits 16..24 hold the
//! number of bits per pixel, which `bits_per_pixel` reads for every code,
//! named or not.

use core::fmt;

/// A 32-bit PFNC (GenICam Pixel Format Naming Convention) code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PixelFormat(pub u32);

impl PixelFormat {
    /// 8-bit monochrome.
    pub const MONO8: PixelFormat = PixelFormat(0x0108_0001);
    /// 10-bit monochrome, unpacked into 16 bits.
    pub const MONO10: PixelFormat = PixelFormat(0x0110_0003);
    /// 12-bit monochrome, unpacked into 16 bits.
    pub const MONO12: PixelFormat = PixelFormat(0x0110_0005);
    /// 16-bit monochrome.
    pub const MONO16: PixelFormat = PixelFormat(0x0110_0007);
    /// 8-bit Bayer, GR pattern.
    pub const BAYER_GR8: PixelFormat = PixelFormat(0x0108_0008);
    /// 8-bit Bayer, RG pattern.
    pub const BAYER_RG8: PixelFormat = PixelFormat(0x0108_0009);
    /// 8-bit Bayer, GB pattern.
    pub const BAYER_GB8: PixelFormat = PixelFormat(0x0108_000A);
    /// 8-bit Bayer, BG pattern.
    pub const BAYER_BG8: PixelFormat = PixelFormat(0x0108_000B);
    /// 24-bit RGB, 8 bits per channel.
    pub const RGB8: PixelFormat = PixelFormat(0x0218_0014);
    /// 24-bit BGR, 8 bits per channel.
    pub const BGR8: PixelFormat = PixelFormat(0x0218_0015);

    /// Bits one pixel occupies (bits 16..24 of the code).
    pub fn bits_per_pixel(self) -> u32 {
        (self.0 >> 16) & 0xFF
    }

    /// Whole bytes one pixel occupies, or `None` for packed formats (e.g. 12 bits).
    pub fn bytes_per_pixel(self) -> Option<u32> {
        let bits = self.bits_per_pixel();
        (bits != 0 && bits % 8 == 0).then_some(bits / 8)
    }

    /// Bytes of one `width` x `height` image without padding, or `None` on overflow.
    pub fn image_size(self, width: u32, height: u32) -> Option<u64> {
        let bits = u64::from(self.bits_per_pixel())
            .checked_mul(u64::from(width))?
            .checked_mul(u64::from(height))?;
        Some(bits.div_ceil(8))
    }

    /// The PFNC name of the named formats above.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            PixelFormat::MONO8 => "Mono8",
            PixelFormat::MONO10 => "Mono10",
            PixelFormat::MONO12 => "Mono12",
            PixelFormat::MONO16 => "Mono16",
            PixelFormat::BAYER_GR8 => "BayerGR8",
            PixelFormat::BAYER_RG8 => "BayerRG8",
            PixelFormat::BAYER_GB8 => "BayerGB8",
            PixelFormat::BAYER_BG8 => "BayerBG8",
            PixelFormat::RGB8 => "RGB8",
            PixelFormat::BGR8 => "BGR8",
            _ => return None,
        })
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "PixelFormat({:#010x})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_named_formats() {
        assert_eq!(PixelFormat::MONO8.bytes_per_pixel(), Some(1));
        assert_eq!(PixelFormat::MONO16.bytes_per_pixel(), Some(2));
        assert_eq!(PixelFormat::BAYER_RG8.bytes_per_pixel(), Some(1));
        assert_eq!(PixelFormat::RGB8.bytes_per_pixel(), Some(3));
        assert_eq!(PixelFormat::RGB8.bits_per_pixel(), 24);
        // Mono12Packed: 12 bits, no whole-byte size.
        assert_eq!(PixelFormat(0x010C_0006).bytes_per_pixel(), None);
        assert_eq!(PixelFormat(0x010C_0006).image_size(3, 1), Some(5));
        assert_eq!(PixelFormat::MONO16.image_size(64, 32), Some(4096));
        assert_eq!(
            PixelFormat(0xFFFF_FFFF).image_size(u32::MAX, u32::MAX),
            None
        );
    }

    #[test]
    fn display_names_known_codes_and_shows_hex_otherwise() {
        assert_eq!(PixelFormat::BAYER_RG8.to_string(), "BayerRG8");
        assert_eq!(
            PixelFormat(0x1234_5678).to_string(),
            "PixelFormat(0x12345678)"
        );
    }
}
