//! A camera's features by name: the node map built from its XML, read and
//! written through a [`MemoryPort`].
//!
//! Invariants:
//! - every write is checked before anything is sent: the feature exists, is
//!   of a kind that can be set, is writable, available and not locked, the
//!   text parses as its kind and the value lies in its current range; a
//!   refused write sends nothing to the device;
//! - viva-genapi keeps its caches consistent after our writes (it
//!   invalidates the nodes that depend on what was written);
//!   [`FeatureMap::invalidate_all`] is for changes the XML does not describe;
//! - the map is behind a mutex, so a `FeatureMap` is `Send + Sync` and one
//!   operation (with the device reads it needs) runs at a time.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Mutex, MutexGuard};

use viva_genapi::{AccessMode, GenApiError, NodeMap, ValueRange};

use super::error::GenicamError;
use super::fetch::{fetch_xml, DeviceXml};
use super::info::{Access, FeatureInfo, FeatureKind, Visibility};
use super::port::MemoryPort;
use super::port_io::PortIo;
use super::value::{
    parse_bool, parse_bytes, parse_float, parse_integer, FeatureRange, FeatureValue,
};

/// A camera's GenICam features, built from its XML.
pub struct FeatureMap {
    map: Mutex<NodeMap>,
    /// Each node's first parent category, in document order.
    parents: HashMap<String, String>,
}

impl fmt::Debug for FeatureMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureMap")
            .field("nodes", &self.len())
            .finish_non_exhaustive()
    }
}

/// The error for `name` when it is not of a kind an operation accepts.
fn wrong_kind(
    name: &str,
    kind: FeatureKind,
    wanted: &'static str,
    hint: &'static str,
) -> GenicamError {
    GenicamError::WrongKind {
        feature: name.to_string(),
        kind: kind.with_article(),
        wanted,
        hint,
    }
}

fn genapi(name: &str) -> impl FnOnce(GenApiError) -> GenicamError + '_ {
    move |err| GenicamError::from_genapi(name, err)
}

fn to_range(kind: FeatureKind, range: ValueRange) -> FeatureRange {
    match kind {
        // `as` saturates, so an i64 bound carried as f64 comes back whole.
        FeatureKind::Integer => FeatureRange::Integer {
            min: range.min as i64,
            max: range.max as i64,
            inc: range.inc.map(|i| i as i64).filter(|&i| i >= 1).unwrap_or(1),
        },
        _ => FeatureRange::Float {
            min: range.min,
            max: range.max,
            inc: range.inc,
        },
    }
}

const HINT_KIND: &str = "use the accessor for its kind, or `get`/`set_from_str`";
const HINT_CATEGORY: &str = "a Category only groups features; `gvcap features CAM` lists them";
const HINT_COMMAND: &str = "a Command is executed, not set";

impl FeatureMap {
    /// Build the feature map from GenICam XML text.
    ///
    /// A node the engine cannot build is left out and listed by
    /// [`FeatureMap::skipped`]; the rest of the document still loads.
    pub fn from_xml(xml: &str) -> Result<FeatureMap, GenicamError> {
        let model =
            viva_genapi_xml::parse(xml).map_err(|source| GenicamError::XmlParse { source })?;
        let map =
            NodeMap::try_from_xml(model).map_err(|source| GenicamError::NodeMap { source })?;
        if !map.skipped().is_empty() {
            tracing::warn!(
                count = map.skipped().len(),
                "some nodes of the camera's XML could not be built and are left out"
            );
        }
        let mut parents = HashMap::new();
        for name in map.node_names() {
            if let Some(viva_genapi::Node::Category(category)) = map.node(name) {
                for child in &category.children {
                    parents
                        .entry(child.clone())
                        .or_insert_with(|| name.to_string());
                }
            }
        }
        Ok(FeatureMap {
            map: Mutex::new(map),
            parents,
        })
    }

    /// Fetch the XML from the device (see [`fetch_xml`]) and build its map.
    pub fn from_device(port: &dyn MemoryPort) -> Result<(FeatureMap, DeviceXml), GenicamError> {
        let xml = fetch_xml(port)?;
        let map = FeatureMap::from_xml(&xml.text)?;
        Ok((map, xml))
    }

    fn lock(&self) -> MutexGuard<'_, NodeMap> {
        // A panic inside the engine leaves at worst stale caches behind.
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many nodes the map holds.
    pub fn len(&self) -> usize {
        self.lock().node_names().count()
    }

