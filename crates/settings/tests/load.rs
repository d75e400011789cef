//! Loading: defaults, file, environment, precedence, and every error code with the key named.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use common::{env, file, opts, DB_URL, KEY, SHORT_KEY};
use specline_settings::{
    AllInOneSettings, AnalyzerSettings, DatabaseTarget, EnqueueSettings, LoadOptions, ProviderKind,
    SchedulerSettings, Settings, SpecGeneratorSettings,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn all_in_one_needs_nothing_and_uses_sqlite_in_the_data_dir() {
    let loaded = Settings::load::<AllInOneSettings>(&opts(&[])).unwrap();
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.file, None);
    let s = loaded.settings;
    match s.database_target() {
        DatabaseTarget::Sqlite { path } => {
            assert_eq!(path, PathBuf::from(".specline/specline.sqlite3"))
        }
        other => panic!("expected SQLite, got {other:?}"),
    }
    assert_eq!(s.database.schema, "public");
    assert_eq!(s.database.pool_size, 16);
    assert_eq!(s.analyzer.concurrency, 4);
    assert_eq!(s.analyzer.job_timeout_secs, 900);
    assert_eq!(s.analyzer.shutdown_deadline_secs, 30);
    assert_eq!(s.analyzer.max_file_bytes, 2_097_152);
    assert_eq!(s.analyzer.clone_timeout_secs, 300);
    assert_eq!(s.spec_generator.concurrency, 8);
    assert_eq!(s.spec_generator.job_timeout_secs, 3600);
    assert_eq!(s.spec_generator.shutdown_deadline_secs, 120);
    assert_eq!(s.spec_generator.default_language, "en");
    assert_eq!(s.analyzer.analyses_per_owner, 2);
    assert_eq!(s.spec_generator.steps_per_owner, 2);
    assert_eq!(s.spec_generator.features_per_owner, 12);
    assert_eq!(s.provider.kind, ProviderKind::None);
    assert!(s.provider.api_key.is_none());
    assert_eq!(s.provider.timeout_secs, 120);
    assert_eq!(s.provider.max_retries, 3);
    assert_eq!(s.provider.requests_per_minute, None);
    assert_eq!(s.scheduler.rescue_after_secs, 300);
    assert_eq!(s.scheduler.prune_interval_secs, 3600);
    assert_eq!(s.scheduler.retain_completed_hours, 168);
    assert_eq!(s.scheduler.reanalyze_interval(), None);
    assert!(s.security.encryption_key.is_none());
    assert_eq!(s.http.listen, addr("127.0.0.1:9100"));
    assert_eq!(s.local.data_dir, PathBuf::from(".specline"));
}

#[test]
fn all_in_one_sqlite_path_and_data_dir_are_settable() {
    let o = opts(&[
        ("SPECLINE_LOCAL__DATA_DIR", "/var/lib/specline"),
        ("SPECLINE_DATABASE__SQLITE_PATH", "/tmp/x.db"),
    ]);
    let s = Settings::load::<AllInOneSettings>(&o).unwrap().settings;
    match s.database_target() {
        DatabaseTarget::Sqlite { path } => assert_eq!(path, PathBuf::from("/tmp/x.db")),
        other => panic!("expected SQLite, got {other:?}"),
    }
    let o = opts(&[("SPECLINE_LOCAL__DATA_DIR", "/var/lib/specline")]);
    let s = Settings::load::<AllInOneSettings>(&o).unwrap().settings;
    match s.database_target() {
        DatabaseTarget::Sqlite { path } => {
            assert_eq!(path, PathBuf::from("/var/lib/specline/specline.sqlite3"))
        }
        other => panic!("expected SQLite, got {other:?}"),
    }
}

#[test]
fn all_in_one_uses_postgres_when_a_url_is_set() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_DATABASE__SCHEMA", "tenant_a"),
        ("SPECLINE_DATABASE__CA_FILE", "/etc/specline/db-ca.pem"),
    ]);
    let s = Settings::load::<AllInOneSettings>(&o).unwrap().settings;
    match s.database_target() {
        DatabaseTarget::Postgres {
            url,
            schema,
            pool_size,
            ca_file,
        } => {
            assert_eq!(url.expose(), DB_URL);
            assert_eq!(schema, "tenant_a");
            assert_eq!(pool_size, 16);
            assert_eq!(
                ca_file.as_deref(),
                Some(std::path::Path::new("/etc/specline/db-ca.pem"))
            );
        }
        other => panic!("expected Postgres, got {other:?}"),
    }
}

