//! What can go wrong while reading or writing, as data: the database's own error, a problem
//! with the spec or the plan found on the way, an interrupt, or a saved plan gone stale. The
//! public functions of [`super::read`] and [`super::apply`] word them.

use super::sqlite_bulk::SqliteError;
use crate::error::Error;
use crate::state::CurrentState;

/// A read that failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    Sql(sqlx::Error),
    /// The table does not suit the spec (a missing column, a column of the wrong type, a
    /// table another resource manages).
    Spec(Error),
}

impl From<sqlx::Error> for ReadError {
    fn from(e: sqlx::Error) -> Self {
        ReadError::Sql(e)
    }
}

/// An apply that failed; everything it wrote is rolled back.
#[derive(Debug)]
pub(crate) enum ApplyError {
    Sql(sqlx::Error),
    Sqlite(SqliteError),
    Other(Error),
    /// SIGINT or SIGTERM arrived: the transaction is dropped, so rolled back.
    Interrupted,
    /// The table or the state changed since plan `index` of the apply was made: what they
    /// hold now.
    Stale(usize, Box<CurrentState>),
    /// An error of the `n`-th create of a plan.
    AtCreate(usize, Box<ApplyError>),
    /// An error and the record it concerns (`customers["x"] (production:7)`).
    Located(String, Box<ApplyError>),
}

impl From<SqliteError> for ApplyError {
    fn from(e: SqliteError) -> Self {
        ApplyError::Sqlite(e)
    }
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Sql(e)
    }
}

impl From<ReadError> for ApplyError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Sql(e) => ApplyError::Sql(e),
            ReadError::Spec(e) => ApplyError::Other(e),
        }
    }
}

impl From<Error> for ApplyError {
    fn from(e: Error) -> Self {
        ApplyError::Other(e)
    }
}

/// Stops the apply (rolling it back) when the user interrupted it.
pub(crate) fn stop_if_interrupted() -> Result<(), ApplyError> {
    if super::interrupt::interrupted() {
        Err(ApplyError::Interrupted)
    } else {
        Ok(())
    }
}

/// An error of a multi-row INSERT whose rows start at create `start`: MySQL and MariaDB say
/// which row of the statement failed (`… at row 3`).
pub(crate) fn at_row(e: sqlx::Error, start: usize) -> ApplyError {
    let row = e
        .as_database_error()
        .map(|d| d.message().to_string())
        .and_then(|m| {
            let n = m
                .rsplit(" at row ")
                .next()
                .filter(|_| m.contains(" at row "))?;
            n.trim().parse::<usize>().ok()
        });
    match row.and_then(|r| r.checked_sub(1)) {
        Some(r) => ApplyError::AtCreate(start + r, Box::new(ApplyError::Sql(e))),
        None => ApplyError::Sql(e),
    }
}

/// The database inserted another number of rows than it was sent.
pub(crate) fn count_mismatch(expected: usize, got: usize) -> ApplyError {
    ApplyError::Other(Error::Plan {
        message: format!("the database inserted {got} rows where {expected} were sent"),
        help: None,
    })
}
