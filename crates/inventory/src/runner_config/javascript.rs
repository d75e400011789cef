//! Jest, Vitest and Mocha: which files the runner's configuration says are tests.
//!
//! - Vitest: `test.include` and `test.exclude` in `vitest.config.*` (or `vite.config.*`),
//!   globs relative to the config's directory.
//! - Jest: `testMatch` (globs) or `testRegex`, and `testPathIgnorePatterns` (regexes), in
//!   `jest.config.*` or `package.json`'s `jest`; matched against the absolute path, with
//!   `<rootDir>` standing for the config's directory. A config with `projects` is not
//!   read (each project has its own rules).
//! - Mocha: `spec` (files, directories or globs, relative to the config's directory;
//!   a directory means its `.js`/`.cjs`/`.mjs` files, or those of `extension`, and all
//!   its subdirectories' with `recursive`) and `ignore`, in `.mocharc.*` or
//!   `package.json`'s `mocha`.
//!
//! Only literal values are read (see [`super::literal`]); a setting that is not one is
//! unknown, and a configuration whose settings are all unknown selects nothing: the naming
//! conventions apply.

use std::path::Path;

use regex::Regex;

use super::literal::{exported_object, json_object, Value};
use super::{read_config, ConfigProblem};

const JS_EXTENSIONS: &[&str] = &["ts", "mts", "cts", "js", "mjs", "cjs"];

/// One include or exclude rule.
#[derive(Debug)]
enum Rule {
    /// A glob, as a regex over the path relative to the config's directory (Vitest,
    /// Mocha) or, for Jest, over that path or the absolute path.
    Glob(Regex),
    /// A regex searched in the absolute path (Jest's `testRegex`, ignore patterns).
    Search(Regex),
    /// Mocha's directory spec: files directly in it (or below it) with these extensions.
    Dir {
        dir: String,
        recursive: bool,
        extensions: Vec<String>,
    },
}

impl Rule {
    fn matches(&self, rel: &str, abs: &str) -> bool {
        match self {
            Rule::Glob(re) => re.is_match(rel) || re.is_match(abs),
            Rule::Search(re) => re.is_match(abs),
            Rule::Dir {
                dir,
                recursive,
                extensions,
            } => {
                let inside = if dir.is_empty() {
                    Some(rel)
                } else {
                    rel.strip_prefix(dir.as_str())
                        .and_then(|r| r.strip_prefix('/'))
                };
                inside.is_some_and(|r| {
                    (*recursive || !r.contains('/'))
                        && r.rsplit_once('.')
                            .is_some_and(|(_, ext)| extensions.iter().any(|e| e == ext))
                })
            }
        }
    }
}

/// What a JavaScript runner's configuration says about test files.
#[derive(Debug)]
pub struct JsSelection {
    /// The runner whose configuration this is (for messages and docs).
    pub runner: &'static str,
    /// Empty: the naming conventions include.
    include: Vec<Rule>,
    exclude: Vec<Rule>,
    /// The config's directory, for `<rootDir>` and absolute matching.
    dir: String,
}

impl JsSelection {
    /// Whether the runner takes the file at `rel` (relative to the configuration's
    /// directory).
    pub fn selects(&self, rel: &str) -> bool {
        let abs = format!("{}/{rel}", self.dir);
        let included = if self.include.is_empty() {
            conventions().is_some_and(|c| c.is_match(rel))
        } else {
            self.include.iter().any(|r| r.matches(rel, &abs))
        };
        included && !self.exclude.iter().any(|r| r.matches(rel, &abs))
    }
}

/// The language's own conventions, for a config that only excludes.
fn conventions() -> Option<&'static globset::GlobSet> {
    static SET: std::sync::OnceLock<Option<globset::GlobSet>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let mut b = globset::GlobSetBuilder::new();
        for p in crate::lang::javascript::CANDIDATES {
            b.add(
                globset::GlobBuilder::new(p)
                    .literal_separator(true)
                    .build()
                    .ok()?,
            );
        }
        b.build().ok()
    })
    .as_ref()
}

