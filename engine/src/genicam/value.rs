//! Feature values and ranges, and the text forms the CLI reads and prints.
//!
//! Invariants: `Display` and the parsers agree: what a value prints as
//! parses back to the same value for every kind that can be set (a float
//! prints in the shortest form that reads back exactly); parsing is pure and
//! never panics.

use std::fmt;

/// A feature's current value, typed by its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureValue {
    /// An Integer (also IntConverter, integer SwissKnife).
    Integer(i64),
    /// A Float (also Converter, float SwissKnife).
    Float(f64),
    /// The symbolic name of an Enumeration's current entry.
    Enumeration(String),
    /// A Boolean.
    Boolean(bool),
    /// A String.
    String(String),
    /// A Register's raw bytes.
    Register(Vec<u8>),
    /// A Command: it has no value, it is executed.
    Command,
}

impl fmt::Display for FeatureValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureValue::Integer(v) => write!(f, "{v}"),
            // Rust's shortest round-trip form: 1000 not 1000.0, 0.1 not 0.10000000000000001.
            FeatureValue::Float(v) => write!(f, "{v}"),
            FeatureValue::Enumeration(entry) => f.write_str(entry),
            FeatureValue::Boolean(v) => write!(f, "{v}"),
            FeatureValue::String(text) => f.write_str(text),
            FeatureValue::Register(bytes) => {
                f.write_str("0x")?;
                bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
            FeatureValue::Command => f.write_str("(command)"),
        }
    }
}

/// The values a numeric feature accepts now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FeatureRange {
    /// An integer feature: `min..=max`, `min` plus multiples of `inc`.
    Integer {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// Step from `min`; 1 when the XML declares none.
        inc: i64,
    },
    /// A float feature: `min..=max`.
    Float {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
        /// Step, when declared; GenICam does not enforce it on writes.
        inc: Option<f64>,
    },
}

impl FeatureRange {
    /// Why `value` is outside this integer range, or `None` if it is inside.
    pub(crate) fn integer_problem(&self, value: i64) -> Option<&'static str> {
        let FeatureRange::Integer { min, max, inc } = *self else {
            return None;
        };
        if value < min {
            Some("it is below the minimum")
        } else if value > max {
            Some("it is above the maximum")
        } else if inc > 1 && (i128::from(value) - i128::from(min)) % i128::from(inc) != 0 {
            Some("it is not the minimum plus a multiple of the increment")
        } else {
            None
        }
    }

    /// Why `value` is outside this float range, or `None` if it is inside.
    pub(crate) fn float_problem(&self, value: f64) -> Option<&'static str> {
        let FeatureRange::Float { min, max, .. } = *self else {
            return None;
        };
        if value < min {
            Some("it is below the minimum")
        } else if value > max {
            Some("it is above the maximum")
        } else {
            None
        }
    }
}

impl fmt::Display for FeatureRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FeatureRange::Integer { min, max, inc } => {
                write!(f, "{min} to {max}")?;
                if inc > 1 {
                    write!(f, " in steps of {inc}")?;
                }
                Ok(())
            }
            FeatureRange::Float { min, max, inc } => {
                write!(f, "{min} to {max}")?;
                if let Some(inc) = inc {
                    write!(f, " in steps of {inc}")?;
                }
                Ok(())
            }
        }
    }
}

/// Decimal, or hexadecimal after `0x`; either may carry a `-`.
pub(crate) fn parse_integer(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude: i128 = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            i128::from(u64::from_str_radix(hex, 16).ok()?)
        }
        Some(_) => return None,
        None if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) => {
            body.parse::<i128>().ok()?
        }
        None => return None,
    };
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// A finite real number.
pub(crate) fn parse_float(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `true`/`false`/`1`/`0`, in any case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Hex digits, two per byte, with or without `0x`.
pub(crate) fn parse_bytes(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_in_decimal_and_hex() {
        assert_eq!(parse_integer("640"), Some(640));
        assert_eq!(parse_integer(" -12 "), Some(-12));
        assert_eq!(parse_integer("+7"), Some(7));
        assert_eq!(parse_integer("0x1F"), Some(31));
        assert_eq!(parse_integer("0XfF"), Some(255));
        assert_eq!(parse_integer("-0x10"), Some(-16));
        assert_eq!(parse_integer("0xFFFFFFFFFFFFFFFF"), None, "beyond i64");
        assert_eq!(parse_integer("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_integer("-9223372036854775808"), Some(i64::MIN));
        for bad in ["", "0x", "1.5", "12a", "--1", "0x-1", "1e3"] {
            assert_eq!(parse_integer(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn floats_bools_and_bytes_parse() {
        assert_eq!(parse_float("1e3"), Some(1000.0));
        assert_eq!(parse_float(" 12.5"), Some(12.5));
        assert_eq!(parse_float("inf"), None);
        assert_eq!(parse_float("NaN"), None);
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_bytes("0x00ff10"), Some(vec![0, 0xff, 0x10]));
        assert_eq!(parse_bytes("ABCD"), Some(vec![0xab, 0xcd]));
        assert_eq!(parse_bytes("abc"), None);
        assert_eq!(parse_bytes("0xzz"), None);
    }

    #[test]
    fn display_drops_needless_digits_and_round_trips() {
        assert_eq!(FeatureValue::Float(10000.0).to_string(), "10000");
        assert_eq!(FeatureValue::Float(0.1).to_string(), "0.1");
        assert_eq!(FeatureValue::Float(-2.5e-7).to_string(), "-0.00000025");
        for v in [0.1, 1.0 / 3.0, 123456.789, 1e-12, 9.5e20] {
            let shown = FeatureValue::Float(v).to_string();
            assert_eq!(parse_float(&shown), Some(v), "{shown}");
        }
        assert_eq!(FeatureValue::Integer(-5).to_string(), "-5");
        assert_eq!(
            FeatureValue::Enumeration("Mono8".into()).to_string(),
            "Mono8"
        );
        assert_eq!(FeatureValue::Boolean(true).to_string(), "true");
        assert_eq!(FeatureValue::Register(vec![0, 0xab]).to_string(), "0x00ab");
        assert_eq!(
            parse_bytes(&FeatureValue::Register(vec![0, 0xab]).to_string()),
            Some(vec![0, 0xab])
        );
    }

    #[test]
    fn ranges_explain_refusals() {
        let range = FeatureRange::Integer {
            min: 16,
            max: 4096,
            inc: 4,
        };
        assert_eq!(range.to_string(), "16 to 4096 in steps of 4");
        assert_eq!(range.integer_problem(16), None);
        assert_eq!(range.integer_problem(4096), None);
        assert_eq!(range.integer_problem(12), Some("it is below the minimum"));
        assert_eq!(range.integer_problem(4100), Some("it is above the maximum"));
        assert!(range.integer_problem(18).unwrap().contains("increment"));
        let wide = FeatureRange::Integer {
            min: i64::MIN,
            max: i64::MAX,
            inc: 2,
        };
        assert_eq!(
            wide.integer_problem(i64::MAX),
            Some("it is not the minimum plus a multiple of the increment")
        );
        let float = FeatureRange::Float {
            min: 10.0,
            max: 1e6,
            inc: None,
        };
        assert_eq!(float.to_string(), "10 to 1000000");
        assert_eq!(float.float_problem(9.5), Some("it is below the minimum"));
        assert_eq!(float.float_problem(10.0), None);
        assert_eq!(
            FeatureRange::Integer {
                min: 0,
                max: 7,
                inc: 1
            }
            .to_string(),
            "0 to 7"
        );
    }
}
