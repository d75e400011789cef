//! Each binary reads only the variables of its own sections: not only does it ignore another
//! binary's secret, it never asks for it (the environment records every read).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::{opts, DB_URL, KEY};
use specline_settings::keys::KEYS;
use specline_settings::{
    AllInOneSettings, AnalyzerSettings, ApiSettings, Binary, EnqueueSettings, LoadOptions, Profile,
    SchedulerSettings, Settings, SpecGeneratorSettings,
};

/// Every key variable set, most to invalid values, so a read of the wrong one would fail the
/// load as well as show up in the read log.
fn everything_set() -> Vec<(String, String)> {
    KEYS.iter()
        .map(|k| {
            let value = match k.env_name().as_str() {
                "SPECLINE_DATABASE__URL" => DB_URL.to_string(),
                // Valid values for the keys every profile under test reads.
                "SPECLINE_DATABASE__SCHEMA" => "public".to_string(),
                "SPECLINE_DATABASE__POOL_SIZE" => "8".to_string(),
                "SPECLINE_HTTP__LISTEN" => "127.0.0.1:9999".to_string(),
                _ => "<<invalid for every type>>".to_string(),
            };
            (k.env_name(), value)
        })
        .collect()
}

/// The variable names `P` read when loading, keys only (the `SPECLINE_CONFIG` look-up for a
/// file is not a key).
fn key_reads<P: Profile>(o: &LoadOptions) -> BTreeSet<String> {
    let _ = Settings::load::<P>(o);
    o.env
        .reads()
        .into_iter()
        .filter(|n| n != "SPECLINE_CONFIG")
        .collect()
}

/// The variables a binary is expected to read: every key of its sections that it uses.
fn expected_reads(binary: Binary) -> BTreeSet<String> {
    KEYS.iter()
        .filter(|k| k.binaries().contains(&binary))
        .map(|k| k.env_name())
        .collect()
}

#[test]
fn spec_generator_never_reads_the_encryption_key() {
    // Set and invalid: if it were read, validation would fail the load.
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", "garbage, not base64"),
        ("SPECLINE_ANALYZER__CONCURRENCY", "not a number"),
    ]);
    let loaded = Settings::load::<SpecGeneratorSettings>(&o).unwrap();
    assert!(loaded.warnings.is_empty());
    let reads = o.env.reads();
    assert!(
        !reads.iter().any(|n| n.starts_with("SPECLINE_SECURITY__")),
        "{reads:?}"
    );
    assert!(
        !reads.iter().any(|n| n.starts_with("SPECLINE_ANALYZER__")),
        "{reads:?}"
    );
    assert!(reads.contains(&"SPECLINE_PROVIDER__API_KEY".to_string()));
}

#[test]
fn analyzer_never_reads_provider_settings() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
        ("SPECLINE_PROVIDER__KIND", "bogus"),
        ("SPECLINE_PROVIDER__API_KEY", "sk-should-never-be-read"),
    ]);
    let s = Settings::load::<AnalyzerSettings>(&o).unwrap().settings;
    assert!(!format!("{s:?}").contains("sk-should"));
    let reads = o.env.reads();
    assert!(
        !reads.iter().any(|n| n.starts_with("SPECLINE_PROVIDER__")),
        "{reads:?}"
    );
}

