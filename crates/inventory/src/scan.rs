//! The scan: discovery, then parallel per-file analysis, with results streamed to the
//! caller as files finish.
//!
//! Three stages joined by bounded channels, so memory stays flat however big the tree:
//!
//! ```text
//! discovery thread ──jobs──▶ N workers (parse + detect + extract) ──outcomes──▶ caller
//! ```
//!
//! The caller's thread receives outcomes and hands each [`TestFile`] to its callback (to
//! persist in batches, print, …) while the scan goes on. Cancellation and the timeout set
//! one flag that discovery, workers and even a running parse check; a scan stopped that
//! way reports `stats.truncated = true`, never a complete inventory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use tree_sitter::{ParseOptions, Parser, Tree};

use crate::detect::ConfigIndex;
use crate::error::InventoryError;
use crate::extract::Budget;
use crate::framework::Grammar;
use crate::materialize::{OmitReason, Omitted};
use crate::model::{
    DomainHints, ErrorPhase, FileError, Inventory, ScanStats, Source, Suite, TestFile,
    SCHEMA_VERSION,
};
use crate::registry::{registry, Registry};
use crate::untrusted_file::{read_regular, Refused};

/// Directories never worth scanning: dependencies, build outputs, caches, VCS data.
pub const DEFAULT_IGNORED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "bower_components",
    "vendor",
    "dist",
    "build",
    "out",
    "target",
    "coverage",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".turbo",
    ".cache",
    ".parcel-cache",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".gradle",
    ".idea",
    "Pods",
    "Carthage",
    ".build",
    "DerivedData",
    "obj",
    "site-packages",
    ".eggs",
];

/// Bytes looked at to decide a file is binary (a NUL byte in them).
const BINARY_SNIFF: usize = 8000;

/// A flag to stop a scan from another thread. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the scan to stop; it returns soon with `stats.truncated = true`.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files larger than this are skipped, counted in `skipped_too_large` and recorded as
    /// `FILE_TOO_LARGE` errors.
    pub max_file_size: u64,
    /// Worker threads (the bounded pool). 0 means the number of CPUs.
    pub threads: usize,
    /// Stop after this long and report the inventory as truncated.
    pub timeout: Option<Duration>,
    /// Longest time one file may take (parse and queries); past it the file is recorded as
    /// a `PARSE_TIMEOUT` error and the scan goes on.
    pub file_timeout: Option<Duration>,
    /// Honour `.gitignore`/`.ignore` files inside the tree.
    pub gitignore: bool,
    /// Keep every file in the returned [`Inventory`]; a streaming consumer that persists
    /// files itself can turn this off to hold only the statistics.
    pub keep_files: bool,
    pub cancel: CancelToken,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: 2 * 1024 * 1024,
            threads: 0,
            timeout: None,
            file_timeout: Some(Duration::from_secs(10)),
            gitignore: true,
            keep_files: true,
            cancel: CancelToken::new(),
        }
    }
}

/// Scans `root` and returns the whole inventory.
pub fn scan(root: &Path, opts: &ScanOptions) -> Result<Inventory, InventoryError> {
    scan_with(root, opts, |_| {})
}

/// Scans `root`, calling `on_file` on the caller's thread for each test file as soon as it
/// is analysed (in completion order; the returned inventory is sorted by path).
pub fn scan_with(
    root: &Path,
    opts: &ScanOptions,
    mut on_file: impl FnMut(&TestFile),
) -> Result<Inventory, InventoryError> {
    let mut files = Vec::new();
    let mut inventory = scan_each(root, opts, |f| {
        on_file(&f);
        if opts.keep_files {
            files.push(f);
        }
    })?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    inventory.files = files;
    Ok(inventory)
}

