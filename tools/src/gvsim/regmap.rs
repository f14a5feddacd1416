//! gvsim's device-specific register map: where each feature of its GenICam
//! XML lives (the bootstrap registers are in `gvcap::wire::bootstrap`).
//!
//! Invariants: every register is 4-byte aligned; 8-byte registers are
//! big-endian pairs (high word first) whose halves are also addressable;
//! these addresses and the ones in `gvsim.xml` are the same (a test reads
//! every feature of the XML through the device to prove it).

/// First address of the feature registers.
pub const FEATURE_BASE: u32 = 0x0001_0000;
/// One past the last feature register.
pub const FEATURE_END: u32 = 0x0001_0108;

/// SensorWidth (RO).
pub const SENSOR_WIDTH: u32 = 0x0001_0000;
/// SensorHeight (RO).
pub const SENSOR_HEIGHT: u32 = 0x0001_0004;
/// Width (RW).
pub const WIDTH: u32 = 0x0001_0008;
/// Height (RW).
pub const HEIGHT: u32 = 0x0001_000C;
/// OffsetX (RW).
pub const OFFSET_X: u32 = 0x0001_0010;
/// OffsetY (RW).
pub const OFFSET_Y: u32 = 0x0001_0014;
/// PixelFormat (RW, PFNC code).
pub const PIXEL_FORMAT: u32 = 0x0001_0018;
/// PayloadSize (RO).
pub const PAYLOAD_SIZE: u32 = 0x0001_001C;
/// Largest Width at the current OffsetX (RO).
pub const WIDTH_MAX: u32 = 0x0001_0020;
/// Largest Height at the current OffsetY (RO).
pub const HEIGHT_MAX: u32 = 0x0001_0024;
/// Largest OffsetX at the current Width (RO).
pub const OFFSET_X_MAX: u32 = 0x0001_0028;
/// Largest OffsetY at the current Height (RO).
pub const OFFSET_Y_MAX: u32 = 0x0001_002C;

/// AcquisitionMode (RW: 0 Continuous, 1 SingleFrame, 2 MultiFrame).
pub const ACQUISITION_MODE: u32 = 0x0001_0040;
/// AcquisitionFrameCount (RW).
pub const ACQUISITION_FRAME_COUNT: u32 = 0x0001_0044;
/// AcquisitionFrameRate (RW, IEEE-754 float32, Hz).
pub const ACQUISITION_FRAME_RATE: u32 = 0x0001_0048;
/// AcquisitionFrameRate's maximum (RO, float32, Hz).
pub const ACQUISITION_FRAME_RATE_MAX: u32 = 0x0001_004C;
/// AcquisitionStart (WO command).
pub const ACQUISITION_START: u32 = 0x0001_0050;
/// AcquisitionStop (WO command).
pub const ACQUISITION_STOP: u32 = 0x0001_0054;
/// AcquisitionStatus (RO: 1 while acquiring or armed).
pub const ACQUISITION_STATUS: u32 = 0x0001_0058;

/// TriggerSelector (RW: 0 FrameStart).
pub const TRIGGER_SELECTOR: u32 = 0x0001_0060;
/// TriggerMode (RW: 0 Off, 1 On).
pub const TRIGGER_MODE: u32 = 0x0001_0064;
/// TriggerSource (RW: 0 Software, 1 Line0, 2 Action1).
pub const TRIGGER_SOURCE: u32 = 0x0001_0068;
/// TriggerSoftware (WO command).
pub const TRIGGER_SOFTWARE: u32 = 0x0001_006C;
/// ExposureTime (RW, float32, µs).
pub const EXPOSURE_TIME: u32 = 0x0001_0070;
/// Gain (RW, float32, dB).
pub const GAIN: u32 = 0x0001_0074;

