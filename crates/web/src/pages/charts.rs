//! Bar charts drawn on the server as inline SVG (no script, no library): a queue's jobs
//! finished per minute and its mean wait from scheduled to attempted, over the last hour.
//! Colours come from classes in `jobs.css`, so they follow light and dark.

use chrono::{DateTime, Duration, DurationRound, Utc};
use maud::{html, Markup};
use specline_queue::stats::MinuteActivity;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;
const MINUTES: i64 = 60;

/// One value per minute of the last hour, oldest first, for one queue.
pub fn per_minute(
    points: &[&MinuteActivity],
    now: DateTime<Utc>,
    value: impl Fn(&MinuteActivity) -> f64,
) -> Vec<f64> {
    let end = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let start = end - Duration::minutes(MINUTES - 1);
    let mut values = vec![0.0; MINUTES as usize];
    for p in points {
        let i = (p.minute - start).num_minutes();
        if (0..MINUTES).contains(&i) {
            values[i as usize] = value(p);
        }
    }
    values
}

/// A bar chart of 60 values with its title, a text summary for screen readers, and the
/// largest value as the scale.
pub fn bars(id: &str, title: &str, unit: &str, values: &[f64]) -> Markup {
    let max = values.iter().cloned().fold(0.0_f64, f64::max);
    let total: f64 = values.iter().sum();
    let n = values.len().max(1) as f64;
    let bar = WIDTH / n;
    let summary = format!(
        "{title}: highest {} {unit}, mean {} {unit} per minute over the last hour",
        round(max),
        round(total / n)
    );
    html! {
        figure.chart {
            svg id=(id) viewBox=(format!("0 0 {WIDTH} {}", HEIGHT + 16.0)) role="img"
                aria-labelledby=(format!("{id}-t {id}-d")) preserveAspectRatio="none" {
                title id=(format!("{id}-t")) { (title) }
                desc id=(format!("{id}-d")) { (summary) }
                line.axis x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) {}
                @for (i, v) in values.iter().enumerate() {
                    @if *v > 0.0 && max > 0.0 {
                        @let h = (v / max * (HEIGHT - 4.0)).max(1.0);
                        rect.bar x=(fmt(i as f64 * bar + 1.0)) y=(fmt(HEIGHT - h))
                            width=(fmt((bar - 2.0).max(1.0))) height=(fmt(h)) {
                            title { (round(*v)) " " (unit) }
                        }
                    }
                }
                text.label x="0" y=(HEIGHT + 14.0) { "60 min ago" }
                text.label x=(WIDTH) y=(HEIGHT + 14.0) text-anchor="end" { "now" }
            }
            figcaption { (title) " — max " (round(max)) " " (unit) }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

fn round(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(minute: DateTime<Utc>, finished: i64) -> MinuteActivity {
        MinuteActivity {
            queue: "q".into(),
            minute,
            finished,
            attempted: 0,
            latency_avg_ms: 0.0,
            latency_max_ms: 0.0,
        }
    }

    #[test]
    fn minutes_land_in_their_slot_and_older_ones_drop() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T10:30:20Z")
            .unwrap_or_default()
            .with_timezone(&Utc);
        let this = point(now.duration_trunc(Duration::minutes(1)).unwrap_or(now), 5);
        let old = point(now - Duration::minutes(90), 7);
        let first = point(now - Duration::minutes(59), 2);
        let values = per_minute(&[&this, &old, &first], now, |p| p.finished as f64);
        assert_eq!(values.len(), 60);
        assert_eq!(values[59], 5.0);
        assert_eq!(values[0], 2.0);
        assert_eq!(values.iter().sum::<f64>(), 7.0);
    }

    #[test]
    fn a_chart_draws_one_bar_per_busy_minute() {
        let mut values = vec![0.0; 60];
        values[3] = 4.0;
        values[10] = 2.0;
        let svg = bars("c", "Finished", "jobs", &values).into_string();
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("highest 4 jobs"));
    }
}
