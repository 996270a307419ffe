//! Writing plans: one transaction that holds each table's lock, re-reads the state, refuses
//! to go on if it changed since the plans were made or if the table's constraints would be
//! broken, creates the tables if needed, inserts, updates, restores, records every managed
//! row in the state table and what each plan was made from, then deletes, children first.
//! Any failure rolls everything back.
//!
//! [`apply`] takes [`WriteSet`]s, built before the async runtime; the writing itself is the
//! same for every database, over its `Backend`.

use std::collections::HashSet;

use super::backend::{Backend, StateWrite};
use super::error::{ApplyError, stop_if_interrupted};
use super::lock::LockRequest;
use super::read::{Keep, read_decided, read_on, written_rows};
use super::rows::Arg;
use super::statements::{self, Insert};
use super::writeset::{KeyMap, StateWrites, WriteSet, resolve_references};
use super::{Database, Dialect, Pool, check, claims, inputs};
use crate::error::Error;
use crate::fingerprint::{StateDigest, Sum, entry_check};
use crate::plan::decided;
use crate::plan::{Action, Change, Plan};
use crate::state::{CurrentState, key_text};
use crate::value::Value;

/// What an apply did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// Why an apply wrote nothing.
#[derive(Debug)]
pub enum Failed {
    /// The table or the state changed since the plan at `index` of the apply was made:
    /// what they hold now, for the caller to say what changed.
    Stale {
        index: usize,
        current: Box<CurrentState>,
    },
    Error(Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Error(e)
    }
}

