//! Resend requests leaving the reassembler, and the sinks that send them
//! to the camera as GVCP PACKETRESEND.
//!
//! Invariants: a `ResendRequest` names one block and one inclusive range of
//! packet ids with `first <= last`, in the id mode (standard or extended)
//! the block arrived in; sinks never block on an answer (PACKETRESEND is
//! not acknowledged).

use std::io;
use std::ops::Deref;

use crate::device::Camera;

/// Ask the camera to resend packets `first..=last` of block `block_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResendRequest {
    /// Block id of the frame.
    pub block_id: u64,
    /// First packet id (inclusive).
    pub first: u32,
    /// Last packet id (inclusive).
    pub last: u32,
    /// The block used extended ids (send the request with the EXTENDED_ID flag).
    pub extended: bool,
}

impl ResendRequest {
    /// Number of packet ids covered.
    pub fn packets(&self) -> u32 {
        self.last.saturating_sub(self.first).saturating_add(1)
    }
}

/// Something that delivers resend requests to the camera.
pub trait ResendSink {
    /// Sends one request; errors are counted by the caller, not retried.
    fn send_resend(&mut self, request: &ResendRequest) -> io::Result<()>;
}

/// Sends requests as PACKETRESEND on a camera's control channel.
#[derive(Debug)]
pub struct CameraResend<C> {
    camera: C,
    channel: u16,
}

impl<C: Deref<Target = Camera>> CameraResend<C> {
    /// Requests for stream channel `channel` of `camera` (a `&Camera` or an `Arc<Camera>`).
    pub fn new(camera: C, channel: u16) -> Self {
        CameraResend { camera, channel }
    }
}

impl<C: Deref<Target = Camera>> ResendSink for CameraResend<C> {
    fn send_resend(&mut self, request: &ResendRequest) -> io::Result<()> {
        self.camera
            .request_resend(
                self.channel,
                request.block_id,
                request.first,
                request.last,
                request.extended,
            )
            .map_err(io::Error::other)
    }
}

/// Sends requests through a closure (tests, simulators, custom transports).
#[derive(Debug)]
pub struct FnResend<F>(pub F);

impl<F: FnMut(&ResendRequest) -> io::Result<()>> ResendSink for FnResend<F> {
    fn send_resend(&mut self, request: &ResendRequest) -> io::Result<()> {
        (self.0)(request)
    }
}

/// Drops every request (resends disabled at the transport).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResend;

impl ResendSink for NoResend {
    fn send_resend(&mut self, _request: &ResendRequest) -> io::Result<()> {
        Ok(())
    }
}
