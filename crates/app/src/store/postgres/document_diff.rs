//! [`DocumentDiffStore`] on PostgreSQL.

use async_trait::async_trait;
use tokio_postgres::Row;

use super::super::document_diff::{
    DocumentDiffRecord, DocumentDiffStore, NewDocumentDiff, DIFF_COLUMNS,
};
use super::PgAppStore;
use crate::store::Result;

/// Diffs between document versions (application migration 5). The base is not a foreign key:
/// retention may delete an old version while its successor's diff stays meaningful.
pub(super) const MIGRATION_5: &str = r#"
CREATE TABLE specline_document_diffs (
  document_id      bigint PRIMARY KEY REFERENCES specline_documents (id) ON DELETE CASCADE,
  base_document_id bigint NOT NULL,
  added            bigint NOT NULL,
  removed          bigint NOT NULL,
  reworded         bigint NOT NULL,
  moved            bigint NOT NULL,
  content          jsonb NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
"#;

fn read(r: &Row) -> Result<DocumentDiffRecord> {
    Ok(DocumentDiffRecord {
        diff: NewDocumentDiff {
            document_id: r.try_get(0)?,
            base_document_id: r.try_get(1)?,
            added: r.try_get(2)?,
            removed: r.try_get(3)?,
            reworded: r.try_get(4)?,
            moved: r.try_get(5)?,
            content: r.try_get(6)?,
        },
        created_at: r.try_get(7)?,
    })
}

#[async_trait]
impl DocumentDiffStore for PgAppStore {
    async fn store_document_diff(&self, d: &NewDocumentDiff) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_document_diffs
               (document_id, base_document_id, added, removed, reworded, moved, content)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (document_id) DO NOTHING",
            &[
                &d.document_id,
                &d.base_document_id,
                &d.added,
                &d.removed,
                &d.reworded,
                &d.moved,
                &d.content,
            ],
        )
        .await?;
        Ok(())
    }

    async fn document_diff(&self, document_id: i64) -> Result<Option<DocumentDiffRecord>> {
        self.first(
            &format!("SELECT {DIFF_COLUMNS} FROM specline_document_diffs WHERE document_id = $1"),
            &[&document_id],
            read,
        )
        .await
    }
}
