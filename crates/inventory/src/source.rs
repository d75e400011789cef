//! Where a tree comes from: a local directory, or a git URL cloned shallowly into a
//! private temporary directory with the `git` CLI.
//!
//! An access token is handed to git through an environment variable read by an inline
//! credential helper, so it never appears in argv (process listings), in the URL recorded
//! in the inventory, or in error messages (git's stderr is scrubbed as well). Credentials
//! written into the URL itself are moved out of it the same way.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::error::InventoryError;
use crate::model::Source;

/// Environment variable through which the token reaches the credential helper.
const TOKEN_VAR: &str = "SPECLINE_INTERNAL_GIT_TOKEN";
const USER_VAR: &str = "SPECLINE_INTERNAL_GIT_USER";

/// A secret that prints as `***` in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }
    fn expose(&self) -> &str {
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
        /// The URL without any credentials.
        url: String,
        branch: Option<String>,
        user: Option<String>,
        token: Option<Token>,
    },
}

/// True when `target` looks like a git URL rather than a local path.
pub fn is_git_url(target: &str) -> bool {
    let schemes = [
        "http://",
        "https://",
        "ssh://",
        "git://",
        "file://",
        "git+ssh://",
    ];
    if schemes.iter().any(|s| target.starts_with(s)) {
        return true;
    }
    // scp-like `git@host:owner/repo.git`
    match (target.find('@'), target.find(':')) {
        (Some(at), Some(colon)) => at < colon && !target[..at].contains('/'),
        _ => false,
    }
}

/// Splits `scheme://user:secret@host/...` into the URL without userinfo, user and secret.
fn split_credentials(url: &str) -> (String, Option<String>, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None, None);
    };
    let rest = &url[scheme_end + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), None, None);
    };
    let userinfo = &authority[..at];
    let clean = format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]);
    match userinfo.split_once(':') {
        Some((u, p)) => (clean, Some(u.to_string()), Some(p.to_string())),
        None => (clean, Some(userinfo.to_string()), None),
    }
}

impl SourceSpec {
    /// Reads a CLI target. A token in the URL wins over `token` only when `token` is unset.
    pub fn parse(target: &str, branch: Option<String>, token: Option<String>) -> SourceSpec {
        if !is_git_url(target) {
            return SourceSpec::Local(PathBuf::from(target));
        }
        let (url, user, secret) = split_credentials(target);
        let token = token.or(secret).map(Token::new);
        SourceSpec::Git {
            url,
            branch,
            user,
            token,
        }
    }
}

/// A tree ready to scan; a clone's temporary directory lives as long as this value.
#[derive(Debug)]
pub struct Checkout {
    path: PathBuf,
    source: Source,
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
}

/// Makes `spec` available as a directory (cloning when it is a URL).
pub fn prepare(spec: &SourceSpec) -> Result<Checkout, InventoryError> {
    prepare_with(spec, Path::new("git"))
}

/// How to reach a git remote.
#[derive(Debug, Clone)]
pub struct GitOptions {
    /// The `git` program (a wrapper in tests, a pinned path in deployments).
    pub program: PathBuf,
    /// Longest a clone or `ls-remote` may take; past it the process is killed and the call
    /// fails with `GIT_TIMEOUT` (a stalled server must not hold a worker slot forever).
    pub timeout: Option<Duration>,
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            program: PathBuf::from("git"),
            timeout: None,
        }
    }
}

/// [`prepare_with`] under [`GitOptions`].
pub fn prepare_opts(spec: &SourceSpec, opts: &GitOptions) -> Result<Checkout, InventoryError> {
    match spec {
        SourceSpec::Local(_) => prepare_with(spec, &opts.program),
        SourceSpec::Git {
            url,
            branch,
            user,
            token,
        } => clone(
            &opts.program,
            url,
            branch.as_deref(),
            user.as_deref(),
            token.as_ref(),
            opts.timeout,
        ),
    }
}

/// The commit a remote's branch (or default branch) points at, without cloning: what an
/// analyzer asks first, to reuse an analysis of the same commit. `None` for a local
/// directory (its working tree may differ from any commit).
pub fn remote_head(spec: &SourceSpec, opts: &GitOptions) -> Result<Option<String>, InventoryError> {
    let SourceSpec::Git {
        url,
        branch,
        user,
        token,
    } = spec
    else {
        return Ok(None);
    };
    let mut cmd = git(&opts.program, None);
    with_credentials(&mut cmd, user.as_deref(), token.as_ref());
    cmd.args(["ls-remote", "--", url]);
    cmd.arg(branch.as_deref().unwrap_or("HEAD"));
    let output = run(cmd, opts.timeout, "ls-remote", token.as_ref())?;
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
        None => Err(InventoryError::Git {
            action: "ls-remote",
            message: format!(
                "the remote has no ref `{}`",
                branch.as_deref().unwrap_or("HEAD")
            ),
        }),
    }
}

/// Lets git read the token from the child's environment through an inline credential
/// helper: argv (visible in process listings) holds only the variable's name.
fn with_credentials(cmd: &mut Command, user: Option<&str>, token: Option<&Token>) {
    if let Some(t) = token {
        cmd.arg("-c").arg("credential.helper=").arg("-c").arg(format!(
            "credential.helper=!f() {{ echo \"username=${{{USER_VAR}}}\"; echo \"password=${{{TOKEN_VAR}}}\"; }}; f"
        ));
        cmd.env(TOKEN_VAR, t.expose())
            .env(USER_VAR, user.unwrap_or("x-access-token"));
    }
}

