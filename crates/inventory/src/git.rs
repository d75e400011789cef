//! Every `git` process this crate starts: one hardened command line, run under a deadline
//! and a disk budget.
//!
//! A repository is hostile, and so is the configuration around it. `git` runs programs
//! named by configuration (`gpg.program`, `core.fsmonitor`, hooks, `diff.external`,
//! `filter.*`, `core.sshCommand`, `uploadpack.packObjectsHook`, credential helpers,
//! remote helpers allowed by `protocol.*.allow`) and reads that configuration from the
//! repository it runs in, from the user's and the system's files and from `GIT_*`
//! variables. So, structurally:
//!
//! - `git` never runs inside a directory we did not create: a local directory's commit is
//!   read from its files ([`crate::head`]) and its objects are read through a scratch
//!   repository of ours; a clone is made with `--no-checkout` into a fresh directory and its
//!   files are written by this crate ([`crate::materialize`]), so no filter, smudge, hook or
//!   attribute of the repository ever runs;
//! - no configuration but ours: `GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`, every
//!   inherited `GIT_*` variable removed;
//! - and, in case a future `git` reads something new, `-c` overrides that neutralise the
//!   known program-running keys and allow only the transports we accept.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::InventoryError;
use crate::pin::Pin;
use crate::source::Token;

/// Environment variables through which a token reaches the credential helper.
pub(crate) const TOKEN_VAR: &str = "SPECLINE_INTERNAL_GIT_TOKEN";

/// Configuration given on every command line: it wins over any file.
const OVERRIDES: &[&str] = &[
    "core.fsmonitor=false",
    "core.hooksPath=/dev/null",
    "core.attributesFile=/dev/null",
    "core.sshCommand=ssh",
    "core.askPass=",
    "core.symlinks=false",
    "core.protectNTFS=true",
    "core.protectHFS=true",
    "ssh.variant=ssh",
    "credential.helper=",
    // A redirect would take git to a server the repository policy never checked.
    "http.followRedirects=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "fetch.recurseSubmodules=false",
    "submodule.recurse=false",
    "log.showSignature=false",
    "protocol.allow=never",
    "protocol.https.allow=always",
    "protocol.http.allow=always",
    "protocol.ssh.allow=always",
    "protocol.git.allow=always",
    "protocol.file.allow=always",
    "safe.directory=",
];

/// A `git` command with the hardened environment and overrides; `dir` is a directory this
/// crate created (never a repository it was given).
pub(crate) fn command(program: &Path, dir: Option<&Path>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("GIT_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("SSH_ASKPASS")
        .env_remove("SSH_ASKPASS_REQUIRE")
        .env_remove(TOKEN_VAR)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_ATTR_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_NO_REPLACE_OBJECTS", "1")
        .env("GIT_NO_LAZY_FETCH", "1")
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .env("GIT_PROTOCOL_FROM_USER", "0");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    for o in OVERRIDES {
        cmd.arg("-c").arg(o);
    }
    cmd
}

/// Hands a token to git through an inline credential helper reading it from the child's
/// environment: argv (visible in process listings) holds only the variable's name.
pub(crate) fn with_token(cmd: &mut Command, token: Option<&Token>) {
    if let Some(t) = token {
        cmd.arg("-c").arg(format!(
            "credential.helper=!f() {{ echo username=x-access-token; echo \"password=${{{TOKEN_VAR}}}\"; }}; f"
        ));
        cmd.env(TOKEN_VAR, t.expose());
    }
}

/// Makes git's HTTP transport connect to the checked addresses of the URL's host
/// ([`crate::pin`]) instead of resolving the name again.
pub(crate) fn with_pin(cmd: &mut Command, pin: Option<&Pin>) {
    if let Some(p) = pin {
        cmd.arg("-c").arg(p.git_override());
    }
}

/// What bounds one git process.
#[derive(Debug, Clone, Default)]
pub(crate) struct Limits {
    /// Kill the process at this instant (`GIT_TIMEOUT`).
    pub deadline: Option<Instant>,
    /// Kill the process when this directory grows past this many bytes (`CLONE_TOO_LARGE`).
    pub disk: Option<(PathBuf, u64)>,
    /// Keep at most this many bytes of standard output.
    pub max_stdout: Option<u64>,
}

/// How often the disk budget is measured while git runs.
const DISK_EVERY: Duration = Duration::from_millis(200);

/// A finished git process.
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `cmd` to completion under `limits`, with standard input from `stdin` bytes.
pub(crate) fn run(
    mut cmd: Command,
    limits: &Limits,
    action: &'static str,
) -> Result<Finished, InventoryError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| InventoryError::io("running git (is it installed?)", e))?;
    let out = drain(child.stdout.take(), limits.max_stdout);
    let err = drain(child.stderr.take(), Some(64 * 1024));
    let status = supervise(&mut child, limits, action, &AtomicBool::new(false))?;
    Ok(Finished {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Reads a pipe to its end on its own thread, so a chatty git never blocks on a full pipe,
/// keeping at most `cap` bytes (the rest is read and dropped: git still runs to its end).
pub(crate) fn drain<R: Read + Send + 'static>(
    pipe: Option<R>,
    cap: Option<u64>,
) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p
                .by_ref()
                .take(cap.unwrap_or(u64::MAX))
                .read_to_end(&mut buf);
            let _ = std::io::copy(&mut p, &mut std::io::sink());
        }
        buf
    })
}

/// Waits for `child`, killing it past the deadline, past the disk budget, or when `stop` is
/// set by a thread that consumes its output.
pub(crate) fn supervise(
    child: &mut Child,
    limits: &Limits,
    action: &'static str,
    stop: &AtomicBool,
) -> Result<ExitStatus, InventoryError> {
    let mut next_disk_check = Instant::now() + DISK_EVERY;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => return Err(InventoryError::io("waiting for git", e)),
        }
        let now = Instant::now();
        let failure = if limits.deadline.is_some_and(|d| now >= d) {
            Some(InventoryError::GitTimeout { action })
        } else if stop.load(Ordering::SeqCst) {
            Some(InventoryError::Git {
                action,
                message: "stopped by its reader".into(),
            })
        } else if let Some((dir, budget)) = limits.disk.as_ref().filter(|_| now >= next_disk_check)
        {
            next_disk_check = now + DISK_EVERY;
            (dir_size(dir) > *budget).then_some(InventoryError::CloneTooLarge { budget: *budget })
        } else {
            None
        };
        if let Some(e) = failure {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Bytes of the regular files under `dir` (symlinks not followed).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total = total.saturating_add(meta.len());
            }
        }
    }
    total
}

/// A flag shared between a consumer thread and [`supervise`].
pub(crate) fn stop_flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}
