//! What the commands print: tables for people, JSON for programs.

use gvcap::device::{format_mac, Discovered};
use gvcap::genicam::{FeatureInfo, FeatureValue};
use serde::Serialize;

/// One camera in `discover --json`.
#[derive(Debug, Serialize)]
pub(crate) struct DiscoveredJson {
    ip: String,
    mac: String,
    serial: String,
    model: String,
    vendor: String,
    user_name: String,
    device_version: String,
    interface: String,
    host_ip: String,
}

impl From<&Discovered> for DiscoveredJson {
    fn from(d: &Discovered) -> Self {
        DiscoveredJson {
            ip: d.identity.ip.to_string(),
            mac: format_mac(&d.identity.mac),
            serial: d.identity.serial.clone(),
            model: d.identity.model.clone(),
            vendor: d.identity.manufacturer.clone(),
            user_name: d.identity.user_name.clone(),
            device_version: d.identity.device_version.clone(),
            interface: d.interface.clone(),
            host_ip: d.host_ip.to_string(),
        }
    }
}

/// Prints the discovery table.
pub(crate) fn print_discovered(found: &[Discovered]) {
    if found.is_empty() {
        println!("no camera answered");
        return;
    }
    println!(
        "{:<16} {:<17} {:<16} {:<24} {:<20} {:<16} INTERFACE",
        "IP", "MAC", "SERIAL", "MODEL", "VENDOR", "USER NAME"
    );
    for d in found {
        let i = &d.identity;
        println!(
            "{:<16} {:<17} {:<16} {:<24} {:<20} {:<16} {}",
            i.ip.to_string(),
            format_mac(&i.mac),
            i.serial,
            i.model,
            i.manufacturer,
            i.user_name,
            d.interface
        );
    }
}

/// One feature in `features --json`.
#[derive(Debug, Serialize)]
pub(crate) struct FeatureJson<'a> {
    name: &'a str,
    kind: String,
    access: Option<String>,
    visibility: String,
    category: String,
    unit: Option<&'a str>,
    display_name: Option<&'a str>,
    description: Option<&'a str>,
}

impl<'a> From<&'a FeatureInfo> for FeatureJson<'a> {
    fn from(f: &'a FeatureInfo) -> Self {
        FeatureJson {
            name: &f.name,
            kind: f.kind.to_string(),
            access: f.access.map(|a| a.to_string()),
            visibility: f.visibility.to_string(),
            category: f.category.join("/"),
            unit: f.unit.as_deref(),
            display_name: f.display_name.as_deref(),
            description: f.description.as_deref(),
        }
    }
}

/// Prints the feature table.
pub(crate) fn print_features(features: &[&FeatureInfo]) {
    for f in features {
        println!(
            "{:<40} {:<12} {:<3} {}",
            f.name,
            f.kind.to_string(),
            f.access
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            f.category.join("/")
        );
    }
    println!("{} features", features.len());
}

/// A feature value as JSON: numbers as numbers, the rest as strings.
pub(crate) fn value_json(value: &FeatureValue) -> serde_json::Value {
    match value {
        FeatureValue::Integer(v) => serde_json::json!(v),
        FeatureValue::Float(v) => serde_json::json!(v),
        FeatureValue::Boolean(v) => serde_json::json!(v),
        FeatureValue::Enumeration(v) | FeatureValue::String(v) => serde_json::json!(v),
        other => serde_json::json!(other.to_string()),
    }
}
