//! A camera seen through its control channel: registers, memory, control
//! privilege and the heartbeat that keeps it.
//!
//! Invariants: memory accesses are split into READMEM/WRITEMEM blocks of at
//! most 536 bytes on 4-byte boundaries; an aligned 4-byte access uses
//! READREG/WRITEREG, which every device implements; while this handle holds
//! control privilege a heartbeat thread renews it, and dropping the handle
//! stops the heartbeat and releases the privilege.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::genicam::{MemoryPort, PortError};
use crate::wire::gvcp::{AckRepr, CommandRepr, DiscoveryAck, MAX_MEMORY_DATA};

use super::channel::{Channel, ClientConfig};
use super::error::{DeviceError, Operation};
use crate::wire::bootstrap as registers;

/// Which control privilege to ask for in the CCP register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Exclusive access: no other application may even read.
    Exclusive,
    /// Control access: others may read, only we write.
    Control,
}

impl Privilege {
    fn ccp_bits(self) -> u32 {
        match self {
            Privilege::Exclusive => registers::CCP_EXCLUSIVE,
            Privilege::Control => registers::CCP_CONTROL,
        }
    }
}

/// A handle on one camera's control channel.
#[derive(Debug)]
pub struct Camera {
    channel: Arc<Channel>,
    heartbeat: Option<Heartbeat>,
}

impl Camera {
    /// Opens a control channel to the camera at `ip`, named by its address in errors.
    pub fn open(ip: Ipv4Addr, config: ClientConfig) -> Result<Self, DeviceError> {
        Self::open_named(ip, ip.to_string(), config)
    }

    /// Opens a control channel; `name` (e.g. "GV01 (169.254.1.2)") appears in every error.
    pub fn open_named(
        ip: Ipv4Addr,
        name: String,
        config: ClientConfig,
    ) -> Result<Self, DeviceError> {
        Ok(Camera {
            channel: Arc::new(Channel::open(ip, name, config)?),
            heartbeat: None,
        })
    }

    /// The camera's name as used in errors.
    pub fn name(&self) -> &str {
        &self.channel.camera
    }

    /// The camera's IP address.
    pub fn ip(&self) -> Ipv4Addr {
        self.channel.ip
    }

    /// The local address of the control channel (the host side).
    pub fn local_addr(&self) -> Result<SocketAddr, DeviceError> {
        self.channel.local_addr().map_err(|source| DeviceError::Io {
            camera: self.channel.camera.clone(),
            context: "reading the control channel's local address".into(),
            source,
        })
    }

    /// Asks the camera for its identity with a unicast DISCOVERY.
    pub fn identify(&self) -> Result<DiscoveryAck, DeviceError> {
        match self
            .channel
            .transact(Operation::Discovery, &CommandRepr::Discovery)?
        {
            AckRepr::Discovery(ack) => Ok(*ack),
            other => Err(protocol(&self.channel, Operation::Discovery, &other)),
        }
    }

    /// Reads one 32-bit register.
    pub fn read_register(&self, address: u32) -> Result<u32, DeviceError> {
        let values = self.read_registers(&[address])?;
        Ok(values[0])
    }

    /// Reads several 32-bit registers in one READREG; the result has one value per address.
    pub fn read_registers(&self, addresses: &[u32]) -> Result<Vec<u32>, DeviceError> {
        let operation = Operation::ReadRegister(addresses.first().copied().unwrap_or(0));
        let command = CommandRepr::ReadReg {
            addresses: addresses.to_vec(),
        };
        match self.channel.transact(operation, &command)? {
            AckRepr::ReadReg { values } if values.len() == addresses.len() => Ok(values),
            other => Err(protocol(&self.channel, operation, &other)),
        }
    }

    /// Writes one 32-bit register.
    pub fn write_register(&self, address: u32, value: u32) -> Result<(), DeviceError> {
        self.write_registers(&[(address, value)])
    }

    /// Writes several registers in one WRITEREG, in order.
    pub fn write_registers(&self, writes: &[(u32, u32)]) -> Result<(), DeviceError> {
        let operation = Operation::WriteRegister(writes.first().map_or(0, |w| w.0));
        let command = CommandRepr::WriteReg {
            writes: writes.to_vec(),
        };
        match self.channel.transact(operation, &command)? {
            AckRepr::WriteReg { .. } => Ok(()),
            other => Err(protocol(&self.channel, operation, &other)),
        }
    }

    /// Reads `len` bytes of device memory from `address`, in READMEM blocks.
    pub fn read_memory(&self, address: u32, len: usize) -> Result<Vec<u8>, DeviceError> {
        let start = address & !3;
        let skip = (address - start) as usize;
        let total = (skip + len).div_ceil(4) * 4;
        let mut out = Vec::with_capacity(total);
        let mut offset = 0usize;
        while offset < total {
            let count = (total - offset).min(MAX_MEMORY_DATA);
            let at = start.wrapping_add(offset as u32);
            let operation = Operation::ReadMemory(at);
            let command = CommandRepr::ReadMem {
                address: at,
                count: count as u16,
            };
            match self.channel.transact(operation, &command)? {
                AckRepr::ReadMem {
                    address: echoed,
                    data,
                } if echoed == at && data.len() == count => {
                    out.extend_from_slice(&data);
                }
                other => return Err(protocol(&self.channel, operation, &other)),
            }
            offset += count;
        }
        out.drain(..skip);
        out.truncate(len);
        Ok(out)
    }

