//! Unknown names: reported with near-miss suggestions; an error in strict mode; names of
//! sections another binary loads are known, not unknown.
#![allow(clippy::unwrap_used)]

mod common;

use common::{env, file, opts, DB_URL, KEY};
use specline_settings::{
    AllInOneSettings, AnalyzerSettings, LoadOptions, Origin, Settings, SettingsWarning,
    SpecGeneratorSettings,
};

fn env_warning(name: &str, suggestion: Option<&str>) -> SettingsWarning {
    SettingsWarning {
        origin: Origin::Env(name.to_string()),
        name: name.to_string(),
        suggestion: suggestion.map(str::to_string),
    }
}

#[test]
fn single_underscore_and_typos_get_suggestions() {
    let o = opts(&[
        ("SPECLINE_ANALYZER_CONCURRENCY", "2"),
        ("SPECLINE_PROVIDR__API_KEY", "k"),
        ("SPECLINE_WHATEVER", "1"),
        ("specline_http__listen", "127.0.0.1:1"),
    ]);
    let loaded = Settings::load::<AllInOneSettings>(&o).unwrap();
    // Names come sorted (the map's order); uppercase sorts before lowercase.
    assert_eq!(
        loaded.warnings,
        vec![
            env_warning(
                "SPECLINE_ANALYZER_CONCURRENCY",
                Some("SPECLINE_ANALYZER__CONCURRENCY")
            ),
            env_warning(
                "SPECLINE_PROVIDR__API_KEY",
                Some("SPECLINE_PROVIDER__API_KEY")
            ),
            env_warning("SPECLINE_WHATEVER", None),
            env_warning("specline_http__listen", Some("SPECLINE_HTTP__LISTEN")),
        ]
    );
    assert_eq!(
        loaded.warnings[0].to_string(),
        "SETTINGS_UNKNOWN: environment variable SPECLINE_ANALYZER_CONCURRENCY is not a Specline \
         setting; did you mean SPECLINE_ANALYZER__CONCURRENCY?"
    );
    assert_eq!(
        loaded.warnings[2].to_string(),
        "SETTINGS_UNKNOWN: environment variable SPECLINE_WHATEVER is not a Specline setting"
    );
    // The near misses did nothing: the defaults stand.
    assert_eq!(loaded.settings.analyzer.concurrency, 4);
}

#[test]
fn the_database_url_near_miss_from_the_brief() {
    let o = opts(&[("SPECLINE_DATABASE_URL", DB_URL)]);
    let loaded = Settings::load::<AllInOneSettings>(&o).unwrap();
    assert_eq!(
        loaded.warnings,
        vec![env_warning(
            "SPECLINE_DATABASE_URL",
            Some("SPECLINE_DATABASE__URL")
        )]
    );
}

#[test]
fn a_misspelled_prefix_is_caught_but_unrelated_variables_are_not() {
    let o = opts(&[
        ("SPECLIN_DATABASE__URL", DB_URL),
        ("SPECLINE__HTTP__LISTEN", "127.0.0.1:1"),
        ("PATH", "/usr/bin"),
        ("HOME", "/root"),
        ("DATABASE_URL", DB_URL),
        ("RUST_LOG", "info"),
    ]);
    let loaded = Settings::load::<AllInOneSettings>(&o).unwrap();
    assert_eq!(
        loaded.warnings,
        vec![
            env_warning("SPECLINE__HTTP__LISTEN", Some("SPECLINE_HTTP__LISTEN")),
            env_warning("SPECLIN_DATABASE__URL", Some("SPECLINE_DATABASE__URL")),
        ]
    );
}

#[test]
fn variables_of_other_binaries_and_reserved_ones_are_known() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
        ("SPECLINE_ANALYZER__CONCURRENCY", "2"),
        ("SPECLINE_SCHEDULER__PRUNE_INTERVAL_SECS", "60"),
        ("SPECLINE_LOCAL__DATA_DIR", "/data"),
        ("SPECLINE_LOG", "debug"),
    ]);
    let loaded = Settings::load::<SpecGeneratorSettings>(&o.strict(true)).unwrap();
    assert!(loaded.warnings.is_empty());
}

