//! The GVCP server of one camera, sans-IO: a datagram and its source in,
//! the datagrams to send (possibly delayed) out.
//!
//! Answers, by command (an acknowledge is sent only when the command asks
//! for one):
//! - shorter than 8 bytes, or a first byte other than 0x42: dropped, as
//!   nothing identifies it as GVCP;
//! - a header declaring more payload than arrived: `InvalidHeader`; an
//!   unknown command (EVENT and EVENTDATA included, which a device never
//!   receives): `NotImplemented`; a body of the wrong size: `InvalidParameter`;
//! - DISCOVERY: the identity, always; FORCEIP to our MAC: accepted only for
//!   our own address (the simulator cannot move), else `InvalidParameter`;
//! - READREG/READMEM: refused with `AccessDenied` while another application
//!   holds exclusive access; WRITEREG/WRITEMEM: need control privilege
//!   (`AccessDenied` otherwise), except the CCP register itself;
//! - CCP: granted when free or to its holder, `AccessDenied` to others; a
//!   read returns the privilege of the application reading;
//! - PACKETRESEND: never acknowledged, queued for the stream;
//! - ACTION: honoured when some application holds control (or unconditional
//!   action is enabled) and the keys match; otherwise silently ignored;
//! - a write that takes long (UserSetLoad/Save) is answered after its
//!   duration, preceded by PENDING_ACK when the client enabled it.
//!
//! Invariants: no input panics or blocks; a retransmitted command (same
//! source and request id as the previous one) gets the previous answer
//! again without being executed twice; control privilege expires when its
//! holder sends nothing for the heartbeat timeout, which stops acquisition
//! and closes the stream channel.

use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gvcap::wire::bootstrap as bs;
use gvcap::wire::gvcp::{
    code, AckPacket, AckRepr, CommandHeader, CommandPacket, CommandRepr, HEADER_LEN,
    MAX_MEMORY_DATA, MAX_READREG, MAX_WRITEREG,
};
use gvcap::wire::{Status, WireError};

use super::device::{Device, ResendRequest, WriteEffect, PENDING_TIMEOUT_MS};
use super::rng::Rng;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Destination.
    pub to: SocketAddrV4,
    /// How long after the command to send it.
    pub delay: Duration,
    /// The datagram.
    pub bytes: Vec<u8>,
}

/// What the control server counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ControlCounters {
    /// Commands parsed and executed.
    pub commands: u64,
    /// Datagrams dropped without answer (not GVCP).
    pub dropped: u64,
    /// Commands answered with an error status.
    pub errors: u64,
    /// Acknowledges withheld by fault injection.
    pub withheld: u64,
    /// Retransmissions answered from the cache.
    pub duplicates: u64,
    /// Times control privilege expired.
    pub heartbeat_expiries: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Primary {
    app: SocketAddrV4,
    ccp: u32,
    last_seen: u64,
}

/// The GVCP server of one camera.
#[derive(Debug)]
pub struct ControlServer {
    device: Arc<Mutex<Device>>,
    primary: Option<Primary>,
    last: Option<(SocketAddrV4, u16, Vec<Outgoing>)>,
    rng: Rng,
    drop_ratio: f64,
    silent: bool,
    counters: ControlCounters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A header-only acknowledge with any code: for errors on commands whose
/// acknowledge has no body to carry, or whose code we do not know.
fn bare_ack(status: Status, answer: u16, ack_id: u16) -> Vec<u8> {
    let mut bytes = vec![0u8; HEADER_LEN];
    let mut packet = AckPacket::new_unchecked(&mut bytes[..]);
    packet.set_status(status);
    packet.set_answer(answer);
    packet.set_length(0);
    packet.set_ack_id(ack_id);
    bytes
}

fn encode(ack: &AckRepr, status: Status, ack_id: u16) -> Vec<u8> {
    let mut bytes = vec![0u8; ack.buffer_len()];
    match ack.emit(status, ack_id, &mut bytes) {
        Ok(len) => {
            bytes.truncate(len);
            bytes
        }
        // Only a body we built wrongly gets here; answer with the status alone.
        Err(_) => bare_ack(status, ack.answer_code(), ack_id),
    }
}

impl ControlServer {
    /// A server for `device`; `seed` and `drop_ratio` drive withheld acknowledges.
    pub fn new(device: Arc<Mutex<Device>>, seed: u64, drop_ratio: f64) -> Self {
        ControlServer {
            device,
            primary: None,
            last: None,
            rng: Rng::new(seed ^ 0x6776_6370),
            drop_ratio,
            silent: false,
            counters: ControlCounters::default(),
        }
    }

    /// The device this server controls.
    pub fn device(&self) -> &Arc<Mutex<Device>> {
        &self.device
    }

