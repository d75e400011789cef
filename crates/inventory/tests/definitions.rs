//! Every built-in language and framework definition compiles (regexes, globs, queries).
#![allow(clippy::unwrap_used)]

#[test]
fn every_definition_compiles() {
    let reg = specline_inventory::registry::registry().unwrap();
    for lang in &reg.languages {
        lang.compile_all().unwrap();
    }
    let ids: Vec<&str> = reg.languages.iter().map(|l| l.def.id).collect();
    for id in [
        "javascript",
        "typescript",
        "python",
        "go",
        "java",
        "kotlin",
        "csharp",
        "ruby",
        "php",
        "rust",
        "swift",
        "cpp",
    ] {
        assert!(ids.contains(&id), "missing language {id}");
    }
}
