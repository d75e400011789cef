//! `specline doctor`: is code, configuration and deployment consistent?
//!
//! Checks, each printed as `ok` or `FAIL` with the reason; the exit status is non-zero when
//! any fails:
//! 1. **topology** — every job kind the application declares has exactly one consuming
//!    binary, that binary consumes the kind's queue, and every queue has exactly one
//!    consuming binary. The registries checked are the ones the binaries really build.
//! 2. **migrations** — the database the settings name is at this build's schema version
//!    (engine and application tables).
//! 3. **settings** — the settings of `specline` (and of `--binary` ones) load from this
//!    environment and file.
//! 4. **deploy** — with `--deploy DIR`, the compose file and Kubernetes manifests use the
//!    code's queue names, variable names and secrets (`specline-deploy-check`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use specline_queue::{Catalog, KindSpec};
use specline_service::CommonArgs;
use specline_settings::{
    AllInOneSettings, AnalyzerSettings, ApiSettings, Binary, DatabaseTarget, EnqueueSettings,
    SchedulerSettings, SpecGeneratorSettings,
};

use crate::local;

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Check the deployment manifests in this directory (compose.yaml and k8s/).
    #[arg(long, value_name = "DIR")]
    pub deploy: Option<PathBuf>,
    /// Also check that these binaries' settings load from this environment
    /// (analyzer, spec-generator, scheduler, enqueue, api).
    #[arg(long = "binary", value_name = "NAME")]
    pub binaries: Vec<String>,
    /// Skip the database check (e.g. on a build machine with no database).
    #[arg(long)]
    pub no_database: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// One binary as the code builds it.
#[derive(Debug, Clone)]
pub struct BinaryTopology {
    pub name: &'static str,
    /// Kinds it has handlers for.
    pub kinds: Vec<KindSpec>,
    /// Queues it consumes.
    pub queues: Vec<String>,
}

