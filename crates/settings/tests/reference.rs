//! `docs/settings.md` is the generated reference, byte for byte.

#[test]
fn docs_settings_md_is_the_generated_reference() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/settings.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = specline_settings::reference_markdown();
    assert!(
        committed == generated,
        "docs/settings.md is out of date; regenerate it with\n  \
         cargo run -p specline-settings --example settings_reference > docs/settings.md"
    );
}

#[test]
fn reference_lists_every_key_with_its_env_var() {
    let md = specline_settings::reference_markdown();
    for key in specline_settings::keys::KEYS {
        let row = format!(
            "| {} | `{}` | `{}` |",
            key.section.name(),
            key.key,
            key.env_name()
        );
        assert!(md.contains(&row), "missing row for {}", key.path());
    }
    // A few rows checked by hand, default and binaries included.
    assert!(md.contains(
        "| security | `encryption_key` | `SPECLINE_SECURITY__ENCRYPTION_KEY` | secret: 32 bytes, base64 | unset | specline-analyzer **(required)**<br>specline-enqueue<br>specline-api<br>specline |"
    ));
    assert!(md.contains(
        "| http | `listen` | `SPECLINE_HTTP__LISTEN` | socket address (ip:port) | `0.0.0.0:9101` (specline-analyzer)<br>`0.0.0.0:9102` (specline-spec-generator)<br>`0.0.0.0:9103` (specline-scheduler)<br>`0.0.0.0:8080` (specline-api)<br>`127.0.0.1:9100` (specline) | specline-analyzer<br>specline-spec-generator<br>specline-scheduler<br>specline-api<br>specline |"
    ));
    assert!(md.contains(
        "| `specline-spec-generator` | `database`, `spec_generator`, `provider`, `http`, `telemetry` |"
    ));
}