/// Scans `root`, handing each test file over to `on_file` as soon as it is analysed; the
/// returned inventory has statistics and errors but no files. For a consumer that persists
/// files as they come (the analyzer's batches): nothing is copied and nothing is kept.
pub fn scan_each(
    root: &Path,
    opts: &ScanOptions,
    mut on_file: impl FnMut(TestFile),
) -> Result<Inventory, InventoryError> {
    let started = Instant::now();
    let registry = registry()?;
    if !root.is_dir() {
        return Err(InventoryError::NotADirectory(root.to_path_buf()));
    }
    let root = root
        .canonicalize()
        .map_err(|e| InventoryError::io(format!("resolving {}", root.display()), e))?;
    let deadline = opts.timeout.map(|t| started + t);
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let counters = Counters::default();
    let configs = ConfigIndex::new(&root, registry);
    let cancel = opts.cancel.clone();
    let gate = crate::repo_defs::Gate::new(threads);

    let mut errors: Vec<FileError> = Vec::new();
    let mut stats = ScanStats::default();
    let mut timed_out = false;

    std::thread::scope(|s| {
        let (job_tx, job_rx) = bounded::<Job>(1024);
        let (out_tx, out_rx) = bounded::<Outcome>(256);
        {
            let out_tx = out_tx.clone();
            let (root, configs, counters, cancel) = (&root, &configs, &counters, &cancel);
            s.spawn(move || {
                discover(
                    root, opts, registry, configs, counters, cancel, &job_tx, &out_tx,
                )
            });
        }
        let ctx = WorkerCtx {
            registry,
            configs: &configs,
            counters: &counters,
            cancel: &cancel,
            file_timeout: opts.file_timeout,
            max_file_size: opts.max_file_size,
            defs: gate.none(),
        };
        for _ in 0..threads {
            let (job_rx, out_tx, gate) = (job_rx.clone(), out_tx.clone(), &gate);
            s.spawn(move || worker(ctx, gate, &job_rx, &out_tx));
        }
        drop(out_tx);
        drop(job_rx);
        receive(
            &out_rx,
            deadline,
            &cancel,
            &mut timed_out,
            |outcome| match outcome {
                Outcome::File(f) => {
                    stats.test_files += 1;
                    let (suites, tests) = count(&f.suites);
                    stats.suites += suites;
                    stats.tests += tests + f.tests.len() as u64;
                    stats.runner_tests = stats.runner_tests.saturating_add(f.runner_count());
                    on_file(f);
                }
                Outcome::Error(e) => {
                    stats.errored += 1;
                    errors.push(e);
                }
            },
        );
    });

    for problem in configs.runners().take_problems() {
        stats.errored += 1;
        errors.push(FileError {
            path: rel_path(&root, &problem.file).0,
            phase: ErrorPhase::Discovery,
            code: "CONFIG_UNREADABLE".into(),
            message: format!(
                "{}; the naming conventions apply to the files it covers",
                problem.message
            ),
        });
    }
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    stats.files_seen = counters.seen.load(Ordering::Relaxed);
    stats.skipped_too_large = counters.too_large.load(Ordering::Relaxed);
    stats.skipped_binary = counters.binary.load(Ordering::Relaxed);
    stats.truncated = timed_out || cancel.is_cancelled();
    stats.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Inventory {
        schema_version: SCHEMA_VERSION,
        parser_version: crate::PARSER_VERSION.to_string(),
        source: Source {
            location: root.display().to_string(),
            ..Source::default()
        },
        files: Vec::new(),
        stats,
        errors,
    })
}

/// A file a scan would read and consider (after ignores, naming conventions and the size
/// limit), for benchmarks and tools that want the scan's file set.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    pub rel: String,
    pub grammar: Grammar,
    /// Index into [`Registry::languages`].
    pub language: usize,
}

impl Candidate {
    /// True when a scan would parse this content (not binary, passes the prefilter).
    pub fn would_parse(&self, registry: &Registry, src: &[u8]) -> bool {
        if src.iter().take(BINARY_SNIFF).any(|&b| b == 0) {
            return false;
        }
        registry.languages.get(self.language).is_some_and(|l| {
            l.prefilter
                .as_ref()
                .is_none_or(|re| re.is_match(&String::from_utf8_lossy(src)))
        })
    }
}