    /// What the server counted.
    pub fn counters(&self) -> ControlCounters {
        self.counters
    }

    /// The application holding control privilege, if any.
    pub fn primary(&self) -> Option<SocketAddrV4> {
        self.primary.map(|p| p.app)
    }

    /// Fault injection: stop (or resume) answering anything.
    pub fn set_silent(&mut self, silent: bool) {
        self.silent = silent;
    }

    /// True while answering nothing.
    pub fn is_silent(&self) -> bool {
        self.silent
    }

    /// Expires control privilege whose holder has been quiet for the heartbeat timeout.
    pub fn poll(&mut self, now: u64) {
        let Some(primary) = self.primary else {
            return;
        };
        let mut device = lock(&self.device);
        let Some(timeout) = device.heartbeat_timeout() else {
            return;
        };
        let timeout = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        if now.saturating_sub(primary.last_seen) > timeout {
            self.primary = None;
            self.counters.heartbeat_expiries += 1;
            device.control_lost();
        }
    }

    /// Handles one datagram from `from` received at host time `now` (ns).
    pub fn handle(&mut self, now: u64, from: SocketAddrV4, datagram: &[u8]) -> Vec<Outgoing> {
        if self.silent {
            return Vec::new();
        }
        self.poll(now);
        let Ok(packet) = CommandPacket::new_checked(datagram) else {
            // Truncated: answer only when enough of a header is there to name the command.
            return self.malformed(from, datagram);
        };
        let Ok(header) = CommandHeader::parse(&packet) else {
            self.counters.dropped += 1;
            return Vec::new();
        };
        if let Some((src, id, replies)) = &self.last {
            if *src == from && *id == header.req_id && header.req_id != 0 {
                self.counters.duplicates += 1;
                let replies = replies.clone();
                return self.withhold(replies);
            }
        }
        if let Some(primary) = self.primary.as_mut() {
            if primary.app == from {
                primary.last_seen = now;
            }
        }
        let replies = match CommandRepr::parse(datagram) {
            Ok((_, command)) => {
                self.counters.commands += 1;
                self.execute(now, from, &header, command)
            }
            Err(err) => {
                let status = match err {
                    _ if matches!(header.command, code::EVENT_CMD | code::EVENTDATA_CMD) => {
                        Status::NotImplemented
                    }
                    WireError::UnknownCommand(_) => Status::NotImplemented,
                    WireError::Truncated => Status::InvalidHeader,
                    _ => Status::InvalidParameter,
                };
                self.counters.errors += 1;
                if header.ack_required() {
                    vec![self.reply(
                        from,
                        bare_ack(status, header.command.wrapping_add(1), header.req_id),
                    )]
                } else {
                    Vec::new()
                }
            }
        };
        self.last = Some((from, header.req_id, replies.clone()));
        self.withhold(replies)
    }

    /// Fault injection: loses the acknowledges with the configured chance.
    fn withhold(&mut self, replies: Vec<Outgoing>) -> Vec<Outgoing> {
        if !replies.is_empty() && self.rng.chance(self.drop_ratio) {
            self.counters.withheld += 1;
            Vec::new()
        } else {
            replies
        }
    }

    fn malformed(&mut self, from: SocketAddrV4, datagram: &[u8]) -> Vec<Outgoing> {
        match datagram {
            [0x42, flags, c0, c1, _, _, id0, id1, ..] if flags & 1 != 0 => {
                self.counters.errors += 1;
                let command = u16::from_be_bytes([*c0, *c1]);
                let id = u16::from_be_bytes([*id0, *id1]);
                vec![self.reply(
                    from,
                    bare_ack(Status::InvalidHeader, command.wrapping_add(1), id),
                )]
            }
            _ => {
                self.counters.dropped += 1;
                Vec::new()
            }
        }
    }

    fn reply(&self, to: SocketAddrV4, bytes: Vec<u8>) -> Outgoing {
        Outgoing {
            to,
            delay: Duration::ZERO,
            bytes,
        }
    }

    fn exclusive_elsewhere(&self, from: SocketAddrV4) -> bool {
        self.primary
            .is_some_and(|p| p.app != from && p.ccp & bs::CCP_EXCLUSIVE != 0)
    }

    fn has_control(&self, from: SocketAddrV4) -> bool {
        self.primary.is_some_and(|p| p.app == from)
    }