#[test]
fn each_worker_has_its_own_default_port() {
    let base = [("SPECLINE_DATABASE__URL", DB_URL)];
    let with_key = [
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
    ];
    let a = Settings::load::<AnalyzerSettings>(&opts(&with_key)).unwrap();
    assert_eq!(a.settings.http.listen, addr("0.0.0.0:9101"));
    let g = Settings::load::<SpecGeneratorSettings>(&opts(&base)).unwrap();
    assert_eq!(g.settings.http.listen, addr("0.0.0.0:9102"));
    let s = Settings::load::<SchedulerSettings>(&opts(&base)).unwrap();
    assert_eq!(s.settings.http.listen, addr("0.0.0.0:9103"));
}

#[test]
fn analyzer_loads_from_env() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
        ("SPECLINE_ANALYZER__CONCURRENCY", "12"),
        ("SPECLINE_ANALYZER__MAX_FILE_BYTES", "1000"),
        ("SPECLINE_ANALYZER__ANALYSES_PER_OWNER", "5"),
        ("SPECLINE_HTTP__LISTEN", "127.0.0.1:8080"),
    ]);
    let loaded = Settings::load::<AnalyzerSettings>(&o).unwrap();
    assert!(loaded.warnings.is_empty());
    let s = loaded.settings;
    assert_eq!(s.database.url.as_ref().map(|u| u.expose()), Some(DB_URL));
    assert_eq!(
        s.security.encryption_key.as_ref().map(|k| k.expose()),
        Some(KEY)
    );
    assert_eq!(s.analyzer.concurrency, 12);
    assert_eq!(s.analyzer.max_file_bytes, 1000);
    assert_eq!(s.analyzer.analyses_per_owner, 5);
    assert_eq!(s.analyzer.job_timeout().as_secs(), 900);
    assert_eq!(s.http.listen, addr("127.0.0.1:8080"));
}

#[test]
fn file_values_apply_and_env_overrides_them() {
    let (_dir, path) = file(&format!(
        r#"
[database]
url = "{DB_URL}"
pool_size = 4

[analyzer]
concurrency = 2
job_timeout_secs = 100

[security]
encryption_key = "{KEY}"
"#
    ));
    let o = LoadOptions::new(env(&[
        ("SPECLINE_ANALYZER__CONCURRENCY", "6"),
        ("SPECLINE_DATABASE__POOL_SIZE", "32"),
    ]))
    .file(&path);
    let loaded = Settings::load::<AnalyzerSettings>(&o).unwrap();
    assert_eq!(loaded.file.as_deref(), Some(path.as_path()));
    let s = loaded.settings;
    assert_eq!(s.analyzer.concurrency, 6, "env wins over file");
    assert_eq!(s.database.pool_size, 32, "env wins over file");
    assert_eq!(s.analyzer.job_timeout_secs, 100, "file wins over default");
    assert_eq!(s.analyzer.clone_timeout_secs, 300, "default when neither");
    assert_eq!(s.database.url.as_ref().map(|u| u.expose()), Some(DB_URL));
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let (_dir, path) = file("[analyzer]\nconcurrency = 3\n");
    let o = LoadOptions::new(env(&[("SPECLINE_ANALYZER__CONCURRENCY", "")])).file(&path);
    let s = Settings::load::<AllInOneSettings>(&o).unwrap().settings;
    assert_eq!(s.analyzer.concurrency, 3);
}

#[test]
fn specline_config_names_the_file_when_none_is_given() {
    let (_dir, path) = file("[scheduler]\nreanalyze_interval_secs = 3600\n");
    let o = opts(&[
        ("SPECLINE_CONFIG", path.to_str().unwrap()),
        ("SPECLINE_DATABASE__URL", DB_URL),
    ]);
    let loaded = Settings::load::<SchedulerSettings>(&o).unwrap();
    assert_eq!(loaded.file.as_deref(), Some(path.as_path()));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(
        loaded
            .settings
            .scheduler
            .reanalyze_interval()
            .map(|d| d.as_secs()),
        Some(3600)
    );
}

