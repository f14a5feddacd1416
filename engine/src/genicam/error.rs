//! The one error type of the GenICam layer.
//!
//! Invariants: every variant that is about a feature names it; every variant
//! about memory names the address; every message ends with what the user can
//! do about it. Errors from viva-genapi are translated here and nowhere else
//! ([`GenicamError::from_genapi`]); the ones with no better home are kept whole
//! as the `source` of [`GenicamError::Evaluation`].

use std::fmt;

use viva_genapi::swissknife::EvalError;
use viva_genapi::GenApiError;

use super::port::PortError;

/// What went wrong while fetching a camera's XML or using its features.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenicamError {
    /// The name is not a node of the camera's XML.
    #[error(
        "feature {feature} not found in the camera's XML; `gvcap features CAM` lists them \
         (names are case-sensitive)"
    )]
    UnknownFeature {
        /// The name asked for.
        feature: String,
    },
    /// The feature is of another kind than the operation needs.
    #[error("feature {feature} is {kind}, not {wanted}; {hint}")]
    WrongKind {
        /// The feature.
        feature: String,
        /// Its kind, with its article: "a Category".
        kind: String,
        /// What the operation needs: "an Integer".
        wanted: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// The feature cannot be written: its access mode, or that of a node its
    /// value goes through, is read-only.
    #[error("feature {feature} is read-only; it can be read but not set")]
    ReadOnly {
        /// The feature.
        feature: String,
    },
    /// The feature cannot be read: it is write-only.
    #[error("feature {feature} is write-only; it can be set but not read")]
    WriteOnly {
        /// The feature.
        feature: String,
    },
    /// The feature is not implemented by this device, or not available in
    /// its current state (`pIsImplemented` / `pIsAvailable` read false).
    #[error(
        "feature {feature} is not available now; it usually depends on another feature \
         (a selector, an auto mode or acquisition running): change that first"
    )]
    NotAvailable {
        /// The feature.
        feature: String,
    },
    /// The feature is locked by another one (`pIsLocked` reads true).
    #[error("feature {feature} is locked by {locked_by}; change {locked_by} first")]
    Locked {
        /// The feature.
        feature: String,
        /// The node its `pIsLocked` names.
        locked_by: String,
    },
    /// Text given for a feature does not parse as its kind. Nothing was written.
    #[error("cannot set {feature} to {text:?}: expected {expected}")]
    InvalidText {
        /// The feature.
        feature: String,
        /// The text as given.
        text: String,
        /// What the feature takes: "an integer (decimal or 0x hex)".
        expected: &'static str,
    },
    /// The enumeration has no entry of that name. Nothing was written.
    #[error("enumeration {feature} has no entry {entry:?}; valid entries: {}", entries.join(", "))]
    NoSuchEntry {
        /// The enumeration.
        feature: String,
        /// The entry asked for.
        entry: String,
        /// Every entry the XML declares.
        entries: Vec<String>,
    },
    /// The entry exists but the device does not accept it now. Nothing was
    /// written.
    #[error("enumeration {feature}'s entry {entry} is not available now; valid now: {}", available.join(", "))]
    EntryUnavailable {
        /// The enumeration.
        feature: String,
        /// The entry asked for.
        entry: String,
        /// The entries the device accepts now.
        available: Vec<String>,
    },
    /// The value lies outside the feature's current range, or off its
    /// increment. Checked before writing: nothing was written.
    #[error("cannot set {feature} to {value}: {problem}; valid values are {range}")]
    OutOfRange {
        /// The feature.
        feature: String,
        /// The value refused, as text.
        value: String,
        /// How it falls outside: "above the maximum".
        problem: &'static str,
        /// The range in force now.
        range: super::value::FeatureRange,
    },
    /// The GenICam engine refused the value for a reason the range alone does
    /// not show (a register too narrow, a converter's limit). Nothing was
    /// written.
    #[error("cannot set {feature} to {value}: it {reason}; `gvcap get CAM {feature}` shows the current value")]
    ValueRefused {
        /// The feature.
        feature: String,
        /// The value refused, as text.
        value: String,
        /// The engine's reason.
        reason: String,
    },
    /// Reading or writing device memory failed in the transport.
    #[error(
        "{operation} {len} bytes at {address:#010x} ({context}) failed: {source}; \
         check that the camera is reachable and that this client holds control"
    )]
    Port {
        /// "reading" or "writing".
        operation: &'static str,
        /// First byte address.
        address: u64,
        /// Bytes asked for or sent.
        len: usize,
        /// What the access was for: "feature Width", "the first URL register".
        context: String,
        /// The transport's error.
        #[source]
        source: PortError,
    },
    /// Evaluating a feature failed inside the GenICam engine: a formula, an
    /// address, a conversion.
    #[error(
        "evaluating feature {feature} failed: {source}; the camera's XML or its current \
         state does not give this feature a value"
    )]
    Evaluation {
        /// The feature asked for.
        feature: String,
        /// The engine's error.
        #[source]
        source: GenApiError,
    },
    /// The XML document does not parse.
    #[error("the camera's XML does not parse: {source}; check that the file is GenICam XML")]
    XmlParse {
        /// The parser's error.
        #[source]
        source: viva_genapi_xml::XmlError,
    },
    /// The XML parsed but no feature map could be built from it.
    #[error("cannot build features from the camera's XML: {source}")]
    NodeMap {
        /// The engine's error.
        #[source]
        source: GenApiError,
    },
    /// A URL register is empty.
    #[error("the URL register at {register:#06x} is empty; the camera names no XML there")]
    NoUrl {
        /// The register's address.
        register: u64,
    },
    /// A URL does not have a form we know.
    #[error(
        "the camera's XML URL {url:?} is not usable: {problem}; pass the camera's XML \
         with `--xml FILE` instead"
    )]
    BadUrl {
        /// The URL as the device gave it.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The URL points off the device: a file on a host, or a web address.
    #[error(
        "the camera's XML is not stored on the device: its URL is {url:?}; get that file \
         from the camera's vendor (or the host path it names) and pass it with `--xml FILE`"
    )]
    XmlNotOnDevice {
        /// The URL as the device gave it.
        url: String,
    },
    /// The document read from the device is not a usable zip archive.
    #[error(
        "the camera's zipped XML from {url:?} cannot be unpacked: {problem}; get the \
         camera's XML from its vendor and pass it with `--xml FILE`"
    )]
    Unzip {
        /// The URL the archive came from.
        url: String,
        /// What failed.
        problem: String,
    },
    /// The chunk size given to a chunked read is not a positive multiple of 4.
    #[error(
        "chunk size {chunk_size} is not a positive multiple of 4; GVCP reads whole \
         32-bit words (use 512)"
    )]
    ChunkSize {
        /// The size given.
        chunk_size: usize,
    },
    /// Neither URL register gave a document.
    #[error("no XML from either URL register: first: {first}; second: {second}")]
    NoXml {
        /// Why the first URL failed.
        first: Box<GenicamError>,
        /// Why the second URL failed.
        second: Box<GenicamError>,
    },
}

