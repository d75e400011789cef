//! Secrets never print: `Debug`, `Display`, `Serialize`, alone and inside loaded settings.
#![allow(clippy::unwrap_used)]

mod common;

use common::{opts, DB_URL, KEY};
use specline_settings::{AllInOneSettings, AnalyzerSettings, Secret, Settings};

#[test]
fn secret_is_redacted_in_debug_display_and_serde() {
    let s = Secret::new("sk-live-12345");
    assert_eq!(format!("{s:?}"), "[redacted]");
    assert_eq!(format!("{s}"), "[redacted]");
    assert_eq!(format!("{s:#?}"), "[redacted]");
    assert_eq!(s.expose(), "sk-live-12345");

    #[derive(serde::Serialize)]
    struct Holder {
        key: Secret,
    }
    let text = toml::to_string(&Holder { key: s.clone() }).unwrap();
    assert_eq!(text, "key = \"[redacted]\"\n");
}

#[test]
fn secret_deserializes_from_a_plain_string() {
    #[derive(serde::Deserialize)]
    struct Holder {
        key: Secret,
    }
    let h: Holder = toml::from_str("key = \"abc\"").unwrap();
    assert_eq!(h.key.expose(), "abc");
}

#[test]
fn loaded_settings_never_show_keys_or_the_database_password() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
    ]);
    let s = Settings::load::<AnalyzerSettings>(&o).unwrap().settings;
    for text in [
        format!("{s:?}"),
        format!("{s:#?}"),
        toml::to_string(&s).unwrap(),
    ] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
    // The serialized form is a readable dump of the effective settings.
    let dump = toml::to_string(&s).unwrap();
    assert!(
        dump.contains("[security]\nencryption_key = \"[redacted]\""),
        "{dump}"
    );
    assert!(dump.contains("concurrency = 4"), "{dump}");
}

#[test]
fn provider_api_key_is_redacted_in_the_all_in_one_dump() {
    let o = opts(&[
        ("SPECLINE_PROVIDER__KIND", "gemini"),
        ("SPECLINE_PROVIDER__MODEL", "gemini-2.5-flash"),
        ("SPECLINE_PROVIDER__API_KEY", "AIza-secret-value"),
    ]);
    let s = Settings::load::<AllInOneSettings>(&o).unwrap().settings;
    let dump = toml::to_string(&s).unwrap();
    assert!(!dump.contains("AIza"), "{dump}");
    assert!(dump.contains("kind = \"gemini\""), "{dump}");
    assert!(!format!("{s:?}").contains("AIza"));
    assert_eq!(
        s.provider.api_key.as_ref().map(|k| k.expose()),
        Some("AIza-secret-value")
    );
}

#[test]
fn load_options_debug_shows_variable_names_but_no_values() {
    let o = opts(&[
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
        ("SPECLINE_DATABASE__URL", DB_URL),
    ]);
    let text = format!("{o:?}");
    assert!(text.contains("SPECLINE_SECURITY__ENCRYPTION_KEY"), "{text}");
    assert!(!text.contains(KEY), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
