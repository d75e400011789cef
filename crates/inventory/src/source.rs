//! Where a tree comes from: a local directory, or a git URL cloned shallowly into a
//! private temporary directory.
//!
//! Targets and refs are parsed by [`crate::model::target`] first: a URL with userinfo, an
//! option lookalike or a malformed ref never reaches `git`. Every `git` process is
//! hardened ([`crate::git`]): `git` never runs inside the given local directory, and a
//! clone's files are written by [`crate::materialize`], not by `git checkout`.
//!
//! An access token is handed to git through an environment variable read by an inline
//! credential helper, so it never appears in argv (process listings), in the URL recorded
//! in the inventory, or in error messages (git's stderr is scrubbed as well).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::InventoryError;
use crate::git::{self, Limits};
use crate::head::{self, Head};
use crate::materialize::{materialize, Omitted};
use crate::model::target::{check_ref, Target};
use crate::model::Source;
use crate::pin::Pin;

/// A secret that prints as `***` in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Local(PathBuf),
    Git {
        /// The URL (it never holds credentials: they are refused when parsing).
        url: String,
        branch: Option<String>,
        token: Option<Token>,
        /// The addresses the host was checked at, when a policy checked them: git connects
        /// to these and does not resolve the name again ([`crate::pin`]).
        pin: Option<Pin>,
    },
}

impl SourceSpec {
    /// Reads a target and an optional branch or tag, refusing what
    /// [`crate::model::target`] refuses (userinfo in a URL, a leading `-`, a malformed ref).
    pub fn parse(
        target: &str,
        branch: Option<String>,
        token: Option<String>,
    ) -> Result<SourceSpec, InventoryError> {
        if let Some(b) = &branch {
            check_ref(b)?;
        }
        Ok(match Target::parse(target)? {
            Target::Local(path) => SourceSpec::Local(path),
            Target::Git { url, .. } => SourceSpec::Git {
                url,
                branch,
                token: token.map(Token::new),
                pin: None,
            },
        })
    }
}

/// A tree ready to scan; a clone's temporary directory lives as long as this value.
#[derive(Debug)]
pub struct Checkout {
    path: PathBuf,
    source: Source,
    omitted: Vec<Omitted>,
    _temp: Option<tempfile::TempDir>,
}

impl Checkout {
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Location, commit, branch and commit time, for [`crate::model::Inventory::source`].
    pub fn source(&self) -> &Source {
        &self.source
    }
    /// Files of a clone that were not written (too large, unsafe path): the scan records
    /// them as per-file errors ([`crate::scan::record_omitted`]).
    pub fn omitted(&self) -> &[Omitted] {
        &self.omitted
    }
    /// True for a clone: its files were written from the commit's tree, so every one of
    /// them is tracked and no `.gitignore` rule applies to it (ignore rules concern
    /// untracked files only).
    pub fn all_tracked(&self) -> bool {
        self._temp.is_some()
    }
}

/// How to reach a git remote, and what bounds a clone.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The `git` program (a wrapper in tests, a pinned path in deployments).
    pub program: PathBuf,
    /// Longest a clone (with writing its files) or `ls-remote` may take; past it the
    /// process is killed and the call fails with `GIT_TIMEOUT` (a stalled server must not
    /// hold a worker slot forever).
    pub timeout: Option<Duration>,
    /// Files larger than this are not fetched (`--filter=blob:limit`, where the server
    /// supports it) nor written, and are recorded as `FILE_TOO_LARGE`.
    pub max_file_bytes: u64,
    /// Bytes a clone directory may hold (objects and written files); past it the clone is
    /// stopped with `CLONE_TOO_LARGE`.
    pub disk_budget: Option<u64>,
    /// Where clone directories are made (and swept by [`crate::workdir::sweep_stale`]).
    pub work_root: PathBuf,
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            program: PathBuf::from("git"),
            timeout: Some(Duration::from_secs(300)),
            max_file_bytes: crate::ScanOptions::default().max_file_size,
            disk_budget: Some(1 << 30),
            work_root: std::env::temp_dir(),
        }
    }
}

impl GitOptions {
    fn limits(&self, started: Instant) -> Limits {
        Limits {
            deadline: self.timeout.map(|t| started + t),
            disk: None,
            max_stdout: Some(1 << 20),
        }
    }
}

