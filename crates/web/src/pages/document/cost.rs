//! `GET /documents/{id}/cost`: what a version cost in model calls — calls and tokens in and
//! out per phase (the usage rows the spec generator recorded, as `specline-enqueue document
//! cost` prints them), the run and owner that paid, the estimate made before the first call,
//! and how many sentences were reused (carried from the previous version or served from the
//! cache) instead of written by the model.
//!
//! The estimate lives in the run's `classify_tests` progress event; once retention has
//! removed the run's events the page says it is no longer known rather than guessing.

use axum::extract::{Path, State};
use maud::{html, Markup};
use serde::Deserialize;
use specline_api::error::ApiError;
use specline_api::routes::documents::content;
use specline_app::store::{DocumentRecord, PhaseUsageRecord};

use super::{load, page, Page};
use crate::pages::analysis::paging::plural;
use crate::pages::error::PageResult;
use crate::session::Viewer;
use crate::WebState;

/// Events of the run read to find the estimate (it is among the first ones).
const EVENTS_READ: usize = 500;

/// The spec generator's estimate, as its classify step reports it (`Estimate` of
/// `specline-specdoc`, which this crate does not link).
#[derive(Debug, Clone, Copy, Deserialize)]
struct Estimate {
    classify_calls: u64,
    convert_calls: u64,
    summarize_calls: u64,
    tests_to_convert: u64,
}

impl Estimate {
    fn total(&self) -> u64 {
        self.classify_calls + self.convert_calls + self.summarize_calls
    }
}

pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> PageResult {
    let record = load(&state, &viewer, &raw).await?;
    let rows = state
        .api
        .parts()
        .app
        .document_usage(record.head.id)
        .await
        .map_err(ApiError::from)?;
    let estimate = match record.head.run_id {
        Some(run) => estimate_of(&state, run).await?,
        None => None,
    };
    let doc = content(&record)?;
    let body = render(&record, &rows, estimate, doc.stats.behaviors);
    page(&state, &viewer, &record, Page::Cost, body)
}

/// The estimate the run's classify step reported, if its events are still kept.
async fn estimate_of(state: &WebState, run_id: i64) -> PageResult<Option<Estimate>> {
    let events = state
        .api
        .parts()
        .client
        .store()
        .run_events(run_id, 0, EVENTS_READ)
        .await
        .map_err(ApiError::from)?;
    Ok(events.iter().find_map(|e| {
        let v = e.payload.as_ref()?.get("estimate")?;
        serde_json::from_value::<Estimate>(v.clone()).ok()
    }))
}

fn render(
    record: &DocumentRecord,
    rows: &[PhaseUsageRecord],
    estimate: Option<Estimate>,
    behaviors: usize,
) -> Markup {
    let total = |f: fn(&PhaseUsageRecord) -> i64| rows.iter().map(f).sum::<i64>();
    let calls = total(|r| r.usage.calls);
    let mut owners: Vec<&str> = rows.iter().map(|r| r.usage.owner.as_str()).collect();
    owners.sort_unstable();
    owners.dedup();
    // The runs that paid (a reused document's rows may name a run other than its own).
    let mut runs: Vec<i64> = rows.iter().map(|r| r.usage.run_id).collect();
    runs.sort_unstable();
    runs.dedup();
    html! {
        section.card aria-labelledby="cost-heading" {
            h2 #cost-heading { "Model calls" }
            @if record.head.generator_kind == "offline" {
                p #cost-offline { "The offline generator wrote this version: it makes no model calls and costs nothing." }
            }
            @if rows.is_empty() {
                p.empty #no-usage { "No model usage was recorded for this version (offline, reused from an earlier generation, or made before cost accounting)." }
            } @else {
                div.table-wrap {
                    table #cost-phases {
                        thead { tr { th { "Phase" } th.num { "Calls" } th.num { "Tokens in" } th.num { "Tokens out" } } }
                        tbody {
                            @for r in rows {
                                tr {
                                    td { (r.usage.phase) }
                                    td.num { (r.usage.calls) }
                                    td.num { (r.usage.prompt_tokens) }
                                    td.num { (r.usage.output_tokens) }
                                }
                            }
                        }
                        tfoot {
                            tr {
                                th { "Total" }
                                th.num #cost-calls { (calls) }
                                th.num #cost-tokens-in { (total(|r| r.usage.prompt_tokens)) }
                                th.num #cost-tokens-out { (total(|r| r.usage.output_tokens)) }
                            }
                        }
                    }
                }
                p.muted #cost-paid {
                    "Paid by " (owners.join(", "))
                    " in "
                    @for (i, run) in runs.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/runs/{run}")) { "run " (run) }
                    }
                    "."
                }
            }
        }
        section.card aria-labelledby="estimate-heading" {
            h2 #estimate-heading { "Estimate and reuse" }
            @match estimate {
                Some(e) => {
                    p #cost-estimate {
                        "Estimated before the first call: " strong { (plural(e.total() as usize, "call")) }
                        " (classify " (e.classify_calls) ", convert " (e.convert_calls) ", summarize " (e.summarize_calls) ")."
                    }
                    @let written = (e.tests_to_convert as usize).min(behaviors);
                    p #cost-reuse {
                        strong { (behaviors - written) } " of " (plural(behaviors, "behavior"))
                        " kept their sentence from the previous version or the cache; "
                        (written) " went to the model."
                    }
                }
                None => p.empty #no-estimate {
                    "No estimate is known for this version: it was written offline or reused, or its run's events are no longer kept."
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record(kind: &str) -> DocumentRecord {
        use specline_app::store::DocumentHead;
        DocumentRecord {
            head: DocumentHead {
                id: 7,
                analysis_id: 3,
                repository: "https://git.example/acme/shop".into(),
                language: "en".into(),
                version: 2,
                generator_kind: kind.into(),
                model: "m".into(),
                prompt_version: "p".into(),
                behaviors: 10,
                run_id: None,
                created_at: chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            },
            content: serde_json::json!({}),
        }
    }

    #[test]
    fn an_estimate_shows_its_calls_and_the_sentences_reused() {
        let e = Estimate {
            classify_calls: 1,
            convert_calls: 2,
            summarize_calls: 1,
            tests_to_convert: 3,
        };
        let html = render(&record("openai"), &[], Some(e), 10).into_string();
        assert!(
            html.contains("Estimated before the first call: <strong>4 calls</strong> (classify 1, convert 2, summarize 1)."),
            "{html}"
        );
        assert!(
            html.contains("<strong>7</strong> of 10 behaviors kept their sentence from the previous version or the cache; 3 went to the model."),
            "{html}"
        );
        assert!(html.contains(r#"id="no-usage""#) && !html.contains("cost-offline"));
    }

    #[test]
    fn an_offline_version_says_it_cost_nothing() {
        let html = render(&record("offline"), &[], None, 10).into_string();
        assert!(html.contains(r#"id="cost-offline""#) && html.contains(r#"id="no-estimate""#));
    }
}
