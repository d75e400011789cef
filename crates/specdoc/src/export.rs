//! Markdown and JSON renderings of a [`SpecDocument`].
//!
//! Markdown is for people: test names, which can hold anything (control characters, backticks,
//! 10,000 characters), are shown cleaned and cut to [`MAX_NAME_CHARS`] inside code spans that
//! cannot be broken out of; sentences are escaped. JSON is the complete record, names intact
//! (schema: `docs/specdoc-schema.md`).

use crate::document::{Behavior, SpecDocument};
use crate::input::{clean_text, status_word, MAX_NAME_CHARS};

/// Output format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[value(name = "md")]
    Markdown,
    Json,
}

/// Renders in the given format.
pub fn render(doc: &SpecDocument, format: Format) -> String {
    match format {
        Format::Markdown => to_markdown(doc),
        Format::Json => to_json(doc),
    }
}

/// Pretty JSON with a trailing newline.
pub fn to_json(doc: &SpecDocument) -> String {
    // Serialising plain data with string keys cannot fail.
    let mut s =
        serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// Escapes Markdown's inline syntax characters.
pub fn escape_md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean_text(s, usize::MAX).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span that holds `s` verbatim (cleaned and cut): its fence is longer than any run of
/// backticks inside.
pub fn code(s: &str) -> String {
    let s = clean_text(s, MAX_NAME_CHARS);
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || s.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn status_label(b: &Behavior) -> Option<&'static str> {
    match status_word(b.status) {
        "active" => None,
        "skipped" => Some("skipped"),
        "todo" => Some("to do"),
        "focused" => Some("focused"),
        _ => Some("expected to fail"),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The document as Markdown.
pub fn to_markdown(doc: &SpecDocument) -> String {
    let mut md = String::new();
    let short = doc
        .repository
        .trim_end_matches('/')
        .rsplit(['/', '\\', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("repository");
    md.push_str(&format!("# Specification: {}\n\n", escape_md(short)));
    md.push_str("| | |\n|---|---|\n");
    md.push_str(&format!("| Repository | {} |\n", code(&doc.repository)));
    if let Some(c) = &doc.commit {
        md.push_str(&format!("| Commit | {} |\n", code(c)));
    }
    md.push_str(&format!("| Version | {} |\n", doc.version));
    let lang = if doc.language == doc.content_language {
        doc.language.to_string()
    } else {
        format!(
            "{} requested; sentences in {}",
            doc.language, doc.content_language
        )
    };
    md.push_str(&format!("| Language | {lang} |\n"));
    md.push_str(&format!(
        "| Generated | {} by {} ({}) |\n",
        doc.generated_at.format("%Y-%m-%d %H:%M UTC"),
        escape_md(&doc.generator.kind),
        escape_md(&doc.generator.model)
    ));
    md.push_str(&format!(
        "| Behaviors | {} in {} and {} |\n",
        doc.stats.behaviors,
        plural(doc.stats.domains, "domain", "domains"),
        plural(doc.stats.features, "feature", "features")
    ));
    if doc.usage.calls > 0 {
        md.push_str(&format!(
            "| Model usage | {} calls, {} tokens ({} in, {} out) |\n",
            doc.usage.calls,
            doc.usage.total_tokens,
            doc.usage.prompt_tokens,
            doc.usage.output_tokens
        ));
    }
    md.push('\n');
    for n in &doc.notes {
        md.push_str(&format!("> **Note:** {}\n>\n", escape_md(n)));
    }
    if !doc.notes.is_empty() {
        md.truncate(md.len() - 2);
        md.push('\n');
    }
    md.push_str("## Summary\n\n");
    md.push_str(&escape_md(&doc.summary));
    md.push_str("\n\n");
    if doc.domains.is_empty() {
        md.push_str("_No behaviors: the inventory has no tests._\n");
        return md;
    }
    md.push_str("## Contents\n\n");
    for (d, dom) in doc.domains.iter().enumerate() {
        let n: usize = dom.features.iter().map(|f| f.behaviors.len()).sum();
        md.push_str(&format!(
            "{}. {} — {}\n",
            d + 1,
            escape_md(&dom.name),
            plural(n, "behavior", "behaviors")
        ));
    }
    md.push('\n');
    for (d, dom) in doc.domains.iter().enumerate() {
        md.push_str(&format!("## {}. {}\n\n", d + 1, escape_md(&dom.name)));
        if let Some(desc) = &dom.description {
            md.push_str(&format!("{}\n\n", escape_md(desc)));
        }
        for (f, feat) in dom.features.iter().enumerate() {
            md.push_str(&format!(
                "### {}.{} {}\n\n",
                d + 1,
                f + 1,
                escape_md(&feat.name)
            ));
            if let Some(code) = &feat.fallback {
                md.push_str(&format!(
                    "_These are the original test names: converting this feature failed ({})._\n\n",
                    escape_md(code)
                ));
            }
            for b in &feat.behaviors {
                let status = status_label(b)
                    .map(|s| format!(" _({s})_"))
                    .unwrap_or_default();
                md.push_str(&format!("- {}{status}\n", escape_md(&b.sentence)));
                let mut trace = format!(
                    "  <sub>{} · {}",
                    code(&b.test_name),
                    code(&format!("{}:{}", b.file, b.line))
                );
                if !b.suite_path.is_empty() {
                    trace.push_str(&format!(" · {}", escape_md(&b.suite_path.join(" › "))));
                }
                trace.push_str("</sub>\n");
                md.push_str(&trace);
            }
            md.push('\n');
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_survive_backticks_and_controls() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a\nb\u{0}"), "`a b`");
    }

    #[test]
    fn escape_md_neutralises_syntax() {
        assert_eq!(
            escape_md("a *b* [c](d) <e>|"),
            "a \\*b\\* \\[c\\](d) \\<e\\>\\|"
        );
    }
}
