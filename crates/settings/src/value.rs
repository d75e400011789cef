//! Parsing and checking one value against its [`KeyType`].
//!
//! Environment variables and defaults are text; file values are TOML values. Both end in the
//! same checks, so a value is valid or invalid regardless of where it was written. Problems are
//! worded for the operator and never include a secret (or a database URL, which usually carries
//! a password).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine as _;

use crate::keys::KeyType;
use crate::secret::Secret;

/// A checked value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Str(String),
    Int(u64),
    Secret(Secret),
    Path(PathBuf),
    Addr(SocketAddr),
    OwnerWeights(BTreeMap<String, u32>),
}

/// Decodes a 32-byte key from standard base64 (padding optional, surrounding whitespace
/// ignored, since keys are often pasted with a trailing newline). The error never contains the
/// key.
pub(crate) fn decode_key32(text: &str) -> Result<[u8; 32], String> {
    let text = text.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| {
            "expected secret: 32 bytes, base64; the value is not valid base64".to_string()
        })?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "expected secret: 32 bytes, base64; the value decodes to {} bytes",
            bytes.len()
        )
    })
}

/// Shows a rejected non-secret value, shortened so a huge variable cannot flood the log.
fn shown(ty: KeyType, text: &str) -> String {
    if ty.is_secret() {
        return "a value (not shown)".to_string();
    }
    quoted(text)
}

/// `text` quoted and escaped (no control character reaches a terminal), at most 64
/// characters of it.
fn quoted(text: &str) -> String {
    let short: String = text.chars().take(64).collect();
    if short.len() < text.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

/// The highest fairness weight an owner may have (the engine's `limits::MAX_WEIGHT`).
pub const OWNER_WEIGHT_MAX: u32 = 1000;
/// The most owners a weights setting may name (the engine's
/// `limits::MAX_WEIGHTED_PARTITIONS`: every claim of the kind reads the map).
pub const OWNER_WEIGHTS_MAX: usize = 10_000;

/// Parses an [`KeyType::OwnerWeights`] value, `gold=3, silver=2` (blanks around names and
/// numbers ignored, empty items skipped), each owner once.
pub fn parse_owner_weights(text: &str) -> Result<BTreeMap<String, u32>, String> {
    let mut weights = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((owner, weight)) = item.split_once('=') else {
            return Err(format!("{} is not `owner=weight`", quoted(item)));
        };
        let owner = owner.trim();
        if owner.is_empty() {
            return Err(format!("{} names no owner", quoted(item)));
        }
        let weight = weight
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|w| (1..=OWNER_WEIGHT_MAX).contains(w))
            .ok_or_else(|| {
                format!(
                    "the weight of {} is not a whole number from 1 to {OWNER_WEIGHT_MAX}",
                    quoted(owner)
                )
            })?;
        if weights.insert(owner.to_string(), weight).is_some() {
            return Err(format!("{} is named twice", quoted(owner)));
        }
        if weights.len() > OWNER_WEIGHTS_MAX {
            return Err(format!("more than {OWNER_WEIGHTS_MAX} owners are named"));
        }
    }
    Ok(weights)
}

fn expected(ty: KeyType, text: &str) -> String {
    format!("expected {}, found {}", ty.describe(), shown(ty, text))
}

/// Parses text (an environment variable or a default).
pub(crate) fn parse_text(ty: KeyType, text: &str) -> Result<Value, String> {
    match ty {
        KeyType::String => {
            if text.trim().is_empty() {
                Err(expected(ty, text))
            } else {
                Ok(Value::Str(text.to_string()))
            }
        }
        KeyType::Integer { min, max } => match text.trim().parse::<u64>() {
            Ok(n) if n >= min && n <= max => Ok(Value::Int(n)),
            _ => Err(expected(ty, text)),
        },
        KeyType::Choice(options) => {
            if options.contains(&text) {
                Ok(Value::Str(text.to_string()))
            } else {
                Err(expected(ty, text))
            }
        }
        KeyType::Secret => Ok(Value::Secret(Secret::new(text))),
        KeyType::Key32 => {
            decode_key32(text)?;
            Ok(Value::Secret(Secret::new(text.trim())))
        }
        KeyType::Path => Ok(Value::Path(PathBuf::from(text))),
        KeyType::SocketAddr => text
            .trim()
            .parse::<SocketAddr>()
            .map(Value::Addr)
            .map_err(|_| expected(ty, text)),
        KeyType::PostgresUrl => has_scheme(text, &["postgres://", "postgresql://"])
            .then(|| Value::Secret(Secret::new(text)))
            .ok_or_else(|| expected(ty, text)),
        KeyType::Identifier => {
            let mut chars = text.chars();
            let first_ok = chars
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
            let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if first_ok && rest_ok && text.len() <= 63 {
                Ok(Value::Str(text.to_string()))
            } else {
                Err(expected(ty, text))
            }
        }
        KeyType::Language => {
            if is_language_tag(text) {
                Ok(Value::Str(text.to_string()))
            } else {
                Err(expected(ty, text))
            }
        }
        // A key written into the URL (`https://user:KEY@host`) would be printed wherever the
        // URL is (errors, logs, `Debug`); it belongs in the key's own secret setting.
        KeyType::HttpUrl if has_userinfo(text) => Err(format!(
            "expected {} without a user name or password (put a key in its secret setting), \
             found a value (not shown)",
            ty.describe()
        )),
        KeyType::HttpUrl => has_scheme(text, &["http://", "https://"])
            .then(|| Value::Str(text.to_string()))
            .ok_or_else(|| expected(ty, text)),
        KeyType::OwnerWeights => parse_owner_weights(text).map(Value::OwnerWeights),
    }
}

