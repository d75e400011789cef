//! What one file of a repository defines for the tests of others: Rust `macro_rules!`
//! macros whose body holds a `#[test] fn`, and JVM annotation types meta-annotated as
//! tests (JUnit Platform "composed annotations": `@interface FastTest` carrying `@Test`).
//!
//! A scan collects them in a first phase ([`Gate`]), so that a file invoking
//! `rgtest!(name, …)` or annotating methods with `@FastTest` is analysed with the
//! definition at hand wherever the definition lives. The first phase is kept cheap: while
//! the other languages' files are analysed, the candidate files of the three languages
//! concerned are read once, and only a file whose text holds both a definition keyword
//! (`macro_rules!`, `@interface`, `annotation class`) and a test marker is looked at
//! further (parsed for Rust, matched by a regex for the JVM). Those files are analysed
//! in the second phase, read a second time (from the page cache); there is no second walk.

use std::collections::{HashMap, HashSet};
use std::sync::{Barrier, Mutex, OnceLock};

use regex::Regex;

use crate::lang::rust_macros::Macro;

/// The repository's test-generating macros and test annotations.
#[derive(Debug, Default)]
pub struct RepoDefs {
    /// `macro_rules!` macros of the files that define test-writing ones, by name, each
    /// with the file that defines it.
    pub rust_macros: HashMap<String, Vec<(String, Macro)>>,
    /// The names among them whose expansion writes tests, itself or through another.
    rust_test_macros: HashSet<String>,
    /// Annotation types that make a method a test, by simple name; `true` when the test is
    /// generated at run time (meta-annotated `@ParameterizedTest`, `@RepeatedTest`,
    /// `@TestFactory`, `@TestTemplate`).
    pub jvm_annotations: HashMap<String, bool>,
    /// Per language id, a regex that finds a use of one of the definitions: a file that
    /// matches it is parsed even when the language's prefilter would skip it.
    mentions: HashMap<&'static str, Regex>,
    /// Annotation types read so far with their meta-annotations, until [`RepoDefs::finish`].
    pending_jvm: Vec<(String, Vec<String>)>,
}

/// JVM annotations that make a method a test, and whether the test is dynamic.
const JVM_BASE: &[(&str, bool)] = &[
    ("Test", false),
    ("Property", false),
    ("Example", false),
    ("ParameterizedTest", true),
    ("RepeatedTest", true),
    ("TestFactory", true),
    ("TestTemplate", true),
];

/// Longest run of annotation text read in front of one annotation type declaration.
const MAX_META: usize = 2000;

impl RepoDefs {
    /// No definitions: what a file analysed on its own starts from.
    pub fn empty() -> Self {
        RepoDefs::default()
    }

    /// Reads the definitions of one file (`language` is the registry's language id).
    pub fn add_file(&mut self, language: &str, rel: &str, src: &[u8]) {
        let text = String::from_utf8_lossy(src);
        match language {
            "rust" if text.contains("macro_rules!") && has_rust_test_attr(&text) => {
                for (name, mac) in crate::lang::rust_macros::definitions(src) {
                    self.rust_macros
                        .entry(name)
                        .or_default()
                        .push((rel.to_string(), mac));
                }
            }
            "java" | "kotlin"
                if (text.contains("@interface") || text.contains("annotation class"))
                    && text.contains('@') =>
            {
                for (name, metas) in jvm_annotation_types(&text) {
                    self.pending_jvm.push((name, metas));
                }
            }
            _ => {}
        }
    }

