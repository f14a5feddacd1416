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
    /// Builds both copies of the document.
    pub fn build() -> Self {
        let plain = XML.as_bytes().to_vec();
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
        let files = XmlFiles::build();
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
}