#[test]
fn missing_required_key_is_named_as_file_key_and_env_var() {
    let err = Settings::load::<AnalyzerSettings>(&opts(&[("SPECLINE_DATABASE__URL", DB_URL)]))
        .unwrap_err();
    assert_eq!(err.code(), "SETTINGS_MISSING");
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: security.encryption_key (env SPECLINE_SECURITY__ENCRYPTION_KEY) is required by specline-analyzer"
    );

    for err in [
        Settings::load::<EnqueueSettings>(&opts(&[]))
            .map(|_| ())
            .unwrap_err(),
        Settings::load::<SchedulerSettings>(&opts(&[]))
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), "SETTINGS_MISSING");
        assert!(
            err.to_string()
                .starts_with("SETTINGS_MISSING: database.url (env SPECLINE_DATABASE__URL) is required by specline-"),
            "{err}"
        );
    }
    let err = Settings::load::<EnqueueSettings>(&opts(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: database.url (env SPECLINE_DATABASE__URL) is required by specline-enqueue"
    );
}

#[test]
fn missing_key_error_points_at_the_near_miss_that_is_set() {
    let err =
        Settings::load::<EnqueueSettings>(&opts(&[("SPECLINE_DATABASE_URL", DB_URL)])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: database.url (env SPECLINE_DATABASE__URL) is required by specline-enqueue; \
         SPECLINE_DATABASE_URL is set: did you mean SPECLINE_DATABASE__URL?"
    );
    let err =
        Settings::load::<EnqueueSettings>(&opts(&[("SPECLINE_DATABASE__URL", "")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: database.url (env SPECLINE_DATABASE__URL) is required by specline-enqueue; \
         SPECLINE_DATABASE__URL is set but empty"
    );
}

#[test]
fn missing_key_error_points_at_a_near_miss_in_the_file() {
    let (_dir, path) = file(&format!("database_url = \"{DB_URL}\"\n"));
    let err =
        Settings::load::<EnqueueSettings>(&LoadOptions::new(env(&[])).file(&path)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: database.url (env SPECLINE_DATABASE__URL) is required by specline-enqueue; \
         database_url is set: did you mean database.url?"
    );
}

#[test]
fn invalid_env_value_names_key_source_and_expected_type() {
    let err =
        Settings::load::<AllInOneSettings>(&opts(&[("SPECLINE_ANALYZER__CONCURRENCY", "abc")]))
            .unwrap_err();
    assert_eq!(err.code(), "SETTINGS_INVALID");
    assert_eq!(
        err.to_string(),
        "SETTINGS_INVALID: analyzer.concurrency (env SPECLINE_ANALYZER__CONCURRENCY) from env \
         SPECLINE_ANALYZER__CONCURRENCY: expected integer 1..=1024, found \"abc\""
    );
    let err = Settings::load::<AllInOneSettings>(&opts(&[("SPECLINE_ANALYZER__CONCURRENCY", "0")]))
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected integer 1..=1024, found \"0\""),
        "{err}"
    );

    let err = Settings::load::<AllInOneSettings>(&opts(&[("SPECLINE_HTTP__LISTEN", "localhost")]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_INVALID: http.listen (env SPECLINE_HTTP__LISTEN) from env SPECLINE_HTTP__LISTEN: \
         expected socket address (ip:port), found \"localhost\""
    );
    let err = Settings::load::<AllInOneSettings>(&opts(&[("SPECLINE_PROVIDER__KIND", "Gemini")]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_INVALID: provider.kind (env SPECLINE_PROVIDER__KIND) from env SPECLINE_PROVIDER__KIND: \
         expected one of none, gemini, openai, found \"Gemini\""
    );
    let err = Settings::load::<AllInOneSettings>(&opts(&[(
        "SPECLINE_SPEC_GENERATOR__DEFAULT_LANGUAGE",
        "en_US",
    )]))
    .unwrap_err();
    assert!(
        err.to_string().contains("spec_generator.default_language"),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("expected language tag (BCP 47), found \"en_US\""),
        "{err}"
    );
    let err =
        Settings::load::<AllInOneSettings>(&opts(&[("SPECLINE_DATABASE__SCHEMA", "My-Schema")]))
            .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("SETTINGS_INVALID: database.schema (env SPECLINE_DATABASE__SCHEMA)"),
        "{err}"
    );
}

#[test]
fn invalid_database_url_is_reported_without_its_value() {
    let err = Settings::load::<EnqueueSettings>(&opts(&[(
        "SPECLINE_DATABASE__URL",
        "mysql://root:hunter2@db/specline",
    )]))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_INVALID: database.url (env SPECLINE_DATABASE__URL) from env SPECLINE_DATABASE__URL: \
         expected secret URL (postgres:// or postgresql://), found a value (not shown)"
    );
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[test]
fn file_type_errors_name_the_key_the_file_and_the_types() {
    let (_dir, path) = file("[analyzer]\nconcurrency = \"4\"\n");
    let err =
        Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(&path)).unwrap_err();
    assert_eq!(err.code(), "SETTINGS_INVALID");
    assert_eq!(
        err.to_string(),
        format!(
            "SETTINGS_INVALID: analyzer.concurrency (env SPECLINE_ANALYZER__CONCURRENCY) from file {}: \
             expected integer 1..=1024, found a string",
            path.display()
        )
    );
    let (_dir, path) = file("[http]\nlisten = 9100\n");
    let err =
        Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(&path)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected socket address (ip:port) (a string), found an integer"),
        "{err}"
    );
    let (_dir, path) = file("[scheduler]\nretain_completed_hours = -1\n");
    let err =
        Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(&path)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected integer 1..=87600, found -1"),
        "{err}"
    );
}