/// PtpMode (RW: 0 Off, 1 OneStep, 2 TwoStep).
pub const PTP_MODE: u32 = 0x0001_0080;
/// PtpEnable (RW: 0/1; 1 selects TwoStep when the mode was Off).
pub const PTP_ENABLE: u32 = 0x0001_0084;
/// PtpDataSetLatch (WO command): copies PtpOffset into PtpOffsetFromMaster.
pub const PTP_DATASET_LATCH: u32 = 0x0001_0088;
/// PtpOffset (RO, signed 64-bit ns, live).
pub const PTP_OFFSET: u32 = 0x0001_0090;
/// PtpOffsetFromMaster (RO, signed 64-bit ns, latched).
pub const PTP_OFFSET_FROM_MASTER: u32 = 0x0001_0098;
/// PtpAcquisitionGateTime (RW, unsigned 64-bit ns of PTP time; 0: no gate).
pub const PTP_GATE_TIME: u32 = 0x0001_00A0;

/// ActionSelector (RW: 1..=2).
pub const ACTION_SELECTOR: u32 = 0x0001_00B0;
/// ActionGroupKey of the selected action (RW).
pub const ACTION_GROUP_KEY: u32 = 0x0001_00B4;
/// ActionGroupMask of the selected action (RW).
pub const ACTION_GROUP_MASK: u32 = 0x0001_00B8;

/// GevSCPSPacketSize of stream channel 0 (RW, bytes; clamped to 576..=9000, multiple of 4).
pub const SCPS_PACKET_SIZE: u32 = 0x0001_00C0;
/// GevSCPHostPort of stream channel 0 (RW).
pub const SCP_HOST_PORT: u32 = 0x0001_00C4;
/// GevGVSPExtendedIDMode (RW: 0 Off, 1 On).
pub const EXTENDED_ID_MODE: u32 = 0x0001_00C8;
/// TLParamsLocked (RW: 0/1).
pub const TL_PARAMS_LOCKED: u32 = 0x0001_00CC;

/// UserSetSelector (RW: 0 Default, 1 UserSet1).
pub const USER_SET_SELECTOR: u32 = 0x0001_00D0;
/// UserSetLoad (WO command, slow: answered with PENDING_ACK when enabled).
pub const USER_SET_LOAD: u32 = 0x0001_00D4;
/// UserSetSave (WO command, slow).
pub const USER_SET_SAVE: u32 = 0x0001_00D8;

/// GvsimFramesStarted: frames started since power-up (RO).
pub const FRAMES_STARTED: u32 = 0x0001_00E0;
/// GvsimFramesStartedWithPtp: of those, started on PTP time while Slave (RO).
pub const FRAMES_STARTED_WITH_PTP: u32 = 0x0001_00E4;
/// GvsimFrameInfoBlockId: selects a retained frame (RW, 64-bit).
pub const FRAME_INFO_BLOCK_ID: u32 = 0x0001_00E8;
/// GvsimFrameInfoTimestamp: the selected frame's leader timestamp (RO, 64-bit).
pub const FRAME_INFO_TIMESTAMP: u32 = 0x0001_00F0;
/// GvsimFrameInfoStartedWithPtp: 1 yes, 0 no, 2 frame not retained (RO).
pub const FRAME_INFO_STARTED_WITH_PTP: u32 = 0x0001_00F8;
/// GvsimFrameInfoTrueStart: the host clock (CLOCK_REALTIME, the time ptp4l
/// serves on the rig) when the camera's clock read the selected frame's
/// timestamp: the simulation's ground truth (RO, 64-bit).
pub const FRAME_INFO_TRUE_START: u32 = 0x0001_0100;

/// Device memory holding the zipped GenICam XML (first URL).
pub const XML_ZIP_ADDRESS: u32 = 0x0010_0000;
/// Device memory holding the plain GenICam XML (second URL).
pub const XML_PLAIN_ADDRESS: u32 = 0x0020_0000;
/// Room reserved for each XML copy.
pub const XML_MAX_LEN: u32 = 0x0010_0000;

/// Number of action signals (ActionSelector 1..=this).
pub const ACTION_SIGNALS: u32 = 2;
/// Scheduled actions the device queues.
pub const SCHEDULED_ACTION_QUEUE: u32 = 16;
