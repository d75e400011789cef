//! A real HTTP server on 127.0.0.1 that speaks the Gemini `generateContent` and OpenAI
//! chat-completions wire formats, scripted per test by a closure. It records every request
//! (path, headers, JSON body, arrival time) so tests can assert what went over the wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::time::Instant;

/// Which wire format a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Gemini,
    OpenAi,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn wire(&self) -> Wire {
        if self.path.contains(":generateContent") {
            Wire::Gemini
        } else {
            Wire::OpenAi
        }
    }

    /// The system instruction, in either format.
    pub fn system(&self) -> String {
        match self.wire() {
            Wire::Gemini => self.body["systemInstruction"]["parts"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            Wire::OpenAi => self.body["messages"][0]["content"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        }
    }

    /// The user content, in either format.
    pub fn user(&self) -> String {
        match self.wire() {
            Wire::Gemini => self.body["contents"][0]["parts"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            Wire::OpenAi => self.body["messages"][1]["content"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        }
    }

    /// Which phase's prompt this is.
    pub fn phase(&self) -> &'static str {
        let s = self.system();
        if s.contains("organise a software project's automated tests") {
            "classify"
        } else if s.contains("turn automated test names") {
            "convert"
        } else {
            "summarize"
        }
    }

    /// The tab-separated input lines: (index, the other fields).
    pub fn lines(&self) -> Vec<(usize, Vec<String>)> {
        self.user()
            .lines()
            .filter_map(|l| {
                let mut parts = l.split('\t');
                let i = parts.next()?.parse().ok()?;
                Some((i, parts.map(str::to_string).collect()))
            })
            .collect()
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
    /// Answered only once this latch is open.
    pub hold: Option<Latch>,
}

/// A gate the server holds answers at until a test's condition opens it (e.g. enough
/// requests in flight at once); open for good once opened.
#[derive(Debug, Clone)]
pub struct Latch(Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Latch {
    fn default() -> Self {
        Latch(Arc::new(tokio::sync::watch::channel(false).0))
    }
}

impl Latch {
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    pub fn is_open(&self) -> bool {
        *self.0.borrow()
    }

    async fn opened(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: vec![],
            body: body.to_string(),
            delay: Duration::ZERO,
            hold: None,
        }
    }

    /// Answer only once `latch` is open.
    pub fn held(mut self, latch: &Latch) -> Self {
        self.hold = Some(latch.clone());
        self
    }

    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn delayed(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    /// A successful answer whose model text is `text`, with a finish reason, in the request's
    /// wire format. Usage: 100 prompt + 20 output tokens.
    pub fn model_text(wire: Wire, text: &str, finish: &str) -> Self {
        let body = match wire {
            Wire::Gemini => json!({
                "candidates": [{
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": finish,
                    "index": 0
                }],
                "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20, "totalTokenCount": 120},
                "modelVersion": "fake"
            }),
            Wire::OpenAi => json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": "fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
            }),
        };
        Self::status(200, &body.to_string())
    }

    /// A normal successful answer.
    pub fn ok(wire: Wire, value: &Value) -> Self {
        let finish = if wire == Wire::Gemini { "STOP" } else { "stop" };
        Self::model_text(wire, &value.to_string(), finish)
    }
}

/// A feature name and its test indices.
type FeatureTests = (String, Vec<usize>);

/// A well-behaved fake model: classifies by the file's first folder (domain) and file name
/// (feature), writes the sentence `S<index>: <name>` and the summary "A fake summary.".
pub fn good_answer(req: &Recorded) -> Value {
    match req.phase() {
        "classify" => {
            let mut domains: Vec<(String, Vec<FeatureTests>)> = Vec::new();
            for (i, fields) in req.lines() {
                let file = fields.first().cloned().unwrap_or_default();
                let d = file.split('/').next().unwrap_or("").to_string();
                let f = file.rsplit('/').next().unwrap_or("").to_string();
                let di = match domains.iter().position(|x| x.0 == d) {
                    Some(p) => p,
                    None => {
                        domains.push((d, vec![]));
                        domains.len() - 1
                    }
                };
                let feats = &mut domains[di].1;
                match feats.iter_mut().find(|x| x.0 == f) {
                    Some(x) => x.1.push(i),
                    None => feats.push((f, vec![i])),
                }
            }
            json!({"domains": domains.iter().map(|(d, fs)| json!({
                "name": format!("Domain {d}"),
                "description": format!("About {d}."),
                "features": fs.iter().map(|(f, t)| json!({"name": format!("Feature {f}"), "tests": t})).collect::<Vec<_>>()
            })).collect::<Vec<_>>()})
        }
        "convert" => json!({"behaviors": req.lines().iter().map(|(i, fields)| json!({
            "i": i,
            "sentence": format!("S{i}: {}", fields.last().cloned().unwrap_or_default())
        })).collect::<Vec<_>>()}),
        _ => json!({"summary": "A fake summary."}),
    }
}

type Handler = dyn Fn(usize, &Recorded) -> Reply + Send + Sync;

#[derive(Clone)]
struct AppState {
    handler: Arc<Handler>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    sent: Arc<Mutex<TokensSent>>,
}

/// The token usage the server reported in its answers, as the server counts it (read from
/// each reply body's `usageMetadata` or `usage`), for tests of what a client records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokensSent {
    pub prompt: u64,
    pub output: u64,
}

impl TokensSent {
    fn add(&mut self, body: &str) {
        let Ok(v) = serde_json::from_str::<Value>(body) else {
            return;
        };
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        if let Some(u) = v.get("usageMetadata") {
            self.prompt += n(&u["promptTokenCount"]);
            self.output += n(&u["candidatesTokenCount"]);
        } else if let Some(u) = v.get("usage") {
            self.prompt += n(&u["prompt_tokens"]);
            self.output += n(&u["completion_tokens"]);
        }
    }
}

/// The server; it stops when dropped.
pub struct FakeServer {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    sent: Arc<Mutex<TokensSent>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts on a free loopback port. `handler(n, request)` answers the n-th request (0-based).
    pub async fn start(
        handler: impl Fn(usize, &Recorded) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(Mutex::new(TokensSent::default()));
        let state = AppState {
            handler: Arc::new(handler),
            requests: requests.clone(),
            sent: sent.clone(),
        };
        let app = axum::Router::new().fallback(serve).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{addr}"),
            requests,
            sent,
            task,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The tokens this server's answers reported so far.
    pub fn tokens_sent(&self) -> TokensSent {
        *self.sent.lock().unwrap()
    }

    pub fn count(&self, phase: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.phase() == phase)
            .count()
    }
}

async fn serve(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rec = Recorded {
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    let n = {
        let mut reqs = state.requests.lock().unwrap();
        reqs.push(rec.clone());
        reqs.len() - 1
    };
    let reply = (state.handler)(n, &rec);
    state.sent.lock().unwrap().add(&reply.body);
    if let Some(latch) = &reply.hold {
        latch.opened().await;
    }
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    for (k, v) in reply.headers {
        resp.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    resp
}
