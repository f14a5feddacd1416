//! The GigE Vision 2.x bootstrap register map: addresses, sizes and bit fields.
//!
//! Invariants: every address is a byte address on the device, 32-bit aligned;
//! multi-byte registers are big-endian; bit constants are masks on the 32-bit
//! register value (the specification numbers bits from the MSB, these masks do
//! not). Values follow the register table of wireshark's GVCP dissector and
//! Aravis's `arvgvcpprivate.h`.

/// Specification version: major in the high 16 bits, minor in the low 16.
pub const VERSION: u32 = 0x0000;
/// Device mode: endianness, device class, link configuration, character set.
pub const DEVICE_MODE: u32 = 0x0004;
/// Device mode: set when the device's registers are big-endian.
pub const DEVICE_MODE_BIG_ENDIAN: u32 = 0x8000_0000;
/// Device mode: device class field (0 transmitter, 1 receiver, 2 transceiver, 3 peripheral).
pub const DEVICE_MODE_CLASS_MASK: u32 = 0x7000_0000;
/// MAC address of interface 0, upper 2 bytes (in the low 16 bits).
pub const MAC_HIGH: u32 = 0x0008;
/// MAC address of interface 0, lower 4 bytes.
pub const MAC_LOW: u32 = 0x000C;
/// Network interface capability: IP configuration schemes the device supports.
pub const NETWORK_INTERFACE_CAPABILITY: u32 = 0x0010;
/// Network interface configuration: IP configuration schemes enabled.
pub const NETWORK_INTERFACE_CONFIGURATION: u32 = 0x0014;
/// IP configuration bit: persistent (static) IP.
pub const IP_CONFIG_PERSISTENT: u32 = 0x0000_0001;
/// IP configuration bit: DHCP.
pub const IP_CONFIG_DHCP: u32 = 0x0000_0002;
/// IP configuration bit: link-local address (169.254.0.0/16).
pub const IP_CONFIG_LLA: u32 = 0x0000_0004;
/// Current IP address of interface 0.
pub const CURRENT_IP: u32 = 0x0024;
/// Current subnet mask of interface 0.
pub const CURRENT_SUBNET_MASK: u32 = 0x0034;
/// Current default gateway of interface 0.
pub const CURRENT_GATEWAY: u32 = 0x0044;
/// Manufacturer name string.
pub const MANUFACTURER_NAME: u32 = 0x0048;
/// Length of the manufacturer name string.
pub const MANUFACTURER_NAME_LEN: usize = 32;
/// Model name string.
pub const MODEL_NAME: u32 = 0x0068;
/// Length of the model name string.
pub const MODEL_NAME_LEN: usize = 32;
/// Device version string.
pub const DEVICE_VERSION: u32 = 0x0088;
/// Length of the device version string.
pub const DEVICE_VERSION_LEN: usize = 32;
/// Manufacturer-specific information string.
pub const MANUFACTURER_INFO: u32 = 0x00A8;
/// Length of the manufacturer information string.
pub const MANUFACTURER_INFO_LEN: usize = 48;
/// Serial number string.
pub const SERIAL_NUMBER: u32 = 0x00D8;
/// Length of the serial number string.
pub const SERIAL_NUMBER_LEN: usize = 16;
/// User-defined name string (writable).
pub const USER_DEFINED_NAME: u32 = 0x00E8;
/// Length of the user-defined name string.
pub const USER_DEFINED_NAME_LEN: usize = 16;
/// First-choice URL of the device's GenICam XML ("Local:", "http:", "file:").
pub const FIRST_URL: u32 = 0x0200;
/// Second-choice URL of the device's GenICam XML.
pub const SECOND_URL: u32 = 0x0400;
/// Length of each URL string.
pub const URL_LEN: usize = 512;
/// Number of network interfaces.
pub const NUMBER_OF_NETWORK_INTERFACES: u32 = 0x0600;
/// Persistent IP address of interface 0.
pub const PERSISTENT_IP: u32 = 0x064C;
/// Persistent subnet mask of interface 0.
pub const PERSISTENT_SUBNET_MASK: u32 = 0x065C;
/// Persistent default gateway of interface 0.
pub const PERSISTENT_GATEWAY: u32 = 0x066C;
/// Link speed of interface 0, in Mbit/s.
pub const LINK_SPEED: u32 = 0x0670;
/// Number of message channels (0 or 1).
pub const NUMBER_OF_MESSAGE_CHANNELS: u32 = 0x0900;
/// Number of stream channels.
pub const NUMBER_OF_STREAM_CHANNELS: u32 = 0x0904;
/// Number of action signals the device supports.
pub const NUMBER_OF_ACTION_SIGNALS: u32 = 0x0908;
/// Action device key (write-only); ACTION commands must carry this key.
pub const ACTION_DEVICE_KEY: u32 = 0x090C;
/// Number of active links.
pub const NUMBER_OF_ACTIVE_LINKS: u32 = 0x0910;
/// GVSP capability.
pub const GVSP_CAPABILITY: u32 = 0x092C;
/// GVSP capability bit: the SCSPx (source port) registers exist.
pub const GVSP_CAPABILITY_SCSP: u32 = 0x8000_0000;
/// GVSP capability bit: 16-bit block ids are supported (legacy mode).
pub const GVSP_CAPABILITY_LEGACY_16BIT_BLOCK_ID: u32 = 0x4000_0000;
/// Message channel capability.
pub const MESSAGE_CHANNEL_CAPABILITY: u32 = 0x0930;
/// Message channel capability bit: the MCSP (source port) register exists.
pub const MESSAGE_CHANNEL_CAPABILITY_MCSP: u32 = 0x8000_0000;
/// GVCP capability: which optional commands and registers the device supports.
pub const GVCP_CAPABILITY: u32 = 0x0934;

