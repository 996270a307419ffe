//! SQL sources: the rows of a query against SQLite, PostgreSQL or MySQL/MariaDB become
//! records, one field per result column. The query runs over the simple (text) protocol, so
//! every value arrives as text whatever its column type, and the field types of the spec
//! parse it as they parse CSV. Rows are streamed: each becomes a record as it arrives.

use super::{ReadResult, Row};
use crate::db::Database;
use crate::error::redact_url;

/// Runs `query` against the database at `url` and returns its rows as records.
pub(super) fn read(query: &str, url: &str) -> ReadResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| (None, format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let db = Database::open_read(url)
            .await
            .map_err(|e| (None, e.to_string()))?;
        if db.pool.is_none() {
            return Err((None, format!("database {} does not exist", redact_url(url))));
        }
        let mut out = Vec::new();
        let result = db
            .text_rows(query, |columns| {
                let record = columns
                    .into_iter()
                    .map(|(name, value)| {
                        (
                            name,
                            value.map_or(serde_json::Value::Null, serde_json::Value::String),
                        )
                    })
                    .collect();
                out.push(Row {
                    label: format!("row {}", out.len() + 1),
                    value: serde_json::Value::Object(record),
                });
            })
            .await
            .map(|()| out);
        let result = result.map_err(|e| (None, db.scrub(format!("the query failed: {e}"))));
        db.close().await;
        result
    })
}
