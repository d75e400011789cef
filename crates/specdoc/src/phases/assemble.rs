//! The last step: phase outputs → the document, every test exactly once.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::*;
use crate::document::{
    Behavior, DocumentStats, Domain, Feature, GeneratorInfo, SpecDocument, DOCUMENT_SCHEMA_VERSION,
};
use crate::error::SpecError;
use crate::input::{status_word, SpecInput, TestEntry};
use crate::lang::LanguageTag;

/// What the document records besides the phases' outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssembleMeta {
    /// See [`crate::document::next_version`].
    pub version: u32,
    pub generator: GeneratorInfo,
    pub generated_at: chrono::DateTime<chrono::Utc>,
}

/// Builds the document. Re-checks that every test appears exactly once: a test the
/// classification left out goes to "Uncategorized", one it named twice appears only the first
/// time, and a test without a sentence shows its original name.
pub fn assemble(
    input: &SpecInput,
    classification: &Classification,
    behaviors: &Behaviors,
    summary: &Summary,
    opts: &GenerateOptions,
    meta: AssembleMeta,
) -> Result<SpecDocument, SpecError> {
    classification.check_for(input, opts)?;
    check_same_input(
        input,
        &behaviors.content_hash,
        &behaviors.language,
        opts,
        "the behaviors",
    )?;
    if behaviors.classification != classification.fingerprint() {
        return Err(SpecError::InconsistentInput(
            "the behaviors were converted for another classification".into(),
        ));
    }
    let mut sentence: Vec<Option<&str>> = vec![None; input.tests.len()];
    let mut fallback: HashMap<(usize, usize), &str> = HashMap::new();
    for fb in &behaviors.features {
        for s in &fb.sentences {
            if let Some(slot) = sentence.get_mut(s.test) {
                *slot = Some(s.text.as_str());
            }
        }
        if let Some(code) = &fb.fallback {
            fallback.insert((fb.domain, fb.feature), code);
        }
    }
    let mut seen = vec![false; input.tests.len()];
    let mut notes: Vec<String> = classification.warnings.clone();
    if let Some(p) = &classification.placement {
        notes.push(format!(
            "Placed on version {}: {} behaviors kept their domain, feature and sentence; {} new, {} removed.",
            p.base_version, p.kept, p.added, p.removed
        ));
    }
    let mut domains: Vec<Domain> = Vec::new();
    let make = |t: &TestEntry, text: Option<&str>| Behavior {
        sentence: text.map(str::to_string).unwrap_or_else(|| fallback_text(t)),
        test_name: t.name.clone(),
        file: t.file.clone(),
        suite_path: t.suite_path.clone(),
        line: t.line,
        status: t.status,
        test_index: t.index,
        cases: t.cases,
    };
    let mut class_domains = classification.domains.clone();
    let missing: Vec<usize> = {
        let mut present = vec![false; input.tests.len()];
        for i in class_domains
            .iter()
            .flat_map(|d| d.features.iter())
            .flat_map(|f| f.tests.iter())
        {
            if let Some(p) = present.get_mut(*i) {
                *p = true;
            }
        }
        (0..input.tests.len()).filter(|i| !present[*i]).collect()
    };
    if !missing.is_empty() {
        notes.push(format!(
            "{} tests had no feature and are listed under \"{UNCATEGORIZED}\"",
            missing.len()
        ));
        push_uncategorized(&mut class_domains, missing);
    }
    for (d, cd) in class_domains.iter().enumerate() {
        let mut features = Vec::new();
        for (f, cf) in cd.features.iter().enumerate() {
            let mut list = Vec::new();
            for &i in &cf.tests {
                let Some(t) = input.tests.get(i) else {
                    continue;
                };
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                list.push(make(t, sentence[i]));
            }
            if !list.is_empty() {
                features.push(Feature {
                    name: cf.name.clone(),
                    fallback: fallback.get(&(d, f)).map(|s| s.to_string()),
                    behaviors: list,
                });
            }
        }
        if !features.is_empty() {
            domains.push(Domain {
                name: cd.name.clone(),
                description: cd.description.clone(),
                features,
            });
        }
    }
    let offline = meta.generator.kind == "offline";
    let content_language = if offline && !opts.language.is_english() {
        notes.push(format!(
            "The sentences are in English: the offline generator writes English only, and no model provider was configured to write {}.",
            opts.language.prompt_name()
        ));
        LanguageTag::english()
    } else {
        opts.language.clone()
    };
    let fallback_features = domains
        .iter()
        .flat_map(|d| &d.features)
        .filter(|f| f.fallback.is_some())
        .count();
    if fallback_features > 0 {
        notes.push(format!(
            "{fallback_features} features show the original test names because converting them failed."
        ));
    }
    let unanswered: usize = behaviors.features.iter().map(|f| f.unanswered).sum();
    if unanswered > 0 {
        notes.push(format!(
            "MISSING_SENTENCE: the model gave no sentence for {unanswered} tests; they show their original names."
        ));
    }
    if let Some(code) = &summary.fallback {
        notes.push(format!(
            "The summary was written by the offline generator because the model failed ({code})."
        ));
    }
    let mut stats = DocumentStats {
        domains: domains.len(),
        features: domains.iter().map(|d| d.features.len()).sum(),
        fallback_features,
        runner_tests: Some(0),
        ..DocumentStats::default()
    };
    for b in domains
        .iter()
        .flat_map(|d| &d.features)
        .flat_map(|f| &f.behaviors)
    {
        stats.behaviors += 1;
        stats.runner_tests = stats
            .runner_tests
            .map(|n| n.saturating_add(b.cases.unwrap_or(1)));
        *stats
            .by_status
            .entry(status_word(b.status).to_string())
            .or_insert(0) += 1;
    }
    Ok(SpecDocument {
        schema_version: DOCUMENT_SCHEMA_VERSION,
        version: meta.version,
        analysis_id: input.analysis_id.clone(),
        repository: input.repository.0.clone(),
        commit: input.commit.clone(),
        content_hash: input.content_hash.clone(),
        language: opts.language.clone(),
        content_language,
        generated_at: meta.generated_at,
        generator: meta.generator,
        summary: summary.text.clone(),
        summary_fallback: summary.fallback.clone(),
        stats,
        usage: classification.usage + behaviors.usage + summary.usage,
        notes,
        domains,
    })
}

/// All phases in a row, for callers without a pipeline (the CLI, tests).
pub async fn generate(
    gen: &Generator,
    input: &SpecInput,
    opts: &GenerateOptions,
    version: u32,
) -> Result<SpecDocument, SpecError> {
    generate_from(gen, input, opts, None, version).await
}

/// [`generate`] on top of the previous version of the document (see [`super::placement`]).
pub async fn generate_from(
    gen: &Generator,
    input: &SpecInput,
    opts: &GenerateOptions,
    previous: Option<&SpecDocument>,
    version: u32,
) -> Result<SpecDocument, SpecError> {
    let classification = classify_from(gen, input, opts, previous, None, None).await?;
    let behaviors = convert(gen, input, &classification, opts, None, None).await?;
    let summary = summarize(gen, input, &classification, &behaviors, opts).await;
    assemble(
        input,
        &classification,
        &behaviors,
        &summary,
        opts,
        AssembleMeta {
            version,
            generator: gen.info(),
            generated_at: chrono::Utc::now(),
        },
    )
}
