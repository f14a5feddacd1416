//! Which features each camera is driven through: the method chosen from the
//! features its XML declares.
//!
//! Invariants: a plan is chosen from the XML alone (no device access); it is
//! either complete (every feature the sequence will touch is declared, every
//! enumeration entry it will write is declared) or refused with the list of
//! what is missing, so the sequence never discovers a missing feature
//! half-way through writing the group. Preference order: Emergent names
//! (PtpMode, PtpStatus, PtpOffset, PtpAcquisitionGateTime), then SFNC
//! (PtpEnable, PtpStatus, PtpDataSetLatch, PtpOffsetFromMaster), then
//! legacy GigE Vision (GevIEEE1588, GevIEEE1588Status); a gate-time feature
//! is preferred over scheduled ACTION commands.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use crate::genicam::{FeatureKind, FeatureMap, FeatureValue};

use super::config::SyncConfig;
use super::op::LatchVia;

/// The features a camera's XML declares, with the entries of its enumerations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureSet {
    names: BTreeSet<String>,
    entries: BTreeMap<String, Vec<String>>,
}

impl FeatureSet {
    /// An empty set.
    pub fn new() -> Self {
        FeatureSet::default()
    }

    /// Every node of `map`, with the entries of every Enumeration.
    pub fn from_feature_map(map: &FeatureMap) -> Self {
        let mut set = FeatureSet::new();
        for info in map.list() {
            if info.kind == FeatureKind::Enumeration {
                let entries = map.enum_entries(&info.name).unwrap_or_default();
                set.insert_enum(&info.name, entries);
            } else {
                set.insert(&info.name);
            }
        }
        set
    }

    /// Adds a feature that is not an enumeration.
    pub fn insert(&mut self, name: &str) {
        self.names.insert(name.to_string());
    }

    /// Adds an enumeration with its entries.
    pub fn insert_enum<S: Into<String>>(
        &mut self,
        name: &str,
        entries: impl IntoIterator<Item = S>,
    ) {
        self.names.insert(name.to_string());
        self.entries.insert(
            name.to_string(),
            entries.into_iter().map(Into::into).collect(),
        );
    }

    /// This set with `name` added (builder form of [`FeatureSet::insert`]).
    pub fn with(mut self, name: &str) -> Self {
        self.insert(name);
        self
    }

    /// This set with the enumeration `name` added.
    pub fn with_enum(mut self, name: &str, entries: &[&str]) -> Self {
        self.insert_enum(name, entries.iter().copied());
        self
    }

    /// Whether the XML declares `name`.
    pub fn has(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The entries of the enumeration `name`, if it is one.
    pub fn entries(&self, name: &str) -> Option<&[String]> {
        self.entries.get(name).map(Vec::as_slice)
    }

    /// Whether the enumeration `name` declares `entry`.
    pub fn has_entry(&self, name: &str, entry: &str) -> bool {
        self.entries(name)
            .is_some_and(|entries| entries.iter().any(|e| e == entry))
    }

    fn first_of(&self, candidates: &[&'static str]) -> Option<&'static str> {
        candidates.iter().copied().find(|name| self.has(name))
    }
}

/// Whose feature names a camera's PTP control uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Naming {
    /// Emergent Vision: PtpMode (Off, OneStep, TwoStep), PtpStatus, PtpOffset.
    Emergent,
    /// SFNC: PtpEnable, PtpStatus, PtpDataSetLatch, PtpOffsetFromMaster.
    Sfnc,
    /// GigE Vision 1.x/2.0 names: GevIEEE1588, GevIEEE1588Status.
    Legacy,
}

/// How PTP is switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PtpSwitch {
    /// The PtpMode enumeration is set to the requested mode's entry.
    Mode,
    /// A Boolean (PtpEnable, GevIEEE1588) is set to true; the mode is not selectable.
    Enable(&'static str),
}

/// Which trigger a scheduled ACTION fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionTrigger {
    /// One ACTION at the gate starts a free-running acquisition.
    AcquisitionStart,
    /// One ACTION per frame, at gate + n × period.
    FrameStart,
}

/// How the camera is started at one PTP time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartMethod {
    /// Write PtpAcquisitionGateTime (ns of PTP time), then AcquisitionStart.
    GateTime,
    /// Write PtpAcquisitionGateTimeHigh and …Low, then AcquisitionStart.
    GateTimeHighLow,
    /// AcquisitionStart arms the camera; scheduled ACTIONs fire the trigger.
    ScheduledAction(ActionTrigger),
}