    /// Settles what [`RepoDefs::add_file`] collected: composed annotations are resolved
    /// transitively (an annotation carrying a composed one is one too), and the per-language
    /// use patterns are built.
    pub fn finish(mut self) -> Self {
        let mut known: HashMap<String, bool> = JVM_BASE
            .iter()
            .map(|(n, d)| ((*n).to_string(), *d))
            .collect();
        let pending = std::mem::take(&mut self.pending_jvm);
        loop {
            let mut grew = false;
            for (name, metas) in &pending {
                if known.contains_key(name) {
                    continue;
                }
                let found: Vec<bool> = metas.iter().filter_map(|m| known.get(m).copied()).collect();
                if !found.is_empty() {
                    known.insert(name.clone(), found.iter().any(|d| *d));
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let base: HashSet<&str> = JVM_BASE.iter().map(|(n, _)| *n).collect();
        self.jvm_annotations = known
            .into_iter()
            .filter(|(n, _)| !base.contains(n.as_str()))
            .collect();
        self.rust_test_macros = self.settle_rust_macros();
        if let Some(re) = names_regex(self.rust_test_macros.iter(), r"\b(", ")!") {
            self.mentions.insert("rust", re);
        }
        if let Some(re) = names_regex(self.jvm_annotations.keys(), r"@([\w.]+\.)?(", r")\b") {
            self.mentions.insert("java", re.clone());
            self.mentions.insert("kotlin", re);
        }
        self
    }

    /// True when `src` uses one of the definitions (for the prefilter of `language`).
    pub fn mentioned(&self, language: &str, src: &str) -> bool {
        self.mentions
            .get(language)
            .is_some_and(|re| re.is_match(src))
    }

    /// The names of the macros that write tests, themselves or by invoking one that does.
    fn settle_rust_macros(&self) -> HashSet<String> {
        let mut found: HashSet<String> = self
            .rust_macros
            .iter()
            .filter(|(_, defs)| defs.iter().any(|(_, m)| m.has_tests()))
            .map(|(n, _)| n.clone())
            .collect();
        loop {
            let more: Vec<String> = self
                .rust_macros
                .iter()
                .filter(|(n, defs)| {
                    !found.contains(*n)
                        && defs
                            .iter()
                            .any(|(_, m)| m.calls().any(|c| found.contains(c)))
                })
                .map(|(n, _)| n.clone())
                .collect();
            if more.is_empty() {
                return found;
            }
            found.extend(more);
        }
    }

    /// Whether the macro `name` writes tests when invoked.
    pub fn is_rust_test_macro(&self, name: &str) -> bool {
        self.rust_test_macros.contains(name)
    }

    /// The macro `name` as seen from `rel`: the file's own definition first, else the
    /// first one found elsewhere.
    pub fn rust_macro(&self, name: &str, rel: &str) -> Option<&Macro> {
        let all = self.rust_macros.get(name)?;
        all.iter()
            .find(|(file, _)| file == rel)
            .or_else(|| all.first())
            .map(|(_, m)| m)
    }

    /// Whether an annotation (its text, `@FastTest` or `@x.y.FastTest(…)`) is a composed
    /// test annotation of the repository: `Some(dynamic)` when it is.
    pub fn jvm_annotation(&self, attr: &str) -> Option<bool> {
        if self.jvm_annotations.is_empty() {
            return None;
        }
        let name = attr.trim().strip_prefix('@')?;
        let end = name
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(name.len());
        let simple = name[..end].rsplit('.').next()?;
        self.jvm_annotations.get(simple).copied()
    }
}

/// `before` + the names as alternatives + `after`; `None` when there is no name.
fn names_regex<'a>(
    names: impl Iterator<Item = &'a String>,
    before: &str,
    after: &str,
) -> Option<Regex> {
    let names: Vec<String> = names.map(|n| regex::escape(n)).collect();
    if names.is_empty() {
        return None;
    }
    Regex::new(&format!("{before}{}{after}", names.join("|"))).ok()
}

fn has_rust_test_attr(text: &str) -> bool {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"#\s*\[\s*(\w+::)*test\b").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(text))
}

/// Annotation types declared in a Java or Kotlin source, each with the simple names of
/// the annotations written in front of its declaration.
fn jvm_annotation_types(text: &str) -> Vec<(String, Vec<String>)> {
    static RES: std::sync::OnceLock<Option<(Regex, Regex)>> = std::sync::OnceLock::new();
    let Some((decl, meta)) = RES
        .get_or_init(|| {
            Some((
                Regex::new(r"(@interface|\bannotation\s+class)\s+(\w+)").ok()?,
                Regex::new(r"@([\w.]+\.)?(\w+)").ok()?,
            ))
        })
        .as_ref()
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut prev_end = 0;
    for c in decl.captures_iter(text) {
        let (Some(whole), Some(name)) = (c.get(0), c.get(2)) else {
            continue;
        };
        // The declaration's modifiers: back to the end of the previous declaration or
        // statement (`;`, `}`), or to the previous annotation type.
        let mut from = whole.start().saturating_sub(MAX_META).max(prev_end);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let region = &text[from..whole.start()];
        // A `}` closes an argument list such as `@Target({METHOD})` too: only one that
        // starts a line ends a previous type.
        let cut = region
            .char_indices()
            .rev()
            .find(|&(i, c)| c == ';' || (c == '}' && line_start(region, i)))
            .map_or(0, |(i, _)| i + 1);
        let region = &region[cut..];
        let metas = meta
            .captures_iter(region)
            .filter_map(|m| m.get(2).map(|n| n.as_str().to_string()))
            .filter(|n| n != "interface")
            .collect();
        out.push((name.as_str().to_string(), metas));
        prev_end = whole.end();
    }
    out
}

fn line_start(s: &str, i: usize) -> bool {
    s[..i]
        .chars()
        .rev()
        .take_while(|c| *c != '\n')
        .all(char::is_whitespace)
}

/// The languages whose files may use another file's definitions: their analysis waits
/// until every definition is known.
pub fn deferred(language: &str) -> bool {
    matches!(language, "rust" | "java" | "kotlin")
}

/// The two phases of a scan's workers around the definitions: in the first, files of
/// [`deferred`] languages are only read for definitions and put aside; when every worker
/// is through the first phase the definitions are settled, and the files put aside are
/// analysed with them. Each worker takes one [`Gate::arrival`].
pub struct Gate<J> {
    collecting: Mutex<RepoDefs>,
    put_aside: Mutex<Vec<J>>,
    barrier: Barrier,
    settled: OnceLock<RepoDefs>,
    empty: RepoDefs,
}