/// Problems with the kind → queue → binary wiring.
pub fn check_topology(catalog: &Catalog, binaries: &[BinaryTopology]) -> Vec<String> {
    let mut problems = Vec::new();
    for kind in catalog.kinds() {
        let handlers: Vec<&BinaryTopology> = binaries
            .iter()
            .filter(|b| b.kinds.iter().any(|k| k.kind == kind.kind))
            .collect();
        match handlers.as_slice() {
            [one] => {
                for q in &kind.queues {
                    if !one.queues.contains(q) {
                        problems.push(format!(
                            "kind `{}` is handled by {} but its queue `{q}` is not consumed there",
                            kind.kind, one.name
                        ));
                    }
                }
            }
            [] => problems.push(format!("kind `{}` has no consuming binary", kind.kind)),
            many => problems.push(format!(
                "kind `{}` is handled by {} binaries ({}); exactly one must own it",
                kind.kind,
                many.len(),
                many.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    for queue in catalog.queues() {
        let consumers: Vec<&str> = binaries
            .iter()
            .filter(|b| b.queues.contains(&queue))
            .map(|b| b.name)
            .collect();
        if consumers.len() != 1 {
            problems.push(format!(
                "queue `{queue}` is consumed by {} binaries ({}); exactly one must consume it",
                consumers.len(),
                consumers.join(", ")
            ));
        }
    }
    for b in binaries {
        for q in &b.queues {
            if catalog.kinds_in(q).is_empty() {
                problems.push(format!(
                    "{} consumes queue `{q}`, which no job kind uses",
                    b.name
                ));
            }
        }
    }
    problems
}

/// What the five binaries really register, built against a scratch database.
async fn topology() -> anyhow::Result<Vec<BinaryTopology>> {
    let scratch = tempfile::tempdir()?;
    let dbs = specline_service::db::open(&DatabaseTarget::Sqlite {
        path: scratch.path().join("doctor.sqlite3"),
    })
    .await?;
    let settings = specline_settings::Settings::load::<AllInOneSettings>(
        &specline_settings::LoadOptions::new(specline_settings::Env::from_map(Vec::<(
            String,
            String,
        )>::new())),
    )?
    .settings;
    let (analyzer, generator) = local::registry(&settings, &dbs, None)?;
    let owned = |qs: &[&str]| qs.iter().map(|q| q.to_string()).collect::<Vec<_>>();
    Ok(vec![
        BinaryTopology {
            name: "specline-analyzer",
            kinds: analyzer.kinds().cloned().collect(),
            queues: owned(specline_analyzer::QUEUES),
        },
        BinaryTopology {
            name: "specline-spec-generator",
            kinds: generator.kinds().cloned().collect(),
            queues: owned(specline_spec_generator::QUEUES),
        },
        BinaryTopology {
            name: "specline-scheduler",
            kinds: Vec::new(),
            queues: Vec::new(),
        },
        BinaryTopology {
            name: "specline-enqueue",
            kinds: Vec::new(),
            queues: Vec::new(),
        },
        BinaryTopology {
            name: "specline-api",
            kinds: Vec::new(),
            queues: Vec::new(),
        },
    ])
}

struct Report {
    failures: usize,
}

impl Report {
    fn ok(&mut self, what: &str, detail: impl std::fmt::Display) {
        println!("ok    {what}: {detail}");
    }
    fn fail(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.failures += 1;
        println!("FAIL  {what}: {detail}");
    }
}

fn binary_named(name: &str) -> Option<Binary> {
    let name = name.strip_prefix("specline-").unwrap_or(name);
    Binary::ALL
        .iter()
        .copied()
        .find(|b| b.name().strip_prefix("specline-").unwrap_or(b.name()) == name)
}

fn check_settings(binary: Binary, args: &CommonArgs) -> Result<usize, String> {
    fn one<P: specline_settings::Profile>(args: &CommonArgs) -> Result<usize, String> {
        let mut o = specline_settings::LoadOptions::from_process_env().strict(args.strict);
        if let Some(f) = &args.config {
            o = o.file(f);
        }
        specline_settings::Settings::load::<P>(&o)
            .map(|l| l.warnings.len())
            .map_err(|e| e.to_string())
    }
    match binary {
        Binary::Analyzer => one::<AnalyzerSettings>(args),
        Binary::SpecGenerator => one::<SpecGeneratorSettings>(args),
        Binary::Scheduler => one::<SchedulerSettings>(args),
        Binary::Enqueue => one::<EnqueueSettings>(args),
        Binary::Api => one::<ApiSettings>(args),
        Binary::AllInOne => one::<AllInOneSettings>(args),
    }
}

pub async fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let mut report = Report { failures: 0 };
    let binaries = topology().await?;
    let catalog = specline_service::worker::catalog();
    let problems = check_topology(&catalog, &binaries);
    if problems.is_empty() {
        let owners: BTreeMap<&str, Vec<&str>> = binaries
            .iter()
            .filter(|b| !b.queues.is_empty())
            .map(|b| (b.name, b.queues.iter().map(String::as_str).collect()))
            .collect();
        report.ok(
            "topology",
            format!(
                "{} kinds on {} queues, each with one consumer ({owners:?})",
                catalog.kinds().count(),
                catalog.queues().len()
            ),
        );
    }
    for p in problems {
        report.fail("topology", p);
    }

    // Settings of this machine.
    let mut to_check = vec![Binary::AllInOne];
    for name in &args.binaries {
        match binary_named(name) {
            Some(b) => to_check.push(b),
            None => report.fail(
                "settings",
                format!(
                    "unknown binary `{name}` (analyzer, spec-generator, scheduler, enqueue, api)"
                ),
            ),
        }
    }
    for b in to_check {
        match check_settings(b, &args.common) {
            Ok(0) => report.ok("settings", format!("{b} loads")),
            Ok(n) => report.ok("settings", format!("{b} loads, with {n} warning(s) above")),
            Err(e) => report.fail("settings", format!("{b}: {e}")),
        }
    }

    // The database.
    if !args.no_database {
        match local::settings(&args.common, None) {
            Ok(s) => match check_database(&s).await {
                Ok(detail) => report.ok("migrations", detail),
                Err(e) => report.fail("migrations", format!("{e:#}")),
            },
            Err(e) => report.fail("migrations", format!("cannot read the settings: {e:#}")),
        }
    }

    // The deployment.
    if let Some(dir) = &args.deploy {
        let services: Vec<specline_deploy_check::ServiceSpec> = binaries
            .iter()
            .filter_map(|b| {
                binary_named(b.name).map(|binary| specline_deploy_check::ServiceSpec {
                    binary,
                    queues: b.queues.clone(),
                })
            })
            .collect();
        match specline_deploy_check::check_deploy(dir, &services) {
            Ok(r) if r.findings.is_empty() => report.ok(
                "deploy",
                format!(
                    "{} manifest file(s) in {} agree with the code",
                    r.files_checked.len(),
                    dir.display()
                ),
            ),
            Ok(r) => {
                for f in &r.findings {
                    report.fail(
                        "deploy",
                        format!(
                            "{} {} ({}): {}",
                            f.code,
                            f.file.display(),
                            f.service,
                            f.message
                        ),
                    );
                }
            }
            Err(e) => report.fail("deploy", e),
        }
    }

    if report.failures > 0 {
        anyhow::bail!("DOCTOR_FAILED: {} check(s) failed", report.failures);
    }
    Ok(())
}

async fn check_database(s: &AllInOneSettings) -> anyhow::Result<String> {
    let target = s.database_target();
    if let DatabaseTarget::Sqlite { path } = &target {
        if !path.exists() {
            anyhow::bail!(
                "the SQLite database {} does not exist yet; run `specline migrate`",
                path.display()
            );
        }
    }
    let dbs = specline_service::db::open(&target).await?;
    dbs.require_current().await?;
    Ok(format!("{} is current", dbs.describe))
}

#[cfg(test)]
mod tests {
    use super::*;
    use specline_queue::{KindOptions, KindSpec};

    fn kind(name: &str, queue: &str) -> KindSpec {
        KindSpec {
            kind: name.into(),
            queues: vec![queue.into()],
            options: KindOptions::default(),
        }
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::new();
        c.add(kind("analyze_repository", "analyze"));
        c.add(kind("classify_tests", "spec"));
        c
    }

    fn binary(name: &'static str, kinds: &[KindSpec], queues: &[&str]) -> BinaryTopology {
        BinaryTopology {
            name,
            kinds: kinds.to_vec(),
            queues: queues.iter().map(|q| q.to_string()).collect(),
        }
    }

    #[test]
    fn the_real_binaries_pass() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let binaries = rt.block_on(topology()).unwrap_or_else(|e| panic!("{e:#}"));
        let problems = check_topology(&specline_service::worker::catalog(), &binaries);
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_kind_nobody_handles_two_owners_and_a_queue_without_consumer_fail() {
        let a = kind("analyze_repository", "analyze");
        let c = kind("classify_tests", "spec");
        let ok = [
            binary("analyzer", std::slice::from_ref(&a), &["analyze"]),
            binary("generator", std::slice::from_ref(&c), &["spec"]),
        ];
        assert!(check_topology(&catalog(), &ok).is_empty());

        let nobody = [binary("analyzer", std::slice::from_ref(&a), &["analyze"])];
        let p = check_topology(&catalog(), &nobody);
        assert!(
            p.iter()
                .any(|m| m.contains("`classify_tests` has no consuming binary")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.contains("queue `spec` is consumed by 0")),
            "{p:?}"
        );

        let twice = [
            binary("analyzer", &[a.clone(), c.clone()], &["analyze"]),
            binary("generator", std::slice::from_ref(&c), &["spec"]),
        ];
        let p = check_topology(&catalog(), &twice);
        assert!(
            p.iter().any(|m| m.contains("handled by 2 binaries")),
            "{p:?}"
        );

        let wrong_queue = [
            binary("analyzer", std::slice::from_ref(&a), &["analyse"]),
            binary("generator", std::slice::from_ref(&c), &["spec"]),
        ];
        let p = check_topology(&catalog(), &wrong_queue);
        assert!(
            p.iter()
                .any(|m| m.contains("queue `analyze` is not consumed there")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.contains("consumes queue `analyse`, which no job kind uses")),
            "{p:?}"
        );
    }
}
