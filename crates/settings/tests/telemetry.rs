//! `[telemetry]`: off by default, the endpoint checked as a URL, the headers a secret that
//! no rendering or error shows.
#![allow(clippy::unwrap_used)]

mod common;

use common::{opts, DB_URL};
use specline_settings::{ApiSettings, SchedulerSettings, Settings, SettingsCode};

const TOKEN: &str = "tok-9f8e7d6c5b4a";

#[test]
fn telemetry_is_off_by_default_with_the_binary_as_service_name() {
    let s = Settings::load::<SchedulerSettings>(&opts(&[("SPECLINE_DATABASE__URL", DB_URL)]))
        .unwrap()
        .settings;
    assert_eq!(s.telemetry.otlp_endpoint, None);
    assert_eq!(s.telemetry.service_name, "specline-scheduler");
    assert_eq!(s.telemetry.sample_percent, 100);
    assert!(s.telemetry.otlp_headers.is_empty());
}

#[test]
fn the_endpoint_must_be_an_http_url_without_credentials() {
    for bad in [
        "otel-collector:4318",
        "ftp://c:4318",
        "http://user:pw@c:4318",
    ] {
        let err = Settings::load::<ApiSettings>(&opts(&[
            ("SPECLINE_DATABASE__URL", DB_URL),
            ("SPECLINE_TELEMETRY__OTLP_ENDPOINT", bad),
        ]))
        .unwrap_err();
        assert_eq!(err.kind(), SettingsCode::Invalid, "{bad}: {err}");
        assert!(
            err.to_string()
                .contains("SPECLINE_TELEMETRY__OTLP_ENDPOINT"),
            "{err}"
        );
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
    let s = Settings::load::<ApiSettings>(&opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        (
            "SPECLINE_TELEMETRY__OTLP_ENDPOINT",
            "https://otlp.example:4318",
        ),
    ]))
    .unwrap()
    .settings;
    assert_eq!(
        s.telemetry.otlp_endpoint.as_deref(),
        Some("https://otlp.example:4318")
    );
}

#[test]
fn headers_are_a_secret_in_every_rendering_and_error() {
    let header = format!("authorization=Bearer {TOKEN}, x-scope=team-a");
    let s = Settings::load::<ApiSettings>(&opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_TELEMETRY__OTLP_HEADERS", &header),
    ]))
    .unwrap()
    .settings;
    let names: Vec<&str> = s
        .telemetry
        .otlp_headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["authorization", "x-scope"]);
    assert_eq!(
        s.telemetry.otlp_headers[0].1.expose(),
        format!("Bearer {TOKEN}")
    );
    for text in [format!("{s:?}"), toml::to_string(&s).unwrap()] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    for bad in [
        format!("authorization: Bearer {TOKEN}"),
        format!("bad name=Bearer {TOKEN}"),
        format!("authorization=Bearer\t{TOKEN}"),
    ] {
        let err = Settings::load::<ApiSettings>(&opts(&[
            ("SPECLINE_DATABASE__URL", DB_URL),
            ("SPECLINE_TELEMETRY__OTLP_HEADERS", &bad),
        ]))
        .unwrap_err();
        assert_eq!(err.kind(), SettingsCode::Invalid, "{err}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("SPECLINE_TELEMETRY__OTLP_HEADERS"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
}