/// The candidate files of `root`, as the scan's discovery stage finds them.
pub fn candidates(root: &Path, opts: &ScanOptions) -> Result<Vec<Candidate>, InventoryError> {
    let registry = registry()?;
    let root = root
        .canonicalize()
        .map_err(|e| InventoryError::io(format!("resolving {}", root.display()), e))?;
    let counters = Counters::default();
    let configs = ConfigIndex::new(&root, registry);
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
    let (out_tx, _out_rx) = crossbeam_channel::unbounded::<Outcome>();
    discover(
        &root,
        opts,
        registry,
        &configs,
        &counters,
        &opts.cancel,
        &job_tx,
        &out_tx,
    );
    drop(job_tx);
    Ok(job_rx
        .into_iter()
        .map(|j| Candidate {
            path: j.abs,
            rel: j.rel,
            grammar: j.grammar,
            language: j.lang,
        })
        .collect())
}

/// Receives outcomes until every sender is gone, enforcing the deadline.
fn receive(
    rx: &Receiver<Outcome>,
    deadline: Option<Instant>,
    cancel: &CancelToken,
    timed_out: &mut bool,
    mut handle: impl FnMut(Outcome),
) {
    loop {
        let got = match deadline {
            Some(d) if !*timed_out => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    *timed_out = true;
                    cancel.cancel();
                    continue;
                }
                match rx.recv_timeout(left) {
                    Ok(o) => Ok(o),
                    Err(RecvTimeoutError::Timeout) => {
                        *timed_out = true;
                        cancel.cancel();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => Err(()),
                }
            }
            _ => rx.recv().map_err(|_| ()),
        };
        match got {
            Ok(o) => handle(o),
            Err(()) => break,
        }
    }
}

fn count(suites: &[Suite]) -> (u64, u64) {
    let mut s = 0;
    let mut t = 0;
    for suite in suites {
        let (cs, ct) = count(&suite.suites);
        s += 1 + cs;
        t += suite.tests.len() as u64 + ct;
    }
    (s, t)
}

#[derive(Default)]
struct Counters {
    seen: AtomicU64,
    too_large: AtomicU64,
    binary: AtomicU64,
}

struct Job {
    abs: PathBuf,
    rel: String,
    lang: usize,
    grammar: Grammar,
    /// Whether the language's content prefilter applies (not when a runner's
    /// configuration chose the file by names the prefilter does not know).
    prefilter: bool,
}

enum Outcome {
    File(TestFile),
    Error(FileError),
}

/// The `/`-separated path of `path` under `root`, and whether a part of it was not UTF-8.
/// Invalid bytes are written `\xNN`, so two names that differ only there stay apart
/// (a lossy conversion would map both to U+FFFD and give two files one path).
fn rel_path(root: &Path, path: &Path) -> (String, bool) {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut lossy = false;
    let parts: Vec<String> = rel
        .components()
        .map(|c| {
            let bytes = c.as_os_str().as_encoded_bytes();
            let mut out = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                for b in chunk.invalid() {
                    lossy = true;
                    out.push_str(&format!("\\x{b:02X}"));
                }
            }
            out
        })
        .collect();
    (parts.join("/"), lossy)
}

/// Paths handed out so far: every file of an inventory has its own path, even when an
/// escaped non-UTF-8 name meets a real name spelled the same (then ` (2)`, ` (3)`, … in
/// walk order, which is sorted).
#[derive(Default)]
struct UniquePaths(std::collections::HashSet<String>);

