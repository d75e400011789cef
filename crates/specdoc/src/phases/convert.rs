//! Phase 2: each feature's test names → behavior sentences.

use std::collections::HashMap;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;
use crate::cache::{behavior_key, CacheMode};
use crate::document::TokenUsage;
use crate::error::{ProviderError, SpecError};
use crate::input::{clean_text, SpecInput, TestEntry};
use crate::lang::LanguageTag;
use crate::offline;
use crate::prompts::CONVERT;
use crate::provider::ModelRequest;
use crate::reliability::ModelClient;

/// Sentences for the features converted so far (the checkpoint of phase 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Behaviors {
    pub content_hash: String,
    pub language: LanguageTag,
    /// [`Classification::fingerprint`] of the classification these features index into: a
    /// checkpoint taken against another classification is refused instead of misplaced.
    pub classification: String,
    pub features: Vec<FeatureBehaviors>,
    pub usage: TokenUsage,
}

/// One feature's sentences, addressed by its position in the [`Classification`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureBehaviors {
    pub domain: usize,
    pub feature: usize,
    pub sentences: Vec<Sentence>,
    /// Set (to the error code) when conversion failed and the sentences are the original test
    /// names.
    pub fallback: Option<String>,
    /// Tests the model's answer gave no sentence for; they show their original names.
    #[serde(default)]
    pub unanswered: usize,
}

impl FeatureBehaviors {
    pub(super) fn new(domain: usize, feature: usize, sentences: Vec<Sentence>) -> Self {
        Self {
            domain,
            feature,
            sentences,
            fallback: None,
            unanswered: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sentence {
    /// Test index.
    pub test: usize,
    pub text: String,
}

#[derive(Debug, Deserialize)]
struct ConvertAnswer {
    #[serde(default)]
    behaviors: Vec<AnswerBehavior>,
}

#[derive(Debug, Deserialize)]
struct AnswerBehavior {
    i: i64,
    #[serde(default)]
    sentence: String,
}

fn convert_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {"behaviors": {"type": "array", "items": {
            "type": "object",
            "properties": {"i": {"type": "integer"}, "sentence": {"type": "string"}},
            "required": ["i", "sentence"]
        }}},
        "required": ["behaviors"]
    })
}

/// Called after each feature is converted, with everything converted so far: save it, and a
/// retried `convert` given it as `resume` continues after those features. Features that fell
/// back are not in it (a retry tries them again).
pub type CheckpointHook<'a> = &'a mut (dyn FnMut(&Behaviors) + Send);

