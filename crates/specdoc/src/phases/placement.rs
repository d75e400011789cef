//! Incremental placement: a new version of a repository's document starts from the previous
//! version in the same language, so that one added test does not reshuffle the document.
//!
//! A test is recognised across versions by its identity — file, suites and normalised name,
//! never its line (moving a test is not changing it). Tests of the previous version that are
//! still there keep their domain, feature and sentence; tests that are gone leave; only the
//! new ones (a renamed test is a new one) are classified — into the existing domains and
//! features, which the prompt lists, or new ones when none fits — and converted.
//!
//! When more than a stated share of the tests changed (`max_changed_percent` of the previous
//! version's tests, added plus removed), the structure is likely stale and the whole inventory
//! is classified again, as it is on request (`fresh`).

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::{ClassDomain, ClassFeature, Sentence};
use crate::cache::normalize_test_name;
use crate::document::SpecDocument;
use crate::input::{SpecInput, TestEntry};

/// What incremental placement did, recorded in the classification and the document's notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementReport {
    /// The document version placement started from.
    pub base_version: u32,
    /// Tests that kept their place and sentence.
    pub kept: usize,
    /// Tests classified and converted anew.
    pub added: usize,
    /// Tests of the base version that are gone.
    pub removed: usize,
}

/// The starting point of an incremental classification.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub report: PlacementReport,
    /// The previous structure holding the kept tests' indices (a feature may be empty: its
    /// tests were removed; it is dropped unless a new test lands in it).
    pub domains: Vec<ClassDomain>,
    /// Sentences of kept tests, carried over as they were (not of tests whose feature fell
    /// back to test names: those are converted again).
    pub carried: Vec<Sentence>,
    /// Indices of the tests to classify and convert, in inventory order.
    pub new_tests: Vec<usize>,
    /// The previous summary, reusable when the set of domains and features stays the same.
    pub summary: Option<String>,
    /// The previous version's (domain, feature) names, sorted (see [`group_names`]).
    pub previous_groups: Vec<(String, String)>,
}

/// A test's identity across versions.
type Identity = (String, String, String);

/// Where a previous behavior was: domain and feature positions, and its sentence unless its
/// feature fell back to test names.
type PreviousPlace<'a> = (usize, usize, Option<&'a str>);

fn identity(file: &str, suite_path: &[String], name: &str) -> Identity {
    (
        file.to_string(),
        suite_path.join("\u{1f}"),
        normalize_test_name(name),
    )
}

fn identity_of(t: &TestEntry) -> Identity {
    identity(&t.file, &t.suite_path, &t.name)
}

/// The incremental plan for `input` on top of `previous`, or `None` when the whole inventory
/// must be classified: the previous version is empty, or more than `max_changed_percent` of
/// its tests changed.
pub fn plan(input: &SpecInput, previous: &SpecDocument, max_changed_percent: u8) -> Option<Plan> {
    // Where each previous test was, by identity; tests with the same identity (a generated
    // test) are matched in order.
    let mut places: HashMap<Identity, VecDeque<PreviousPlace<'_>>> = HashMap::new();
    let mut previous_total = 0usize;
    for (d, dom) in previous.domains.iter().enumerate() {
        for (f, feat) in dom.features.iter().enumerate() {
            for b in &feat.behaviors {
                previous_total += 1;
                // A feature that fell back shows test names, not sentences: its tests keep
                // their place but are converted again.
                let sentence = feat.fallback.is_none().then_some(b.sentence.as_str());
                places
                    .entry(identity(&b.file, &b.suite_path, &b.test_name))
                    .or_default()
                    .push_back((d, f, sentence));
            }
        }
    }
    if previous_total == 0 {
        return None;
    }
    let mut domains: Vec<ClassDomain> = previous
        .domains
        .iter()
        .map(|d| ClassDomain {
            name: d.name.clone(),
            description: d.description.clone(),
            features: d
                .features
                .iter()
                .map(|f| ClassFeature {
                    name: f.name.clone(),
                    tests: Vec::new(),
                })
                .collect(),
        })
        .collect();
    let mut carried = Vec::new();
    let mut new_tests = Vec::new();
    let mut kept = 0usize;
    for t in &input.tests {
        match places
            .get_mut(&identity_of(t))
            .and_then(VecDeque::pop_front)
        {
            Some((d, f, sentence)) => {
                kept += 1;
                domains[d].features[f].tests.push(t.index);
                // Without a sentence (its feature fell back) it keeps its place and the
                // conversion writes its sentence again.
                if let Some(s) = sentence {
                    carried.push(Sentence {
                        test: t.index,
                        text: s.to_string(),
                    });
                }
            }
            None => new_tests.push(t.index),
        }
    }
    let removed = previous_total - kept;
    let added = input.tests.len() - kept;
    let changed = added + removed;
    if changed.saturating_mul(100) > previous_total.saturating_mul(usize::from(max_changed_percent))
    {
        tracing::info!(
            changed,
            previous = previous_total,
            max_changed_percent,
            "too much changed since the previous version; classifying every test again"
        );
        return None;
    }
    Some(Plan {
        report: PlacementReport {
            base_version: previous.version,
            kept,
            added,
            removed,
        },
        domains,
        carried,
        new_tests,
        summary: previous
            .summary_fallback
            .is_none()
            .then(|| previous.summary.clone()),
        previous_groups: {
            let mut g: Vec<(String, String)> = previous
                .domains
                .iter()
                .flat_map(|d| d.features.iter().map(|f| (d.name.clone(), f.name.clone())))
                .collect();
            g.sort();
            g
        },
    })
}

/// The (domain, feature) names of a structure, sorted: equal for two structures with the same
/// groups whatever their order.
pub(super) fn group_names(domains: &[ClassDomain]) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = domains
        .iter()
        .flat_map(|d| {
            d.features
                .iter()
                .filter(|f| !f.tests.is_empty())
                .map(|f| (d.name.clone(), f.name.clone()))
        })
        .collect();
    names.sort();
    names
}
