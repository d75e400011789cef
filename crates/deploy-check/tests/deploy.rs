//! The real `deploy/` directory passes; copies of it with one mistake each fail with that
//! mistake's code, on the service that has it.
// Test helpers outside `#[test]` functions: a failed setup step should stop the test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use specline_deploy_check::{check_deploy, codes, DeployCheckError, Report, ServiceSpec};
use specline_settings::Binary;
use tempfile::TempDir;

/// What the code says each long-running binary consumes, from the code itself.
fn services() -> Vec<ServiceSpec> {
    vec![
        ServiceSpec::new(Binary::Analyzer, [specline_app::ANALYZE_QUEUE]),
        ServiceSpec::new(Binary::SpecGenerator, [specline_app::SPEC_QUEUE]),
        ServiceSpec::new(Binary::Scheduler, Vec::<String>::new()),
        ServiceSpec::new(Binary::Enqueue, Vec::<String>::new()),
    ]
}

fn real_deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A copy of `deploy/` to break.
struct Copy(TempDir);

impl Copy {
    fn new() -> Copy {
        let dir = TempDir::new().unwrap();
        copy_dir(&real_deploy(), dir.path());
        Copy(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.path().join(file)
    }

    /// Replaces the first occurrence of `from` (which must be there) in `file`.
    fn replace(self, file: &str, from: &str, to: &str) -> Copy {
        let path = self.path(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        self
    }

    fn check(&self) -> Report {
        check_deploy(self.0.path(), &services()).unwrap()
    }
}

/// Checks a copy of `deploy/` with `edits` (file, text, replacement) applied, and asserts that
/// the findings are exactly `expected` (code, service), in report order.
fn broken(edits: &[(&str, &str, &str)], expected: &[(&str, &str)]) -> Report {
    let copy = edits.iter().fold(Copy::new(), |copy, (file, from, to)| {
        copy.replace(file, from, to)
    });
    let report = copy.check();
    assert_found(&report, expected);
    report
}

fn assert_found(report: &Report, expected: &[(&str, &str)]) {
    let found: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.code, f.service.as_str()))
        .collect();
    assert_eq!(found, expected, "{report:#?}");
}

/// The one finding with `code`, which must exist.
fn only<'a>(report: &'a Report, code: &str) -> &'a specline_deploy_check::Finding {
    let mut it = report.with_code(code);
    let f = it
        .next()
        .unwrap_or_else(|| panic!("no {code} in {report:#?}"));
    assert!(it.next().is_none(), "several {code} in {report:#?}");
    f
}

const ANALYZER_K8S: &str = "Deployment/specline-analyzer[analyzer]";
const SPEC_K8S: &str = "Deployment/specline-spec-generator[spec-generator]";
const ANALYZER_FILE: &str = "k8s/40-analyzer.yaml";
const SPEC_FILE: &str = "k8s/41-spec-generator.yaml";
const CONFIG_FILE: &str = "k8s/10-configmap.yaml";
const SCALING_FILE: &str = "k8s/50-autoscaling.yaml";
const SPEC_SCALER: &str = "ScaledObject/specline-spec-generator";

#[test]
fn a_scaler_on_another_queue_than_the_code_gives_its_target_is_a_scaler_mismatch() {
    let report = broken(
        &[(
            SCALING_FILE,
            r#"specline_queue_jobs{queue="spec""#,
            r#"specline_queue_jobs{queue="specs""#,
        )],
        &[(codes::SCALER_MISMATCH, SPEC_SCALER)],
    );
    let f = only(&report, codes::SCALER_MISMATCH);
    assert!(
        f.message.contains("specs") && f.message.contains("gives it spec"),
        "{f}"
    );
}

#[test]
fn a_scaler_annotation_naming_another_queue_is_a_scaler_mismatch() {
    broken(
        &[(
            SCALING_FILE,
            "specline.dev/queues: \"spec\"",
            "specline.dev/queues: \"analyze\"",
        )],
        &[(codes::SCALER_MISMATCH, SPEC_SCALER)],
    );
}

