//! [`DocumentDiffStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::{params, Row};

use super::super::document_diff::{
    DocumentDiffRecord, DocumentDiffStore, NewDocumentDiff, DIFF_COLUMNS,
};
use super::{from_micros, json, micros, query_first, SqliteAppStore};
use crate::store::Result;

/// See the PostgreSQL migration 5.
pub(super) const MIGRATION_5: &str = r#"
CREATE TABLE specline_document_diffs (
  document_id      INTEGER PRIMARY KEY REFERENCES specline_documents (id) ON DELETE CASCADE,
  base_document_id INTEGER NOT NULL,
  added            INTEGER NOT NULL,
  removed          INTEGER NOT NULL,
  reworded         INTEGER NOT NULL,
  moved            INTEGER NOT NULL,
  content          TEXT NOT NULL,
  created_at       INTEGER NOT NULL
);
"#;

fn read(r: &Row<'_>) -> Result<DocumentDiffRecord> {
    Ok(DocumentDiffRecord {
        diff: NewDocumentDiff {
            document_id: r.get(0)?,
            base_document_id: r.get(1)?,
            added: r.get(2)?,
            removed: r.get(3)?,
            reworded: r.get(4)?,
            moved: r.get(5)?,
            content: json(&r.get::<_, String>(6)?)?,
        },
        created_at: from_micros(r.get(7)?)?,
    })
}

#[async_trait]
impl DocumentDiffStore for SqliteAppStore {
    async fn store_document_diff(&self, d: &NewDocumentDiff) -> Result<()> {
        let d = d.clone();
        let now = micros(chrono::Utc::now());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO specline_document_diffs
                   (document_id, base_document_id, added, removed, reworded, moved, content, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (document_id) DO NOTHING",
                params![
                    d.document_id,
                    d.base_document_id,
                    d.added,
                    d.removed,
                    d.reworded,
                    d.moved,
                    d.content.to_string(),
                    now
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn document_diff(&self, document_id: i64) -> Result<Option<DocumentDiffRecord>> {
        self.read(move |conn| {
            query_first(
                conn,
                &format!(
                    "SELECT {DIFF_COLUMNS} FROM specline_document_diffs WHERE document_id = ?1"
                ),
                [document_id],
                read,
            )
        })
        .await
    }
}
