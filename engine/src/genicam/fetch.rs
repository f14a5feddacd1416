//! Retrieving a device's GenICam XML through its [`MemoryPort`].
//!
//! [`fetch_xml`] reads the first URL register, falls back to the second when
//! the first gives no document, reads the document in chunks no larger than a
//! GVCP READMEM allows, unzips it when it is an archive and decodes it.
//!
//! Invariants: every read is 4-byte aligned and a multiple of 4 bytes long
//! (GVCP READMEM reads whole words), at most `chunk_size` bytes; at most
//! [`MAX_XML_LEN`] bytes are read or unpacked, whatever the device claims;
//! nothing is ever written to the device.

use std::io::{Cursor, Read};

use super::error::GenicamError;
use super::port::MemoryPort;
use super::url::{
    url_from_register, XmlUrl, FIRST_URL_REGISTER, SECOND_URL_REGISTER, URL_REGISTER_LEN,
};

/// The largest payload of one GVCP READMEM, and the default chunk size.
pub const READMEM_MAX: usize = 512;

/// The largest XML document (or archive, or unpacked archive) we accept:
/// real documents are a few MiB at most, and the bound caps allocations a
/// device's URL or archive header could otherwise dictate.
pub const MAX_XML_LEN: u64 = 64 * 1024 * 1024;

/// A device's GenICam XML and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceXml {
    /// The document text.
    pub text: String,
    /// The URL exactly as the device's register held it.
    pub url_text: String,
    /// The URL parsed.
    pub url: XmlUrl,
    /// Address of the URL register it was named in (0x0200 or 0x0400).
    pub register: u64,
}

/// Fetch the device's XML in chunks of [`READMEM_MAX`] bytes.
pub fn fetch_xml(port: &dyn MemoryPort) -> Result<DeviceXml, GenicamError> {
    fetch_xml_chunked(port, READMEM_MAX)
}

/// Fetch the device's XML reading at most `chunk_size` bytes at a time
/// (a positive multiple of 4).
///
/// The first URL register is tried first; if it gives no document (empty,
/// malformed, off-device, unreadable, not unpackable) the second is tried.
/// When both fail the error carries both reasons, unless the second register
/// is simply empty, in which case the first reason is returned alone.
pub fn fetch_xml_chunked(
    port: &dyn MemoryPort,
    chunk_size: usize,
) -> Result<DeviceXml, GenicamError> {
    check_chunk_size(chunk_size)?;
    let first = match fetch_from_register(port, FIRST_URL_REGISTER, chunk_size) {
        Ok(xml) => return Ok(xml),
        Err(err) => err,
    };
    tracing::debug!(error = %first, "first URL gave no XML; trying the second");
    match fetch_from_register(port, SECOND_URL_REGISTER, chunk_size) {
        Ok(xml) => Ok(xml),
        Err(GenicamError::NoUrl { .. }) => Err(first),
        Err(second) => Err(GenicamError::NoXml {
            first: Box::new(first),
            second: Box::new(second),
        }),
    }
}

/// Fetch the document the URL register at `register` names.
fn fetch_from_register(
    port: &dyn MemoryPort,
    register: u64,
    chunk_size: usize,
) -> Result<DeviceXml, GenicamError> {
    let context = if register == FIRST_URL_REGISTER {
        "the first URL register"
    } else {
        "the second URL register"
    };
    let bytes = read_chunked(port, register, URL_REGISTER_LEN, chunk_size, context)?;
    let url_text = url_from_register(register, &bytes)?;
    let url = XmlUrl::parse(&url_text)?;
    let local = match &url {
        XmlUrl::Local(local) => local,
        XmlUrl::File(_) | XmlUrl::Http(_) => {
            return Err(GenicamError::XmlNotOnDevice { url: url_text });
        }
    };
    if local.length > MAX_XML_LEN {
        return Err(GenicamError::BadUrl {
            url: url_text,
            problem: format!(
                "its length {} bytes is above the {MAX_XML_LEN}-byte limit for an XML document",
                local.length
            ),
        });
    }
    let context = format!("the XML document {url_text}");
    // `local.length` is at most MAX_XML_LEN, so it fits in usize.
    let data = read_chunked(
        port,
        local.address,
        local.length as usize,
        chunk_size,
        &context,
    )?;
    let text = xml_from_bytes(&url_text, local.is_zip(), &data)?;
    Ok(DeviceXml {
        text,
        url_text,
        url,
        register,
    })
}