    fn execute(
        &mut self,
        now: u64,
        from: SocketAddrV4,
        header: &CommandHeader,
        command: CommandRepr,
    ) -> Vec<Outgoing> {
        let id = header.req_id;
        let (status, ack, delay) = match command {
            CommandRepr::Discovery => {
                let identity = lock(&self.device).discovery_ack();
                (
                    Status::Success,
                    AckRepr::Discovery(Box::new(identity)),
                    Duration::ZERO,
                )
            }
            CommandRepr::ForceIp { mac, ip, .. } => {
                let device = lock(&self.device);
                if mac != device.config().mac {
                    return Vec::new();
                }
                let status = if ip == device.config().address || ip.is_unspecified() {
                    Status::Success
                } else {
                    Status::InvalidParameter
                };
                (status, AckRepr::ForceIp, Duration::ZERO)
            }
            CommandRepr::ReadReg { addresses } => {
                if addresses.len() > MAX_READREG {
                    (
                        Status::InvalidParameter,
                        AckRepr::Empty {
                            answer: code::READREG_ACK,
                        },
                        Duration::ZERO,
                    )
                } else if self.exclusive_elsewhere(from) {
                    (
                        Status::AccessDenied,
                        AckRepr::Empty {
                            answer: code::READREG_ACK,
                        },
                        Duration::ZERO,
                    )
                } else {
                    let mut values = Vec::with_capacity(addresses.len());
                    let mut status = Status::Success;
                    for address in addresses {
                        match self.read(from, address) {
                            Ok(v) => values.push(v),
                            Err(s) => {
                                status = s;
                                break;
                            }
                        }
                    }
                    let ack = if values.is_empty() {
                        AckRepr::Empty {
                            answer: code::READREG_ACK,
                        }
                    } else {
                        AckRepr::ReadReg { values }
                    };
                    (status, ack, Duration::ZERO)
                }
            }
            CommandRepr::WriteReg { writes } => {
                if writes.len() > MAX_WRITEREG {
                    (
                        Status::InvalidParameter,
                        AckRepr::WriteReg { index: 0 },
                        Duration::ZERO,
                    )
                } else {
                    let mut status = Status::Success;
                    let mut done = 0u16;
                    let mut delay = Duration::ZERO;
                    for (address, value) in writes {
                        match self.write(now, from, address, value) {
                            Ok(WriteEffect::Done) => done += 1,
                            Ok(WriteEffect::Slow(d)) => {
                                done += 1;
                                delay = delay.max(d);
                            }
                            Err(s) => {
                                status = s;
                                break;
                            }
                        }
                    }
                    (status, AckRepr::WriteReg { index: done }, delay)
                }
            }
            CommandRepr::ReadMem { address, count } => {
                let count = usize::from(count);
                let empty = AckRepr::Empty {
                    answer: code::READMEM_ACK,
                };
                if count == 0 || count > MAX_MEMORY_DATA {
                    (Status::InvalidParameter, empty, Duration::ZERO)
                } else if address % 4 != 0 || count % 4 != 0 {
                    (Status::BadAlignment, empty, Duration::ZERO)
                } else if self.exclusive_elsewhere(from) {
                    (Status::AccessDenied, empty, Duration::ZERO)
                } else {
                    match self.read_memory(from, address, count) {
                        Ok(data) => (
                            Status::Success,
                            AckRepr::ReadMem { address, data },
                            Duration::ZERO,
                        ),
                        Err(s) => (s, empty, Duration::ZERO),
                    }
                }
            }
            CommandRepr::WriteMem { address, data } => {
                if data.is_empty() || data.len() > MAX_MEMORY_DATA {
                    (
                        Status::InvalidParameter,
                        AckRepr::WriteMem { index: 0 },
                        Duration::ZERO,
                    )
                } else if address % 4 != 0 || data.len() % 4 != 0 {
                    (
                        Status::BadAlignment,
                        AckRepr::WriteMem { index: 0 },
                        Duration::ZERO,
                    )
                } else if address == bs::CCP && data.len() == 4 {
                    let value = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                    match self.write(now, from, address, value) {
                        Ok(_) => (
                            Status::Success,
                            AckRepr::WriteMem { index: 4 },
                            Duration::ZERO,
                        ),
                        Err(s) => (s, AckRepr::WriteMem { index: 0 }, Duration::ZERO),
                    }
                } else if !self.has_control(from) {
                    (
                        Status::AccessDenied,
                        AckRepr::WriteMem { index: 0 },
                        Duration::ZERO,
                    )
                } else {
                    let len = data.len() as u16;
                    match lock(&self.device).write_memory(address, &data) {
                        Ok(WriteEffect::Done) => (
                            Status::Success,
                            AckRepr::WriteMem { index: len },
                            Duration::ZERO,
                        ),
                        Ok(WriteEffect::Slow(d)) => {
                            (Status::Success, AckRepr::WriteMem { index: len }, d)
                        }
                        Err((index, s)) => (
                            s,
                            AckRepr::WriteMem {
                                index: index as u16,
                            },
                            Duration::ZERO,
                        ),
                    }
                }
            }
            CommandRepr::PacketResend {
                channel,
                block_id,
                first_packet,
                last_packet,
                extended,
            } => {
                if channel == 0 && first_packet <= last_packet {
                    lock(&self.device).request_resend(ResendRequest {
                        block_id,
                        first: first_packet,
                        last: last_packet,
                        extended,
                    });
                }
                return Vec::new();
            }
            CommandRepr::Action {
                device_key,
                group_key,
                group_mask,
                action_time,
            } => {
                let mut device = lock(&self.device);
                if self.primary.is_none() && !device.unconditional_action() {
                    return Vec::new();
                }
                match device.action(device_key, group_key, group_mask, action_time) {
                    Some(status) => (status, AckRepr::Action, Duration::ZERO),
                    None => return Vec::new(),
                }
            }
            CommandRepr::Event { .. } | CommandRepr::EventData { .. } => {
                self.counters.errors += 1;
                return if header.ack_required() {
                    vec![self.reply(
                        from,
                        bare_ack(Status::NotImplemented, header.command.wrapping_add(1), id),
                    )]
                } else {
                    Vec::new()
                };
            }
        };
        if !header.ack_required() {
            return Vec::new();
        }
        let status = lock(&self.device).status_for_client(status);
        if status.is_error() {
            self.counters.errors += 1;
        }
        let final_ack = encode(&ack, status, id);
        if delay.is_zero() {
            return vec![self.reply(from, final_ack)];
        }
        let mut out = Vec::new();
        if lock(&self.device).pending_ack_enabled()
            && delay > Duration::from_millis(u64::from(PENDING_TIMEOUT_MS))
        {
            let ms = u16::try_from(delay.as_millis() + 100).unwrap_or(u16::MAX);
            out.push(self.reply(
                from,
                encode(
                    &AckRepr::PendingAck {
                        time_to_completion_ms: ms,
                    },
                    Status::Success,
                    id,
                ),
            ));
        }
        out.push(Outgoing {
            to: from,
            delay,
            bytes: final_ack,
        });
        out
    }

