//! [`Env`]: where environment variables come from.
//!
//! The loader never calls `std::env` itself. Tests pass a map, so they run in parallel without
//! touching the process environment; binaries pass [`Env::from_process_env`]. Values are
//! fetched one name at a time and every fetch is recorded, which is what lets a test prove that
//! a binary never *read* a variable of a section it does not load (the spec generator and
//! `SPECLINE_SECURITY__ENCRYPTION_KEY`), not merely that it ignored the value.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// A source of environment variables. Its `Debug` lists names only: values include secrets.
pub struct Env {
    source: Source,
    reads: Mutex<Vec<String>>,
}

enum Source {
    Map(BTreeMap<String, String>),
    Process,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source {
            Source::Map(_) => "map",
            Source::Process => "process",
        };
        f.debug_struct("Env")
            .field("source", &kind)
            .field("names", &self.names())
            .finish_non_exhaustive()
    }
}

impl Env {
    /// Variables from a map (tests, or a binary that assembled its own).
    pub fn from_map<K, V, I>(vars: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            source: Source::Map(
                vars.into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
            reads: Mutex::new(Vec::new()),
        }
    }

    /// No variables at all.
    pub fn empty() -> Env {
        Env::from_map(Vec::<(String, String)>::new())
    }

    /// The real process environment. Names are listed eagerly (to report unknown ones);
    /// values are read lazily, only for keys of the sections the binary loads.
    pub fn from_process_env() -> Env {
        Env {
            source: Source::Process,
            reads: Mutex::new(Vec::new()),
        }
    }

    /// Every variable name (names that are not valid Unicode are skipped: no Specline name
    /// can be one of them).
    pub fn names(&self) -> Vec<String> {
        match &self.source {
            Source::Map(map) => map.keys().cloned().collect(),
            Source::Process => {
                let mut names: Vec<String> = std::env::vars_os()
                    .filter_map(|(name, _)| name.into_string().ok())
                    .collect();
                names.sort();
                names
            }
        }
    }

    /// The value of `name`, recording the read. A value that is not valid Unicode is
    /// returned lossily converted, so that validation reports it instead of silently
    /// treating the variable as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        if let Ok(mut reads) = self.reads.lock() {
            reads.push(name.to_string());
        }
        match &self.source {
            Source::Map(map) => map.get(name).cloned(),
            Source::Process => std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()),
        }
    }

    /// Every name whose value was requested so far, in order.
    pub fn reads(&self) -> Vec<String> {
        self.reads.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
