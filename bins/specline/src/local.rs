//! The all-in-one process: settings, the database, and every worker's registry in one place.

use std::path::PathBuf;

use specline_analyzer::{Analyzer, AnalyzerConfig};
use specline_app::policy::{RepositoryPolicy, RunPolicy};
use specline_queue::Registry;
use specline_service::db::{self, Databases};
use specline_service::CommonArgs;
use specline_settings::{AllInOneSettings, TokenCipher};
use specline_spec_generator::SpecGenerator;

/// Settings of `specline`: nothing required; SQLite in `local.data_dir` by default.
pub fn settings(
    common: &CommonArgs,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<AllInOneSettings> {
    let mut s = specline_service::load_settings::<AllInOneSettings>(common)
        .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
    if let Some(d) = data_dir {
        s.local.data_dir = d;
    }
    Ok(s)
}

/// Open (and migrate: this is the one-machine command, nobody else migrates for it).
pub async fn open(s: &AllInOneSettings) -> anyhow::Result<Databases> {
    let dbs = db::open(&s.database_target()).await?;
    dbs.migrate().await?;
    Ok(dbs)
}

/// The token cipher: the configured key, or — for a one-shot local run — a key made for
/// this process alone, so a token given on the command line is still never stored in
/// plain text (and is unreadable once the process ends).
pub fn cipher(s: &AllInOneSettings, ephemeral_ok: bool) -> anyhow::Result<Option<TokenCipher>> {
    match &s.security.encryption_key {
        Some(key) => Ok(Some(TokenCipher::new(key)?)),
        None if ephemeral_ok => Ok(Some(TokenCipher::ephemeral())),
        None => Ok(None),
    }
}

/// The repository policy of `[repository_policy]`, as the analyzer applies it.
pub fn policy(s: &AllInOneSettings, dbs: &Databases) -> anyhow::Result<RunPolicy> {
    Ok(RunPolicy {
        policy: RepositoryPolicy::from_settings(&s.repository_policy)?,
        runs: specline_queue::Client::new(dbs.jobs.clone()),
    })
}

/// The analyzer's and the spec generator's registries, merged: one process runs both.
pub fn registry(
    s: &AllInOneSettings,
    dbs: &Databases,
    cipher: Option<TokenCipher>,
) -> anyhow::Result<(Registry, Registry)> {
    let config = AnalyzerConfig::from_settings(&s.analyzer);
    specline_analyzer::sweep_stale_clones(&config, std::time::SystemTime::now());
    let analyzer = specline_analyzer::with_settings(
        specline_analyzer::registry(Analyzer {
            app: dbs.app.clone(),
            cipher,
            config,
            policy: policy(s, dbs)?,
            extract: specline_analyzer::extraction::rollout(),
        }),
        &s.analyzer,
    );
    let generator = specline_spec_generator::with_owner_limits(
        specline_spec_generator::registry(SpecGenerator::from_settings(
            dbs,
            &s.provider,
            &s.spec_generator,
        )?)
        .with_timeout(s.spec_generator.job_timeout()),
        &s.spec_generator,
    );
    Ok((analyzer, generator))
}

/// Both registries as one.
pub fn merged(parts: (Registry, Registry)) -> Registry {
    parts.0.merge(parts.1)
}
