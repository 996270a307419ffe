//! Bulk writes and reads on SQLite through its own C API, on the connection sqlx holds
//! (locked out of sqlx's worker thread for the duration, as sqlx provides for). One statement
//! is prepared once and run for every row with its values bound in place: no statement text
//! per batch, no copy of each value into a reference-counted buffer and then again into
//! SQLite, which is what binding through sqlx costs per value and what dominated a
//! million-row apply. Reads step one statement and lend each row's columns where SQLite
//! holds them, for the caller to copy what it keeps.
//!
//! This is the crate's one use of `unsafe`. Every call passes a handle or statement that is
//! alive (the handle is borrowed from its guard; the statement is finalized only on drop),
//! and every text bound without a copy outlives the step that reads it.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int};
use std::ptr::NonNull;

use libsqlite3_sys as ffi;
use sqlx::sqlite::LockedSqliteHandle;

/// A value bound to one parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Param<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

/// An error SQLite returned, worded as sqlx words database errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SqliteError {
    pub code: c_int,
    pub message: String,
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "error returned from database: (code: {}) {}",
            self.code, self.message
        )
    }
}

/// What one run of the statement gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ran {
    /// The rowid of the last row inserted on the connection.
    pub last_rowid: i64,
    /// The first column of the first row returned (`RETURNING`), as text.
    pub returned: Option<String>,
}

/// One column of a row as SQLite holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column<'a> {
    Null,
    Int(i64),
    /// Text (or any other value, as SQLite turns it into text), as bytes: SQLite does not
    /// check that text is UTF-8.
    Text(&'a [u8]),
}

/// The row a statement is on, lent to [`Statement::for_each_row`]'s callback.
pub(crate) struct Row<'s> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    width: usize,
    _step: std::marker::PhantomData<&'s ()>,
}

impl Row<'_> {
    /// The number of columns.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Column `i` (from 0; below [`Row::width`]).
    pub(crate) fn get(&self, i: usize) -> Column<'_> {
        assert!(i < self.width, "a column of the row");
        let (stmt, n) = (self.stmt.as_ptr(), i as c_int);
        // SAFETY: the statement is on a row (the row is lent only between a step that gave
        // SQLITE_ROW and the next step) and `n` is one of its columns. The text pointer, of
        // `bytes` bytes, stays valid until the next step, reset or type conversion of this
        // column, none of which can happen while the borrow of `self` lasts.
        unsafe {
            match ffi::sqlite3_column_type(stmt, n) {
                ffi::SQLITE_NULL => Column::Null,
                ffi::SQLITE_INTEGER => Column::Int(ffi::sqlite3_column_int64(stmt, n)),
                _ => {
                    let text = ffi::sqlite3_column_text(stmt, n);
                    let bytes = ffi::sqlite3_column_bytes(stmt, n).max(0) as usize;
                    if text.is_null() {
                        Column::Text(&[])
                    } else {
                        Column::Text(std::slice::from_raw_parts(text, bytes))
                    }
                }
            }
        }
    }
}

/// A prepared statement on a locked connection.
pub(crate) struct Statement<'h> {
    db: NonNull<ffi::sqlite3>,
    stmt: NonNull<ffi::sqlite3_stmt>,
    params: usize,
    _handle: std::marker::PhantomData<&'h mut ()>,
}

fn error_of(db: NonNull<ffi::sqlite3>, code: c_int) -> SqliteError {
    // SAFETY: `db` is an open connection; the message it returns is a NUL-terminated string
    // owned by SQLite, copied at once.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db.as_ptr());
        if text.is_null() {
            CStr::from_ptr(ffi::sqlite3_errstr(code))
        } else {
            CStr::from_ptr(text)
        }
        .to_string_lossy()
        .into_owned()
    };
    SqliteError {
        code: unsafe { ffi::sqlite3_extended_errcode(db.as_ptr()) },
        message,
    }
}