/// The selection a directory's runner configuration makes, if it makes one.
pub fn read_dir(dir: &Path) -> Result<Option<JsSelection>, ConfigProblem> {
    let dir_text = dir.to_string_lossy().into_owned();
    let package = match read_config(dir, "package.json")? {
        Some(text) => json_object(&text),
        None => None,
    };
    for name in ["vitest", "vite"] {
        for ext in JS_EXTENSIONS {
            if let Some(text) = read_config(dir, &format!("{name}.config.{ext}"))? {
                if let Some(test) = exported_object(&text).as_ref().and_then(|v| v.get("test")) {
                    if let Some(s) = vitest(test, &dir_text) {
                        return Ok(Some(s));
                    }
                }
            }
        }
    }
    for ext in ["js", "ts", "mjs", "cjs", "json"] {
        if let Some(text) = read_config(dir, &format!("jest.config.{ext}"))? {
            let config = if ext == "json" {
                json_object(&text)
            } else {
                exported_object(&text)
            };
            if let Some(s) = config.as_ref().and_then(|c| jest(c, &dir_text)) {
                return Ok(Some(s));
            }
        }
    }
    if let Some(s) = package
        .as_ref()
        .and_then(|p| p.get("jest"))
        .and_then(|c| jest(c, &dir_text))
    {
        return Ok(Some(s));
    }
    for ext in ["js", "cjs", "json", "jsonc", "yaml", "yml"] {
        if let Some(text) = read_config(dir, &format!(".mocharc.{ext}"))? {
            let config = match ext {
                "json" | "jsonc" => json_object(&text),
                "yaml" | "yml" => Some(yaml(&text)),
                _ => exported_object(&text),
            };
            if let Some(s) = config.as_ref().and_then(|c| mocha(c, &dir_text)) {
                return Ok(Some(s));
            }
        }
    }
    Ok(package
        .as_ref()
        .and_then(|p| p.get("mocha"))
        .and_then(|c| mocha(c, &dir_text)))
}

fn globs(v: Option<&Value>) -> Option<Vec<Rule>> {
    v?.strings()?
        .iter()
        .map(|g| glob_regex(g).map(Rule::Glob))
        .collect()
}

fn vitest(test: &Value, dir: &str) -> Option<JsSelection> {
    let include = globs(test.get("include")).unwrap_or_default();
    let exclude = globs(test.get("exclude")).unwrap_or_default();
    (!include.is_empty() || !exclude.is_empty()).then(|| JsSelection {
        runner: "vitest",
        include,
        exclude,
        dir: dir.to_string(),
    })
}

fn jest(config: &Value, dir: &str) -> Option<JsSelection> {
    if config.get("projects").is_some() {
        return None;
    }
    let root = regex::escape(dir);
    let with_root = |s: &str| s.replace("<rootDir>", dir);
    let regexes = |v: Option<&Value>| -> Option<Vec<Rule>> {
        v?.strings()?
            .iter()
            .map(|r| {
                Regex::new(&r.replace("<rootDir>", &root))
                    .ok()
                    .map(Rule::Search)
            })
            .collect()
    };
    let include = match config.get("testMatch").and_then(Value::strings) {
        Some(g) => g
            .iter()
            .map(|g| glob_regex(&with_root(g)).map(Rule::Glob))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
        None => regexes(config.get("testRegex")).unwrap_or_default(),
    };
    let exclude = regexes(config.get("testPathIgnorePatterns")).unwrap_or_default();
    (!include.is_empty() || !exclude.is_empty()).then(|| JsSelection {
        runner: "jest",
        include,
        exclude,
        dir: dir.to_string(),
    })
}

fn mocha(config: &Value, dir: &str) -> Option<JsSelection> {
    let recursive = config.get("recursive") == Some(&Value::Bool(true));
    let extensions = config
        .get("extension")
        .and_then(Value::strings)
        .map(|e| {
            e.iter()
                .map(|x| x.trim_start_matches('.').to_string())
                .collect()
        })
        .unwrap_or_else(|| vec!["js".into(), "cjs".into(), "mjs".into()]);
    let include: Vec<Rule> = config
        .get("spec")
        .and_then(Value::strings)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            let s = s.trim_start_matches("./").trim_end_matches('/');
            if s.contains(['*', '?', '{', '['])
                || s.rsplit_once('.')
                    .is_some_and(|(_, e)| JS_EXTENSIONS.contains(&e))
            {
                glob_regex(s).map(Rule::Glob)
            } else {
                Some(Rule::Dir {
                    dir: if s == "." {
                        String::new()
                    } else {
                        s.to_string()
                    },
                    recursive,
                    extensions: extensions.clone(),
                })
            }
        })
        .collect();
    let exclude = globs(config.get("ignore")).unwrap_or_default();
    (!include.is_empty()).then(|| JsSelection {
        runner: "mocha",
        include,
        exclude,
        dir: dir.to_string(),
    })
}