#[test]
fn a_scaler_of_a_deployment_that_does_not_exist_or_consumes_nothing_is_reported() {
    let report = broken(
        &[(
            SCALING_FILE,
            "name: specline-spec-generator\n  minReplicaCount",
            "name: specline-spec-gen\n  minReplicaCount",
        )],
        &[(codes::SCALER_MISMATCH, SPEC_SCALER)],
    );
    assert!(only(&report, codes::SCALER_MISMATCH)
        .message
        .contains("specline-spec-gen"));
    let report = broken(
        &[(
            SCALING_FILE,
            "name: specline-spec-generator\n  minReplicaCount",
            "name: specline-scheduler\n  minReplicaCount",
        )],
        &[(codes::SCALER_MISMATCH, SPEC_SCALER)],
    );
    assert!(only(&report, codes::SCALER_MISMATCH)
        .message
        .contains("consumes no queue"));
}

#[test]
fn the_real_deploy_directory_has_no_findings() {
    let report = check_deploy(&real_deploy(), &services()).unwrap();
    let shown: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(report.is_clean(), "findings:\n{}", shown.join("\n"));
    let names: Vec<String> = report
        .files_checked
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names[0], "compose.yaml");
    for expected in [
        "00-namespace.yaml",
        "10-configmap.yaml",
        "20-postgres.yaml",
        "30-migrate-job.yaml",
        "40-analyzer.yaml",
        "41-spec-generator.yaml",
        "42-scheduler.yaml",
        "50-autoscaling.yaml",
        "specline-secrets.example.yaml",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} not read");
    }
}

#[test]
fn a_wrong_queue_label_in_compose_is_a_queue_mismatch() {
    let report = broken(
        &[("compose.yaml", "queues: \"analyze\"", "queues: \"analyse\"")],
        &[(codes::QUEUE_MISMATCH, "analyzer")],
    );
    let f = only(&report, codes::QUEUE_MISMATCH);
    assert!(f.message.contains("`analyse`") && f.message.contains("`analyze`"));
    assert!(f.file.ends_with("compose.yaml"));
}

#[test]
fn a_wrong_queue_annotation_in_kubernetes_is_a_queue_mismatch() {
    broken(
        &[(SPEC_FILE, "queues: \"spec\"", "queues: \"spec,analyze\"")],
        &[(codes::QUEUE_MISMATCH, SPEC_K8S)],
    );
}

#[test]
fn a_missing_queue_label_is_a_queue_mismatch() {
    broken(
        &[("compose.yaml", "dev.specline.queues: \"\"", "other: \"\"")],
        &[(codes::QUEUE_MISMATCH, "scheduler")],
    );
}

#[test]
fn a_misspelled_variable_is_unknown_with_a_suggestion_and_leaves_the_key_missing() {
    let report = broken(
        &[(
            ANALYZER_FILE,
            "name: SPECLINE_DATABASE__URL",
            "name: SPECLINE_DATABSE__URL",
        )],
        &[
            (codes::MISSING_REQUIRED, ANALYZER_K8S),
            (codes::UNKNOWN_VARIABLE, ANALYZER_K8S),
        ],
    );
    let f = only(&report, codes::UNKNOWN_VARIABLE);
    assert!(f.message.contains("SPECLINE_DATABSE__URL"), "{f}");
    assert!(
        f.message.contains("did you mean SPECLINE_DATABASE__URL"),
        "{f}"
    );
}

#[test]
fn the_encryption_key_given_to_the_spec_generator_is_a_foreign_variable() {
    let report = broken(
        &[(
            "compose.yaml",
            "      SPECLINE_PROVIDER__KIND:",
            "      SPECLINE_SECURITY__ENCRYPTION_KEY: ${K:?k}\n      SPECLINE_PROVIDER__KIND:",
        )],
        &[(codes::FOREIGN_VARIABLE, "spec-generator")],
    );
    let f = only(&report, codes::FOREIGN_VARIABLE);
    assert!(
        f.message.contains("SPECLINE_SECURITY__ENCRYPTION_KEY"),
        "{f}"
    );
    assert!(f.message.contains("secret"), "{f}");
}