impl<'h> Statement<'h> {
    /// Prepares `sql` (one statement) on the locked connection.
    pub(crate) fn prepare(
        handle: &'h mut LockedSqliteHandle<'_>,
        sql: &str,
    ) -> Result<Statement<'h>, SqliteError> {
        let db = handle.as_raw_handle();
        let len = c_int::try_from(sql.len()).map_err(|_| SqliteError {
            code: ffi::SQLITE_TOOBIG,
            message: "statement too long".into(),
        })?;
        let mut stmt: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
        // SAFETY: `db` is the open connection the guard holds; `sql` is valid for `len` bytes
        // and SQLite copies what it needs before returning.
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db.as_ptr(),
                sql.as_ptr().cast::<c_char>(),
                len,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if rc != ffi::SQLITE_OK {
            return Err(error_of(db, rc));
        }
        let stmt = NonNull::new(stmt).ok_or_else(|| SqliteError {
            code: ffi::SQLITE_MISUSE,
            message: "empty statement".into(),
        })?;
        // SAFETY: `stmt` was just prepared.
        let params = unsafe { ffi::sqlite3_bind_parameter_count(stmt.as_ptr()) } as usize;
        Ok(Statement {
            db,
            stmt,
            params,
            _handle: std::marker::PhantomData,
        })
    }

    /// Binds `params` (one per parameter, in order).
    ///
    /// Text is bound without a copy (SQLITE_STATIC): every caller borrows `params` for a call
    /// that steps the statement and resets it before returning, and binds every parameter
    /// again before the next step, so SQLite never reads a text after its borrow ends.
    fn bind(&mut self, params: &[Param<'_>]) -> Result<(), SqliteError> {
        assert_eq!(params.len(), self.params, "one value per parameter");
        let stmt = self.stmt.as_ptr();
        for (i, p) in params.iter().enumerate() {
            let n = (i + 1) as c_int;
            // SAFETY: `stmt` is a live statement and `n` one of its parameters; on texts, see
            // above.
            let rc = unsafe {
                match p {
                    Param::Null => ffi::sqlite3_bind_null(stmt, n),
                    Param::Int(v) => ffi::sqlite3_bind_int64(stmt, n, *v),
                    Param::Text(s) => match c_int::try_from(s.len()) {
                        Ok(len) => ffi::sqlite3_bind_text(
                            stmt,
                            n,
                            s.as_ptr().cast::<c_char>(),
                            len,
                            ffi::SQLITE_STATIC(),
                        ),
                        Err(_) => ffi::SQLITE_TOOBIG,
                    },
                }
            };
            if rc != ffi::SQLITE_OK {
                return Err(self.fail(rc));
            }
        }
        Ok(())
    }

    /// Binds `params` and hands every row the statement returns to `each`, in order. The
    /// columns a row lends are valid only during the call that gets it.
    pub(crate) fn for_each_row(
        &mut self,
        params: &[Param<'_>],
        mut each: impl FnMut(&Row<'_>),
    ) -> Result<(), SqliteError> {
        self.bind(params)?;
        let stmt = self.stmt.as_ptr();
        // SAFETY: a live statement.
        let width = unsafe { ffi::sqlite3_column_count(stmt) }.max(0) as usize;
        loop {
            // SAFETY: a live statement with every parameter bound.
            match unsafe { ffi::sqlite3_step(stmt) } {
                ffi::SQLITE_DONE => break,
                ffi::SQLITE_ROW => each(&Row {
                    stmt: self.stmt,
                    width,
                    _step: std::marker::PhantomData,
                }),
                rc => return Err(self.fail(rc)),
            }
        }
        // SAFETY: a live statement; resetting after SQLITE_DONE cannot fail.
        unsafe { ffi::sqlite3_reset(stmt) };
        Ok(())
    }

    /// Binds `params` (one per parameter, in order) and runs the statement to its end.
    pub(crate) fn run(&mut self, params: &[Param<'_>]) -> Result<Ran, SqliteError> {
        self.bind(params)?;
        let stmt = self.stmt.as_ptr();
        let mut returned = None;
        loop {
            // SAFETY: a live statement with every parameter bound.
            match unsafe { ffi::sqlite3_step(stmt) } {
                ffi::SQLITE_DONE => break,
                ffi::SQLITE_ROW => {
                    if returned.is_none() {
                        // SAFETY: the statement is on a row; the text (NUL-terminated, of
                        // `bytes` bytes) is valid until the next step, and is copied now.
                        returned = unsafe {
                            let text = ffi::sqlite3_column_text(stmt, 0);
                            let bytes = ffi::sqlite3_column_bytes(stmt, 0) as usize;
                            (!text.is_null()).then(|| {
                                String::from_utf8_lossy(std::slice::from_raw_parts(text, bytes))
                                    .into_owned()
                            })
                        };
                    }
                }
                rc => return Err(self.fail(rc)),
            }
        }
        // SAFETY: a live statement; resetting after SQLITE_DONE cannot fail.
        unsafe { ffi::sqlite3_reset(stmt) };
        Ok(Ran {
            // SAFETY: `db` is the open connection.
            last_rowid: unsafe { ffi::sqlite3_last_insert_rowid(self.db.as_ptr()) },
            returned,
        })
    }

    /// The error for a failed call, the statement reset for a next use.
    fn fail(&mut self, rc: c_int) -> SqliteError {
        let e = error_of(self.db, rc);
        // SAFETY: a live statement.
        unsafe { ffi::sqlite3_reset(self.stmt.as_ptr()) };
        e
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: the statement is live and is not used after this.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection as _;

    async fn memory() -> sqlx::SqliteConnection {
        sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("in-memory database")
    }

    #[tokio::test]
    async fn rows_are_written_with_their_values_and_rowids() {
        let mut conn = memory().await;
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        {
            let mut handle = conn.lock_handle().await.unwrap();
            let mut st =
                Statement::prepare(&mut handle, "INSERT INTO t (name, n) VALUES (?, ?)").unwrap();
            let names: Vec<String> = (0..3).map(|i| format!("it's {i}")).collect();
            let mut ids = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let n = if i == 1 {
                    Param::Null
                } else {
                    Param::Int(i as i64)
                };
                ids.push(st.run(&[Param::Text(name), n]).unwrap().last_rowid);
            }
            assert_eq!(ids, [1, 2, 3]);
        }
        let rows: Vec<(i64, String, Option<i64>)> =
            sqlx::query_as("SELECT id, name, n FROM t ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                (1, "it's 0".to_string(), Some(0)),
                (2, "it's 1".to_string(), None),
                (3, "it's 2".to_string(), Some(2)),
            ]
        );
    }

    #[tokio::test]
    async fn returned_text_and_constraint_errors_come_back() {
        let mut conn = memory().await;
        sqlx::query("CREATE TABLE t (code TEXT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut handle = conn.lock_handle().await.unwrap();
        let mut st = Statement::prepare(
            &mut handle,
            "INSERT INTO t (code, name) VALUES (?, ?) RETURNING code",
        )
        .unwrap();
        let ran = st.run(&[Param::Text("a1"), Param::Text("x")]).unwrap();
        assert_eq!(ran.returned.as_deref(), Some("a1"));
        let e = st.run(&[Param::Text("a2"), Param::Null]).unwrap_err();
        assert!(
            e.message.contains("NOT NULL constraint failed: t.name"),
            "{e}"
        );
        assert_eq!(e.code, ffi::SQLITE_CONSTRAINT_NOTNULL);
        let e = st.run(&[Param::Text("a1"), Param::Text("y")]).unwrap_err();
        assert!(e.to_string().contains("UNIQUE constraint failed"), "{e}");
        // The statement is usable again after an error.
        let ran = st.run(&[Param::Text("a3"), Param::Text("z")]).unwrap();
        assert_eq!(ran.returned.as_deref(), Some("a3"));
        drop(st);
        let e = match Statement::prepare(&mut handle, "INSERT INTO nowhere VALUES (?)") {
            Err(e) => e,
            Ok(_) => panic!("a statement on a missing table was prepared"),
        };
        assert!(e.message.contains("no such table: nowhere"), "{e}");
    }
}
