//! The committed spec is the generated one, and the server serves exactly it.
#![allow(clippy::unwrap_used)]

#[test]
fn docs_openapi_json_is_the_generated_spec() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == specline_api::openapi::json(),
        "docs/openapi.json is out of date; regenerate it with\n  \
         cargo run -p specline-api --example openapi > docs/openapi.json"
    );
}