impl<J> Gate<J> {
    /// A gate for `workers` worker threads (each takes one [`Gate::arrival`]).
    pub fn new(workers: usize) -> Self {
        Gate {
            collecting: Mutex::new(RepoDefs::empty()),
            put_aside: Mutex::new(Vec::new()),
            barrier: Barrier::new(workers.max(1)),
            settled: OnceLock::new(),
            empty: RepoDefs::empty(),
        }
    }

    /// No definitions: what the first phase's files (of other languages) are read with.
    pub fn none(&self) -> &RepoDefs {
        &self.empty
    }

    /// Reads a file's definitions and puts its job aside for the second phase.
    pub fn put_aside(&self, job: J, language: &str, rel: &str, src: Option<&[u8]>) {
        if let Some(src) = src.filter(|s| may_define(language, s)) {
            let mut one = RepoDefs::empty();
            one.add_file(language, rel, src);
            if let Ok(mut all) = self.collecting.lock() {
                all.merge(one);
            }
        }
        if let Ok(mut jobs) = self.put_aside.lock() {
            jobs.push(job);
        }
    }

    /// A worker's place at the barrier: [`Arrival::settle`] waits there; if the worker
    /// unwinds before (a panic), dropping it waits in its stead, so the other workers are
    /// not left waiting for ever.
    pub fn arrival(&self) -> Arrival<'_, J> {
        Arrival {
            gate: self,
            arrived: false,
        }
    }

    fn settled(&self) -> &RepoDefs {
        self.settled.get_or_init(|| {
            let collected = self
                .collecting
                .lock()
                .map(|mut d| std::mem::take(&mut *d))
                .unwrap_or_default();
            collected.finish()
        })
    }

    /// The next file put aside, for the second phase.
    pub fn next(&self) -> Option<J> {
        self.put_aside.lock().ok()?.pop()
    }
}

/// See [`Gate::arrival`].
pub struct Arrival<'g, J> {
    gate: &'g Gate<J>,
    arrived: bool,
}

impl<'g, J> Arrival<'g, J> {
    /// Waits for every worker to finish the first phase, then returns the settled
    /// definitions.
    pub fn settle(mut self) -> &'g RepoDefs {
        self.arrived = true;
        self.gate.barrier.wait();
        self.gate.settled()
    }
}

impl<J> Drop for Arrival<'_, J> {
    fn drop(&mut self) {
        if !self.arrived {
            self.gate.barrier.wait();
        }
    }
}

/// The cheap test of [`RepoDefs::add_file`]: could this file define anything?
fn may_define(language: &str, src: &[u8]) -> bool {
    let has = |needle: &[u8]| src.windows(needle.len()).any(|w| w == needle);
    match language {
        "rust" => has(b"macro_rules!"),
        "java" => has(b"@interface"),
        "kotlin" => has(b"annotation class"),
        _ => false,
    }
}

impl RepoDefs {
    fn merge(&mut self, other: RepoDefs) {
        for (name, defs) in other.rust_macros {
            self.rust_macros.entry(name).or_default().extend(defs);
        }
        self.pending_jvm.extend(other.pending_jvm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that panics in the first phase still arrives at the barrier, so the
    /// others get the definitions instead of waiting for ever.
    #[test]
    fn a_worker_that_panics_does_not_hold_the_others_at_the_gate() {
        let gate: Gate<u32> = Gate::new(2);
        let (panicked, settled) = std::thread::scope(|s| {
            let failing = s.spawn(|| {
                let _arrival = gate.arrival();
                panic!("a worker fails in the first phase");
            });
            let other = s.spawn(|| {
                let arrival = gate.arrival();
                gate.put_aside(
                    7,
                    "rust",
                    "a.rs",
                    Some(b"macro_rules! t { () => { #[test] fn x() {} } }"),
                );
                arrival.settle().is_rust_test_macro("t")
            });
            (failing.join().is_err(), other.join().unwrap_or(false))
        });
        assert!(panicked);
        assert!(settled);
        assert_eq!(gate.next(), Some(7));
        assert_eq!(gate.next(), None);
    }

    /// Composed annotations resolve through one another, and only those carrying a test
    /// annotation count; the names' regex finds a use for the prefilter.
    #[test]
    fn composed_annotations_resolve_transitively() {
        let mut defs = RepoDefs::empty();
        defs.add_file(
            "java",
            "A.java",
            b"@Retention(RUNTIME)\n@Fast\n@interface VeryFast {}\n@Tag(\"x\")\n@interface Tagged {}\n",
        );
        defs.add_file(
            "java",
            "B.java",
            b"import x;\n@Target({METHOD})\n@org.junit.jupiter.params.ParameterizedTest\npublic @interface Fast {}\n",
        );
        let defs = defs.finish();
        assert_eq!(defs.jvm_annotation("@VeryFast"), Some(true));
        assert_eq!(defs.jvm_annotation("@shop.Fast(\"x\")"), Some(true));
        assert_eq!(defs.jvm_annotation("@Tagged"), None);
        assert!(defs.mentioned("java", "class T { @VeryFast void t() {} }"));
        assert!(!defs.mentioned("java", "class T { @Tagged void t() {} }"));
    }
}
