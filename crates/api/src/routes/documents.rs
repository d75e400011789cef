//! Spec documents of a repository: versions, the latest by language, one version, and one
//! version exported as Markdown or JSON by the renderers the CLI uses.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specline_app::store::{DocumentHead, DocumentRecord};
use specline_specdoc_model::export::{self, Format};
use specline_specdoc_model::SpecDocument;
use utoipa::{IntoParams, ToSchema};

use crate::access;
use crate::auth::Caller;
use crate::body::{Path, Query};
use crate::error::{ApiCode, ApiError, ApiResult, ErrorBody};
use crate::ApiState;

/// Versions listed per request (retention keeps few).
const MAX_VERSIONS: usize = 200;

/// A document version without its content.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentMeta {
    pub id: i64,
    pub analysis_id: i64,
    pub repository: String,
    pub language: String,
    pub version: i32,
    pub generator_kind: String,
    pub model: String,
    pub behaviors: i64,
    pub run_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A document version with its content (domains → features → behaviors).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentView {
    #[serde(flatten)]
    pub meta: DocumentMeta,
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

impl From<&DocumentHead> for DocumentMeta {
    fn from(d: &DocumentHead) -> Self {
        DocumentMeta {
            id: d.id,
            analysis_id: d.analysis_id,
            repository: d.repository.clone(),
            language: d.language.clone(),
            version: d.version,
            generator_kind: d.generator_kind.clone(),
            model: d.model.clone(),
            behaviors: d.behaviors,
            run_id: d.run_id,
            created_at: d.created_at,
        }
    }
}

impl From<DocumentRecord> for DocumentView {
    fn from(d: DocumentRecord) -> Self {
        DocumentView {
            meta: DocumentMeta::from(&d.head),
            content: d.content,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentParams {
    pub repository: String,
    /// Only this language (BCP 47).
    pub language: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DocumentList {
    pub documents: Vec<DocumentMeta>,
}

/// A repository's document versions, newest first.
#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", params(DocumentParams),
    responses((status = 200, body = DocumentList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(p): Query<DocumentParams>,
) -> ApiResult<axum::Json<DocumentList>> {
    let documents = versions(&state, &caller, &p.repository)
        .await?
        .into_iter()
        .filter(|d| p.language.as_ref().is_none_or(|l| &d.language == l))
        .map(|d| DocumentMeta::from(&d))
        .collect();
    Ok(axum::Json(DocumentList { documents }))
}

/// A repository's document versions (up to 200, without their contents), newest first, if
/// the caller may read it: what `GET /api/v1/documents` lists, and the web UI's version
/// selector.
pub async fn versions(
    state: &ApiState,
    caller: &Caller,
    repository: &str,
) -> ApiResult<Vec<DocumentHead>> {
    access::repository(state, caller, repository).await?;
    Ok(state
        .inner
        .parts
        .app
        .list_documents(Some(repository), MAX_VERSIONS)
        .await?)
}

/// A stored document's content as the type the spec generator stored it from.
pub fn content(record: &DocumentRecord) -> ApiResult<SpecDocument> {
    // Stored by the spec generator from this very type; unreadable means a fault of ours.
    SpecDocument::deserialize(&record.content).map_err(|e| {
        ApiError::internal(format!(
            "document {}: unreadable content: {e}",
            record.head.id
        ))
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LatestParams {
    pub repository: String,
    /// BCP 47; `en` when unset.
    pub language: Option<String>,
}

/// The newest document of a repository in a language.
#[utoipa::path(get, path = "/api/v1/documents/latest", tag = "documents", params(LatestParams),
    responses((status = 200, body = DocumentView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn latest(
    State(state): State<ApiState>,
    caller: Caller,
    Query(p): Query<LatestParams>,
) -> ApiResult<axum::Json<DocumentView>> {
    access::repository(&state, &caller, &p.repository).await?;
    let language = p.language.unwrap_or_else(|| "en".into());
    let doc = state
        .inner
        .parts
        .app
        .latest_document(&p.repository, &language)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(doc.into()))
}

/// One document version.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, body = DocumentView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<DocumentView>> {
    Ok(axum::Json(
        access::document(&state, &caller, id).await?.into(),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `md` (Markdown, the default) or `json`.
    pub format: Option<String>,
}

/// The export formats by their names in a URL (the CLI's `--format` names).
fn export_format(name: Option<&str>) -> ApiResult<Format> {
    match name {
        None | Some("md") => Ok(Format::Markdown),
        Some("json") => Ok(Format::Json),
        Some(_) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ApiCode::UnknownFormat,
            "format must be md or json",
        )),
    }
}

/// One document version rendered as the CLI renders it (`specline spec --format md|json`).
#[utoipa::path(get, path = "/api/v1/documents/{id}/export", tag = "documents",
    params(("id" = i64, Path), ExportParams),
    responses(
        (status = 200, description = "The rendering", content(
            (String = "text/markdown; charset=utf-8"),
            (Object = "application/json"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "`UNKNOWN_FORMAT`", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(p): Query<ExportParams>,
) -> ApiResult<Response> {
    let format = export_format(p.format.as_deref())?;
    let record = access::document(&state, &caller, id).await?;
    let doc = content(&record)?;
    let content_type = match format {
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Json => "application/json",
    };
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        export::render(&doc, format),
    )
        .into_response())
}

/// What changed in this version against the one before it: behaviors added, removed,
/// reworded and moved between features (`DocumentDiff` of `specline-specdoc-model`, stored
/// when the version was made). 404 for a first version.
#[utoipa::path(get, path = "/api/v1/documents/{id}/diff", tag = "documents", params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The diff", content((Object = "application/json"))),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn diff(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    access::document(&state, &caller, id).await?;
    let stored = state
        .inner
        .parts
        .app
        .document_diff(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(stored.diff.content))
}