/// Bits of the GVCP capability register.
pub mod gvcp_capability {
    /// User-defined name register supported.
    pub const USER_DEFINED_NAME: u32 = 1 << 31;
    /// Serial number register supported.
    pub const SERIAL_NUMBER: u32 = 1 << 30;
    /// Heartbeat can be disabled.
    pub const HEARTBEAT_DISABLE: u32 = 1 << 29;
    /// Link speed registers supported.
    pub const LINK_SPEED: u32 = 1 << 28;
    /// CCP application port and IP registers supported.
    pub const CCP_APPLICATION_PORT_IP: u32 = 1 << 27;
    /// Manifest table supported.
    pub const MANIFEST_TABLE: u32 = 1 << 26;
    /// Test data in test packets supported.
    pub const TEST_DATA: u32 = 1 << 25;
    /// Discovery acknowledge delay register supported.
    pub const DISCOVERY_ACK_DELAY: u32 = 1 << 24;
    /// Discovery acknowledge delay register is writable.
    pub const DISCOVERY_ACK_DELAY_WRITABLE: u32 = 1 << 23;
    /// Extended status codes of version 1.1 supported.
    pub const EXTENDED_STATUS_CODES_1_1: u32 = 1 << 22;
    /// Primary application switchover supported.
    pub const PRIMARY_APPLICATION_SWITCHOVER: u32 = 1 << 21;
    /// Unconditional ACTION (without control privilege) supported.
    pub const UNCONDITIONAL_ACTION: u32 = 1 << 20;
    /// IEEE 1588 (PTP) supported.
    pub const IEEE1588: u32 = 1 << 19;
    /// Extended status codes of version 2.0 supported.
    pub const EXTENDED_STATUS_CODES_2_0: u32 = 1 << 18;
    /// Scheduled ACTION commands supported.
    pub const SCHEDULED_ACTION: u32 = 1 << 17;
    /// IEEE 1588 extended capabilities register present.
    pub const IEEE1588_EXTENDED_CAPABILITIES: u32 = 1 << 16;
    /// ACTION command supported.
    pub const ACTION: u32 = 1 << 6;
    /// PENDING_ACK supported.
    pub const PENDING_ACK: u32 = 1 << 5;
    /// EVENTDATA supported.
    pub const EVENT_DATA: u32 = 1 << 4;
    /// EVENT supported.
    pub const EVENT: u32 = 1 << 3;
    /// PACKETRESEND supported.
    pub const PACKET_RESEND: u32 = 1 << 2;
    /// WRITEMEM supported.
    pub const WRITEMEM: u32 = 1 << 1;
    /// Several operations in one READREG/WRITEREG (concatenation) supported.
    pub const CONCATENATION: u32 = 1 << 0;
}