/// One write of the settings broadcast.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The feature.
    pub feature: &'static str,
    /// The value written.
    pub value: FeatureValue,
    /// Whether the value is read back and compared (not for write-only keys).
    pub read_back: bool,
}

/// The features one camera is driven through.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraPlan {
    /// Whose PTP feature names the camera uses.
    pub naming: Naming,
    /// How PTP is switched on.
    pub switch: PtpSwitch,
    /// The status enumeration (its Slave entry means locked).
    pub status: &'static str,
    /// A command to execute before reading the status and offset (dataset latch).
    pub dataset_latch: Option<&'static str>,
    /// The offset from master, in ns, when the camera has one.
    pub offset: Option<&'static str>,
    /// How the camera is started.
    pub start: StartMethod,
    /// How the camera's time is latched.
    pub latch: LatchVia,
    /// A feature that reads non-zero while the camera streams.
    pub streaming_probe: Option<&'static str>,
    /// The frame rate feature.
    pub frame_rate: &'static str,
    /// The settings broadcast, in the order they are written.
    pub settings: Vec<Setting>,
}

const EMERGENT_GATE: &str = "PtpAcquisitionGateTime";
const EMERGENT_GATE_HIGH: &str = "PtpAcquisitionGateTimeHigh";
const EMERGENT_GATE_LOW: &str = "PtpAcquisitionGateTimeLow";

