//! An API served on 127.0.0.1 over a real database (a fresh PostgreSQL schema or SQLite
//! file), with a worker running the real pipeline's steps implemented here: the analysis
//! step stores a small inventory through the real application store (instead of cloning
//! with Tree-sitter, which this crate must not link) and can be held mid-run by the test.
//!
//! Shared by the API's tests and the web UI's browser tests, so both drive the same
//! server; [`Options::router`] says which routes it serves (the API alone by default).
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use specline_api::config::{ApiConfig, AuthMode};
use specline_api::{ApiParts, ApiState};
use specline_app::policy::{RepositoryPolicy, StaticResolver};
use specline_app::store::{AppStore, NewAnalysis, NewApiToken, NewDocument};
use specline_app::{
    AnalysisSummary, AnalyzeContext, AnalyzeRepository, ClassifyTests, ConvertBehaviors,
    DocumentSummary, GenerateSpecDocument, ListFeatures, SpecContext, SummarizeDocument,
};
use specline_inventory_model::{Cases, Location, ScanStats, Status, Suite, Test, TestFile};
use specline_queue::pipeline::{Step, StepContext};
use specline_queue::{JobError, Registry, Worker, WorkerHandle};
use specline_service::db::{self, Databases};
use specline_settings::{DatabaseTarget, Secret};
use specline_specdoc_model::document::{
    Behavior, DocumentStats, Domain, Feature, GeneratorInfo, TokenUsage, DOCUMENT_SCHEMA_VERSION,
};
use specline_specdoc_model::{LanguageTag, SpecDocument};
use specline_testkit::{database_url, PgSchema, TempSqlite};
use tokio::sync::Semaphore;

/// A `security.encryption_key` for tests only (32 bytes, base64).
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// What the test can change before the server starts.
pub struct Options {
    pub config: ApiConfig,
    pub policy: RepositoryPolicy,
    pub workers: bool,
    /// The routes served: the API's alone, or merged with the web UI's.
    pub router: fn(ApiState) -> axum::Router,
}

impl Default for Options {
    fn default() -> Options {
        Options::new()
    }
}

impl Options {
    pub fn new() -> Options {
        Options {
            config: ApiConfig {
                auth: AuthMode::Tokens,
                max_body_bytes: 65536,
                submissions_per_minute: 100_000,
                max_streams_per_owner: 32,
                request_timeout: Duration::from_secs(30),
                heartbeat: Duration::from_secs(15),
                stream_buffer: 256,
            },
            policy: RepositoryPolicy::default(),
            workers: true,
            router: specline_api::router,
        }
    }

    /// No worker: runs stay queued.
    pub fn without_workers() -> Options {
        Options {
            workers: false,
            ..Options::new()
        }
    }
}

/// The names the test's resolver knows.
pub fn resolver() -> StaticResolver {
    StaticResolver::default()
        .with("git.example", &[IpAddr::V4(Ipv4Addr::new(140, 82, 112, 3))])
        .with(
            "intranet.example",
            &[IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))],
        )
}

/// Kept for its `Drop`: the schema or file lives as long as the server.
#[allow(dead_code)]
enum Db {
    Pg(PgSchema),
    Sqlite(TempSqlite),
}

pub struct Server {
    /// The state the server serves (to call the API's functions directly).
    pub state: ApiState,
    pub base: String,
    pub http: reqwest::Client,
    pub dbs: Databases,
    /// Permits the analysis step takes before finishing (see [`Server::hold`]).
    pub gate: Arc<Semaphore>,
    /// The server's token cipher (what the analyzer would hold).
    pub cipher: specline_settings::TokenCipher,
    worker: Option<WorkerHandle>,
    task: tokio::task::JoinHandle<()>,
    _db: Db,
}

