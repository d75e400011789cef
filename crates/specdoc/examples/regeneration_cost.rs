//! What regenerating a repository's document after a commit costs in model calls, before and
//! after issue 15, measured at a local OpenAI-compatible server that counts every call:
//!
//! - **before**: a spec generator that restarted (its caches were in memory) and classifies
//!   the whole inventory again, as every generation did before issue 15 (`--fresh` with empty
//!   caches is exactly that);
//! - **after**: the previous version and the caches (shared in the database in production, a
//!   memory cache here) — only the new tests are classified and converted.
//!
//! ```sh
//! cargo run --release -p specline-specdoc --example regeneration_cost -- OLD.json NEW.json
//! ```
//!
//! `OLD.json` and `NEW.json` are inventories (`specline inventory DIR --format json`) of two
//! commits; `scripts/regeneration-cost` makes them for this repository with 5 tests added.
//! The fake model answers with the real wire format; characters sent and received are
//! measured, and tokens are estimated from them (4 characters a token), since a fake model's
//! own token counts mean nothing.

#[path = "../tests/common/fake.rs"]
#[allow(dead_code, clippy::unwrap_used)]
mod fake;

use std::sync::Arc;

use fake::{good_answer, FakeServer, Reply, Wire};
use specline_specdoc::cache::MemoryCache;
use specline_specdoc::cli::{ModelConfig, ModelProvider};
use specline_specdoc::phases::{self, GenerateOptions, Generator};
use specline_specdoc::{LanguageTag, SpecDocument, SpecInput};

/// Calls per phase and characters over the wire since `from`.
fn measure(server: &FakeServer, from: usize) -> String {
    let calls = &server.requests()[from..];
    let count = |p: &str| calls.iter().filter(|r| r.phase() == p).count();
    let sent: usize = calls
        .iter()
        .map(|r| r.system().len() + r.user().len())
        .sum();
    let answered: usize = calls.iter().map(|r| good_answer(r).to_string().len()).sum();
    format!(
        "| {} | {} / {} / {} | {sent} | {answered} | ≈{} / ≈{} |",
        calls.len(),
        count("classify"),
        count("convert"),
        count("summarize"),
        sent / 4,
        answered / 4
    )
}

fn generator(server: &FakeServer, cache: Arc<MemoryCache>) -> anyhow::Result<Generator> {
    let mut config = ModelConfig::new(ModelProvider::OpenAi, "fake-model");
    config.base_url = Some(server.base_url.clone());
    Ok(config.build()?.with_cache(cache))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [old, new] = args.as_slice() else {
        anyhow::bail!("usage: regeneration_cost OLD.json NEW.json");
    };
    let read = |p: &str| -> anyhow::Result<SpecInput> {
        Ok(SpecInput::from_inventory_json(
            &std::fs::read_to_string(p)?,
            Some("this-repository"),
        )?)
    };
    let (old, new) = (read(old)?, read(new)?);
    let server = FakeServer::start(|_, req| Reply::ok(Wire::OpenAi, &good_answer(req))).await;
    let opts = GenerateOptions::new(LanguageTag::parse("en")?);

    // The document of the old commit, by a generator whose caches are then kept.
    let shared = Arc::new(MemoryCache::new());
    let gen = generator(&server, shared.clone())?;
    let first: SpecDocument = phases::generate(&gen, &old, &opts, 1).await?;
    println!(
        "{} tests → {} tests; first version: {}",
        old.tests.len(),
        new.tests.len(),
        measure(&server, 0)
    );
    println!("| | calls | classify / convert / summarize | characters sent | characters received | tokens in / out (chars ÷ 4) |");
    println!("|---|---|---|---|---|---|");

    // Before: a restarted generator (empty caches) classifying everything again.
    let mark = server.requests().len();
    let cold = generator(&server, Arc::new(MemoryCache::new()))?;
    let mut fresh = opts.clone();
    fresh.fresh = true;
    phases::generate(&cold, &new, &fresh, 2).await?;
    println!("| before {}", measure(&server, mark));

    // After: the previous version and the kept caches.
    let mark = server.requests().len();
    let doc = phases::generate_from(&gen, &new, &opts, Some(&first), 2).await?;
    println!("| after {}", measure(&server, mark));
    if let Some(note) = doc.notes.iter().find(|n| n.starts_with("Placed on")) {
        println!("{note}");
    }
    Ok(())
}
