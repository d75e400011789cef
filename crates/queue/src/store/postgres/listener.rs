//! Wake-ups on PostgreSQL: one LISTEN connection per store (reconnecting, with a `Resync`
//! after a gap), and the limiter that sends at most one insert wake-up per queue per cooldown.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_postgres::AsyncMessage;

use super::insert::distinct_queues;
use super::PgStore;
use crate::error::Result;
use crate::job::NewJob;
use crate::store::Wakeup;

#[derive(Default)]
pub(super) struct NotifyLimiter {
    pub(super) last: HashMap<String, Instant>,
    pub(super) trailing: HashSet<String>,
}

impl PgStore {
    /// Decide which queues may be notified now; schedule a trailing wake-up for the others.
    pub(super) fn queues_to_notify(&self, jobs: &[NewJob]) -> Vec<String> {
        let now = Instant::now();
        let cooldown = self.inner.cooldown;
        let mut notify = Vec::new();
        let mut trailing = Vec::new();
        {
            let Ok(mut lim) = self.inner.limiter.lock() else {
                return distinct_queues(jobs);
            };
            for q in distinct_queues(jobs) {
                match lim.last.get(&q).copied() {
                    Some(t) if now.duration_since(t) < cooldown => {
                        if lim.trailing.insert(q.clone()) {
                            trailing.push((q, cooldown - now.duration_since(t)));
                        }
                    }
                    _ => {
                        lim.last.insert(q.clone(), now);
                        notify.push(q);
                    }
                }
            }
        }
        for (q, wait) in trailing {
            let store = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                if let Ok(mut lim) = store.inner.limiter.lock() {
                    lim.trailing.remove(&q);
                    lim.last.insert(q.clone(), Instant::now());
                }
                if let Ok(c) = store.client().await {
                    let _ = c
                        .execute(
                            "SELECT pg_notify($1, $2)",
                            &[&store.inner.channel, &format!("i:{q}")],
                        )
                        .await;
                }
            });
        }
        notify
    }

    pub(super) fn start_listener(&self) {
        if self.inner.listener_started.set(()).is_err() {
            return;
        }
        let cfg = self.inner.pg_config.clone();
        let tls = self.inner.tls.clone();
        let channel = self.inner.channel.clone();
        let tx = self.inner.wakeups.clone();
        let stop = self.inner.shutdown.clone();
        let listening = self.inner.listening.clone();
        tokio::spawn(async move {
            let mut first = true;
            loop {
                if stop.is_cancelled() {
                    return;
                }
                match cfg.connect(tls.clone()).await {
                    Ok((client, mut conn)) => {
                        let mut messages =
                            futures::stream::poll_fn(move |cx| conn.poll_message(cx));
                        let listen_sql = format!("LISTEN \"{channel}\"");
                        let ok = {
                            let listen = client.batch_execute(&listen_sql);
                            // Drive the connection while LISTEN runs.
                            tokio::pin!(listen);
                            loop {
                                tokio::select! {
                                    r = &mut listen => break r.is_ok(),
                                    m = messages.next() => if m.is_none() { break false },
                                }
                            }
                        };
                        if ok {
                            if !first {
                                let _ = tx.send(Wakeup::Resync);
                            }
                            first = false;
                            listening.store(true, Ordering::Relaxed);
                            loop {
                                tokio::select! {
                                    _ = stop.cancelled() => return,
                                    m = messages.next() => match m {
                                        Some(Ok(AsyncMessage::Notification(n))) => {
                                            if let Some(ev) = parse_wakeup(n.payload()) {
                                                let _ = tx.send(ev);
                                            }
                                        }
                                        Some(Ok(_)) => {}
                                        Some(Err(e)) => {
                                            tracing::warn!(error = %e, "specline LISTEN connection failed; reconnecting");
                                            break;
                                        }
                                        None => break,
                                    }
                                }
                            }
                        }
                        listening.store(false, Ordering::Relaxed);
                        drop(client);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "specline LISTEN connection could not connect; retrying");
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        });
    }

    pub(super) async fn notify(&self, payload: String) -> Result<()> {
        let c = self.client().await?;
        c.execute("SELECT pg_notify($1, $2)", &[&self.inner.channel, &payload])
            .await?;
        Ok(())
    }
}

fn parse_wakeup(payload: &str) -> Option<Wakeup> {
    let (tag, rest) = payload.split_once(':')?;
    match tag {
        "i" => Some(Wakeup::Inserted(rest.to_string())),
        "c" => rest.parse().ok().map(Wakeup::CancelRequested),
        "q" => Some(Wakeup::QueueChanged(rest.to_string())),
        "e" => rest.parse().ok().map(Wakeup::RunEvent),
        _ => None,
    }
}
