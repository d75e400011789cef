//! Inserting jobs: in the store's own transaction or in the application's ([`SqliteTx`]).

use chrono::Utc;
use rusqlite::{params, OptionalExtension};

use super::tags::SqliteTags;
use super::time::micros;
use crate::error::{Error, Result};
use crate::job::{Fence, Inserted, JobState, NewJob};

/// A transaction on the store's connection, for inserting jobs together with the
/// application's own writes (see [`SqliteStore::transaction`]).
pub struct SqliteTx<'a> {
    pub(super) tx: rusqlite::Transaction<'a>,
    pub(super) inserted_queues: Vec<String>,
}

impl SqliteTx<'_> {
    /// The underlying transaction, for the application's own statements.
    pub fn conn(&self) -> &rusqlite::Transaction<'_> {
        &self.tx
    }

    /// Whether `fence` holds: the job is still running that attempt. The transaction holds
    /// the database's write lock, so the attempt cannot be rescued or recorded before the
    /// caller's own writes in it commit: check it, then write, in one transaction.
    pub fn holds_fence(&self, fence: Fence) -> Result<bool> {
        let found: Option<i64> = self
            .tx
            .query_row(
                "SELECT 1 FROM specline_jobs WHERE id = ?1 AND attempt = ?2 AND state = 'running'",
                params![fence.job_id, fence.attempt],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// Insert jobs in this transaction; workers are woken after it commits.
    pub fn insert(&mut self, jobs: &[NewJob]) -> Result<Vec<Inserted>> {
        let out = insert_rows(&self.tx, jobs)?;
        for j in jobs {
            if !self.inserted_queues.contains(&j.queue) {
                self.inserted_queues.push(j.queue.clone());
            }
        }
        Ok(out)
    }
}

/// Rows per multi-row INSERT statement.
const INSERT_CHUNK: usize = 100;

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, created_at, \
         scheduled_at, unique_key, unique_states, metadata, tags, partition_key, fair_tag) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    }
    sql.push_str(" RETURNING id");
    sql
}

pub(super) fn insert_rows(
    tx: &rusqlite::Transaction<'_>,
    jobs: &[NewJob],
) -> Result<Vec<Inserted>> {
    let now_dt = Utc::now();
    let now = micros(now_dt);
    let mut out: Vec<Option<Inserted>> = vec![None; jobs.len()];
    let mut plain: Vec<usize> = Vec::new();
    // The rows holding the key; which of them count is the job's mask of states
    // (`JobState::bit`, the one state table).
    let mut find_unique = tx.prepare_cached(
        "SELECT id, state, unique_states FROM specline_jobs WHERE unique_key = ?1",
    )?;
    let mut insert_one = tx.prepare_cached(&insert_sql(1))?;
    let mut tags = SqliteTags::default();
    let mut bind = |j: &NewJob| -> Result<Vec<rusqlite::types::Value>> {
        use rusqlite::types::Value as V;
        let fair_tag = match &j.partition_key {
            Some(key) => V::Integer(tags.tag(tx, &j.kind, key)?),
            None => V::Null,
        };
        Ok(vec![
            V::Text(j.kind.clone()),
            V::Text(j.queue.clone()),
            V::Text(j.args.to_string()),
            V::Text(j.initial_state(now_dt).as_str().to_string()),
            V::Integer(j.priority.into()),
            V::Integer(j.max_attempts.into()),
            V::Integer(now),
            V::Integer(j.scheduled_at.map(micros).unwrap_or(now)),
            j.unique_key.clone().map(V::Text).unwrap_or(V::Null),
            V::Integer(j.unique_states.into()),
            V::Text(j.metadata.to_string()),
            V::Text(serde_json::to_string(&j.tags).unwrap_or_else(|_| "[]".into())),
            j.partition_key.clone().map(V::Text).unwrap_or(V::Null),
            fair_tag,
        ])
    };
    for (i, j) in jobs.iter().enumerate() {
        match &j.unique_key {
            Some(k) => {
                let holders = find_unique
                    .query_map([k], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i32>(2)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut existing = None;
                for (id, state, mask) in holders {
                    if JobState::parse(&state)?.bit() & mask != 0 {
                        existing = Some(id);
                        break;
                    }
                }
                out[i] = Some(match existing {
                    Some(id) => Inserted {
                        id,
                        duplicate: true,
                    },
                    None => {
                        let id: i64 = insert_one
                            .query_row(rusqlite::params_from_iter(bind(j)?), |r| r.get(0))?;
                        Inserted {
                            id,
                            duplicate: false,
                        }
                    }
                });
            }
            None => plain.push(i),
        }
    }
    for chunk in plain.chunks(INSERT_CHUNK) {
        let mut stmt = tx.prepare_cached(&insert_sql(chunk.len()))?;
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        for &i in chunk {
            values.extend(bind(&jobs[i])?);
        }
        let mut ids: Vec<i64> = stmt
            .query_map(rusqlite::params_from_iter(values), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // AUTOINCREMENT ids follow the VALUES order; RETURNING order is not promised.
        ids.sort_unstable();
        for (&i, id) in chunk.iter().zip(ids) {
            out[i] = Some(Inserted {
                id,
                duplicate: false,
            });
        }
    }
    tags.save(tx)?;
    out.into_iter()
        .map(|o| o.ok_or_else(|| Error::Corrupt("insert returned fewer rows than sent".into())))
        .collect()
}
