//! A test's own documentation: its docstring or the comment written right above it.
//!
//! Authors often say in prose what a test proves (`/// An expired token is refused`,
//! `"""When the cart is empty, checkout is refused."""`), and that sentence is a better
//! behavior description than one rebuilt from an identifier. This pass runs once per file,
//! after the tests are known, and finds each test's node again from its location, so the
//! query files and extractors need not know about comments at all.
//!
//! What counts, in every language, is:
//! - a Python docstring (the first statement of the function, a string literal), else
//! - the comments directly above the test (or above its attributes, decorators and
//!   annotations), contiguous, ending on the line before it: `//`, `///`, `#`, `/* */`,
//!   `/** */` (Javadoc, JSDoc, PHPDoc, KDoc), C#'s `///` XML. A comment after code on the
//!   same line belongs to that code, and a blank line ends the block.
//!
//! The text is stripped of comment markers, of tool directives (`eslint-disable`, `noqa`,
//! `//go:build`, …), of `TODO`-style notes and of doc tags (`@param`, `@test`), and bounded
//! ([`MAX_DOC_CHARS`], [`MAX_DOC_LINES`]). A comment holding control characters (Trojan
//! Source bidi overrides included) or bytes that are not UTF-8 is dropped whole: it is not
//! prose, and it must not reach a document.

use tree_sitter::{Node, Point, Tree};

use crate::model::{Location, Suite, Test};

/// Longest documentation kept, in characters; longer text is cut at a line end (or a
/// character) and marked with `…`.
pub const MAX_DOC_CHARS: usize = 1000;
/// Most lines kept.
pub const MAX_DOC_LINES: usize = 20;
/// Most comment nodes read above one test (a long banner is not a test's documentation).
const MAX_COMMENTS: usize = 40;

/// Sets [`Test::doc`] on every test of a file's tree.
pub fn attach(tree: &Tree, src: &[u8], language: &str, suites: &mut [Suite], tests: &mut [Test]) {
    let root = tree.root_node();
    for t in tests.iter_mut() {
        t.doc = doc_of(root, src, language, &t.location);
    }
    for s in suites.iter_mut() {
        attach(tree, src, language, &mut s.suites, &mut s.tests);
    }
}

/// The documentation of the item at `loc`, if any.
fn doc_of(root: Node<'_>, src: &[u8], language: &str, loc: &Location) -> Option<String> {
    let point = |line: u32, column: u32| Point {
        row: (line as usize).saturating_sub(1),
        column: (column as usize).saturating_sub(1),
    };
    let start = point(loc.start_line, loc.start_column);
    let end = point(loc.end_line, loc.end_column);
    let mut node = root.descendant_for_point_range(start, end)?;
    // The item's own node: the outermost one with exactly its span.
    while let Some(p) = node.parent() {
        if p.start_position() == node.start_position() && p.end_position() == node.end_position() {
            node = p;
        } else {
            break;
        }
    }
    if node.start_position() != start {
        return None;
    }
    if language == "python" {
        if let Some(doc) = python_docstring(node, src) {
            return clean(&doc, language);
        }
    }
    // The statement the item is written as: comments are its siblings.
    while let Some(p) = node.parent() {
        let wraps = matches!(
            p.kind(),
            "decorated_definition" | "expression_statement" | "export_statement"
        ) && p.parent().is_some();
        if !wraps {
            break;
        }
        node = p;
    }
    let comments = leading_comments(node)?;
    let mut lines = Vec::new();
    for c in comments.iter().rev() {
        let raw = std::str::from_utf8(src.get(c.byte_range())?).ok()?;
        if has_control(raw) {
            return None;
        }
        lines.extend(strip_markers(raw)?);
    }
    clean(&lines.join("\n"), language)
}

