//! The leader lease: take or renew it, resign.

use super::*;

impl PgStore {
    pub(super) async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>> {
        let c = self.client().await?;
        let secs = clock::bounded(ttl).as_secs_f64();
        let row = c
            .query_opt(
                "INSERT INTO specline_leader (name, holder, term, elected_at, expires_at)
                 VALUES ('default', $1, 1, now(), now() + make_interval(secs => $2))
                 ON CONFLICT (name) DO UPDATE SET
                   holder = EXCLUDED.holder,
                   term = CASE WHEN specline_leader.holder = EXCLUDED.holder
                                AND specline_leader.expires_at > now()
                               THEN specline_leader.term ELSE specline_leader.term + 1 END,
                   elected_at = CASE WHEN specline_leader.holder = EXCLUDED.holder
                                      AND specline_leader.expires_at > now()
                                     THEN specline_leader.elected_at ELSE now() END,
                   expires_at = EXCLUDED.expires_at
                 WHERE specline_leader.holder = EXCLUDED.holder OR specline_leader.expires_at <= now()
                 RETURNING term",
                &[&holder, &secs],
            )
            .await?;
        Ok(row.map(|r| Lease {
            holder: holder.to_string(),
            term: r.get(0),
        }))
    }

    pub(super) async fn resign(&self, lease: &Lease) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM specline_leader WHERE name = 'default' AND holder = $1 AND term = $2",
            &[&lease.holder, &lease.term],
        )
        .await?;
        Ok(())
    }
}
