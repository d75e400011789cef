//! Phase 1: tests → domains and features.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::placement::{self, PlacementReport, Plan};
use super::*;
use crate::cache::{classification_key, CacheMode};
use crate::document::{SpecDocument, TokenUsage};
use crate::error::SpecError;
use crate::input::{clean_text, SpecInput, TestEntry};
use crate::lang::LanguageTag;
use crate::offline;
use crate::prompts::CLASSIFY;
use crate::provider::ModelRequest;
use crate::reliability::ModelClient;

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
    /// Set when the classification started from the previous document version.
    #[serde(default)]
    pub placement: Option<PlacementReport>,
    /// Sentences of tests kept from the previous version; the conversion does not write them
    /// again.
    #[serde(default)]
    pub carried: Vec<Sentence>,
    /// The previous version's summary, when the domains and features are the same as there:
    /// the summary step reuses it.
    #[serde(default)]
    pub carried_summary: Option<String>,
}

impl Classification {
    /// Refuses a classification of another inventory or language.
    pub fn check_for(&self, input: &SpecInput, opts: &GenerateOptions) -> Result<(), SpecError> {
        check_same_input(
            input,
            &self.content_hash,
            &self.language,
            opts,
            "the classification",
        )
    }

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
    /// The document version an incremental classification started from (`None`: the whole
    /// inventory is classified). A checkpoint of another start is not resumed.
    #[serde(default)]
    pub base_version: Option<u32>,
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
            base_version: None,
            assigned: vec![false; input.tests.len()],
        }
    }

    /// The start of an incremental classification: the previous structure with the kept
    /// tests placed.
    fn seeded(input: &SpecInput, opts: &GenerateOptions, plan: &Plan) -> Self {
        let mut p = Self::new(input, opts);
        p.domains = plan.domains.clone();
        p.base_version = Some(plan.report.base_version);
        for &i in plan
            .domains
            .iter()
            .flat_map(|d| &d.features)
            .flat_map(|f| &f.tests)
        {
            if let Some(slot) = p.assigned.get_mut(i) {
                *slot = true;
            }
        }
        p
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

    /// Places the answer's tests; `asked(i)` says whether test `i` was in the request.
    fn add(&mut self, answer: ClassifyAnswer, asked: impl Fn(usize) -> bool) {
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
                    if !asked(i) {
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
            placement: None,
            carried: Vec::new(),
            carried_summary: None,
        }
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
    hook: Option<ClassifyHook<'_>>,
) -> Result<Classification, SpecError> {
    classify_from(gen, input, opts, None, resume, hook).await
}

/// Phase 1 on top of the previous version of the document (see [`super::placement`]): unless
/// `opts.fresh` is set or too much changed, the kept tests keep their places and sentences and
/// only the new ones are sent to the model. `previous` must be a document of the same
/// repository, language and generator. The offline generator ignores it (it is free and
/// deterministic: it places every test the same way each time).
pub async fn classify_from(
    gen: &Generator,
    input: &SpecInput,
    opts: &GenerateOptions,
    previous: Option<&SpecDocument>,
    resume: Option<ClassifyProgress>,
    mut hook: Option<ClassifyHook<'_>>,
) -> Result<Classification, SpecError> {
    let Some(client) = &gen.client else {
        return Ok(offline::classify(input, &opts.language));
    };
    if input.tests.is_empty() {
        return Ok(ClassifyProgress::new(input, opts).finish());
    }
    let plan = previous
        .filter(|_| !opts.fresh)
        .and_then(|p| placement::plan(input, p, opts.max_changed_percent));
    if let Some(plan) = plan {
        return classify_incremental(client, input, opts, plan, resume, hook).await;
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
    let mut progress = match resume.filter(|p| p.base_version.is_none()) {
        Some(p) => p.resume(input, opts)?,
        None => ClassifyProgress::new(input, opts),
    };
    let chunks = chunk_by_file(&input.tests, opts.classify_chunk_tests);
    for range in chunks.into_iter().skip(progress.chunks_done) {
        let tests: Vec<&TestEntry> = input.tests[range.clone()].iter().collect();
        let (answer, u) = classify_chunk(client, opts, &progress, &tests).await?;
        progress.usage.add(u);
        progress.add(answer, |i| range.contains(&i));
        progress.chunks_done += 1;
        if let Some(h) = hook.as_mut() {
            h(&progress);
        }
    }
    let c = progress.finish();
    tracing::info!(
        domains = c.domains.len(),
        features = c.domains.iter().map(|d| d.features.len()).sum::<usize>(),
        calls = c.usage.calls,
        warnings = c.warnings.len(),
        "classified"
    );
    if let Ok(value) = serde_json::to_value(&c) {
        gen.cache_put(&key, value).await;
    }
    Ok(c)
}

/// One classification request: the tests' lines, with the domains found so far in the prompt.
async fn classify_chunk(
    client: &ModelClient,
    opts: &GenerateOptions,
    progress: &ClassifyProgress,
    tests: &[&TestEntry],
) -> Result<(ClassifyAnswer, TokenUsage), SpecError> {
    let system = CLASSIFY.render(&[
        ("language", &opts.language.prompt_name()),
        ("existing_domains", &progress.known_for_prompt()),
    ]);
    let user: Vec<String> = tests.iter().map(|t| test_line(t, true)).collect();
    let request = ModelRequest {
        system,
        user: user.join("\n"),
        schema: classify_schema(),
        schema_name: "classification",
        max_output_tokens: 8192,
    };
    client
        .call_json::<ClassifyAnswer>(&request, |_| Ok(()))
        .await
        .map_err(|f| SpecError::ClassifyFailed(f.error))
}

/// Phase 1 from a [`Plan`]: only the new tests go to the model, in chunks, with the previous
/// structure listed so they land in existing domains and features where they fit.
async fn classify_incremental(
    client: &ModelClient,
    input: &SpecInput,
    opts: &GenerateOptions,
    plan: Plan,
    resume: Option<ClassifyProgress>,
    mut hook: Option<ClassifyHook<'_>>,
) -> Result<Classification, SpecError> {
    let mut progress = match resume.filter(|p| p.base_version == Some(plan.report.base_version)) {
        Some(p) => p.resume(input, opts)?,
        None => ClassifyProgress::seeded(input, opts, &plan),
    };
    let new_tests: Vec<&TestEntry> = plan
        .new_tests
        .iter()
        .filter_map(|&i| input.tests.get(i))
        .collect();
    for chunk in new_tests
        .chunks(opts.classify_chunk_tests.max(1))
        .skip(progress.chunks_done)
    {
        let asked: std::collections::HashSet<usize> = chunk.iter().map(|t| t.index).collect();
        let (answer, u) = classify_chunk(client, opts, &progress, chunk).await?;
        progress.usage.add(u);
        progress.add(answer, |i| asked.contains(&i));
        progress.chunks_done += 1;
        if let Some(h) = hook.as_mut() {
            h(&progress);
        }
    }
    let mut c = progress.finish();
    if placement::group_names(&c.domains) == plan.previous_groups {
        c.carried_summary = plan.summary.clone();
    }
    // A carried sentence belongs to a test that is still placed (finish keeps every test).
    c.carried = plan.carried;
    tracing::info!(
        base_version = plan.report.base_version,
        kept = plan.report.kept,
        added = plan.report.added,
        removed = plan.report.removed,
        calls = c.usage.calls,
        "classified incrementally"
    );
    c.placement = Some(plan.report);
    Ok(c)
}