    /// Whether the map holds no node at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The XML's `VendorName` and `ModelName`.
    pub fn vendor_and_model(&self) -> (String, String) {
        let map = self.lock();
        let identity = map.identity();
        (identity.vendor_name.clone(), identity.model_name.clone())
    }

    /// Nodes of the XML the engine could not build, one line each
    /// ("<Tag> Name: reason"); empty for a document fully understood.
    pub fn skipped(&self) -> Vec<String> {
        self.lock()
            .skipped()
            .iter()
            .map(|node| {
                format!(
                    "<{}> {}: {}",
                    node.tag,
                    node.name.as_deref().unwrap_or("(unnamed)"),
                    node.error
                )
            })
            .collect()
    }

    fn category_path(&self, name: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut seen = HashSet::new();
        let mut current = name;
        while let Some(parent) = self.parents.get(current) {
            if !seen.insert(parent.as_str()) {
                break;
            }
            path.push(parent.clone());
            current = parent;
        }
        path.reverse();
        if path.first().map(String::as_str) == Some("Root") {
            path.remove(0);
        }
        path
    }

    fn describe(&self, map: &NodeMap, name: &str) -> Option<FeatureInfo> {
        let node = map.node(name)?;
        Some(FeatureInfo {
            name: name.to_string(),
            kind: FeatureKind::of(node),
            node_type: node.kind_name(),
            access: map.declared_access_mode(name).map(Access::from_viva),
            display_name: node.display_name().map(str::to_string),
            description: node.description().map(str::to_string),
            tooltip: node.tooltip().map(str::to_string),
            visibility: Visibility::from_viva(node.visibility()),
            unit: node.unit().map(str::to_string),
            category: self.category_path(name),
        })
    }

    /// Every node of the XML in document order, described from the XML
    /// alone (no device needed).
    pub fn list(&self) -> Vec<FeatureInfo> {
        let map = self.lock();
        map.node_names()
            .filter_map(|name| self.describe(&map, name))
            .collect()
    }

    /// One feature, described from the XML alone.
    pub fn info(&self, name: &str) -> Result<FeatureInfo, GenicamError> {
        let map = self.lock();
        self.describe(&map, name)
            .ok_or_else(|| GenicamError::UnknownFeature {
                feature: name.to_string(),
            })
    }

    /// The kind of the feature `name`.
    pub fn kind(&self, name: &str) -> Result<FeatureKind, GenicamError> {
        kind_of(&self.lock(), name)
    }

    /// Every entry the XML declares for the Enumeration `name`, in order.
    pub fn enum_entries(&self, name: &str) -> Result<Vec<String>, GenicamError> {
        let map = self.lock();
        expect_kind(&map, name, FeatureKind::Enumeration, "an Enumeration")?;
        map.enum_entries(name).map_err(genapi(name))
    }

    /// The current value of `name`, read from the device.
    ///
    /// A Command has no value and gives [`FeatureValue::Command`]; a feature
    /// that is not available now is an error, not a stale value.
    pub fn get(&self, port: &dyn MemoryPort, name: &str) -> Result<FeatureValue, GenicamError> {
        let map = self.lock();
        let io = PortIo::new(port);
        let kind = kind_of(&map, name)?;
        match kind {
            FeatureKind::Command => return Ok(FeatureValue::Command),
            FeatureKind::Category | FeatureKind::Other => {
                return Err(wrong_kind(
                    name,
                    kind,
                    "a feature with a value",
                    HINT_CATEGORY,
                ));
            }
            _ => {}
        }
        ensure_available(&map, &io, name)?;
        let value = match kind {
            FeatureKind::Integer => map.get_integer(name, &io).map(FeatureValue::Integer),
            FeatureKind::Float => map.get_float(name, &io).map(FeatureValue::Float),
            FeatureKind::Enumeration => map.get_enum(name, &io).map(FeatureValue::Enumeration),
            FeatureKind::Boolean => map.get_bool(name, &io).map(FeatureValue::Boolean),
            FeatureKind::String => map.get_string(name, &io).map(FeatureValue::String),
            _ => map.get_register(name, &io).map(FeatureValue::Register),
        };
        value.map_err(genapi(name))
    }

