//! The generation phases: classify → convert → summarize → assemble.
//!
//! Each phase is a plain async function whose input and output are serde values, so that each
//! can become a resumable pipeline step whose output is its checkpoint once the engine's
//! pipeline API lands. Outputs carry the inventory's content hash and the language, and a later
//! phase refuses outputs of another input (`INCONSISTENT_INPUT`) instead of mixing documents.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cache::{behavior_key, classification_key, Cache, CacheMode, MemoryCache};
use crate::document::{
    Behavior, DocumentStats, Domain, Feature, GeneratorInfo, SpecDocument, TokenUsage,
    DOCUMENT_SCHEMA_VERSION,
};
use crate::error::{ProviderError, SpecError};
use crate::input::{clean_text, status_word, SpecInput, TestEntry};
use crate::lang::LanguageTag;
use crate::offline;
use crate::prompts::{self, CLASSIFY, CONVERT, SUMMARIZE};
use crate::provider::ModelRequest;
use crate::reliability::ModelClient;

/// Name of the domain and feature that hold tests no classification placed.
pub const UNCATEGORIZED: &str = "Uncategorized";

/// Longest domain or feature name kept from a model answer.
const MAX_GROUP_NAME_CHARS: usize = 120;

/// Per-request settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateOptions {
    pub language: LanguageTag,
    pub cache_mode: CacheMode,
    /// Tests per classification request (whole files are kept together, so a chunk can be
    /// larger when one file is).
    pub classify_chunk_tests: usize,
    /// Tests per conversion request; a larger feature takes several requests.
    pub convert_batch_tests: usize,
    /// Features converted at the same time.
    pub concurrency: usize,
}

impl GenerateOptions {
    pub fn new(language: LanguageTag) -> Self {
        Self {
            language,
            cache_mode: CacheMode::Use,
            classify_chunk_tests: 300,
            convert_batch_tests: 60,
            concurrency: 4,
        }
    }
}

/// Who writes the document: the offline generator or a model behind a [`ModelClient`].
#[derive(Clone)]
pub struct Generator {
    client: Option<ModelClient>,
    cache: Arc<dyn Cache>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("client", &self.client)
            .finish()
    }
}

impl Generator {
    /// The offline generator (no network).
    pub fn offline() -> Self {
        Self {
            client: None,
            cache: Arc::new(MemoryCache::new()),
        }
    }

    /// A model-backed generator with its caches.
    pub fn with_model(client: ModelClient, cache: Arc<dyn Cache>) -> Self {
        Self {
            client: Some(client),
            cache,
        }
    }

    pub fn is_offline(&self) -> bool {
        self.client.is_none()
    }

    /// What the document will record as its author.
    pub fn info(&self) -> GeneratorInfo {
        match &self.client {
            None => GeneratorInfo {
                kind: "offline".into(),
                model: offline::MODEL.into(),
                prompt_version: "none".into(),
            },
            Some(c) => GeneratorInfo {
                kind: c.kind().into(),
                model: c.model().into(),
                prompt_version: prompts::combined_version(),
            },
        }
    }

    /// A cache read. A failing cache is an optimisation lost, not a failed document: the
    /// error is logged and the read is a miss.
    async fn cache_get(&self, key: &str) -> Option<serde_json::Value> {
        match self.cache.get(key).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "cache read failed; treating as a miss");
                None
            }
        }
    }

    /// A cache write; a failure is logged and costs only a future model call.
    async fn cache_put(&self, key: &str, value: serde_json::Value) {
        if let Err(e) = self.cache.put(key, value).await {
            tracing::warn!(code = e.code(), error = %e, "cache write failed");
        }
    }

    /// `kind:model`, the model part of cache keys.
    fn model_id(&self) -> String {
        let i = self.info();
        format!("{}:{}", i.kind, i.model)
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 1: classify

/// Tests grouped into domains and features. Every test index of the input appears in exactly
/// one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub content_hash: String,
    pub language: LanguageTag,
    pub domains: Vec<ClassDomain>,
    pub usage: TokenUsage,
    /// What validation corrected (unknown indices, tests left out).
    pub warnings: Vec<String>,
    /// True when this came from the cache (then `usage` is zero: nothing was spent).
    pub from_cache: bool,
}

