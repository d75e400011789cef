//! The engine's modules form a one-way graph: no module uses, directly or through others, a
//! module that uses it (issue 12). Read from the `crate::` paths in the code of
//! `crates/queue/src` (comments aside), so a new loop fails here, naming it.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module of each source file, and the top-level modules its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" {
            continue;
        }
        let deps = graph.entry(top.clone()).or_default();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

fn reaches(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    for dep in graph.get(from).into_iter().flatten() {
        if dep == to {
            return true;
        }
        if seen.insert(dep.clone()) && reaches(graph, dep, to, seen) {
            return true;
        }
    }
    false
}

#[test]
fn no_module_of_the_engine_depends_on_itself_through_others() {
    let graph = graph();
    assert!(graph.contains_key("worker") && graph.contains_key("store"));
    let mut loops = Vec::new();
    for (module, deps) in &graph {
        for dep in deps.iter().filter(|d| graph.contains_key(*d)) {
            if reaches(&graph, dep, module, &mut BTreeSet::new()) {
                loops.push(format!("{module} -> {dep} -> … -> {module}"));
            }
        }
    }
    assert!(loops.is_empty(), "import loops: {loops:#?}");
}