#[test]
fn a_section_that_is_not_a_table_is_invalid() {
    let (_dir, path) = file("database = \"postgres://x\"\n");
    let err =
        Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(&path)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "SETTINGS_INVALID: database (env SPECLINE_DATABASE__*) from file {}: expected a table ([section])",
            path.display()
        )
    );
}

#[test]
fn malformed_encryption_key_is_invalid_and_not_echoed() {
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", SHORT_KEY),
    ]);
    let err = Settings::load::<AnalyzerSettings>(&o).unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_INVALID: security.encryption_key (env SPECLINE_SECURITY__ENCRYPTION_KEY) from env \
         SPECLINE_SECURITY__ENCRYPTION_KEY: expected secret: 32 bytes, base64; the value decodes to 16 bytes"
    );
    let o = opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", "not base64 at all!"),
    ]);
    let err = Settings::load::<AnalyzerSettings>(&o).unwrap_err();
    assert!(
        err.to_string().ends_with("the value is not valid base64"),
        "{err}"
    );
    assert!(!err.to_string().contains("not base64 at all"));
}

#[test]
fn file_errors_have_their_own_code() {
    let missing = std::env::temp_dir().join("specline-settings-no-such-file.toml");
    let err =
        Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(&missing)).unwrap_err();
    assert_eq!(err.code(), "SETTINGS_FILE");
    assert!(
        err.to_string().starts_with(&format!(
            "SETTINGS_FILE: {}: cannot read: ",
            missing.display()
        )),
        "{err}"
    );

    let (_dir, path) = file("[analyzer]\nconcurrency = = 3\n");
    let err =
        Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(&path)).unwrap_err();
    assert_eq!(err.code(), "SETTINGS_FILE");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "SETTINGS_FILE: {}: not valid TOML: ",
            path.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("line 2"),
        "the TOML error points at the line: {text}"
    );
}

