//! Benchmark of a scan: throughput, overhead over bare Tree-sitter parsing, peak memory.
//!
//! ```text
//! cargo run --release -p specline-inventory --example bench -- PATH [--threads N]
//! cargo run --release -p specline-inventory --example bench -- --synthetic 50000 DIR
//! ```
//!
//! `--file-timeout SECS` sets the per-file budget (0: none; under valgrind the default
//! 10 s cuts large files short, which would make instruction counts vary).
//!
//! The ratio compares the end-to-end scan (walk, ignores, read, detect, parse, query,
//! build the model, sort) with parsing the very same files with a bare Tree-sitter parser
//! on the same number of threads (read + parse only). Peak memory is the process's
//! VmHWM after the first scan. Both passes run `--repeat N` times (default 3), alternating,
//! and the fastest run of each is reported: on a shared machine the minimum is the figure
//! least disturbed by other load. `--synthetic N DIR` first writes a
//! tree of N test files (copies of this crate's fixtures under varied names) into DIR.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use specline_inventory::scan::{candidates, Candidate};
use specline_inventory::{registry::registry, scan, ScanOptions};

const FIXTURES: &[(&str, &[u8])] = &[
    (
        "test.js",
        include_bytes!("../tests/fixtures/js-jest-repo/src/cart.test.js"),
    ),
    (
        "spec.ts",
        include_bytes!("../tests/fixtures/js-vitest-globals/pkg/src/parse.test.ts"),
    ),
    (
        "_test.go",
        include_bytes!("../tests/fixtures/go-testing/calc/calc_test.go"),
    ),
    (
        "_test.py",
        include_bytes!("../tests/fixtures/py-pytest/tests/unit/test_orders.py"),
    ),
    (
        "Test.java",
        include_bytes!("../tests/fixtures/jvm/junit5/src/test/java/shop/CartTest.java"),
    ),
    (
        "Spec.kt",
        include_bytes!("../tests/fixtures/jvm/kotlin/src/test/kotlin/shop/PricingSpec.kt"),
    ),
    (
        "Tests.cs",
        include_bytes!("../tests/fixtures/dotnet/Shop.NUnit/OrderTests.cs"),
    ),
    (
        "_spec.rb",
        include_bytes!("../tests/fixtures/ruby-rspec/spec/models/user_spec.rb"),
    ),
    (
        "Test.php",
        include_bytes!("../tests/fixtures/php/tests/Unit/CartTest.php"),
    ),
    (
        "_test.rs",
        include_bytes!("../tests/fixtures/rust-crate/src/lib.rs"),
    ),
    (
        "Tests.swift",
        include_bytes!("../tests/fixtures/swift/Tests/ShopTests/PricingTests.swift"),
    ),
    (
        "_test.cc",
        include_bytes!("../tests/fixtures/cpp-gtest/tests/cart_test.cc"),
    ),
];

