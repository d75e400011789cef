//! A run event as the API sends it: its JSON view, and the event serialized once for every
//! subscriber that sends it (a thousand subscribers of one run cost one serialization).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use specline_queue::RunEvent;
use utoipa::ToSchema;

/// One event as sent in `data:`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub run_id: i64,
    /// Gapless from 1 per run; also the SSE `id`.
    pub seq: i64,
    pub job_id: Option<i64>,
    pub stage: Option<String>,
    /// `queued`, `started`, `progress`, `completed`, `failed`, `done`.
    pub status: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub progress: i16,
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
}

impl From<&RunEvent> for EventView {
    fn from(e: &RunEvent) -> Self {
        EventView {
            run_id: e.run_id,
            seq: e.seq,
            job_id: e.job_id,
            stage: e.stage.clone(),
            status: e.status.as_str().to_string(),
            at: e.at,
            progress: e.progress,
            payload: e.payload.clone(),
        }
    }
}

/// An event ready to send: its seq, status and JSON, shared by every subscriber.
#[derive(Debug)]
pub struct Outgoing {
    pub seq: i64,
    pub status: &'static str,
    pub terminal: bool,
    pub json: String,
}

impl Outgoing {
    pub fn new(e: &RunEvent) -> Arc<Outgoing> {
        let json = serde_json::to_string(&EventView::from(e))
            .unwrap_or_else(|err| format!("{{\"seq\":{},\"error\":\"{err}\"}}", e.seq));
        Arc::new(Outgoing {
            seq: e.seq,
            status: e.status.as_str(),
            terminal: e.status.is_terminal(),
            json,
        })
    }
}
