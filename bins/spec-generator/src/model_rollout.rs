//! The spec generator's model as a rollout (`classify_tests.model`): a candidate provider or
//! model (`provider.candidate_model`, `candidate_base_url`, `candidate_api_key`) classifies
//! the tests beside the primary, in shadow first, and what moved is recorded: which test went
//! to which domain and feature under each model, the domains and features only one of them
//! made, and the tokens each side spent.
//!
//! In shadow the candidate classifies the same input from the same starting point (the
//! previous document, when the primary starts from it) with a cache of its own in memory,
//! and nothing of it is stored: no checkpoint, no cache row, no usage row. Its calls are
//! therefore not counted against the owner's budget; they show in the model metrics under
//! the candidate's model name and, for a mismatch, in the diff's `cost`. In `percent`/`full`
//! the candidate's classification is the one the document is built from, and its cost is
//! recorded as the owner's like the primary's. The rollout key is the repository, so the
//! versions of one repository's document are classified by one model while the percentage
//! holds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use specline_queue::rollout::{Comparison, Rollout, RolloutOptions};
use specline_specdoc::document::TokenUsage;
use specline_specdoc::phases::Classification;
use specline_specdoc::SpecInput;

/// The rollout's name.
pub const MODEL_ROLLOUT: &str = "classify_tests.model";

/// A classification with the names of the tests it places, so that a diff names tests.
#[derive(Debug, Clone)]
pub struct Classified {
    pub classification: Classification,
    /// `file › suites > name` of each test, by index.
    pub tests: Arc<Vec<String>>,
}

/// The label of every test of `input`, by index: what the diff calls a test.
pub fn test_labels(input: &SpecInput) -> Arc<Vec<String>> {
    Arc::new(
        input
            .tests
            .iter()
            .map(|t| {
                let mut path = t.suite_path.clone();
                path.push(t.name.clone());
                format!("{} › {}", t.file, path.join(" > "))
            })
            .collect(),
    )
}

/// The rollout, compared by [`compare`]; a shadow classification may take `candidate_timeout`
/// (a large repository's classification is many model calls: the spec generator gives it
/// the step's own time limit, `spec_generator.job_timeout_secs`).
pub fn rollout(candidate_timeout: Duration) -> Rollout<Classified> {
    Rollout::with_options(
        MODEL_ROLLOUT,
        compare,
        RolloutOptions {
            candidate_timeout,
            ..RolloutOptions::default()
        },
    )
}

/// `Domain / Feature` of each test index.
fn placements(c: &Classification) -> BTreeMap<usize, String> {
    let mut out = BTreeMap::new();
    for d in &c.domains {
        for f in &d.features {
            for &t in &f.tests {
                out.insert(t, format!("{} / {}", d.name, f.name));
            }
        }
    }
    out
}

fn domains(c: &Classification) -> BTreeSet<&str> {
    c.domains.iter().map(|d| d.name.as_str()).collect()
}

fn features(c: &Classification) -> BTreeSet<String> {
    c.domains
        .iter()
        .flat_map(|d| {
            d.features
                .iter()
                .map(|f| format!("{} / {}", d.name, f.name))
        })
        .collect()
}

/// One test placed differently.
#[derive(Debug, Serialize)]
struct Moved<'a> {
    test: &'a str,
    primary: Option<&'a str>,
    candidate: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Cost {
    calls: u64,
    prompt_tokens: u64,
    output_tokens: u64,
}

impl From<&TokenUsage> for Cost {
    fn from(u: &TokenUsage) -> Self {
        Cost {
            calls: u.calls,
            prompt_tokens: u.prompt_tokens,
            output_tokens: u.output_tokens,
        }
    }
}

