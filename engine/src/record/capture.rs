//! Recording what a capture delivers: a frame ring's [`Frame`] is itself a
//! [`FramePayload`], and its [`FrameInfo`] becomes the record's metadata.
//!
//! Invariants:
//! - the payload of a captured frame is its whole slot (payload first), so a
//!   slot that is 4096-aligned and a multiple of 4096 bytes long (what
//!   `CaptureSession` allocates) is written without a copy; the slot goes back
//!   to its ring when the writer drops the frame after the write;
//! - the recorded payload size never exceeds the slot; an incomplete frame is
//!   recorded at its full image size (the missing packets' bytes are stale,
//!   and the record says so with its `incomplete` flag).

use crate::stream::{self, Frame, FrameInfo};

use super::buffer::FramePayload;
use super::format::TimestampSource;
use super::writer::{CameraInfo, FrameFlags, FrameMeta, RecordFrame};

impl FramePayload for Frame {
    fn bytes(&self) -> &[u8] {
        self.slot().as_ref()
    }
}

/// The recorded clock of a capture's receive stamp.
pub fn timestamp_source(source: stream::TimestampSource) -> TimestampSource {
    match source {
        stream::TimestampSource::None => TimestampSource::Unknown,
        stream::TimestampSource::Hardware => TimestampSource::Hardware,
        // The XDP program and the socket path both read CLOCK_TAI.
        stream::TimestampSource::Kernel | stream::TimestampSource::UserTai => TimestampSource::Tai,
    }
}

impl FrameMeta {
    /// The metadata of a captured frame whose slot is `slot_len` bytes long;
    /// `nominal` (the camera as the recorder knows it) fills in what a frame
    /// without an image leader lacks.
    pub fn from_capture(info: &FrameInfo, nominal: &CameraInfo, slot_len: usize) -> FrameMeta {
        let (pixel_format, width, height) = match &info.image {
            Some(leader) => (leader.pixel_format, leader.size_x, leader.size_y),
            None => (nominal.pixel_format, nominal.width, nominal.height),
        };
        let mut payload = info.len as u64;
        if info.is_incomplete() {
            let full = info
                .image
                .and_then(|l| l.pixel_format.image_size(l.size_x, l.size_y))
                .unwrap_or(nominal.payload_size);
            payload = payload.max(full);
        }
        FrameMeta {
            camera: u16::try_from(info.camera).unwrap_or(u16::MAX),
            block_id: info.block_id,
            camera_timestamp: info.camera_timestamp.unwrap_or(0),
            receive_timestamp_ns: info.first_rx.ns,
            timestamp_source: timestamp_source(info.first_rx.source),
            pixel_format,
            width,
            height,
            payload_size: payload.min(slot_len as u64),
            flags: FrameFlags {
                incomplete: info.is_incomplete(),
                started_with_ptp: info.flags.contains(stream::FrameFlags::PTP),
                resent: info.flags.contains(stream::FrameFlags::RESENT),
            },
        }
    }
}