/// Applies plans (parents first) in one transaction that holds every table's lock (`locks`,
/// one per table at least; never empty). Creates and updates run in the given order, deletes
/// in the reverse order, so a row is never left pointing to a deleted one.
pub async fn apply(
    db: &Database,
    sets: &[WriteSet<'_>],
    locks: &[LockRequest],
) -> Result<Applied, Failed> {
    assert!(!locks.is_empty(), "an apply takes at least one lock");
    let result = match &db.pool {
        None => return Err(db.error("the database is not open for writing").into()),
        Some(Pool::Sqlite(p)) => apply_pool(db.dialect, p, sets, locks).await,
        Some(Pool::Postgres(p)) => apply_pool(db.dialect, p, sets, locks).await,
        Some(Pool::MySql(p)) => apply_pool(db.dialect, p, sets, locks).await,
    };
    result.map_err(|e| failure(db, sets, e))
}

/// The apply on a connection of `pool`; the locks are released whatever happens.
async fn apply_pool<B: Backend>(
    d: Dialect,
    pool: &sqlx::Pool<B>,
    sets: &[WriteSet<'_>],
    locks: &[LockRequest],
) -> Result<Applied, ApplyError> {
    let now = crate::time::now_rfc3339();
    let mut conn = pool.acquire().await?;
    if B::DDL_COMMITS {
        create_tables_first::<B>(&mut conn, d, sets).await?;
    }
    let result = write_locked::<B>(&mut conn, d, sets, locks, &now).await;
    for l in locks.iter().rev() {
        B::release(&mut conn, l).await;
    }
    result
}

/// Where DDL would commit the transaction (MySQL, MariaDB), the tables are created before it
/// starts. A failure later leaves them empty, which the next plan reads like a missing table.
async fn create_tables_first<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    sets: &[WriteSet<'_>],
) -> sqlx::Result<()> {
    for set in sets {
        if set.plan.create_table {
            let sql = statements::create_table(set.spec, &set.plan.schema, d, false).replacen(
                "CREATE TABLE",
                "CREATE TABLE IF NOT EXISTS",
                1,
            );
            B::execute(conn, sql, &[]).await?;
        }
        add_columns_first::<B>(conn, d, set).await?;
    }
    for sql in [
        d.create_state_table(),
        inputs::create_table_sql(d),
        claims::create_table_sql(d),
    ] {
        B::execute(conn, sql, &[]).await?;
    }
    Ok(())
}

/// Adds the columns a plan adds, before the transaction where DDL would commit it: those the
/// table still lacks (another apply may have added one since), each added once even when two
/// applies race.
async fn add_columns_first<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    set: &WriteSet<'_>,
) -> sqlx::Result<()> {
    for add in &set.plan.schema.add_columns {
        let exists = |columns: &[crate::state::Column]| {
            let column = &set.spec.fields[add.field].column;
            columns.iter().any(|c| c.name.eq_ignore_ascii_case(column))
        };
        if exists(&super::read::columns::<B>(conn, d, &set.spec.table).await?) {
            continue;
        }
        let sql = statements::add_column(set.spec, d, add.field);
        if let Err(e) = B::execute(conn, sql, &[]).await
            && !exists(&super::read::columns::<B>(conn, d, &set.spec.table).await?)
        {
            return Err(e);
        }
    }
    Ok(())
}

/// Takes the locks, writes every plan and commits.
async fn write_locked<B: Backend>(
    conn: &mut B::Connection,
    d: Dialect,
    sets: &[WriteSet<'_>],
    locks: &[LockRequest],
    now: &str,
) -> Result<Applied, ApplyError> {
    let mut tx = B::begin_locked(conn, &locks[0]).await?;
    for extra in &locks[1..] {
        B::lock(&mut tx, extra).await?;
    }
    stop_if_interrupted()?;
    let max_bytes = B::max_statement_bytes(&mut tx).await?;
    let mut writer = Writer::<B> {
        conn: &mut tx,
        d,
        now,
        max_bytes,
        needs_keys: sets.iter().any(WriteSet::has_references),
        keys: KeyMap::new(),
        state_created: false,
    };
    let mut applied = Applied::default();
    for (index, set) in sets.iter().enumerate() {
        applied.created += writer.write(index, set).await?;
        applied.updated += set.updated;
    }
    for set in sets.iter().rev() {
        applied.deleted += writer.delete(set).await?;
    }
    // The last moment an interrupt can undo the apply: past here it completes.
    stop_if_interrupted()?;
    tx.commit().await?;
    Ok(applied)
}

/// An apply under way, inside its transaction.
struct Writer<'t, B: Backend> {
    conn: &'t mut B::Connection,
    d: Dialect,
    now: &'t str,
    max_bytes: usize,
    /// Whether a spec has references: then `keys` holds the primary key of every managed
    /// row by its full address.
    needs_keys: bool,
    keys: KeyMap,
    /// The state table was created (if missing) by this apply.
    state_created: bool,
}

impl<B: Backend> Writer<'_, B> {
    /// Writes one plan but its deletes: the number of rows created.
    async fn write(&mut self, index: usize, set: &WriteSet<'_>) -> Result<usize, ApplyError> {
        stop_if_interrupted()?;
        let (spec, plan, d) = (set.spec, set.plan, self.d);
        let (current, all_state) = self.read_for(index, set).await?;
        check::check(spec, &current, plan, d.engine)?;
        if self.needs_keys {
            for s in &current.state {
                let address = crate::plan::address::display(&spec.resource, &s.address);
                self.keys.insert(address, s.row_key.clone());
            }
        }
        let (key_after_table, key_after_state) = self.prepare_tables(set, &current).await?;
        let ins = Insert {
            spec,
            d,
            max_bytes: self.max_bytes,
            not_null: check::not_null_fields(spec, &current),
            created_here: plan.create_table && !B::DDL_COMMITS,
            generated_int_key: current.columns.is_empty()
                || current
                    .column(&spec.primary_key)
                    .is_some_and(|c| c.generated && current.integer_key),
        };
        self.move_keys_aside(set, &current, &ins).await?;
        let created = self.create(set, &ins).await?;
        if key_after_table {
            for sql in statements::keys_after_load(spec, &plan.schema, d) {
                B::execute(self.conn, sql, &[]).await?;
            }
            if let Some(sql) = d.analyze(&spec.table) {
                B::execute(self.conn, sql, &[]).await?;
            }
        }
        let writes = set.state_writes(&current, &created);
        if self.needs_keys {
            for e in writes.replacing.iter().chain(&writes.fresh) {
                let address = crate::plan::address::display(&spec.resource, e.address);
                self.keys.insert(address, e.row_key.to_string());
            }
        }
        self.update(set, &ins).await?;
        self.restore(set, &current).await?;
        // The state table: an entry whose address is already there replaces it through an
        // upsert, which finds it by the primary key (a DELETE of a list of addresses was
        // planned by PostgreSQL, on a table not yet analyzed, as a scan of the whole
        // resource); the others are inserted in bulk.
        let state = StateWrite {
            d,
            resource: &plan.resource,
            now: self.now,
            max_bytes: self.max_bytes,
        };
        for (list, upsert) in [(&writes.replacing, true), (&writes.fresh, false)] {
            if !list.is_empty() {
                B::write_state(self.conn, &state, list, upsert).await?;
            }
        }
        if key_after_state {
            B::execute(self.conn, d.state_primary_key(), &[]).await?;
            if let Some(sql) = d.analyze(super::STATE_TABLE) {
                B::execute(self.conn, sql, &[]).await?;
            }
        }
        let rows_left = self.rows_left(set, &created, &writes).await?;
        let record = set.inputs_record(&current, all_state, &writes, self.now, rows_left);
        inputs::write::<B>(self.conn, d, &plan.resource, record).await?;
        Ok(created.len())
    }

    /// What the table's rows sum to once this plan's writes are done (its deletes included):
    /// those the plan read, without those it wrote or deletes, with those it wrote as they
    /// read back. `None` when the plan cannot tell ([`decided::row_sums`]) or a row written
    /// does not read back as its entry says. Into a table that was empty, every row is one
    /// written: the whole table is read, in order, rather than row by row.
    async fn rows_left(
        &mut self,
        set: &WriteSet<'_>,
        created: &[String],
        writes: &StateWrites<'_>,
    ) -> Result<Option<Sum>, ApplyError> {
        let plan = set.plan;
        let (Some(sums), Some(_)) = (plan.row_sums, &plan.inputs) else {
            return Ok(None);
        };
        let mut expected = Sum::default();
        for e in writes.replacing.iter().chain(&writes.fresh) {
            expected.add(entry_check(e.row_key, e.hash));
        }
        let (d, spec) = (self.d, set.spec);
        let read = if sums.all.count == 0 {
            written_rows::<B>(self.conn, d, spec, None).await?
        } else {
            let deleted: HashSet<&Value> = (plan.changes.iter())
                .filter(|c| c.action == Action::Delete)
                .filter_map(|c| c.row_key.as_ref())
                .collect();
            let mut keys: Vec<String> = decided::row_keys(plan)
                .into_iter()
                .filter(|k| !deleted.contains(k))
                .map(key_text)
                .collect();
            keys.extend(created.iter().cloned());
            keys.sort_unstable();
            keys.dedup();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            written_rows::<B>(self.conn, d, spec, Some(&keys)).await?
        };
        Ok(read
            .filter(|r| r.checked() == expected)
            .map(|r| sums.all.minus(sums.touched).plus(r.canonical())))
    }

    /// What the write of plan `index` rests on, read inside the transaction, and refused
    /// when it changed since the plan. A plan that kept [`crate::plan::decided`] prints (and
    /// writes no references, which need every managed row's key) has only its own rows and
    /// entries read back by key, with the digest of all the resource's entries as the plan
    /// read them; any other is checked against the fingerprint of the whole table.
    async fn read_for(
        &mut self,
        index: usize,
        set: &WriteSet<'_>,
    ) -> Result<(CurrentState, Option<StateDigest>), ApplyError> {
        let (spec, plan, d) = (set.spec, set.plan, self.d);
        if let Some(decided) = plan.decided.as_ref().filter(|_| !self.needs_keys) {
            match read_decided::<B>(self.conn, d, spec, plan, decided).await? {
                Some((current, true)) => {
                    let all = decided.all_state;
                    return Ok((current, Some(StateDigest::of_sum(all.count, all.sum))));
                }
                Some((_, false)) => {
                    let current = read_on::<B>(self.conn, d, spec, Keep::Everything).await?;
                    return Err(ApplyError::Stale(index, Box::new(current)));
                }
                // The table or a column went away, or its key is unguarded: read it all.
                None => {}
            }
        }
        // The rows are fingerprinted, not kept: the whole table is read again only to tell
        // what changed when the plan turns out stale.
        let current = read_on::<B>(self.conn, d, spec, Keep::Prints).await?;

        let fingerprint = if B::DDL_COMMITS && plan.create_table {
            // The table this apply just created reads as the missing table planned on.
            current.prints.finish(false)
        } else if B::DDL_COMMITS && plan.schema.alters() {
            // So do the columns it just added: their rows read as empty either way.
            let lacking: Vec<&str> = (plan.schema.add_columns.iter())
                .map(|a| spec.fields[a.field].column.as_str())
                .collect();
            current.prints.finish_lacking(true, &lacking)
        } else {
            current.fingerprint.clone()
        };
        if fingerprint != plan.fingerprint {
            let current = read_on::<B>(self.conn, d, spec, Keep::Everything).await?;
            return Err(ApplyError::Stale(index, Box::new(current)));
        }
        Ok((current, None))
    }

    /// Creates the target table (or adds the columns it lacks) and the tool's own tables
    /// where the transaction may, and claims the table for the resource: whether the target
    /// table's keys, and the state table's primary key, are to be added once their rows are
    /// in. A table created here gets some keys after its rows, where the index is then built
    /// once from them rather than key by key ([`statements::keys_after_load`]).
    async fn prepare_tables(
        &mut self,
        set: &WriteSet<'_>,
        current: &CurrentState,
    ) -> Result<(bool, bool), ApplyError> {
        let (spec, plan, d) = (set.spec, set.plan, self.d);
        let key_after_table = !B::DDL_COMMITS && plan.create_table;
        let mut key_after_state = false;
        if !B::DDL_COMMITS {
            if plan.create_table {
                let sql = statements::create_table(spec, &plan.schema, d, true);
                B::execute(self.conn, sql, &[]).await?;
            }
            // The columns the spec's new fields need, in the same transaction as the rows
            // that fill them.
            for add in &plan.schema.add_columns {
                let sql = statements::add_column(spec, d, add.field);
                B::execute(self.conn, sql, &[]).await?;
            }
            if !self.state_created {
                key_after_state = !current.state_table_exists && d.key_after_load();
                B::execute(self.conn, d.state_table_sql(!key_after_state), &[]).await?;
                self.state_created = true;
            }
            B::execute(self.conn, claims::create_table_sql(d), &[]).await?;
        }
        // The table is this resource's from now on (the read refused it if it was another's).
        let claim = [&spec.table, &plan.resource, self.now].map(Arg::Text);
        B::execute(self.conn, claims::claim_sql(d), &claim).await?;
        Ok((key_after_table, key_after_state))
    }

    /// Sets aside the keys that rows give up in this apply and others take, before any row
    /// takes one ([`super::aside`]).
    async fn move_keys_aside(
        &mut self,
        set: &WriteSet<'_>,
        current: &CurrentState,
        ins: &Insert<'_>,
    ) -> Result<(), ApplyError> {
        let Some((k, rows)) = super::aside::keys_aside(set, current, self.d.engine, &ins.not_null)
        else {
            return Ok(());
        };
        let width = set.spec.fields.len();
        let rows: Vec<(&Value, std::borrow::Cow<'_, [Value]>)> = rows
            .into_iter()
            .map(|(row, meanwhile)| {
                let mut values = vec![Value::Null; width];
                values[k] = meanwhile;
                (row, std::borrow::Cow::Owned(values))
            })
            .collect();
        B::update_rows(self.conn, ins, &[k], &rows).await
    }

    /// Inserts the new rows: their keys, in the order of the creates.
    async fn create(
        &mut self,
        set: &WriteSet<'_>,
        ins: &Insert<'_>,
    ) -> Result<Vec<String>, ApplyError> {
        if set.creates.is_empty() {
            return Ok(Vec::new());
        }
        let values = set
            .creates
            .iter()
            .map(|c| {
                let after = c.after.as_deref().expect("a create has values");
                resolve_references(set.spec, after, &self.keys)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let rows: Vec<&[Value]> = values.iter().map(AsRef::as_ref).collect();
        let created = B::insert_rows(self.conn, ins, &rows)
            .await
            .map_err(|e| locate_create(e, set))?;
        crate::progress::advance(rows.len());
        Ok(created)
    }

    /// Runs the updates, a statement per group of fields changed and batch.
    async fn update(&mut self, set: &WriteSet<'_>, ins: &Insert<'_>) -> Result<(), ApplyError> {
        for group in &set.updates {
            let rows = group
                .rows
                .iter()
                .map(|&(key, after)| Ok((key, resolve_references(set.spec, after, &self.keys)?)))
                .collect::<Result<Vec<_>, Error>>()?;
            B::update_rows(self.conn, ins, group.changed, &rows).await?;
            crate::progress::advance(rows.len());
        }
        Ok(())
    }

    /// Clears the soft-delete column of rows restored.
    async fn restore(
        &mut self,
        set: &WriteSet<'_>,
        current: &CurrentState,
    ) -> Result<(), ApplyError> {
        let (spec, d) = (set.spec, self.d);
        let Some(sd) = &spec.soft_delete else {
            return Ok(());
        };
        let not_null = current.column(&sd.column).is_some_and(|c| c.not_null);
        for chunk in set.restore_batches() {
            let mut args = Vec::with_capacity(chunk.len() + 1);
            if not_null && let Value::Bool(b) = &sd.value {
                args.push(Arg::Bool(!*b));
            }
            args.extend(chunk.iter().map(|key| Arg::key(key)));
            let sql = statements::restore(spec, d, &sd.column, not_null, chunk.len());
            B::execute(self.conn, sql, &args).await?;
        }
        Ok(())
    }

    /// Deletes (or soft-deletes) a plan's rows and their state entries, a statement per
    /// batch: the number of rows.
    async fn delete(&mut self, set: &WriteSet<'_>) -> Result<usize, ApplyError> {
        let (spec, d) = (set.spec, self.d);
        let mut deleted = 0;
        for (soft, chunk) in set.delete_batches() {
            stop_if_interrupted()?;
            let soft = spec.soft_delete.as_ref().filter(|_| soft);
            let mut args = Vec::with_capacity(chunk.len() + 1);
            args.extend(soft.map(|sd| Arg::flag(&sd.value)));
            args.extend(
                chunk
                    .iter()
                    .map(|c| Arg::key(c.row_key.as_ref().expect("a delete has a row"))),
            );
            let sql = statements::delete(spec, d, soft.map(|s| s.column.as_str()), chunk.len());
            B::execute(self.conn, sql, &args).await?;
            let mut args = vec![Arg::Text(&set.plan.resource)];
            args.extend(chunk.iter().map(|c| Arg::Text(&c.address)));
            B::execute(self.conn, statements::state_delete(d, chunk.len()), &args).await?;
            deleted += chunk.len();
            crate::progress::advance(chunk.len());
        }
        Ok(deleted)
    }
}

/// A failed apply in words: the database's own, the record it concerns when that can be
/// told, never a sensitive value; or the state that made a plan stale.
fn failure(db: &Database, sets: &[WriteSet<'_>], e: ApplyError) -> Failed {
    let secrets = sensitive_values(sets);
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let clean =
        |e: &dyn std::fmt::Display| crate::render::safe::scrub_values(&e.to_string(), &secrets);
    let (e, mut record) = match e {
        ApplyError::Located(record, e) => (*e, Some(record)),
        e => (e, None),
    };
    let message = match &e {
        ApplyError::Sql(e) => driver_message(e),
        ApplyError::Sqlite(e) => e.to_string(),
        _ => String::new(),
    };
    if record.is_none() {
        record = locate_by_value(sets, &message);
    }
    let column = message_column(&e, &message);
    let message = match (record, column) {
        (Some(r), Some(c)) => format!("{message}\n  at {r}, column {c}"),
        (Some(r), None) => format!("{message}\n  at {r}"),
        (None, Some(c)) => format!("{message}\n  in column {c}"),
        (None, None) => message,
    };
    match e {
        ApplyError::Sql(_) | ApplyError::Sqlite(_) => {
            Failed::Error(rolled_back(db, &clean(&message)))
        }
        ApplyError::Other(e) => Failed::Error(e),
        ApplyError::Interrupted => Failed::Error(Error::Interrupted),
        ApplyError::Stale(index, current) => Failed::Stale { index, current },
        ApplyError::AtCreate(..) | ApplyError::Located(..) => {
            unreachable!("located errors are unwrapped above")
        }
    }
}

/// A driver's error in words, without what only the server's developers need: PostgreSQL
/// adds the line of its own source file (`… at line 1798`).
fn driver_message(e: &sqlx::Error) -> String {
    if let Some(pg) = e
        .as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        return format!("error returned from database: {}", pg.message());
    }
    e.to_string()
}

/// The column a database error names, when it names one: PostgreSQL's error field or COPY
/// context, MySQL's `for column 'x'`.
fn message_column(e: &ApplyError, message: &str) -> Option<String> {
    if let ApplyError::Sql(e) = e
        && let Some(pg) = e
            .as_database_error()
            .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
    {
        if let Some(c) = pg.column() {
            return Some(c.to_string());
        }
        let context = pg.r#where()?;
        let after = context.split(", column ").nth(1)?;
        return Some(after.split(':').next()?.trim().to_string());
    }
    let after = message.split("for column '").nth(1)?;
    Some(after.split('\'').next()?.to_string())
}

/// `customers["x"] (production:7, import:3)`: a change as an error names it.
fn describe(plan: &Plan, c: &Change) -> String {
    let members: Vec<String> = c.members.iter().map(ToString::to_string).collect();
    format!("{} ({})", plan.address(&c.address), members.join(", "))
}

/// Ties an error of a create to the record that caused it: SQLite's row-by-row inserts say
/// which row failed; PostgreSQL's COPY says which line of its input (`COPY t, line 17`).
fn locate_create(e: ApplyError, set: &WriteSet<'_>) -> ApplyError {
    let nth = |n: usize| set.creates.get(n).map(|c| describe(set.plan, c));
    match e {
        ApplyError::AtCreate(i, inner) => match nth(i) {
            Some(r) => ApplyError::Located(r, inner),
            None => *inner,
        },
        ApplyError::Sql(err) => {
            let line = err
                .as_database_error()
                .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
                .and_then(|pg| pg.r#where())
                .filter(|w| w.starts_with(&format!("COPY {}, line ", set.spec.table)))
                .and_then(|w| w.split(", line ").nth(1))
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<usize>().ok());
            match line.and_then(|n| nth(n.checked_sub(1)?)) {
                Some(r) => ApplyError::Located(r, Box::new(ApplyError::Sql(err))),
                None => ApplyError::Sql(err),
            }
        }
        other => other,
    }
}

/// Ties an error that quotes a value (MySQL: `Duplicate entry 'x' for key 'k'`) to the
/// records written with that value.
fn locate_by_value(sets: &[WriteSet<'_>], message: &str) -> Option<String> {
    let quoted = message.split("Duplicate entry '").nth(1)?;
    let value = &quoted[..quoted.find("' for key")?];
    let mut found = Vec::new();
    for set in sets {
        let plan = set.plan;
        for c in &plan.changes {
            let Some(after) = &c.after else { continue };
            if matches!(c.action, Action::Create | Action::Update)
                && after
                    .iter()
                    .any(|v| !v.is_null() && key_text(v).eq_ignore_ascii_case(value))
            {
                found.push(describe(plan, c));
            }
        }
    }
    (!found.is_empty()).then(|| found.join(" and "))
}

/// Every value of a sensitive field the plans write or compare with, as text: what a
/// database's error message must not quote.
fn sensitive_values(sets: &[WriteSet<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for set in sets {
        let plan = set.plan;
        for c in &plan.changes {
            for row in [&c.before, &c.after].into_iter().flatten() {
                for (f, v) in row.iter().enumerate() {
                    if plan.sensitive.get(f) == Some(&true) && !v.is_null() {
                        out.push(key_text(v));
                    }
                }
            }
        }
    }
    out
}

/// The error of a failed apply: the database's own words, and that nothing was written.
fn rolled_back(db: &Database, e: &dyn std::fmt::Display) -> Error {
    Error::Database {
        url: db.display_url(),
        message: db.scrub(format!(
            "apply failed and was rolled back, nothing was written: {e}"
        )),
        help: None,
    }
}