impl Server {
    pub async fn start(backend: Backend, options: Options) -> Server {
        let (target, db) = match backend {
            Backend::Postgres => {
                let schema = PgSchema::new();
                (
                    DatabaseTarget::Postgres {
                        url: Secret::new(database_url()),
                        schema: schema.name().to_string(),
                        pool_size: 16,
                        ca_file: None,
                    },
                    Db::Pg(schema),
                )
            }
            Backend::Sqlite => {
                let file = TempSqlite::new("api.sqlite");
                (
                    DatabaseTarget::Sqlite {
                        path: file.path().to_path_buf(),
                    },
                    Db::Sqlite(file),
                )
            }
        };
        let dbs = db::open(&target).await.unwrap();
        dbs.migrate()
            .await
            .unwrap_or_else(|e| specline_testkit::pg_unreachable(e));
        let gate = Arc::new(Semaphore::new(Semaphore::MAX_PERMITS / 2));
        let worker = if options.workers {
            let registry = Registry::new()
                .step(FakeAnalyze {
                    app: dbs.app.clone(),
                    gate: gate.clone(),
                })
                .step(PassThrough::<ClassifyTests>::default())
                .step(NoFeatures)
                .step(PassThrough::<ConvertBehaviors>::default())
                .step(PassThrough::<SummarizeDocument>::default())
                .step(StoreDocument {
                    app: dbs.app.clone(),
                });
            Some(
                Worker::builder(dbs.jobs.clone())
                    .registry(registry)
                    .queue(specline_app::ANALYZE_QUEUE, 4)
                    .queue(specline_app::SPEC_QUEUE, 4)
                    .build()
                    .unwrap()
                    .start()
                    .await
                    .unwrap(),
            )
        } else {
            None
        };
        let cipher = || specline_settings::TokenCipher::new(&Secret::new(KEY)).unwrap();
        let state = ApiState::new(ApiParts {
            client: specline_queue::Client::new(dbs.jobs.clone()),
            app: dbs.app.clone(),
            api: dbs.api.clone(),
            config: options.config,
            policy: options.policy,
            resolver: Arc::new(resolver()),
            cipher: Some(cipher()),
        });
        let app = (options.router)(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        Server {
            state,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            dbs,
            gate,
            cipher: cipher(),
            worker,
            task,
            _db: db,
        }
    }

    /// Hold every analysis step before it finishes until [`Server::release`].
    pub fn hold(&self) {
        let n = self.gate.available_permits();
        self.gate.forget_permits(n);
    }

    pub fn release(&self, permits: usize) {
        self.gate.add_permits(permits);
    }

    /// A token for `owner`, made through the store as `token create` does.
    pub async fn token(&self, owner: &str, admin: bool) -> String {
        let made = specline_app::tokens::generate();
        self.dbs
            .api
            .create_token(&NewApiToken {
                owner: owner.into(),
                admin,
                hash: made.hash.clone(),
                label: None,
                expires_at: None,
            })
            .await
            .unwrap();
        made.plaintext
    }

    /// The seqs of the run's events as stored.
    pub async fn stored_seqs(&self, run_id: i64) -> Vec<i64> {
        self.dbs
            .jobs
            .run_events(run_id, 0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.seq)
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn submit(
        &self,
        token: &str,
        body: serde_json::Value,
        key: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .http
            .post(self.url("/api/v1/analyses"))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Submit `repository` (at `git_ref`) as `token` through the API, follow the run to its
    /// end, and answer the id of the analysis it stored. Panics unless the run is `done`.
    pub async fn analyse(&self, token: &str, repository: &str, git_ref: Option<&str>) -> i64 {
        let mut body = serde_json::json!({"repository": repository});
        if let Some(r) = git_ref {
            body["ref"] = r.into();
        }
        let (status, submitted) = self.submit(token, body, None).await;
        assert_eq!(status, 202, "{submitted}");
        let events = self
            .http
            .get(self.url(submitted["events_url"].as_str().unwrap()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let last = read_events(events, None).await.pop().unwrap();
        assert_eq!(last.event, "done", "{:?}", last.data);
        let (_, result) = self
            .get(token, submitted["result_url"].as_str().unwrap())
            .await;
        result["analysis_id"].as_i64().unwrap()
    }

    /// Store a complete analysis of `files` for `repository` at `commit` through the
    /// application store, as the analyzer would (in batches of 500 files). Whoever may
    /// read `repository` may read it.
    pub async fn store_analysis(&self, repository: &str, commit: &str, files: &[TestFile]) -> i64 {
        let app = &self.dbs.app;
        let analysis = app
            .begin_analysis(&NewAnalysis {
                repository: repository.into(),
                commit: Some(commit.into()),
                branch: Some("main".into()),
                commit_time: None,
                parser_version: "test".into(),
                run_id: None,
            })
            .await
            .unwrap();
        for batch in files.chunks(500) {
            app.insert_files(analysis.id, batch).await.unwrap();
        }
        let tests: usize = files.iter().map(count_tests).sum();
        let stats = ScanStats {
            test_files: files.len() as u64,
            tests: tests as u64,
            ..ScanStats::default()
        };
        app.finish_analysis(analysis.id, &stats).await.unwrap();
        analysis.id
    }

    /// Store `doc` as the next document version of analysis `analysis_id`.
    pub async fn store_document(&self, analysis_id: i64, doc: &SpecDocument) -> i64 {
        self.dbs
            .app
            .store_document(&NewDocument {
                analysis_id,
                repository: doc.repository.clone(),
                language: doc.language.to_string(),
                generator_kind: doc.generator.kind.clone(),
                model: doc.generator.model.clone(),
                prompt_version: doc.generator.prompt_version.clone(),
                content: serde_json::to_value(doc).unwrap(),
                behaviors: doc.behaviors().count() as i64,
                run_id: None,
            })
            .await
            .unwrap()
            .head
            .id
    }

    pub async fn stop(mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.shutdown(Duration::from_secs(5)).await;
        }
        self.task.abort();
    }
}

/// One SSE event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    pub id: i64,
    pub event: String,
    pub data: serde_json::Value,
}

/// Read SSE events from `response` until the stream ends or `stop_after` events came.
pub async fn read_events(response: reqwest::Response, stop_after: Option<usize>) -> Vec<Sse> {
    use futures::StreamExt;
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut out = Vec::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(30), body.next())
        .await
        .expect("no SSE data within 30 s")
    {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if let Some(id) = id {
                out.push(Sse {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap(),
                });
                if stop_after.is_some_and(|n| out.len() >= n) {
                    return out;
                }
            }
        }
    }
    out
}

// --- the pipeline's steps, for tests -------------------------------------------------

fn loc(line: u32) -> Location {
    Location {
        start_line: line,
        start_column: 1,
        end_line: line + 1,
        end_column: 1,
    }
}

fn test(name: &str, line: u32, status: Status) -> Test {
    Test {
        name: name.into(),
        location: loc(line),
        status,
        modifier: None,
        dynamic: false,
        cases: None,
        doc: None,
    }
}

/// Three files: two jest files (one nested suite) and one pytest file.
pub fn sample_files() -> Vec<TestFile> {
    let file = |path: &str, language: &str, framework: &str, suites, tests| TestFile {
        path: path.into(),
        language: language.into(),
        framework: framework.into(),
        domain_hints: Default::default(),
        suites,
        tests,
    };
    vec![
        file(
            "src/cart.test.ts",
            "typescript",
            "jest",
            vec![Suite {
                name: "Cart".into(),
                location: loc(1),
                status: Status::Active,
                modifier: None,
                suites: vec![Suite {
                    name: "totals".into(),
                    location: loc(2),
                    status: Status::Active,
                    modifier: None,
                    suites: vec![],
                    tests: vec![test("adds tax", 3, Status::Active)],
                }],
                tests: vec![
                    test("adds an item", 5, Status::Active),
                    test("removes an item", 7, Status::Skipped),
                ],
            }],
            vec![],
        ),
        file(
            "src/user.test.ts",
            "typescript",
            "jest",
            vec![],
            vec![test("signs up", 1, Status::Active)],
        ),
        file(
            "tests/test_billing.py",
            "python",
            "pytest",
            vec![],
            vec![
                // A parametrized test with literal cases: one definition, three runner items.
                Test {
                    dynamic: true,
                    cases: Some(Cases {
                        count: 3,
                        names: vec![
                            "test_invoice_total[eur]".into(),
                            "test_invoice_total[usd]".into(),
                            "test_invoice_total[jpy]".into(),
                        ],
                    }),
                    ..test("test_invoice_total", 1, Status::Active)
                },
                test("test_refund", 4, Status::Todo),
            ],
        ),
    ]
}

fn count_tests(f: &TestFile) -> usize {
    fn suite(s: &Suite) -> usize {
        s.tests.len() + s.suites.iter().map(suite).sum::<usize>()
    }
    f.tests.len() + f.suites.iter().map(suite).sum::<usize>()
}

/// A large inventory of `tests` tests: files of 20 tests (a suite of 10 and 10 at the top)
/// in 50 directories of `packages/pN/src/`, every 7th test skipped, every 11th todo, every
/// 13th focused, every 17th xfail; jest (TypeScript) and pytest (Python) files alternate.
pub fn many_files(tests: usize) -> Vec<TestFile> {
    let statuses = |n: usize| match n {
        n if n % 7 == 0 => Status::Skipped,
        n if n % 11 == 0 => Status::Todo,
        n if n % 13 == 0 => Status::Focused,
        n if n % 17 == 0 => Status::Xfail,
        _ => Status::Active,
    };
    let mut files = Vec::new();
    let mut n = 0;
    let mut f = 0;
    while n < tests {
        let (language, framework, ext) = if f % 2 == 0 {
            ("typescript", "jest", "test.ts")
        } else {
            ("python", "pytest", "py")
        };
        let mut top = Vec::new();
        let mut inner = Vec::new();
        for i in 0..20 {
            if n == tests {
                break;
            }
            let t = test(
                &format!("case {n} handles input {i}"),
                3 + 2 * i as u32,
                statuses(n),
            );
            if i < 10 {
                inner.push(t);
            } else {
                top.push(t);
            }
            n += 1;
        }
        files.push(TestFile {
            path: format!("packages/p{:02}/src/module_{f:05}.{ext}", f % 50),
            language: language.into(),
            framework: framework.into(),
            domain_hints: Default::default(),
            suites: vec![Suite {
                name: format!("Module {f}"),
                location: loc(1),
                status: Status::Active,
                modifier: None,
                suites: vec![],
                tests: inner,
            }],
            tests: top,
        });
        f += 1;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// A document of `files`' tests, one behavior each, in 10 domains of features of 50
/// behaviors, as the spec generator would store it.
pub fn document_of(repository: &str, files: &[TestFile]) -> SpecDocument {
    let mut doc = spec_document(repository, "Cart");
    let mut behaviors = Vec::new();
    for f in files {
        let mut walk = |suites: Vec<String>, t: &Test| {
            behaviors.push(Behavior {
                sentence: format!("It {}", t.name),
                test_name: t.name.clone(),
                file: f.path.clone(),
                suite_path: suites,
                line: t.location.start_line,
                status: t.status,
                test_index: behaviors.len(),
                cases: t.cases.as_ref().map(|c| c.count),
            })
        };
        for t in &f.tests {
            walk(Vec::new(), t);
        }
        for s in &f.suites {
            for t in &s.tests {
                walk(vec![s.name.clone()], t);
            }
        }
    }
    let per_domain = behaviors.len().div_ceil(10).max(1);
    doc.domains = behaviors
        .chunks(per_domain)
        .enumerate()
        .map(|(d, chunk)| Domain {
            name: format!("Domain {d}"),
            description: None,
            features: chunk
                .chunks(50)
                .enumerate()
                .map(|(i, b)| Feature {
                    name: format!("Feature {d}.{i}"),
                    fallback: None,
                    behaviors: b.to_vec(),
                })
                .collect(),
        })
        .collect();
    doc.stats = DocumentStats {
        behaviors: behaviors.len(),
        domains: doc.domains.len(),
        features: doc.domains.iter().map(|d| d.features.len()).sum(),
        runner_tests: Some(behaviors.iter().map(|b| b.cases.unwrap_or(1)).sum()),
        ..DocumentStats::default()
    };
    doc
}

/// `analyze_repository` without git: stores [`sample_files`] for the requested URL. A
/// repository whose path contains `fail` fails permanently with `TARGET_NOT_FOUND`.
struct FakeAnalyze {
    app: Arc<dyn AppStore>,
    gate: Arc<Semaphore>,
}

impl Step for FakeAnalyze {
    type Kind = AnalyzeRepository;

    async fn run(&self, ctx: StepContext, c: AnalyzeContext) -> Result<AnalysisSummary, JobError> {
        let repository = c.input.target.clone();
        if repository.contains("fail") {
            return Err(JobError::permanent(
                "TARGET_NOT_FOUND",
                "the repository does not exist",
            ));
        }
        let analysis = self
            .app
            .begin_analysis(&NewAnalysis {
                repository: repository.clone(),
                commit: Some("abc123".into()),
                branch: Some("main".into()),
                commit_time: None,
                parser_version: "test".into(),
                run_id: Some(ctx.run_id()),
            })
            .await?;
        let mut files = sample_files();
        if c.input.git_ref.as_deref() == Some("v2") {
            // A later commit: "signs up" removed, "removes an item" no longer skipped, a
            // new pytest test.
            files[1].tests.clear();
            files[0].suites[0].tests[1].status = Status::Active;
            files[2]
                .tests
                .push(test("test_credit_note", 7, Status::Active));
        }
        for (i, f) in files.iter().enumerate() {
            self.app
                .insert_files(analysis.id, std::slice::from_ref(f))
                .await?;
            // 100% is never rate-limited, so each of these is an event.
            let _ = ctx
                .progress(100, Some(serde_json::json!({"file": i})))
                .await;
        }
        // Held here while the test reconnects.
        let _permit = self
            .gate
            .acquire()
            .await
            .map_err(|e| JobError::retryable("GATE", e))?;
        let stats = ScanStats {
            test_files: 3,
            tests: 6,
            runner_tests: 8,
            ..ScanStats::default()
        };
        self.app.finish_analysis(analysis.id, &stats).await?;
        Ok(AnalysisSummary {
            analysis_id: analysis.id,
            repository,
            commit: Some("abc123".into()),
            parser_version: "test".into(),
            reused: false,
            files: 3,
            tests: 6,
            errors: 0,
            truncated: false,
        })
    }
}

/// A spec phase that hands on an empty object.
struct PassThrough<K>(std::marker::PhantomData<K>);

impl<K> Default for PassThrough<K> {
    fn default() -> Self {
        PassThrough(std::marker::PhantomData)
    }
}

impl<K> Step for PassThrough<K>
where
    K: specline_queue::StepKind<Context = SpecContext, Output = serde_json::Value>,
{
    type Kind = K;

    async fn run(&self, _ctx: StepContext, _c: SpecContext) -> Result<serde_json::Value, JobError> {
        Ok(serde_json::json!({}))
    }
}

/// Lists no feature: the conversion's fan-out joins at once.
struct NoFeatures;

impl Step for NoFeatures {
    type Kind = ListFeatures;

    async fn run(&self, _ctx: StepContext, _c: SpecContext) -> Result<serde_json::Value, JobError> {
        Ok(serde_json::json!([]))
    }
}

/// A one-behavior document of `repository` whose one domain is `domain`, as the spec
/// generator would store it.
pub fn spec_document(repository: &str, domain: &str) -> SpecDocument {
    let en = LanguageTag::english();
    SpecDocument {
        schema_version: DOCUMENT_SCHEMA_VERSION,
        version: 1,
        analysis_id: "1".into(),
        repository: repository.into(),
        commit: Some("0123abc".into()),
        content_hash: "00".repeat(32),
        language: en.clone(),
        content_language: en,
        generated_at: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
        generator: GeneratorInfo {
            kind: "offline".into(),
            model: "offline-1".into(),
            prompt_version: "test".into(),
        },
        summary: format!("The {domain} domain, summarised."),
        summary_fallback: None,
        stats: DocumentStats {
            behaviors: 1,
            domains: 1,
            features: 1,
            ..DocumentStats::default()
        },
        usage: TokenUsage::default(),
        notes: Vec::new(),
        domains: vec![Domain {
            name: domain.into(),
            description: None,
            features: vec![Feature {
                name: "Totals".into(),
                fallback: None,
                behaviors: vec![Behavior {
                    sentence: "Adds tax to the total".into(),
                    test_name: "adds tax".into(),
                    file: "src/cart.test.ts".into(),
                    suite_path: vec!["Cart".into(), "totals".into()],
                    line: 3,
                    status: Status::Active,
                    test_index: 0,
                    cases: None,
                }],
            }],
        }],
    }
}

/// `generate_spec_document`: stores a one-behavior document.
struct StoreDocument {
    app: Arc<dyn AppStore>,
}

impl Step for StoreDocument {
    type Kind = GenerateSpecDocument;

    async fn run(&self, ctx: StepContext, c: SpecContext) -> Result<DocumentSummary, JobError> {
        let a = &c.analyze_repository;
        let doc = self
            .app
            .store_document(&NewDocument {
                analysis_id: a.analysis_id,
                repository: a.repository.clone(),
                language: c.input.lang.clone(),
                generator_kind: "offline".into(),
                model: "none".into(),
                prompt_version: "test".into(),
                content: serde_json::to_value(spec_document(&a.repository, "Cart")).unwrap(),
                behaviors: 1,
                run_id: Some(ctx.run_id()),
            })
            .await?;
        Ok(DocumentSummary {
            document_id: doc.head.id,
            analysis_id: a.analysis_id,
            repository: a.repository.clone(),
            language: doc.head.language,
            version: doc.head.version,
            behaviors: 1,
            reused: false,
        })
    }
}
