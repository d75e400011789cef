//! A real git repository made by the test: `git init` and one commit in a temporary
//! directory. The test server's analysis step is a stand-in that does not clone, but what is
//! submitted is a real repository's location.

use std::path::PathBuf;

use specline_testkit::git;

pub struct GitRepo {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl GitRepo {
    /// A repository named `name` with one test file in one commit on `main`.
    pub fn new(name: &str) -> GitRepo {
        let dir = tempfile::Builder::new()
            .prefix("specline-ui-")
            .tempdir()
            .expect("temp dir");
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.join("src")).expect("work tree");
        std::fs::write(
            path.join("src/cart.test.ts"),
            "describe('Cart', () => { it('adds an item', () => {}); });\n",
        )
        .expect("test file");
        git(&path, &["init", "-q", "-b", "main"]);
        git(&path, &["add", "."]);
        git(&path, &["commit", "-q", "-m", "first"]);
        GitRepo { _dir: dir, path }
    }

    /// The repository's `file://` URL.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }
}
