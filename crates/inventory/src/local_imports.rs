//! Frameworks reached through a project's own modules: a Playwright spec often imports
//! `test` from `./fixtures` (which calls `base.extend(...)` on `@playwright/test`'s
//! `test`) instead of from `@playwright/test` itself. The spec is then as much a
//! Playwright file as one importing the package directly, and its `test.skip(cond, why)`
//! calls are annotations, not tests.
//!
//! Only relative specifiers are followed (`./fixtures`, `../support/test.js`), resolved as
//! Node and TypeScript do (the path as written, then with each extension, then
//! `index.*`), inside the scanned tree only, through real directories only, and each
//! module is read bounded (the framework-config limit). Nothing is executed: the module's
//! own imports are read with a pattern, and followed a few levels deep.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

use crate::registry::Language;

/// How many modules deep the chain of relative imports is followed.
const MAX_DEPTH: usize = 3;
/// How many modules one file's lookup may read at most.
const MAX_MODULES: usize = 16;
/// Extensions tried for a specifier written without one (TypeScript's order first).
const EXTENSIONS: &[&str] = &["ts", "tsx", "mts", "cts", "js", "jsx", "mjs", "cjs"];

/// Whether a language's test files import their framework through local modules.
pub fn follows_local_imports(lang: &Language) -> bool {
    matches!(lang.def.id, "javascript" | "typescript")
}

/// Longest module specifier read (bytes); a longer string is no module name.
const MAX_SPECIFIER: usize = 512;

/// Module specifiers of `import … from 'x'`, `import 'x'`, `export … from 'x'`,
/// `require('x')` and `import('x')` in a module's text.
pub fn specifiers(text: &str) -> Vec<&str> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = RE
        .get_or_init(|| {
            Regex::new(
                // `+` and a length check after, not `{1,512}`: a counted repetition of a
                // Unicode class compiles to 512 copies of its automaton (about 1% of a bare
                // parse of a small tree, once per process).
                r#"(?:\b(?:import|export)\b[^'";]*?\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"\n]+)['"]"#,
            )
            .ok()
        })
        .as_ref()
    else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .filter(|s| s.len() <= MAX_SPECIFIER)
        .collect()
}

/// The file a relative specifier names, from the directory `dir`, when it lies inside
/// `root` and is a regular file reached through real directories.
pub fn resolve(root: &Path, dir: &Path, spec: &str) -> Option<PathBuf> {
    if !(spec.starts_with("./") || spec.starts_with("../")) {
        return None;
    }
    let base = crate::detect::normalize(&dir.join(spec));
    if !base.starts_with(root) {
        return None;
    }
    let mut tries: Vec<PathBuf> = vec![base.clone()];
    let name = base.file_name()?.to_string_lossy().into_owned();
    // `./fixtures.js` in TypeScript sources names `fixtures.ts`.
    for (js, ts) in [
        (".js", ".ts"),
        (".jsx", ".tsx"),
        (".mjs", ".mts"),
        (".cjs", ".cts"),
    ] {
        if let Some(stem) = name.strip_suffix(js) {
            tries.push(base.with_file_name(format!("{stem}{ts}")));
        }
    }
    for ext in EXTENSIONS {
        tries.push(base.with_file_name(format!("{name}.{ext}")));
    }
    for ext in EXTENSIONS {
        tries.push(base.join(format!("index.{ext}")));
    }
    // One `lstat` rules most tries out; the walk through every directory (no symlinked
    // one on the way) is for the file that is there.
    tries.into_iter().find(|p| {
        p.symlink_metadata().is_ok_and(|m| m.is_file())
            && crate::untrusted_file::size_in_tree(root, p).is_some()
    })
}

/// Where [`framework_via`] gets modules from: resolution and reading, cached by the
/// caller (many test files import the same modules).
pub trait Modules {
    /// [`resolve`], cached.
    fn resolve(&self, dir: &Path, spec: &str) -> Option<PathBuf>;
    /// The [`specifiers`] of a module's text (bounded read), cached.
    fn imports(&self, module: &Path) -> Option<std::sync::Arc<Vec<String>>>;
}

/// The framework that `file`'s relative imports lead to, if one of the language's
/// frameworks is imported by a module they reach.
pub fn framework_via(
    file: &Path,
    lang: &Language,
    imports: &[String],
    modules: &dyn Modules,
) -> Option<&'static str> {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut level: Vec<PathBuf> = imports
        .iter()
        .filter_map(|spec| modules.resolve(file.parent()?, spec))
        .collect();
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for module in level {
            if seen.len() >= MAX_MODULES || !seen.insert(module.clone()) || module == file {
                continue;
            }
            let Some(specs) = modules.imports(&module) else {
                continue;
            };
            for fw in &lang.frameworks {
                if specs
                    .iter()
                    .any(|s| fw.imports.iter().any(|re| re.is_match(s)))
                {
                    return Some(fw.def.id);
                }
            }
            let dir = module.parent().map(Path::to_path_buf);
            next.extend(
                specs
                    .iter()
                    .filter_map(|s| modules.resolve(dir.as_deref()?, s)),
            );
        }
        level = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifiers_of_every_import_form() {
        let text = r#"
import { test as base, expect } from '@playwright/test';
import type {
  Page,
} from "./pages";
import './setup';
export { x } from '../shared/x.js';
const helper = require("./helper");
const lazy = await import('./lazy');
"#;
        assert_eq!(
            specifiers(text),
            vec![
                "@playwright/test",
                "./pages",
                "./setup",
                "../shared/x.js",
                "./helper",
                "./lazy"
            ]
        );
    }

    #[test]
    fn a_specifier_over_512_bytes_is_not_read() {
        let long = "a".repeat(513);
        let at_limit = "b".repeat(512);
        let text = format!("import x from './{long}';\nimport y from '{at_limit}';\n");
        assert_eq!(specifiers(&text), vec![at_limit.as_str()]);
    }

    #[test]
    fn only_relative_specifiers_inside_the_root_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("e2e/fixtures")).unwrap();
        std::fs::write(root.join("e2e/fixtures/index.ts"), "x").unwrap();
        std::fs::write(root.join("e2e/base.ts"), "x").unwrap();
        let e2e = root.join("e2e");
        assert_eq!(
            resolve(&root, &e2e, "./fixtures"),
            Some(root.join("e2e/fixtures/index.ts"))
        );
        assert_eq!(
            resolve(&root, &e2e, "./base.js"),
            Some(root.join("e2e/base.ts"))
        );
        assert_eq!(resolve(&root, &e2e, "@playwright/test"), None);
        assert_eq!(resolve(&root, &e2e, "../../outside"), None);
        assert_eq!(resolve(&root, &e2e, "./missing"), None);
    }
}