/// The comment nodes right above `node` (innermost first), skipping its attributes.
fn leading_comments(node: Node<'_>) -> Option<Vec<Node<'_>>> {
    let mut out = Vec::new();
    // The first line the block must reach: the line above this one.
    let mut top = node.start_position().row;
    let mut sib = node.prev_sibling();
    while let Some(s) = sib {
        let kind = s.kind();
        let bottom = last_row(s);
        if out.is_empty() && is_attribute(kind) && bottom + 1 >= top {
            top = s.start_position().row;
            sib = s.prev_sibling();
            continue;
        }
        if !kind.contains("comment") || bottom + 1 < top || out.len() >= MAX_COMMENTS {
            break;
        }
        // After code on its own line: that code's comment.
        let after_code = s.prev_sibling().is_some_and(|p| {
            !p.kind().contains("comment") && last_row(p) == s.start_position().row
        });
        if after_code {
            break;
        }
        top = s.start_position().row;
        out.push(s);
        sib = s.prev_sibling();
    }
    (!out.is_empty()).then_some(out)
}

/// The last line a node has text on (a line comment's node may end at column 0 of the next
/// line, having taken the newline).
fn last_row(n: Node<'_>) -> usize {
    let end = n.end_position();
    if end.column == 0 && end.row > n.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// Attributes, decorators and annotations written as siblings before the item.
fn is_attribute(kind: &str) -> bool {
    matches!(
        kind,
        "attribute_item"
            | "attribute"
            | "attribute_list"
            | "decorator"
            | "annotation"
            | "marker_annotation"
    )
}

/// The docstring of a Python function or class: its body's first statement, when that is a
/// plain string literal.
fn python_docstring(node: Node<'_>, src: &[u8]) -> Option<String> {
    let def = if node.kind() == "decorated_definition" {
        node.child_by_field_name("definition")?
    } else {
        node
    };
    if !matches!(def.kind(), "function_definition" | "class_definition") {
        return None;
    }
    let first = def.child_by_field_name("body")?.named_child(0)?;
    if first.kind() != "expression_statement" || first.named_child_count() != 1 {
        return None;
    }
    let s = first.named_child(0)?;
    if s.kind() != "string" {
        return None;
    }
    let raw = std::str::from_utf8(src.get(s.byte_range())?).ok()?;
    if has_control(raw) {
        return None;
    }
    // `r"""…"""`, `u'…'`: the prefix letters, then the quotes.
    let body = raw.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let inner = ["\"\"\"", "'''", "\"", "'"]
        .iter()
        .find_map(|q| body.strip_prefix(q).and_then(|b| b.strip_suffix(q)))?;
    Some(dedent(inner))
}

/// Python's `inspect.cleandoc`: the first line trimmed, the others dedented by their common
/// indentation.
fn dedent(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim().to_string();
    let rest: Vec<&str> = lines.collect();
    let indent = rest
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    std::iter::once(first)
        .chain(
            rest.iter()
                .map(|l| l.get(indent..).unwrap_or("").trim_end().to_string()),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// True for characters a comment of prose never holds: C0 and C1 controls but tab and line
/// ends, DEL, and the bidirectional overrides and isolates of Trojan Source.
fn has_control(s: &str) -> bool {
    s.chars().any(|c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// The lines of one comment without its markers; `None` for an inner doc comment (`//!`,
/// `/*!`), which documents the enclosing module, not the item after it.
fn strip_markers(raw: &str) -> Option<Vec<String>> {
    let t = raw.trim();
    if t.starts_with("//!") || t.starts_with("/*!") {
        return None;
    }
    if let Some(block) = t.strip_prefix("/*") {
        let block = block.strip_suffix("*/").unwrap_or(block);
        let block = block.strip_prefix('*').unwrap_or(block);
        return Some(
            block
                .lines()
                .map(|l| {
                    let l = l.trim();
                    let l = l.strip_prefix('*').unwrap_or(l);
                    l.strip_prefix(' ').unwrap_or(l).trim_end().to_string()
                })
                .collect(),
        );
    }
    Some(
        t.lines()
            .map(|l| {
                let l = l.trim_start();
                let l = ["///", "//", "#"]
                    .iter()
                    .find_map(|m| l.strip_prefix(m))
                    .unwrap_or(l);
                l.strip_prefix(' ').unwrap_or(l).trim_end().to_string()
            })
            .collect(),
    )
}

/// Words that open a line meant for a tool or a reminder, not a reader of the spec.
const DIRECTIVES: &[&str] = &[
    "eslint",
    "prettier-ignore",
    "@ts-",
    "tslint:",
    "jshint",
    "istanbul ignore",
    "c8 ignore",
    "noqa",
    "type:",
    "pylint:",
    "pyright:",
    "mypy:",
    "fmt:",
    "nolint",
    "go:",
    "+build",
    "rubocop:",
    "nosonar",
    "noinspection",
    "language=",
    "@formatter:",
    "clang-format",
    "#region",
    "#endregion",
    "swiftlint:",
    "phpcs:",
    "frozen_string_literal:",
];

/// Reminders, recognised in capitals only ("Hack attempts are refused" is prose).
const NOTES: &[&str] = &["TODO", "FIXME", "XXX", "HACK"];

fn is_directive(line: &str) -> bool {
    let line = line.trim_start();
    let note = NOTES.iter().any(|n| {
        line.strip_prefix(n)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric()))
    });
    let l = line.to_ascii_lowercase();
    note || DIRECTIVES.iter().any(|d| {
        l.starts_with(d)
            && l[d.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() || d.ends_with([':', '-', '=']))
    })
}

/// The documentation as stored: tags, directives and banners dropped, blank lines
/// collapsed, bounded. `None` when nothing readable is left.
fn clean(text: &str, language: &str) -> Option<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        let trimmed = line.trim_start();
        // The tag section of Javadoc, JSDoc, PHPDoc and KDoc: description ends there.
        if trimmed.starts_with('@') && trimmed[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            break;
        }
        if is_directive(trimmed) {
            continue;
        }
        let line = inline_tags(line);
        let line = if language == "csharp" {
            strip_xml_tags(&line)
        } else {
            line
        };
        // A banner (`-----`, `****`) says nothing.
        if !line.trim().is_empty() && !line.chars().any(char::is_alphanumeric) {
            continue;
        }
        if line.trim().is_empty() {
            if lines.last().is_some_and(|l| !l.is_empty()) {
                lines.push(String::new());
            }
            continue;
        }
        lines.push(line.trim_end().to_string());
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    if lines.is_empty() {
        return None;
    }
    Some(bound(lines))
}

/// At most [`MAX_DOC_LINES`] lines and [`MAX_DOC_CHARS`] characters, cut at a line end when
/// one is near enough, else at a character.
fn bound(lines: Vec<String>) -> String {
    let cut_lines = lines.len() > MAX_DOC_LINES;
    let mut out = lines
        .into_iter()
        .take(MAX_DOC_LINES)
        .collect::<Vec<_>>()
        .join("\n");
    let mut cut = cut_lines;
    if out.chars().count() > MAX_DOC_CHARS {
        let end = out
            .char_indices()
            .nth(MAX_DOC_CHARS)
            .map_or(out.len(), |(i, _)| i);
        let at_line = out[..end].rfind('\n').filter(|&i| i > end / 2);
        out.truncate(at_line.unwrap_or(end));
        cut = true;
    }
    if cut {
        out = out.trim_end().to_string();
        out.push('…');
    }
    out
}

/// `{@link Cart#checkout}`, `{@code null}` → `Cart#checkout`, `null`.
fn inline_tags(line: &str) -> String {
    replace_spans(line, "{@", '}', |inner| {
        Some(
            inner
                .split_once(' ')
                .map_or("", |(_, t)| t.trim())
                .to_string(),
        )
    })
}

/// C#'s XML documentation without its tags: `<summary>` and friends go, the text stays.
fn strip_xml_tags(line: &str) -> String {
    replace_spans(line, "<", '>', |inner| {
        if !inner.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/') {
            return None;
        }
        // `<see cref="Cart"/>`: the name it points at stays readable.
        let named = inner.contains("cref=") || inner.contains("name=");
        Some(
            inner
                .split('"')
                .nth(1)
                .filter(|_| named)
                .unwrap_or("")
                .to_string(),
        )
    })
    .trim()
    .to_string()
}

/// Replaces each `open … close` span of `line` by what `with` makes of its inside; a span
/// `with` refuses (`None`) or that is never closed stays as written.
fn replace_spans(
    line: &str,
    open: &str,
    close: char,
    with: impl Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        let after = &rest[i + open.len()..];
        match after
            .find(close)
            .and_then(|j| with(&after[..j]).map(|r| (j, r)))
        {
            Some((j, replacement)) => {
                out.push_str(&replacement);
                rest = &after[j + close.len_utf8()..];
            }
            None => {
                out.push_str(open);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_stripped_from_line_and_block_comments() {
        assert_eq!(
            strip_markers("/// Refuses an expired token.").unwrap(),
            vec!["Refuses an expired token."]
        );
        assert_eq!(
            strip_markers("/**\n * Checkout is refused.\n *\n * @see Cart\n */").unwrap(),
            vec!["", "Checkout is refused.", "", "@see Cart", ""]
        );
        assert_eq!(strip_markers("# a note").unwrap(), vec!["a note"]);
        assert!(strip_markers("//! module docs").is_none());
    }

    #[test]
    fn tags_directives_and_banners_are_dropped() {
        let doc = clean(
            "eslint-disable-next-line no-undef\n----------\nWhen the cart is empty,\ncheckout is refused.\n\n\n\nSee {@link Cart#checkout}.\n@test\nnot kept",
            "java",
        );
        assert_eq!(
            doc.as_deref(),
            Some("When the cart is empty,\ncheckout is refused.\n\nSee Cart#checkout.")
        );
        assert_eq!(clean("TODO: write this\nnoqa: E501", "python"), None);
        // A word that merely starts like a directive stays.
        assert_eq!(
            clean("Types: the token", "go").as_deref(),
            Some("Types: the token")
        );
        assert_eq!(
            clean("Hacker logins are refused", "go").as_deref(),
            Some("Hacker logins are refused")
        );
    }

    #[test]
    fn csharp_xml_documentation_keeps_only_its_text() {
        assert_eq!(
            clean(
                "<summary>\nRejects a <see cref=\"Order\"/> without lines.\n</summary>",
                "csharp"
            )
            .as_deref(),
            Some("Rejects a Order without lines.")
        );
        // Elsewhere `<` is text.
        assert_eq!(clean("a < b holds", "go").as_deref(), Some("a < b holds"));
    }

    #[test]
    fn documentation_is_bounded_in_lines_and_characters() {
        let many: Vec<String> = (0..30).map(|i| format!("line {i}")).collect();
        let doc = clean(&many.join("\n"), "go").unwrap();
        assert_eq!(doc.lines().count(), MAX_DOC_LINES);
        assert!(doc.ends_with("line 19…"), "{doc}");

        let long = "é".repeat(MAX_DOC_CHARS * 3);
        let doc = clean(&long, "go").unwrap();
        assert_eq!(doc.chars().count(), MAX_DOC_CHARS + 1);
        assert!(doc.ends_with('…'));
    }

    #[test]
    fn control_and_bidi_characters_reject_the_comment() {
        assert!(has_control("a\u{0}b"));
        assert!(has_control("admin\u{202E}txt"));
        assert!(has_control("x\u{1b}[31m"));
        assert!(!has_control("tabs\tand\nlines\r\n"));
    }

    #[test]
    fn docstrings_are_dedented_like_cleandoc() {
        assert_eq!(
            dedent("First line.\n\n        More detail\n          indented.\n    "),
            "First line.\n\nMore detail\n  indented.\n"
        );
    }
}