#[test]
fn a_typo_in_another_binarys_section_is_still_reported() {
    // Known sections, unknown keys: no binary would ever read these.
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTON_KEY", KEY),
    ]);
    let loaded = Settings::load::<SpecGeneratorSettings>(&o).unwrap();
    assert_eq!(
        loaded.warnings,
        vec![env_warning(
            "SPECLINE_SECURITY__ENCRYPTON_KEY",
            Some("SPECLINE_SECURITY__ENCRYPTION_KEY")
        )]
    );
}

#[test]
fn unknown_file_keys_and_sections_get_suggestions() {
    let (_dir, path) = file(
        r#"
database_url = "postgres://x"

[databse]
pool_size = 2

[analyzer]
concurency = 2
concurrency = 3

[security]
enryption_key = "x"

[nonsense]
a = 1
"#,
    );
    let o = LoadOptions::new(env(&[])).file(&path);
    let loaded = Settings::load::<AllInOneSettings>(&o).unwrap();
    let got: Vec<(String, Option<String>)> = loaded
        .warnings
        .iter()
        .map(|w| {
            assert_eq!(w.origin, Origin::File(path.clone()));
            (w.name.clone(), w.suggestion.clone())
        })
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            ("analyzer.concurency".to_string(), s("analyzer.concurrency")),
            ("database_url".to_string(), s("database.url")),
            ("databse".to_string(), s("[database]")),
            ("nonsense".to_string(), None),
            (
                "security.enryption_key".to_string(),
                s("security.encryption_key")
            ),
        ]
    );
    assert_eq!(
        loaded.warnings[0].to_string(),
        format!(
            "SETTINGS_UNKNOWN: analyzer.concurency in {} is not a Specline setting; did you mean \
             analyzer.concurrency?",
            path.display()
        )
    );
    assert_eq!(loaded.settings.analyzer.concurrency, 3);
}

#[test]
fn file_sections_of_other_binaries_are_neither_reported_nor_validated() {
    // One shared file for every binary: the spec generator ignores [security] and [analyzer],
    // even with values that would be invalid for the analyzer.
    let (_dir, path) = file(&format!(
        r#"
[database]
url = "{DB_URL}"

[analyzer]
concurrency = "many"

[security]
encryption_key = "not-a-key"
"#
    ));
    let o = LoadOptions::new(env(&[])).file(&path).strict(true);
    let loaded = Settings::load::<SpecGeneratorSettings>(&o).unwrap();
    assert!(loaded.warnings.is_empty());
}

#[test]
fn strict_mode_turns_unknown_names_into_an_error() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
        ("SPECLINE_DATABASE_URL", DB_URL),
        ("SPECLINE_ANALYZER__THREADS", "4"),
    ])
    .strict(true);
    let err = Settings::load::<AnalyzerSettings>(&o).unwrap_err();
    assert_eq!(err.code(), "SETTINGS_UNKNOWN");
    assert_eq!(
        err.to_string(),
        "SETTINGS_UNKNOWN: 2 unknown setting(s) (strict mode): environment variable \
         SPECLINE_ANALYZER__THREADS is not a Specline setting; environment variable \
         SPECLINE_DATABASE_URL is not a Specline setting; did you mean SPECLINE_DATABASE__URL?"
    );
    match err {
        specline_settings::SettingsError::Unknown { warnings } => assert_eq!(warnings.len(), 2),
        other => panic!("expected Unknown, got {other:?}"),
    }
}

#[test]
fn strict_mode_reports_unknown_file_keys_too() {
    let (_dir, path) = file("[http]\nlisten_addr = \"0.0.0.0:1\"\n");
    let o = LoadOptions::new(env(&[])).file(&path).strict(true);
    let err = Settings::load::<AllInOneSettings>(&o).unwrap_err();
    assert_eq!(err.code(), "SETTINGS_UNKNOWN");
    assert!(
        err.to_string().ends_with("did you mean http.listen?"),
        "{err}"
    );
}
