//! Fetching a device's XML from an in-memory register space: plain and
//! zipped documents, the fallback to the second URL, chunk sizes, and the
//! errors for URLs that do not lead to a document on the device.

use std::cell::Cell;
use std::io::{Cursor, Write};

use gvcap::genicam::{
    fetch_xml, fetch_xml_chunked, xml_from_bytes, FeatureMap, FeatureValue, GenicamError,
    MemoryPort, PortError, RegisterSpace, XmlUrl, FIRST_URL_REGISTER, SECOND_URL_REGISTER,
};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const XML: &str = include_str!("data/gvcap-test-camera.xml");

/// A zip archive holding `files`, deflated.
fn zip_archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in files {
        writer.start_file(*name, options).expect("start zip entry");
        writer.write_all(data).expect("write zip entry");
    }
    writer.finish().expect("finish zip").into_inner()
}

/// A port that forbids writes and remembers the longest read.
struct Watched<'a> {
    space: &'a RegisterSpace,
    longest_read: Cell<usize>,
    reads: Cell<usize>,
}

impl<'a> Watched<'a> {
    fn new(space: &'a RegisterSpace) -> Self {
        Self {
            space,
            longest_read: Cell::new(0),
            reads: Cell::new(0),
        }
    }
}

impl MemoryPort for Watched<'_> {
    fn read_memory(&self, address: u64, len: usize) -> Result<Vec<u8>, PortError> {
        assert_eq!(address % 4, 0, "unaligned read at {address:#x}");
        assert_eq!(len % 4, 0, "read of {len} bytes is not whole words");
        self.longest_read.set(self.longest_read.get().max(len));
        self.reads.set(self.reads.get() + 1);
        self.space.read_memory(address, len)
    }
    fn write_memory(&self, address: u64, _: &[u8]) -> Result<(), PortError> {
        panic!("fetching the XML wrote to {address:#x}");
    }
}

#[test]
fn plain_xml_is_read_in_readmem_sized_chunks() {
    let space = RegisterSpace::new();
    // The document's length is not a multiple of 4, nor of 512.
    let document = format!("{XML}\n<!-- pad -->");
    space.put_bytes(0x0010_0000, document.as_bytes());
    let url = format!("Local:gvcap-test-camera.xml;100000;{:x}", document.len());
    space.put_string(FIRST_URL_REGISTER, &url);

    let port = Watched::new(&space);
    let xml = fetch_xml(&port).unwrap();
    assert_eq!(xml.text, document);
    assert_eq!(xml.url_text, url);
    assert_eq!(xml.register, FIRST_URL_REGISTER);
    match &xml.url {
        XmlUrl::Local(local) => {
            assert_eq!(local.address, 0x0010_0000);
            assert_eq!(local.length, document.len() as u64);
            assert!(!local.is_zip());
        }
        other => panic!("expected a Local URL, got {other:?}"),
    }
    assert_eq!(port.longest_read.get(), 512);
    // One read for the URL register, then the document rounded up to words.
    let words = document.len().div_ceil(4) * 4;
    assert_eq!(port.reads.get(), 1 + words.div_ceil(512));
}

#[test]
fn chunk_size_is_a_parameter() {
    let space = RegisterSpace::new();
    space.put_bytes(0x8000, XML.as_bytes());
    space.put_string(
        FIRST_URL_REGISTER,
        &format!("Local:cam.xml;0x8000;0x{:X}", XML.len()),
    );
    let port = Watched::new(&space);
    let xml = fetch_xml_chunked(&port, 64).unwrap();
    assert_eq!(xml.text, XML);
    assert_eq!(port.longest_read.get(), 64);
    assert!(matches!(
        fetch_xml_chunked(&port, 102),
        Err(GenicamError::ChunkSize { chunk_size: 102 })
    ));
}

#[test]
fn zipped_xml_is_unpacked_and_builds_features() {
    let archive = zip_archive(&[
        ("readme.txt", b"not the document"),
        ("gvcap-test-camera.xml", XML.as_bytes()),
    ]);
    assert!(archive.len() < XML.len(), "deflated");
    let space = RegisterSpace::new();
    space.put_bytes(0x0020_0000, &archive);
    let url = format!(
        "Local:///gvcap-test-camera.zip;0x200000;0x{:x}?SchemaVersion=1.1.0",
        archive.len()
    );
    space.put_string(FIRST_URL_REGISTER, &url);
    space.put_u32(0x10000, 1280); // Width

    let xml = fetch_xml(&space).unwrap();
    assert_eq!(xml.text, XML);
    match &xml.url {
        XmlUrl::Local(local) => {
            assert!(local.is_zip());
            assert_eq!(local.schema_version.as_deref(), Some("1.1.0"));
        }
        other => panic!("expected a Local URL, got {other:?}"),
    }

    let (map, fetched) = FeatureMap::from_device(&space).unwrap();
    assert_eq!(fetched, xml);
    assert_eq!(
        map.get(&space, "Width").unwrap(),
        FeatureValue::Integer(1280)
    );
}