    /// Set `name` from text parsed by its kind: an integer in decimal or
    /// `0x` hex, a float, an enumeration entry name, `true`/`false`/`1`/`0`,
    /// a string as is, register bytes in hex.
    ///
    /// Refused before anything is sent when the feature is read-only,
    /// unavailable or locked, when the text does not parse, or when the
    /// value is outside the current range or off the increment.
    pub fn set_from_str(
        &self,
        port: &dyn MemoryPort,
        name: &str,
        text: &str,
    ) -> Result<(), GenicamError> {
        let mut map = self.lock();
        let io = PortIo::new(port);
        let kind = kind_of(&map, name)?;
        match kind {
            FeatureKind::Command => {
                return Err(wrong_kind(
                    name,
                    kind,
                    "a feature that is set",
                    HINT_COMMAND,
                ));
            }
            FeatureKind::Category | FeatureKind::Other => {
                return Err(wrong_kind(
                    name,
                    kind,
                    "a feature that is set",
                    HINT_CATEGORY,
                ));
            }
            _ => {}
        }
        ensure_settable(&map, &io, name)?;
        let invalid = |expected| GenicamError::InvalidText {
            feature: name.to_string(),
            text: text.to_string(),
            expected,
        };
        match kind {
            FeatureKind::Integer => {
                let value = parse_integer(text)
                    .ok_or_else(|| invalid("an integer (decimal, or hexadecimal after 0x)"))?;
                write_integer(&mut map, &io, name, value)
            }
            FeatureKind::Float => {
                let value = parse_float(text).ok_or_else(|| invalid("a finite number"))?;
                write_float(&mut map, &io, name, value)
            }
            FeatureKind::Enumeration => write_enum(&mut map, &io, name, text.trim()),
            FeatureKind::Boolean => {
                let value = parse_bool(text).ok_or_else(|| invalid("true, false, 1 or 0"))?;
                map.set_bool(name, value, &io).map_err(genapi(name))
            }
            FeatureKind::String => write_string(&mut map, &io, name, text),
            _ => {
                let bytes = parse_bytes(text)
                    .ok_or_else(|| invalid("bytes in hex, two digits each (0x00ff10)"))?;
                map.set_register(name, &bytes, &io).map_err(genapi(name))
            }
        }
    }

