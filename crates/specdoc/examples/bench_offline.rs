//! How long the offline generator takes for N synthetic tests (default 100,000), phase by
//! phase, plus Markdown and JSON export:
//!
//! ```sh
//! cargo run --release -p specline-specdoc --example bench_offline -- 100000
//! ```

use std::time::Instant;

use specline_inventory_model::{
    DomainHints, Inventory, Location, ScanStats, Source, Status, Test, TestFile, SCHEMA_VERSION,
};
use specline_specdoc::phases::{self, AssembleMeta, GenerateOptions, Generator};
use specline_specdoc::{export, LanguageTag, SpecInput};

fn inventory(n: usize) -> Inventory {
    let styles = [
        "TestOrder_Case{n}",
        "should reject request {n}",
        "test_parse_value_{n}",
        "returns {n} items when filtered",
    ];
    let per_file = 100;
    let files = (0..n.div_ceil(per_file))
        .map(|f| TestFile {
            path: format!("area{}/thing{f}_test.go", f % 17),
            language: "go".into(),
            framework: "go-testing".into(),
            domain_hints: DomainHints::default(),
            suites: vec![],
            tests: (0..per_file.min(n - f * per_file))
                .map(|t| Test {
                    name: styles[t % 4].replace("{n}", &t.to_string()),
                    location: Location {
                        start_line: t as u32 + 1,
                        start_column: 1,
                        end_line: t as u32 + 1,
                        end_column: 2,
                    },
                    status: Status::Active,
                    modifier: None,
                    dynamic: false,
                    cases: None,
                    doc: None,
                })
                .collect(),
        })
        .collect();
    Inventory {
        schema_version: SCHEMA_VERSION,
        parser_version: "bench".into(),
        source: Source {
            location: "bench".into(),
            ..Source::default()
        },
        files,
        stats: ScanStats::default(),
        errors: vec![],
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let inv = inventory(n);
    let gen = Generator::offline();
    let opts = GenerateOptions::new(LanguageTag::parse("en")?);

    let t = Instant::now();
    let input = SpecInput::from_inventory(&inv, None)?;
    println!("flatten   {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let c = phases::classify(&gen, &input, &opts).await?;
    println!("classify  {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let b = phases::convert(&gen, &input, &c, &opts, None, None).await?;
    println!("convert   {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let s = phases::summarize(&gen, &input, &c, &b, &opts).await;
    let meta = AssembleMeta {
        version: 1,
        generator: gen.info(),
        generated_at: chrono::Utc::now(),
    };
    let doc = phases::assemble(&input, &c, &b, &s, &opts, meta)?;
    println!("assemble  {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let md = export::to_markdown(&doc);
    println!(
        "markdown  {:>8.1} ms  ({} bytes)",
        t.elapsed().as_secs_f64() * 1e3,
        md.len()
    );
    let t = Instant::now();
    let json = export::to_json(&doc);
    println!(
        "json      {:>8.1} ms  ({} bytes)",
        t.elapsed().as_secs_f64() * 1e3,
        json.len()
    );
    println!(
        "{} behaviors in {} domains",
        doc.stats.behaviors, doc.stats.domains
    );
    Ok(())
}