#[test]
fn a_zip_is_recognised_by_its_signature_too() {
    let archive = zip_archive(&[("cam.xml", XML.as_bytes())]);
    assert_eq!(xml_from_bytes("cam.bin", false, &archive).unwrap(), XML);
    assert_eq!(
        xml_from_bytes("cam.xml", false, XML.as_bytes()).unwrap(),
        XML
    );
}

#[test]
fn a_broken_or_empty_archive_is_a_clear_error() {
    let archive = zip_archive(&[("cam.xml", XML.as_bytes())]);
    let truncated = &archive[..archive.len() / 2];
    let err = xml_from_bytes("Local:cam.zip;0;100", true, truncated).unwrap_err();
    assert!(matches!(err, GenicamError::Unzip { .. }), "{err:?}");
    assert!(err.to_string().contains("--xml FILE"), "{err}");

    let no_xml = zip_archive(&[("a.txt", b"a"), ("b.txt", b"b")]);
    let err = xml_from_bytes("cam.zip", true, &no_xml).unwrap_err();
    assert!(err.to_string().contains("no .xml file"), "{err}");
    assert!(err.to_string().contains("a.txt, b.txt"), "{err}");
}

#[test]
fn falls_back_to_the_second_url() {
    let space = RegisterSpace::new();
    space.put_string(FIRST_URL_REGISTER, "File:///C|/cameras/cam.xml");
    space.put_bytes(0x9000, XML.as_bytes());
    space.put_string(
        SECOND_URL_REGISTER,
        &format!("local:cam.xml;9000;{:x}", XML.len()),
    );
    let xml = fetch_xml(&space).unwrap();
    assert_eq!(xml.register, SECOND_URL_REGISTER);
    assert_eq!(xml.text, XML);

    // A first URL whose document cannot be read also falls back.
    space.put_string(FIRST_URL_REGISTER, "Local:cam.xml;0x20000;0x100");
    space.refuse(0x20000..0x20100);
    assert_eq!(fetch_xml(&space).unwrap().register, SECOND_URL_REGISTER);
}

#[test]
fn an_off_device_url_says_to_use_xml_file() {
    for url in [
        "File:///C|/Program Files/Vendor/cam.xml",
        "http://www.example.com/cam.zip",
    ] {
        let space = RegisterSpace::new();
        space.put_string(FIRST_URL_REGISTER, url);
        let err = fetch_xml(&space).unwrap_err();
        assert!(
            matches!(&err, GenicamError::XmlNotOnDevice { url: u } if u == url),
            "{url}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("--xml FILE"), "{message}");
        assert!(message.contains("not stored on the device"), "{message}");
    }
}

#[test]
fn both_urls_failing_reports_both() {
    let space = RegisterSpace::new();
    space.put_string(FIRST_URL_REGISTER, "http://www.example.com/cam.xml");
    space.put_string(SECOND_URL_REGISTER, "Local:cam.xml;zz;10");
    let err = fetch_xml(&space).unwrap_err();
    match &err {
        GenicamError::NoXml { first, second } => {
            assert!(matches!(**first, GenicamError::XmlNotOnDevice { .. }));
            assert!(matches!(**second, GenicamError::BadUrl { .. }));
        }
        other => panic!("expected NoXml, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("example.com") && message.contains("address"),
        "{message}"
    );
}

#[test]
fn empty_url_registers_and_unreadable_documents() {
    let space = RegisterSpace::new();
    assert!(matches!(
        fetch_xml(&space),
        Err(GenicamError::NoUrl { register }) if register == FIRST_URL_REGISTER
    ));

    space.put_string(FIRST_URL_REGISTER, "Local:cam.xml;0x30000;0x400");
    space.refuse(0x30200..0x30204);
    let err = fetch_xml(&space).unwrap_err();
    match &err {
        GenicamError::Port { address, len, .. } => assert_eq!((*address, *len), (0x30200, 512)),
        other => panic!("expected a port error, got {other:?}"),
    }
    assert!(
        err.to_string().contains("the XML document Local:cam.xml"),
        "{err}"
    );

    space.put_string(FIRST_URL_REGISTER, "Local:cam.xml;0;0x10000000");
    let err = fetch_xml(&space).unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
}