    /// Read the Integer `name`.
    pub fn get_integer(&self, port: &dyn MemoryPort, name: &str) -> Result<i64, GenicamError> {
        let map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Integer, "an Integer")?;
        ensure_available(&map, &io, name)?;
        map.get_integer(name, &io).map_err(genapi(name))
    }

    /// Write the Integer `name`, checked against its current range first.
    pub fn set_integer(
        &self,
        port: &dyn MemoryPort,
        name: &str,
        value: i64,
    ) -> Result<(), GenicamError> {
        let mut map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Integer, "an Integer")?;
        ensure_settable(&map, &io, name)?;
        write_integer(&mut map, &io, name, value)
    }

    /// Read the Float `name`.
    pub fn get_float(&self, port: &dyn MemoryPort, name: &str) -> Result<f64, GenicamError> {
        let map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Float, "a Float")?;
        ensure_available(&map, &io, name)?;
        map.get_float(name, &io).map_err(genapi(name))
    }

    /// Write the Float `name`, checked against its current range first.
    pub fn set_float(
        &self,
        port: &dyn MemoryPort,
        name: &str,
        value: f64,
    ) -> Result<(), GenicamError> {
        let mut map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Float, "a Float")?;
        ensure_settable(&map, &io, name)?;
        if !value.is_finite() {
            return Err(GenicamError::InvalidText {
                feature: name.to_string(),
                text: value.to_string(),
                expected: "a finite number",
            });
        }
        write_float(&mut map, &io, name, value)
    }

    /// The name of the current entry of the Enumeration `name`.
    pub fn get_enum(&self, port: &dyn MemoryPort, name: &str) -> Result<String, GenicamError> {
        let map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Enumeration, "an Enumeration")?;
        ensure_available(&map, &io, name)?;
        map.get_enum(name, &io).map_err(genapi(name))
    }

    /// Select the entry `entry` of the Enumeration `name`.
    pub fn set_enum(
        &self,
        port: &dyn MemoryPort,
        name: &str,
        entry: &str,
    ) -> Result<(), GenicamError> {
        let mut map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Enumeration, "an Enumeration")?;
        ensure_settable(&map, &io, name)?;
        write_enum(&mut map, &io, name, entry)
    }

    /// Read the Boolean `name`.
    pub fn get_bool(&self, port: &dyn MemoryPort, name: &str) -> Result<bool, GenicamError> {
        let map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Boolean, "a Boolean")?;
        ensure_available(&map, &io, name)?;
        map.get_bool(name, &io).map_err(genapi(name))
    }

    /// Write the Boolean `name`.
    pub fn set_bool(
        &self,
        port: &dyn MemoryPort,
        name: &str,
        value: bool,
    ) -> Result<(), GenicamError> {
        let mut map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Boolean, "a Boolean")?;
        ensure_settable(&map, &io, name)?;
        map.set_bool(name, value, &io).map_err(genapi(name))
    }

    /// Read the String `name`.
    pub fn get_string(&self, port: &dyn MemoryPort, name: &str) -> Result<String, GenicamError> {
        let map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::String, "a String")?;
        ensure_available(&map, &io, name)?;
        map.get_string(name, &io).map_err(genapi(name))
    }

    /// Execute the Command `name`.
    pub fn execute(&self, port: &dyn MemoryPort, name: &str) -> Result<(), GenicamError> {
        let mut map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Command, "a Command")?;
        map.exec_command(name, &io).map_err(genapi(name))
    }

    /// Whether the Command `name` has finished (GenICam's `IsDone`).
    pub fn is_done(&self, port: &dyn MemoryPort, name: &str) -> Result<bool, GenicamError> {
        let map = self.lock();
        let io = PortIo::new(port);
        expect_kind(&map, name, FeatureKind::Command, "a Command")?;
        map.is_done(name, &io).map_err(genapi(name))
    }

    /// Whether `name` is implemented and available in the device's current
    /// state.
    pub fn is_available(&self, port: &dyn MemoryPort, name: &str) -> Result<bool, GenicamError> {
        let map = self.lock();
        kind_of(&map, name)?;
        map.is_available(name, &PortIo::new(port))
            .map_err(genapi(name))
    }

    /// Whether `name` can be written now: writable along its value chain,
    /// available and not locked.
    pub fn is_writable(&self, port: &dyn MemoryPort, name: &str) -> Result<bool, GenicamError> {
        let map = self.lock();
        kind_of(&map, name)?;
        let mode = map
            .effective_access_mode(name, &PortIo::new(port))
            .map_err(genapi(name))?;
        Ok(matches!(mode, AccessMode::RW | AccessMode::WO))
    }

    /// The current range of the Integer or Float `name`, its `pMin`/`pMax`
    /// read from the device; `None` when the XML bounds it on neither side
    /// or on one side only.
    pub fn range(
        &self,
        port: &dyn MemoryPort,
        name: &str,
    ) -> Result<Option<FeatureRange>, GenicamError> {
        let map = self.lock();
        let kind = kind_of(&map, name)?;
        if !matches!(kind, FeatureKind::Integer | FeatureKind::Float) {
            return Err(wrong_kind(name, kind, "an Integer or a Float", HINT_KIND));
        }
        current_range(&map, &PortIo::new(port), name, kind)
    }

    /// Forget the cached value of `name` and of what depends on it, so the
    /// next read asks the device.
    pub fn invalidate(&self, name: &str) {
        self.lock().invalidate(name);
    }

    /// Forget every cached value: after the device changed in ways its XML
    /// does not describe (a user set loaded, another client's writes).
    pub fn invalidate_all(&self) {
        self.lock().invalidate_all();
    }
}

fn kind_of(map: &NodeMap, name: &str) -> Result<FeatureKind, GenicamError> {
    map.node(name)
        .map(FeatureKind::of)
        .ok_or_else(|| GenicamError::UnknownFeature {
            feature: name.to_string(),
        })
}

fn expect_kind(
    map: &NodeMap,
    name: &str,
    wanted: FeatureKind,
    wanted_text: &'static str,
) -> Result<(), GenicamError> {
    let kind = kind_of(map, name)?;
    if kind != wanted {
        return Err(wrong_kind(name, kind, wanted_text, HINT_KIND));
    }
    Ok(())
}

fn ensure_available(map: &NodeMap, io: &PortIo<'_>, name: &str) -> Result<(), GenicamError> {
    if map.is_available(name, io).map_err(genapi(name))? {
        Ok(())
    } else {
        Err(GenicamError::NotAvailable {
            feature: name.to_string(),
        })
    }
}

