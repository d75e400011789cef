//! The `specline inventory PATH|URL [--format json|tree|summary]` command.
//!
//! The lead's `specline` binary flattens [`InventoryArgs`] into its `inventory`
//! subcommand and calls [`run`]. `anyhow` is used only here, at the edge.
//!
//! The tree and summary formats print names from the repository (paths, suites, tests,
//! modifiers) through [`terminal_safe`], so a name cannot drive the terminal; the JSON
//! format keeps them exact (JSON escapes control characters itself).

use std::io::Write;
use std::time::{Duration, Instant};

use crate::model::terminal::terminal_safe;
use crate::model::{Inventory, Status, Suite, Test};
use crate::source::{self, GitOptions, SourceSpec};
use crate::{scan, scan_with, ScanOptions};

/// Output formats of the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The inventory as JSON (schema in docs/inventory-schema.md).
    Json,
    /// Files, suites and tests as an indented tree.
    Tree,
    /// Counts per language and framework.
    Summary,
}

/// Arguments of `specline inventory`.
#[derive(Debug, Clone, clap::Args)]
pub struct InventoryArgs {
    /// A local directory, or a git URL (https://, ssh://, git@, file://) to clone shallowly.
    pub target: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Summary)]
    pub format: Format,
    /// Branch or tag to clone (git URLs only).
    #[arg(long)]
    pub branch: Option<String>,
    /// Access token for a private git repository; read from the environment so it never
    /// shows in the process list. It never appears in output or errors.
    #[arg(long = "token-env", default_value = "SPECLINE_GIT_TOKEN")]
    pub token_env: String,
    /// Stop after this many seconds: a clone still running then fails with `GIT_TIMEOUT`,
    /// a scan reports a truncated inventory.
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Longest a clone may take (git URLs only), within `--timeout-secs`.
    #[arg(long, default_value_t = 300)]
    pub clone_timeout_secs: u64,
    /// Bytes a clone may occupy on disk (git URLs only); past it the clone stops with
    /// `CLONE_TOO_LARGE`.
    #[arg(long, default_value_t = 1 << 30)]
    pub clone_max_bytes: u64,
    /// Worker threads (0 = number of CPUs).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Skip files larger than this many bytes (recorded as `FILE_TOO_LARGE`).
    #[arg(long, default_value_t = 2 * 1024 * 1024)]
    pub max_file_size: u64,
}

/// Runs the command, writing to standard output.
pub fn run(args: InventoryArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_to(args, &mut out)
}

/// Scan a local directory or a git URL (cloned shallowly into a private temporary directory,
/// removed afterwards) and return its inventory with its source recorded. The scan's
/// timeout, if any, is what the clone left of it.
pub fn inventory_of(
    target: &str,
    branch: Option<String>,
    token: Option<String>,
    opts: &ScanOptions,
    git: &GitOptions,
) -> anyhow::Result<Inventory> {
    let started = Instant::now();
    let spec = SourceSpec::parse(target, branch, token)?;
    let checkout = source::prepare_opts(&spec, git)?;
    let opts = ScanOptions {
        timeout: opts.timeout.map(|t| t.saturating_sub(started.elapsed())),
        gitignore: opts.gitignore && !checkout.all_tracked(),
        ..opts.clone()
    };
    let mut inventory = scan_with(checkout.path(), &opts, |_| {})?;
    scan::record_omitted(&mut inventory, checkout.omitted(), opts.max_file_size)?;
    inventory.source = checkout.source().clone();
    Ok(inventory)
}

