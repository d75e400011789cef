//! The Spec tab: the analysis's spec document (domains → features → behaviors) with a table
//! of contents, a server-side search, language and version selectors (the documents of this
//! analysis), each behavior with the test that proves it, and the API's export links.
//!
//! Scale: behaviors are paged ([`BEHAVIORS_PER_PAGE`]); the table of contents lists every
//! feature and links to the page it starts on.

use maud::{html, Markup, PreEscaped};
use specline_api::routes::analyses::status_word;
use specline_api::routes::documents::{content, versions};
use specline_app::store::{AnalysisRecord, DocumentHead};
use specline_specdoc_model::document::Behavior;
use specline_specdoc_model::SpecDocument;

use super::cases::cases_badge;
use super::links::location;
use super::paging::{noun_for, pager, plural};
use super::AnalysisQuery;
use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;
use crate::WebState;

/// Behaviors per page.
pub const BEHAVIORS_PER_PAGE: usize = 1_000;
/// Features listed in the table of contents at most.
const TOC_FEATURES: usize = 2_000;

pub async fn render(
    state: &WebState,
    viewer: &Viewer,
    record: &AnalysisRecord,
    q: &AnalysisQuery,
) -> PageResult<Markup> {
    let page = q.page()?;
    let wanted = q.doc()?;
    let all = versions(&state.api, &viewer.caller, &record.repository).await?;
    let mine: Vec<&DocumentHead> = all.iter().filter(|d| d.analysis_id == record.id).collect();
    if mine.is_empty() {
        let other = all.first();
        return Ok(html! {
            section.spec-tab {
                p.empty #no-document { "No spec document was generated for this commit yet." }
                @if let Some(d) = other {
                    p { a href=(format!("/analyses/{}?tab=spec", d.analysis_id)) { "The repository's newest document" } " belongs to another commit." }
                }
            }
        });
    }
    // A version of another language than the one asked for is the selector form sending
    // both after the language changed: the language wins.
    let asked = wanted
        .map(|id| {
            mine.iter()
                .find(|d| d.id == id)
                .copied()
                .ok_or_else(PageError::not_found)
        })
        .transpose()?
        .filter(|d| q.lang.as_deref().is_none_or(|l| l == d.language));
    let chosen = match asked {
        Some(d) => d,
        None => {
            let lang = q.lang.as_deref().unwrap_or("en");
            // Newest first: the first of the language, else the newest of any.
            mine.iter()
                .find(|d| d.language == lang)
                .copied()
                .unwrap_or(mine[0])
        }
    };
    // Only the chosen version's content is read (the list holds none).
    let stored = state
        .api
        .parts()
        .app
        .get_document(chosen.id)
        .await
        .map_err(specline_api::error::ApiError::from)?
        .ok_or_else(PageError::not_found)?;
    let doc = content(&stored)?;
    let mut languages: Vec<&str> = mine.iter().map(|d| d.language.as_str()).collect();
    languages.sort_unstable();
    languages.dedup();
    let same_language: Vec<&&DocumentHead> = mine
        .iter()
        .filter(|d| d.language == chosen.language)
        .collect();
    let text = q.text().map(str::to_lowercase);
    let matches = |b: &Behavior| {
        text.as_ref().is_none_or(|t| {
            b.sentence.to_lowercase().contains(t)
                || b.test_name.to_lowercase().contains(t)
                || b.file.to_lowercase().contains(t)
        })
    };
    // Every matching behavior's (domain, feature) and its place among the matches.
    let mut placed: Vec<(usize, usize, &Behavior)> = Vec::new();
    for (di, d) in doc.domains.iter().enumerate() {
        for (fi, f) in d.features.iter().enumerate() {
            for b in f.behaviors.iter().filter(|b| matches(b)) {
                placed.push((di, fi, b));
            }
        }
    }
    let pages = placed.len().div_ceil(BEHAVIORS_PER_PAGE).max(1);
    let page = page.min(pages);
    let start = (page - 1) * BEHAVIORS_PER_PAGE;
    let on_page = &placed[start.min(placed.len())..(start + BEHAVIORS_PER_PAGE).min(placed.len())];
    let id = record.id;
    let v = View {
        record,
        doc: &doc,
        text: text.as_deref(),
    };
    Ok(html! {
        section.spec-tab aria-labelledby="spec-heading" {
            h2 #spec-heading .visually-hidden { "Spec" }
            form.spec-controls method="get" action=(format!("/analyses/{id}")) role="search" aria-label="Search the spec" {
                input type="hidden" name="tab" value="spec";
                div.field {
                    label for="s-lang" { "Language" }
                    select #s-lang name="lang" data-autosubmit {
                        @for l in &languages {
                            option value=(l) selected[*l == chosen.language] { (l) }
                        }
                    }
                }
                div.field {
                    label for="s-doc" { "Version" }
                    select #s-doc name="doc" data-autosubmit {
                        @for d in &same_language {
                            option value=(d.id) selected[d.id == chosen.id] {
                                "v" (d.version) " · " (d.model) " · " (d.created_at.format("%Y-%m-%d %H:%M"))
                            }
                        }
                    }
                }
                div.field.grow {
                    label for="s-q" { "Search" }
                    input #s-q type="search" name="q" value=[q.q.as_deref()] placeholder="behavior, test or file";
                }
                div.field.actions { button type="submit" { "Search" } }
            }
            p.exports {
                "Export: "
                a href=(format!("/api/v1/documents/{}/export?format=md", chosen.id)) { "Markdown" }
                " · "
                a href=(format!("/api/v1/documents/{}/export?format=json", chosen.id)) { "JSON" }
                " · This version: "
                a #diff-link href=(crate::pages::document::diff_href(chosen.id)) { "What changed" }
                " · "
                a #cost-link href=(crate::pages::document::cost_href(chosen.id)) { "Cost" }
            }
            div.spec-summary {
                p { (doc.summary) }
                p.muted {
                    (plural(doc.stats.behaviors, "behavior"))
                    @if let Some(n) = doc.stats.runner_tests.filter(|&n| n != doc.stats.behaviors as u64) {
                        span #runner-tests { " (" (n) " runner cases)" }
                    }
                    " in "
                    (plural(doc.stats.domains, "domain")) ", "
                    (plural(doc.stats.features, "feature")) " · " (doc.generator.kind) " " (doc.generator.model)
                    " · written in " (doc.content_language.as_str())
                }
                @for n in &doc.notes { p.note { (n) } }
            }
            p #behavior-count aria-live="polite" {
                @if text.is_some() {
                    strong { (placed.len()) } " " (noun_for(placed.len(), "behavior"))
                    @if placed.len() == 1 { " matches" } @else { " match" }
                } @else {
                    strong { (placed.len()) } " " (noun_for(placed.len(), "behavior"))
                }
            }
            div.spec-layout {
                (toc(&v, q, &placed))
                div.spec-body {
                    (pager(q, id, page, pages, "Spec pages"))
                    (body(&v, on_page))
                    (pager(q, id, page, pages, "Spec pages"))
                }
            }
        }
    })
}

