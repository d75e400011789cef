//! Framework resolution for one file: imports, then path conventions, then the nearest
//! enclosing config file, then content patterns, then the language default.
//!
//! Imports come first because they are what the runner itself needs (a Playwright spec
//! in a Jest monorepo imports `@playwright/test`); config files come before content
//! because monorepos hold several runners and the nearest config is the one that runs the
//! file (Vitest in globals mode has no import at all).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::registry::{Language, Registry};

/// Largest config file read to check its content (`package.json`, `pyproject.toml`).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// How a framework was chosen; useful to explain a surprising result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Import,
    Path,
    Config,
    Content,
    Default,
}

/// A config file found in a directory.
#[derive(Debug, Clone)]
struct ConfigHit {
    language: &'static str,
    framework: &'static str,
    /// Found by content in a shared file (`package.json`): weaker than a dedicated config.
    weak: bool,
    /// Position of the framework in its language's priority list.
    priority: usize,
}

/// Config files per directory, read once per directory and shared by every worker.
pub struct ConfigIndex {
    root: PathBuf,
    registry: &'static Registry,
    cache: Mutex<HashMap<PathBuf, Arc<Vec<ConfigHit>>>>,
}

impl ConfigIndex {
    pub fn new(root: &Path, registry: &'static Registry) -> Self {
        ConfigIndex {
            root: root.to_path_buf(),
            registry,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn hits(&self, dir: &Path) -> Arc<Vec<ConfigHit>> {
        if let Ok(cache) = self.cache.lock() {
            if let Some(h) = cache.get(dir) {
                return h.clone();
            }
        }
        let hits = Arc::new(self.read_dir(dir));
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(dir.to_path_buf(), hits.clone());
        }
        hits
    }

    fn read_dir(&self, dir: &Path) -> Vec<ConfigHit> {
        let mut hits = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return hits;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            for lang in &self.registry.languages {
                for (priority, fw) in lang.frameworks.iter().enumerate() {
                    for (glob, contains) in &fw.configs {
                        if !glob.is_match(name.as_ref()) {
                            continue;
                        }
                        if let Some(needle) = contains {
                            if !file_contains(&entry.path(), needle) {
                                continue;
                            }
                        }
                        hits.push(ConfigHit {
                            language: lang.def.id,
                            framework: fw.def.id,
                            weak: contains.is_some(),
                            priority,
                        });
                    }
                }
            }
        }
        hits
    }

    /// The framework of the nearest config for `lang`, looking from `dir` up to the root.
    fn nearest(&self, dir: &Path, lang: &Language) -> Option<&'static str> {
        let mut cur = Some(dir);
        while let Some(d) = cur {
            let hits = self.hits(d);
            let best = hits
                .iter()
                .filter(|h| h.language == lang.def.id)
                .min_by_key(|h| (h.weak, h.priority));
            if let Some(h) = best {
                return Some(h.framework);
            }
            if d == self.root {
                break;
            }
            cur = d.parent().filter(|p| p.starts_with(&self.root));
        }
        None
    }

    /// The framework named by the nearest config, if any.
    pub fn nearest_for(&self, abs_path: &Path, lang: &Language) -> Option<&'static str> {
        self.nearest(abs_path.parent()?, lang)
    }
}

/// Chooses the framework of a file; `configs` is `None` for a file outside any tree.
pub fn resolve(
    configs: Option<(&ConfigIndex, &Path)>,
    lang: &Language,
    rel_path: &str,
    imports: &[String],
    content: &[u8],
) -> (&'static str, Reason) {
    {
        for fw in &lang.frameworks {
            if imports
                .iter()
                .any(|i| fw.imports.iter().any(|re| re.is_match(i)))
            {
                return (fw.def.id, Reason::Import);
            }
        }
        for fw in &lang.frameworks {
            if fw.paths.is_match(rel_path) {
                return (fw.def.id, Reason::Path);
            }
        }
        if let Some(id) = configs.and_then(|(index, abs)| index.nearest_for(abs, lang)) {
            return (id, Reason::Config);
        }
        let text = String::from_utf8_lossy(content);
        for fw in &lang.frameworks {
            if fw.content.as_ref().is_some_and(|set| set.is_match(&text)) {
                return (fw.def.id, Reason::Content);
            }
        }
        (lang.def.default_framework, Reason::Default)
    }
}

fn file_contains(path: &Path, needle: &str) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = Vec::new();
    if file.take(MAX_CONFIG_BYTES).read_to_end(&mut buf).is_err() {
        return false;
    }
    String::from_utf8_lossy(&buf).contains(needle)
}
