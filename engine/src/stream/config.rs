//! Configuration of one stream's reassembly: block geometry, in-flight
//! bound, frame timeout and the resend policy.
//!
//! Invariants: a config accepted by [`StreamConfig::validate`] has a
//! non-zero payload size, a non-zero packet payload size, at least one frame
//! in flight, and a packet count (`max_data_packets() + 2`, for the leader
//! and the trailer) that fits the 24-bit packet id of the standard header.

use std::time::Duration;

use super::StreamError;

/// IPv4 (20) and UDP (8) header bytes counted by the stream channel packet size.
pub const IP_UDP_HEADER_LEN: usize = 28;

/// Largest packet id a standard (non-extended) GVSP header can carry.
const MAX_STANDARD_PACKET_ID: u64 = 0x00FF_FFFF;

/// When and how much to ask the camera to resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResendConfig {
    /// Send PACKETRESEND requests at all.
    pub enabled: bool,
    /// Wait this long after a gap appears (or the frame goes quiet before its
    /// trailer) before the first request, to let reordered packets arrive.
    pub initial_delay: Duration,
    /// Time between request rounds for the same frame, and how long to wait
    /// for answers after the last round before giving the frame up.
    pub retry_interval: Duration,
    /// Per-frame budget: request rounds.
    pub max_rounds: u32,
    /// Per-frame budget: packet ids requested over all rounds.
    pub max_packets_per_frame: u32,
    /// Ranges (requests) sent per round; further gaps wait for the next round.
    pub max_ranges_per_round: u32,
}

impl Default for ResendConfig {
    fn default() -> Self {
        ResendConfig {
            enabled: true,
            initial_delay: Duration::from_millis(2),
            retry_interval: Duration::from_millis(10),
            max_rounds: 4,
            max_packets_per_frame: 4096,
            max_ranges_per_round: 32,
        }
    }
}

/// Everything the reassembler needs to know about one camera's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Camera number carried into every frame's info.
    pub camera: u32,
    /// Largest block payload in bytes (the camera's PayloadSize); slots are at least this long.
    pub payload_size: usize,
    /// Data bytes per payload packet (packet size minus IP, UDP and GVSP headers).
    pub packet_payload_size: usize,
    /// Frames reassembled at once; a new block beyond this evicts the oldest as incomplete.
    pub max_in_flight: usize,
    /// A frame that receives nothing for this long is finished as incomplete.
    pub frame_timeout: Duration,
    /// Resend policy.
    pub resend: ResendConfig,
    /// Deliver incomplete frames (flagged) instead of returning their slots at once.
    pub deliver_incomplete: bool,
    /// Mark frames as captured with PTP-disciplined camera timestamps (placeholder for the sync layer).
    pub ptp: bool,
}

impl StreamConfig {
    /// A config with default timeouts and resend policy.
    pub fn new(camera: u32, payload_size: usize, packet_payload_size: usize) -> Self {
        StreamConfig {
            camera,
            payload_size,
            packet_payload_size,
            max_in_flight: 4,
            frame_timeout: Duration::from_millis(100),
            resend: ResendConfig::default(),
            deliver_incomplete: true,
            ptp: false,
        }
    }

    /// A config from the stream channel packet size register (GevSCPSPacketSize,
    /// which counts IP, UDP and GVSP headers) and the id mode.
    pub fn from_packet_size(
        camera: u32,
        payload_size: usize,
        scps_packet_size: u32,
        extended_ids: bool,
    ) -> Result<Self, StreamError> {
        let gvsp = if extended_ids {
            crate::wire::gvsp::HEADER_LEN_EXTENDED
        } else {
            crate::wire::gvsp::HEADER_LEN
        };
        let overhead = IP_UDP_HEADER_LEN + gvsp;
        let packet_payload_size = (scps_packet_size as usize)
            .checked_sub(overhead)
            .filter(|n| *n > 0)
            .ok_or(StreamError::InvalidConfig(
                "stream packet size is not larger than the IP, UDP and GVSP headers; \
                 set GevSCPSPacketSize to the path MTU (e.g. 1500 or 9000)",
            ))?;
        let config = StreamConfig::new(camera, payload_size, packet_payload_size);
        config.validate()?;
        Ok(config)
    }

    /// Payload packets of the largest block: `ceil(payload_size / packet_payload_size)`.
    pub fn max_data_packets(&self) -> u32 {
        if self.packet_payload_size == 0 {
            return 0;
        }
        u32::try_from(self.payload_size.div_ceil(self.packet_payload_size)).unwrap_or(u32::MAX)
    }

    /// Checks the invariants in the module docs.
    pub fn validate(&self) -> Result<(), StreamError> {
        if self.payload_size == 0 {
            return Err(StreamError::InvalidConfig(
                "payload size is 0; read the camera's PayloadSize after setting the image format",
            ));
        }
        if self.packet_payload_size == 0 {
            return Err(StreamError::InvalidConfig(
                "packet payload size is 0; derive it from GevSCPSPacketSize minus the headers",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(StreamError::InvalidConfig(
                "max_in_flight is 0; allow at least one frame in flight",
            ));
        }
        let packets = (self.payload_size.div_ceil(self.packet_payload_size) as u64) + 2;
        if packets > MAX_STANDARD_PACKET_ID {
            return Err(StreamError::InvalidConfig(
                "a block needs more packet ids than 24 bits hold; raise the packet size",
            ));
        }
        if self.resend.enabled && self.resend.max_ranges_per_round == 0 {
            return Err(StreamError::InvalidConfig(
                "resend enabled with max_ranges_per_round 0; allow at least one range or disable resends",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_size_register_to_payload_per_packet() {
        let standard = StreamConfig::from_packet_size(0, 1_000_000, 1500, false).unwrap();
        assert_eq!(standard.packet_payload_size, 1464);
        assert_eq!(standard.max_data_packets(), 684);
        let extended = StreamConfig::from_packet_size(0, 1_000_000, 9000, true).unwrap();
        assert_eq!(extended.packet_payload_size, 8952);
        assert!(StreamConfig::from_packet_size(0, 100, 36, false).is_err());
    }

    #[test]
    fn validate_rejects_unusable_geometry() {
        assert!(StreamConfig::new(0, 0, 100).validate().is_err());
        assert!(StreamConfig::new(0, 100, 0).validate().is_err());
        assert!(StreamConfig::new(0, 1 << 30, 8).validate().is_err());
        let mut config = StreamConfig::new(0, 1000, 100);
        assert!(config.validate().is_ok());
        config.max_in_flight = 0;
        assert!(config.validate().is_err());
    }
}
