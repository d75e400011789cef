//! `GET /api/v1/runs/{id}/events`: the run's events as Server-Sent Events.
//!
//! Each event is `id: <seq>`, `event: <status>`, `data: <event JSON>`. The stream replays
//! the history after `Last-Event-ID` (or `?after=`), then follows live through the
//! process's [`crate::hub::Hub`], and ends after the terminal event (`done` or `failed`).
//! Seqs are gapless: the subscriber passes on only `last + 1`; anything else (a lag, a
//! gap, a follower that stopped) sends it back to the database for what it missed.
//! Comment lines every `api.heartbeat_secs` keep proxies from closing an idle stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use specline_queue::RunState;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa::IntoParams;

use crate::access;
use crate::auth::Caller;
use crate::body::{Path, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::event::{EventView, Outgoing};
use crate::limits::StreamSlot;
use crate::ApiState;

/// Events read from the database per query.
const PAGE: usize = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Send events with a seq above this (`Last-Event-ID` wins when both are given).
    pub after: Option<i64>,
}

fn start_after(headers: &HeaderMap, query: Option<i64>) -> ApiResult<i64> {
    let header = headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::bad_request("Last-Event-ID must be an event seq"))
        })
        .transpose()?;
    match header.or(query) {
        Some(n) if n < 0 => Err(ApiError::bad_request("after must be 0 or more")),
        Some(n) => Ok(n),
        None => Ok(0),
    }
}

/// Follow a run's events.
#[utoipa::path(get, path = "/api/v1/runs/{id}/events", tag = "runs",
    params(("id" = i64, Path), EventParams,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this seq")),
    responses(
        (status = 200, description = "text/event-stream of EventView, ends after `done` or `failed`", content_type = "text/event-stream", body = EventView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(p): Query<EventParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let after = start_after(&headers, p.after)?;
    let run = access::run(&state, &caller, id).await?;
    let slot = state.inner.limits.stream(&caller.owner)?;
    // Subscribe before the history is read, so nothing falls between the two.
    let live = (run.state == RunState::Running).then(|| state.inner.hub.subscribe(&run));
    let follow = Follow {
        state: state.clone(),
        run_id: id,
        last: after,
        live,
        pending: VecDeque::new(),
        reread: true,
        ended: false,
        _slot: slot,
    };
    let heartbeat = state.inner.parts.config.heartbeat;
    Ok(Sse::new(events(follow))
        .keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat"))
        .into_response())
}

/// One subscriber's position.
struct Follow {
    state: ApiState,
    run_id: i64,
    /// Seq of the last event sent.
    last: i64,
    live: Option<broadcast::Receiver<Arc<Outgoing>>>,
    /// Events read but not yet sent, in seq order.
    pending: VecDeque<Arc<Outgoing>>,
    /// Read the database before waiting for live events.
    reread: bool,
    ended: bool,
    _slot: StreamSlot,
}

impl Follow {
    /// The next event to send, `None` at the end.
    async fn next(&mut self) -> Option<Arc<Outgoing>> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(ev) = self.pending.pop_front() {
                if ev.seq != self.last + 1 {
                    if ev.seq > self.last + 1 {
                        self.pending.clear();
                        self.reread = true;
                    }
                    continue;
                }
                self.last = ev.seq;
                self.ended = ev.terminal;
                return Some(ev);
            }
            if self.reread {
                let store = self.state.inner.parts.client.store();
                match store.run_events(self.run_id, self.last, PAGE).await {
                    Ok(evs) => {
                        self.reread = evs.len() == PAGE;
                        if !evs.is_empty() {
                            self.pending.extend(evs.iter().map(Outgoing::new));
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(run_id = self.run_id, error = %e, "reading run events failed");
                        return None;
                    }
                }
            }
            let Some(live) = self.live.as_mut() else {
                // Not running when the stream opened and the history is exhausted: unless
                // the run was resumed since, there is nothing more to come.
                match self
                    .state
                    .inner
                    .parts
                    .client
                    .store()
                    .get_run(self.run_id)
                    .await
                {
                    Ok(Some(run)) if run.state == RunState::Running => {
                        self.live = Some(self.state.inner.hub.subscribe(&run));
                        self.reread = true;
                        continue;
                    }
                    _ => return None,
                }
            };
            match live.recv().await {
                Ok(ev) if ev.seq <= self.last => {}
                Ok(ev) => self.pending.push_back(ev),
                Err(RecvError::Lagged(_)) => self.reread = true,
                Err(RecvError::Closed) => {
                    // The follower stopped (terminal event, or an error): what is left is in
                    // the database; follow again if the run is still going.
                    self.live = None;
                    self.reread = true;
                    // A follower that failed at once must not turn this into a busy loop.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

fn events(follow: Follow) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    futures::stream::unfold(follow, |mut f| async move {
        let ev = f.next().await?;
        let event = Event::default()
            .id(ev.seq.to_string())
            .event(ev.status)
            .data(&ev.json);
        Some((Ok(event), f))
    })
}