impl Classification {
    /// SHA-256 (hex) of the grouping itself (domain and feature names, test indices).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        // Serialising plain data cannot fail; an empty digest input would still be stable.
        let bytes = serde_json::to_vec(&self.domains).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassDomain {
    pub name: String,
    pub description: Option<String>,
    pub features: Vec<ClassFeature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassFeature {
    pub name: String,
    /// Test indices into [`SpecInput::tests`].
    pub tests: Vec<usize>,
}

#[derive(Debug, Deserialize)]
struct ClassifyAnswer {
    #[serde(default)]
    domains: Vec<AnswerDomain>,
}

#[derive(Debug, Deserialize)]
struct AnswerDomain {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    features: Vec<AnswerFeature>,
}

#[derive(Debug, Deserialize)]
struct AnswerFeature {
    #[serde(default)]
    name: String,
    #[serde(default)]
    tests: Vec<i64>,
}

fn classify_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {"domains": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "features": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "tests": {"type": "array", "items": {"type": "integer"}}
                    },
                    "required": ["name", "tests"]
                }}
            },
            "required": ["name", "features"]
        }}},
        "required": ["domains"]
    })
}

/// Splits the test table into runs of whole files of about `max_tests` tests. The table is in
/// file order, so a chunk is a contiguous index range.
pub fn chunk_by_file(tests: &[TestEntry], max_tests: usize) -> Vec<std::ops::Range<usize>> {
    let max_tests = max_tests.max(1);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < tests.len() {
        let mut end = i;
        while end < tests.len() && tests[end].file == tests[i].file {
            end += 1;
        }
        // Close the chunk before this file if the file would overflow it.
        if end - start > max_tests && i > start {
            chunks.push(start..i);
            start = i;
        }
        i = end;
    }
    if start < tests.len() {
        chunks.push(start..tests.len());
    }
    chunks
}

/// Classification so far: chunk answers accumulated and validated index by index. It is the
/// checkpoint of a model classification: a retried [`classify_resumable`] given it continues
/// after `chunks_done` chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyProgress {
    pub content_hash: String,
    pub language: LanguageTag,
    /// The chunk size the chunks were cut with (a resume must cut the same chunks).
    pub chunk_tests: usize,
    pub chunks_done: usize,
    pub domains: Vec<ClassDomain>,
    /// Indices named by answers that were not in their chunk.
    pub unknown: usize,
    /// Tests placed a second time.
    pub duplicate: usize,
    pub usage: TokenUsage,
    /// Which tests are placed; rebuilt from `domains`.
    #[serde(skip)]
    assigned: Vec<bool>,
}

impl ClassifyProgress {
    fn new(input: &SpecInput, opts: &GenerateOptions) -> Self {
        Self {
            content_hash: input.content_hash.clone(),
            language: opts.language.clone(),
            chunk_tests: opts.classify_chunk_tests,
            chunks_done: 0,
            domains: Vec::new(),
            unknown: 0,
            duplicate: 0,
            usage: TokenUsage::default(),
            assigned: vec![false; input.tests.len()],
        }
    }

    /// Checks a checkpoint against the request and rebuilds what is not stored.
    fn resume(mut self, input: &SpecInput, opts: &GenerateOptions) -> Result<Self, SpecError> {
        check_same_input(
            input,
            &self.content_hash,
            &self.language,
            opts,
            "the classification checkpoint",
        )?;
        if self.chunk_tests != opts.classify_chunk_tests {
            return Err(SpecError::InconsistentInput(format!(
                "the classification checkpoint was cut in chunks of {} tests, the request asks for {}",
                self.chunk_tests, opts.classify_chunk_tests
            )));
        }
        self.assigned = vec![false; input.tests.len()];
        for i in self
            .domains
            .iter()
            .flat_map(|d| &d.features)
            .flat_map(|f| &f.tests)
        {
            match self.assigned.get_mut(*i) {
                Some(slot) => *slot = true,
                None => {
                    return Err(SpecError::InconsistentInput(
                        "the classification checkpoint names a test the inventory does not have"
                            .into(),
                    ))
                }
            }
        }
        Ok(self)
    }