/// Heartbeat timeout in milliseconds.
pub const HEARTBEAT_TIMEOUT: u32 = 0x0938;
/// Timestamp tick frequency in Hz, upper 32 bits.
pub const TIMESTAMP_TICK_FREQUENCY_HIGH: u32 = 0x093C;
/// Timestamp tick frequency in Hz, lower 32 bits.
pub const TIMESTAMP_TICK_FREQUENCY_LOW: u32 = 0x0940;
/// Timestamp control (write-only): reset and latch bits.
pub const TIMESTAMP_CONTROL: u32 = 0x0944;
/// Timestamp control bit: reset the timestamp counter to 0.
pub const TIMESTAMP_CONTROL_RESET: u32 = 0x0000_0001;
/// Timestamp control bit: latch the counter into TIMESTAMP_VALUE_HIGH/LOW.
pub const TIMESTAMP_CONTROL_LATCH: u32 = 0x0000_0002;
/// Latched timestamp value, upper 32 bits.
pub const TIMESTAMP_VALUE_HIGH: u32 = 0x0948;
/// Latched timestamp value, lower 32 bits.
pub const TIMESTAMP_VALUE_LOW: u32 = 0x094C;
/// Discovery acknowledge delay in milliseconds.
pub const DISCOVERY_ACK_DELAY: u32 = 0x0950;
/// GVCP configuration.
pub const GVCP_CONFIGURATION: u32 = 0x0954;
/// GVCP configuration bit: heartbeat disabled.
pub const GVCP_CONFIGURATION_HEARTBEAT_DISABLE: u32 = 0x0000_0001;
/// GVCP configuration bit: the device may send PENDING_ACK.
pub const GVCP_CONFIGURATION_PENDING_ACK_ENABLE: u32 = 0x0000_0002;
/// GVCP configuration bit: extended status codes of version 1.1 enabled.
pub const GVCP_CONFIGURATION_EXTENDED_STATUS_1_1: u32 = 0x0000_0004;
/// GVCP configuration bit: unconditional ACTION enabled.
pub const GVCP_CONFIGURATION_UNCONDITIONAL_ACTION: u32 = 0x0000_0008;
/// GVCP configuration bit: extended status codes of version 2.0 enabled.
pub const GVCP_CONFIGURATION_EXTENDED_STATUS_2_0: u32 = 0x0004_0000;
/// GVCP configuration bit: IEEE 1588 (PTP) enabled.
pub const GVCP_CONFIGURATION_IEEE1588_ENABLE: u32 = 0x0008_0000;
/// Pending timeout: longest command execution time, in milliseconds.
pub const PENDING_TIMEOUT: u32 = 0x0958;
/// Control switchover key (write-only).
pub const CONTROL_SWITCHOVER_KEY: u32 = 0x095C;
/// GVSP configuration.
pub const GVSP_CONFIGURATION: u32 = 0x0960;
/// GVSP configuration bit: 64-bit block ids and 32-bit packet ids (extended ids) enabled.
pub const GVSP_CONFIGURATION_64BIT_BLOCK_ID: u32 = 0x4000_0000;
/// Physical link configuration capability.
pub const PHYSICAL_LINK_CAPABILITY: u32 = 0x0964;
/// Physical link configuration.
pub const PHYSICAL_LINK_CONFIGURATION: u32 = 0x0968;
/// IEEE 1588 status: PTP port state in the low 4 bits.
pub const IEEE1588_STATUS: u32 = 0x096C;
/// IEEE 1588 status: mask of the port state field.
pub const IEEE1588_STATUS_STATE_MASK: u32 = 0x0000_000F;
/// Number of scheduled ACTION commands the device can queue.
pub const SCHEDULED_ACTION_QUEUE_SIZE: u32 = 0x0970;
/// Control channel privilege (CCP).
pub const CCP: u32 = 0x0A00;
/// CCP bit: exclusive access (no other application may even read).
pub const CCP_EXCLUSIVE: u32 = 0x0000_0001;
/// CCP bit: control access (others may still monitor).
pub const CCP_CONTROL: u32 = 0x0000_0002;
/// CCP bit: switchover enabled (another application may take control with the key).
pub const CCP_SWITCHOVER_ENABLE: u32 = 0x0000_0004;
/// CCP field: switchover key, in the upper 16 bits.
pub const CCP_SWITCHOVER_KEY_MASK: u32 = 0xFFFF_0000;
/// Primary application UDP source port.
pub const PRIMARY_APPLICATION_PORT: u32 = 0x0A04;
/// Primary application IP address.
pub const PRIMARY_APPLICATION_IP: u32 = 0x0A14;
/// Message channel port (MCP): host port in the low 16 bits.
pub const MCP: u32 = 0x0B00;
/// Message channel destination address (MCDA).
pub const MCDA: u32 = 0x0B10;
/// Message channel transmission timeout in milliseconds (MCTT).
pub const MCTT: u32 = 0x0B14;
/// Message channel retry count (MCRC).
pub const MCRC: u32 = 0x0B18;
/// Message channel source port (MCSP).
pub const MCSP: u32 = 0x0B1C;