#[test]
fn an_ai_key_given_to_the_analyzer_in_kubernetes_is_a_foreign_variable() {
    let key = "                  key: SPECLINE_SECURITY__ENCRYPTION_KEY\n";
    let extra = "            - name: SPECLINE_PROVIDER__API_KEY\n              valueFrom:\n                secretKeyRef:\n                  name: specline-secrets\n                  key: SPECLINE_PROVIDER__API_KEY\n";
    broken(
        &[(ANALYZER_FILE, key, &format!("{key}{extra}"))],
        &[(codes::FOREIGN_VARIABLE, ANALYZER_K8S)],
    );
}

#[test]
fn a_missing_required_variable_is_reported() {
    let report = broken(
        &[(
            "compose.yaml",
            "      SPECLINE_SECURITY__ENCRYPTION_KEY: ${",
            "      NOT_A_SETTING: ${",
        )],
        &[(codes::MISSING_REQUIRED, "analyzer")],
    );
    let f = only(&report, codes::MISSING_REQUIRED);
    assert!(
        f.message.contains("SPECLINE_SECURITY__ENCRYPTION_KEY"),
        "{f}"
    );
}

#[test]
fn a_conditional_requirement_is_reported() {
    let report = broken(
        &[(CONFIG_FILE, "KIND: \"none\"", "KIND: \"gemini\"")],
        &[(codes::MISSING_REQUIRED, SPEC_K8S)],
    );
    let f = only(&report, codes::MISSING_REQUIRED);
    assert!(
        f.message.contains("provider.model") && f.message.contains("gemini"),
        "{f}"
    );
}

#[test]
fn a_literal_the_settings_crate_rejects_is_an_invalid_value() {
    broken(
        &[
            (CONFIG_FILE, "CONCURRENCY: \"2\"", "CONCURRENCY: \"lots\""),
            (
                "compose.yaml",
                "LISTEN: 0.0.0.0:9103",
                "LISTEN: localhost:9103",
            ),
        ],
        &[
            (codes::INVALID_VALUE, "scheduler"),
            (codes::INVALID_VALUE, ANALYZER_K8S),
        ],
    );
}

#[test]
fn a_wrong_healthcheck_port_in_compose_is_a_probe_port_finding() {
    let report = broken(
        &[(
            "compose.yaml",
            "127.0.0.1:9102/healthz",
            "127.0.0.1:9101/healthz",
        )],
        &[(codes::PROBE_PORT, "spec-generator")],
    );
    let f = only(&report, codes::PROBE_PORT);
    assert!(
        f.message.contains("9101") && f.message.contains("9102"),
        "{f}"
    );
}

#[test]
fn a_wrong_container_port_in_kubernetes_is_a_probe_port_finding() {
    // The named probe port now resolves to 9100 (two probes), and no container port is 9101.
    broken(
        &[(ANALYZER_FILE, "containerPort: 9101", "containerPort: 9100")],
        &[(codes::PROBE_PORT, ANALYZER_K8S); 3],
    );
}

#[test]
fn a_listen_address_that_moves_the_port_breaks_the_probes() {
    broken(
        &[(
            "compose.yaml",
            "LISTEN: 0.0.0.0:9101",
            "LISTEN: 0.0.0.0:8080",
        )],
        &[(codes::PROBE_PORT, "analyzer")],
    );
}

#[test]
fn an_undefined_secret_key_in_kubernetes_is_a_missing_secret() {
    let report = broken(
        &[(
            ANALYZER_FILE,
            "key: SPECLINE_SECURITY__ENCRYPTION_KEY",
            "key: ENCRYPTION_KEY",
        )],
        &[(codes::MISSING_SECRET, ANALYZER_K8S)],
    );
    assert!(only(&report, codes::MISSING_SECRET)
        .message
        .contains("`ENCRYPTION_KEY`"));
}

