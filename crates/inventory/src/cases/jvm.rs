//! JUnit Jupiter (Java and Kotlin): `@RepeatedTest(n)` and `@ParameterizedTest` with
//! literal sources, which JUnit adds up: `@ValueSource(ints = {…})`, `@CsvSource({…})`
//! or its `textBlock` (a row per line that is neither blank nor a `#` comment, less the
//! header with `useHeadersInDisplayName = true`), `@NullSource`, `@EmptySource`,
//! `@NullAndEmptySource`. Any other source (`@MethodSource`, `@EnumSource`,
//! `@CsvFileSource`, …) makes the cases unknown. Read from the annotations' text, which
//! both grammars give alike (`{…}` in Java, `[…]` in Kotlin).

use tree_sitter::Node;

use super::{elements, text, Param};

pub(super) fn of_item(node: Node<'_>, src: &[u8]) -> Option<Param> {
    let modifiers = elements(node).find(|c| c.kind() == "modifiers")?;
    let mut parameterized = false;
    let mut total: u64 = 0;
    let mut unknown = false;
    let mut repeated: Option<Param> = None;
    for a in elements(modifiers) {
        let t = text(a, src);
        let Some(body) = t.trim().strip_prefix('@') else {
            continue;
        };
        let name_end = body
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(body.len());
        let name = body[..name_end].rsplit('.').next().unwrap_or_default();
        let args = body[name_end..].trim();
        match name {
            "ParameterizedTest" => parameterized = true,
            "RepeatedTest" => {
                repeated = Some(repeat_count(args).map_or(Param::Unknown, Param::count))
            }
            "NullSource" | "EmptySource" => total = total.saturating_add(1),
            "NullAndEmptySource" => total = total.saturating_add(2),
            "ValueSource" => match value_source(args) {
                Some(n) => total = total.saturating_add(n),
                None => unknown = true,
            },
            "CsvSource" => match csv_source(args) {
                Some(n) => total = total.saturating_add(n),
                None => unknown = true,
            },
            n if n.ends_with("Source") || n.ends_with("Sources") => unknown = true,
            _ => {}
        }
    }
    if let Some(r) = repeated {
        return Some(r);
    }
    if !parameterized {
        return None;
    }
    Some(if unknown || total == 0 {
        Param::Unknown
    } else {
        Param::count(total)
    })
}

/// `(5)` or `(value = 5, name = "…")`.
fn repeat_count(args: &str) -> Option<u64> {
    let inner = args.strip_prefix('(')?.strip_suffix(')')?;
    let parts = top_level(inner, ',');
    let value = parts.iter().find_map(|p| {
        let p = p.trim();
        match p.split_once('=') {
            Some((k, v)) if k.trim() == "value" => Some(v.trim()),
            Some(_) => None,
            None => Some(p),
        }
    })?;
    value.replace('_', "").parse().ok()
}

/// `(ints = {1, 2})`, `(strings = "a")`: the one array attribute's length.
fn value_source(args: &str) -> Option<u64> {
    let inner = args.strip_prefix('(')?.strip_suffix(')')?;
    let parts = top_level(inner, ',');
    let [one] = parts.as_slice() else {
        return None;
    };
    let (_, value) = one.split_once('=')?;
    array_len(value.trim())
}

/// `({"a, 1", "b, 2"})`, `(value = {…}, …)`, `(textBlock = """…""", …)`.
fn csv_source(args: &str) -> Option<u64> {
    let inner = args.strip_prefix('(')?.strip_suffix(')')?;
    let mut rows = None;
    let mut headers = false;
    for part in top_level(inner, ',') {
        let part = part.trim();
        let (key, value) = match part.split_once('=') {
            Some((k, v)) if is_ident(k.trim()) => (k.trim(), v.trim()),
            _ => ("value", part),
        };
        match key {
            "value" => rows = Some(array_len(value)?),
            "textBlock" => rows = Some(text_block_rows(value)?),
            "useHeadersInDisplayName" => headers = value == "true",
            _ => {}
        }
    }
    let rows = rows?;
    Some(if headers {
        rows.saturating_sub(1)
    } else {
        rows
    })
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// `{a, b}` / `[a, b]` → 2; a single value → 1; `None` for a constant's name (its
/// length is elsewhere).
fn array_len(value: &str) -> Option<u64> {
    let value = value.trim();
    let inner = value
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .or_else(|| value.strip_prefix('[').and_then(|v| v.strip_suffix(']')));
    match inner {
        Some(inner) => u64::try_from(
            top_level(inner, ',')
                .iter()
                .filter(|p| !p.trim().is_empty())
                .count(),
        )
        .ok(),
        None if value.starts_with(['"', '\'']) || value.parse::<f64>().is_ok() => Some(1),
        None => None,
    }
}

/// Rows of a Java text block or Kotlin raw string: lines neither blank nor comments.
fn text_block_rows(value: &str) -> Option<u64> {
    let inner = value.strip_prefix("\"\"\"")?.strip_suffix("\"\"\"")?;
    u64::try_from(
        inner
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count(),
    )
    .ok()
}

/// `s` split at `sep` outside strings, text blocks, characters and brackets.
fn top_level(s: &str, sep: char) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if bytes[i..].starts_with(b"\"\"\"") {
            let rest = bytes.get(i + 3..).unwrap_or_default();
            i = rest
                .windows(3)
                .position(|w| w == b"\"\"\"")
                .map_or(bytes.len(), |e| i + 3 + e + 3);
            continue;
        }
        match c {
            b'"' | b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            _ if depth == 0 && char::from(c) == sep => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}
