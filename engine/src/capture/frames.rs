//! The consumer's end of a capture: one stream of finished frames from every
//! camera, each tagged with its camera index (`frame.info.camera`).
//!
//! Each camera has its own frame ring (its slots are sized by its own
//! PayloadSize, and its drop policy applies to it alone); [`FrameStream`]
//! takes frames from all of them, round robin, so no camera starves another.
//!
//! Invariants: a frame is handed out once; `recv*` report `Disconnected`
//! only when every camera's producer is gone and every queue is empty (after
//! `CaptureSession::stop`); taking a frame that is already queued allocates
//! nothing (only blocking waits build a `Select`).

use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, Select, TryRecvError};

use crate::stream::{Frame, FrameReceiver, RingCounters};

/// Finished frames of all cameras of a capture.
#[derive(Debug, Clone)]
pub struct FrameStream {
    receivers: Vec<FrameReceiver>,
    closed: Vec<bool>,
    next: usize,
}

impl FrameStream {
    /// A stream over per-camera receivers; receiver `i` belongs to camera `i`.
    pub fn new(receivers: Vec<FrameReceiver>) -> Self {
        let closed = vec![false; receivers.len()];
        FrameStream {
            receivers,
            closed,
            next: 0,
        }
    }

    /// Number of cameras.
    pub fn cameras(&self) -> usize {
        self.receivers.len()
    }

    /// Camera `camera`'s own receiver (its ring's counters, or to consume it alone).
    pub fn receiver(&self, camera: usize) -> Option<&FrameReceiver> {
        self.receivers.get(camera)
    }

    /// Ring counters (published, dropped because the consumer fell behind,
    /// no free slot) of every camera, by index.
    pub fn ring_counters(&self) -> Vec<RingCounters> {
        self.receivers.iter().map(FrameReceiver::counters).collect()
    }

    /// Frames queued now, over all cameras.
    pub fn queued(&self) -> usize {
        self.receivers.iter().map(FrameReceiver::queued).sum()
    }

    /// The next queued frame of any camera, without waiting.
    pub fn try_recv(&mut self) -> Result<Frame, TryRecvError> {
        let n = self.receivers.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if self.closed[i] {
                continue;
            }
            match self.receivers[i].try_recv() {
                Ok(frame) => {
                    self.next = (i + 1) % n;
                    return Ok(frame);
                }
                Err(TryRecvError::Disconnected) => self.closed[i] = true,
                Err(TryRecvError::Empty) => {}
            }
        }
        if self.closed.iter().all(|&c| c) {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Waits up to `timeout` for the next frame of any camera.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Frame, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        loop {
            match self.try_recv() {
                Ok(frame) => return Ok(frame),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            let left = match deadline {
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return Err(RecvTimeoutError::Timeout),
                },
                None => Duration::from_secs(3600),
            };
            let mut select = Select::new();
            for (i, receiver) in self.receivers.iter().enumerate() {
                if !self.closed[i] {
                    select.recv(receiver.as_crossbeam());
                }
            }
            // Ready means a frame or a disconnection; try_recv sorts out which.
            if select.ready_timeout(left).is_err() {
                return Err(RecvTimeoutError::Timeout);
            }
        }
    }

    /// Waits for the next frame; `None` once the capture has stopped and
    /// every queued frame was taken.
    pub fn recv(&mut self) -> Option<Frame> {
        loop {
            match self.recv_timeout(Duration::from_secs(3600)) {
                Ok(frame) => return Some(frame),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::{
        CompletedFrame, FrameInfo, FrameRing, HugePages, RingConfig, RxTimestamp, SlotPool,
    };

    fn ring(camera: u32) -> (crate::stream::RingProducer, FrameReceiver, u32) {
        let mut config = RingConfig::new(4, 64);
        config.huge_pages = HugePages::Never;
        let (producer, receiver) = FrameRing::create(config).unwrap();
        (producer, receiver, camera)
    }

    fn publish(producer: &mut crate::stream::RingProducer, camera: u32, block_id: u64) {
        let slot = producer.acquire().expect("free slot");
        let mut info = FrameInfo {
            camera,
            block_id,
            extended_ids: false,
            payload_type: None,
            camera_timestamp: None,
            image: None,
            trailer_size_y: None,
            first_rx: RxTimestamp::NONE,
            last_rx: RxTimestamp::NONE,
            len: 0,
            flags: Default::default(),
            packets_expected: 0,
            packets_received: 0,
            packets_duplicated: 0,
            packets_resent: 0,
            resend_requests: 0,
        };
        info.len = 8;
        assert!(producer.publish(CompletedFrame { info, slot }));
    }

    #[test]
    fn frames_of_all_cameras_come_out_round_robin_then_disconnect() {
        let (mut p0, r0, _) = ring(0);
        let (mut p1, r1, _) = ring(1);
        for block in 1..=2 {
            publish(&mut p0, 0, block);
        }
        publish(&mut p1, 1, 7);
        let mut stream = FrameStream::new(vec![r0, r1]);
        assert_eq!(stream.queued(), 3);
        let order: Vec<(u32, u64)> = (0..3)
            .map(|_| {
                let f = stream.recv_timeout(Duration::from_millis(100)).unwrap();
                (f.info.camera, f.info.block_id)
            })
            .collect();
        assert_eq!(order, vec![(0, 1), (1, 7), (0, 2)]);
        assert!(matches!(
            stream.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        ));
        // A frame published while the consumer waits wakes it.
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            publish(&mut p1, 1, 8);
            p1
        });
        let f = stream.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((f.info.camera, f.info.block_id), (1, 8));
        let p1 = waker.join().unwrap();
        drop((p0, p1));
        assert!(stream.recv().is_none(), "every producer gone: disconnected");
        assert_eq!(stream.ring_counters()[0].published, 2);
    }
}
