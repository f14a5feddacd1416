//! gvsim's GenICam XML, as the device serves it: zipped behind the first
//! URL register, plain behind the second.
//!
//! Invariants: both copies hold the same document (`gvsim.xml`, compiled
//! in); each fits in [`XML_MAX_LEN`]; the URLs name their exact address and
//! length in hexadecimal, as `Local:` URLs must.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::regmap::{XML_MAX_LEN, XML_PLAIN_ADDRESS, XML_ZIP_ADDRESS};

/// The GenICam document every gvsim camera serves.
pub const XML: &str = include_str!("gvsim.xml");

/// Which PTP feature names a camera's XML declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PtpFeatures {
    /// Emergent's (PtpMode, PtpOffset, PtpAcquisitionGateTime), SFNC's
    /// (PtpEnable, PtpDataSetLatch, PtpOffsetFromMaster) and the GigE Vision
    /// 2.0 ones (GevIEEE1588*), as `gvsim.xml` has them.
    #[default]
    All,
    /// SFNC's only, with no gate-time feature: a camera that a host must
    /// start with scheduled ACTION commands.
    Sfnc,
    /// The GigE Vision 2.0 names only (GevIEEE1588, GevIEEE1588Status,
    /// GevIEEE1588DataSetLatch, GevIEEE1588OffsetFromMaster), no gate time.
    Legacy,
}

/// The nodes an [`PtpFeatures::Sfnc`] camera does not declare.
const EMERGENT_ONLY: [&str; 5] = [
    "PtpMode",
    "PtpModeReg",
    "PtpAcquisitionGateTime",
    "PtpAcquisitionGateTimeHigh",
    "PtpAcquisitionGateTimeLow",
];

/// The GigE Vision 2.0 names, which an [`PtpFeatures::Sfnc`] camera does
/// not declare either.
const LEGACY: [&str; 4] = [
    "GevIEEE1588",
    "GevIEEE1588Status",
    "GevIEEE1588DataSetLatch",
    "GevIEEE1588OffsetFromMaster",
];

/// The SFNC (and Emergent PtpOffset) names a [`PtpFeatures::Legacy`]
/// camera does not declare; the registers behind them stay.
const SFNC: [&str; 5] = [
    "PtpEnable",
    "PtpStatus",
    "PtpDataSetLatch",
    "PtpOffsetFromMaster",
    "PtpOffset",
];

/// The document for `features`: `gvsim.xml`, less the nodes (and their
/// category entries) of the names it does not declare.
pub fn document(features: PtpFeatures) -> String {
    let dropped: &[&[&str]] = match features {
        PtpFeatures::All => &[],
        PtpFeatures::Sfnc => &[&EMERGENT_ONLY, &LEGACY],
        PtpFeatures::Legacy => &[&EMERGENT_ONLY, &SFNC],
    };
    dropped
        .iter()
        .flat_map(|names| names.iter())
        .fold(XML.to_string(), |xml, name| without_node(&xml, name))
}

/// `xml` without the top-level node named `name` and the `<pFeature>` lines
/// that list it. gvsim.xml writes one node per block, opening with
/// `<Tag Name="…"` at two spaces and closing with `</Tag>` on its own line.
fn without_node(xml: &str, name: &str) -> String {
    let listed = format!("<pFeature>{name}</pFeature>");
    let opening = format!(" Name=\"{name}\"");
    let mut out = String::with_capacity(xml.len());
    let mut closing: Option<String> = None;
    for line in xml.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(end) = &closing {
            if trimmed == end {
                closing = None;
            }
            continue;
        }
        if trimmed == listed {
            continue;
        }
        if line.starts_with("  <") && !line.starts_with("   ") && trimmed.contains(&opening) {
            let tag: String = trimmed[1..]
                .chars()
                .take_while(|c| c.is_alphanumeric())
                .collect();
            if !trimmed.ends_with(&format!("</{tag}>")) && !trimmed.ends_with("/>") {
                closing = Some(format!("</{tag}>"));
            }
            continue;
        }
        out.push_str(line);
    }
    out
}

/// The XML in device memory: zipped and plain, with the URLs naming them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlFiles {
    /// The zip archive holding `gvsim.xml`.
    pub zip: Vec<u8>,
    /// The plain document.
    pub plain: Vec<u8>,
    /// The first URL register's text (the zip).
    pub first_url: String,
    /// The second URL register's text (the plain document).
    pub second_url: String,
}

impl XmlFiles {
    /// Builds both copies of the document declaring `features`.
    pub fn build(features: PtpFeatures) -> Self {
        let plain = document(features).into_bytes();
        let zip = zip_document("gvsim.xml", &plain);
        assert!(
            zip.len() as u32 <= XML_MAX_LEN && plain.len() as u32 <= XML_MAX_LEN,
            "gvsim.xml outgrew the device memory reserved for it"
        );
        XmlFiles {
            first_url: format!("Local:gvsim.zip;{:x};{:x}", XML_ZIP_ADDRESS, zip.len()),
            second_url: format!("Local:gvsim.xml;{:x};{:x}", XML_PLAIN_ADDRESS, plain.len()),
            zip,
            plain,
        }
    }
}