fn check_chunk_size(chunk_size: usize) -> Result<(), GenicamError> {
    if chunk_size == 0 || chunk_size % 4 != 0 {
        return Err(GenicamError::ChunkSize { chunk_size });
    }
    Ok(())
}

/// Read `len` bytes at `address` through reads of at most `chunk_size`
/// bytes, each 4-byte aligned and a whole number of words; `context` says in
/// errors what was being read.
///
/// The aligned window may extend up to 3 bytes either side of the range
/// asked for; those bytes are read and dropped.
pub fn read_chunked(
    port: &dyn MemoryPort,
    address: u64,
    len: usize,
    chunk_size: usize,
    context: &str,
) -> Result<Vec<u8>, GenicamError> {
    check_chunk_size(chunk_size)?;
    let port_error = |at: u64, n: usize, source| GenicamError::Port {
        operation: "reading",
        address: at,
        len: n,
        context: context.to_string(),
        source,
    };
    let start = address & !3;
    let end = address
        .checked_add(len as u64)
        .and_then(|end| end.checked_add(3))
        .map(|end| end & !3)
        .ok_or_else(|| {
            port_error(
                address,
                len,
                "the range runs past the end of the 64-bit address space".into(),
            )
        })?;
    let mut window = Vec::with_capacity((end - start) as usize);
    let mut at = start;
    while at < end {
        let n = ((end - at) as usize).min(chunk_size);
        let chunk = port.read_memory(at, n).map_err(|e| port_error(at, n, e))?;
        if chunk.len() != n {
            return Err(port_error(
                at,
                n,
                format!("the port returned {} bytes", chunk.len()).into(),
            ));
        }
        window.extend_from_slice(&chunk);
        at += n as u64;
    }
    let skip = (address - start) as usize;
    window.drain(..skip);
    window.truncate(len);
    Ok(window)
}

/// The XML text in `data` as read from `url` (a device URL or a file name):
/// unzipped when `zipped` is true or the data starts with a zip signature,
/// then decoded (UTF-8, or Latin-1 when it is not UTF-8), without a BOM.
///
/// Also what the CLI uses for `--xml FILE`, which may be a `.zip`.
pub fn xml_from_bytes(url: &str, zipped: bool, data: &[u8]) -> Result<String, GenicamError> {
    const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
    let unpacked;
    let bytes = if zipped || data.starts_with(ZIP_MAGIC) {
        unpacked = unzip_xml(url, data)?;
        &unpacked[..]
    } else {
        data
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    Ok(match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        // Some vendor documents declare ISO-8859-1; each byte is its code point.
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    })
}