/// Writable by declaration, available and not locked.
fn ensure_settable(map: &NodeMap, io: &PortIo<'_>, name: &str) -> Result<(), GenicamError> {
    if matches!(map.declared_access_mode(name), Some(AccessMode::RO) | None) {
        return Err(GenicamError::ReadOnly {
            feature: name.to_string(),
        });
    }
    ensure_available(map, io, name)?;
    let lock = map
        .node(name)
        .and_then(|node| node.predicates().p_is_locked.clone());
    if let Some(locked_by) = lock {
        if map.effective_access_mode(name, io).map_err(genapi(name))? == AccessMode::RO {
            return Err(GenicamError::Locked {
                feature: name.to_string(),
                locked_by,
            });
        }
    }
    Ok(())
}

fn current_range(
    map: &NodeMap,
    io: &PortIo<'_>,
    name: &str,
    kind: FeatureKind,
) -> Result<Option<FeatureRange>, GenicamError> {
    let state = map.feature_state(name, io).map_err(genapi(name))?;
    Ok(state.range.map(|range| to_range(kind, range)))
}

/// The range to check a write against. Best effort: when it cannot be read
/// the engine's own check, which also runs before anything is sent, decides.
fn range_for_write(
    map: &NodeMap,
    io: &PortIo<'_>,
    name: &str,
    kind: FeatureKind,
) -> Option<FeatureRange> {
    current_range(map, io, name, kind)
        .inspect_err(|err| tracing::debug!(%err, "range of {name} unknown before write"))
        .ok()
        .flatten()
}

fn write_integer(
    map: &mut NodeMap,
    io: &PortIo<'_>,
    name: &str,
    value: i64,
) -> Result<(), GenicamError> {
    if let Some(range) = range_for_write(map, io, name, FeatureKind::Integer) {
        if let Some(problem) = range.integer_problem(value) {
            return Err(GenicamError::OutOfRange {
                feature: name.to_string(),
                value: value.to_string(),
                problem,
                range,
            });
        }
    }
    let result = match map.node(name) {
        // A Converter with an integer output still writes through
        // `<FormulaTo>`, which viva-genapi reaches through `set_float`.
        Some(viva_genapi::Node::Converter(_)) => map.set_float(name, value as f64, io),
        _ => map.set_integer(name, value, io),
    };
    result.map_err(genapi(name))
}

fn write_float(
    map: &mut NodeMap,
    io: &PortIo<'_>,
    name: &str,
    value: f64,
) -> Result<(), GenicamError> {
    if let Some(range) = range_for_write(map, io, name, FeatureKind::Float) {
        if let Some(problem) = range.float_problem(value) {
            return Err(GenicamError::OutOfRange {
                feature: name.to_string(),
                value: value.to_string(),
                problem,
                range,
            });
        }
    }
    map.set_float(name, value, io).map_err(genapi(name))
}

fn write_enum(
    map: &mut NodeMap,
    io: &PortIo<'_>,
    name: &str,
    entry: &str,
) -> Result<(), GenicamError> {
    let entries = map.enum_entries(name).map_err(genapi(name))?;
    if !entries.iter().any(|candidate| candidate == entry) {
        return Err(GenicamError::NoSuchEntry {
            feature: name.to_string(),
            entry: entry.to_string(),
            entries,
        });
    }
    match map.set_enum(name, entry, io) {
        Err(GenApiError::EnumEntryUnavailable { .. }) => Err(GenicamError::EntryUnavailable {
            feature: name.to_string(),
            entry: entry.to_string(),
            available: map.available_enum_entries(name, io).unwrap_or_default(),
        }),
        other => other.map_err(genapi(name)),
    }
}

fn write_string(
    map: &mut NodeMap,
    io: &PortIo<'_>,
    name: &str,
    text: &str,
) -> Result<(), GenicamError> {
    // A string register holds at most its length; the engine would cut the
    // text short without a word. Only a node with a register of its own has
    // a length to check.
    if let Ok((_, len)) = map.register_address(name, io) {
        if text.len() > len as usize {
            return Err(GenicamError::ValueRefused {
                feature: name.to_string(),
                value: format!("{text:?}"),
                reason: format!(
                    "is {} bytes long, more than the {len} bytes its register holds",
                    text.len()
                ),
            });
        }
    }
    map.set_string(name, text, io).map_err(genapi(name))
}