/// The error a [`PortIo`](super::PortIo) hands to viva-genapi: the
/// transport's error with the access that failed, so it can be recovered.
#[derive(Debug)]
pub(crate) struct PortFailure {
    pub(crate) operation: &'static str,
    pub(crate) address: u64,
    pub(crate) len: usize,
    pub(crate) source: PortError,
}

impl fmt::Display for PortFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} bytes at {:#010x} failed: {}",
            self.operation, self.len, self.address, self.source
        )
    }
}

impl std::error::Error for PortFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

impl GenicamError {
    /// Translate an error viva-genapi gave while working on `feature`.
    pub(crate) fn from_genapi(feature: &str, err: GenApiError) -> Self {
        let feature_owned = || feature.to_string();
        match err {
            GenApiError::NodeNotFound(name) if name == feature => {
                GenicamError::UnknownFeature { feature: name }
            }
            GenApiError::Access { refused, .. } => match refused {
                viva_genapi::AccessDirection::Read => GenicamError::WriteOnly {
                    feature: feature_owned(),
                },
                _ => GenicamError::ReadOnly {
                    feature: feature_owned(),
                },
            },
            GenApiError::Locked { locked_by, .. } => GenicamError::Locked {
                feature: feature_owned(),
                locked_by,
            },
            GenApiError::Unavailable(_) => GenicamError::NotAvailable {
                feature: feature_owned(),
            },
            GenApiError::Range {
                value, violation, ..
            } => GenicamError::ValueRefused {
                feature: feature_owned(),
                value: value.to_string(),
                reason: violation.to_string(),
            },
            GenApiError::RegisterLength { len, got, .. } => GenicamError::ValueRefused {
                feature: feature_owned(),
                value: format!("{got} bytes"),
                reason: format!("is not the {len} bytes the register holds"),
            },
            GenApiError::Io(source) => match source.downcast::<PortFailure>() {
                Ok(failure) => GenicamError::Port {
                    operation: failure.operation,
                    address: failure.address,
                    len: failure.len,
                    context: format!("feature {feature}"),
                    source: failure.source,
                },
                Err(other) => GenicamError::Evaluation {
                    feature: feature_owned(),
                    source: GenApiError::Io(other),
                },
            },
            other => GenicamError::Evaluation {
                feature: feature_owned(),
                source: other,
            },
        }
    }

    /// Whether this error shows a defect of the GenICam engine rather than
    /// an honest answer from the XML and the device: a formula that does not
    /// parse, a variable nobody declared, a function the engine does not know.
    ///
    /// Such an error is a bug to report; the conformance test fails on it.
    pub fn is_engine_defect(&self) -> bool {
        let GenicamError::Evaluation { source, .. } = self else {
            return false;
        };
        match source {
            GenApiError::ExprParse { .. } | GenApiError::UnknownVariable { .. } => true,
            GenApiError::ExprEval { source, .. } => matches!(
                source,
                EvalError::UnknownFunction(_) | EvalError::ArityMismatch { .. }
            ),
            _ => false,
        }
    }
}
