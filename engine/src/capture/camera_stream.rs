//! One camera's stream on the receive side, the same on every path: its
//! reassembler (drawing slots from the camera's frame ring), the publisher
//! that queues finished frames for consumers, the queue its resend requests
//! leave through, and the live counters the control thread reads.
//!
//! Invariants:
//! - exactly one thread owns a [`CameraStream`] at a time (its receive
//!   worker); the rest of the session sees it only through [`Live`]'s
//!   relaxed atomics;
//! - per packet nothing here allocates, locks or makes a system call:
//!   frames are published through the ring's bounded queue, resend requests
//!   through a bounded queue to the control thread (a full queue counts the
//!   request as not sent, it never blocks);
//! - timers run on every packet of any camera of the worker and on every
//!   idle tick, so frames finish and resends go out without traffic.

use std::io;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use crate::stream::ring::FramePublisher;

use crate::stream::{
    CompletedFrame, Reassembler, ResendRequest, ResendSink, RingCounters, RingProducer,
    RxTimestamp, Slot, StreamCounters, TimestampSource, UdpStreamReceiver,
};

/// How often live counters are published while idle or streaming.
const PUBLISH_EVERY: Duration = Duration::from_millis(1);

/// A camera's counters as other threads see them while it streams.
#[derive(Debug, Default)]
pub(crate) struct Live {
    /// Datagrams handed to the reassembler.
    pub packets: AtomicU64,
    /// Frames finished (complete or not).
    pub frames: AtomicU64,
    /// Frames being reassembled.
    pub in_flight: AtomicU64,
    /// Nanoseconds from the session epoch to the last packet, plus one (0: none yet).
    pub last_packet: AtomicU64,
    /// `TimestampSource` of the last frame, as `source_code`.
    pub source: AtomicU8,
    /// Resend requests the control channel failed to send.
    pub resend_errors: AtomicU64,
    /// Resend requests dropped because the queue to the control thread was full.
    pub resend_queue_full: AtomicU64,
    /// Datagrams from other sources that reached the kernel socket of the stream port.
    pub kernel_foreign: AtomicU64,
    /// The camera's datagrams that reached the kernel socket.
    pub kernel_stream: AtomicU64,
    /// Packets that arrived on a queue not owning this camera.
    pub wrong_queue: AtomicU64,
}

impl Live {
    /// Time since the last packet at `now` (`None`: no packet yet).
    pub fn quiet_for(&self, epoch: Instant, now: Instant) -> Option<Duration> {
        let stamp = self.last_packet.load(Ordering::Relaxed);
        let last = epoch.checked_add(Duration::from_nanos(stamp.checked_sub(1)?))?;
        Some(now.saturating_duration_since(last))
    }

    /// The timestamp source of the last frame.
    pub fn timestamp_source(&self) -> TimestampSource {
        match self.source.load(Ordering::Relaxed) {
            1 => TimestampSource::Hardware,
            2 => TimestampSource::Kernel,
            3 => TimestampSource::UserTai,
            _ => TimestampSource::None,
        }
    }

    fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn source_code(source: TimestampSource) -> u8 {
    match source {
        TimestampSource::None => 0,
        TimestampSource::Hardware => 1,
        TimestampSource::Kernel => 2,
        TimestampSource::UserTai => 3,
    }
}

/// A request for the control thread: camera index and what to resend.
pub(crate) type QueuedRequest = (usize, ResendRequest);

/// A [`ResendSink`] that hands requests to the control thread without waiting.
#[derive(Debug)]
pub(crate) struct QueuedResend {
    camera: usize,
    queue: Sender<QueuedRequest>,
    live: Arc<Live>,
}

impl QueuedResend {
    pub fn new(camera: usize, queue: Sender<QueuedRequest>, live: Arc<Live>) -> Self {
        QueuedResend {
            camera,
            queue,
            live,
        }
    }
}

impl ResendSink for QueuedResend {
    fn send_resend(&mut self, request: &ResendRequest) -> io::Result<()> {
        match self.queue.try_send((self.camera, *request)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                Live::count(&self.live.resend_queue_full);
                Err(io::ErrorKind::WouldBlock.into())
            }
            Err(TrySendError::Disconnected(_)) => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
}

/// What is left of a stream after it was finished.
#[derive(Debug)]
pub(crate) struct Finished {
    pub stream: StreamCounters,
    pub ring: RingCounters,
}

/// One camera's receive-side state, owned by one receive thread.
#[derive(Debug)]
pub(crate) struct CameraStream {
    index: usize,
    source: Ipv4Addr,
    reassembler: Reassembler<RingProducer>,
    publisher: FramePublisher,
    resend: QueuedResend,
    live: Arc<Live>,
    epoch: Instant,
    next_timer: Option<Instant>,
    last_packet: Option<Instant>,
    last_publish: Instant,
}

impl CameraStream {
    /// A stream for camera `index`, whose packets come from `source`.
    pub fn new(
        index: usize,
        source: Ipv4Addr,
        reassembler: Reassembler<RingProducer>,
        resend: QueuedResend,
        live: Arc<Live>,
        epoch: Instant,
    ) -> Self {
        let publisher = reassembler.pool().publisher();
        CameraStream {
            index,
            source,
            reassembler,
            publisher,
            resend,
            live,
            epoch,
            next_timer: None,
            last_packet: None,
            last_publish: epoch,
        }
    }

