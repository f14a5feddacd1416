//! The URL a GigE Vision device gives for its GenICam XML, as text and parsed.
//!
//! A device names its XML in two bootstrap registers (first URL at 0x0200,
//! second at 0x0400, 512 bytes each, NUL-terminated ASCII). The GenICam
//! standard defines three forms:
//!
//! - `Local:[///]name.xml;ADDR;LEN[?SchemaVersion=x.y.z]`: the document is
//!   in device memory, ADDR and LEN in hexadecimal (with or without `0x`);
//!   `name.zip` means a zip archive holding the document;
//! - `File:...`: a file on the host;
//! - `http://...`: a web address.
//!
//! Invariants: parsing never panics and never allocates more than the text
//! it is given; scheme names compare case-insensitively; a `Local` URL
//! always has a non-empty file name and a non-zero length.

use std::fmt;

use super::error::GenicamError;

/// Address of the first URL register in the GigE Vision bootstrap map.
pub const FIRST_URL_REGISTER: u64 = 0x0200;
/// Address of the second URL register in the GigE Vision bootstrap map.
pub const SECOND_URL_REGISTER: u64 = 0x0400;
/// Length in bytes of each URL register.
pub const URL_REGISTER_LEN: usize = 512;

/// Where a device says its GenICam XML is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlUrl {
    /// In device memory.
    Local(LocalXml),
    /// A file on the host: the URL as the device gave it.
    File(String),
    /// A web address: the URL as the device gave it.
    Http(String),
}

/// A document stored in device memory (`Local:` URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalXml {
    /// File name, without leading slashes: `arv-fake-camera.xml`.
    pub file_name: String,
    /// Address of the first byte in device memory.
    pub address: u64,
    /// Length of the document (or of the archive) in bytes; never zero.
    pub length: u64,
    /// The `?SchemaVersion=` suffix, if present: `1.1.0`.
    pub schema_version: Option<String>,
}

impl LocalXml {
    /// Whether the file name says the document is a zip archive.
    pub fn is_zip(&self) -> bool {
        self.file_name.to_ascii_lowercase().ends_with(".zip")
    }
}

impl fmt::Display for XmlUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlUrl::Local(local) => {
                write!(
                    f,
                    "Local:{};{:x};{:x}",
                    local.file_name, local.address, local.length
                )?;
                if let Some(version) = &local.schema_version {
                    write!(f, "?SchemaVersion={version}")?;
                }
                Ok(())
            }
            XmlUrl::File(text) | XmlUrl::Http(text) => f.write_str(text),
        }
    }
}

impl XmlUrl {
    /// Parse a URL as a device writes it into a URL register.
    pub fn parse(text: &str) -> Result<XmlUrl, GenicamError> {
        let bad = |problem: &str| GenicamError::BadUrl {
            url: text.to_string(),
            problem: problem.to_string(),
        };
        let trimmed = text.trim();
        let Some((scheme, rest)) = trimmed.split_once(':') else {
            return Err(bad("it has no scheme (expected Local:, File: or http:)"));
        };
        match scheme.trim().to_ascii_lowercase().as_str() {
            "local" => parse_local(rest).map(XmlUrl::Local).map_err(bad),
            "file" => Ok(XmlUrl::File(trimmed.to_string())),
            "http" | "https" => Ok(XmlUrl::Http(trimmed.to_string())),
            _ => Err(bad(
                "its scheme is not one GenICam defines (expected Local:, File: or http:)",
            )),
        }
    }
}

/// Parse the part of a `Local:` URL after the colon.
fn parse_local(rest: &str) -> Result<LocalXml, &'static str> {
    let (body, query) = match rest.split_once('?') {
        Some((body, query)) => (body, Some(query)),
        None => (rest, None),
    };
    let schema_version = match query {
        None => None,
        Some(query) => Some(schema_version(query)?),
    };
    let mut fields = body.split(';');
    let (Some(name), Some(address), Some(length), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err("a Local URL has three fields separated by ';': name;address;length");
    };
    let file_name = name.trim().trim_start_matches('/').trim();
    if file_name.is_empty() {
        return Err("its file name is empty");
    }
    let address = parse_hex(address).ok_or("its address is not a hexadecimal number")?;
    let length = parse_hex(length).ok_or("its length is not a hexadecimal number")?;
    if length == 0 {
        return Err("its length is zero");
    }
    Ok(LocalXml {
        file_name: file_name.to_string(),
        address,
        length,
        schema_version,
    })
}

/// The value of `SchemaVersion=` in a URL's query.
fn schema_version(query: &str) -> Result<String, &'static str> {
    for pair in query.split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            if key.trim().eq_ignore_ascii_case("SchemaVersion") && !value.trim().is_empty() {
                return Ok(value.trim().to_string());
            }
        }
    }
    Err("its '?' suffix is not SchemaVersion=x.y.z")
}