impl UniquePaths {
    fn claim(&mut self, rel: String) -> (String, bool) {
        if self.0.insert(rel.clone()) {
            return (rel, false);
        }
        let mut n = 2u64;
        loop {
            let candidate = format!("{rel} ({n})");
            if self.0.insert(candidate.clone()) {
                return (candidate, true);
            }
            n += 1;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn discover(
    root: &Path,
    opts: &ScanOptions,
    registry: &Registry,
    configs: &ConfigIndex,
    counters: &Counters,
    cancel: &CancelToken,
    jobs: &Sender<Job>,
    out: &Sender<Outcome>,
) {
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(false)
        // Dot-directories are walked (`.github/`, `.storybook/` hold tests too); the
        // ones never worth it (`.git`, caches, virtualenvs) are in DEFAULT_IGNORED_DIRS.
        .hidden(false)
        .parents(false)
        .git_global(false)
        .git_ignore(opts.gitignore)
        .git_exclude(opts.gitignore)
        .ignore(opts.gitignore)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|e| {
            !(e.file_type().is_some_and(|t| t.is_dir())
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| DEFAULT_IGNORED_DIRS.contains(&n)))
        })
        .build();
    let mut found = Discovery {
        root,
        opts,
        registry,
        configs,
        counters,
        jobs,
        out,
        paths: UniquePaths::default(),
        offered: std::collections::HashSet::new(),
    };
    for entry in walker {
        if cancel.is_cancelled() {
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = match &err {
                    ignore::Error::WithPath { path, .. } => rel_path(root, path).0,
                    _ => String::new(),
                };
                found.error(path, "WALK_FAILED", err.to_string());
                continue;
            }
        };
        // Symlinks are never followed: not out of the tree, not even inside it.
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        counters.seen.fetch_add(1, Ordering::Relaxed);
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if !found.offer(entry.into_path(), size) {
            return;
        }
    }
    if opts.gitignore {
        found.tracked_but_ignored(cancel);
    }
}

/// The discovery stage's state: where candidates go, and which were handed out.
struct Discovery<'a> {
    root: &'a Path,
    opts: &'a ScanOptions,
    registry: &'a Registry,
    configs: &'a ConfigIndex,
    counters: &'a Counters,
    jobs: &'a Sender<Job>,
    out: &'a Sender<Outcome>,
    paths: UniquePaths,
    /// Candidates found by the walk, so the tracked-files pass adds only the others.
    offered: std::collections::HashSet<PathBuf>,
}

impl Discovery<'_> {
    fn error(&self, path: String, code: &str, message: String) {
        let _ = self.out.send(Outcome::Error(FileError {
            path,
            phase: ErrorPhase::Discovery,
            code: code.into(),
            message,
        }));
    }

    /// Hands a regular file of the tree to the workers if it is a candidate; false when
    /// the workers are gone.
    fn offer(&mut self, abs: PathBuf, size: u64) -> bool {
        let registry = self.registry;
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let Some((lang, grammar)) = registry.for_file_name(&name) else {
            return true;
        };
        let (rel, not_utf8) = rel_path(self.root, &abs);
        let Some(prefilter) = self.selects(lang, &abs, &rel) else {
            return true;
        };
        self.offered.insert(abs.clone());
        let (rel, renamed) = self.paths.claim(rel);
        if not_utf8 || renamed {
            let (code, message) = if renamed {
                (
                    "PATH_DISAMBIGUATED",
                    "the path is recorded with a suffix: another file has the same name once \
                     its non-UTF-8 bytes are written as \\xNN",
                )
            } else {
                (
                    "PATH_NOT_UTF8",
                    "the path is not valid UTF-8; its invalid bytes are written as \\xNN",
                )
            };
            self.error(rel.clone(), code, message.into());
        }
        if size > self.opts.max_file_size {
            self.counters.too_large.fetch_add(1, Ordering::Relaxed);
            let _ = self
                .out
                .send(too_large(&rel, Some(size), self.opts.max_file_size));
            return true;
        }
        let lang_idx = registry
            .languages
            .iter()
            .position(|l| std::ptr::eq(l, lang))
            .unwrap_or(0);
        let job = Job {
            abs,
            rel,
            lang: lang_idx,
            grammar,
            prefilter,
        };
        self.jobs.send(job).is_ok()
    }

    /// Whether a file is a candidate test file: when a test runner's configuration says
    /// which files it runs (pytest's `python_files` and `testpaths`; Jest, Vitest,
    /// Mocha), that decides; otherwise the language's naming conventions do. `Some(true)`
    /// when the content prefilter still applies, `Some(false)` when the configuration
    /// names tests the prefilter does not know (`python_functions = check_*`).
    fn selects(&self, lang: &crate::registry::Language, abs: &Path, rel: &str) -> Option<bool> {
        let runners = self.configs.runners();
        let by_config = match lang.def.id {
            "python" => runners.pytest_for(abs).map(|found| {
                crate::runner_config::relative(&found.dir, abs)
                    .is_some_and(|r| found.config.collects_file(&r))
            }),
            "javascript" | "typescript" => runners.js_for(abs).map(|found| {
                crate::runner_config::relative(&found.dir, abs)
                    .is_some_and(|r| found.config.selects(&r))
            }),
            _ => None,
        };
        match by_config {
            Some(true) => Some(lang.def.id != "python"),
            Some(false) => None,
            None => lang.candidates.is_match(rel).then_some(true),
        }
    }

    /// Adds the files git tracks that an ignore rule hid from the walk: `.gitignore`
    /// concerns untracked files only, so a committed test file is analysed whatever the
    /// rules say. The index is data from the repository: each path is checked to stay in
    /// the tree, outside `.git` and the default-ignored directories, and to reach a
    /// regular file through real directories only (no symlink is followed).
    fn tracked_but_ignored(&mut self, cancel: &CancelToken) {
        let tracked = match crate::git_index::tracked_files(self.root) {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                self.error(".git/index".into(), "GIT_INDEX_UNREADABLE", e.to_string());
                return;
            }
        };
        for path in tracked {
            if cancel.is_cancelled() {
                return;
            }
            let Some(abs) = safe_tracked_path(self.root, &path) else {
                continue;
            };
            if self.offered.contains(&abs) {
                continue;
            }
            let Some(size) = crate::untrusted_file::size_in_tree(self.root, &abs) else {
                continue;
            };
            self.counters.seen.fetch_add(1, Ordering::Relaxed);
            if !self.offer(abs, size) {
                return;
            }
        }
    }
}

