//! Phase 2 one feature at a time: what a pipeline that converts each feature in a job of its
//! own (a mapped step, spread over every spec generator) runs per feature, and how it joins
//! the features' results into the [`Behaviors`] the single-job [`convert`] returns — the same
//! value for the same answers, so where a feature ran never shows in the document.

use serde::{Deserialize, Serialize};

use super::convert::{carried_sentences, convert_feature, original_names};
use super::*;
use crate::document::TokenUsage;
use crate::error::SpecError;
use crate::input::SpecInput;

/// One feature of a classification, by position: the item of a fan-out. The name is only
/// for people reading the list of items (the output of the step that lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureRef {
    pub domain: usize,
    pub feature: usize,
    pub name: String,
}

/// Every feature of `classification` in document order (domains, then their features): the
/// order [`join`] expects the results in.
pub fn features(classification: &Classification) -> Vec<FeatureRef> {
    classification
        .domains
        .iter()
        .enumerate()
        .flat_map(|(d, dom)| {
            dom.features
                .iter()
                .enumerate()
                .map(move |(f, feat)| FeatureRef {
                    domain: d,
                    feature: f,
                    name: feat.name.clone(),
                })
        })
        .collect()
}

/// One feature's sentences and what the model calls for them cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConversion {
    pub feature: FeatureBehaviors,
    pub usage: TokenUsage,
}

/// Converts the feature `at` of `classification`: carried sentences first, then the cache,
/// then the model in batches (as [`convert`] does for each feature). A provider failure
/// (after the client's retries) is `CONVERT_FAILED` of one feature, classed by its provider
/// error, so the job that runs it is retried, snoozed or failed as that error says.
pub async fn convert_one(
    gen: &Generator,
    input: &SpecInput,
    classification: &Classification,
    opts: &GenerateOptions,
    at: &FeatureRef,
) -> Result<FeatureConversion, SpecError> {
    classification.check_for(input, opts)?;
    let dom = classification.domains.get(at.domain);
    let Some((dom, feat)) = dom.and_then(|d| d.features.get(at.feature).map(|f| (d, f))) else {
        return Err(SpecError::InconsistentInput(format!(
            "feature {}.{} is not in the classification",
            at.domain, at.feature
        )));
    };
    let Some(client) = &gen.client else {
        let wrapped = offline::Wrapped::of(input);
        let sentences = offline::convert_feature(input, &wrapped, &feat.tests);
        return Ok(FeatureConversion {
            feature: FeatureBehaviors::new(at.domain, at.feature, sentences),
            usage: TokenUsage::default(),
        });
    };
    let carried = carried_sentences(classification);
    let model_id = gen.model_id();
    let (result, usage) = convert_feature(
        gen, client, input, opts, &model_id, &carried, &dom.name, feat,
    )
    .await;
    match result {
        Ok((sentences, unanswered)) => Ok(FeatureConversion {
            feature: FeatureBehaviors {
                unanswered,
                ..FeatureBehaviors::new(at.domain, at.feature, sentences)
            },
            usage,
        }),
        Err(last_error) => Err(SpecError::ConvertFailed {
            failed: 1,
            total: 1,
            last_error,
            partial: Box::new(Behaviors {
                content_hash: input.content_hash.clone(),
                language: opts.language.clone(),
                classification: classification.fingerprint(),
                features: Vec::new(),
                usage,
            }),
        }),
    }
}

/// What became of one feature's job: its conversion, or its failure's code and message.
pub type FeatureOutcome = Result<FeatureConversion, (String, String)>;

/// Joins the features' outcomes, in the order of [`features`], into the phase's
/// [`Behaviors`]. A failed feature falls back to its original test names, marked with its
/// code; more than half failed is `FEATURES_FAILED` (as [`convert`] fails with
/// `CONVERT_FAILED`, but permanent: the features' jobs have used their retries). Outcomes that do not
/// match the classification's features one for one are `INCONSISTENT_INPUT`.
pub fn join(
    input: &SpecInput,
    classification: &Classification,
    opts: &GenerateOptions,
    outcomes: Vec<FeatureOutcome>,
) -> Result<Behaviors, SpecError> {
    classification.check_for(input, opts)?;
    let wanted = features(classification);
    if outcomes.len() != wanted.len() {
        return Err(SpecError::InconsistentInput(format!(
            "{} converted features for a classification of {}",
            outcomes.len(),
            wanted.len()
        )));
    }
    let mut acc = Behaviors {
        content_hash: input.content_hash.clone(),
        language: opts.language.clone(),
        classification: classification.fingerprint(),
        features: Vec::with_capacity(wanted.len()),
        usage: TokenUsage::default(),
    };
    let mut failed: Vec<(String, String)> = Vec::new();
    for (at, outcome) in wanted.iter().zip(outcomes) {
        match outcome {
            Ok(done) => {
                if (done.feature.domain, done.feature.feature) != (at.domain, at.feature) {
                    return Err(SpecError::InconsistentInput(format!(
                        "the conversion of feature {}.{} came back as {}.{}",
                        at.domain, at.feature, done.feature.domain, done.feature.feature
                    )));
                }
                acc.usage.add(done.usage);
                acc.features.push(done.feature);
            }
            Err((code, message)) => {
                let tests = &classification.domains[at.domain].features[at.feature].tests;
                acc.features.push(FeatureBehaviors {
                    fallback: Some(code.clone()),
                    ..FeatureBehaviors::new(at.domain, at.feature, original_names(input, tests))
                });
                failed.push((code, message));
            }
        }
    }
    if failed.len() * 2 > wanted.len() {
        return Err(SpecError::FeaturesFailed {
            failed: failed.len(),
            total: wanted.len(),
            last_code: failed.pop().map(|(code, _)| code).unwrap_or_default(),
        });
    }
    Ok(acc)
}