impl CameraPlan {
    /// The gate-time features this plan writes, in order (empty for ACTION).
    pub fn gate_features(&self) -> &'static [&'static str] {
        match self.start {
            StartMethod::GateTime => &[EMERGENT_GATE],
            StartMethod::GateTimeHighLow => &[EMERGENT_GATE_HIGH, EMERGENT_GATE_LOW],
            StartMethod::ScheduledAction(_) => &[],
        }
    }

    /// The method in words, for the report: "Emergent PtpMode, gate PtpAcquisitionGateTime".
    pub fn method(&self) -> String {
        let ptp = match (self.naming, self.switch) {
            (_, PtpSwitch::Mode) => "Emergent PtpMode".to_string(),
            (Naming::Legacy, PtpSwitch::Enable(name)) => format!("legacy {name}"),
            (_, PtpSwitch::Enable(name)) => format!("SFNC {name}"),
        };
        let start = match self.start {
            StartMethod::GateTime => format!("gate {EMERGENT_GATE}"),
            StartMethod::GateTimeHighLow => format!("gate {EMERGENT_GATE_HIGH}/Low"),
            StartMethod::ScheduledAction(ActionTrigger::AcquisitionStart) => {
                "scheduled ACTION (AcquisitionStart trigger)".to_string()
            }
            StartMethod::ScheduledAction(ActionTrigger::FrameStart) => {
                "scheduled ACTION per frame (FrameStart trigger)".to_string()
            }
        };
        format!("{ptp}, {start}")
    }

    /// Chooses the plan for a camera whose XML declares `features`, or says
    /// everything that is missing.
    pub fn choose(features: &FeatureSet, config: &SyncConfig) -> Result<CameraPlan, Vec<String>> {
        let mut missing = Vec::new();
        let mode = config.ptp_mode.entry();

        let ptp = if features.has("PtpMode") && features.has("PtpStatus") {
            if !features.has_entry("PtpMode", mode) {
                let have = features.entries("PtpMode").unwrap_or_default().join(", ");
                missing.push(format!(
                    "PtpMode has no entry {mode} (it has {have}): the camera cannot run {} PTP",
                    config.ptp_mode
                ));
            }
            Some((
                Naming::Emergent,
                PtpSwitch::Mode,
                "PtpStatus",
                None,
                features.first_of(&["PtpOffset", "PtpOffsetFromMaster"]),
            ))
        } else if features.has("PtpEnable") && features.has("PtpStatus") {
            Some((
                Naming::Sfnc,
                PtpSwitch::Enable("PtpEnable"),
                "PtpStatus",
                features.first_of(&["PtpDataSetLatch"]),
                features.first_of(&["PtpOffsetFromMaster"]),
            ))
        } else if features.has("GevIEEE1588") && features.has("GevIEEE1588Status") {
            let latch = features.first_of(&["GevIEEE1588DataSetLatch"]);
            let status = if latch.is_some() && features.has("GevIEEE1588StatusLatched") {
                "GevIEEE1588StatusLatched"
            } else {
                "GevIEEE1588Status"
            };
            Some((
                Naming::Legacy,
                PtpSwitch::Enable("GevIEEE1588"),
                status,
                latch,
                features.first_of(&["GevIEEE1588OffsetFromMaster"]),
            ))
        } else {
            missing.push(
                "no PTP control: none of PtpMode+PtpStatus (Emergent), PtpEnable+PtpStatus (SFNC) \
                 or GevIEEE1588+GevIEEE1588Status (GigE Vision)"
                    .to_string(),
            );
            None
        };

        let has_action = ["ActionDeviceKey", "ActionGroupKey", "ActionGroupMask"]
            .iter()
            .all(|name| features.has(name))
            && features.has_entry("TriggerSource", "Action1");
        let start = if features.has(EMERGENT_GATE) {
            Some(StartMethod::GateTime)
        } else if features.has(EMERGENT_GATE_HIGH) && features.has(EMERGENT_GATE_LOW) {
            Some(StartMethod::GateTimeHighLow)
        } else if has_action {
            if features.has_entry("TriggerSelector", "AcquisitionStart") {
                Some(StartMethod::ScheduledAction(
                    ActionTrigger::AcquisitionStart,
                ))
            } else {
                Some(StartMethod::ScheduledAction(ActionTrigger::FrameStart))
            }
        } else {
            missing.push(
                "no way to start at a PTP time: no PtpAcquisitionGateTime (or …High/…Low) and no \
                 scheduled ACTION support (ActionDeviceKey, ActionGroupKey, ActionGroupMask, \
                 TriggerSource entry Action1)"
                    .to_string(),
            );
            None
        };

        let frame_rate = features.first_of(&["AcquisitionFrameRate", "AcquisitionFrameRateAbs"]);
        if frame_rate.is_none() {
            missing.push("no AcquisitionFrameRate (nor AcquisitionFrameRateAbs)".to_string());
        }
        for name in ["AcquisitionStart", "AcquisitionStop", "TriggerMode"] {
            if !features.has(name) {
                missing.push(format!("no {name}"));
            }
        }
        let gated = matches!(
            start,
            Some(StartMethod::GateTime | StartMethod::GateTimeHighLow)
        );
        let (acquisition_mode, trigger_source) = if gated {
            ("MultiFrame", "Software")
        } else {
            ("Continuous", "Action1")
        };
        for (name, entry) in [
            ("AcquisitionMode", acquisition_mode),
            ("TriggerSource", trigger_source),
        ] {
            if !features.has_entry(name, entry) {
                missing.push(format!("{name} has no entry {entry}"));
            }
        }
        if gated && !features.has("AcquisitionFrameCount") {
            missing.push("no AcquisitionFrameCount".to_string());
        }

        let (Some((naming, switch, status, dataset_latch, offset)), Some(start), Some(frame_rate)) =
            (ptp, start, frame_rate)
        else {
            return Err(missing);
        };
        if !missing.is_empty() {
            return Err(missing);
        }

        let set = |feature: &'static str, value: FeatureValue| Setting {
            feature,
            value,
            read_back: true,
        };
        let entry = |text: &str| FeatureValue::Enumeration(text.to_string());
        let mut settings = Vec::new();
        let selector = match start {
            StartMethod::ScheduledAction(ActionTrigger::AcquisitionStart) => "AcquisitionStart",
            _ => "FrameStart",
        };
        if features.has_entry("TriggerSelector", selector) {
            settings.push(set("TriggerSelector", entry(selector)));
        }
        settings.push(set("AcquisitionMode", entry(acquisition_mode)));
        settings.push(set("TriggerMode", entry("On")));
        settings.push(set("TriggerSource", entry(trigger_source)));
        if gated {
            settings.push(set("AcquisitionFrameCount", FeatureValue::Integer(1)));
        }
        settings.push(match switch {
            PtpSwitch::Mode => set("PtpMode", entry(mode)),
            PtpSwitch::Enable(name) => set(name, FeatureValue::Boolean(true)),
        });
        if features.has("AcquisitionFrameRateEnable") {
            settings.push(set(
                "AcquisitionFrameRateEnable",
                FeatureValue::Boolean(true),
            ));
        }
        settings.push(set(frame_rate, FeatureValue::Float(config.frame_rate_hz)));
        if !gated {
            if features.has("ActionSelector") {
                settings.push(set("ActionSelector", FeatureValue::Integer(1)));
            }
            let keys = config.action_keys;
            for (feature, value) in [
                ("ActionDeviceKey", keys.device_key),
                ("ActionGroupKey", keys.group_key),
                ("ActionGroupMask", keys.group_mask),
            ] {
                settings.push(Setting {
                    feature,
                    value: FeatureValue::Integer(i64::from(value)),
                    read_back: false,
                });
            }
        }

        let latch = if features.has("GevTimestampControlLatch") && features.has("GevTimestampValue")
        {
            LatchVia::Features {
                latch: "GevTimestampControlLatch",
                value: "GevTimestampValue",
                tick_frequency: features.first_of(&["GevTimestampTickFrequency"]),
            }
        } else if features.has("TimestampLatch") && features.has("TimestampLatchValue") {
            LatchVia::Features {
                latch: "TimestampLatch",
                value: "TimestampLatchValue",
                tick_frequency: None,
            }
        } else {
            LatchVia::Bootstrap
        };

        Ok(CameraPlan {
            naming,
            switch,
            status,
            dataset_latch,
            offset,
            start,
            latch,
            streaming_probe: features.first_of(&["TLParamsLocked"]),
            frame_rate,
            settings,
        })
    }
}