    /// "Domains found so far" for the next chunk's prompt, so names stay consistent.
    fn known_for_prompt(&self) -> String {
        if self.domains.is_empty() {
            return String::new();
        }
        let mut s = String::from(
            "Domains and features found so far in this project (reuse these exact names when a test fits; add new ones only when none fits):\n",
        );
        for d in &self.domains {
            let f: Vec<&str> = d.features.iter().map(|f| f.name.as_str()).collect();
            s.push_str(&format!("- {}: {}\n", d.name, f.join(", ")));
        }
        s
    }

    fn add(&mut self, answer: ClassifyAnswer, range: &std::ops::Range<usize>) {
        for ad in answer.domains {
            let dname = group_name(&ad.name, UNCATEGORIZED);
            let d = match self
                .domains
                .iter()
                .position(|d| d.name.to_lowercase() == dname.to_lowercase())
            {
                Some(d) => d,
                None => {
                    self.domains.push(ClassDomain {
                        name: dname,
                        description: ad
                            .description
                            .as_deref()
                            .map(|s| clean_text(s, 400))
                            .filter(|s| !s.is_empty()),
                        features: Vec::new(),
                    });
                    self.domains.len() - 1
                }
            };
            for af in ad.features {
                let fname = group_name(&af.name, "General");
                let features = &mut self.domains[d].features;
                let f = match features
                    .iter()
                    .position(|f| f.name.to_lowercase() == fname.to_lowercase())
                {
                    Some(f) => f,
                    None => {
                        features.push(ClassFeature {
                            name: fname,
                            tests: Vec::new(),
                        });
                        features.len() - 1
                    }
                };
                for raw in af.tests {
                    let Ok(i) = usize::try_from(raw) else {
                        self.unknown += 1;
                        continue;
                    };
                    if !range.contains(&i) {
                        self.unknown += 1;
                    } else if self.assigned[i] {
                        self.duplicate += 1;
                    } else {
                        self.assigned[i] = true;
                        features[f].tests.push(i);
                    }
                }
            }
        }
    }

    fn finish(mut self) -> Classification {
        let mut warnings = Vec::new();
        if self.unknown > 0 {
            warnings.push(format!(
                "UNKNOWN_INDEX: the classification named {} test indices that were not in its request; they were ignored",
                self.unknown
            ));
        }
        if self.duplicate > 0 {
            warnings.push(format!(
                "DUPLICATE_INDEX: {} tests were placed in more than one feature; the first placement was kept",
                self.duplicate
            ));
        }
        let missing: Vec<usize> = self
            .assigned
            .iter()
            .enumerate()
            .filter(|(_, a)| !**a)
            .map(|(i, _)| i)
            .collect();
        for d in &mut self.domains {
            d.features.retain(|f| !f.tests.is_empty());
            for f in &mut d.features {
                f.tests.sort_unstable();
            }
        }
        self.domains.retain(|d| !d.features.is_empty());
        if !missing.is_empty() {
            warnings.push(format!(
                "MISSING_INDEX: {} tests were not classified and are listed under \"{UNCATEGORIZED}\"",
                missing.len()
            ));
            push_uncategorized(&mut self.domains, missing);
        }
        Classification {
            content_hash: self.content_hash,
            language: self.language,
            domains: self.domains,
            usage: self.usage,
            warnings,
            from_cache: false,
        }
    }
}

