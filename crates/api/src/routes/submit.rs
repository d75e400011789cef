//! `POST /api/v1/analyses`: submit a repository for analysis and a spec document.
//!
//! With an `Idempotency-Key`, one run per (owner, key): the engine reserves the key by a
//! unique index in the transaction that creates the run, so concurrent submissions of the
//! same key cannot create two. The same key with the same request answers 200 with the
//! same run; with another request, 409 `IDEMPOTENCY_CONFLICT`. The request's fingerprint
//! is computed from what was asked (the token as a hash), because the stored token is
//! encrypted with a fresh nonce each time and would never match itself.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use specline_app::{analyze_and_generate, AnalysisRequest};
use specline_queue::SubmitOpts;
use specline_settings::Secret;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::Json;
use crate::error::{ApiCode, ApiError, ApiResult, ErrorBody};
use crate::ApiState;

/// What to analyze.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// A git URL without credentials (`https://host/owner/repo.git`).
    pub repository: String,
    /// Branch or tag; the remote's default branch when unset.
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    /// Language of the document (BCP 47), `en` when unset.
    #[serde(default)]
    pub language: Option<String>,
    /// An access token for a private repository; encrypted before it is stored, never
    /// returned.
    #[serde(default)]
    pub access_token: Option<String>,
    /// Classify every test again instead of placing only new tests into the previous
    /// document version's structure; `false` when unset.
    #[serde(default)]
    pub fresh: bool,
}

/// Where to follow a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Submitted {
    pub run_id: i64,
    /// True when this is the run an earlier request with the same `Idempotency-Key` made.
    pub existing: bool,
    pub status_url: String,
    pub events_url: String,
    pub result_url: String,
}

impl Submitted {
    pub fn new(run_id: i64, existing: bool) -> Submitted {
        let base = format!("/api/v1/runs/{run_id}");
        Submitted {
            run_id,
            existing,
            events_url: format!("{base}/events"),
            result_url: format!("{base}/result"),
            status_url: base,
        }
    }
}

/// A digest of the request as asked: repository, ref, language, and the token's hash.
fn fingerprint(
    repository: &str,
    git_ref: Option<&str>,
    lang: &str,
    token: Option<&str>,
    fresh: bool,
) -> String {
    use specline_app::tokens::hash;
    let mut canonical = serde_json::json!({
        "repository": repository,
        "ref": git_ref,
        "language": lang,
        "token": token.map(hash),
    });
    // Only when set, so requests made before the field existed keep their fingerprint.
    if fresh {
        canonical["fresh"] = true.into();
    }
    hash(&canonical.to_string())
}

/// The document's language: a BCP 47 tag (`en` when unset), or `INVALID_REQUEST`.
pub fn language(requested: Option<String>) -> ApiResult<String> {
    let lang = requested.unwrap_or_else(|| "en".to_string());
    let ok = (2..=35).contains(&lang.len())
        && lang.split('-').all(|part| {
            !part.is_empty() && part.len() <= 8 && part.chars().all(|c| c.is_ascii_alphanumeric())
        });
    if ok {
        Ok(lang)
    } else {
        Err(ApiError::bad_request(
            "language must be a BCP 47 tag such as `en` or `pt-BR`",
        ))
    }
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=200).contains(&k.len()) && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key must be 1 to 200 printable ASCII characters")
        })?;
    Ok(Some(key.to_string()))
}

/// Submit a repository for `caller`: the language, the submission rate, the repository
/// policy and the access token are checked, then one run of `analyze_and_generate` is
/// started (or, for a reused idempotency key, the earlier one found) and recorded as the
/// caller's. The JSON route and the web UI's form both call this, so they apply the same
/// rules.
pub async fn submit_analysis(
    state: &ApiState,
    caller: &Caller,
    req: SubmitRequest,
    key: Option<String>,
) -> ApiResult<Submitted> {
    let inner = &state.inner;
    let lang = language(req.language)?;
    inner.limits.submission(&caller.owner)?;
    inner
        .parts
        .policy
        .check(
            &req.repository,
            req.git_ref.as_deref(),
            inner.parts.resolver.as_ref(),
        )
        .await?;
    let token = req.access_token.filter(|t| !t.is_empty());
    let encrypted_token = match (&token, &inner.parts.cipher) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ApiCode::TokenKeyMissing,
                "this deployment cannot store access tokens (no security.encryption_key)",
            ))
        }
        (Some(t), Some(cipher)) => Some(
            cipher
                .encrypt(&Secret::new(t.clone()), &req.repository)
                .map_err(ApiError::internal)?,
        ),
    };
    let fp = fingerprint(
        &req.repository,
        req.git_ref.as_deref(),
        &lang,
        token.as_deref(),
        req.fresh,
    );
    let request = AnalysisRequest {
        target: req.repository.clone(),
        git_ref: req.git_ref,
        lang,
        encrypted_token,
        fresh: req.fresh,
    };
    let mut opts = SubmitOpts::default().fingerprint(fp);
    if let Some(k) = key {
        opts = opts.idempotency_key(k);
    }
    let submitted = inner
        .parts
        .client
        .submit(&analyze_and_generate(), &caller.owner, &request, opts)
        .await?;
    inner
        .parts
        .api
        .record_run(&caller.owner, submitted.run_id, &req.repository)
        .await?;
    metrics::counter!("specline_api_submissions_total", "existing" => submitted.existing.to_string())
        .increment(1);
    Ok(Submitted::new(submitted.run_id, submitted.existing))
}

/// Submit a repository.
#[utoipa::path(
    post, path = "/api/v1/analyses", tag = "analyses",
    request_body = SubmitRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "One run per owner and key")),
    responses(
        (status = 202, description = "Run created", body = Submitted),
        (status = 200, description = "The run an earlier request with this key created", body = Submitted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "Key reused with another request", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, description = "Refused by the repository policy", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn submit(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Json(req): Json<SubmitRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let submitted = submit_analysis(&state, &caller, req, key).await?;
    let status = if submitted.existing {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, axum::Json(submitted)).into_response())
}
