//! What a plan's writes rest on: the rows it updates, adopts, restores or deletes, and the
//! state entries at the addresses it writes or deletes. The plan sums their prints as it read
//! them; an apply reads back only these, by key, inside its transaction, and refuses the plan
//! when they changed. Rows the plan leaves alone may change in between without harm: the
//! apply does not touch them, and the database's own constraints (a unique `target.key`, the
//! state table's primary key) catch what a concurrent writer could make collide.
//!
//! So the check before the writes costs what the plan changes, not what the table holds.

use serde::{Deserialize, Serialize};

use super::{Action, Change, Plan, RowPrint};
use crate::collections::HashSet;
pub use crate::fingerprint::Sum;
use crate::fingerprint::row_print;
use crate::spec::compiled::Compiled;
use crate::state::CurrentState;
use crate::value::Value;

/// The prints of what the plan's writes rest on, as read by the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    /// The rows the plan writes or deletes ([`row_print`]).
    pub rows: Sum,
    /// The state entries at the addresses the plan writes or deletes.
    pub state: Sum,
    /// Every state entry of the resource: from it, the digest of the state the apply leaves
    /// is told without reading the entries it does not touch.
    pub all_state: Sum,
}

/// The rows a plan read, by their canonical prints ([`row_print`]): all of them, and those
/// its writes rest on. The rows an apply of the plan leaves sum to `all`, without `touched`,
/// with the rows it wrote as they read back, unless someone changed another row in between
/// (the sum then matches nothing, and the next plan takes the full path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSums {
    pub all: Sum,
    pub touched: Sum,
}

/// The [`RowSums`] of a plan made from `current` read whole, or `None` where an apply is not
/// to tell what it leaves this way: a table whose columns the plan alters (its rows read
/// differently once they are added), rows that reference others (written as keys, planned
/// as addresses), and soft deletes (a flag outside the mapped fields that the shortcut must
/// check row by row).
pub fn row_sums(spec: &Compiled, plan: &Plan, current: &CurrentState) -> Option<RowSums> {
    if plan.schema.alters()
        || spec.soft_delete.is_some()
        || spec.fields.iter().any(|f| f.reference.is_some())
    {
        return None;
    }
    let mut touched = Sum::default();
    for key in row_keys(plan) {
        if let Ok(i) = current.rows.binary_search_by(|r| r.key.cmp(key)) {
            let row = &current.rows[i];
            touched.add(row_print(&row.key, &row.values));
        }
    }
    Some(RowSums {
        all: current.prints.canonical(),
        touched,
    })
}

/// Whether a change writes to the table or the state table.
pub fn writes(c: &Change) -> bool {
    c.action != Action::NoOp || c.write_state
}

/// The primary keys of the rows the plan writes or deletes, each once, in key order.
pub fn row_keys(plan: &Plan) -> Vec<&Value> {
    let mut keys: Vec<&Value> = (plan.changes.iter())
        .filter(|c| writes(c))
        .filter_map(|c| c.row_key.as_ref())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The addresses whose state entries the plan writes or deletes, each once, in order.
pub fn addresses(plan: &Plan) -> Vec<&str> {
    let mut addresses: Vec<&str> = (plan.changes.iter())
        .filter(|c| writes(c))
        .map(|c| c.address.as_str())
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

/// The prints of what `plan`'s writes rest on in `current` (the table and state as the plan
/// read them, before references were read back as addresses). `None` where an apply must
/// read the whole table anyway: a table to create or alter, and a spec whose rows point to
/// others' (the apply then needs every managed row's key); and for a plan that writes
/// nothing, whose apply says the database matches the spec, which rests on every row.
pub fn of(spec: &Compiled, plan: &Plan, current: &CurrentState) -> Option<Decided> {
    if !current.table_exists
        || !plan.changes.iter().any(writes)
        || plan.create_table
        || plan.schema.alters()
        || spec.fields.iter().any(|f| f.reference.is_some())
    {
        return None;
    }
    let mut rows = Sum::default();
    for key in row_keys(plan) {
        if let Ok(i) = current.rows.binary_search_by(|r| r.key.cmp(key)) {
            let row = &current.rows[i];
            rows.add(row_print(&row.key, &row.values));
        }
    }
    let decided: HashSet<&str> = addresses(plan).into_iter().collect();
    let (mut state, mut all_state) = (Sum::default(), Sum::default());
    for s in &current.state {
        all_state.add(s.print);
        if decided.contains(s.address.as_str()) {
            state.add(s.print);
        }
    }
    Some(Decided {
        rows,
        state,
        all_state,
    })
}

/// The fingerprints of what a plan read, kept to name what changed when the plan turns out
/// stale: with [`Plan::decided`], only those of the rows and entries its writes rest on.
pub fn read_prints(plan: &Plan, current: &CurrentState) -> Vec<RowPrint> {
    if plan.decided.is_none() {
        return super::row_prints(current);
    }
    let mut out: Vec<RowPrint> = Vec::new();
    for key in row_keys(plan) {
        if let Ok(i) = current.rows.binary_search_by(|r| r.key.cmp(key)) {
            out.push(super::table_row_print(&current.rows[i]));
        }
    }
    let decided: HashSet<&str> = addresses(plan).into_iter().collect();
    out.extend(
        (current.state.iter())
            .filter(|s| decided.contains(s.address.as_str()))
            .map(super::state_row_print),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_read_back_as_written() {
        let mut s = Sum::default();
        s.add(u128::MAX);
        s.add(7);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(text, format!("\"2:{:032x}\"", 6u128));
        assert_eq!(serde_json::from_str::<Sum>(&text).unwrap(), s);
        assert!(serde_json::from_str::<Sum>("\"2\"").is_err());
    }
}
