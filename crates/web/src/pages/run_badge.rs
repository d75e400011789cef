//! A run's state as people read it: `running`, `succeeded`, `failed` or `cancelled` (a run
//! failed with code `CANCELLED`), as a coloured badge. `assets/run.js` applies the same
//! names when the state changes live.

use maud::{html, Markup};
use specline_api::routes::runs::RunView;

/// The word shown for a run's state and the badge class that colours it.
pub fn label(state: &str, error_code: Option<&str>) -> &'static str {
    match (state, error_code) {
        ("running", _) => "running",
        ("done", _) => "succeeded",
        ("failed", Some("CANCELLED")) => "cancelled",
        ("failed", _) => "failed",
        _ => "unknown",
    }
}

/// The label of a run as the API views it.
pub fn of(view: &RunView) -> &'static str {
    label(&view.state, view.error.as_ref().map(|e| e.code.as_str()))
}

/// The badge of a run (or "pruned" when the engine no longer has it).
pub fn badge(view: Option<&RunView>) -> Markup {
    let label = view.map_or("pruned", of);
    html! { span class={ "badge " (label) } { (label) } }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn a_cancelled_run_reads_cancelled_not_failed() {
        assert_eq!(label("failed", Some("CANCELLED")), "cancelled");
        assert_eq!(label("failed", Some("TARGET_NOT_FOUND")), "failed");
        assert_eq!(label("done", None), "succeeded");
        assert_eq!(label("running", None), "running");
    }
}