    fn read(&self, from: SocketAddrV4, address: u32) -> Result<u32, Status> {
        match address {
            bs::CCP => Ok(self.primary.filter(|p| p.app == from).map_or(0, |p| p.ccp)),
            bs::PRIMARY_APPLICATION_PORT => Ok(self.primary.map_or(0, |p| u32::from(p.app.port()))),
            bs::PRIMARY_APPLICATION_IP => Ok(self.primary.map_or(0, |p| u32::from(*p.app.ip()))),
            _ => lock(&self.device).read_register(address),
        }
    }

    fn read_memory(
        &self,
        from: SocketAddrV4,
        address: u32,
        count: usize,
    ) -> Result<Vec<u8>, Status> {
        // The privilege registers live here, not in the device: serve them word by word.
        let touches = |a: u32| (address..address.saturating_add(count as u32)).contains(&a);
        if touches(bs::CCP)
            || touches(bs::PRIMARY_APPLICATION_PORT)
            || touches(bs::PRIMARY_APPLICATION_IP)
        {
            let mut out = Vec::with_capacity(count);
            for k in (0..count as u32).step_by(4) {
                out.extend_from_slice(&self.read(from, address + k)?.to_be_bytes());
            }
            return Ok(out);
        }
        lock(&self.device).read_memory(address, count)
    }

    fn write(
        &mut self,
        now: u64,
        from: SocketAddrV4,
        address: u32,
        value: u32,
    ) -> Result<WriteEffect, Status> {
        if address == bs::CCP {
            return self.write_ccp(now, from, value).map(|()| WriteEffect::Done);
        }
        if !self.has_control(from) {
            return Err(Status::AccessDenied);
        }
        match address {
            bs::PRIMARY_APPLICATION_PORT | bs::PRIMARY_APPLICATION_IP => Err(Status::WriteProtect),
            _ => lock(&self.device).write_register(address, value),
        }
    }

    fn write_ccp(&mut self, now: u64, from: SocketAddrV4, value: u32) -> Result<(), Status> {
        let wants = value & (bs::CCP_EXCLUSIVE | bs::CCP_CONTROL);
        match self.primary {
            Some(p) if p.app != from => Err(Status::AccessDenied),
            Some(_) if wants == 0 => {
                self.primary = None;
                Ok(())
            }
            _ if wants == 0 => Ok(()),
            _ => {
                self.primary = Some(Primary {
                    app: from,
                    ccp: value & (bs::CCP_EXCLUSIVE | bs::CCP_CONTROL),
                    last_seen: now,
                });
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests;
