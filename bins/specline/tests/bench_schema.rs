//! `specline bench` on PostgreSQL works only in a schema it created, and drops only that one.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output};

use support::{assert_succeeded, database_url};

async fn client() -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| specline_testkit::pg_unreachable(e));
    tokio::spawn(conn);
    c
}

async fn schema_exists(c: &tokio_postgres::Client, name: &str) -> bool {
    c.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
        &[&name],
    )
    .await
    .unwrap()
    .get(0)
}

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_specline"))
        .args(["bench", "--backend", "postgres", "--jobs", "200"])
        .args(args)
        .arg("--database-url")
        .arg(database_url())
        .output()
        .unwrap()
}

/// An operator's schema holding data: the bench refuses it, and the data stays.
#[tokio::test]
async fn an_existing_schema_is_refused_and_left_intact() {
    let guard = specline_testkit::PgSchema::new();
    let name = guard.name();
    let c = client().await;
    c.batch_execute(&format!(
        "CREATE SCHEMA {name}; CREATE TABLE {name}.precious (v int); INSERT INTO {name}.precious VALUES (42);"
    ))
    .await
    .unwrap();

    let out = bench(&["--schema", name]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the bench ran in {name}: {err}");
    assert!(err.contains("BENCH_SCHEMA_EXISTS"), "{err}");
    let v: i32 = c
        .query_one(&format!("SELECT v FROM {name}.precious"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 42);

    // --keep reuses it and drops nothing.
    let out = bench(&["--schema", name, "--keep"]);
    assert_succeeded(&out);
    let v: i32 = c
        .query_one(&format!("SELECT v FROM {name}.precious"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, 42, "--keep must not drop the operator's schema");
}

#[tokio::test]
async fn a_hostile_schema_name_is_refused_before_any_sql() {
    let c = client().await;
    let guard = specline_testkit::PgSchema::new();
    let victim = guard.name();
    c.batch_execute(&format!("CREATE SCHEMA {victim}"))
        .await
        .unwrap();
    for name in [
        format!("{victim}\" CASCADE; DROP SCHEMA {victim} CASCADE; --"),
        "Public".to_string(),
        "a-b".to_string(),
        String::new(),
    ] {
        for keep in [false, true] {
            let mut args = vec!["--schema", name.as_str()];
            if keep {
                args.push("--keep");
            }
            let out = bench(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{name:?}: {err}");
            assert!(err.contains("BENCH_SCHEMA_INVALID"), "{name:?}: {err}");
        }
    }
    assert!(schema_exists(&c, victim).await);
}

/// Without `--schema` the bench makes a fresh schema, names it, and removes it afterwards.
#[tokio::test]
async fn the_bench_drops_the_fresh_schema_it_created() {
    let out = bench(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_succeeded(&out);
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("backend: Postgres (schema "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no schema named in: {stdout}"));
    assert!(name.starts_with("specline_bench_"), "{name}");
    assert!(
        !schema_exists(&client().await, name).await,
        "{name} is left"
    );
}