/// Phase 2: each feature's test names become sentences, `opts.concurrency` features at a time.
///
/// A feature whose conversion fails (after the client's retries) falls back to its original
/// test names, marked with the error code. If more than half of all features fail, the phase
/// fails with `CONVERT_FAILED`; the features that succeeded were already handed to `hook` and
/// are in the error's `partial`.
pub async fn convert(
    gen: &Generator,
    input: &SpecInput,
    classification: &Classification,
    opts: &GenerateOptions,
    resume: Option<Behaviors>,
    mut hook: Option<CheckpointHook<'_>>,
) -> Result<Behaviors, SpecError> {
    classification.check_for(input, opts)?;
    let fingerprint = classification.fingerprint();
    let mut acc = match resume {
        Some(r) => {
            check_same_input(input, &r.content_hash, &r.language, opts, "the checkpoint")?;
            if r.classification != fingerprint {
                return Err(SpecError::InconsistentInput(
                    "the checkpoint was taken against another classification".into(),
                ));
            }
            Behaviors {
                features: r
                    .features
                    .into_iter()
                    .filter(|f| f.fallback.is_none())
                    .collect(),
                ..r
            }
        }
        None => Behaviors {
            content_hash: input.content_hash.clone(),
            language: opts.language.clone(),
            classification: fingerprint,
            features: Vec::new(),
            usage: TokenUsage::default(),
        },
    };
    let done: std::collections::HashSet<(usize, usize)> =
        acc.features.iter().map(|f| (f.domain, f.feature)).collect();
    // Indices, not references: a closure whose arguments carry lifetimes makes the whole
    // future fail to be provably `Send` (a higher-ranked lifetime), and callers spawn it.
    let todo: Vec<(usize, usize)> = super::features(classification)
        .into_iter()
        .map(|at| (at.domain, at.feature))
        .filter(|at| !done.contains(at))
        .collect();
    let total: usize = classification
        .domains
        .iter()
        .map(|d| d.features.len())
        .sum();

    let Some(client) = &gen.client else {
        let wrapped = offline::Wrapped::of(input);
        for (d, f) in todo {
            let feat = &classification.domains[d].features[f];
            let sentences = offline::convert_feature(input, &wrapped, &feat.tests);
            acc.features.push(FeatureBehaviors::new(d, f, sentences));
        }
        acc.features.sort_by_key(|f| (f.domain, f.feature));
        if let Some(h) = hook.as_mut() {
            h(&acc);
        }
        return Ok(acc);
    };

    let model_id = gen.model_id();
    let carried = carried_sentences(classification);
    let mut results = futures::stream::iter(todo.into_iter().map(|(d, f)| {
        let model_id = model_id.as_str();
        let carried = &carried;
        let dom = &classification.domains[d];
        let feat = &dom.features[f];
        async move {
            let r =
                convert_feature(gen, client, input, opts, model_id, carried, &dom.name, feat).await;
            (d, f, feat, r)
        }
    }))
    .buffer_unordered(opts.concurrency.max(1));

    let mut failed: Vec<(usize, usize, &ClassFeature, ProviderError)> = Vec::new();
    while let Some((d, f, feat, (result, usage))) = results.next().await {
        acc.usage.add(usage);
        match result {
            Ok((sentences, unanswered)) => {
                acc.features.push(FeatureBehaviors {
                    unanswered,
                    ..FeatureBehaviors::new(d, f, sentences)
                });
                if let Some(h) = hook.as_mut() {
                    h(&acc);
                }
            }
            Err(e) => {
                tracing::warn!(domain = d, feature = f, code = %e.code, "feature conversion failed; falling back to test names");
                failed.push((d, f, feat, e));
            }
        }
    }
    drop(results);
    acc.features.sort_by_key(|f| (f.domain, f.feature));
    if failed.len() * 2 > total {
        let last_error = failed
            .last()
            .map(|(_, _, _, e)| e.clone())
            .unwrap_or_else(|| {
                ProviderError::new(crate::error::ProviderErrorCode::ServerError, "unknown")
            });
        return Err(SpecError::ConvertFailed {
            failed: failed.len(),
            total,
            last_error,
            partial: Box::new(acc),
        });
    }
    for (d, f, feat, e) in failed {
        acc.features.push(FeatureBehaviors {
            fallback: Some(e.code.as_str().to_string()),
            ..FeatureBehaviors::new(d, f, original_names(input, &feat.tests))
        });
    }
    acc.features.sort_by_key(|f| (f.domain, f.feature));
    tracing::info!(
        features = acc.features.len(),
        fallbacks = acc.features.iter().filter(|f| f.fallback.is_some()).count(),
        calls = acc.usage.calls,
        "converted"
    );
    Ok(acc)
}

/// The sentences the classification kept from the previous version, by test index.
pub(super) fn carried_sentences(classification: &Classification) -> HashMap<usize, &str> {
    classification
        .carried
        .iter()
        .map(|s| (s.test, s.text.as_str()))
        .collect()
}

pub(super) fn original_names(input: &SpecInput, tests: &[usize]) -> Vec<Sentence> {
    tests
        .iter()
        .filter_map(|&i| input.tests.get(i))
        .map(|t| Sentence {
            test: t.index,
            text: fallback_text(t),
        })
        .collect()
}

