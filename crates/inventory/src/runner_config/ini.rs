//! The INI dialect of `pytest.ini`, `tox.ini` and `setup.cfg` (Python's `configparser`):
//! `[section]` headers, `key = value` or `key: value`, indented continuation lines,
//! whole-line comments starting with `#` or `;`.

/// The keys and values of `section` (continuation lines joined with a newline), or `None`
/// when the text has no such section.
pub fn section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut found = false;
    let mut inside = false;
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            inside = header.trim() == name;
            found |= inside;
            continue;
        }
        if !inside || trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        match out.last_mut() {
            Some((_, value)) if continuation => {
                value.push('\n');
                value.push_str(trimmed);
            }
            _ => {
                let Some(at) = trimmed.find(['=', ':']) else {
                    continue;
                };
                let (key, value) = trimmed.split_at(at);
                out.push((key.trim().to_string(), value[1..].trim().to_string()));
            }
        }
    }
    found.then_some(out)
}

/// A value of type "args" or "linelist" split into words (quotes removed).
pub fn words(value: &str) -> Vec<String> {
    value
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'']).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_and_continuations() {
        let text = "[metadata]\nname = x\n[tool:pytest]\n# comment\npython_files = check_*.py\n    *_check.py\ntestpaths: tests\n";
        let s = section(text, "tool:pytest").unwrap();
        assert_eq!(
            s,
            vec![
                ("python_files".into(), "check_*.py\n*_check.py".into()),
                ("testpaths".into(), "tests".into())
            ]
        );
        assert_eq!(words(&s[0].1), vec!["check_*.py", "*_check.py"]);
        assert!(section(text, "pytest").is_none());
    }
}