#[test]
fn an_undeclared_compose_secret_is_a_missing_secret() {
    broken(
        &[(
            "compose.yaml",
            "      - postgres_password",
            "      - pg_password",
        )],
        &[(codes::MISSING_SECRET, "postgres")],
    );
}

#[test]
fn a_grace_period_shorter_than_the_shutdown_deadline_is_reported() {
    broken(
        &[
            (
                SPEC_FILE,
                "GracePeriodSeconds: 135",
                "GracePeriodSeconds: 60",
            ),
            (
                "compose.yaml",
                "stop_grace_period: 45s",
                "stop_grace_period: 20s",
            ),
        ],
        &[
            (codes::GRACE_PERIOD, "analyzer"),
            (codes::GRACE_PERIOD, SPEC_K8S),
        ],
    );
}

#[test]
fn a_binary_missing_from_a_manifest_set_is_reported() {
    let copy = Copy::new();
    std::fs::remove_file(copy.path("k8s/42-scheduler.yaml")).unwrap();
    let report = copy.check();
    assert_found(&report, &[(codes::MISSING_SERVICE, "")]);
    assert!(only(&report, codes::MISSING_SERVICE)
        .message
        .contains("specline-scheduler"));
}

#[test]
fn a_misspelled_binary_is_an_unknown_binary_and_its_service_missing() {
    broken(
        &[(
            "compose.yaml",
            "[\"specline-analyzer\"]",
            "[\"specline-analyser\"]",
        )],
        &[
            (codes::MISSING_SERVICE, ""),
            (codes::UNKNOWN_BINARY, "analyzer"),
        ],
    );
}

#[test]
fn a_secret_written_into_the_manifest_is_reported() {
    let report = broken(
        &[
            (CONFIG_FILE, "  SPECLINE_LOG: \"info\"", "  SPECLINE_PROVIDER__API_KEY: \"sk-live-123\"\n  SPECLINE_LOG: \"info\""),
            (
                SPEC_FILE,
                "secretKeyRef:\n                  name: specline-secrets\n                  key: SPECLINE_PROVIDER__API_KEY",
                "configMapKeyRef:\n                  name: specline-config\n                  key: SPECLINE_PROVIDER__API_KEY",
            ),
        ],
        &[(codes::LITERAL_SECRET, SPEC_K8S)],
    );
    assert!(!only(&report, codes::LITERAL_SECRET)
        .message
        .contains("sk-live"));
}

#[test]
fn malformed_yaml_is_an_error_naming_the_file() {
    let copy = Copy::new().replace(ANALYZER_FILE, "  replicas: 2", "  replicas: [2");
    let err = check_deploy(copy.0.path(), &services()).unwrap_err();
    assert_eq!(err.code(), "DEPLOY_YAML");
    let text = err.to_string();
    assert!(text.starts_with("DEPLOY_YAML: "), "{text}");
    assert!(text.contains("40-analyzer.yaml"), "{text}");
    match err {
        DeployCheckError::Yaml { path, line, .. } => {
            assert!(path.ends_with(ANALYZER_FILE));
            assert!(line > 0);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn malformed_compose_yaml_is_an_error_naming_the_file() {
    let copy = Copy::new();
    std::fs::write(copy.path("compose.yaml"), "services:\n  a: b: c\n").unwrap();
    let err = check_deploy(copy.0.path(), &services()).unwrap_err();
    assert!(err.to_string().contains("compose.yaml"), "{err}");
}

#[test]
fn a_directory_without_manifests_is_an_error() {
    let dir = TempDir::new().unwrap();
    let err = check_deploy(dir.path(), &services()).unwrap_err();
    assert_eq!(err.code(), "DEPLOY_NO_MANIFESTS");
}