/// The absolute path of an index entry, when each part is a plain name that is neither
/// `.git` nor a default-ignored directory.
fn safe_tracked_path(root: &Path, path: &[u8]) -> Option<PathBuf> {
    let mut abs = root.to_path_buf();
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let last = parts.len().checked_sub(1)?;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() || *part == b"." || *part == b".." || part.eq_ignore_ascii_case(b".git")
        {
            return None;
        }
        let name = std::str::from_utf8(part).ok();
        if i < last && name.is_some_and(|n| DEFAULT_IGNORED_DIRS.contains(&n)) {
            return None;
        }
        #[cfg(unix)]
        abs.push(std::os::unix::ffi::OsStrExt::from_bytes(part) as &std::ffi::OsStr);
        #[cfg(not(unix))]
        abs.push(name?);
    }
    Some(abs)
}

/// What every worker shares.
#[derive(Clone, Copy)]
struct WorkerCtx<'a> {
    registry: &'a Registry,
    configs: &'a ConfigIndex,
    counters: &'a Counters,
    cancel: &'a CancelToken,
    file_timeout: Option<Duration>,
    max_file_size: u64,
    /// What files define for others (test macros, composed annotations): the pre-pass.
    defs: &'a crate::repo_defs::RepoDefs,
}

/// Analyses jobs in two phases (see [`crate::repo_defs::Gate`]): first every file whose
/// language cannot use another file's definitions, while the others are read for their
/// definitions and put aside; then, with every definition known, the files put aside.
fn worker(
    ctx: WorkerCtx<'_>,
    gate: &crate::repo_defs::Gate<Job>,
    jobs: &Receiver<Job>,
    out: &Sender<Outcome>,
) {
    let arrival = gate.arrival();
    let mut parsers: HashMap<Grammar, Parser> = HashMap::new();
    let mut run = |ctx: &WorkerCtx<'_>, job: &Job| {
        !ctx.cancel.is_cancelled()
            && analyze(ctx, &mut parsers, job).is_none_or(|o| out.send(o).is_ok())
    };
    for job in jobs {
        let language = ctx.registry.languages.get(job.lang).map(|l| l.def.id);
        if let Some(id) = language.filter(|id| crate::repo_defs::deferred(id)) {
            let src = read_regular(&job.abs, ctx.max_file_size).ok();
            let rel = job.rel.clone();
            gate.put_aside(job, id, &rel, src.as_deref());
            continue;
        }
        if !run(&ctx, &job) {
            break;
        }
    }
    // Every worker reaches this point, even one that stopped early: the others wait here.
    let ctx = WorkerCtx {
        defs: arrival.settle(),
        ..ctx
    };
    while let Some(job) = gate.next() {
        if !run(&ctx, &job) {
            break;
        }
    }
}