fn push_uncategorized(domains: &mut Vec<ClassDomain>, tests: Vec<usize>) {
    let feature = ClassFeature {
        name: UNCATEGORIZED.into(),
        tests,
    };
    match domains.iter_mut().find(|d| d.name == UNCATEGORIZED) {
        Some(d) => match d.features.iter_mut().find(|f| f.name == UNCATEGORIZED) {
            Some(f) => f.tests.extend(feature.tests),
            None => d.features.push(feature),
        },
        None => domains.push(ClassDomain {
            name: UNCATEGORIZED.into(),
            description: Some("Tests that could not be placed in a domain.".into()),
            features: vec![feature],
        }),
    }
}

fn group_name(raw: &str, default: &str) -> String {
    let n = clean_text(raw, MAX_GROUP_NAME_CHARS);
    if n.is_empty() {
        default.to_string()
    } else {
        n
    }
}

fn test_line(t: &TestEntry, with_file: bool) -> String {
    let suites = clean_text(&t.suite_path.join(" > "), 300);
    if with_file {
        format!(
            "{}\t{}\t{}\t{}",
            t.index,
            clean_text(&t.file, 300),
            suites,
            t.clean_name()
        )
    } else {
        format!("{}\t{}\t{}", t.index, suites, t.clean_name())
    }
}

/// Phase 1. Offline: groups by path, suite and naming. With a model: chunked requests whose
/// answers are validated index by index; cached by repository + content hash + language +
/// model + prompt version. Same as [`classify_resumable`] without checkpoints.
pub async fn classify(
    gen: &Generator,
    input: &SpecInput,
    opts: &GenerateOptions,
) -> Result<Classification, SpecError> {
    classify_resumable(gen, input, opts, None, None).await
}

/// Called after each classification chunk with the progress so far: save it, and a retried
/// [`classify_resumable`] given it as `resume` continues with the next chunk.
pub type ClassifyHook<'a> = &'a mut (dyn FnMut(&ClassifyProgress) + Send);

/// Phase 1 with a per-chunk checkpoint, for inventories large enough that losing the chunks
/// already paid for matters. The offline generator ignores `resume` and `hook` (it has no
/// chunks).
pub async fn classify_resumable(
    gen: &Generator,
    input: &SpecInput,
    opts: &GenerateOptions,
    resume: Option<ClassifyProgress>,
    mut hook: Option<ClassifyHook<'_>>,
) -> Result<Classification, SpecError> {
    let Some(client) = &gen.client else {
        return Ok(offline::classify(input, &opts.language));
    };
    if input.tests.is_empty() {
        return Ok(ClassifyProgress::new(input, opts).finish());
    }
    let key = classification_key(
        &input.repository,
        &input.content_hash,
        &opts.language,
        &gen.model_id(),
        &CLASSIFY.version(),
        opts.classify_chunk_tests,
    );
    if opts.cache_mode == CacheMode::Use {
        if let Some(v) = gen.cache_get(&key).await {
            if let Ok(mut c) = serde_json::from_value::<Classification>(v) {
                if c.content_hash == input.content_hash {
                    c.from_cache = true;
                    c.usage = TokenUsage::default();
                    return Ok(c);
                }
            }
        }
    }
    let mut progress = match resume {
        Some(p) => p.resume(input, opts)?,
        None => ClassifyProgress::new(input, opts),
    };
    let chunks = chunk_by_file(&input.tests, opts.classify_chunk_tests);
    for range in chunks.into_iter().skip(progress.chunks_done) {
        let system = CLASSIFY.render(&[
            ("language", &opts.language.prompt_name()),
            ("existing_domains", &progress.known_for_prompt()),
        ]);
        let user: Vec<String> = input.tests[range.clone()]
            .iter()
            .map(|t| test_line(t, true))
            .collect();
        let request = ModelRequest {
            system,
            user: user.join("\n"),
            schema: classify_schema(),
            schema_name: "classification",
            max_output_tokens: 8192,
        };
        match client
            .call_json::<ClassifyAnswer>(&request, |_| Ok(()))
            .await
        {
            Ok((answer, u)) => {
                progress.usage.add(u);
                progress.add(answer, &range);
                progress.chunks_done += 1;
                if let Some(h) = hook.as_mut() {
                    h(&progress);
                }
            }
            Err(f) => return Err(SpecError::ClassifyFailed(f.error)),
        }
    }
    let c = progress.finish();
    if let Ok(value) = serde_json::to_value(&c) {
        gen.cache_put(&key, value).await;
    }
    Ok(c)
}

