//! Text made storable on both backends.
//!
//! PostgreSQL's `text` and `jsonb` reject the NUL character (and `jsonb` its escape
//! `\u0000`), while SQLite stores it. A handler's error message, a step's output or a
//! checkpoint is arbitrary text (a repository's file names, a provider's answer), so the
//! engine replaces NUL with U+FFFD before writing it: the same stored value on both
//! backends, and no outcome or checkpoint that one backend refuses to store.

use std::borrow::Cow;

/// What NUL becomes.
const REPLACEMENT: &str = "\u{FFFD}";

/// `s` without NUL characters.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', REPLACEMENT))
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` without NUL characters, reusing the allocation when there is none.
pub(crate) fn owned(s: String) -> String {
    match text(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(clean) => clean,
    }
}

/// Whether some string (or key) of `v` holds a NUL character.
fn has_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Every string (keys included) of `v` without NUL characters; `v` itself when it has none.
pub(crate) fn json(v: serde_json::Value) -> serde_json::Value {
    if has_nul(&v) {
        rebuild(v)
    } else {
        v
    }
}

fn rebuild(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(owned(s)),
        Value::Array(items) => Value::Array(items.into_iter().map(rebuild).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (owned(k), rebuild(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_replaced_everywhere_and_nothing_else_changes() {
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
        let v = serde_json::json!({"k\0": ["x\0", 1, {"y": "z\0"}], "n": null});
        let clean = json(v);
        assert_eq!(
            clean,
            serde_json::json!({"k\u{FFFD}": ["x\u{FFFD}", 1, {"y": "z\u{FFFD}"}], "n": null})
        );
    }
}
