//! pytest's collection settings: `python_files`, `python_classes`, `python_functions` and
//! `testpaths`, read from the configuration file pytest itself would use in a directory.
//!
//! pytest takes the first of `pytest.toml`, `.pytest.toml` (pytest 9), `pytest.ini`,
//! `.pytest.ini`, `pyproject.toml` (with a `[tool.pytest]` table of native TOML values,
//! pytest 9, or a `[tool.pytest.ini_options]` one), `tox.ini` (with `[pytest]`) and
//! `setup.cfg` (with `[tool:pytest]`); the first four win even without a section. Whichever
//! file is found decides, and a setting it does not give keeps pytest's default.

use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};

use super::{ini, read_config, ConfigProblem};

/// pytest's defaults.
const DEFAULT_FILES: &[&str] = &["test_*.py", "*_test.py"];
const DEFAULT_CLASSES: &[&str] = &["Test"];
const DEFAULT_FUNCTIONS: &[&str] = &["test"];

/// Names a pytest option selects: each word is a prefix, or a glob when it holds `*`,
/// `?` or `[` (pytest's `_matches_prefix_or_glob_option`).
#[derive(Debug)]
pub struct NamePatterns(Vec<(String, Option<GlobMatcher>)>);

impl NamePatterns {
    fn new(words: &[String]) -> Self {
        NamePatterns(
            words
                .iter()
                .map(|w| {
                    let glob = w.contains(['*', '?', '[']).then(|| fnmatch(w)).flatten();
                    (w.clone(), glob)
                })
                .collect(),
        )
    }

    fn defaults(words: &[&str]) -> Self {
        Self::new(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|(prefix, glob)| {
            name.starts_with(prefix.as_str()) || glob.as_ref().is_some_and(|g| g.is_match(name))
        })
    }
}

/// Python's `fnmatch`: `*` crosses `/`.
fn fnmatch(pattern: &str) -> Option<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(false)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// The collection settings of one pytest configuration file.
#[derive(Debug)]
pub struct PytestConfig {
    /// `python_files`: a pattern without `/` is matched on the file name, one with `/`
    /// on the whole path (pytest's `fnmatch_ex`).
    files: Vec<(bool, GlobMatcher)>,
    pub classes: NamePatterns,
    pub functions: NamePatterns,
    /// `testpaths`, relative to the file's directory (globs allowed); empty: everywhere.
    testpaths: Vec<GlobMatcher>,
}

impl PytestConfig {
    fn from_settings(settings: &[(String, Vec<String>)]) -> Self {
        let get = |key: &str| {
            settings
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let files = get("python_files")
            .unwrap_or_else(|| DEFAULT_FILES.iter().map(|s| s.to_string()).collect());
        let files = files
            .iter()
            .filter_map(|p| {
                if p.contains('/') {
                    fnmatch(&format!("*/{}", p.trim_start_matches("./"))).map(|g| (true, g))
                } else {
                    fnmatch(p).map(|g| (false, g))
                }
            })
            .collect();
        let testpaths = get("testpaths")
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                let p = p.trim_start_matches("./").trim_end_matches('/');
                GlobBuilder::new(if p.is_empty() { "." } else { p })
                    .literal_separator(true)
                    .build()
                    .ok()
                    .map(|g| g.compile_matcher())
            })
            .collect();
        PytestConfig {
            files,
            classes: get("python_classes")
                .map(|w| NamePatterns::new(&w))
                .unwrap_or_else(|| NamePatterns::defaults(DEFAULT_CLASSES)),
            functions: get("python_functions")
                .map(|w| NamePatterns::new(&w))
                .unwrap_or_else(|| NamePatterns::defaults(DEFAULT_FUNCTIONS)),
            testpaths,
        }
    }

    /// pytest's defaults, for a file no configuration file covers.
    pub fn default_rules() -> Self {
        Self::from_settings(&[])
    }

    /// Whether pytest collects the file at `rel` (`/`-separated, relative to the
    /// configuration file's directory) when it recurses from there.
    pub fn collects_file(&self, rel: &str) -> bool {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let full = format!("/{rel}");
        let named = self.files.iter().any(|(whole_path, g)| {
            if *whole_path {
                g.is_match(&full)
            } else {
                g.is_match(name)
            }
        });
        named && self.under_testpaths(rel)
    }

    fn under_testpaths(&self, rel: &str) -> bool {
        if self.testpaths.is_empty() {
            return true;
        }
        // The file itself or one of its directories is a test path.
        let mut prefix = rel;
        loop {
            if self.testpaths.iter().any(|g| g.is_match(prefix)) {
                return true;
            }
            match prefix.rfind('/') {
                Some(i) => prefix = &prefix[..i],
                None => return false,
            }
        }
    }
}

/// pytest's defaults, built once.
pub fn defaults() -> &'static PytestConfig {
    static DEFAULTS: std::sync::OnceLock<PytestConfig> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(PytestConfig::default_rules)
}

