//! What the XML says about a feature, without asking the device: its kind,
//! access, labels, visibility, unit and category.
//!
//! Invariants: everything here is derived from the XML alone, so it can be
//! listed offline (`gvcap features --xml FILE`); viva-genapi's node types
//! are mapped onto our own small enums and never leak through this API.

use std::fmt;

use viva_genapi::{Node, SkOutput};

/// How a feature's value is typed, as the CLI and code see it.
///
/// Computed nodes are folded into the kind of their value: an IntConverter
/// or integer SwissKnife is `Integer`, a Converter or float SwissKnife is
/// `Float`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    /// A whole number.
    Integer,
    /// A real number.
    Float,
    /// One of a list of named entries.
    Enumeration,
    /// On or off.
    Boolean,
    /// An action to execute.
    Command,
    /// Text.
    String,
    /// Raw bytes.
    Register,
    /// A group of features.
    Category,
    /// A node kind the engine knows but this API does not expose.
    Other,
}

impl FeatureKind {
    /// The kind with its indefinite article: "an Integer", "a Float".
    pub fn with_article(self) -> String {
        let name = self.to_string();
        let article = if matches!(
            self,
            FeatureKind::Integer | FeatureKind::Enumeration | FeatureKind::Other
        ) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }

    pub(crate) fn of(node: &Node) -> FeatureKind {
        let by_output = |output: SkOutput| match output {
            SkOutput::Integer => FeatureKind::Integer,
            SkOutput::Float => FeatureKind::Float,
        };
        match node {
            Node::Integer(_) | Node::IntConverter(_) => FeatureKind::Integer,
            Node::Float(_) => FeatureKind::Float,
            Node::Converter(converter) => by_output(converter.output),
            Node::SwissKnife(sk) => by_output(sk.output),
            Node::Enum(_) => FeatureKind::Enumeration,
            Node::Boolean(_) => FeatureKind::Boolean,
            Node::Command(_) => FeatureKind::Command,
            Node::String(_) => FeatureKind::String,
            Node::Register(_) => FeatureKind::Register,
            Node::Category(_) => FeatureKind::Category,
            _ => FeatureKind::Other,
        }
    }
}

impl fmt::Display for FeatureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeatureKind::Integer => "Integer",
            FeatureKind::Float => "Float",
            FeatureKind::Enumeration => "Enumeration",
            FeatureKind::Boolean => "Boolean",
            FeatureKind::Command => "Command",
            FeatureKind::String => "String",
            FeatureKind::Register => "Register",
            FeatureKind::Category => "Category",
            FeatureKind::Other => "Other",
        })
    }
}

/// Whether a feature can be read, written or both, as the XML declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read only (`RO`).
    ReadOnly,
    /// Write only (`WO`), as commands are.
    WriteOnly,
    /// Read and write (`RW`).
    ReadWrite,
}

impl Access {
    pub(crate) fn from_viva(mode: viva_genapi::AccessMode) -> Access {
        match mode {
            viva_genapi::AccessMode::RO => Access::ReadOnly,
            viva_genapi::AccessMode::WO => Access::WriteOnly,
            viva_genapi::AccessMode::RW => Access::ReadWrite,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::ReadOnly => "RO",
            Access::WriteOnly => "WO",
            Access::ReadWrite => "RW",
        })
    }
}

/// Who a feature is meant for, from the XML's `<Visibility>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Visibility {
    /// Everyone (the default).
    Beginner,
    /// Experienced users.
    Expert,
    /// Integrators.
    Guru,
    /// Not shown in user interfaces.
    Invisible,
}

impl Visibility {
    pub(crate) fn from_viva(level: viva_genapi::Visibility) -> Visibility {
        match level {
            viva_genapi::Visibility::Beginner => Visibility::Beginner,
            viva_genapi::Visibility::Expert => Visibility::Expert,
            viva_genapi::Visibility::Guru => Visibility::Guru,
            viva_genapi::Visibility::Invisible => Visibility::Invisible,
            // A level added to the standard later: hide it rather than show
            // it to beginners.
            _ => Visibility::Invisible,
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Visibility::Beginner => "Beginner",
            Visibility::Expert => "Expert",
            Visibility::Guru => "Guru",
            Visibility::Invisible => "Invisible",
        })
    }
}

/// One feature as the XML describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureInfo {
    /// The feature's name, as `get` and `set` take it.
    pub name: String,
    /// Its value kind.
    pub kind: FeatureKind,
    /// The engine's node type: "Integer" (also for an IntReg), "SwissKnife",
    /// "StringReg".
    pub node_type: &'static str,
    /// Declared access along its value chain; `None` for a category or a
    /// chain that allows neither reading nor writing.
    pub access: Option<Access>,
    /// `<DisplayName>`.
    pub display_name: Option<String>,
    /// `<Description>`.
    pub description: Option<String>,
    /// `<ToolTip>`.
    pub tooltip: Option<String>,
    /// `<Visibility>`.
    pub visibility: Visibility,
    /// `<Unit>`: "us", "dB".
    pub unit: Option<String>,
    /// The categories above it, outermost first, without `Root`; empty when
    /// no category lists it.
    pub category: Vec<String>,
}