impl fmt::Display for CameraPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.method())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::config::PtpMode;

    fn acquisition() -> FeatureSet {
        FeatureSet::new()
            .with("AcquisitionStart")
            .with("AcquisitionStop")
            .with("AcquisitionFrameRate")
            .with("AcquisitionFrameCount")
            .with_enum(
                "AcquisitionMode",
                &["Continuous", "SingleFrame", "MultiFrame"],
            )
            .with_enum("TriggerMode", &["Off", "On"])
            .with_enum("TriggerSource", &["Software", "Line0", "Action1"])
    }

    fn emergent() -> FeatureSet {
        acquisition()
            .with_enum("PtpMode", &["Off", "OneStep", "TwoStep"])
            .with_enum(
                "PtpStatus",
                &["Disabled", "Listening", "Uncalibrated", "Slave"],
            )
            .with("PtpOffset")
            .with("PtpAcquisitionGateTime")
            .with("GevTimestampControlLatch")
            .with("GevTimestampValue")
            .with("TLParamsLocked")
    }

    fn config() -> SyncConfig {
        SyncConfig::new(PtpMode::TwoStep, 30.0)
    }

    #[test]
    fn emergent_camera_gets_the_gate_time_and_the_workflow_settings() {
        let plan = CameraPlan::choose(&emergent(), &config()).unwrap();
        assert_eq!(plan.naming, Naming::Emergent);
        assert_eq!(plan.start, StartMethod::GateTime);
        assert_eq!(plan.offset, Some("PtpOffset"));
        assert_eq!(plan.streaming_probe, Some("TLParamsLocked"));
        let written: Vec<String> = plan
            .settings
            .iter()
            .map(|s| format!("{}={}", s.feature, s.value))
            .collect();
        assert_eq!(
            written,
            [
                "AcquisitionMode=MultiFrame",
                "TriggerMode=On",
                "TriggerSource=Software",
                "AcquisitionFrameCount=1",
                "PtpMode=TwoStep",
                "AcquisitionFrameRate=30"
            ]
        );
        assert_eq!(
            plan.method(),
            "Emergent PtpMode, gate PtpAcquisitionGateTime"
        );
        assert!(matches!(
            plan.latch,
            LatchVia::Features {
                value: "GevTimestampValue",
                ..
            }
        ));
    }

    #[test]
    fn high_low_gate_is_used_when_the_single_feature_is_absent() {
        let mut features = emergent();
        features.names.remove("PtpAcquisitionGateTime");
        let features = features
            .with("PtpAcquisitionGateTimeHigh")
            .with("PtpAcquisitionGateTimeLow");
        let plan = CameraPlan::choose(&features, &config()).unwrap();
        assert_eq!(plan.start, StartMethod::GateTimeHighLow);
        assert_eq!(plan.gate_features().len(), 2);
    }

    #[test]
    fn a_missing_mode_entry_is_refused_naming_the_entries() {
        let features = emergent().with_enum("PtpMode", &["Off", "TwoStep"]);
        let config = SyncConfig::new(PtpMode::OneStep, 30.0);
        let missing = CameraPlan::choose(&features, &config).unwrap_err();
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("no entry OneStep"), "{missing:?}");
        assert!(missing[0].contains("Off, TwoStep"), "{missing:?}");
    }

    #[test]
    fn sfnc_camera_without_gate_uses_scheduled_actions() {
        let features = acquisition()
            .with("PtpEnable")
            .with_enum("PtpStatus", &["Listening", "Slave"])
            .with("PtpDataSetLatch")
            .with("PtpOffsetFromMaster")
            .with("ActionDeviceKey")
            .with("ActionGroupKey")
            .with("ActionGroupMask")
            .with("ActionSelector")
            .with_enum("TriggerSelector", &["FrameStart", "AcquisitionStart"]);
        let plan = CameraPlan::choose(&features, &config()).unwrap();
        assert_eq!(plan.naming, Naming::Sfnc);
        assert_eq!(
            plan.start,
            StartMethod::ScheduledAction(ActionTrigger::AcquisitionStart)
        );
        assert_eq!(plan.dataset_latch, Some("PtpDataSetLatch"));
        assert_eq!(plan.latch, LatchVia::Bootstrap);
        assert!(plan
            .settings
            .iter()
            .any(|s| s.feature == "TriggerSource" && s.value.to_string() == "Action1"));
        let key = plan
            .settings
            .iter()
            .find(|s| s.feature == "ActionDeviceKey")
            .unwrap();
        assert!(!key.read_back);
        assert!(plan
            .method()
            .starts_with("SFNC PtpEnable, scheduled ACTION"));
    }

    #[test]
    fn legacy_camera_with_frame_start_only_gets_per_frame_actions() {
        let features = acquisition()
            .with("GevIEEE1588")
            .with_enum("GevIEEE1588Status", &["Listening", "Slave"])
            .with("ActionDeviceKey")
            .with("ActionGroupKey")
            .with("ActionGroupMask")
            .with_enum("TriggerSelector", &["FrameStart"]);
        let plan = CameraPlan::choose(&features, &config()).unwrap();
        assert_eq!(plan.naming, Naming::Legacy);
        assert_eq!(plan.status, "GevIEEE1588Status");
        assert_eq!(plan.offset, None);
        assert_eq!(
            plan.start,
            StartMethod::ScheduledAction(ActionTrigger::FrameStart)
        );
        assert_eq!(plan.settings[0].feature, "TriggerSelector");
    }

    #[test]
    fn a_camera_without_ptp_or_start_lists_everything_missing() {
        let missing = CameraPlan::choose(&FeatureSet::new(), &config()).unwrap_err();
        let text = missing.join("\n");
        assert!(text.contains("no PTP control"), "{text}");
        assert!(text.contains("no way to start at a PTP time"), "{text}");
        assert!(text.contains("AcquisitionFrameRate"), "{text}");
        assert!(
            text.contains("AcquisitionMode has no entry MultiFrame")
                || text.contains("AcquisitionMode has no entry Continuous"),
            "{text}"
        );
    }
}
