//! Markdown and JSON renderings of a [`SpecDocument`].
//!
//! Markdown is for people: test names, which can hold anything (control characters, backticks,
//! 10,000 characters), are shown cleaned and cut to [`MAX_NAME_CHARS`] inside code spans that
//! cannot be broken out of; sentences are escaped. JSON is the complete record, names intact
//! (schema: `docs/specdoc-schema.md`).

use crate::document::{Behavior, SpecDocument};
use specline_inventory_model::Status;

use crate::labels::{self, Labels, Noun};
use crate::text::{clean_text, MAX_NAME_CHARS};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[cfg_attr(feature = "clap", value(name = "md"))]
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

fn status_label(b: &Behavior, l: &Labels) -> Option<&'static str> {
    match b.status {
        Status::Active => None,
        Status::Skipped => Some(l.skipped),
        Status::Todo => Some(l.todo),
        Status::Focused => Some(l.focused),
        Status::Xfail => Some(l.xfail),
    }
}

/// The document as Markdown, with headings and labels in the language of its sentences.
pub fn to_markdown(doc: &SpecDocument) -> String {
    let l = labels::for_language(doc.content_language.primary());
    let mut md = String::new();
    let short = doc
        .repository
        .trim_end_matches('/')
        .rsplit(['/', '\\', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("repository");
    md.push_str(&format!("# {}: {}\n\n", l.title, escape_md(short)));
    md.push_str("| | |\n|---|---|\n");
    md.push_str(&format!(
        "| {} | {} |\n",
        l.repository,
        code(&doc.repository)
    ));
    if let Some(c) = &doc.commit {
        md.push_str(&format!("| {} | {} |\n", l.commit, code(c)));
    }
    md.push_str(&format!("| {} | {} |\n", l.version, doc.version));
    // They differ only for the offline generator, whose labels are English.
    let lang = if doc.language == doc.content_language {
        doc.language.to_string()
    } else {
        format!(
            "{} requested; sentences in {}",
            doc.language, doc.content_language
        )
    };
    md.push_str(&format!("| {} | {lang} |\n", l.language));
    md.push_str(&format!(
        "| {} | {} · {} ({}) |\n",
        l.generated,
        doc.generated_at.format("%Y-%m-%d %H:%M UTC"),
        escape_md(&doc.generator.kind),
        escape_md(&doc.generator.model)
    ));
    md.push_str(&format!(
        "| {} | {} · {} · {} |\n",
        l.contents_row,
        l.count(doc.stats.behaviors, Noun::Behavior),
        l.count(doc.stats.domains, Noun::Domain),
        l.count(doc.stats.features, Noun::Feature)
    ));
    if doc.usage.calls > 0 {
        md.push_str(&format!(
            "| {} | {}: {} · {}: {} ({}: {}, {}: {}) |\n",
            l.model_usage,
            l.calls,
            doc.usage.calls,
            l.tokens,
            doc.usage.total_tokens,
            l.input,
            doc.usage.prompt_tokens,
            l.output,
            doc.usage.output_tokens
        ));
    }
    md.push('\n');
    for n in &doc.notes {
        md.push_str(&format!("> **{}:** {}\n>\n", l.note, escape_md(n)));
    }
    if !doc.notes.is_empty() {
        md.truncate(md.len() - 2);
        md.push('\n');
    }
    md.push_str(&format!("## {}\n\n", l.summary));
    md.push_str(&escape_md(&doc.summary));
    md.push_str("\n\n");
    if doc.domains.is_empty() {
        md.push_str(&format!("_{}_\n", l.no_behaviors));
        return md;
    }
    md.push_str(&format!("## {}\n\n", l.contents));
    for (d, dom) in doc.domains.iter().enumerate() {
        let n: usize = dom.features.iter().map(|f| f.behaviors.len()).sum();
        md.push_str(&format!(
            "{}. {} — {}\n",
            d + 1,
            escape_md(&dom.name),
            l.count(n, Noun::Behavior)
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
                    "_{} ({})._\n\n",
                    l.fallback_feature,
                    escape_md(code)
                ));
            }
            for b in &feat.behaviors {
                let status = status_label(b, l)
                    .map(|s| format!(" _({s})_"))
                    .unwrap_or_default();
                md.push_str(&format!("- {}{status}\n", escape_md(&b.sentence)));
                // "×3": the runner's case count, language-neutral like the code spans.
                let cases = b.cases.map(|n| format!(" ×{n}")).unwrap_or_default();
                let mut trace = format!(
                    "  <sub>{}{cases} · {}",
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
