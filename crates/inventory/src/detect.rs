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
    /// The directory the config limits its tests to (Playwright's `testDir`), if any.
    scope: Option<PathBuf>,
}

/// Config files per directory, read once per directory and shared by every worker.
pub struct ConfigIndex {
    root: PathBuf,
    registry: &'static Registry,
    cache: Mutex<HashMap<PathBuf, Arc<Vec<ConfigHit>>>>,
    /// What test runners' own configurations say is a test.
    runners: crate::runner_config::RunnerConfigs,
    /// The imports of local modules read for [`crate::local_imports`] (`None`:
    /// unreadable), and relative specifiers resolved from a directory.
    modules: Mutex<HashMap<PathBuf, Option<Arc<Vec<String>>>>>,
    resolved: Mutex<HashMap<(PathBuf, String), Option<PathBuf>>>,
}

impl ConfigIndex {
    pub fn new(root: &Path, registry: &'static Registry) -> Self {
        ConfigIndex {
            root: root.to_path_buf(),
            registry,
            cache: Mutex::new(HashMap::new()),
            modules: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
            runners: crate::runner_config::RunnerConfigs::new(root),
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
            // The walker's rule: regular files only, never through a symlink (a link to a
            // FIFO or a device would block this thread forever).
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            for lang in &self.registry.languages {
                for (priority, fw) in lang.frameworks.iter().enumerate() {
                    for rule in &fw.configs {
                        if !rule.file.is_match(name.as_ref()) {
                            continue;
                        }
                        let text = if rule.contains.is_some() || rule.scope.is_some() {
                            read_small(&entry.path())
                        } else {
                            String::new()
                        };
                        if rule.contains.is_some_and(|needle| !text.contains(needle)) {
                            continue;
                        }
                        let scope = rule
                            .scope
                            .as_ref()
                            .and_then(|re| re.captures(&text))
                            .and_then(|c| c.get(1))
                            .map(|m| normalize(&dir.join(m.as_str())));
                        hits.push(ConfigHit {
                            language: lang.def.id,
                            framework: fw.def.id,
                            weak: rule.contains.is_some(),
                            priority,
                            scope,
                        });
                    }
                }
            }
        }
        hits
    }

    /// The framework of the nearest config for `lang` that claims `file`, looking from the
    /// file's directory up to the root.
    fn nearest(&self, file: &Path, lang: &Language) -> Option<&'static str> {
        let mut cur = file.parent();
        while let Some(d) = cur {
            let hits = self.hits(d);
            let best = hits
                .iter()
                .filter(|h| h.language == lang.def.id)
                .filter(|h| h.scope.as_ref().is_none_or(|s| file.starts_with(s)))
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

    /// Test runners' configurations (pytest's, Jest's, Vitest's, Mocha's) in the tree.
    pub fn runners(&self) -> &crate::runner_config::RunnerConfigs {
        &self.runners
    }

    /// The framework that `file`'s relative imports lead to ([`crate::local_imports`]).
    pub fn via_local_imports(
        &self,
        file: &Path,
        lang: &Language,
        imports: &[String],
    ) -> Option<&'static str> {
        crate::local_imports::framework_via(file, lang, imports, self)
    }

    /// The framework named by the nearest config, if any.
    pub fn nearest_for(&self, abs_path: &Path, lang: &Language) -> Option<&'static str> {
        self.nearest(abs_path, lang)
    }
}

impl crate::local_imports::Modules for ConfigIndex {
    fn resolve(&self, dir: &Path, spec: &str) -> Option<PathBuf> {
        let key = (dir.to_path_buf(), spec.to_string());
        if let Some(hit) = self.resolved.lock().ok()?.get(&key) {
            return hit.clone();
        }
        let found = crate::local_imports::resolve(&self.root, dir, spec);
        if let Ok(mut cache) = self.resolved.lock() {
            cache.insert(key, found.clone());
        }
        found
    }

    fn imports(&self, module: &Path) -> Option<Arc<Vec<String>>> {
        if let Some(hit) = self.modules.lock().ok()?.get(module) {
            return hit.clone();
        }
        let specs = crate::untrusted_file::read_regular_file(module, MAX_CONFIG_BYTES).map(|b| {
            let text = String::from_utf8_lossy(&b);
            Arc::new(
                crate::local_imports::specifiers(&text)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            )
        });
        if let Ok(mut cache) = self.modules.lock() {
            cache.insert(module.to_path_buf(), specs.clone());
        }
        specs
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
        if let Some((index, abs)) = configs.filter(|_| {
            crate::local_imports::follows_local_imports(lang)
                && imports.iter().any(|i| i.starts_with('.'))
        }) {
            if let Some(id) = index.via_local_imports(abs, lang, imports) {
                return (id, Reason::Import);
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

/// A config file as text (empty when unreadable, not a regular file, or over
/// [`MAX_CONFIG_BYTES`]).
fn read_small(path: &Path) -> String {
    crate::untrusted_file::read_regular_file(path, MAX_CONFIG_BYTES)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// `a/./b/../c` → `a/c`, without touching the file system.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