#[test]
fn each_binary_reads_exactly_the_keys_it_uses() {
    let all: Vec<(String, String)> = everything_set();
    let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // Each binary stops at its first invalid value, so compare with a clean environment:
    // the set read is then the full set of the binary's keys and nothing else.
    let clean = [
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
    ];
    // Enqueue: the database, security and telemetry sections; with every variable set it still reads
    // no other section's.
    let o = opts(&pairs);
    let _ = Settings::load::<EnqueueSettings>(&o);
    let reads = o.env.reads();
    assert!(
        reads.iter().all(|n| n.starts_with("SPECLINE_DATABASE__")
            || n.starts_with("SPECLINE_SECURITY__")
            || n.starts_with("SPECLINE_TELEMETRY__")
            || !n.starts_with("SPECLINE_")
            || n == "SPECLINE_CONFIG"),
        "{reads:?}"
    );
    assert_eq!(
        key_reads::<EnqueueSettings>(&opts(&clean)),
        expected_reads(Binary::Enqueue)
    );
    assert!(Settings::load::<EnqueueSettings>(&opts(&clean)).is_ok());
    assert_eq!(
        key_reads::<AnalyzerSettings>(&opts(&clean)),
        expected_reads(Binary::Analyzer)
    );
    assert_eq!(
        key_reads::<SpecGeneratorSettings>(&opts(&clean)),
        expected_reads(Binary::SpecGenerator)
    );
    assert_eq!(
        key_reads::<SchedulerSettings>(&opts(&clean)),
        expected_reads(Binary::Scheduler)
    );
    assert_eq!(
        key_reads::<AllInOneSettings>(&opts(&clean)),
        expected_reads(Binary::AllInOne)
    );
    assert_eq!(
        key_reads::<ApiSettings>(&opts(&clean)),
        expected_reads(Binary::Api)
    );
    // And never a variable outside the binary's sections, even when all of them are set.
    for (binary, reads) in [
        (
            Binary::Analyzer,
            key_reads::<AnalyzerSettings>(&opts(&pairs)),
        ),
        (
            Binary::SpecGenerator,
            key_reads::<SpecGeneratorSettings>(&opts(&pairs)),
        ),
        (
            Binary::Scheduler,
            key_reads::<SchedulerSettings>(&opts(&pairs)),
        ),
        (Binary::Api, key_reads::<ApiSettings>(&opts(&pairs))),
    ] {
        let allowed = expected_reads(binary);
        assert!(reads.is_subset(&allowed), "{binary}: {reads:?}");
    }
}

/// `[telemetry]`, loaded by every separate binary.
const TELEMETRY: [&str; 6] = [
    "SPECLINE_TELEMETRY__OTLP_ENDPOINT",
    "SPECLINE_TELEMETRY__OTLP_HEADERS",
    "SPECLINE_TELEMETRY__SERVICE_NAME",
    "SPECLINE_TELEMETRY__SAMPLE_PERCENT",
    "SPECLINE_TELEMETRY__MAX_QUEUE_SPANS",
    "SPECLINE_TELEMETRY__EXPORT_TIMEOUT_SECS",
];

#[test]
fn expected_sets_written_by_hand() {
    // The registry-derived sets above, checked against the brief for two binaries.
    let scheduler: BTreeSet<String> = [
        "SPECLINE_DATABASE__URL",
        "SPECLINE_DATABASE__SCHEMA",
        "SPECLINE_DATABASE__POOL_SIZE",
        "SPECLINE_DATABASE__CA_FILE",
        "SPECLINE_SCHEDULER__RESCUE_AFTER_SECS",
        "SPECLINE_SCHEDULER__PRUNE_INTERVAL_SECS",
        "SPECLINE_SCHEDULER__RETAIN_COMPLETED_HOURS",
        "SPECLINE_SCHEDULER__REANALYZE_INTERVAL_SECS",
        "SPECLINE_SCHEDULER__SPEC_CACHE_RETAIN_DAYS",
        "SPECLINE_SCHEDULER__SPEC_CACHE_MAX_ENTRIES",
        "SPECLINE_HTTP__LISTEN",
    ]
    .into_iter()
    .chain(TELEMETRY)
    .map(String::from)
    .collect();
    assert_eq!(expected_reads(Binary::Scheduler), scheduler);
    let enqueue: BTreeSet<String> = [
        "SPECLINE_DATABASE__URL",
        "SPECLINE_DATABASE__SCHEMA",
        "SPECLINE_DATABASE__POOL_SIZE",
        "SPECLINE_DATABASE__CA_FILE",
        "SPECLINE_SECURITY__ENCRYPTION_KEY",
    ]
    .into_iter()
    .chain(TELEMETRY)
    .map(String::from)
    .collect();
    assert_eq!(expected_reads(Binary::Enqueue), enqueue);
}

#[test]
fn analyzer_starts_without_any_ai_key_and_spec_generator_without_encryption_key() {
    let a = Settings::load::<AnalyzerSettings>(&opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
    ]));
    assert!(a.is_ok());
    let g = Settings::load::<SpecGeneratorSettings>(&opts(&[("SPECLINE_DATABASE__URL", DB_URL)]));
    assert!(g.is_ok());
}