/// A match when every test is in the same domain and feature (by name) under both models
/// and both made the same domains and features; otherwise the moved tests (by label, in
/// order), the domains and features only one side made, and the cost of both sides. The
/// similarity is the share of tests placed alike.
pub fn compare(primary: &Classified, candidate: &Classified) -> Comparison {
    let (p, c) = (&primary.classification, &candidate.classification);
    let (pp, cp) = (placements(p), placements(c));
    let label = |i: usize| primary.tests.get(i).map_or("?", String::as_str);
    let indices: BTreeSet<usize> = pp.keys().chain(cp.keys()).copied().collect();
    let moved: Vec<Moved<'_>> = indices
        .iter()
        .filter(|i| pp.get(i) != cp.get(i))
        .map(|&i| Moved {
            test: label(i),
            primary: pp.get(&i).map(String::as_str),
            candidate: cp.get(&i).map(String::as_str),
        })
        .collect();
    let (pd, cd) = (domains(p), domains(c));
    let (pf, cf) = (features(p), features(c));
    if moved.is_empty() && pd == cd && pf == cf {
        return Comparison::Match;
    }
    let total = indices.len().max(1);
    let alike = indices.len() - moved.len();
    Comparison::Mismatch {
        similarity: alike as f64 / total as f64,
        diff: json!({
            "moved": moved,
            "domains": {
                "only_primary": pd.difference(&cd).collect::<Vec<_>>(),
                "only_candidate": cd.difference(&pd).collect::<Vec<_>>(),
            },
            "features": {
                "only_primary": pf.difference(&cf).collect::<Vec<_>>(),
                "only_candidate": cf.difference(&pf).collect::<Vec<_>>(),
            },
            "cost": {
                "primary": Cost::from(&p.usage),
                "candidate": Cost::from(&c.usage),
            },
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use specline_specdoc::phases::{ClassDomain, ClassFeature};
    use specline_specdoc::LanguageTag;

    use super::*;

    fn classified(groups: &[(&str, &str, &[usize])], calls: u64) -> Classified {
        let mut domains: Vec<ClassDomain> = Vec::new();
        for (d, f, tests) in groups {
            let feature = ClassFeature {
                name: f.to_string(),
                tests: tests.to_vec(),
            };
            match domains.iter_mut().find(|x| x.name == *d) {
                Some(x) => x.features.push(feature),
                None => domains.push(ClassDomain {
                    name: d.to_string(),
                    description: None,
                    features: vec![feature],
                }),
            }
        }
        Classified {
            classification: Classification {
                content_hash: "h".into(),
                language: LanguageTag::parse("en").unwrap(),
                domains,
                usage: TokenUsage {
                    calls,
                    prompt_tokens: 100 * calls,
                    output_tokens: 20 * calls,
                    total_tokens: 120 * calls,
                },
                warnings: vec![],
                from_cache: false,
                placement: None,
                carried: vec![],
                carried_summary: None,
            },
            tests: Arc::new(vec![
                "a.py › t0".into(),
                "a.py › t1".into(),
                "b.py › t2".into(),
            ]),
        }
    }

    #[test]
    fn the_same_grouping_matches_whatever_it_cost() {
        let p = classified(&[("D", "F", &[0, 1]), ("E", "G", &[2])], 1);
        let c = classified(&[("E", "G", &[2]), ("D", "F", &[1, 0])], 3);
        assert_eq!(compare(&p, &c), Comparison::Match);
    }

    #[test]
    fn a_moved_test_is_named_with_both_places_and_the_cost_of_both() {
        let p = classified(&[("D", "F", &[0, 1]), ("E", "G", &[2])], 1);
        let c = classified(&[("D", "F", &[0]), ("E", "G", &[2]), ("E", "H", &[1])], 2);
        let Comparison::Mismatch { similarity, diff } = compare(&p, &c) else {
            panic!("a moved test matched");
        };
        assert!((similarity - 2.0 / 3.0).abs() < 1e-9, "{similarity}");
        assert_eq!(
            diff,
            json!({
                "moved": [{"test": "a.py › t1", "primary": "D / F", "candidate": "E / H"}],
                "domains": {"only_primary": [], "only_candidate": []},
                "features": {"only_primary": [], "only_candidate": ["E / H"]},
                "cost": {
                    "primary": {"calls": 1, "prompt_tokens": 100, "output_tokens": 20},
                    "candidate": {"calls": 2, "prompt_tokens": 200, "output_tokens": 40},
                },
            })
        );
    }
}