/// Makes `spec` available as a directory (cloning when it is a URL), with default options.
pub fn prepare(spec: &SourceSpec) -> Result<Checkout, InventoryError> {
    prepare_opts(spec, &GitOptions::default())
}

/// Makes `spec` available as a directory (cloning when it is a URL).
pub fn prepare_opts(spec: &SourceSpec, opts: &GitOptions) -> Result<Checkout, InventoryError> {
    let limits = opts.limits(Instant::now());
    match spec {
        SourceSpec::Local(path) => {
            if !path.is_dir() {
                return Err(InventoryError::NotADirectory(path.clone()));
            }
            // A local checkout records its commit too, when it is one; quietly none if not.
            let head = head::read_head(&opts.program, &head::git_dir_of(path), &limits);
            Ok(Checkout {
                path: path.clone(),
                source: source_of(path.display().to_string(), head, None),
                omitted: Vec::new(),
                _temp: None,
            })
        }
        SourceSpec::Git {
            url,
            branch,
            token,
            pin,
        } => clone(
            opts,
            url,
            branch.as_deref(),
            token.as_ref(),
            pin.as_ref(),
            limits,
        ),
    }
}

fn source_of(location: String, head: Head, asked: Option<&str>) -> Source {
    Source {
        location,
        commit: head.commit,
        branch: head.branch.or_else(|| asked.map(str::to_string)),
        commit_time: head.commit_time,
    }
}

/// The commit a remote's branch (or default branch) points at, without cloning: what an
/// analyzer asks first, to reuse an analysis of the same commit. `None` for a local
/// directory (its working tree may differ from any commit).
pub fn remote_head(spec: &SourceSpec, opts: &GitOptions) -> Result<Option<String>, InventoryError> {
    let SourceSpec::Git {
        url,
        branch,
        token,
        pin,
    } = spec
    else {
        return Ok(None);
    };
    let mut cmd = git::command(&opts.program, None);
    git::with_token(&mut cmd, token.as_ref());
    git::with_pin(&mut cmd, pin.as_ref());
    cmd.args(["ls-remote", "--", url]);
    cmd.arg(branch.as_deref().unwrap_or("HEAD"));
    let output = checked(
        git::run(cmd, &opts.limits(Instant::now()), "ls-remote")?,
        "ls-remote",
        token.as_ref(),
    )?;
    let text = String::from_utf8_lossy(&output.stdout);
    // With a branch name, `ls-remote` may list refs/heads/x and refs/tags/x: prefer the head.
    let mut first = None;
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(sha), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        if name.starts_with("refs/heads/") || name == "HEAD" {
            return Ok(Some(sha.to_string()));
        }
        first.get_or_insert_with(|| sha.to_string());
    }
    match first {
        Some(sha) => Ok(Some(sha)),
        None => Err(InventoryError::RefNotFound(
            branch.clone().unwrap_or_else(|| "HEAD".into()),
        )),
    }
}

/// A finished git process as a result: its stderr (scrubbed of the token) on failure.
fn checked(
    done: git::Finished,
    action: &'static str,
    token: Option<&Token>,
) -> Result<git::Finished, InventoryError> {
    if done.status.success() {
        return Ok(done);
    }
    Err(failure(
        action,
        &String::from_utf8_lossy(&done.stderr),
        token,
    ))
}

/// The error for a git process that failed with `stderr`: a refused redirect is its own
/// (permanent) error, anything else git's message scrubbed of the token.
fn failure(action: &'static str, stderr: &str, token: Option<&Token>) -> InventoryError {
    if let Some(status) = redirect_status(stderr) {
        return InventoryError::Redirected { action, status };
    }
    InventoryError::Git {
        action,
        message: scrub(stderr.trim(), token),
    }
}

/// The 3xx status git reports when it refused to follow a redirect
/// (`The requested URL returned error: 301`).
fn redirect_status(stderr: &str) -> Option<u16> {
    let tail = stderr.split("returned error: ").nth(1)?;
    let status: u16 = tail.get(..3)?.parse().ok()?;
    (300..400).contains(&status).then_some(status)
}