/// Zips one file into an in-memory archive.
fn zip_document(name: &str, data: &[u8]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    // Writing into a Vec cannot fail; a failure here is a bug in the zip crate.
    writer
        .start_file(name, options)
        .expect("starting a file in an in-memory zip");
    writer
        .write_all(data)
        .expect("writing into an in-memory zip");
    writer
        .finish()
        .expect("finishing an in-memory zip")
        .into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gvcap::genicam::{xml_from_bytes, FeatureMap};

    #[test]
    fn both_copies_decode_to_the_document_and_build_a_feature_map() {
        let files = XmlFiles::build(PtpFeatures::All);
        assert!(files.zip.len() < files.plain.len() / 3, "deflated");
        let unzipped = xml_from_bytes(&files.first_url, true, &files.zip).unwrap();
        assert_eq!(unzipped, XML);
        let map = FeatureMap::from_xml(XML).unwrap();
        assert!(map.skipped().is_empty(), "{:?}", map.skipped());
        for name in [
            "DeviceVendorName",
            "DeviceModelName",
            "DeviceSerialNumber",
            "DeviceUserID",
            "SensorWidth",
            "SensorHeight",
            "Width",
            "Height",
            "OffsetX",
            "OffsetY",
            "PixelFormat",
            "PayloadSize",
            "AcquisitionMode",
            "AcquisitionFrameCount",
            "AcquisitionFrameRate",
            "AcquisitionStart",
            "AcquisitionStop",
            "TriggerSelector",
            "TriggerMode",
            "TriggerSource",
            "TriggerSoftware",
            "ExposureTime",
            "Gain",
            "GevSCPSPacketSize",
            "GevSCPD",
            "GevGVSPExtendedIDMode",
            "GevTimestampControlLatch",
            "GevTimestampValue",
            "ActionDeviceKey",
            "ActionGroupKey",
            "ActionGroupMask",
            "ActionSelector",
            "PtpMode",
            "PtpStatus",
            "PtpOffset",
            "PtpAcquisitionGateTime",
            "PtpAcquisitionGateTimeHigh",
            "PtpAcquisitionGateTimeLow",
            "PtpEnable",
            "PtpDataSetLatch",
            "PtpOffsetFromMaster",
        ] {
            assert!(map.info(name).is_ok(), "{name} missing");
        }
        assert_eq!(
            map.enum_entries("PixelFormat").unwrap(),
            ["Mono8", "Mono16", "BayerRG8", "RGB8"]
        );
        assert!(files.first_url.starts_with("Local:gvsim.zip;100000;"));
    }

    #[test]
    fn an_sfnc_camera_declares_no_emergent_names_and_no_gate_time() {
        let xml = document(PtpFeatures::Sfnc);
        let map = FeatureMap::from_xml(&xml).unwrap();
        assert!(map.skipped().is_empty(), "{:?}", map.skipped());
        for name in EMERGENT_ONLY.iter().chain(&LEGACY) {
            assert!(map.info(name).is_err(), "{name} still declared");
            assert!(
                !xml.contains(&format!("\"{name}\"")),
                "{name} left in the XML"
            );
            assert!(
                !xml.contains(&format!(">{name}<")),
                "{name} still referenced"
            );
        }
        for name in SFNC.iter().chain(&["ActionDeviceKey", "TriggerSource"]) {
            assert!(map.info(name).is_ok(), "{name} missing");
        }
        assert_eq!(
            map.list().len() + EMERGENT_ONLY.len() + LEGACY.len(),
            FeatureMap::from_xml(XML).unwrap().list().len(),
            "exactly those nodes are gone"
        );
        let files = XmlFiles::build(PtpFeatures::Sfnc);
        assert_eq!(
            xml_from_bytes(&files.first_url, true, &files.zip).unwrap(),
            xml
        );
    }

    #[test]
    fn a_legacy_camera_declares_only_the_gige_vision_names() {
        let xml = document(PtpFeatures::Legacy);
        let map = FeatureMap::from_xml(&xml).unwrap();
        assert!(map.skipped().is_empty(), "{:?}", map.skipped());
        for name in EMERGENT_ONLY.iter().chain(&SFNC) {
            assert!(map.info(name).is_err(), "{name} still declared");
            assert!(
                !xml.contains(&format!(">{name}<")),
                "{name} still referenced"
            );
        }
        for name in LEGACY
            .iter()
            .chain(&["PtpEnableReg", "PtpStatusReg", "ActionDeviceKey"])
        {
            assert!(map.info(name).is_ok(), "{name} missing");
        }
        assert_eq!(
            map.list().len() + EMERGENT_ONLY.len() + SFNC.len(),
            FeatureMap::from_xml(XML).unwrap().list().len(),
            "exactly those nodes are gone"
        );
    }
}