fn synthesize(n: usize, dir: &Path) -> std::io::Result<()> {
    for i in 0..n {
        let (suffix, body) = FIXTURES[i % FIXTURES.len()];
        let sub = dir.join(format!("pkg{}", i / 100));
        std::fs::create_dir_all(&sub)?;
        let name = match suffix {
            "_test.py" => format!("test_m{i}.py"),
            "test.js" | "spec.ts" => format!("m{i}.{suffix}"),
            _ => format!("M{i}{suffix}"),
        };
        std::fs::write(sub.join(name), body)?;
    }
    Ok(())
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU seconds (user + system, all threads) used by this process so far: unlike wall
/// time, barely disturbed by other work on a shared machine.
fn cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn bare_parse(files: &[Candidate], threads: usize) -> anyhow::Result<(usize, u64)> {
    let registry = registry()?;
    let next = AtomicUsize::new(0);
    let parsed = AtomicUsize::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut parsers = std::collections::HashMap::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = files.get(i) else { break };
                    let Ok(src) = std::fs::read(&c.path) else {
                        continue;
                    };
                    if !c.would_parse(registry, &src) {
                        continue;
                    }
                    let parser = parsers.entry(c.grammar).or_insert_with(|| {
                        let mut p = tree_sitter::Parser::new();
                        let _ = p.set_language(&c.grammar.language());
                        p
                    });
                    if parser.parse(&src, None).is_some() {
                        parsed.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(src.len() as u64, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    Ok((parsed.into_inner(), bytes.into_inner()))
}

/// Per language: files, bytes, parse time and query time (one thread, best of `repeat`
/// per file), and query matches: where the time beyond parsing goes.
fn breakdown(files: &[Candidate], repeat: usize) -> anyhow::Result<()> {
    use std::collections::BTreeMap;
    use std::time::Duration;
    use tree_sitter::StreamingIterator;
    let registry = registry()?;
    let mut rows: BTreeMap<String, (usize, usize, Duration, Duration, usize)> = BTreeMap::new();
    let mut parsers = std::collections::HashMap::new();
    let mut cursor = tree_sitter::QueryCursor::new();
    for c in files {
        let Ok(src) = std::fs::read(&c.path) else {
            continue;
        };
        let Some(lang) = registry.languages.get(c.language) else {
            continue;
        };
        if !c.would_parse(registry, &src) {
            continue;
        }
        let query = lang.query(c.grammar)?;
        let parser = parsers.entry(c.grammar).or_insert_with(|| {
            let mut p = tree_sitter::Parser::new();
            let _ = p.set_language(&c.grammar.language());
            p
        });
        let (mut parse, mut run, mut matches) = (Duration::MAX, Duration::MAX, 0);
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            let Some(tree) = parser.parse(&src, None) else {
                break;
            };
            parse = parse.min(t.elapsed());
            let t = Instant::now();
            let mut it = cursor.matches(query, tree.root_node(), src.as_slice());
            matches = 0;
            while it.next().is_some() {
                matches += 1;
            }
            run = run.min(t.elapsed());
        }
        if parse == Duration::MAX {
            continue;
        }
        let row = rows.entry(format!("{:?}", c.grammar)).or_insert((
            0,
            0,
            Duration::ZERO,
            Duration::ZERO,
            0,
        ));
        row.0 += 1;
        row.1 += src.len();
        row.2 += parse;
        row.3 += run;
        row.4 += matches;
    }
    println!("grammar      files     bytes   parse ms   query ms  query/parse  matches");
    let (mut tp, mut tq) = (Duration::ZERO, Duration::ZERO);
    for (g, (n, b, p, q, m)) in &rows {
        tp += *p;
        tq += *q;
        println!(
            "{g:<10} {n:>7} {b:>9} {:>10.1} {:>10.1} {:>11.2} {m:>8}",
            p.as_secs_f64() * 1e3,
            q.as_secs_f64() * 1e3,
            q.as_secs_f64() / p.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "total                          {:>10.1} {:>10.1} {:>11.2}",
        tp.as_secs_f64() * 1e3,
        tq.as_secs_f64() * 1e3,
        tq.as_secs_f64() / tp.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut root: Option<PathBuf> = None;
    let mut repeat: usize = 3;
    let mut by_language = false;
    let mut file_timeout = ScanOptions::default().file_timeout;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--repeat" => {
                repeat = args
                    .get(i + 1)
                    .ok_or_else(|| anyhow::anyhow!("--repeat N"))?
                    .parse()?;
                i += 1;
            }
            "--breakdown" => by_language = true,
            "--file-timeout" => {
                let secs: f64 = args
                    .get(i + 1)
                    .ok_or_else(|| anyhow::anyhow!("--file-timeout SECS"))?
                    .parse()?;
                file_timeout = (secs > 0.0).then(|| std::time::Duration::from_secs_f64(secs));
                i += 1;
            }
            "--threads" => {
                threads = args
                    .get(i + 1)
                    .ok_or_else(|| anyhow::anyhow!("--threads N"))?
                    .parse()?;
                i += 1;
            }
            "--synthetic" => {
                let n: usize = args
                    .get(i + 1)
                    .ok_or_else(|| anyhow::anyhow!("--synthetic N DIR"))?
                    .parse()?;
                let dir = PathBuf::from(
                    args.get(i + 2)
                        .ok_or_else(|| anyhow::anyhow!("--synthetic N DIR"))?,
                );
                let t = Instant::now();
                synthesize(n, &dir)?;
                eprintln!(
                    "wrote {n} test files into {} in {:.1?}",
                    dir.display(),
                    t.elapsed()
                );
                root = Some(dir);
                i += 2;
            }
            other => root = Some(PathBuf::from(other)),
        }
        i += 1;
    }
    let root = root.ok_or_else(|| anyhow::anyhow!("usage: bench PATH | --synthetic N DIR"))?;
    // Compile every definition outside the timings.
    for lang in &registry()?.languages {
        lang.compile_all()?;
    }

    let opts = ScanOptions {
        threads,
        file_timeout,
        ..ScanOptions::default()
    };
    let files = candidates(&root, &opts)?;
    if by_language {
        return breakdown(&files, repeat);
    }
    let mut inv = None;
    let mut peak = None;
    let mut scan_time = std::time::Duration::MAX;
    let mut parse_time = std::time::Duration::MAX;
    let (mut scan_cpu, mut parse_cpu) = (f64::MAX, f64::MAX);
    let (mut parsed, mut bytes) = (0, 0);
    for _ in 0..repeat.max(1) {
        let (t, c) = (Instant::now(), cpu_secs());
        let got = scan(&root, &opts)?;
        scan_time = scan_time.min(t.elapsed());
        scan_cpu = scan_cpu.min(cpu_secs() - c);
        if inv.is_none() {
            peak = peak_rss_mb();
            inv = Some(got);
        }
        let (t, c) = (Instant::now(), cpu_secs());
        (parsed, bytes) = bare_parse(&files, threads)?;
        parse_time = parse_time.min(t.elapsed());
        parse_cpu = parse_cpu.min(cpu_secs() - c);
    }
    let inv = inv.ok_or_else(|| anyhow::anyhow!("no run"))?;

    let s = &inv.stats;
    let secs = scan_time.as_secs_f64();
    println!("tree: {}", root.display());
    println!("threads: {threads}; best of {repeat} runs each");
    println!(
        "walked {} files; {} candidates; {} parsed ({:.1} MB); {} test files, {} suites, {} tests; {} errors; truncated={}",
        s.files_seen,
        files.len(),
        parsed,
        bytes as f64 / 1e6,
        s.test_files,
        s.suites,
        s.tests,
        s.errored,
        s.truncated
    );
    println!("scan (end to end): {:.3} s", secs);
    println!(
        "bare parse of the same files: {:.3} s",
        parse_time.as_secs_f64()
    );
    println!(
        "ratio scan / bare parse: {:.2}x wall, {:.2}x CPU ({:.2} s / {:.2} s CPU)",
        secs / parse_time.as_secs_f64().max(1e-9),
        scan_cpu / parse_cpu.max(1e-9),
        scan_cpu,
        parse_cpu
    );
    println!(
        "throughput: {:.0} parsed files/s, {:.1} MB/s, {:.0} walked files/s",
        parsed as f64 / secs,
        bytes as f64 / 1e6 / secs,
        s.files_seen as f64 / secs
    );
    if let Some(mb) = peak {
        println!("peak memory (VmHWM after scan): {mb:.1} MB");
    }
    Ok(())
}