// ---------------------------------------------------------------------------------------------
// Phase 2: convert

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
    fn new(domain: usize, feature: usize, sentences: Vec<Sentence>) -> Self {
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

fn check_same_input(
    input: &SpecInput,
    hash: &str,
    language: &LanguageTag,
    opts: &GenerateOptions,
    what: &str,
) -> Result<(), SpecError> {
    if hash != input.content_hash {
        return Err(SpecError::InconsistentInput(format!(
            "{what} belongs to another inventory"
        )));
    }
    if language != &opts.language {
        return Err(SpecError::InconsistentInput(format!(
            "{what} is in {language}, the request is for {}",
            opts.language
        )));
    }
    Ok(())
}

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
    check_same_input(
        input,
        &classification.content_hash,
        &classification.language,
        opts,
        "the classification",
    )?;
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
    let todo: Vec<(usize, usize, &ClassDomain, &ClassFeature)> = classification
        .domains
        .iter()
        .enumerate()
        .flat_map(|(d, dom)| {
            dom.features
                .iter()
                .enumerate()
                .map(move |(f, feat)| (d, f, dom, feat))
        })
        .filter(|(d, f, _, _)| !done.contains(&(*d, *f)))
        .collect();
    let total: usize = classification
        .domains
        .iter()
        .map(|d| d.features.len())
        .sum();

    let Some(client) = &gen.client else {
        let wrapped = offline::Wrapped::of(input);
        for (d, f, _, feat) in todo {
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
    let mut results = futures::stream::iter(todo.into_iter().map(|(d, f, dom, feat)| {
        let model_id = model_id.as_str();
        async move {
            let r = convert_feature(gen, client, input, opts, model_id, &dom.name, feat).await;
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
    Ok(acc)
}

fn original_names(input: &SpecInput, tests: &[usize]) -> Vec<Sentence> {
    tests
        .iter()
        .filter_map(|&i| input.tests.get(i))
        .map(|t| Sentence {
            test: t.index,
            text: fallback_text(t),
        })
        .collect()
}

fn fallback_text(t: &TestEntry) -> String {
    let n = t.clean_name();
    if n.is_empty() {
        "Unnamed test".into()
    } else {
        n
    }
}

/// One feature with a model: cached sentences first, the rest in batches.
async fn convert_feature(
    gen: &Generator,
    client: &ModelClient,
    input: &SpecInput,
    opts: &GenerateOptions,
    model_id: &str,
    domain: &str,
    feature: &ClassFeature,
) -> (Result<(Vec<Sentence>, usize), ProviderError>, TokenUsage) {
    let mut usage = TokenUsage::default();
    let prompt_version = CONVERT.version();
    let mut got: HashMap<usize, String> = HashMap::new();
    let mut misses: Vec<&TestEntry> = Vec::new();
    for t in feature.tests.iter().filter_map(|&i| input.tests.get(i)) {
        let key = behavior_key(
            &t.name,
            &t.suite_path,
            &t.file,
            &opts.language,
            model_id,
            &prompt_version,
        );
        let cached = if opts.cache_mode == CacheMode::Use {
            gen.cache_get(&key)
                .await
                .and_then(|v| v.as_str().map(str::to_string))
        } else {
            None
        };
        match cached {
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
                for b in answer.behaviors {
                    let Ok(i) = usize::try_from(b.i) else {
                        continue;
                    };
                    let text = clean_text(&b.sentence, crate::input::MAX_NAME_CHARS);
                    if wanted.contains(&i) && !text.is_empty() && !got.contains_key(&i) {
                        if let Some(t) = input.tests.get(i) {
                            let key = behavior_key(
                                &t.name,
                                &t.suite_path,
                                &t.file,
                                &opts.language,
                                model_id,
                                &prompt_version,
                            );
                            gen.cache_put(&key, json!(text)).await;
                        }
                        got.insert(i, text);
                    }
                }
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

// ---------------------------------------------------------------------------------------------
// Phase 3: summarize

/// The executive summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub text: String,
    /// Set (to the error code) when the model failed and the offline summary is used.
    pub fallback: Option<String>,
    pub usage: TokenUsage,
}

#[derive(Debug, Deserialize)]
struct SummaryAnswer {
    summary: String,
}

/// Phase 3. Never fails: if the model cannot write the summary, the offline summary is used
/// and the failure is recorded in `fallback`.
pub async fn summarize(
    gen: &Generator,
    input: &SpecInput,
    classification: &Classification,
    behaviors: &Behaviors,
    opts: &GenerateOptions,
) -> Summary {
    let offline_text = offline::summary(input, classification);
    let Some(client) = gen.client.as_ref().filter(|_| !input.tests.is_empty()) else {
        return Summary {
            text: offline_text,
            fallback: None,
            usage: TokenUsage::default(),
        };
    };
    let sentences: HashMap<(usize, usize), &FeatureBehaviors> = behaviors
        .features
        .iter()
        .map(|f| ((f.domain, f.feature), f))
        .collect();
    let mut user = String::new();
    for (d, dom) in classification.domains.iter().enumerate().take(40) {
        let n: usize = dom.features.iter().map(|f| f.tests.len()).sum();
        user.push_str(&format!("Domain: {} ({n} behaviors)\n", dom.name));
        for (f, feat) in dom.features.iter().enumerate().take(12) {
            let examples: Vec<&str> = sentences
                .get(&(d, f))
                .map(|fb| {
                    fb.sentences
                        .iter()
                        .take(3)
                        .map(|s| s.text.as_str())
                        .collect()
                })
                .unwrap_or_default();
            user.push_str(&format!(
                "  Feature: {} ({}): {}\n",
                feat.name,
                feat.tests.len(),
                examples.join("; ")
            ));
        }
    }
    let request = ModelRequest {
        system: SUMMARIZE.render(&[("language", &opts.language.prompt_name())]),
        user,
        schema: json!({"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}),
        schema_name: "summary",
        max_output_tokens: 1024,
    };
    let check = |a: &SummaryAnswer| {
        if a.summary.trim().is_empty() {
            Err("empty summary".to_string())
        } else {
            Ok(())
        }
    };
    match client.call_json::<SummaryAnswer>(&request, check).await {
        Ok((a, usage)) => Summary {
            text: clean_text(&a.summary, 2000),
            fallback: None,
            usage,
        },
        Err(f) => Summary {
            text: offline_text,
            fallback: Some(f.error.code.as_str().to_string()),
            usage: f.usage,
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Assemble

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
    check_same_input(
        input,
        &classification.content_hash,
        &classification.language,
        opts,
        "the classification",
    )?;
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
    let mut domains: Vec<Domain> = Vec::new();
    let make = |t: &TestEntry, text: Option<&str>| Behavior {
        sentence: text.map(str::to_string).unwrap_or_else(|| fallback_text(t)),
        test_name: t.name.clone(),
        file: t.file.clone(),
        suite_path: t.suite_path.clone(),
        line: t.line,
        status: t.status,
        test_index: t.index,
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
        ..DocumentStats::default()
    };
    for b in domains
        .iter()
        .flat_map(|d| &d.features)
        .flat_map(|f| &f.behaviors)
    {
        stats.behaviors += 1;
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
    let classification = classify(gen, input, opts).await?;
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