/// True for `scheme` + something, without whitespace (a pasted value with a stray space or
/// newline is a mistake worth reporting, not a URL).
fn has_scheme(text: &str, schemes: &[&str]) -> bool {
    schemes
        .iter()
        .any(|s| text.strip_prefix(s).is_some_and(|rest| !rest.is_empty()))
        && !text.chars().any(char::is_whitespace)
}

/// True when the URL may carry a user name or password: an `@` anywhere before the query.
/// (Not only in the authority up to the first `/`: a password holding `/` would hide there.)
fn has_userinfo(text: &str) -> bool {
    let rest = text.split_once("://").map_or(text, |(_, r)| r);
    rest.split(['?', '#'])
        .next()
        .is_some_and(|before_query| before_query.contains('@'))
}

/// Well-formed BCP-47 in outline: a 2–3 or 5–8 letter language, then subtags of 1–8
/// letters or digits. The spec generator checks the tag fully; this catches typos at start.
fn is_language_tag(text: &str) -> bool {
    if text.is_empty() || text.len() > 35 {
        return false;
    }
    let mut parts = text.split('-');
    let lang_ok = parts.next().is_some_and(|p| {
        (2..=3).contains(&p.len()) || (5..=8).contains(&p.len())
    } && p.chars().all(|c| c.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The TOML type's name, for type errors.
fn toml_type(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a datetime",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// Parses a file value: integers must be TOML integers, everything else a TOML string.
pub(crate) fn parse_toml(ty: KeyType, value: &toml::Value) -> Result<Value, String> {
    match (ty, value) {
        (KeyType::Integer { min, max }, toml::Value::Integer(n)) => match u64::try_from(*n) {
            Ok(n) if n >= min && n <= max => Ok(Value::Int(n)),
            _ => Err(format!("expected {}, found {n}", ty.describe())),
        },
        (KeyType::Integer { .. }, other) => Err(format!(
            "expected {}, found {}",
            ty.describe(),
            toml_type(other)
        )),
        (_, toml::Value::String(s)) => parse_text(ty, s),
        (_, other) => Err(format!(
            "expected {} (a string), found {}",
            ty.describe(),
            toml_type(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_range_checked() {
        let ty = KeyType::Integer { min: 1, max: 10 };
        assert!(matches!(parse_text(ty, "10"), Ok(Value::Int(10))));
        assert_eq!(
            parse_text(ty, "0").err().as_deref(),
            Some("expected integer 1..=10, found \"0\"")
        );
        assert_eq!(
            parse_text(ty, "-3").err().as_deref(),
            Some("expected integer 1..=10, found \"-3\"")
        );
        assert_eq!(
            parse_toml(ty, &toml::Value::Integer(-3)).err().as_deref(),
            Some("expected integer 1..=10, found -3")
        );
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "pt-BR", "zh-Hant-TW", "ko"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "englishlanguage", "en_US", "en-", "123"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn secrets_and_urls_are_never_echoed() {
        let err = parse_text(KeyType::PostgresUrl, "mysql://u:hunter2@h/db").err();
        assert_eq!(
            err.as_deref(),
            Some("expected secret URL (postgres:// or postgresql://), found a value (not shown)")
        );
        for url in [
            "https://user:hunter2@api.example/v1",
            "https://hunter2@api.example/v1",
            "https://user:hun/ter2@api.example/v1",
            "ftp://user:hunter2@api.example",
        ] {
            let err = parse_text(KeyType::HttpUrl, url).err().unwrap_or_default();
            assert!(err.ends_with("found a value (not shown)"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        assert!(parse_text(KeyType::HttpUrl, "https://api.example/v1?x=a@b").is_ok());
        let err = parse_text(KeyType::Key32, "aHVudGVyMg==").err();
        assert_eq!(
            err.as_deref(),
            Some("expected secret: 32 bytes, base64; the value decodes to 7 bytes")
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(500);
        let err = parse_text(KeyType::SocketAddr, &long)
            .err()
            .unwrap_or_default();
        assert!(err.len() < 200, "{err}");
        assert!(err.ends_with("…"), "{err}");
    }
}