    /// Writes `data` to device memory at `address`, in WRITEMEM blocks;
    /// unaligned edges are read first and written back with the new bytes.
    pub fn write_memory(&self, address: u32, data: &[u8]) -> Result<(), DeviceError> {
        let start = address & !3;
        let skip = (address - start) as usize;
        let total = (skip + data.len()).div_ceil(4) * 4;
        let block = if skip != 0 || total != data.len() {
            let mut merged = self.read_memory(start, total)?;
            merged[skip..skip + data.len()].copy_from_slice(data);
            merged
        } else {
            data.to_vec()
        };
        for (index, chunk) in block.chunks(MAX_MEMORY_DATA).enumerate() {
            let at = start.wrapping_add((index * MAX_MEMORY_DATA) as u32);
            let operation = Operation::WriteMemory(at);
            let command = CommandRepr::WriteMem {
                address: at,
                data: chunk.to_vec(),
            };
            match self.channel.transact(operation, &command)? {
                AckRepr::WriteMem { .. } => {}
                other => return Err(protocol(&self.channel, operation, &other)),
            }
        }
        Ok(())
    }

    /// Takes control privilege and starts the heartbeat that keeps it.
    ///
    /// Fails with `AccessDenied` when another application holds it.
    pub fn take_control(&mut self, privilege: Privilege) -> Result<(), DeviceError> {
        if let Some(timeout) = self.channel.config.heartbeat_timeout {
            // Before taking control the register may be read-only on some devices: ignore a refusal.
            let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
            let _ = self.write_register(registers::HEARTBEAT_TIMEOUT, ms);
        }
        self.write_register(registers::CCP, privilege.ccp_bits())
            .map_err(|err| match err {
                // Devices either answer ACCESS_DENIED or ignore the request of a non-owner.
                DeviceError::Status {
                    status: crate::wire::Status::AccessDenied,
                    code,
                    ..
                } => DeviceError::ControlDenied {
                    camera: self.channel.camera.clone(),
                    why: format!("status ACCESS_DENIED ({code:#06x})"),
                    status: Some(crate::wire::Status::AccessDenied),
                },
                DeviceError::Timeout { attempts, .. } => DeviceError::ControlDenied {
                    camera: self.channel.camera.clone(),
                    why: format!("no answer to the CCP write after {attempts} attempts"),
                    status: None,
                },
                other => other,
            })?;
        if let Some(timeout) = self.channel.config.heartbeat_timeout {
            let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
            self.write_register(registers::HEARTBEAT_TIMEOUT, ms)?;
        }
        let timeout_ms = self.read_register(registers::HEARTBEAT_TIMEOUT)?;
        // Renew at a third of the timeout, so one lost heartbeat is survived.
        let period = Duration::from_millis(u64::from(timeout_ms.max(300)) / 3);
        self.heartbeat = Some(Heartbeat::start(Arc::clone(&self.channel), period));
        Ok(())
    }

    /// True while this handle holds control privilege.
    pub fn has_control(&self) -> bool {
        self.heartbeat.is_some()
    }

    /// Stops the heartbeat and gives control privilege back.
    pub fn release_control(&mut self) -> Result<(), DeviceError> {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
            self.write_register(registers::CCP, 0)?;
        }
        Ok(())
    }

    /// Sends a PACKETRESEND request (never acknowledged) for packets of one block.
    pub fn request_resend(
        &self,
        channel: u16,
        block_id: u64,
        first_packet: u32,
        last_packet: u32,
        extended: bool,
    ) -> Result<(), DeviceError> {
        let command = CommandRepr::PacketResend {
            channel,
            block_id,
            first_packet,
            last_packet,
            extended,
        };
        self.channel.send_only(Operation::PacketResend, &command, 0)
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        if self.heartbeat.is_some() {
            if let Err(err) = self.release_control() {
                tracing::warn!("releasing control: {err}");
            }
        }
    }
}

impl MemoryPort for Camera {
    fn read_memory(&self, address: u64, len: usize) -> Result<Vec<u8>, PortError> {
        let address = u32::try_from(address).map_err(|_| too_far(address))?;
        if len == 4 && address % 4 == 0 {
            return Ok(self.read_register(address)?.to_be_bytes().to_vec());
        }
        Ok(Camera::read_memory(self, address, len)?)
    }

    fn write_memory(&self, address: u64, data: &[u8]) -> Result<(), PortError> {
        let address = u32::try_from(address).map_err(|_| too_far(address))?;
        if let Ok(word) = <[u8; 4]>::try_from(data) {
            if address % 4 == 0 {
                return Ok(self.write_register(address, u32::from_be_bytes(word))?);
            }
        }
        Ok(Camera::write_memory(self, address, data)?)
    }
}

fn too_far(address: u64) -> PortError {
    format!("address {address:#x} is beyond the 32-bit GigE Vision address space").into()
}

fn protocol(channel: &Channel, operation: Operation, ack: &AckRepr) -> DeviceError {
    DeviceError::Protocol {
        camera: channel.camera.clone(),
        operation,
        detail: format!("unexpected acknowledge body {ack:?}"),
    }
}

/// The thread that renews control privilege by reading the CCP register.
#[derive(Debug)]
struct Heartbeat {
    stop: mpsc::Sender<()>,
    thread: thread::JoinHandle<()>,
}

impl Heartbeat {
    fn start(channel: Arc<Channel>, period: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = thread::Builder::new()
            .name("gvcp-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                    let command = CommandRepr::ReadReg {
                        addresses: vec![registers::CCP],
                    };
                    if let Err(err) =
                        channel.transact(Operation::ReadRegister(registers::CCP), &command)
                    {
                        tracing::warn!("heartbeat: {err}");
                    }
                }
            })
            .expect("spawning the heartbeat thread");
        Heartbeat { stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