/// The flat YAML of a `.mocharc.yml`: `key: value`, `key: [a, b]` and block lists.
fn yaml(text: &str) -> Value {
    let mut entries: Vec<(String, Value)> = Vec::new();
    let unquote = |s: &str| s.trim().trim_matches(['"', '\'']).to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let item = line.trim().strip_prefix("- ");
        match (indented || item.is_some(), item, entries.last_mut()) {
            (true, Some(item), Some((_, Value::Array(items)))) => {
                items.push(Value::Str(unquote(item)))
            }
            (false, _, _) => {
                let Some((key, value)) = line.split_once(':') else {
                    continue;
                };
                let value = value.trim();
                let v = if value.is_empty() {
                    Value::Array(Vec::new())
                } else if let Some(list) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']'))
                {
                    Value::Array(list.split(',').map(|s| Value::Str(unquote(s))).collect())
                } else if value == "true" || value == "false" {
                    Value::Bool(value == "true")
                } else {
                    Value::Str(unquote(value))
                };
                entries.push((key.trim().to_string(), v));
            }
            _ => {}
        }
    }
    Value::Object(entries)
}

/// A glob as picomatch reads it (`**`, `*`, `?`, `[…]`, `{a,b}`, and the extglobs
/// `?(…)`, `*(…)`, `+(…)`, `@(…)`), as an anchored regex; `None` for what it cannot
/// express (`!(…)`) or an unbalanced pattern.
pub fn glob_regex(glob: &str) -> Option<Regex> {
    let glob = glob.trim_start_matches("./");
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::from("^");
    let mut closers: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '*' if next == Some('*') => {
                let slash_after = chars.get(i + 2) == Some(&'/');
                let at_part_start = i == 0 || chars[i - 1] == '/';
                if at_part_start && slash_after {
                    out.push_str("(?:[^/]*/)*");
                    i += 3;
                } else {
                    out.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '?' | '*' | '+' | '@' if next == Some('(') => {
                out.push_str("(?:");
                closers.push(match c {
                    '?' => ")?",
                    '*' => ")*",
                    '+' => ")+",
                    _ => ")",
                });
                i += 2;
                continue;
            }
            '!' if next == Some('(') => return None,
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '{' => {
                out.push_str("(?:");
                closers.push(")");
            }
            ',' if !closers.is_empty() => out.push('|'),
            '|' if !closers.is_empty() => out.push('|'),
            '}' | ')' => out.push_str(closers.pop()?),
            '[' => {
                let end = chars[i + 1..].iter().position(|&c| c == ']')? + i + 1;
                let mut class: String = chars[i + 1..end].iter().collect();
                if let Some(rest) = class.strip_prefix('!') {
                    class = format!("^{rest}");
                }
                out.push('[');
                out.push_str(&class.replace('\\', "\\\\"));
                out.push(']');
                i = end + 1;
                continue;
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if !closers.is_empty() {
        return None;
    }
    out.push('$');
    Regex::new(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_picomatch_reads_them() {
        let g = |p: &str| glob_regex(p).unwrap();
        assert!(g("**/__tests__/**/*.?([mc])[jt]s?(x)").is_match("src/__tests__/a/b.tsx"));
        assert!(g("**/__tests__/**/*.?([mc])[jt]s?(x)").is_match("__tests__/b.mjs"));
        assert!(g("**/?(*.)+(spec|test).[jt]s?(x)").is_match("a/b.spec.ts"));
        assert!(!g("**/?(*.)+(spec|test).[jt]s?(x)").is_match("a/b.spec.go"));
        assert!(g("test/**/*.spec.{js,ts}").is_match("test/a/b.spec.ts"));
        assert!(g("test/**/*.spec.{js,ts}").is_match("test/b.spec.js"));
        assert!(!g("test/*.js").is_match("test/fixtures/a.js"));
        assert!(glob_regex("!(x)").is_none());
        assert!(glob_regex("{a,b").is_none());
    }

    #[test]
    fn mocha_yaml() {
        let v = yaml("# c\nspec:\n  - 'test/unit/*.js'\n  - test/api\nrecursive: true\nignore: [test/fixtures/**]\n");
        assert_eq!(
            v.get("spec").and_then(Value::strings),
            Some(vec!["test/unit/*.js".to_string(), "test/api".to_string()])
        );
        assert_eq!(v.get("recursive"), Some(&Value::Bool(true)));
        let sel = mocha(&v, "/r").unwrap();
        assert!(sel.selects("test/unit/a.js"));
        assert!(sel.selects("test/api/deep/b.js"));
        assert!(!sel.selects("test/unit/deep/a.js"));
        assert!(!sel.selects("test/fixtures/app.js"));
    }
}
