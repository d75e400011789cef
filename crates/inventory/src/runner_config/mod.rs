//! What a test runner's own configuration says is a test: pytest's `python_files`,
//! `python_classes`, `python_functions` and `testpaths`; Jest's `testMatch`, `testRegex`
//! and `testPathIgnorePatterns`; Vitest's `include` and `exclude`; Mocha's `spec`.
//!
//! A runner whose configuration says which files it runs does not run the others: a
//! fixture file that a test suite hands to a subprocess is named like a test but is none.
//! Where the configuration says nothing (or cannot be read statically) the language's
//! naming conventions stay in force.
//!
//! Configuration files are data from the repository: read bounded, only as regular files
//! (never through a symlink), never executed. A JavaScript config is read for literal
//! values only (`testMatch: ["**/*.spec.ts"]`); anything computed leaves that setting
//! unknown. One that cannot be read at all becomes a `CONFIG_UNREADABLE` error of the
//! scan, and the conventions apply.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod ini;
pub mod javascript;
mod literal;
pub mod pytest;

pub use javascript::JsSelection;
pub use pytest::PytestConfig;

/// Largest runner configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A configuration file that could not be read.
#[derive(Debug, Clone)]
pub struct ConfigProblem {
    pub file: PathBuf,
    pub message: String,
}

/// A configuration and the directory it was found in (its paths are relative to it).
#[derive(Debug)]
pub struct Found<T> {
    pub dir: PathBuf,
    pub config: T,
}

type Cache<T> = Mutex<HashMap<PathBuf, Option<Arc<Found<T>>>>>;

/// Runner configurations per directory, read once and shared by discovery and workers.
pub struct RunnerConfigs {
    root: PathBuf,
    pytest: Cache<PytestConfig>,
    js: Cache<JsSelection>,
    problems: Mutex<Vec<ConfigProblem>>,
}

impl RunnerConfigs {
    pub fn new(root: &Path) -> Self {
        RunnerConfigs {
            root: root.to_path_buf(),
            pytest: Mutex::new(HashMap::new()),
            js: Mutex::new(HashMap::new()),
            problems: Mutex::new(Vec::new()),
        }
    }

    /// The pytest configuration nearest to `file` (its directory, then each parent up to
    /// the root), or `None` when no directory on the way has one.
    pub fn pytest_for(&self, file: &Path) -> Option<Arc<Found<PytestConfig>>> {
        self.nearest(&self.pytest, file, pytest::read_dir)
    }

    /// The JavaScript runner configuration nearest to `file` that says which files are
    /// tests, if any.
    pub fn js_for(&self, file: &Path) -> Option<Arc<Found<JsSelection>>> {
        self.nearest(&self.js, file, javascript::read_dir)
    }

    /// Configuration files that could not be read, each reported once.
    pub fn take_problems(&self) -> Vec<ConfigProblem> {
        self.problems
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    fn nearest<T>(
        &self,
        cache: &Cache<T>,
        file: &Path,
        read: fn(&Path) -> Result<Option<T>, ConfigProblem>,
    ) -> Option<Arc<Found<T>>> {
        let mut cur = file.parent();
        while let Some(dir) = cur {
            if !dir.starts_with(&self.root) {
                break;
            }
            let cached = cache.lock().ok().and_then(|c| c.get(dir).cloned());
            let here = match cached {
                Some(hit) => hit,
                None => {
                    let found = match read(dir) {
                        Ok(c) => c.map(|config| {
                            Arc::new(Found {
                                dir: dir.to_path_buf(),
                                config,
                            })
                        }),
                        Err(problem) => {
                            if let Ok(mut p) = self.problems.lock() {
                                p.push(problem);
                            }
                            None
                        }
                    };
                    if let Ok(mut c) = cache.lock() {
                        c.insert(dir.to_path_buf(), found.clone());
                    }
                    found
                }
            };
            if here.is_some() {
                return here;
            }
            if dir == self.root {
                break;
            }
            cur = dir.parent();
        }
        None
    }
}

/// The text of the configuration file `name` in `dir`: `None` when there is no such
/// regular file (a symlink counts as none: it is not followed), an error when it is too
/// large, binary or unreadable.
pub(crate) fn read_config(dir: &Path, name: &str) -> Result<Option<String>, ConfigProblem> {
    use crate::untrusted_file::{read_regular, Refused};
    let path = dir.join(name);
    let problem = |message: String| ConfigProblem {
        file: path.clone(),
        message,
    };
    match read_regular(&path, MAX_CONFIG_BYTES) {
        Ok(bytes) if bytes.contains(&0) => Err(problem("the file looks binary".into())),
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(Refused::NotRegular) => Ok(None),
        Err(Refused::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(Refused::TooLarge(n)) => Err(problem(format!(
            "{n} bytes, over the limit of {MAX_CONFIG_BYTES} for a runner configuration"
        ))),
        Err(e) => Err(problem(e.to_string())),
    }
}

/// `/`-separated path of `file` relative to `dir`.
pub(crate) fn relative(dir: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(dir).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}
