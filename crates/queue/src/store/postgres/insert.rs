//! Inserting jobs in bulk: one statement per chunk, results mapped back to input order.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::job::{Inserted, NewJob};

pub(super) fn distinct_queues(jobs: &[NewJob]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for j in jobs {
        if !out.contains(&j.queue) {
            out.push(j.queue.clone());
        }
    }
    out
}

/// Rows per insert statement: keeps each statement's parameter arrays to a sane size.
pub(super) const INSERT_CHUNK: usize = 10_000;

pub(super) const INSERT_SQL: &str = include_str!("sql/insert_jobs.sql");

/// Insert with one statement; the result is mapped back to input order.
pub(super) async fn insert_rows<C: tokio_postgres::GenericClient + Sync>(
    client: &C,
    stmt: &tokio_postgres::Statement,
    jobs: &[NewJob],
    channel: &str,
    notify_queues: &[String],
) -> Result<Vec<Inserted>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    // Within one statement a row may be touched once: collapse repeated unique keys first.
    let mut first_of_key: HashMap<&str, usize> = HashMap::new();
    let mut send: Vec<usize> = Vec::with_capacity(jobs.len());
    let mut alias: Vec<Option<usize>> = vec![None; jobs.len()];
    for (i, j) in jobs.iter().enumerate() {
        if let Some(k) = j.unique_key.as_deref() {
            if let Some(&first) = first_of_key.get(k) {
                alias[i] = Some(first);
                continue;
            }
            first_of_key.insert(k, i);
        }
        send.push(i);
    }
    let n = send.len();
    let mut kinds = Vec::with_capacity(n);
    let mut queues = Vec::with_capacity(n);
    let mut args = Vec::with_capacity(n);
    let mut prios = Vec::with_capacity(n);
    let mut maxes = Vec::with_capacity(n);
    let mut sched: Vec<Option<DateTime<Utc>>> = Vec::with_capacity(n);
    let mut ukeys: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut ustates = Vec::with_capacity(n);
    let mut metas = Vec::with_capacity(n);
    let mut tags = Vec::with_capacity(n);
    let mut partitions: Vec<Option<&str>> = Vec::with_capacity(n);
    for &i in &send {
        let j = &jobs[i];
        kinds.push(j.kind.as_str());
        queues.push(j.queue.as_str());
        args.push(j.args.to_string());
        prios.push(j.priority);
        maxes.push(j.max_attempts);
        sched.push(j.scheduled_at);
        ukeys.push(j.unique_key.as_deref());
        ustates.push(j.unique_states);
        metas.push(j.metadata.to_string());
        tags.push(serde_json::to_string(&j.tags).unwrap_or_else(|_| "[]".into()));
        partitions.push(j.partition_key.as_deref());
    }
    let limited: Vec<(&str, Option<&str>)> = send
        .iter()
        .map(|&i| (jobs[i].kind.as_str(), jobs[i].partition_key.as_deref()))
        .collect();
    let (fair_tags, tagger) = super::tags::tag(client, &limited).await?;
    let rows = client
        .query(
            stmt,
            &[
                &kinds,
                &queues,
                &args,
                &prios,
                &maxes,
                &sched,
                &ukeys,
                &ustates,
                &metas,
                &tags,
                &channel,
                &notify_queues,
                &partitions,
                &fair_tags,
            ],
        )
        .await?;
    super::tags::save(client, &tagger).await?;
    let mut by_key: HashMap<String, Inserted> = HashMap::new();
    let mut plain: Vec<i64> = Vec::new();
    for r in &rows {
        let id: i64 = r.get(0);
        let key: Option<String> = r.get(1);
        let duplicate: bool = r.get(2);
        match key {
            Some(k) => {
                by_key.insert(k, Inserted { id, duplicate });
            }
            None => plain.push(id),
        }
    }
    // Identity values are drawn in input order, so ascending ids map to input order.
    plain.sort_unstable();
    let mut plain = plain.into_iter();
    let mut out: Vec<Option<Inserted>> = vec![None; jobs.len()];
    for &i in &send {
        let got = match jobs[i].unique_key.as_deref() {
            Some(k) => by_key.get(k).copied(),
            None => plain.next().map(|id| Inserted {
                id,
                duplicate: false,
            }),
        };
        out[i] = got;
    }
    for i in 0..jobs.len() {
        if let Some(first) = alias[i] {
            out[i] = out[first].map(|ins| Inserted {
                id: ins.id,
                duplicate: true,
            });
        }
    }
    out.into_iter()
        .map(|o| o.ok_or_else(|| Error::Corrupt("insert returned fewer rows than sent".into())))
        .collect()
}
