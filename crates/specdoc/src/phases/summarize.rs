//! Phase 3: the executive summary.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;
use crate::cache::{summary_key, CacheMode};
use crate::document::TokenUsage;
use crate::input::{clean_text, SpecInput};
use crate::offline;
use crate::prompts::SUMMARIZE;
use crate::provider::ModelRequest;

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
    if let Some(text) = &classification.carried_summary {
        // Incremental placement kept every domain and feature: the summary still holds.
        return Summary {
            text: text.clone(),
            fallback: None,
            usage: TokenUsage::default(),
        };
    }
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
    let key = {
        use sha2::{Digest, Sha256};
        summary_key(
            &input.repository,
            &hex::encode(Sha256::digest(user.as_bytes())),
            &opts.language,
            &gen.model_id(),
            &SUMMARIZE.version(),
        )
    };
    if opts.cache_mode == CacheMode::Use {
        if let Some(text) = gen
            .cache_get(&key)
            .await
            .and_then(|v| v.as_str().map(str::to_string))
        {
            return Summary {
                text,
                fallback: None,
                usage: TokenUsage::default(),
            };
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
        Ok((a, usage)) => {
            let text = clean_text(&a.summary, 2000);
            gen.cache_put(&key, json!(text)).await;
            Summary {
                text,
                fallback: None,
                usage,
            }
        }
        Err(f) => {
            tracing::warn!(code = %f.error.code, "summary failed; using the offline summary");
            Summary {
                text: offline_text,
                fallback: Some(f.error.code.as_str().to_string()),
                usage: f.usage,
            }
        }
    }
}