/// The per-file error of a file over the size limit (`size` unknown when a server's blob
/// filter left it out of a clone).
fn too_large(rel: &str, size: Option<u64>, limit: u64) -> Outcome {
    let size = size.map_or_else(
        || "its size is unknown".to_string(),
        |s| format!("{s} bytes"),
    );
    Outcome::Error(FileError {
        path: rel.to_string(),
        phase: ErrorPhase::Discovery,
        code: "FILE_TOO_LARGE".into(),
        message: format!("skipped: {size}, over the limit of {limit} bytes"),
    })
}

/// Adds the files a clone left out ([`crate::source::Checkout::omitted`]) to a scan's
/// errors and counters: a test file over the size limit as `FILE_TOO_LARGE` (as if the
/// scan had seen it), any path that would leave the tree as `UNSAFE_PATH`.
pub fn record_omitted(
    inventory: &mut Inventory,
    omitted: &[Omitted],
    max_file_size: u64,
) -> Result<(), InventoryError> {
    let registry = registry()?;
    for o in omitted {
        let outcome = match o.reason {
            OmitReason::TooLarge { size } => {
                let name = o.path.rsplit('/').next().unwrap_or(&o.path);
                let is_test = registry
                    .for_file_name(name)
                    .is_some_and(|(lang, _)| lang.candidates.is_match(&o.path));
                if !is_test {
                    continue;
                }
                inventory.stats.skipped_too_large += 1;
                too_large(&o.path, size, max_file_size)
            }
            OmitReason::UnsafePath => Outcome::Error(FileError {
                path: o.path.clone(),
                phase: ErrorPhase::Discovery,
                code: "UNSAFE_PATH".into(),
                message: "skipped: the path would leave the tree or enter .git".into(),
            }),
        };
        if let Outcome::Error(e) = outcome {
            inventory.stats.errored += 1;
            inventory.errors.push(e);
        }
    }
    inventory.errors.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(())
}

fn file_error(rel: &str, phase: ErrorPhase, code: &str, message: String) -> Option<Outcome> {
    Some(Outcome::Error(FileError {
        path: rel.to_string(),
        phase,
        code: code.into(),
        message,
    }))
}

/// Parses `src` with a reusable parser, giving up when `cancel` is set.
pub fn parse(
    parsers: &mut HashMap<Grammar, Parser>,
    grammar: Grammar,
    src: &[u8],
    budget: &Budget,
) -> Result<Option<Tree>, String> {
    let parser = match parsers.entry(grammar) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            let mut p = Parser::new();
            p.set_language(&grammar.language())
                .map_err(|e| e.to_string())?;
            v.insert(p)
        }
    };
    let mut progress = |_: &tree_sitter::ParseState| budget.exhausted();
    let options = ParseOptions::new().progress_callback(&mut progress);
    let tree = parser.parse_with_options(
        &mut |offset, _| src.get(offset..).unwrap_or_default(),
        None,
        Some(options),
    );
    if tree.is_none() {
        parser.reset();
    }
    Ok(tree)
}

