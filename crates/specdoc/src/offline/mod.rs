//! The offline generator: a deterministic spec document with no network and no model.
//!
//! It is the default when no provider is configured, so its output has to stand on its own:
//! - **Domains** come from the directory a test file lives in (the last meaningful one, after
//!   dropping `src`, `test`, `__tests__`, Java package prefixes, version folders …), or from
//!   the file's name when the file sits in a bare test folder.
//! - **Features** come from the outermost meaningful suite (`describe("Login")`,
//!   `class TestLogin`, `LoginServiceTest`), else from the subject of a Go-style name
//!   (`TestLogin_Expired` → "Login"), else from the file's name.
//! - **Sentences** come from the test's own documentation when it reads as a sentence
//!   ([`naming::doc_sentence`]: a docstring or the comment above the test), else from its
//!   name and suites ([`naming::sentence`]).
//!
//! Everything is English. For another requested language the sentences stay English and the
//! document says so (`content_language` = `en` and a note); see `docs/specdoc-schema.md`.

pub mod naming;

use std::collections::{HashMap, HashSet};

use specline_inventory_model::Status;

use crate::document::TokenUsage;
use crate::input::{SpecInput, TestEntry};
use crate::lang::LanguageTag;
use crate::phases::{ClassDomain, ClassFeature, Classification, Sentence};

/// The offline generator's model name, as recorded in documents. Bumped whenever the same
/// inventory would give other sentences, so that documents of the previous version are
/// written again instead of reused (`offline-2`: sentences from test documentation).
pub const MODEL: &str = "offline-2";

/// Folder names that say "tests live here" or "source lives here" but nothing about the
/// domain.
const NOISE_DIRS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "spec",
    "specs",
    "__tests__",
    "__test__",
    "src",
    "lib",
    "main",
    "java",
    "kotlin",
    "scala",
    "groovy",
    "go",
    "python",
    "js",
    "ts",
    "javascript",
    "typescript",
    "app",
    "pkg",
    "internal",
    "cmd",
    "unit",
    "units",
    "integration",
    "integration_tests",
    "e2e",
    "functional",
    "acceptance",
    "it",
    "fixtures",
    "t",
    "tst",
    "source",
    "sources",
    "test_suite",
    "testsuite",
    "cypress",
    "playwright",
    "ruby",
    "rust",
    "csharp",
    "cs",
];

/// Reverse-domain package roots (`com/example/…`): the root and the organisation after it are
/// skipped.
const PACKAGE_ROOTS: &[&str] = &[
    "com", "org", "io", "net", "dev", "me", "co", "uk", "de", "fr", "jp",
];

/// Suite names that group nothing (`mod tests`, a bare `describe`).
const NOISE_SUITES: &[&str] = &[
    "tests",
    "test",
    "spec",
    "specs",
    "unit",
    "unit tests",
    "describe",
    "main",
    "default",
];

/// The domain a test file belongs to.
pub fn domain_for(path: &str) -> String {
    let segs: Vec<&str> = path.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
    let Some((file, dirs)) = segs.split_last() else {
        return "General".to_string();
    };
    let mut candidates = Vec::new();
    let mut skip_next = false;
    for d in dirs {
        let l = d.to_ascii_lowercase();
        if skip_next {
            skip_next = false;
            continue;
        }
        if PACKAGE_ROOTS.contains(&l.as_str()) && candidates.is_empty() {
            skip_next = true;
            continue;
        }
        let version_dir =
            l.len() >= 2 && l.starts_with('v') && l[1..].bytes().all(|b| b.is_ascii_digit());
        if NOISE_DIRS.contains(&l.as_str()) || l.starts_with('.') || version_dir {
            continue;
        }
        candidates.push(*d);
    }
    match candidates.last() {
        Some(d) => naming::title(d),
        None => file_title(file),
    }
}

/// A file's name without extensions and test affixes, as a title: `login.test.ts` → "Login",
/// `test_login.py` → "Login", `LoginServiceTest.java` → "Login service".
pub fn file_title(file: &str) -> String {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = name.split('.').next().unwrap_or(name);
    let t = naming::title(stem);
    if t.is_empty() {
        "General".to_string()
    } else {
        t
    }
}

