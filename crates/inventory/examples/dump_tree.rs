//! Prints the Tree-sitter syntax tree of a file: the tool for writing `.scm` queries.
//!
//! `cargo run -p specline-inventory --example dump_tree -- LANG FILE` where LANG is one of
//! javascript, typescript, tsx, python, go, java, kotlin, csharp, ruby, php, rust, swift, cpp.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(lang), Some(file)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: dump_tree LANG FILE");
    };
    let language: tree_sitter::Language = match lang.as_str() {
        "javascript" => tree_sitter_javascript::LANGUAGE.into(),
        "typescript" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        "tsx" => tree_sitter_typescript::LANGUAGE_TSX.into(),
        "python" => tree_sitter_python::LANGUAGE.into(),
        "go" => tree_sitter_go::LANGUAGE.into(),
        "java" => tree_sitter_java::LANGUAGE.into(),
        "kotlin" => tree_sitter_kotlin_ng::LANGUAGE.into(),
        "csharp" => tree_sitter_c_sharp::LANGUAGE.into(),
        "ruby" => tree_sitter_ruby::LANGUAGE.into(),
        "php" => tree_sitter_php::LANGUAGE_PHP.into(),
        "rust" => tree_sitter_rust::LANGUAGE.into(),
        "swift" => tree_sitter_swift::LANGUAGE.into(),
        "cpp" => tree_sitter_cpp::LANGUAGE.into(),
        other => anyhow::bail!("unknown language {other}"),
    };
    let source = std::fs::read(&file)?;
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&language)?;
    let tree = parser
        .parse(&source, None)
        .ok_or_else(|| anyhow::anyhow!("parse failed"))?;
    // With a third argument, run that query file and print its captures instead.
    if let Some(query_file) = args.next() {
        use tree_sitter::StreamingIterator;
        let query = tree_sitter::Query::new(&language, &std::fs::read_to_string(query_file)?)?;
        let mut cursor = tree_sitter::QueryCursor::new();
        let mut matches = cursor.matches(&query, tree.root_node(), source.as_slice());
        while let Some(m) = matches.next() {
            for c in m.captures {
                let name = query.capture_names()[c.index as usize];
                let text = c.node.utf8_text(&source).unwrap_or("");
                let short: String = text.chars().take(50).collect();
                println!(
                    "pattern {} @{name}: {}",
                    m.pattern_index,
                    short.replace('\n', " ")
                );
            }
        }
        return Ok(());
    }
    print(tree.root_node(), &source, 0, None);
    Ok(())
}

fn print(node: tree_sitter::Node<'_>, src: &[u8], depth: usize, field: Option<&str>) {
    let text = node.utf8_text(src).unwrap_or("");
    let short: String = text
        .chars()
        .take(40)
        .collect::<String>()
        .replace('\n', "\\n");
    let field = field.map(|f| format!("{f}: ")).unwrap_or_default();
    if node.is_named() {
        println!("{}{field}{} [{short}]", "  ".repeat(depth), node.kind());
    } else {
        println!("{}{field}\"{}\"", "  ".repeat(depth), node.kind());
    }
    let mut cursor = node.walk();
    for (i, child) in node.children(&mut cursor).enumerate() {
        let f = node.field_name_for_child(i as u32);
        print(child, src, depth + 1, f);
    }
}
