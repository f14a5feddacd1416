//! Turning the user's CAM argument into an open camera handle.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use gvcap::device::{discover, Camera, Discovered};

use super::Connection;

/// How long a name lookup listens for discovery answers.
const LOOKUP_WINDOW: Duration = Duration::from_millis(700);

/// Opens the camera named by `cam`: an IPv4 address, a serial number or a user name.
///
/// An address is asked for its identity with a unicast DISCOVERY, so a camera
/// that does not answer fails here, within the configured timeout, naming it.
pub(crate) fn open(cam: &str, connection: &Connection) -> Result<Camera> {
    open_with(cam, &mut connection.clone(), |_| {})
}

/// Like [`open`], with a chance to adjust the client configuration first.
pub(crate) fn open_with(
    cam: &str,
    connection: &mut Connection,
    adjust: impl FnOnce(&mut gvcap::device::ClientConfig),
) -> Result<Camera> {
    let mut config = connection.client_config();
    adjust(&mut config);
    if let Ok(ip) = cam.parse::<Ipv4Addr>() {
        let probe = Camera::open(ip, config)?;
        let identity = probe.identify()?;
        let name = label(&identity.serial, &identity.user_name, ip);
        drop(probe);
        return Ok(Camera::open_named(ip, name, config)?);
    }
    let found = discover(connection.interface.as_deref(), LOOKUP_WINDOW)
        .context("looking the camera up by discovery")?;
    let matches: Vec<&Discovered> = found
        .iter()
        .filter(|d| {
            d.identity.serial == cam
                || (!d.identity.user_name.is_empty() && d.identity.user_name == cam)
        })
        .collect();
    match matches.as_slice() {
        [] => {
            let seen: Vec<String> = found
                .iter()
                .map(|d| format!("{} ({})", d.identity.serial, d.identity.ip))
                .collect();
            bail!(
                "no camera with serial number or user name {cam:?} answered discovery{}; \
                 `gvcap discover` lists the cameras (seen: {})",
                connection
                    .interface
                    .as_deref()
                    .map(|i| format!(" on {i}"))
                    .unwrap_or_default(),
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                }
            )
        }
        [one] => {
            let ip = one.identity.ip;
            Ok(Camera::open_named(
                ip,
                label(&one.identity.serial, &one.identity.user_name, ip),
                config,
            )?)
        }
        several => bail!(
            "{} cameras answer to {cam:?} ({}); name one by its IP address",
            several.len(),
            several
                .iter()
                .map(|d| d.identity.ip.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// "serial (ip)", or "user name / serial (ip)" when the camera has a user name.
fn label(serial: &str, user_name: &str, ip: Ipv4Addr) -> String {
    match (serial.is_empty(), user_name.is_empty()) {
        (true, true) => ip.to_string(),
        (false, true) => format!("{serial} ({ip})"),
        (true, false) => format!("{user_name} ({ip})"),
        (false, false) => format!("{user_name}/{serial} ({ip})"),
    }
}