/// A domain's features in the contents: (feature, first match's index, matches).
type TocFeatures = Vec<(usize, usize, usize)>;
/// A domain's features on a page, each with its behaviors there.
type FeatureGroups<'a> = Vec<(usize, Vec<&'a Behavior>)>;

struct View<'a> {
    record: &'a AnalysisRecord,
    doc: &'a SpecDocument,
    text: Option<&'a str>,
}

/// Domains and features with matches, each linking to the page its first match is on.
fn toc(v: &View<'_>, q: &AnalysisQuery, placed: &[(usize, usize, &Behavior)]) -> Markup {
    // (domain, feature) → (first index among the matches, count), in order.
    let mut features: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (i, (d, f, _)) in placed.iter().enumerate() {
        match features.last_mut() {
            Some((ld, lf, _, n)) if ld == d && lf == f => *n += 1,
            _ => features.push((*d, *f, i, 1)),
        }
    }
    let id = v.record.id;
    let link = |first: usize, anchor: String| {
        let page = first / BEHAVIORS_PER_PAGE + 1;
        format!(
            "{}#{anchor}",
            q.href(id, |x| x.page = Some(page.to_string()))
        )
    };
    let mut domains: Vec<(usize, TocFeatures)> = Vec::new();
    for (d, f, first, n) in features.into_iter().take(TOC_FEATURES) {
        match domains.last_mut() {
            Some((ld, list)) if *ld == d => list.push((f, first, n)),
            _ => domains.push((d, vec![(f, first, n)])),
        }
    }
    html! {
        nav.toc aria-labelledby="toc-heading" {
            h3 #toc-heading { "Contents" }
            ol {
                @for (d, list) in &domains {
                    li {
                        a href=(link(list[0].1, format!("domain-{d}"))) { (v.doc.domains[*d].name) }
                        ol {
                            @for (f, first, n) in list {
                                li {
                                    a href=(link(*first, format!("feature-{d}-{f}"))) { (v.doc.domains[*d].features[*f].name) }
                                    " " span.muted { "(" (n) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn body(v: &View<'_>, on_page: &[(usize, usize, &Behavior)]) -> Markup {
    // Group the page's behaviors by domain, then feature.
    let mut groups: Vec<(usize, FeatureGroups<'_>)> = Vec::new();
    for (d, f, b) in on_page {
        if groups.last().is_none_or(|(ld, _)| ld != d) {
            groups.push((*d, Vec::new()));
        }
        if let Some((_, features)) = groups.last_mut() {
            match features.last_mut() {
                Some((lf, list)) if lf == f => list.push(b),
                _ => features.push((*f, vec![b])),
            }
        }
    }
    html! {
        @if on_page.is_empty() {
            p.empty { "No behavior matches." }
        }
        @for (d, features) in &groups {
            @let domain = &v.doc.domains[*d];
            section.domain id=(format!("domain-{d}")) {
                h3 { (domain.name) }
                @if let Some(desc) = &domain.description { p.muted { (desc) } }
                @for (f, behaviors) in features {
                    @let feature = &domain.features[*f];
                    section.feature id=(format!("feature-{d}-{f}")) {
                        h4 { (feature.name) }
                        @if let Some(code) = &feature.fallback {
                            p.muted { "Shown as test names (" code { (code) } ")." }
                        }
                        ul.behaviors {
                            @for b in behaviors {
                                @let status = status_word(b.status);
                                li.behavior {
                                    span.sentence { (highlight(&b.sentence, v.text)) }
                                    @if status != "active" { " " span.badge.(status) { (status) } }
                                    @if let Some(n) = b.cases { " " (cases_badge(n, &[])) }
                                    div.proof {
                                        "Proved by " span.test-name { (highlight(&b.test_name, v.text)) } " · "
                                        (location(&v.record.repository, v.record.commit.as_deref(), &b.file, b.line))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `text` with each case-insensitive occurrence of `q` in `<mark>` (escaped; only when
/// lower-casing keeps byte offsets, i.e. nearly always).
fn highlight(text: &str, q: Option<&str>) -> Markup {
    let lower = text.to_lowercase();
    let Some(q) = q.filter(|q| !q.is_empty() && lower.len() == text.len()) else {
        return html! { (text) };
    };
    let mut out = String::new();
    let mut at = 0;
    while let Some(found) = lower[at..].find(q) {
        let start = at + found;
        let end = start + q.len();
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            break;
        }
        out.push_str(&html! { (text[at..start]) }.into_string());
        out.push_str(&html! { mark { (text[start..end]) } }.into_string());
        at = end;
    }
    out.push_str(&html! { (text[at..]) }.into_string());
    PreEscaped(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_marks_each_match_and_escapes_the_rest() {
        assert_eq!(
            highlight("Adds <b>Tax</b> to tax", Some("tax")).into_string(),
            "Adds &lt;b&gt;<mark>Tax</mark>&lt;/b&gt; to <mark>tax</mark>"
        );
        assert_eq!(highlight("x<y", None).into_string(), "x&lt;y");
    }
}