/// A hexadecimal number, with or without `0x`.
fn parse_hex(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// The URL text held in a URL register's bytes: up to the first NUL,
/// without surrounding whitespace. `register` names the register in errors.
pub fn url_from_register(register: u64, bytes: &[u8]) -> Result<String, GenicamError> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let raw = &bytes[..end];
    if !raw.is_ascii() {
        return Err(GenicamError::BadUrl {
            url: String::from_utf8_lossy(raw).into_owned(),
            problem: format!("the URL register at {register:#06x} holds non-ASCII bytes"),
        });
    }
    // ASCII is UTF-8, so this cannot fail; the lossy form avoids a panic path.
    let text = String::from_utf8_lossy(raw).trim().to_string();
    if text.is_empty() {
        return Err(GenicamError::NoUrl { register });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> LocalXml {
        match XmlUrl::parse(text) {
            Ok(XmlUrl::Local(local)) => local,
            other => panic!("{text}: expected a Local URL, got {other:?}"),
        }
    }

    #[test]
    fn aravis_fake_camera_url_without_0x() {
        // The spelling Aravis's fake camera writes: "%x" for both numbers.
        let url = local("Local:arv-fake-camera.xml;10000;3a7f");
        assert_eq!(url.file_name, "arv-fake-camera.xml");
        assert_eq!(url.address, 0x10000);
        assert_eq!(url.length, 0x3a7f);
        assert_eq!(url.schema_version, None);
        assert!(!url.is_zip());
    }

    #[test]
    fn addresses_with_0x_and_mixed_case_hex() {
        let url = local("Local:arv-fake-camera.xml;0x10000;0X1A2b");
        assert_eq!((url.address, url.length), (0x10000, 0x1a2b));
    }

    #[test]
    fn triple_slash_zip_with_schema_version() {
        let url = local("Local:///Vendor_Model_v1.zip;C0000000;16A9C?SchemaVersion=1.1.0");
        assert_eq!(url.file_name, "Vendor_Model_v1.zip");
        assert_eq!(url.address, 0xC000_0000);
        assert_eq!(url.length, 0x16A9C);
        assert_eq!(url.schema_version.as_deref(), Some("1.1.0"));
        assert!(url.is_zip());
    }

    #[test]
    fn scheme_is_case_insensitive_and_whitespace_tolerated() {
        let url = local("  local:cam.XML ; 8000 ; 0x100 \r\n");
        assert_eq!(url.file_name, "cam.XML");
        assert_eq!((url.address, url.length), (0x8000, 0x100));
        assert!(local("LOCAL:cam.ZIP;0;1").is_zip());
    }

    #[test]
    fn addresses_beyond_32_bits() {
        let url = local("Local:x.xml;0x100000000;4");
        assert_eq!(url.address, 0x1_0000_0000);
    }

    #[test]
    fn file_and_http_urls_are_recognised_not_fetched() {
        assert_eq!(
            XmlUrl::parse("File:///C|/Program Files/cam.xml").unwrap(),
            XmlUrl::File("File:///C|/Program Files/cam.xml".into())
        );
        assert_eq!(
            XmlUrl::parse("http://www.example.com/cam.zip?SchemaVersion=1.0.0").unwrap(),
            XmlUrl::Http("http://www.example.com/cam.zip?SchemaVersion=1.0.0".into())
        );
        assert!(matches!(
            XmlUrl::parse("HTTPS://example.com/x.xml"),
            Ok(XmlUrl::Http(_))
        ));
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        for (text, expected) in [
            ("cam.xml;0;10", "no scheme"),
            ("ftp:cam.xml", "scheme"),
            ("Local:cam.xml;10000", "three fields"),
            ("Local:cam.xml;10000;10;5", "three fields"),
            ("Local:;10000;10", "file name is empty"),
            ("Local:///;10000;10", "file name is empty"),
            ("Local:cam.xml;zz;10", "address"),
            ("Local:cam.xml;0x;10", "address"),
            ("Local:cam.xml;10000;", "length"),
            ("Local:cam.xml;10000;-4", "length"),
            ("Local:cam.xml;10000;0", "length is zero"),
            ("Local:cam.xml;10000;11112222333344445", "length"),
            ("Local:cam.xml;10000;10?Version", "SchemaVersion"),
        ] {
            match XmlUrl::parse(text) {
                Err(GenicamError::BadUrl { url, problem }) => {
                    assert_eq!(url, text);
                    assert!(
                        problem.contains(expected),
                        "{text}: problem {problem:?} lacks {expected:?}"
                    );
                }
                other => panic!("{text}: expected BadUrl, got {other:?}"),
            }
        }
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        let url = XmlUrl::parse("local:///cam.zip;0x0C0000;0X10?SchemaVersion=1.0.0").unwrap();
        assert_eq!(
            url.to_string(),
            "Local:cam.zip;c0000;10?SchemaVersion=1.0.0"
        );
        assert_eq!(XmlUrl::parse(&url.to_string()).unwrap(), url);
    }

    #[test]
    fn register_bytes_stop_at_nul() {
        let mut register = [0u8; URL_REGISTER_LEN];
        let text = b"Local:cam.xml;10000;20";
        register[..text.len()].copy_from_slice(text);
        // Garbage after the terminator is not part of the URL.
        register[text.len() + 1..text.len() + 4].copy_from_slice(b"xyz");
        assert_eq!(
            url_from_register(FIRST_URL_REGISTER, &register).unwrap(),
            "Local:cam.xml;10000;20"
        );
    }

    #[test]
    fn register_without_nul_uses_all_bytes() {
        let text = b"Local:a.xml;0;4";
        assert_eq!(
            url_from_register(FIRST_URL_REGISTER, text).unwrap(),
            "Local:a.xml;0;4"
        );
    }

    #[test]
    fn empty_and_non_ascii_registers_are_errors() {
        let zeros = [0u8; URL_REGISTER_LEN];
        assert!(matches!(
            url_from_register(SECOND_URL_REGISTER, &zeros),
            Err(GenicamError::NoUrl { register: 0x400 })
        ));
        let err = url_from_register(FIRST_URL_REGISTER, b"Local:\xff.xml;0;4\0").unwrap_err();
        assert!(err.to_string().contains("non-ASCII"), "{err}");
        assert!(err.to_string().contains("0x0200"), "{err}");
    }
}