/// The `.xml` member of a zip archive (the first one, or the only file).
fn unzip_xml(url: &str, archive: &[u8]) -> Result<Vec<u8>, GenicamError> {
    let fail = |problem: String| GenicamError::Unzip {
        url: url.to_string(),
        problem,
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(archive))
        .map_err(|e| fail(format!("it is not a zip archive ({e})")))?;
    let mut files = Vec::new();
    for index in 0..zip.len() {
        let entry = zip
            .by_index(index)
            .map_err(|e| fail(format!("entry {index} is unreadable ({e})")))?;
        if entry.is_file() {
            let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
            files.push((index, name));
        }
    }
    let chosen = files
        .iter()
        .find(|(_, name)| name.to_ascii_lowercase().ends_with(".xml"))
        .or(match files.as_slice() {
            [only] => Some(only),
            _ => None,
        });
    let Some((index, name)) = chosen else {
        let names: Vec<&str> = files.iter().map(|(_, n)| n.as_str()).collect();
        return Err(fail(format!(
            "it holds no .xml file (files: [{}])",
            names.join(", ")
        )));
    };
    let entry = zip
        .by_index(*index)
        .map_err(|e| fail(format!("{name} is unreadable ({e})")))?;
    if entry.size() > MAX_XML_LEN {
        return Err(fail(format!(
            "{name} unpacks to {} bytes, above the {MAX_XML_LEN}-byte limit",
            entry.size()
        )));
    }
    let mut xml = Vec::with_capacity(entry.size() as usize);
    // The declared size can lie: bound the read itself too.
    entry
        .take(MAX_XML_LEN + 1)
        .read_to_end(&mut xml)
        .map_err(|e| fail(format!("{name} does not unpack ({e})")))?;
    if xml.len() as u64 > MAX_XML_LEN {
        return Err(fail(format!(
            "{name} unpacks to more than the {MAX_XML_LEN}-byte limit"
        )));
    }
    Ok(xml)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genicam::memory::RegisterSpace;
    use std::cell::RefCell;

    /// A port that records every read and delegates to a register space.
    struct Recording<'a> {
        space: &'a RegisterSpace,
        reads: RefCell<Vec<(u64, usize)>>,
    }

    impl MemoryPort for Recording<'_> {
        fn read_memory(
            &self,
            address: u64,
            len: usize,
        ) -> Result<Vec<u8>, crate::genicam::PortError> {
            self.reads.borrow_mut().push((address, len));
            self.space.read_memory(address, len)
        }
        fn write_memory(&self, _: u64, _: &[u8]) -> Result<(), crate::genicam::PortError> {
            Err("fetching the XML must not write".into())
        }
    }

    #[test]
    fn chunked_reads_are_aligned_bounded_and_exact() {
        let space = RegisterSpace::new();
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        space.put_bytes(0x1001, &data);
        let port = Recording {
            space: &space,
            reads: RefCell::new(Vec::new()),
        };
        let got = read_chunked(&port, 0x1001, data.len(), 64, "test").unwrap();
        assert_eq!(got, data);
        let reads = port.reads.borrow();
        assert!(reads
            .iter()
            .all(|&(a, n)| a % 4 == 0 && n % 4 == 0 && n <= 64));
        assert_eq!(reads.first(), Some(&(0x1000, 64)));
        // 0x1000..0x13EC covers 0x1001..0x13E9, rounded out to words.
        let total: usize = reads.iter().map(|&(_, n)| n).sum();
        assert_eq!(total, 0x3EC);
    }

    #[test]
    fn bad_chunk_sizes_are_refused() {
        let space = RegisterSpace::new();
        for size in [0, 3, 510] {
            assert!(matches!(
                read_chunked(&space, 0, 4, size, "test"),
                Err(GenicamError::ChunkSize { chunk_size }) if chunk_size == size
            ));
        }
    }

    #[test]
    fn a_short_answer_from_the_port_is_an_error() {
        struct Short;
        impl MemoryPort for Short {
            fn read_memory(
                &self,
                _: u64,
                len: usize,
            ) -> Result<Vec<u8>, crate::genicam::PortError> {
                Ok(vec![0; len / 2])
            }
            fn write_memory(&self, _: u64, _: &[u8]) -> Result<(), crate::genicam::PortError> {
                Ok(())
            }
        }
        let err = read_chunked(&Short, 0x100, 8, 512, "test").unwrap_err();
        assert!(err.to_string().contains("returned 4 bytes"), "{err}");
    }

    #[test]
    fn latin1_and_bom_are_decoded() {
        assert_eq!(
            xml_from_bytes("f.xml", false, b"\xEF\xBB\xBF<a/>").unwrap(),
            "<a/>"
        );
        assert_eq!(
            xml_from_bytes("f.xml", false, b"<a>\xB5s</a>").unwrap(),
            "<a>\u{b5}s</a>"
        );
    }

    #[test]
    fn a_zip_url_with_non_zip_data_says_so() {
        let err = xml_from_bytes("Local:x.zip;0;4", true, b"<RegisterDescription/>").unwrap_err();
        assert!(matches!(err, GenicamError::Unzip { .. }), "{err}");
        assert!(err.to_string().contains("not a zip archive"), "{err}");
    }
}
