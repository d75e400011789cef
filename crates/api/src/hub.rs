//! Live run events, fanned out: one follower per run being watched, however many
//! subscribers it has, and none per idle subscriber.
//!
//! A follower is the engine's own event stream of the run (`Client::events`), which is
//! woken by the store's one shared listener (PostgreSQL `LISTEN`, SQLite's in-process
//! signal): so a thousand subscribers of one run cost one follower, and no subscriber holds
//! a database connection. The follower broadcasts into a bounded channel; a subscriber
//! that falls behind by more than its capacity is told it lagged and reads the missing
//! events back from the database ([`crate::routes::events`]), so a slow client costs
//! bounded memory and never slows the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use specline_queue::{Client, Run};

use crate::event::Outgoing;
use tokio::sync::broadcast;

type Feeds = Arc<Mutex<HashMap<i64, broadcast::Sender<Arc<Outgoing>>>>>;

/// How often an idle follower checks that someone still listens.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// The per-process fan-out of run events.
#[derive(Clone)]
pub struct Hub {
    client: Client,
    feeds: Feeds,
    capacity: usize,
}

impl Hub {
    pub fn new(client: Client) -> Hub {
        Hub::with_capacity(client, 256)
    }

    /// `capacity`: events buffered per run for its slowest subscriber.
    pub fn with_capacity(client: Client, capacity: usize) -> Hub {
        Hub {
            client,
            feeds: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    /// Live events of `run` from about now on (the caller reads the history itself, after
    /// subscribing, so nothing falls between the two).
    pub fn subscribe(&self, run: &Run) -> broadcast::Receiver<Arc<Outgoing>> {
        let mut feeds = match self.feeds.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(tx) = feeds.get(&run.id) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(self.capacity);
        feeds.insert(run.id, tx.clone());
        tokio::spawn(follow(
            self.client.clone(),
            self.feeds.clone(),
            run.owner.clone(),
            run.id,
            run.last_seq,
            tx,
        ));
        metrics::gauge!("specline_api_run_followers").increment(1.0);
        rx
    }

    /// Runs being followed now.
    pub fn followers(&self) -> usize {
        self.feeds.lock().map(|f| f.len()).unwrap_or(0)
    }
}

/// Remove the run's feed if it is still `tx`'s and nobody listens (or `force`).
fn retire(feeds: &Feeds, run_id: i64, tx: &broadcast::Sender<Arc<Outgoing>>, force: bool) -> bool {
    let mut feeds = match feeds.lock() {
        Ok(f) => f,
        Err(poisoned) => poisoned.into_inner(),
    };
    if !force && tx.receiver_count() > 0 {
        return false;
    }
    if feeds.get(&run_id).is_some_and(|t| t.same_channel(tx)) {
        feeds.remove(&run_id);
    }
    true
}

async fn follow(
    client: Client,
    feeds: Feeds,
    owner: String,
    run_id: i64,
    after: i64,
    tx: broadcast::Sender<Arc<Outgoing>>,
) {
    match client.events(&owner, run_id, after).await {
        Ok(stream) => {
            let mut stream = std::pin::pin!(stream);
            let mut idle = tokio::time::interval(IDLE_CHECK);
            idle.tick().await;
            loop {
                tokio::select! {
                    item = stream.next() => match item {
                        Some(Ok(ev)) => {
                            let terminal = ev.status.is_terminal();
                            if tx.send(Outgoing::new(&ev)).is_err() && retire(&feeds, run_id, &tx, false) {
                                break;
                            }
                            if terminal {
                                break;
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!(run_id, error = %e, "following a run's events failed");
                            break;
                        }
                        None => break,
                    },
                    _ = idle.tick() => {
                        if retire(&feeds, run_id, &tx, false) {
                            break;
                        }
                    }
                }
            }
        }
        Err(e) => tracing::warn!(run_id, error = %e, "cannot follow a run's events"),
    }
    retire(&feeds, run_id, &tx, true);
    metrics::gauge!("specline_api_run_followers").decrement(1.0);
}