/// Runs a git command to completion (or kills it at the timeout), with its error scrubbed
/// of the token.
fn run(
    mut cmd: Command,
    timeout: Option<Duration>,
    action: &'static str,
    token: Option<&Token>,
) -> Result<Output, InventoryError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| InventoryError::io("running git (is it installed?)", e))?;
    // Drain both pipes on their own threads so a chatty git never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = timeout.map(|t| Instant::now() + t);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(InventoryError::io("waiting for git", e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(InventoryError::Git {
                action,
                message: format!(
                    "GIT_TIMEOUT: git {action} took longer than {}s and was stopped",
                    timeout.map_or(0, |t| t.as_secs())
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(InventoryError::Git {
            action,
            message: scrub(stderr.trim(), token),
        });
    }
    Ok(output)
}

/// [`prepare`] with an explicit `git` program (a wrapper in tests, a pinned path in
/// deployments).
pub fn prepare_with(spec: &SourceSpec, git_program: &Path) -> Result<Checkout, InventoryError> {
    match spec {
        SourceSpec::Local(path) => {
            if !path.is_dir() {
                return Err(InventoryError::NotADirectory(path.clone()));
            }
            let mut source = Source {
                location: path.display().to_string(),
                ..Source::default()
            };
            // A local checkout records its commit too, when it is one; quietly none if not.
            if let Ok(info) = git_info(git_program, path) {
                source.commit = info.commit;
                source.branch = info.branch;
                source.commit_time = info.commit_time;
            }
            Ok(Checkout {
                path: path.clone(),
                source,
                _temp: None,
            })
        }
        SourceSpec::Git {
            url,
            branch,
            user,
            token,
        } => clone(
            git_program,
            url,
            branch.as_deref(),
            user.as_deref(),
            token.as_ref(),
            None,
        ),
    }
}

/// Removes every trace of `secret` from a message, and credentials from URLs in it.
fn scrub(message: &str, secret: Option<&Token>) -> String {
    let mut out = message.to_string();
    if let Some(t) = secret {
        if !t.expose().is_empty() {
            out = out.replace(t.expose(), "***");
        }
    }
    out.split_inclusive(char::is_whitespace)
        .map(|w| {
            let trimmed = w.trim_end();
            let (clean, user, pass) = split_credentials(trimmed.trim_matches('\''));
            if user.is_some() || pass.is_some() {
                format!("{clean}{}", &w[trimmed.len()..])
            } else {
                w.to_string()
            }
        })
        .collect()
}

fn git(program: &Path, dir: Option<&Path>) -> Command {
    let mut cmd = Command::new(program);
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        .env_remove(TOKEN_VAR)
        .env_remove(USER_VAR);
    cmd
}

fn clone(
    program: &Path,
    url: &str,
    branch: Option<&str>,
    user: Option<&str>,
    token: Option<&Token>,
    timeout: Option<Duration>,
) -> Result<Checkout, InventoryError> {
    let temp = tempfile::Builder::new()
        .prefix("specline-clone-")
        .tempdir()
        .map_err(|e| InventoryError::io("creating a temporary directory", e))?;
    let dest = temp.path().join("repo");
    let mut cmd = git(program, None);
    with_credentials(&mut cmd, user, token);
    cmd.args([
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
    ]);
    if let Some(b) = branch {
        cmd.arg("--branch").arg(b);
    }
    cmd.arg("--").arg(url).arg(&dest);
    run(cmd, timeout, "clone", token)?;
    let info = git_info(program, &dest).map_err(|m| InventoryError::Git {
        action: "rev-parse",
        message: scrub(&m, token),
    })?;
    Ok(Checkout {
        path: dest,
        source: Source {
            location: scrub(url, token),
            commit: info.commit,
            branch: info.branch.or_else(|| branch.map(str::to_string)),
            commit_time: info.commit_time,
        },
        _temp: Some(temp),
    })
}

struct GitInfo {
    commit: Option<String>,
    branch: Option<String>,
    commit_time: Option<chrono::DateTime<chrono::Utc>>,
}

fn git_info(program: &Path, dir: &Path) -> Result<GitInfo, String> {
    let out = git(program, Some(dir))
        .args(["log", "-1", "--format=%H%n%cI"])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let commit = lines.next().map(str::to_string).filter(|s| !s.is_empty());
    let commit_time = lines
        .next()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let branch = git(program, Some(dir))
        .args(["rev-parse", "--abbrev-ref", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|b| !b.is_empty() && b != "HEAD");
    Ok(GitInfo {
        commit,
        branch,
        commit_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_out_of_urls() {
        let (url, user, pass) = split_credentials("https://bob:s3cret@example.invalid/a/b.git");
        assert_eq!(url, "https://example.invalid/a/b.git");
        assert_eq!(user.as_deref(), Some("bob"));
        assert_eq!(pass.as_deref(), Some("s3cret"));
    }

    #[test]
    fn scrub_removes_token_and_userinfo() {
        let t = Token::new("tok123");
        let msg = "fatal: could not read from 'https://u:tok123@h.invalid/x' tok123";
        let s = scrub(msg, Some(&t));
        assert!(!s.contains("tok123"), "{s}");
        assert!(!s.contains("u:"), "{s}");
    }

    #[test]
    fn targets_are_classified() {
        assert!(is_git_url("https://h.invalid/x.git"));
        assert!(is_git_url("git@h.invalid:o/r.git"));
        assert!(is_git_url("file:///tmp/x"));
        assert!(!is_git_url("./some/dir"));
        assert!(!is_git_url("/abs/dir"));
    }

    #[test]
    fn token_debug_is_redacted() {
        let spec = SourceSpec::parse("https://u:abc@h.invalid/x", None, None);
        let dbg = format!("{spec:?}");
        assert!(!dbg.contains("abc"), "{dbg}");
    }
}