/// Runs the command, writing to `out` (used by tests).
pub fn run_to(args: InventoryArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.is_empty());
    let timeout = args.timeout_secs.map(Duration::from_secs);
    let opts = ScanOptions {
        threads: args.threads,
        max_file_size: args.max_file_size,
        timeout,
        ..ScanOptions::default()
    };
    let clone_timeout = Duration::from_secs(args.clone_timeout_secs);
    let git = GitOptions {
        timeout: Some(timeout.map_or(clone_timeout, |t| t.min(clone_timeout))),
        max_file_bytes: args.max_file_size,
        disk_budget: Some(args.clone_max_bytes),
        ..GitOptions::default()
    };
    let inventory = inventory_of(&args.target, args.branch.clone(), token, &opts, &git)?;
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &inventory)?;
            writeln!(out)?;
        }
        Format::Tree => write_tree(&inventory, out)?,
        Format::Summary => write_summary(&inventory, out)?,
    }
    Ok(())
}

fn status_mark(status: Status, modifier: Option<&str>) -> String {
    let word = match status {
        Status::Active => return String::new(),
        Status::Skipped => "skipped",
        Status::Todo => "todo",
        Status::Focused => "focused",
        Status::Xfail => "xfail",
    };
    match modifier {
        Some(m) => format!(" [{word}: {}]", terminal_safe(m)),
        None => format!(" [{word}]"),
    }
}

fn write_test(t: &Test, depth: usize, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}- {}{} :{}",
        "  ".repeat(depth),
        terminal_safe(&t.name),
        status_mark(t.status, t.modifier.as_deref()),
        t.location.start_line
    )
}

fn write_suite(s: &Suite, depth: usize, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}+ {}{} :{}",
        "  ".repeat(depth),
        terminal_safe(&s.name),
        status_mark(s.status, s.modifier.as_deref()),
        s.location.start_line
    )?;
    for t in &s.tests {
        write_test(t, depth + 1, out)?;
    }
    for c in &s.suites {
        write_suite(c, depth + 1, out)?;
    }
    Ok(())
}

/// Writes files, suites and tests as an indented tree.
pub fn write_tree(inv: &Inventory, out: &mut dyn Write) -> std::io::Result<()> {
    for f in &inv.files {
        writeln!(
            out,
            "{} ({}, {})",
            terminal_safe(&f.path),
            terminal_safe(&f.language),
            terminal_safe(&f.framework)
        )?;
        for t in &f.tests {
            write_test(t, 1, out)?;
        }
        for s in &f.suites {
            write_suite(s, 1, out)?;
        }
    }
    write_summary(inv, out)
}

/// Writes counts per language/framework (definitions, and the items the runners would
/// report where parameterised cases are known), then the scan statistics.
pub fn write_summary(inv: &Inventory, out: &mut dyn Write) -> std::io::Result<()> {
    let mut per: std::collections::BTreeMap<(String, String), (u64, u64, u64)> = Default::default();
    for f in &inv.files {
        let e = per
            .entry((f.language.clone(), f.framework.clone()))
            .or_default();
        e.0 += 1;
        e.1 += f.test_count();
        e.2 = e.2.saturating_add(f.runner_count());
    }
    writeln!(
        out,
        "{:<12} {:<14} {:>7} {:>8} {:>8}",
        "language", "framework", "files", "tests", "runner"
    )?;
    for ((lang, fw), (files, tests, runner)) in &per {
        let (lang, fw) = (terminal_safe(lang), terminal_safe(fw));
        writeln!(out, "{lang:<12} {fw:<14} {files:>7} {tests:>8} {runner:>8}")?;
    }
    let s = &inv.stats;
    writeln!(
        out,
        "total: {} test files, {} suites, {} tests ({} runner items); {} files seen, {} too large, {} binary, {} errors{} in {} ms",
        s.test_files,
        s.suites,
        s.tests,
        s.runner_tests,
        s.files_seen,
        s.skipped_too_large,
        s.skipped_binary,
        s.errored,
        if s.truncated { ", TRUNCATED" } else { "" },
        s.duration_ms
    )?;
    if let Some(commit) = &inv.source.commit {
        writeln!(
            out,
            "source: {} @ {}",
            terminal_safe(&inv.source.location),
            terminal_safe(commit)
        )?;
    }
    Ok(())
}