impl RecordFrame<Frame> {
    /// A captured frame ready for [`super::RecorderHandle::offer`], its slot as the payload.
    pub fn from_capture(frame: Frame, nominal: &CameraInfo) -> RecordFrame<Frame> {
        let meta = FrameMeta::from_capture(&frame.info, nominal, frame.slot().as_ref().len());
        RecordFrame {
            meta,
            payload: frame,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{CameraIdentity, RecorderConfig, RecordingReader};
    use crate::stream::{CompletedFrame, FrameRing, HugePages, RingConfig, RxTimestamp, SlotPool};
    use crate::wire::gvsp::{ImageLeader, PixelFormat};

    fn camera(payload: u64) -> CameraInfo {
        CameraInfo {
            identity: CameraIdentity {
                vendor: "v".into(),
                model: "m".into(),
                serial: "S1".into(),
                user_name: String::new(),
            },
            pixel_format: PixelFormat::MONO8,
            width: 100,
            height: 50,
            payload_size: payload,
            timestamp_frequency_hz: 1_000_000_000,
            block_id_bits: 16,
        }
    }

    fn leader(width: u32, height: u32) -> ImageLeader {
        ImageLeader {
            field_info: 0,
            chunk: false,
            timestamp: 77,
            pixel_format: PixelFormat::MONO8,
            size_x: width,
            size_y: height,
            offset_x: 0,
            offset_y: 0,
            padding_x: 0,
            padding_y: 0,
        }
    }

    /// Publishes one frame of `len` bytes (byte i = i * 3 + block) into a
    /// ring of `slot_size`-byte slots and takes it out again.
    fn captured(slot_size: usize, len: usize, block_id: u64, incomplete: bool) -> Frame {
        let mut config = RingConfig::new(2, slot_size);
        config.huge_pages = HugePages::Never;
        let (mut producer, receiver) = FrameRing::create(config).unwrap();
        let mut slot = producer.acquire().unwrap();
        for (i, b) in slot.as_mut()[..len].iter_mut().enumerate() {
            *b = (i * 3) as u8 ^ block_id as u8;
        }
        let mut info = FrameInfo::empty(0);
        info.block_id = block_id;
        info.len = len;
        info.camera_timestamp = Some(77);
        info.image = Some(leader(100, 50));
        info.first_rx = RxTimestamp::new(123, stream::TimestampSource::UserTai);
        if incomplete {
            info.flags.insert(stream::FrameFlags::INCOMPLETE);
        }
        assert!(producer.publish(CompletedFrame { info, slot }));
        receiver.try_recv().unwrap()
    }

    #[test]
    fn metadata_comes_from_the_leader_and_incomplete_frames_keep_their_size() {
        let nominal = camera(5000);
        let frame = captured(8192, 5000, 9, false);
        let meta = FrameMeta::from_capture(&frame.info, &nominal, 8192);
        assert_eq!(meta.payload_size, 5000);
        assert_eq!(meta.camera_timestamp, 77);
        assert_eq!(meta.receive_timestamp_ns, 123);
        assert_eq!(meta.timestamp_source, TimestampSource::Tai);
        assert_eq!((meta.width, meta.height), (100, 50));
        assert!(!meta.flags.incomplete);
        // Packets missing at the end: recorded at the image size, flagged.
        let frame = captured(8192, 1200, 10, true);
        let meta = FrameMeta::from_capture(&frame.info, &nominal, 8192);
        assert_eq!(meta.payload_size, 5000);
        assert!(meta.flags.incomplete);
        // Never beyond the slot.
        let meta = FrameMeta::from_capture(&frame.info, &nominal, 4096);
        assert_eq!(meta.payload_size, 4096);
    }

    /// Ring slots padded to 4096 bytes go to disk without a copy; unpadded
    /// ones are copied; both read back byte for byte.
    #[test]
    fn padded_slots_are_written_without_a_copy() {
        for (slot_size, copies) in [(8192, 0), (5000, 3)] {
            let dir = tempfile::tempdir().unwrap();
            let nominal = camera(5000);
            let recorder = crate::record::Recorder::<Frame>::start(
                RecorderConfig::new(vec![dir.path().to_path_buf()]),
                vec![nominal.clone()],
            )
            .unwrap();
            for block in 1..=3 {
                let frame = captured(slot_size, 5000, block, false);
                let offered = recorder.offer(RecordFrame::from_capture(frame, &nominal));
                assert_eq!(offered, crate::record::Offer::Queued);
            }
            let summary = recorder.stop();
            assert!(summary.error.is_none(), "{:?}", summary.error);
            assert_eq!(summary.copied, copies, "slot size {slot_size}");
            assert_eq!(summary.frames(), 3);
            let path = &summary.cameras[0].files[0];
            let mut reader = RecordingReader::open(path).unwrap();
            let frames: Vec<_> = reader.frames().map(|f| f.unwrap()).collect();
            assert_eq!(frames.len(), 3);
            for (f, block) in frames.iter().zip(1u64..) {
                assert_eq!(f.header.block_id, block);
                assert_eq!(f.payload.len(), 5000);
                for (i, &b) in f.payload.iter().enumerate() {
                    assert_eq!(b, (i * 3) as u8 ^ block as u8, "block {block} byte {i}");
                }
            }
        }
    }
}
