//! The leader lease: take or renew it, resign.

use super::*;

impl SqliteStore {
    pub(super) async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>> {
        let holder = holder.to_string();
        self.with_conn(move |conn| {
            let now = now_us();
            let expires = plus(now, ttl);
            let term: Option<i64> = conn
                .query_row(
                    "INSERT INTO specline_leader (name, holder, term, elected_at, expires_at)
                     VALUES ('default', ?1, 1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET
                       holder = excluded.holder,
                       term = CASE WHEN specline_leader.holder = excluded.holder AND specline_leader.expires_at > ?2
                                   THEN specline_leader.term ELSE specline_leader.term + 1 END,
                       elected_at = CASE WHEN specline_leader.holder = excluded.holder AND specline_leader.expires_at > ?2
                                         THEN specline_leader.elected_at ELSE ?2 END,
                       expires_at = excluded.expires_at
                     WHERE specline_leader.holder = excluded.holder OR specline_leader.expires_at <= ?2
                     RETURNING term",
                    params![holder, now, expires],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(term.map(|term| Lease { holder, term }))
        })
        .await
    }

    pub(super) async fn resign(&self, lease: &Lease) -> Result<()> {
        let lease = lease.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM specline_leader WHERE name = 'default' AND holder = ?1 AND term = ?2",
                params![lease.holder, lease.term],
            )?;
            Ok(())
        })
        .await
    }
}
