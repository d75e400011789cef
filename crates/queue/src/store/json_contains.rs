//! JSON containment with PostgreSQL's `jsonb @>` semantics, for the SQLite store.
//!
//! SQLite has no containment operator, so the SQLite store registers [`contains`] as the
//! scalar SQL function [`SQL_NAME`]; filtering then stays in SQL on both backends and a page
//! of a filtered list is exact.

use serde_json::Value;

/// The name the SQLite store registers [`contains`] under: `specline_json_contains(doc, pattern)`.
pub(crate) const SQL_NAME: &str = "specline_json_contains";

/// Whether `doc` contains `pattern`: an object contains every key of the pattern with a
/// value containing the pattern's; an array contains a pattern array when each pattern
/// element is contained in some element of it; scalars must be equal (numbers by value).
/// Different kinds never contain each other, as in PostgreSQL below the top level.
pub(crate) fn contains(doc: &Value, pattern: &Value) -> bool {
    match (doc, pattern) {
        (Value::Object(d), Value::Object(p)) => p
            .iter()
            .all(|(k, pv)| d.get(k).is_some_and(|dv| contains(dv, pv))),
        (Value::Array(d), Value::Array(p)) => {
            p.iter().all(|pv| d.iter().any(|dv| contains(dv, pv)))
        }
        (Value::Number(a), Value::Number(b)) => same_number(a, b),
        (a, b) => a == b,
    }
}

/// Numbers compare by value, as jsonb's numeric does (`1` equals `1.0`).
fn same_number(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::contains;
    use serde_json::json;

    #[test]
    fn objects_arrays_and_scalars_follow_jsonb() {
        let doc = json!({"a": {"b": 1, "c": [1, 2, {"d": "x"}]}, "e": "f"});
        assert!(contains(&doc, &json!({})));
        assert!(contains(&doc, &json!({"a": {"b": 1.0}})));
        assert!(contains(&doc, &json!({"a": {"c": [2]}})));
        assert!(contains(&doc, &json!({"a": {"c": [{"d": "x"}, 1]}})));
        assert!(!contains(&doc, &json!({"a": {"c": [3]}})));
        assert!(!contains(&doc, &json!({"a": {"c": 1}})));
        assert!(!contains(&doc, &json!({"e": "g"})));
        assert!(!contains(&doc, &json!({"z": null})));
        assert!(!contains(&doc, &json!({"a": {"b": "1"}})));
    }
}
