//! Real git repositories for the tests: plain ones served over `file://`, and hostile ones
//! whose configuration names a program (a script that leaves a marker file when it runs)
//! in the repository itself, in the repository a clone reads from, and in the user's
//! global configuration, with a signed commit and attributes that ask for filters.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub use specline_testkit::git;

/// Runs git with `input` on stdin.
pub fn git_stdin(dir: &Path, args: &[&str], input: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository holding `files` in one commit on `main`, made from a work tree in
/// `tmp/work`; `allow_filter` turns on the server's blob filter. Returns its `file://` URL
/// and the commit.
pub fn served(tmp: &Path, files: &[(&str, Vec<u8>)], allow_filter: bool) -> (String, String) {
    let work = tmp.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    for (name, content) in files {
        let path = work.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "files"]);
    let sha = git(&work, &["rev-parse", "HEAD"]);
    let bare = tmp.join("origin.git");
    git(
        tmp,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    if allow_filter {
        git(&bare, &["config", "uploadpack.allowFilter", "true"]);
    }
    (format!("file://{}", bare.display()), sha)
}

#[cfg(unix)]
pub fn executable(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Hook names git may run.
pub const HOOKS: &[&str] = &[
    "post-checkout",
    "post-merge",
    "post-rewrite",
    "post-commit",
    "pre-commit",
    "reference-transaction",
    "post-index-change",
    "pre-auto-gc",
    "fsmonitor-watchman",
    "pre-receive",
    "update",
    "post-receive",
    "post-update",
    "push-to-checkout",
    "proc-receive",
];

/// A repository set up for one vector.
pub struct Hostile {
    pub tmp: tempfile::TempDir,
    /// Where the script leaves its markers.
    pub markers: PathBuf,
    /// The script that leaves a marker.
    pub script: PathBuf,
    /// A work tree whose `.git/config` is hostile.
    pub work: PathBuf,
    /// A `file://` URL of a bare repository whose config is hostile.
    pub url: String,
    /// A `git` wrapper whose user configuration (`HOME`, `XDG_CONFIG_HOME`) is hostile too.
    pub program: PathBuf,
    pub commit: String,
}

impl Hostile {
    /// Markers left so far (names of the programs that ran).
    pub fn ran(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.markers)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// Makes a repository with `config` (`key`, `value`; `{S}` stands for the marker script,
/// `{H}` for a directory of hooks that are the script) in its own config, in the config of
/// the bare repository it is served from, and in the global configuration the wrapper
/// program sees. The commit carries a `gpgsig` header, `.gitattributes` asks every file
/// for the `evil` and `lfs` filters.
#[cfg(unix)]
pub fn hostile(config: &[(&str, &str)]) -> Hostile {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let markers = root.join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let script = root.join("evil.sh");
    executable(
        &script,
        &format!(
            "#!/bin/sh\ntouch \"{}/$(basename \"$0\")-$$\"\ncat >/dev/null 2>&1 </dev/null\nexit 0\n",
            markers.display()
        ),
    );
    let hooks = root.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    for h in HOOKS {
        executable(
            &hooks.join(h),
            &format!("#!/bin/sh\ntouch \"{}/hook-{h}-$$\"\n", markers.display()),
        );
    }
    let fill = |v: &str| {
        v.replace("{S}", &script.display().to_string())
            .replace("{H}", &hooks.display().to_string())
    };

    // The work tree and its signed commit.
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(
        work.join("calc_test.go"),
        "package calc\nimport \"testing\"\nfunc TestAdd(t *testing.T) {}\n",
    )
    .unwrap();
    std::fs::write(
        work.join(".gitattributes"),
        "* filter=evil diff=evil merge=evil\n*.go filter=lfs diff=lfs merge=lfs\n",
    )
    .unwrap();
    git(&work, &["add", "."]);
    let tree = git(&work, &["write-tree"]);
    let signed = format!(
        "tree {tree}\nauthor t <t@example.invalid> 1714979289 +0000\ncommitter t <t@example.invalid> 1714979289 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEEAAAAAAAAAAAAAAAAAAAAAAAAAAAFAmY4gmkACgkQAAAAAAAA\n =AAAA\n -----END PGP SIGNATURE-----\n\nsigned\n"
    );
    let commit = git_stdin(
        &work,
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        signed.as_bytes(),
    );
    git(&work, &["update-ref", "refs/heads/main", &commit]);
    git(&work, &["reset", "-q", "--hard", "main"]);

    // The bare repository a clone reads from.
    let bare = root.join("origin.git");
    git(
        &root,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );

    // Hostile configuration everywhere git might read it.
    let home = root.join("home");
    std::fs::create_dir_all(home.join(".config/git")).unwrap();
    let global = home.join(".gitconfig");
    std::fs::write(&global, "").unwrap();
    for (k, v) in config {
        let v = fill(v);
        git(&work, &["config", "--add", k, &v]);
        git(&bare, &["config", "--add", k, &v]);
        git(
            &root,
            &["config", "--file", global.to_str().unwrap(), "--add", k, &v],
        );
    }
    std::fs::write(
        home.join(".config/git/attributes"),
        "* filter=evil diff=evil\n",
    )
    .unwrap();
    let program = root.join("git-as-user");
    executable(
        &program,
        &format!(
            "#!/bin/sh\nexport HOME=\"{h}\" XDG_CONFIG_HOME=\"{h}/.config\"\nexec git \"$@\"\n",
            h = home.display()
        ),
    );
    Hostile {
        url: format!("file://{}", bare.display()),
        tmp,
        markers,
        script,
        work,
        program,
        commit,
    }
}