/// Removes every trace of `secret` from a message, and userinfo from URLs in it.
fn scrub(message: &str, secret: Option<&Token>) -> String {
    let mut out = message.to_string();
    if let Some(t) = secret {
        if !t.expose().is_empty() {
            out = out.replace(t.expose(), "***");
        }
    }
    out.split_inclusive(char::is_whitespace)
        .map(|w| match strip_userinfo(w) {
            Some(clean) => clean,
            None => w.to_string(),
        })
        .collect()
}

/// `w` without the userinfo of a URL in it, if it holds one.
fn strip_userinfo(w: &str) -> Option<String> {
    let scheme_end = w.find("://")?;
    let rest = &w[scheme_end + 3..];
    let host_end = rest.find(['/', '\'', ' ', '\n']).unwrap_or(rest.len());
    let at = rest[..host_end].rfind('@')?;
    Some(format!("{}{}", &w[..scheme_end + 3], &rest[at + 1..]))
}

fn clone(
    opts: &GitOptions,
    url: &str,
    branch: Option<&str>,
    token: Option<&Token>,
    pin: Option<&Pin>,
    limits: Limits,
) -> Result<Checkout, InventoryError> {
    let temp = crate::workdir::new_clone_dir(&opts.work_root)?;
    let limits = Limits {
        disk: opts.disk_budget.map(|b| (temp.path().to_path_buf(), b)),
        ..limits
    };
    let dest = temp.path().join("repo");
    let mut cmd = git::command(&opts.program, None);
    git::with_token(&mut cmd, token);
    git::with_pin(&mut cmd, pin);
    cmd.args([
        "clone",
        "--quiet",
        "--no-checkout",
        "--template=",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
    ]);
    cmd.arg(format!("--filter=blob:limit={}", opts.max_file_bytes));
    if let Some(b) = branch {
        cmd.arg("--branch").arg(b);
    }
    cmd.arg("--").arg(url).arg(&dest);
    let done = git::run(cmd, &limits, "clone")?;
    if !done.status.success() {
        let stderr = String::from_utf8_lossy(&done.stderr);
        if let Some(b) = branch.filter(|_| stderr.contains("not found in upstream")) {
            return Err(InventoryError::RefNotFound(b.to_string()));
        }
        return Err(failure("clone", &stderr, token));
    }
    if let Some((dir, budget)) = &limits.disk {
        if git::dir_size(dir) > *budget {
            return Err(InventoryError::CloneTooLarge { budget: *budget });
        }
    }
    let omitted = materialize(&opts.program, &dest, opts.max_file_bytes, &limits)?;
    let head = head::read_head(&opts.program, &head::git_dir_of(&dest), &limits);
    Ok(Checkout {
        path: dest,
        source: source_of(scrub(url, token), head, branch),
        omitted,
        _temp: Some(temp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_token_and_userinfo() {
        let t = Token::new("tok123");
        let msg = "fatal: could not read from 'https://u:tok123@h.invalid/x' tok123";
        let s = scrub(msg, Some(&t));
        assert!(!s.contains("tok123"), "{s}");
        assert!(!s.contains("u:"), "{s}");
        let s = scrub("fatal: 'https://ghp_x@h.invalid/r' gone", None);
        assert_eq!(s, "fatal: 'https://h.invalid/r' gone");
    }

    #[test]
    fn targets_with_userinfo_or_bad_refs_are_refused_with_a_code() {
        let code = |t: &str, b: Option<&str>| {
            SourceSpec::parse(t, b.map(str::to_string), None)
                .map(|_| ())
                .map_err(|e| e.code())
        };
        assert_eq!(
            code("https://tok@h.invalid/x", None),
            Err("CREDENTIALS_IN_URL")
        );
        assert_eq!(code("https://h.invalid/x", Some("-x")), Err("INVALID_REF"));
        assert_eq!(code("--upload-pack=x", None), Err("TARGET_OPTION"));
        assert_eq!(code("https://h.invalid/x", Some("main")), Ok(()));
        assert_eq!(code("./dir", None), Ok(()));
    }

    #[test]
    fn token_debug_is_redacted() {
        let spec = SourceSpec::parse("https://h.invalid/x", None, Some("abc".into())).unwrap();
        let dbg = format!("{spec:?}");
        assert!(!dbg.contains("abc"), "{dbg}");
    }
}
