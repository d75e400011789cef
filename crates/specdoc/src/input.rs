//! The generator's view of an inventory: a flat, indexed table of tests.
//!
//! Every later phase refers to tests by their index in this table (the order of
//! [`Inventory::walk_tests`]), which is how "every test appears exactly once" is checked: a
//! model answer is a set of indices, and indices are easy to validate. The table also carries
//! the two identities the caches need: the repository's and a hash of the inventory's content.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use specline_inventory_model::{Inventory, Status};

use crate::error::SpecError;

/// The most tests one document may hold. Well above the 100,000 the product promises; past it
/// a document would be too large to read and the request is refused with `TOO_MANY_TESTS`.
pub const MAX_TESTS: usize = 1_000_000;

pub use specline_specdoc_model::text::{clean_text, MAX_NAME_CHARS};

/// One test, flattened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestEntry {
    /// Position in [`SpecInput::tests`].
    pub index: usize,
    /// The test's name exactly as in the inventory.
    pub name: String,
    /// File path relative to the repository root.
    pub file: String,
    /// Enclosing suites, outermost first.
    pub suite_path: Vec<String>,
    /// 1-based start line.
    pub line: u32,
    pub status: Status,
    /// The file's language (`go`, `python`, …), a hint for the naming style.
    pub language: String,
    pub framework: String,
    /// A test generated at run time (`test.each`, `parametrize`, a table loop).
    #[serde(default)]
    pub dynamic: bool,
    /// The test's docstring or leading comment, as the analyzer found it: the offline
    /// generator's sentence when it reads as one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The runner's case count when the source lists the cases literally (the inventory's
    /// `cases.count`), copied onto the test's behavior. Not part of the content hash: it
    /// changes no model answer, so the caches keyed on the hash stay valid when only a
    /// count changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<u64>,
}

impl TestEntry {
    /// The name with control characters replaced and length bounded: safe to put in a prompt
    /// or a sentence.
    pub fn clean_name(&self) -> String {
        clean_text(&self.name, MAX_NAME_CHARS)
    }
}

/// Who the inventory belongs to: part of the classification cache key, so that domain names
/// learnt on one repository can never be served for another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoIdentity(pub String);

impl RepoIdentity {
    /// Normalises a location so that `https://host/Org/Repo.git` and `https://host/org/repo`
    /// are one repository: lower case, no trailing `/` or `.git`, no credentials.
    pub fn from_location(location: &str) -> Self {
        let mut s = location.trim().to_string();
        if let Some(scheme_end) = s.find("://") {
            let rest = &s[scheme_end + 3..];
            if let Some(at) = rest.find('@') {
                if rest[..at].find('/').is_none() {
                    s = format!("{}{}", &s[..scheme_end + 3], &rest[at + 1..]);
                }
            }
        }
        let mut s = s.trim_end_matches('/').to_ascii_lowercase();
        if let Some(stripped) = s.strip_suffix(".git") {
            s = stripped.to_string();
        }
        Self(s)
    }
}

/// The input of every phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecInput {
    pub repository: RepoIdentity,
    /// Identifies the analysis this document is for; documents are versioned per
    /// (analysis, language). Defaults to the content hash.
    pub analysis_id: String,
    /// SHA-256 (hex) of the inventory's tests: names, places and statuses.
    pub content_hash: String,
    /// Commit the inventory was taken at, when known (shown in the document).
    pub commit: Option<String>,
    pub tests: Vec<TestEntry>,
}

impl SpecInput {
    /// Flattens an inventory. Fails with `TOO_MANY_TESTS` past [`MAX_TESTS`] and with
    /// `INVALID_INVENTORY` for a schema version this crate does not know.
    pub fn from_inventory(inv: &Inventory, repository: Option<&str>) -> Result<Self, SpecError> {
        if inv.schema_version != specline_inventory_model::SCHEMA_VERSION {
            return Err(SpecError::InvalidInventory(format!(
                "schema_version {} is not supported (expected {})",
                inv.schema_version,
                specline_inventory_model::SCHEMA_VERSION
            )));
        }
        let walked = inv.walk_tests();
        if walked.len() > MAX_TESTS {
            return Err(SpecError::TooManyTests {
                count: walked.len(),
                limit: MAX_TESTS,
            });
        }
        let tests: Vec<TestEntry> = walked
            .iter()
            .enumerate()
            .map(|(index, t)| TestEntry {
                index,
                name: t.test.name.clone(),
                file: t.file.path.clone(),
                suite_path: t.suite_path.iter().map(|s| s.to_string()).collect(),
                line: t.test.location.start_line,
                status: t.test.status,
                language: t.file.language.clone(),
                framework: t.file.framework.clone(),
                dynamic: t.test.dynamic,
                doc: t.test.doc.clone(),
                cases: t.test.cases.as_ref().map(|c| c.count),
            })
            .collect();
        let content_hash = content_hash(&tests);
        let location = repository.unwrap_or(&inv.source.location);
        Ok(Self {
            repository: RepoIdentity::from_location(location),
            analysis_id: content_hash.clone(),
            content_hash,
            commit: inv.source.commit.clone(),
            tests,
        })
    }

    /// Parses inventory JSON and flattens it.
    pub fn from_inventory_json(json: &str, repository: Option<&str>) -> Result<Self, SpecError> {
        let inv: Inventory = serde_json::from_str(json)
            .map_err(|e| SpecError::InvalidInventory(format!("not an inventory: {e}")))?;
        Self::from_inventory(&inv, repository)
    }
}

/// Hash of everything a document's content depends on, in a length-prefixed encoding so that
/// no two different tables hash alike by concatenation accidents.
fn content_hash(tests: &[TestEntry]) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for t in tests {
        field(&t.file);
        field(&t.suite_path.join("\u{1f}"));
        field(&t.name);
        field(&t.line.to_string());
        field(status_word(t.status));
        // Only when present, so that the hash of an inventory without documentation (and the
        // caches keyed on it) is what it was; NUL never occurs in a path, so this cannot be
        // read as the next test's file.
        if let Some(doc) = &t.doc {
            field("\0doc");
            field(doc);
        }
    }
    hex::encode(h.finalize())
}

/// The lowercase word of a status, as in the inventory's JSON.
pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Active => "active",
        Status::Skipped => "skipped",
        Status::Todo => "todo",
        Status::Focused => "focused",
        Status::Xfail => "xfail",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_identity_normalises_urls_and_drops_credentials() {
        assert_eq!(
            RepoIdentity::from_location("https://user:tok@Host.example/Org/Repo.git/").0,
            "https://host.example/org/repo"
        );
        assert_eq!(
            RepoIdentity::from_location("https://host.example/org/repo").0,
            "https://host.example/org/repo"
        );
    }
}