/// Files whose tests all sit in one top-level suite: the `describe("module")` wrapper that
/// many test files have. Such a wrapper says what the domain already says, so the suites
/// inside it name the features.
pub struct Wrapped(HashSet<String>);

impl Wrapped {
    pub fn of(input: &SpecInput) -> Self {
        let mut set = HashSet::new();
        let mut i = 0;
        let tests = &input.tests;
        while i < tests.len() {
            let file = &tests[i].file;
            let first = tests[i].suite_path.first();
            let mut sole = first.is_some();
            let mut end = i;
            while end < tests.len() && tests[end].file == *file {
                sole &= tests[end].suite_path.first() == first;
                end += 1;
            }
            if sole {
                set.insert(file.clone());
            }
            i = end;
        }
        Self(set)
    }

    /// The feature of a test and how many of its suites the feature name used up.
    fn feature_for(&self, t: &TestEntry) -> (String, usize) {
        let skip = usize::from(self.0.contains(&t.file));
        if skip == 1 {
            if let Some(inner) = t.suite_path.get(1) {
                let l = inner.trim().to_lowercase();
                if !naming::reads_as_condition(inner)
                    && !l.is_empty()
                    && !NOISE_SUITES.contains(&l.as_str())
                {
                    return (naming::title(inner), 2);
                }
            }
        }
        for (i, s) in t.suite_path.iter().enumerate() {
            let l = s.trim().to_lowercase();
            if l.is_empty() || NOISE_SUITES.contains(&l.as_str()) {
                continue;
            }
            let title = naming::title(s);
            if !title.is_empty() {
                return (title, i + 1);
            }
        }
        // Go-style `TestLogin_ExpiredPassword`: the function's subject is the feature.
        if let Some(rest) = t.name.strip_prefix("Test") {
            if let Some((subject, _)) = rest.split_once('_') {
                if subject.starts_with(|c: char| c.is_uppercase()) && !subject.contains(' ') {
                    return (naming::title(subject), 0);
                }
            }
        }
        (file_title(&t.file), 0)
    }
}

/// Offline phase 1: group by path, suite and naming. Domains and features appear in the
/// order of their first test (the inventory's path order).
pub fn classify(input: &SpecInput, language: &LanguageTag) -> Classification {
    let mut domains: Vec<ClassDomain> = Vec::new();
    let mut domain_index: HashMap<String, usize> = HashMap::new();
    let mut feature_index: HashMap<(usize, String), usize> = HashMap::new();
    let mut files_per_domain: Vec<Vec<String>> = Vec::new();
    let wrapped = Wrapped::of(input);
    let mut last: Option<(&str, String)> = None;
    for t in &input.tests {
        // Tests of a file are contiguous: compute its domain once per file.
        let dname = match &last {
            Some((file, d)) if *file == t.file => d.clone(),
            _ => {
                let d = domain_for(&t.file);
                last = Some((&t.file, d.clone()));
                d
            }
        };
        let d = *domain_index.entry(dname.to_lowercase()).or_insert_with(|| {
            domains.push(ClassDomain {
                name: dname.clone(),
                description: None,
                features: Vec::new(),
            });
            files_per_domain.push(Vec::new());
            domains.len() - 1
        });
        // A file's tests are contiguous in the table, so comparing with the last file is enough.
        if files_per_domain[d].last() != Some(&t.file) {
            files_per_domain[d].push(t.file.clone());
        }
        let (fname, _) = wrapped.feature_for(t);
        let features = &mut domains[d].features;
        let f = *feature_index
            .entry((d, fname.to_lowercase()))
            .or_insert_with(|| {
                features.push(ClassFeature {
                    name: fname.clone(),
                    tests: Vec::new(),
                });
                features.len() - 1
            });
        domains[d].features[f].tests.push(t.index);
    }
    for (d, files) in domains.iter_mut().zip(&files_per_domain) {
        let shown: Vec<String> = files.iter().take(3).cloned().collect();
        let more = files.len().saturating_sub(3);
        let list = if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        };
        let n = d.features.iter().map(|f| f.tests.len()).sum::<usize>();
        d.description = Some(format!(
            "{n} {} from {list}.",
            if n == 1 { "behavior" } else { "behaviors" }
        ));
    }
    Classification {
        content_hash: input.content_hash.clone(),
        language: language.clone(),
        domains,
        usage: TokenUsage::default(),
        warnings: Vec::new(),
        from_cache: false,
        placement: None,
        carried: Vec::new(),
        carried_summary: None,
    }
}