/// Address of stream channel 0's block; channel `n` starts `n * STREAM_CHANNEL_STRIDE` later.
pub const STREAM_CHANNEL_BASE: u32 = 0x0D00;
/// Distance between two stream channels' register blocks.
pub const STREAM_CHANNEL_STRIDE: u32 = 0x40;
/// Largest stream channel index the map allows (512 channels).
pub const MAX_STREAM_CHANNEL: u16 = 511;

/// Register offsets inside one stream channel block (see [`stream_channel`]).
pub mod sc {
    /// SCPx: stream channel port; host port in the low 16 bits.
    pub const PORT: u32 = 0x00;
    /// SCPSx: stream channel packet size and flags.
    pub const PACKET_SIZE: u32 = 0x04;
    /// SCPDx: inter-packet delay in timestamp ticks.
    pub const PACKET_DELAY: u32 = 0x08;
    /// SCDAx: destination IP address.
    pub const DESTINATION_ADDRESS: u32 = 0x18;
    /// SCSPx: source UDP port of the stream.
    pub const SOURCE_PORT: u32 = 0x1C;
    /// SCCx: stream channel capability.
    pub const CAPABILITY: u32 = 0x20;
    /// SCCFGx: stream channel configuration.
    pub const CONFIGURATION: u32 = 0x24;
    /// SCZx: number of additional zones.
    pub const ZONE: u32 = 0x28;
    /// SCZDx: zone directions.
    pub const ZONE_DIRECTION: u32 = 0x2C;

    /// SCPx bit: the channel is a receiver (clear: transmitter).
    pub const PORT_DIRECTION_RECEIVER: u32 = 0x8000_0000;
    /// SCPx field: network interface index.
    pub const PORT_INTERFACE_MASK: u32 = 0x000F_0000;
    /// SCPx field: host UDP port.
    pub const PORT_HOST_PORT_MASK: u32 = 0x0000_FFFF;

    /// SCPSx bit: write 1 to make the device send one test packet of the configured size.
    pub const PACKET_SIZE_FIRE_TEST_PACKET: u32 = 0x8000_0000;
    /// SCPSx bit: set the IP "do not fragment" flag on stream packets.
    pub const PACKET_SIZE_DO_NOT_FRAGMENT: u32 = 0x4000_0000;
    /// SCPSx bit: pixel data is big-endian.
    pub const PACKET_SIZE_BIG_ENDIAN: u32 = 0x2000_0000;
    /// SCPSx field: packet size in bytes (IP header included).
    pub const PACKET_SIZE_MASK: u32 = 0x0000_FFFF;

    /// SCCx bit: big and little endian pixel data supported.
    pub const CAPABILITY_BIG_LITTLE_ENDIAN: u32 = 0x8000_0000;
    /// SCCx bit: IP reassembly supported.
    pub const CAPABILITY_IP_REASSEMBLY: u32 = 0x4000_0000;
    /// SCCx bit: multi-part payload supported.
    pub const CAPABILITY_MULTI_PART: u32 = 0x0000_0040;
    /// SCCx bit: large leader and trailer supported.
    pub const CAPABILITY_LARGE_LEADER_TRAILER: u32 = 0x0000_0020;
    /// SCCx bit: multi-zone supported.
    pub const CAPABILITY_MULTI_ZONE: u32 = 0x0000_0010;
    /// SCCx bit: resend destination option supported.
    pub const CAPABILITY_RESEND_DESTINATION: u32 = 0x0000_0008;
    /// SCCx bit: resending packets still in transmission supported.
    pub const CAPABILITY_ALL_IN_TRANSMISSION: u32 = 0x0000_0004;
    /// SCCx bit: unconditional streaming supported.
    pub const CAPABILITY_UNCONDITIONAL_STREAMING: u32 = 0x0000_0002;
    /// SCCx bit: extended chunk data supported.
    pub const CAPABILITY_EXTENDED_CHUNK_DATA: u32 = 0x0000_0001;

    /// SCCFGx bit: multi-part payload enabled.
    pub const CONFIGURATION_MULTI_PART: u32 = 0x0000_0040;
    /// SCCFGx bit: large leader and trailer enabled.
    pub const CONFIGURATION_LARGE_LEADER_TRAILER: u32 = 0x0000_0020;
    /// SCCFGx bit: resend destination option enabled.
    pub const CONFIGURATION_RESEND_DESTINATION: u32 = 0x0000_0008;
    /// SCCFGx bit: resending packets still in transmission enabled.
    pub const CONFIGURATION_ALL_IN_TRANSMISSION: u32 = 0x0000_0004;
    /// SCCFGx bit: unconditional streaming enabled.
    pub const CONFIGURATION_UNCONDITIONAL_STREAMING: u32 = 0x0000_0002;
    /// SCCFGx bit: extended chunk data enabled.
    pub const CONFIGURATION_EXTENDED_CHUNK_DATA: u32 = 0x0000_0001;
}