fn analyze(
    ctx: &WorkerCtx<'_>,
    parsers: &mut HashMap<Grammar, Parser>,
    job: &Job,
) -> Option<Outcome> {
    let WorkerCtx {
        registry,
        configs,
        counters,
        cancel,
        file_timeout,
        max_file_size,
        defs,
    } = *ctx;
    let rel = job.rel.as_str();
    // Checked again as it is opened: the walker saw a regular file, but it may have been
    // swapped for a symlink or a FIFO since.
    let src = match read_regular(&job.abs, max_file_size) {
        Ok(s) => s,
        Err(Refused::TooLarge(size)) => {
            counters.too_large.fetch_add(1, Ordering::Relaxed);
            return Some(too_large(rel, Some(size), max_file_size));
        }
        Err(e) => return file_error(rel, ErrorPhase::Discovery, "READ_FAILED", e.to_string()),
    };
    if src.iter().take(BINARY_SNIFF).any(|&b| b == 0) {
        counters.binary.fetch_add(1, Ordering::Relaxed);
        return file_error(
            rel,
            ErrorPhase::Discovery,
            "FILE_BINARY",
            "skipped: the file looks binary (a NUL byte in its first 8000 bytes)".into(),
        );
    }
    let lang = registry.languages.get(job.lang)?;
    if let Some(pre) = lang.prefilter.as_ref().filter(|_| job.prefilter) {
        let text = String::from_utf8_lossy(&src);
        if !pre.is_match(&text) && !defs.mentioned(lang.def.id, &text) {
            return None;
        }
    }
    // Compile the language's query (first use) before the file's clock starts.
    if let Err(e) = lang.query(job.grammar) {
        return file_error(rel, ErrorPhase::Parsing, "GRAMMAR_FAILED", e.to_string());
    }
    let budget = Budget::new(file_timeout, cancel.clone());
    let timed_out = || {
        file_error(
            rel,
            ErrorPhase::Parsing,
            "PARSE_TIMEOUT",
            format!("took longer than {file_timeout:?}"),
        )
    };
    let tree = match parse(parsers, job.grammar, &src, &budget) {
        Ok(Some(t)) => t,
        Ok(None) if cancel.is_cancelled() => return None,
        Ok(None) => return timed_out(),
        Err(e) => return file_error(rel, ErrorPhase::Parsing, "GRAMMAR_FAILED", e),
    };
    let configs = Some((configs, job.abs.as_path()));
    let origin = crate::extract::Origin {
        rel,
        defs,
        pytest: None,
    };
    match crate::analyze_tree(&tree, &src, job.grammar, lang, configs, origin, &budget) {
        Ok(file) => file.map(Outcome::File),
        Err(_) if cancel.is_cancelled() => None,
        Err(_) => timed_out(),
    }
}

/// Builds the [`TestFile`] of a parsed file, or `None` when it holds no suite or test.
pub(crate) fn build_file(
    rel: &str,
    lang: &crate::registry::Language,
    framework: &str,
    suites: Vec<Suite>,
    tests: Vec<crate::model::Test>,
    hints: DomainHints,
) -> Option<TestFile> {
    if suites.is_empty() && tests.is_empty() {
        return None;
    }
    Some(TestFile {
        path: rel.to_string(),
        language: lang.def.id.to_string(),
        framework: framework.to_string(),
        domain_hints: hints,
        suites,
        tests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_file_is_a_discovery_error_not_a_failure() {
        let registry = registry().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let configs = ConfigIndex::new(dir.path(), registry);
        let counters = Counters::default();
        let job = Job {
            abs: dir.path().join("gone.test.js"),
            rel: "gone.test.js".into(),
            lang: 0,
            grammar: Grammar::JavaScript,
            prefilter: true,
        };
        let cancel = CancelToken::new();
        let ctx = WorkerCtx {
            registry,
            configs: &configs,
            counters: &counters,
            cancel: &cancel,
            file_timeout: None,
            max_file_size: u64::MAX,
            defs: &crate::repo_defs::RepoDefs::empty(),
        };
        let got = analyze(&ctx, &mut HashMap::new(), &job);
        match got {
            Some(Outcome::Error(e)) => {
                assert_eq!(e.path, "gone.test.js");
                assert_eq!(e.phase, ErrorPhase::Discovery);
                assert_eq!(e.code, "READ_FAILED");
            }
            _ => panic!("expected a file error"),
        }
    }
}