#[test]
fn provider_requirements_depend_on_the_kind() {
    let base = ("SPECLINE_DATABASE__URL", DB_URL);
    let err = Settings::load::<SpecGeneratorSettings>(&opts(&[
        base,
        ("SPECLINE_PROVIDER__KIND", "gemini"),
        ("SPECLINE_PROVIDER__API_KEY", "k"),
    ]))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: provider.model (env SPECLINE_PROVIDER__MODEL) is required by \
         specline-spec-generator when provider.kind = \"gemini\""
    );
    let err = Settings::load::<SpecGeneratorSettings>(&opts(&[
        base,
        ("SPECLINE_PROVIDER__KIND", "gemini"),
        ("SPECLINE_PROVIDER__MODEL", "gemini-2.5-flash"),
    ]))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: provider.api_key (env SPECLINE_PROVIDER__API_KEY) is required by \
         specline-spec-generator when provider.kind = \"gemini\""
    );
    let err = Settings::load::<SpecGeneratorSettings>(&opts(&[
        base,
        ("SPECLINE_PROVIDER__KIND", "openai"),
        ("SPECLINE_PROVIDER__MODEL", "gpt-x"),
    ]))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SETTINGS_MISSING: provider.api_key (env SPECLINE_PROVIDER__API_KEY) is required by \
         specline-spec-generator when provider.kind = \"openai\" and provider.base_url is unset"
    );
    // A local OpenAI-compatible server needs no key.
    let s = Settings::load::<SpecGeneratorSettings>(&opts(&[
        base,
        ("SPECLINE_PROVIDER__KIND", "openai"),
        ("SPECLINE_PROVIDER__MODEL", "llama"),
        ("SPECLINE_PROVIDER__BASE_URL", "http://127.0.0.1:8080/v1"),
        ("SPECLINE_PROVIDER__REQUESTS_PER_MINUTE", "30"),
    ]))
    .unwrap()
    .settings;
    assert_eq!(s.provider.kind, ProviderKind::OpenAi);
    assert_eq!(
        s.provider.base_url.as_deref(),
        Some("http://127.0.0.1:8080/v1")
    );
    assert!(s.provider.api_key.is_none());
    assert_eq!(s.provider.requests_per_minute, Some(30));
    // The all-in-one has the same rule: nothing is required until a provider is chosen.
    let err = Settings::load::<AllInOneSettings>(&opts(&[("SPECLINE_PROVIDER__KIND", "gemini")]))
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "SETTINGS_MISSING: provider.model (env SPECLINE_PROVIDER__MODEL) is required by specline when"
        ),
        "{err}"
    );
}

#[test]
fn process_env_source_lists_names_without_being_mutated() {
    // Read-only use of the real environment: listing names must work; nothing is set.
    let env = specline_settings::Env::from_process_env();
    let names = env.names();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(env.reads().is_empty());
}

/// A TOML syntax error names the line and what was expected, never the line itself: the
/// usual mistake is an unquoted URL or key, and the parser's own message would print it.
#[test]
fn a_toml_error_never_quotes_the_secret_on_the_offending_line() {
    const PASSWORD: &str = "Pa55w0rd-in-the-url";
    const API_KEY: &str = "sk-live-abcdef0123456789";
    for text in [
        format!("[database]\nurl = postgres://specline:{PASSWORD}@db.internal/specline\n"),
        format!("[provider]\nkind = \"openai\"\napi_key = {API_KEY}\n"),
        format!("[provider]\napi_key = \"{API_KEY}\n"),
        format!("[provider]\napi_key = '{API_KEY}' trailing\n"),
        format!("[security]\nencryption_key = {API_KEY} = x\n"),
    ] {
        let (_dir, path) = file(&text);
        let err = Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(&path))
            .unwrap_err();
        assert_eq!(err.code(), "SETTINGS_FILE", "{text}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("line "), "{shown}");
        for secret in [PASSWORD, API_KEY, "sk-live", "Pa55w0rd"] {
            assert!(
                !shown.contains(secret),
                "the error shows {secret:?} from {text:?}: {shown}"
            );
        }
    }
}

/// The file path may name anything: a device that never ends, or a huge file. Either is
/// refused after at most the bound has been read.
#[test]
fn an_endless_or_huge_settings_file_is_refused_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(specline_settings::MAX_FILE_BYTES + 1)
        .unwrap();
    for path in [std::path::Path::new("/dev/zero"), huge.as_path()] {
        let err =
            Settings::load::<AllInOneSettings>(&LoadOptions::new(env(&[])).file(path)).unwrap_err();
        assert_eq!(err.code(), "SETTINGS_FILE", "{err}");
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}

