//! Which resource manages which table (`reconcile_tables`: one row per table, written by the
//! first apply of a resource to it). Two specs with different `resource:` names on one table
//! would each adopt the other's rows and undo each other's changes at every apply, and one's
//! deletes would leave the other's state pointing at missing rows; so a plan or apply of a
//! resource on a table another resource already claims is refused, naming both.
//!
//! The claims live in a table of their own because the state table names no table, and
//! `reconcile_state` rows keep meaning "a managed row". A database applied by an earlier
//! version has no claims yet: the next apply of each resource records its table.

use super::{Dialect, Engine};
use crate::error::Error;

/// The name of the table of claims.
pub const TABLES_TABLE: &str = "reconcile_tables";

/// The statement that creates the table of claims if it is missing.
pub fn create_table_sql(d: Dialect) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\
         table_name VARCHAR(255) NOT NULL PRIMARY KEY, \
         resource VARCHAR(255) NOT NULL, \
         claimed_at VARCHAR(40) NOT NULL)",
        d.quote(TABLES_TABLE)
    )
}

/// The resources claiming the table bound first. SQLite and MySQL compare table names
/// without regard to case (as they find tables); PostgreSQL's quoted names are exact.
pub fn owners_sql(d: Dialect) -> String {
    let t = d.quote(TABLES_TABLE);
    match d.engine {
        Engine::Postgres => format!("SELECT resource FROM {t} WHERE table_name = $1"),
        _ => format!("SELECT resource FROM {t} WHERE lower(table_name) = lower(?)"),
    }
}

/// Records the claim of a table (bound: table, resource, time), unless one is there.
pub fn claim_sql(d: Dialect) -> String {
    let t = d.quote(TABLES_TABLE);
    match d.engine {
        Engine::MySql => {
            format!("INSERT IGNORE INTO {t} (table_name, resource, claimed_at) VALUES (?, ?, ?)")
        }
        _ => format!(
            "INSERT INTO {t} (table_name, resource, claimed_at) VALUES ({}, {}, {}) \
             ON CONFLICT (table_name) DO NOTHING",
            d.placeholder(1),
            d.placeholder(2),
            d.placeholder(3)
        ),
    }
}

/// The error for a table claimed by another resource.
pub fn claimed_by_another(table: &str, resource: &str, owner: &str, d: Dialect) -> Error {
    Error::Plan {
        message: format!(
            "table {table:?} is managed by resource `{owner}`, and this spec's resource is \
             `{resource}`: two resources on one table would adopt each other's rows and undo \
             each other's changes"
        ),
        help: Some(format!(
            "give this spec another `target.table`, or manage the table from the spec of \
             `{owner}`; if `{resource}` is meant to take the table over (the resource was \
             renamed), first remove the claim: DELETE FROM {} WHERE table_name = '{}'",
            d.quote(TABLES_TABLE),
            table.replace('\'', "''")
        )),
    }
}