/// Address of register `reg` (an offset from [`sc`]) of stream channel `channel`.
pub const fn stream_channel(channel: u16, reg: u32) -> u32 {
    STREAM_CHANNEL_BASE + STREAM_CHANNEL_STRIDE * channel as u32 + reg
}

/// Manifest table (GigE Vision 2.0): list of XML files the device offers.
pub const MANIFEST_TABLE: u32 = 0x9000;
/// Address of action group 0's key; group `n` is `ACTION_GROUP_STRIDE * n` later.
pub const ACTION_GROUP_BASE: u32 = 0x9800;
/// Distance between two action groups' registers.
pub const ACTION_GROUP_STRIDE: u32 = 0x10;

/// Address of ACTION_GROUP_KEY `group`.
pub const fn action_group_key(group: u16) -> u32 {
    ACTION_GROUP_BASE + ACTION_GROUP_STRIDE * group as u32
}

/// Address of ACTION_GROUP_MASK `group`.
pub const fn action_group_mask(group: u16) -> u32 {
    ACTION_GROUP_BASE + 4 + ACTION_GROUP_STRIDE * group as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_channel_registers_follow_the_0x40_stride() {
        assert_eq!(stream_channel(0, sc::PORT), 0x0D00);
        assert_eq!(stream_channel(0, sc::PACKET_SIZE), 0x0D04);
        assert_eq!(stream_channel(0, sc::PACKET_DELAY), 0x0D08);
        assert_eq!(stream_channel(0, sc::DESTINATION_ADDRESS), 0x0D18);
        assert_eq!(stream_channel(0, sc::SOURCE_PORT), 0x0D1C);
        assert_eq!(stream_channel(0, sc::CAPABILITY), 0x0D20);
        assert_eq!(stream_channel(0, sc::CONFIGURATION), 0x0D24);
        assert_eq!(stream_channel(1, sc::PORT), 0x0D40);
        assert_eq!(stream_channel(3, sc::DESTINATION_ADDRESS), 0x0DD8);
        // The largest channel still fits below the manifest table.
        assert!(stream_channel(MAX_STREAM_CHANNEL, sc::ZONE_DIRECTION) < MANIFEST_TABLE);
    }

    #[test]
    fn action_groups_follow_the_0x10_stride() {
        assert_eq!(action_group_key(0), 0x9800);
        assert_eq!(action_group_mask(0), 0x9804);
        assert_eq!(action_group_key(9), 0x9890);
        assert_eq!(action_group_mask(9), 0x9894);
        // The widest index does not overflow the 32-bit address space.
        assert_eq!(action_group_mask(u16::MAX), 0x9804 + 0x10 * 0xFFFF);
    }

    #[test]
    fn discovery_strings_tile_the_first_248_bytes() {
        let fields = [
            (MANUFACTURER_NAME, MANUFACTURER_NAME_LEN),
            (MODEL_NAME, MODEL_NAME_LEN),
            (DEVICE_VERSION, DEVICE_VERSION_LEN),
            (MANUFACTURER_INFO, MANUFACTURER_INFO_LEN),
            (SERIAL_NUMBER, SERIAL_NUMBER_LEN),
            (USER_DEFINED_NAME, USER_DEFINED_NAME_LEN),
        ];
        for pair in fields.windows(2) {
            assert_eq!(pair[0].0 + pair[0].1 as u32, pair[1].0);
        }
        assert_eq!(USER_DEFINED_NAME + USER_DEFINED_NAME_LEN as u32, 0xF8);
        assert_eq!(FIRST_URL + URL_LEN as u32, SECOND_URL);
    }

    #[test]
    fn ccp_bits_are_distinct() {
        assert_eq!(CCP_EXCLUSIVE & CCP_CONTROL, 0);
        assert_eq!(
            (CCP_EXCLUSIVE | CCP_CONTROL | CCP_SWITCHOVER_ENABLE) & CCP_SWITCHOVER_KEY_MASK,
            0
        );
        assert_eq!(sc::PACKET_SIZE_MASK & sc::PACKET_SIZE_FIRE_TEST_PACKET, 0);
    }
}
