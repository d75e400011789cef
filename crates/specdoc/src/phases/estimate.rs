//! What a generation will cost before it calls anything: model calls per phase, from what
//! the caches and the previous version already hold.
//!
//! An estimate, not a promise: which feature a new test lands in is only known after it is
//! classified, so conversion calls are counted per file (the usual shape of a feature), and
//! the summary is counted whenever anything else calls the model (a summary whose domains and
//! features did not change is reused, and then the estimate was one call too high).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::placement;
use super::*;
use crate::cache::{behavior_key, classification_key, CacheMode};
use crate::document::SpecDocument;
use crate::prompts::{CLASSIFY, CONVERT};

/// Model calls a generation is expected to make.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimate {
    pub classify_calls: u64,
    pub convert_calls: u64,
    pub summarize_calls: u64,
    /// Tests whose sentence the model must write (neither carried nor cached).
    pub tests_to_convert: u64,
}

impl Estimate {
    pub fn total_calls(&self) -> u64 {
        self.classify_calls + self.convert_calls + self.summarize_calls
    }
}

fn batches(n: usize, size: usize) -> u64 {
    n.div_ceil(size.max(1)) as u64
}

/// The estimate of [`classify_from`] → [`convert`] → [`summarize`] with the same arguments.
/// Reads the caches (one query for all behavior keys); calls no model.
pub async fn estimate(
    gen: &Generator,
    input: &SpecInput,
    opts: &GenerateOptions,
    previous: Option<&SpecDocument>,
) -> Estimate {
    if gen.is_offline() || input.tests.is_empty() {
        return Estimate::default();
    }
    let use_cache = opts.cache_mode == CacheMode::Use;
    let model_id = gen.model_id();
    let plan = previous
        .filter(|_| !opts.fresh)
        .and_then(|p| placement::plan(input, p, opts.max_changed_percent));
    let (classify_calls, carried): (u64, Vec<usize>) = match &plan {
        Some(plan) => (
            batches(plan.new_tests.len(), opts.classify_chunk_tests),
            plan.carried.iter().map(|s| s.test).collect(),
        ),
        None => {
            let key = classification_key(
                &input.repository,
                &input.content_hash,
                &opts.language,
                &model_id,
                &CLASSIFY.version(),
                opts.classify_chunk_tests,
            );
            let cached = use_cache && gen.cache_peek(&key).await.is_some();
            let calls = if cached {
                0
            } else {
                chunk_by_file(&input.tests, opts.classify_chunk_tests).len() as u64
            };
            (calls, Vec::new())
        }
    };
    let mut carried_flags = vec![false; input.tests.len()];
    for i in carried {
        if let Some(f) = carried_flags.get_mut(i) {
            *f = true;
        }
    }
    let prompt_version = CONVERT.version();
    let pending: Vec<&TestEntry> = input
        .tests
        .iter()
        .filter(|t| !carried_flags[t.index])
        .collect();
    let keys: Vec<String> = pending
        .iter()
        .map(|t| {
            behavior_key(
                &t.name,
                &t.suite_path,
                &t.file,
                &opts.language,
                &model_id,
                &prompt_version,
            )
        })
        .collect();
    let cached = if use_cache {
        gen.cache_peek_many(&keys).await
    } else {
        HashMap::new()
    };
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    let mut tests_to_convert = 0u64;
    for (t, key) in pending.iter().zip(&keys) {
        if !cached.contains_key(key) {
            tests_to_convert += 1;
            *per_file.entry(t.file.as_str()).or_default() += 1;
        }
    }
    let convert_calls = per_file
        .values()
        .map(|&n| batches(n, opts.convert_batch_tests))
        .sum();
    let summarize_calls = u64::from(classify_calls + convert_calls > 0);
    Estimate {
        classify_calls,
        convert_calls,
        summarize_calls,
        tests_to_convert,
    }
}