/// The model rollout's candidate (`provider.candidate_*`): loaded as given, its key a secret
/// that `Debug` does not show.
#[test]
fn a_candidate_model_is_loaded_and_its_key_never_shown() {
    let s = Settings::load::<SpecGeneratorSettings>(&opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        ("SPECLINE_PROVIDER__KIND", "openai"),
        ("SPECLINE_PROVIDER__MODEL", "gpt-x"),
        ("SPECLINE_PROVIDER__API_KEY", "sk-primary"),
        ("SPECLINE_PROVIDER__CANDIDATE_MODEL", "gpt-y"),
        (
            "SPECLINE_PROVIDER__CANDIDATE_BASE_URL",
            "http://127.0.0.1:9/v1",
        ),
        (
            "SPECLINE_PROVIDER__CANDIDATE_API_KEY",
            "sk-candidate-secret",
        ),
    ]))
    .unwrap()
    .settings;
    assert_eq!(s.provider.candidate_model.as_deref(), Some("gpt-y"));
    assert_eq!(
        s.provider.candidate_base_url.as_deref(),
        Some("http://127.0.0.1:9/v1")
    );
    assert_eq!(
        s.provider.candidate_api_key.as_ref().unwrap().expose(),
        "sk-candidate-secret"
    );
    let shown = format!("{s:?}");
    assert!(!shown.contains("sk-candidate-secret"), "{shown}");
    // Unset, there is no candidate.
    let s = Settings::load::<SpecGeneratorSettings>(&opts(&[("SPECLINE_DATABASE__URL", DB_URL)]))
        .unwrap()
        .settings;
    assert!(s.provider.candidate_model.is_none());
}

#[test]
fn owner_weights_load_from_env_and_file_and_default_to_none() {
    let s = Settings::load::<AllInOneSettings>(&opts(&[]))
        .unwrap()
        .settings;
    assert!(s.analyzer.owner_weights.is_empty());
    assert!(s.spec_generator.owner_weights.is_empty());

    let (_dir, path) = file("[spec_generator]\nowner_weights = \"gold=5\"\n");
    let o = LoadOptions::new(env(&[(
        "SPECLINE_ANALYZER__OWNER_WEIGHTS",
        " acme=3 , beta-co = 2,,",
    )]))
    .file(&path);
    let s = Settings::load::<AllInOneSettings>(&o).unwrap().settings;
    let analyzer: Vec<(&str, u32)> = s
        .analyzer
        .owner_weights
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(analyzer, vec![("acme", 3), ("beta-co", 2)]);
    let generator: Vec<(&str, u32)> = s
        .spec_generator
        .owner_weights
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(generator, vec![("gold", 5)]);
}

#[test]
fn malformed_owner_weights_are_refused_naming_the_key_and_the_item() {
    let cases = [
        ("acme", "\"acme\" is not `owner=weight`"),
        ("=3", "\"=3\" names no owner"),
        (
            "acme=0",
            "the weight of \"acme\" is not a whole number from 1 to 1000",
        ),
        (
            "acme=1001",
            "the weight of \"acme\" is not a whole number from 1 to 1000",
        ),
        (
            "acme=-1",
            "the weight of \"acme\" is not a whole number from 1 to 1000",
        ),
        (
            "acme=two",
            "the weight of \"acme\" is not a whole number from 1 to 1000",
        ),
        ("acme=1,acme=2", "\"acme\" is named twice"),
        ("a\u{1b}[31m=x", "the weight of \"a\\u{1b}[31m\" is not"),
    ];
    for (value, problem) in cases {
        let err = Settings::load::<AnalyzerSettings>(&opts(&[
            ("SPECLINE_DATABASE__URL", DB_URL),
            ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
            ("SPECLINE_ANALYZER__OWNER_WEIGHTS", value),
        ]))
        .unwrap_err();
        assert_eq!(err.code(), "SETTINGS_INVALID", "{value}: {err}");
        let text = err.to_string();
        assert!(
            text.starts_with(
                "SETTINGS_INVALID: analyzer.owner_weights (env SPECLINE_ANALYZER__OWNER_WEIGHTS)"
            ),
            "{value}: {text}"
        );
        assert!(text.contains(problem), "{value}: {text}");
    }
    let too_many: Vec<String> = (0..=specline_settings::OWNER_WEIGHTS_MAX)
        .map(|i| format!("o{i}=1"))
        .collect();
    let err = Settings::load::<SpecGeneratorSettings>(&opts(&[
        ("SPECLINE_DATABASE__URL", DB_URL),
        (
            "SPECLINE_SPEC_GENERATOR__OWNER_WEIGHTS",
            &too_many.join(","),
        ),
    ]))
    .unwrap_err();
    assert!(
        err.to_string().contains("more than 10000 owners are named"),
        "{err}"
    );
}