/// One feature with a model: sentences carried from the previous version first, then cached
/// ones, the rest in batches.
#[allow(clippy::too_many_arguments)]
pub(super) async fn convert_feature(
    gen: &Generator,
    client: &ModelClient,
    input: &SpecInput,
    opts: &GenerateOptions,
    model_id: &str,
    carried: &HashMap<usize, &str>,
    domain: &str,
    feature: &ClassFeature,
) -> (Result<(Vec<Sentence>, usize), ProviderError>, TokenUsage) {
    let mut usage = TokenUsage::default();
    let prompt_version = CONVERT.version();
    let key_of = |t: &TestEntry| {
        behavior_key(
            &t.name,
            &t.suite_path,
            &t.file,
            &opts.language,
            model_id,
            &prompt_version,
        )
    };
    let mut got: HashMap<usize, String> = HashMap::new();
    let mut tests: Vec<&TestEntry> = Vec::new();
    for t in feature.tests.iter().filter_map(|&i| input.tests.get(i)) {
        match carried.get(&t.index) {
            Some(s) => {
                got.insert(t.index, s.to_string());
            }
            None => tests.push(t),
        }
    }
    let keys: Vec<String> = tests.iter().map(|t| key_of(t)).collect();
    // One read for the feature (one query on a database cache).
    let mut cached = if opts.cache_mode == CacheMode::Use {
        gen.cache_get_many(&keys).await
    } else {
        HashMap::new()
    };
    let mut misses: Vec<&TestEntry> = Vec::new();
    for (t, key) in tests.iter().zip(&keys) {
        match cached
            .remove(key)
            .and_then(|v| v.as_str().map(str::to_string))
        {
            Some(s) => {
                got.insert(t.index, s);
            }
            None => misses.push(t),
        }
    }
    let system = CONVERT.render(&[
        ("language", &opts.language.prompt_name()),
        ("domain", domain),
        ("feature", &feature.name),
    ]);
    for batch in misses.chunks(opts.convert_batch_tests.max(1)) {
        let user: Vec<String> = batch.iter().map(|t| test_line(t, false)).collect();
        let request = ModelRequest {
            system: system.clone(),
            user: user.join("\n"),
            schema: convert_schema(),
            schema_name: "behaviors",
            max_output_tokens: 8192,
        };
        let wanted: std::collections::HashSet<usize> = batch.iter().map(|t| t.index).collect();
        // An answer that covers none of the batch is as bad as invalid JSON: retry it.
        let check = |a: &ConvertAnswer| {
            if a.behaviors.iter().any(|b| {
                usize::try_from(b.i).is_ok_and(|i| wanted.contains(&i))
                    && !b.sentence.trim().is_empty()
            }) {
                Ok(())
            } else {
                Err("the answer has no sentence for any requested test".to_string())
            }
        };
        match client.call_json::<ConvertAnswer>(&request, check).await {
            Ok((answer, u)) => {
                usage.add(u);
                let mut fresh = Vec::new();
                for b in answer.behaviors {
                    let Ok(i) = usize::try_from(b.i) else {
                        continue;
                    };
                    let text = clean_text(&b.sentence, crate::input::MAX_NAME_CHARS);
                    if wanted.contains(&i) && !text.is_empty() && !got.contains_key(&i) {
                        if let Some(t) = input.tests.get(i) {
                            fresh.push((key_of(t), json!(text)));
                        }
                        got.insert(i, text);
                    }
                }
                gen.cache_put_many(fresh).await;
            }
            Err(f) => {
                usage.add(f.usage);
                return (Err(f.error), usage);
            }
        }
    }
    let mut unanswered = 0;
    let sentences = feature
        .tests
        .iter()
        .filter_map(|&i| input.tests.get(i))
        .map(|t| Sentence {
            test: t.index,
            text: got.remove(&t.index).unwrap_or_else(|| {
                unanswered += 1;
                fallback_text(t)
            }),
        })
        .collect();
    (Ok((sentences, unanswered)), usage)
}
