//! SQL sources: the rows of a query against SQLite, PostgreSQL or MySQL/MariaDB become
//! records, one field per result column. The query runs over the simple (text) protocol, so
//! every value arrives as text whatever its column type, and the field types of the spec
//! parse it as they parse CSV. Rows are streamed: each becomes a record as it arrives.

use futures_util::TryStreamExt as _;
use sqlx::{Column as _, Row as _};

use super::{ReadResult, Row};
use crate::db::{Database, on_pool};
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
        let Some(pool) = &db.pool else {
            return Err((
                None,
                format!("database {} does not exist", redact_url(url)),
            ));
        };
        let result: Result<Vec<Row>, sqlx::Error> = on_pool!(pool, p => async {
            let mut conn = p.acquire().await?;
            let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(query.to_string())).fetch(&mut *conn);
            let mut out = Vec::new();
            while let Some(r) = stream.try_next().await? {
                let mut record = serde_json::Map::with_capacity(r.len());
                for (i, col) in r.columns().iter().enumerate() {
                    let value: Option<String> = r.try_get_unchecked(i)?;
                    record.insert(
                        col.name().to_string(),
                        value.map_or(serde_json::Value::Null, serde_json::Value::String),
                    );
                }
                out.push(Row {
                    label: format!("row {}", out.len() + 1),
                    value: serde_json::Value::Object(record),
                });
            }
            Ok(out)
        }.await);
        let result = result.map_err(|e| (None, db.scrub(format!("the query failed: {e}"))));
        db.close().await;
        result
    })
}
