//! What changed between two versions of a spec document: behaviors added, removed, reworded
//! (same test, another sentence) and moved (same test, another domain or feature).
//!
//! A behavior is recognised across versions by its test's identity — file, suites and name
//! with whitespace runs folded, never its line or index (moving a test in its file or adding
//! one before it changes neither). Tests with the same identity (generated ones) are matched
//! in order. A renamed test is one removed and one added: the document cannot tell a rename
//! from a replacement.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::document::SpecDocument;
use crate::text::clean_text;

/// Where a behavior is: its domain and feature names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub domain: String,
    pub feature: String,
}

/// A behavior as a diff lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffBehavior {
    pub test_name: String,
    pub file: String,
    pub suite_path: Vec<String>,
    #[serde(flatten)]
    pub place: Place,
    pub sentence: String,
}

/// A behavior present in both versions whose sentence or place changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changed {
    pub test_name: String,
    pub file: String,
    pub suite_path: Vec<String>,
    pub before: Place,
    pub after: Place,
    pub sentence_before: String,
    pub sentence_after: String,
}

/// The counts of a diff, for lists and headlines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffCounts {
    pub added: usize,
    pub removed: usize,
    pub reworded: usize,
    pub moved: usize,
    pub unchanged: usize,
}

/// What changed from version `from_version` to `to_version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDiff {
    pub from_version: u32,
    pub to_version: u32,
    pub counts: DiffCounts,
    pub added: Vec<DiffBehavior>,
    pub removed: Vec<DiffBehavior>,
    /// Same test, another sentence (it may have moved as well).
    pub reworded: Vec<Changed>,
    /// Same test, another domain or feature, same sentence.
    pub moved: Vec<Changed>,
}

type Identity = (String, String, String);

fn behaviors(doc: &SpecDocument) -> Vec<(Identity, DiffBehavior)> {
    let mut out = Vec::new();
    for d in &doc.domains {
        for f in &d.features {
            for b in &f.behaviors {
                let id = (
                    b.file.clone(),
                    b.suite_path.join("\u{1f}"),
                    clean_text(&b.test_name, usize::MAX),
                );
                out.push((
                    id,
                    DiffBehavior {
                        test_name: b.test_name.clone(),
                        file: b.file.clone(),
                        suite_path: b.suite_path.clone(),
                        place: Place {
                            domain: d.name.clone(),
                            feature: f.name.clone(),
                        },
                        sentence: b.sentence.clone(),
                    },
                ));
            }
        }
    }
    out
}

/// The diff from `before` to `after`.
pub fn between(before: &SpecDocument, after: &SpecDocument) -> DocumentDiff {
    let mut old: HashMap<Identity, VecDeque<DiffBehavior>> = HashMap::new();
    let mut old_order: Vec<Identity> = Vec::new();
    for (id, b) in behaviors(before) {
        old_order.push(id.clone());
        old.entry(id).or_default().push_back(b);
    }
    let mut diff = DocumentDiff {
        from_version: before.version,
        to_version: after.version,
        counts: DiffCounts::default(),
        added: Vec::new(),
        removed: Vec::new(),
        reworded: Vec::new(),
        moved: Vec::new(),
    };
    for (id, b) in behaviors(after) {
        let Some(was) = old.get_mut(&id).and_then(VecDeque::pop_front) else {
            diff.added.push(b);
            continue;
        };
        let changed = Changed {
            test_name: b.test_name.clone(),
            file: b.file.clone(),
            suite_path: b.suite_path.clone(),
            before: was.place.clone(),
            after: b.place.clone(),
            sentence_before: was.sentence.clone(),
            sentence_after: b.sentence.clone(),
        };
        if was.sentence != b.sentence {
            diff.reworded.push(changed);
        } else if was.place != b.place {
            diff.moved.push(changed);
        } else {
            diff.counts.unchanged += 1;
        }
    }
    // What is left of the old version was removed, listed in its old order.
    for id in old_order {
        if let Some(b) = old.get_mut(&id).and_then(VecDeque::pop_front) {
            diff.removed.push(b);
        }
    }
    diff.counts.added = diff.added.len();
    diff.counts.removed = diff.removed.len();
    diff.counts.reworded = diff.reworded.len();
    diff.counts.moved = diff.moved.len();
    diff
}

/// The diff as text for a terminal: a headline, then one line per change
/// (`+` added, `-` removed, `~` reworded, `>` moved).
pub fn to_text(diff: &DocumentDiff) -> String {
    let c = &diff.counts;
    let mut out = format!(
        "version {} -> {}: +{} added, -{} removed, ~{} reworded, >{} moved, {} unchanged\n",
        diff.from_version, diff.to_version, c.added, c.removed, c.reworded, c.moved, c.unchanged
    );
    let at = |p: &Place| format!("{} / {}", p.domain, p.feature);
    let mut lines: Vec<(char, String, &str)> = Vec::new();
    for (mark, list) in [('+', &diff.added), ('-', &diff.removed)] {
        for b in list {
            lines.push((mark, format!("[{}] {}", at(&b.place), b.sentence), &b.file));
        }
    }
    for c in &diff.reworded {
        let text = format!(
            "[{}] {} -> {}",
            at(&c.after),
            c.sentence_before,
            c.sentence_after
        );
        lines.push(('~', text, &c.file));
    }
    for c in &diff.moved {
        let text = format!(
            "{} -> {}: {}",
            at(&c.before),
            at(&c.after),
            c.sentence_after
        );
        lines.push(('>', text, &c.file));
    }
    for (mark, text, file) in lines {
        out.push_str(&format!("{mark} {text} ({file})\n"));
    }
    out
}
