//! The few bootstrap registers the client itself touches.

/// Control Channel Privilege register.
pub(crate) const CCP: u32 = 0x0A00;
/// CCP bit: exclusive access.
pub(crate) const CCP_EXCLUSIVE: u32 = 1 << 0;
/// CCP bit: control access.
pub(crate) const CCP_CONTROL: u32 = 1 << 1;
/// Heartbeat timeout in milliseconds.
pub(crate) const HEARTBEAT_TIMEOUT: u32 = 0x0938;