    /// The camera's address (the source of its packets).
    pub fn source(&self) -> Ipv4Addr {
        self.source
    }

    /// The camera index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The counters other threads read.
    pub fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// Handles one datagram (given as one or more fragments) received at `now`.
    pub fn handle(&mut self, now: Instant, rx: RxTimestamp, fragments: &[&[u8]]) {
        match fragments {
            [one] => self.reassembler.handle_packet(now, rx, one),
            many => self.reassembler.handle_packet_fragments(now, rx, many),
        };
        self.last_packet = Some(now);
        self.after(now);
    }

    /// Runs the timers if one is due at `now`.
    pub fn tick_if_due(&mut self, now: Instant) {
        if self.next_timer.is_some_and(|t| t <= now) {
            self.after(now);
        }
    }

    /// An idle tick: due timers, then the live counters.
    pub fn tick(&mut self, now: Instant) {
        self.tick_if_due(now);
        if now.saturating_duration_since(self.last_publish) >= PUBLISH_EVERY {
            self.publish_live(now);
        }
    }

    /// Receives from the socket path until it is quiet for one tick or
    /// `max` datagrams were read; returns how many were read.
    pub fn poll_socket(
        &mut self,
        receiver: &mut UdpStreamReceiver,
        max: usize,
    ) -> io::Result<usize> {
        let CameraStream {
            reassembler,
            publisher,
            resend,
            live,
            ..
        } = self;
        let mut on_frame = |frame: CompletedFrame<Slot>| publish(publisher, live, frame);
        let read = receiver.poll(reassembler, resend, &mut on_frame, max)?;
        let now = Instant::now();
        if read > 0 {
            self.last_packet = Some(now);
        }
        if read > 0 || now.saturating_duration_since(self.last_publish) >= PUBLISH_EVERY {
            self.publish_live(now);
        }
        Ok(read)
    }

    /// Finishes every open frame (incomplete), publishes what is left and
    /// returns the final counters; dropping the stream then disconnects the
    /// camera's consumers once they have taken every queued frame.
    pub fn finish(mut self) -> Finished {
        self.reassembler.flush();
        self.drain();
        self.publish_live(Instant::now());
        Finished {
            stream: self.reassembler.counters(),
            ring: self.publisher.counters(),
        }
    }

    fn after(&mut self, now: Instant) {
        if self.next_timer.is_some_and(|t| t <= now) {
            self.reassembler.handle_timeout(now);
        }
        self.drain();
        self.next_timer = self.reassembler.poll_timeout();
    }

    fn drain(&mut self) {
        while let Some(request) = self.reassembler.poll_resend() {
            // A failure is counted by the sink (queue full) or below.
            if self.resend.send_resend(&request).is_err() {
                Live::count(&self.live.resend_errors);
            }
        }
        let mut finished = false;
        while let Some(frame) = self.reassembler.poll_frame() {
            publish(&self.publisher, &self.live, frame);
            finished = true;
        }
        if finished {
            self.publish_live(Instant::now());
        }
    }