/// Offline phase 2 for one feature (`wrapped` computed once per input).
pub fn convert_feature(input: &SpecInput, wrapped: &Wrapped, tests: &[usize]) -> Vec<Sentence> {
    tests
        .iter()
        .filter_map(|&i| input.tests.get(i))
        .map(|t| {
            let (_, used) = wrapped.feature_for(t);
            let context = t.suite_path.get(used..).unwrap_or(&[]);
            // The analyzer marks a dynamic test's name with ` (dynamic)`; the sentence says
            // it its own way.
            let name = if t.dynamic {
                t.name.strip_suffix(" (dynamic)").unwrap_or(&t.name)
            } else {
                &t.name
            };
            // The author's own words first; the name when there are none that read as a
            // sentence.
            let mut text = t
                .doc
                .as_deref()
                .and_then(|d| naming::doc_sentence(d, name))
                .unwrap_or_else(|| naming::sentence(name, context));
            // A table-driven test whose name shows no placeholder still stands for many cases.
            if t.dynamic && !naming::has_placeholder(name) {
                text.push_str(" (each case)");
            }
            Sentence {
                test: t.index,
                text,
            }
        })
        .collect()
}

/// Offline phase 3: a summary from counts.
pub fn summary(input: &SpecInput, classification: &Classification) -> String {
    let n = input.tests.len();
    if n == 0 {
        return "The inventory has no tests, so this specification has no behaviors yet. \
                Add tests to the repository and regenerate the document."
            .to_string();
    }
    let repo = input
        .repository
        .0
        .trim_end_matches('/')
        .rsplit(['/', '\\', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| "this repository".to_string());
    let features: usize = classification
        .domains
        .iter()
        .map(|d| d.features.len())
        .sum();
    let d = classification.domains.len();
    let mut sized: Vec<(usize, &str)> = classification
        .domains
        .iter()
        .map(|d| {
            (
                d.features.iter().map(|f| f.tests.len()).sum(),
                d.name.as_str(),
            )
        })
        .collect();
    sized.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let top: Vec<String> = sized
        .iter()
        .take(3)
        .map(|(c, name)| format!("{name} ({c})"))
        .collect();
    let top_text = match top.len() {
        0 => String::new(),
        1 => top[0].clone(),
        _ => format!(
            "{} and {}",
            top[..top.len() - 1].join(", "),
            top[top.len() - 1]
        ),
    };
    let plural = |k: usize, one: &str, many: &str| {
        if k == 1 {
            format!("{k} {one}")
        } else {
            format!("{k} {many}")
        }
    };
    let first = format!(
        "This specification describes {} of {repo}, in {} and {}.",
        plural(n, "behavior", "behaviors"),
        plural(d, "domain", "domains"),
        plural(features, "feature", "features"),
    );
    let second = if d > 1 {
        format!(" Most of it concerns {top_text}.")
    } else {
        String::new()
    };
    let count = |s: Status| input.tests.iter().filter(|t| t.status == s).count();
    let inactive: Vec<String> = [
        (Status::Skipped, "skipped"),
        (Status::Todo, "still to do"),
        (Status::Xfail, "expected to fail"),
        (Status::Focused, "focused (only these run)"),
    ]
    .iter()
    .filter_map(|(s, word)| {
        let c = count(*s);
        (c > 0).then(|| format!("{c} {word}"))
    })
    .collect();
    let third = if inactive.is_empty() {
        " Every behavior is proven by an active test.".to_string()
    } else {
        format!(
            " Not every behavior is proven by an active test: {}.",
            inactive.join(", ")
        )
    };
    format!("{first}{second}{third}")
}