/// The pytest configuration file of `dir`, in pytest's order, if there is one.
pub fn read_dir(dir: &Path) -> Result<Option<PytestConfig>, ConfigProblem> {
    let toml_problem = |name: &str, message: String| ConfigProblem {
        file: dir.join(name),
        message,
    };
    for name in ["pytest.toml", ".pytest.toml"] {
        if let Some(text) = read_config(dir, name)? {
            let settings = toml_settings(&text, &["pytest"]).map_err(|e| toml_problem(name, e))?;
            return Ok(Some(PytestConfig::from_settings(
                &settings.unwrap_or_default(),
            )));
        }
    }
    for name in ["pytest.ini", ".pytest.ini"] {
        if let Some(text) = read_config(dir, name)? {
            let settings = ini::section(&text, "pytest").unwrap_or_default();
            return Ok(Some(PytestConfig::from_settings(&split(settings))));
        }
    }
    if let Some(text) = read_config(dir, "pyproject.toml")? {
        if text.contains("tool.pytest") || text.contains("[tool]") {
            let problem = |e| toml_problem("pyproject.toml", e);
            // pytest 9's native table, when it holds settings of its own; then the
            // INI-style one.
            let native = toml_settings(&text, &["tool", "pytest"])
                .map_err(problem)?
                .map(|s| {
                    s.into_iter()
                        .filter(|(k, _)| k != "ini_options")
                        .collect::<Vec<_>>()
                })
                .filter(|s| !s.is_empty());
            let settings = match native {
                Some(s) => Some(s),
                None => toml_settings(&text, &["tool", "pytest", "ini_options"])
                    .map_err(|e| toml_problem("pyproject.toml", e))?,
            };
            if let Some(settings) = settings {
                return Ok(Some(PytestConfig::from_settings(&settings)));
            }
        }
    }
    for (name, section) in [("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")] {
        if let Some(text) = read_config(dir, name)? {
            if let Some(settings) = ini::section(&text, section) {
                return Ok(Some(PytestConfig::from_settings(&split(settings))));
            }
        }
    }
    Ok(None)
}

fn split(settings: Vec<(String, String)>) -> Vec<(String, Vec<String>)> {
    settings
        .into_iter()
        .map(|(k, v)| (k, ini::words(&v)))
        .collect()
}

/// A config section's settings: each name with its values.
type Settings = Vec<(String, Vec<String>)>;

/// The table at `path` of a TOML text, each value a string (split into words, as pytest
/// does with INI values) or an array of strings; `None` when there is no such table.
fn toml_settings(text: &str, path: &[&str]) -> Result<Option<Settings>, String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not valid TOML: {}", e.message()))?;
    let mut table = Some(&doc);
    for key in path {
        table = table.and_then(|t| t.get(*key)).and_then(|v| v.as_table());
    }
    let Some(options) = table else {
        return Ok(None);
    };
    let settings = options
        .iter()
        .map(|(k, v)| {
            let words = match v {
                toml::Value::String(s) => ini::words(s),
                toml::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            (k.clone(), words)
        })
        .collect();
    Ok(Some(settings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &[&str])]) -> PytestConfig {
        let settings: Settings = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect();
        PytestConfig::from_settings(&settings)
    }

    #[test]
    fn defaults_are_pytests() {
        let c = PytestConfig::default_rules();
        assert!(c.collects_file("tests/test_a.py"));
        assert!(c.collects_file("a_test.py"));
        assert!(!c.collects_file("tests.py"));
        assert!(c.classes.matches("TestCart"));
        assert!(!c.classes.matches("CartTest"));
        assert!(c.functions.matches("test_x"));
        assert!(c.functions.matches("tests_x"));
    }

    #[test]
    fn files_names_and_testpaths() {
        let c = config(&[
            ("python_files", &["check_*.py", "tests/*_spec.py"]),
            ("python_classes", &["*Suite", "Check"]),
            ("python_functions", &["check_", "*_should_*"]),
            ("testpaths", &["checks", "pkg/*/tests"]),
        ]);
        assert!(c.collects_file("checks/check_cart.py"));
        assert!(c.collects_file("checks/deep/check_cart.py"));
        assert!(!c.collects_file("checks/test_cart.py"));
        assert!(!c.collects_file("other/check_cart.py"));
        assert!(c.collects_file("pkg/a/tests/check_x.py"));
        assert!(c.collects_file("pkg/a/tests/sub/tests/x_spec.py"));
        assert!(c.classes.matches("CartSuite"));
        assert!(c.classes.matches("CheckCart"));
        assert!(!c.classes.matches("TestCart"));
        assert!(c.functions.matches("check_total"));
        assert!(c.functions.matches("cart_should_add"));
        assert!(!c.functions.matches("test_total"));
    }

    #[test]
    fn pyproject_strings_and_arrays() {
        let text = "[project]\nname='x'\n[tool.pytest.ini_options]\npython_files = \"check_*.py  *_check.py\"\ntestpaths = [\"tests\", \"more\"]\nminversion = 7\n";
        let s = toml_settings(text, &["tool", "pytest", "ini_options"])
            .unwrap()
            .unwrap();
        assert!(s.contains(&(
            "python_files".into(),
            vec!["check_*.py".into(), "*_check.py".into()]
        )));
        assert!(s.contains(&("testpaths".into(), vec!["tests".into(), "more".into()])));
        assert!(toml_settings("[tool.pytest.ini_options\nx=", &["tool"]).is_err());
        assert!(toml_settings("[tool.black]\nx = 1\n", &["tool", "pytest"])
            .unwrap()
            .is_none());
    }
}