    fn publish_live(&mut self, now: Instant) {
        let r = Ordering::Relaxed;
        let counters = self.reassembler.counters();
        self.live.packets.store(counters.packets_received, r);
        self.live.frames.store(
            counters
                .frames_completed
                .saturating_add(counters.frames_incomplete),
            r,
        );
        self.live
            .in_flight
            .store(self.reassembler.frames_in_flight() as u64, r);
        if let Some(at) = self.last_packet {
            let nanos = at.saturating_duration_since(self.epoch).as_nanos();
            let nanos = u64::try_from(nanos).unwrap_or(u64::MAX - 1);
            self.live.last_packet.store(nanos.saturating_add(1), r);
        }
        self.last_publish = now;
    }
}

fn publish(publisher: &FramePublisher, live: &Live, frame: CompletedFrame<Slot>) {
    live.source.store(
        source_code(frame.info.timestamp_source()),
        Ordering::Relaxed,
    );
    // A refused frame is counted by the ring (dropped_consumer_behind).
    let _ = publisher.publish(frame);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::testkit;

    #[test]
    fn quiet_time_is_measured_from_the_last_packet() {
        let live = Live::default();
        let epoch = Instant::now();
        assert_eq!(live.quiet_for(epoch, epoch), None);
        live.last_packet.store(1_000_001, Ordering::Relaxed);
        let now = epoch + Duration::from_millis(5);
        assert_eq!(live.quiet_for(epoch, now), Some(Duration::from_millis(4)));
        for source in [
            TimestampSource::None,
            TimestampSource::Hardware,
            TimestampSource::Kernel,
            TimestampSource::UserTai,
        ] {
            live.source.store(source_code(source), Ordering::Relaxed);
            assert_eq!(live.timestamp_source(), source);
        }
    }

    #[test]
    fn a_full_resend_queue_is_counted_not_waited_for() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let live = Arc::new(Live::default());
        let mut sink = QueuedResend::new(3, tx, Arc::clone(&live));
        let request = ResendRequest {
            block_id: 9,
            first: 2,
            last: 4,
            extended: false,
        };
        assert!(sink.send_resend(&request).is_ok());
        assert!(sink.send_resend(&request).is_err());
        assert_eq!(live.resend_queue_full.load(Ordering::Relaxed), 1);
        assert_eq!(rx.try_recv().unwrap(), (3, request));
        drop(rx);
        assert!(sink.send_resend(&request).is_err());
    }

    #[test]
    fn a_stream_reassembles_publishes_and_asks_for_what_is_missing() {
        use crate::stream::{FrameRing, HugePages, RingConfig};
        let generator = testkit::BlockGenerator::new(64, 48, 1000, false);
        let config = generator.stream_config(0);
        let mut ring = RingConfig::new(4, config.payload_size);
        ring.huge_pages = HugePages::Never;
        let (producer, receiver) = FrameRing::create(ring).unwrap();
        let mut frames = crate::capture::FrameStream::new(vec![receiver]);
        let reassembler = Reassembler::new(config, producer).unwrap();
        let (tx, rx) = crossbeam_channel::bounded(16);
        let live = Arc::new(Live::default());
        let epoch = Instant::now();
        let source = Ipv4Addr::new(169, 254, 1, 1);
        let mut stream = CameraStream::new(
            0,
            source,
            reassembler,
            QueuedResend::new(0, tx, Arc::clone(&live)),
            Arc::clone(&live),
            epoch,
        );
        assert_eq!(stream.source(), source);
        let packets = generator.block(7);
        let now = Instant::now();
        // Packet 2 is lost: a resend request must follow once its delay passed.
        for (id, packet) in packets.iter().enumerate() {
            if id != 2 {
                stream.handle(now, RxTimestamp::NONE, &[packet]);
            }
        }
        stream.tick(now + Duration::from_millis(50));
        let (camera, request) = rx.try_recv().expect("a resend request");
        assert_eq!(
            (camera, request.block_id, request.first, request.last),
            (0, 7, 2, 2)
        );
        assert!(frames.try_recv().is_err(), "not complete yet");
        stream.handle(
            now + Duration::from_millis(51),
            RxTimestamp::NONE,
            &[&generator.packet(7, 2, true)],
        );
        let frame = frames.try_recv().expect("the frame, complete");
        assert!(!frame.info.is_incomplete());
        assert_eq!(testkit::first_pattern_mismatch(7, frame.data()), None);
        let finished = stream.finish();
        assert_eq!(finished.stream.frames_completed, 1);
        assert_eq!(finished.stream.packets_resent, 1);
        assert_eq!(finished.ring.published, 1);
        assert_eq!(live.frames.load(Ordering::Relaxed), 1);
        assert_eq!(live.in_flight.load(Ordering::Relaxed), 0);
    }
}
