//! Loading YAML files into a small tree of our own.
//!
//! The checks only ever need text: an environment value, a port, a label. Converting saphyr's
//! typed nodes into [`Node`] once (every scalar back to its text, mapping keys as strings,
//! compose's `<<` merge keys applied) keeps the manifest readers free of YAML type juggling,
//! and keeps the YAML library behind one module should it ever need replacing.

use std::path::Path;

use saphyr::{LoadableYamlNode, Scalar, Yaml};

use crate::DeployCheckError;

/// A YAML value reduced to what the checks read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    /// Any scalar, as text (`9101`, `true`, `0.0.0.0:9101`).
    Scalar(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are the scalar text of the YAML key.
    Map(Vec<(String, Node)>),
}

/// Shared empty slices, so accessors can return "nothing" without allocating.
const NO_NODES: &[Node] = &[];
const NO_ENTRIES: &[(String, Node)] = &[];

impl Node {
    /// The value under `key`, if this is a mapping that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value at a path of keys.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }

    /// The scalar's text.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text at a path of keys.
    pub(crate) fn text_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Node::text)
    }

    /// The items of a sequence (empty for anything else).
    pub(crate) fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => NO_NODES,
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub(crate) fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => NO_ENTRIES,
        }
    }

    /// The whitespace-separated words of a scalar or of every scalar item of a sequence. A
    /// command may be written either way, and a shell line (`sh -c "exec specline-analyzer"`)
    /// still shows the binary's name as a word of its own.
    pub(crate) fn words(&self) -> Vec<String> {
        let texts: Vec<&str> = match self {
            Node::Scalar(s) => vec![s.as_str()],
            Node::Seq(items) => items.iter().filter_map(Node::text).collect(),
            _ => Vec::new(),
        };
        texts
            .iter()
            .flat_map(|t| t.split_whitespace())
            .map(str::to_string)
            .collect()
    }
}

/// Reads and parses every document of a YAML file.
pub(crate) fn load_file(path: &Path) -> Result<Vec<Node>, DeployCheckError> {
    let text = std::fs::read_to_string(path).map_err(|source| DeployCheckError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|e| DeployCheckError::Yaml {
        path: path.to_path_buf(),
        line: e.marker().line(),
        column: e.marker().col() + 1,
        problem: e.info().to_string(),
    })
}

/// Parses a multi-document YAML text. Empty documents are dropped.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, saphyr::ScanError> {
    let docs = Yaml::load_from_str(text)?;
    Ok(docs
        .iter()
        .map(convert)
        .filter(|n| *n != Node::Null)
        .collect())
}

fn scalar_text(scalar: &Scalar<'_>) -> Option<String> {
    match scalar {
        Scalar::Null => None,
        Scalar::Boolean(b) => Some(b.to_string()),
        Scalar::Integer(i) => Some(i.to_string()),
        Scalar::FloatingPoint(f) => Some(f.to_string()),
        Scalar::String(s) => Some(s.to_string()),
    }
}

fn convert(yaml: &Yaml<'_>) -> Node {
    match yaml {
        Yaml::Value(scalar) => scalar_text(scalar).map_or(Node::Null, Node::Scalar),
        Yaml::Representation(text, _, _) => Node::Scalar(text.to_string()),
        Yaml::Tagged(_, inner) => convert(inner),
        Yaml::Sequence(items) => Node::Seq(items.iter().map(convert).collect()),
        Yaml::Mapping(map) => {
            let entries = map.iter().map(|(k, v)| (key_text(k), convert(v))).collect();
            Node::Map(merge_keys(entries))
        }
        // Aliases are resolved by the loader; what is left cannot carry a setting.
        Yaml::Alias(_) | Yaml::BadValue => Node::Null,
    }
}

fn key_text(key: &Yaml<'_>) -> String {
    match convert(key) {
        Node::Scalar(s) => s,
        Node::Null => String::new(),
        other => format!("{other:?}"),
    }
}

/// Applies YAML 1.1 merge keys (`<<: *anchor`), which Docker Compose honours and YAML 1.2
/// parsers leave as an ordinary key: entries written in the mapping win over merged ones, and
/// of several merged mappings the first wins.
fn merge_keys(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let (merges, mut own): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(k, _)| k == "<<");
    for (_, merged) in merges {
        let sources: Vec<Node> = match merged {
            Node::Seq(items) => items,
            other => vec![other],
        };
        for source in sources {
            for (k, v) in source.entries() {
                if !own.iter().any(|(o, _)| o == k) {
                    own.push((k.clone(), v.clone()));
                }
            }
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_become_text_and_merge_keys_apply() {
        let docs =
            parse("base: &b\n  image: x\n  port: 9101\nsvc:\n  <<: *b\n  port: 9102\n  on: true\n")
                .unwrap();
        let svc = docs[0].get("svc").unwrap();
        assert_eq!(svc.text_at(&["image"]), Some("x"));
        assert_eq!(svc.text_at(&["port"]), Some("9102"));
        assert_eq!(svc.text_at(&["on"]), Some("true"));
    }

    #[test]
    fn documents_are_split_and_empty_ones_dropped() {
        let docs = parse("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        assert!(parse("a: [1, 2\nb: 3\n").is_err());
        assert!(parse("a: b: c\n").is_err());
    }
}