#[test]
fn env_names_per_binary_match_the_keys_each_reads() {
    for binary in Binary::ALL {
        let names: BTreeSet<String> = binary.env_names().into_iter().collect();
        assert_eq!(names, expected_reads(*binary), "{binary}");
    }
    let generator = Binary::SpecGenerator.env_names();
    assert!(!generator.contains(&"SPECLINE_SECURITY__ENCRYPTION_KEY".to_string()));
    assert!(Binary::Analyzer
        .env_names()
        .contains(&"SPECLINE_SECURITY__ENCRYPTION_KEY".to_string()));
    assert!(specline_settings::keys::is_known_env("SPECLINE_LOG"));
    assert!(specline_settings::keys::is_known_env(
        "SPECLINE_PROVIDER__API_KEY"
    ));
    assert!(!specline_settings::keys::is_known_env(
        "SPECLINE_DATABASE_URL"
    ));
}

#[test]
fn check_all_reports_each_binary_separately() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_PROVIDER__KIND", "gemini"),
        ("SPECLINE_PROVIDER__MODEL", "m"),
        ("SPECLINE_PROVIDER__API_KEY", "k"),
        ("SPECLINE_SCHEDULER_PRUNE_INTERVAL_SECS", "60"),
    ]);
    let results = Settings::check_all(&o);
    let summary: Vec<(Binary, Result<usize, &'static str>)> = results
        .iter()
        .map(|(b, r)| (*b, r.as_ref().map(Vec::len).map_err(|e| e.code())))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Binary::Analyzer, Err("SETTINGS_MISSING")),
            (Binary::SpecGenerator, Ok(1)),
            (Binary::Scheduler, Ok(1)),
            (Binary::Enqueue, Ok(1)),
            (Binary::AllInOne, Ok(1)),
        ]
    );
    let analyzer_error = results[0].1.as_ref().unwrap_err().to_string();
    assert_eq!(
        analyzer_error,
        "SETTINGS_MISSING: security.encryption_key (env SPECLINE_SECURITY__ENCRYPTION_KEY) is \
         required by specline-analyzer"
    );
}

#[test]
fn the_api_reads_no_provider_or_worker_settings_and_gateway_mode_needs_its_proxies() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_PROVIDER__API_KEY", "sk-should-never-be-read"),
        ("SPECLINE_ANALYZER__CONCURRENCY", "not a number"),
    ]);
    let s = Settings::load::<ApiSettings>(&o).unwrap().settings;
    assert!(!format!("{s:?}").contains("sk-should"));
    let reads = o.env.reads();
    assert!(
        !reads
            .iter()
            .any(|n| n.starts_with("SPECLINE_PROVIDER__") || n.starts_with("SPECLINE_ANALYZER__")),
        "{reads:?}"
    );
    assert_eq!(s.repository_policy.allowed_schemes, "https");
    assert!(!s.repository_policy.allow_local_paths);
    assert!(!s.repository_policy.allow_private_addresses);
    let e = Settings::load::<ApiSettings>(&opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_API__AUTH", "gateway"),
    ]))
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(e.contains("SPECLINE_API__GATEWAY_TRUSTED_PROXIES"), "{e}");
    for (name, value, needle) in [
        (
            "SPECLINE_REPOSITORY_POLICY__ALLOWED_SCHEMES",
            "https,ftp",
            "`ftp`",
        ),
        (
            "SPECLINE_REPOSITORY_POLICY__ALLOWED_SCHEMES",
            " , ",
            "names no scheme",
        ),
        (
            "SPECLINE_API__GATEWAY_TRUSTED_PROXIES",
            "10.0.0.0/8,10.0.0.0/33",
            "`10.0.0.0/33`",
        ),
        (
            "SPECLINE_API__GATEWAY_TRUSTED_PROXIES",
            "proxy.internal",
            "`proxy.internal`",
        ),
    ] {
        let e = Settings::load::<ApiSettings>(&opts(&[
            ("SPECLINE_DATABASE__URL", DB_URL),
            ("SPECLINE_API__AUTH", "gateway"),
            ("SPECLINE_API__GATEWAY_TRUSTED_PROXIES", "127.0.0.1"),
            (name, value),
        ]))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.starts_with("SETTINGS_INVALID"), "{name}={value}: {e}");
        assert!(
            e.contains(name) && e.contains(needle),
            "{name}={value}: {e}"
        );
    }
}
