//! State repairs written: the entries `state rm`, `state mv`, `import` and `--refresh-only`
//! remove from and write to the state table, in one transaction that holds each table's lock.
//! Nothing else of the target table is written; the resource's no-change shortcut record is
//! removed, so that the next plan reads everything.
//!
//! What to change is decided before, from a read of the table and the state
//! ([`StateEdit::fingerprint`]); under the lock the transaction reads them again and refuses
//! to go on when they changed since (another apply or repair ran meanwhile), so an edit is
//! never made against entries it did not see.

use super::apply::Failed;
use super::backend::{Backend, StateWrite, write_state_in_batches};
use super::error::ApplyError;
use super::lock::LockRequest;
use super::read::{Keep, columns, read_on};
use super::rows::Arg;
use super::writeset::StateEntry;
use super::{Database, Dialect, Pool, claims, inputs, statements};
use crate::error::Error;
use crate::spec::compiled::Compiled;

/// Addresses per DELETE statement.
const DELETE_BATCH: usize = 500;

/// A state entry to write, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The key inside `resource["…"]`.
    pub address: String,
    /// The managed row's primary key, as text.
    pub row_key: String,
    /// The members as the state table's JSON list of `source:id`.
    pub members: String,
    /// The hash of the row's values ([`crate::fingerprint::values_hash`]).
    pub hash: String,
}

/// What one resource's state entries become.
#[derive(Debug, Clone)]
pub struct StateEdit<'a> {
    pub spec: &'a Compiled,
    /// Addresses whose entries are removed.
    pub remove: Vec<String>,
    /// Entries written; an entry at an address the state holds replaces it.
    pub write: Vec<NewEntry>,
    /// The fingerprint of the table and the state the edit was decided from
    /// ([`crate::state::CurrentState::fingerprint`]).
    pub fingerprint: String,
}

impl StateEdit<'_> {
    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.write.is_empty()
    }
}

/// Writes the edits in one transaction holding every lock of `locks` (one per table at least;
/// never empty). Fails, writing nothing, when a table or its state changed since the edit was
/// decided: [`Failed::Stale`] then holds what they hold now.
pub async fn write(
    db: &Database,
    edits: &[StateEdit<'_>],
    locks: &[LockRequest],
) -> Result<(), Failed> {
    assert!(!locks.is_empty(), "a state edit takes at least one lock");
    let result = match &db.pool {
        None => return Err(db.error("the database is not open for writing").into()),
        Some(Pool::Sqlite(p)) => write_pool(db.dialect, p, edits, locks).await,
        Some(Pool::Postgres(p)) => write_pool(db.dialect, p, edits, locks).await,
        Some(Pool::MySql(p)) => write_pool(db.dialect, p, edits, locks).await,
    };
    result.map_err(|e| match e {
        ApplyError::Stale(index, current) => Failed::Stale { index, current },
        ApplyError::Other(e) => Failed::Error(e),
        ApplyError::Interrupted => Failed::Error(Error::Interrupted),
        other => Failed::Error(Error::Database {
            url: db.display_url(),
            message: db.scrub(format!(
                "the state was not changed, nothing was written: {}",
                sql_message(&other)
            )),
            help: None,
        }),
    })
}

fn sql_message(e: &ApplyError) -> String {
    match e {
        ApplyError::Sql(e) => e.to_string(),
        ApplyError::Sqlite(e) => e.to_string(),
        _ => String::new(),
    }
}

/// The edits on a connection of `pool`; the locks are released whatever happens.
async fn write_pool<B: Backend>(
    d: Dialect,
    pool: &sqlx::Pool<B>,
    edits: &[StateEdit<'_>],
    locks: &[LockRequest],
) -> Result<(), ApplyError> {
    let now = crate::time::now_rfc3339();
    let mut conn = pool.acquire().await?;
    let writes = edits.iter().any(|e| !e.write.is_empty());
    if B::DDL_COMMITS && writes {
        // DDL would commit the transaction: the tool's tables are created before it starts.
        for sql in [d.create_state_table(), claims::create_table_sql(d)] {
            B::execute(&mut conn, sql, &[]).await?;
        }
    }
    let result = write_locked::<B>(&mut conn, d, edits, locks, &now).await;
    for l in locks.iter().rev() {
        B::release(&mut conn, l).await;
    }
    result
}

/// Takes the locks, checks that nothing changed since the edits were decided, writes them and
/// commits.
async fn write_locked<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    edits: &[StateEdit<'_>],
    locks: &[LockRequest],
    now: &str,
) -> Result<(), ApplyError> {
    let mut tx = B::begin_locked(conn, &locks[0]).await?;
    for extra in &locks[1..] {
        B::lock(&mut tx, extra).await?;
    }
    let max_bytes = B::max_statement_bytes(&mut tx).await?;
    for (index, edit) in edits.iter().enumerate() {
        let current = read_on::<B>(&mut tx, d, edit.spec, Keep::Prints).await?;
        if current.fingerprint != edit.fingerprint {
            let current = read_on::<B>(&mut tx, d, edit.spec, Keep::Everything).await?;
            return Err(ApplyError::Stale(index, Box::new(current)));
        }
        if edit.is_empty() {
            continue;
        }
        write_one::<B>(&mut tx, d, edit, now, max_bytes).await?;
    }
    super::error::stop_if_interrupted()?;
    tx.commit().await?;
    Ok(())
}

/// One resource's edit, inside the transaction: entries removed, entries written, the table
/// claimed when entries are written, and the shortcut record removed.
async fn write_one<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    edit: &StateEdit<'_>,
    now: &str,
    max_bytes: usize,
) -> Result<(), ApplyError> {
    let resource = edit.spec.resource.as_str();
    if !edit.write.is_empty() && !B::DDL_COMMITS {
        B::execute(conn, d.create_state_table(), &[]).await?;
        B::execute(conn, claims::create_table_sql(d), &[]).await?;
    }
    // An entry written at an address the state holds replaces it: its old entry goes first.
    let gone: Vec<&str> = edit
        .remove
        .iter()
        .map(String::as_str)
        .chain(edit.write.iter().map(|e| e.address.as_str()))
        .collect();
    if !columns::<B>(conn, d, super::STATE_TABLE).await?.is_empty() {
        for chunk in gone.chunks(DELETE_BATCH) {
            let mut args = vec![Arg::Text(resource)];
            args.extend(chunk.iter().map(|a| Arg::Text(a)));
            B::execute(conn, statements::state_delete(d, chunk.len()), &args).await?;
        }
    }
    if !edit.write.is_empty() {
        let entries: Vec<StateEntry<'_>> = edit
            .write
            .iter()
            .map(|e| StateEntry {
                address: &e.address,
                row_key: &e.row_key,
                members: &e.members,
                hash: &e.hash,
            })
            .collect();
        let state = StateWrite {
            d,
            resource,
            now,
            max_bytes,
        };
        write_state_in_batches::<B>(conn, &state, &entries, false).await?;
        let claim = [&edit.spec.table, resource, now].map(Arg::Text);
        B::execute(conn, claims::claim_sql(d), &claim).await?;
    }
    // The state is no longer the one the last apply left: the next plan reads everything.
    if !columns::<B>(conn, d, inputs::INPUTS_TABLE)
        .await?
        .is_empty()
    {
        B::execute(conn, inputs::delete_sql(d), &[Arg::Text(resource)]).await?;
    }
    Ok(())
}
