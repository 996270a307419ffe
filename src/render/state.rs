//! Views of the state and of its repairs: `state list` and `state show` (text and JSON),
//! what `state rm`, `state mv` and `import` did, and the refresh-only plan (text and JSON).
//! Addresses, keys and members come from sources and are escaped; values of sensitive fields
//! are masked, through [`super::safe`].

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use indexmap::IndexMap;
use serde::Serialize;

use super::safe::{self, term};
use super::words::count;
use crate::operation::import::Imported;
use crate::operation::state::{Moved, Next, Refresh, RefreshKind, Removed, ResourceState, Row};

const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const RED: Style = AnsiColor::Red.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// The version of the JSON views of the state.
pub const FORMAT_VERSION: &str = "1";

fn members(list: &[String]) -> String {
    term(&list.join(", ")).into_owned()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", count(n))
    }
}

/// `state list`: one line per entry, `address  row KEY  members`, aligned.
pub fn list(states: &[ResourceState]) -> String {
    let lines: Vec<(String, String, String)> = states
        .iter()
        .flat_map(|s| {
            s.entries.iter().map(|e| {
                (
                    term(&s.address(&e.address)).into_owned(),
                    term(&e.row_key).into_owned(),
                    members(&e.members),
                )
            })
        })
        .collect();
    let wa = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
    let wk = lines.iter().map(|l| l.1.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (address, key, members) in lines {
        let _ = writeln!(out, "{address:wa$}  row {key:wk$}  {members}");
    }
    out
}

/// Every entry of `states` with its row, as `state show` prints one; what `show` without a
/// saved plan prints.
pub fn entries(states: &[ResourceState]) -> String {
    let mut out = String::new();
    for s in states {
        for e in &s.entries {
            if !out.is_empty() {
                out.push('\n');
            }
            entry(&mut out, s, e);
        }
    }
    out
}

fn entry(out: &mut String, s: &ResourceState, e: &crate::operation::state::Entry) {
    let _ = writeln!(
        out,
        "{}",
        paint(BOLD, format!("# {}:", term(&s.address(&e.address))))
    );
    let _ = writeln!(out, "    row key = {}", term(&e.row_key));
    let _ = writeln!(out, "    members = {}", members(&e.members));
    let table = term(&s.table);
    match &e.row {
        Row::NotRead => {}
        Row::Gone => {
            let _ = writeln!(
                out,
                "    row     = {}",
                paint(
                    RED,
                    format!(
                        "none: table {table} holds no row {} any more (deleted outside \
                         reconcile; `reconcile plan --refresh-only` shows the entry dropped)",
                        term(&e.row_key)
                    )
                )
            );
        }
        Row::Held { values, as_written } => {
            let how = if *as_written {
                paint(DIM, "as reconcile last wrote it")
            } else {
                paint(
                    YELLOW,
                    "changed outside reconcile since it was last written",
                )
            };
            let _ = writeln!(out, "    row in table {table}, {how}:");
            let width = s
                .fields
                .iter()
                .map(|f| f.chars().count())
                .max()
                .unwrap_or(0);
            for (f, (name, v)) in s.fields.iter().zip(values).enumerate() {
                let sensitive = s.sensitive.get(f).copied().unwrap_or(false);
                let _ = writeln!(
                    out,
                    "        {:width$} = {}",
                    term(name),
                    safe::value(v, sensitive, false)
                );
            }
        }
    }
}

/// The JSON of `state list` (without rows) or `state show` and `show` (with them).
#[derive(Serialize)]
pub struct JsonState {
    pub format_version: &'static str,
    pub resources: Vec<JsonResource>,
}

#[derive(Serialize)]
pub struct JsonResource {
    pub resource: String,
    pub table: String,
    pub entries: Vec<JsonEntry>,
}

#[derive(Serialize)]
pub struct JsonEntry {
    /// `customers["acme"]`.
    pub address: String,
    /// The key inside the brackets.
    pub key: String,
    pub row_key: String,
    pub members: Vec<String>,
    /// `as_written`, `changed_outside` or `gone`; absent from `state list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_status: Option<&'static str>,
    /// The row's values by field, sensitive ones masked; absent from `state list`, `null`
    /// when the row is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<Option<IndexMap<String, serde_json::Value>>>,
}

/// The JSON of the entries of `states`, with their rows when they were read.
pub fn json(states: &[ResourceState]) -> String {
    let doc = JsonState {
        format_version: FORMAT_VERSION,
        resources: states
            .iter()
            .map(|s| JsonResource {
                resource: s.resource.clone(),
                table: s.table.clone(),
                entries: s.entries.iter().map(|e| json_entry(s, e)).collect(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("the state serialises");
    text.push('\n');
    text
}

fn json_entry(s: &ResourceState, e: &crate::operation::state::Entry) -> JsonEntry {
    let (row_status, row) = match &e.row {
        Row::NotRead => (None, None),
        Row::Gone => (Some("gone"), Some(None)),
        Row::Held { values, as_written } => (
            Some(if *as_written {
                "as_written"
            } else {
                "changed_outside"
            }),
            Some(Some(
                s.fields
                    .iter()
                    .zip(values)
                    .enumerate()
                    .map(|(f, (name, v))| {
                        let masked = s.sensitive.get(f).copied().unwrap_or(false) && !v.is_null();
                        let v = if masked {
                            serde_json::Value::String(safe::MASK.into())
                        } else {
                            v.to_json()
                        };
                        (name.clone(), v)
                    })
                    .collect(),
            )),
        ),
    };
    JsonEntry {
        address: s.address(&e.address),
        key: e.address.clone(),
        row_key: e.row_key.clone(),
        members: e.members.clone(),
        row_status,
        row,
    }
}

/// What `state rm` removed, and what the next plan does with each row.
pub fn removed(list: &[Removed]) -> String {
    let mut out = String::new();
    for r in list {
        let s = &r.state;
        let _ = writeln!(
            out,
            "Removed {} from the state of {}; the rows stay in table {}, no longer managed:",
            plural(s.entries.len(), "entry", "entries"),
            term(&s.resource),
            term(&s.table)
        );
        for (e, next) in s.entries.iter().zip(&r.next) {
            let address = s.address(&e.address);
            let _ = writeln!(
                out,
                "  {} {} (row {}; {})",
                paint(RED, "-"),
                term(&address),
                term(&e.row_key),
                members(&e.members)
            );
            let _ = writeln!(
                out,
                "      {}",
                paint(DIM, next_words(next, &address, &e.row_key))
            );
        }
    }
    let _ = writeln!(
        out,
        "\nA record still in the sources is managed again by the next apply, which says so in \
         its plan; to stop managing one, take it out of the sources or `exclude` it."
    );
    out
}

/// What the next plan does with a row no longer managed.
fn next_words(next: &Next, address: &str, row_key: &str) -> String {
    let row = term(row_key);
    match next {
        Next::RowGone => format!("row {row} was already gone from the table"),
        Next::ByKey {
            field,
            value,
            sensitive,
        } => format!(
            "next plan: a record with {} = {} adopts row {row} again (\"will be adopted\"); \
             without one the row stays, unmanaged",
            term(field),
            safe::value(value, *sensitive, false)
        ),
        Next::ByMatcher => format!(
            "next plan: row {row} is adopted again only if the matcher finds it (\"will be \
             adopted\"); otherwise its record is planned as a new row beside it"
        ),
        Next::Nothing => format!(
            "next plan: nothing finds row {row} again (no `target.key`, no `match.compare`): \
             its record is planned as a new row beside it; `reconcile import {} {row}` binds \
             them again",
            term(address)
        ),
    }
}

/// What `state mv` did.
pub fn moved(m: &Moved) -> String {
    format!(
        "Moved {} to {} (row {}; {}).\n",
        term(&crate::plan::address::display(&m.resource, &m.from)),
        term(&crate::plan::address::display(&m.resource, &m.to)),
        term(&m.row_key),
        members(&m.members)
    )
}

/// What `import` did, and what the next plan does with the row.
pub fn imported(i: &Imported) -> String {
    let by = match &i.found_by {
        Some(f) => format!(
            " ({} = {})",
            term(&f.field),
            safe::value(&f.value, f.sensitive, false)
        ),
        None => String::new(),
    };
    let mut out = format!(
        "Imported row {} of table {}{by} as {}: {}.\n",
        term(&i.row_key),
        term(&i.table),
        paint(
            BOLD,
            term(&crate::plan::address::display(&i.resource, &i.address))
        ),
        members(&i.members)
    );
    out.push_str(&match &i.next {
        Some(next) if next.changed.is_empty() => {
            "The next plan finds nothing to change in it: the row already holds what the spec \
             says.\n"
                .to_string()
        }
        Some(next) if next.replaces => format!(
            "The next plan changes its {}: every field the row is known by, so it shows a \
             replacement, which apply writes only with --allow-replace. It no longer creates \
             the record.\n",
            term(&next.changed.join(", "))
        ),
        Some(next) => format!(
            "The next plan updates its {} to what the spec says, instead of creating the record.\n",
            term(&next.changed.join(", "))
        ),
        None => "The next plan updates the row to what the spec says (if anything differs), \
                 instead of creating the record; `reconcile plan` shows it.\n"
            .to_string(),
    });
    out
}

/// The refresh-only plan: the state entries whose rows were deleted or changed outside
/// reconcile, and what the state does with them. The table is not written.
pub fn refresh(list: &[Refresh]) -> String {
    let (drop, update, unchanged) = totals(list);
    let mut out = String::new();
    if drop + update == 0 {
        let tables: Vec<String> = list.iter().map(|r| term(&r.table).into_owned()).collect();
        let _ = writeln!(
            out,
            "{} The state matches table {} ({}): no row it manages was deleted or \
             changed outside reconcile.",
            paint(GREEN.bold(), "No changes."),
            tables.join(", "),
            plural(unchanged, "entry", "entries")
        );
        return out;
    }
    let _ = writeln!(
        out,
        "reconcile will change only its state (state only; the table is not written):\n"
    );
    for r in list.iter().filter(|r| !r.changes.is_empty()) {
        if list.len() > 1 {
            let _ = writeln!(out, "{}", paint(BOLD, format!("# {}", term(&r.resource))));
        }
        for c in &r.changes {
            let address =
                term(&crate::plan::address::display(&r.resource, &c.address)).into_owned();
            let (symbol, style, verb, why) = match c.kind {
                RefreshKind::Forget => (
                    "-",
                    RED,
                    "will be dropped from the state",
                    "its row was deleted outside reconcile",
                ),
                RefreshKind::Accept { .. } => (
                    "~",
                    YELLOW,
                    "will take the row as it is now",
                    "its row was changed outside reconcile since it was last written",
                ),
            };
            let _ = writeln!(
                out,
                "  {} {} (row {}) {verb}",
                paint(style, symbol),
                paint(BOLD, &address),
                term(&c.row_key)
            );
            let _ = writeln!(out, "    {}", paint(DIM, format!("# ({why})")));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} {} to drop, {} to refresh, {} unchanged; the table is not written.",
        paint(BOLD, "Refresh-only plan:"),
        count(drop),
        count(update),
        count(unchanged)
    );
    out
}

/// Entries to drop, to refresh, and unchanged, over every resource.
pub fn totals(list: &[Refresh]) -> (usize, usize, usize) {
    let mut t = (0, 0, 0);
    for r in list {
        for c in &r.changes {
            match c.kind {
                RefreshKind::Forget => t.0 += 1,
                RefreshKind::Accept { .. } => t.1 += 1,
            }
        }
        t.2 += r.unchanged;
    }
    t
}

/// The line that closes an `apply --refresh-only`.
pub fn refresh_applied(list: &[Refresh]) -> String {
    let (drop, update, _) = totals(list);
    format!(
        "\nApply complete! State: {} dropped, {} refreshed; the table was not written.\n",
        count(drop),
        count(update)
    )
}

#[derive(Serialize)]
struct JsonRefresh {
    format_version: &'static str,
    refresh_only: bool,
    summary: JsonRefreshSummary,
    resources: Vec<JsonRefreshResource>,
}

#[derive(Serialize)]
struct JsonRefreshSummary {
    drop: usize,
    refresh: usize,
    unchanged: usize,
}

#[derive(Serialize)]
struct JsonRefreshResource {
    resource: String,
    table: String,
    changes: Vec<JsonRefreshChange>,
    unchanged: usize,
}

#[derive(Serialize)]
struct JsonRefreshChange {
    address: String,
    row_key: String,
    members: Vec<String>,
    /// `drop` (the row is gone) or `refresh` (the state takes the row as it is).
    action: &'static str,
    /// `row_deleted` or `row_changed`.
    reason: &'static str,
}

/// The refresh-only plan as JSON.
pub fn refresh_json(list: &[Refresh]) -> String {
    let (drop, refresh, unchanged) = totals(list);
    let doc = JsonRefresh {
        format_version: FORMAT_VERSION,
        refresh_only: true,
        summary: JsonRefreshSummary {
            drop,
            refresh,
            unchanged,
        },
        resources: list
            .iter()
            .map(|r| JsonRefreshResource {
                resource: r.resource.clone(),
                table: r.table.clone(),
                unchanged: r.unchanged,
                changes: r
                    .changes
                    .iter()
                    .map(|c| {
                        let (action, reason) = match c.kind {
                            RefreshKind::Forget => ("drop", "row_deleted"),
                            RefreshKind::Accept { .. } => ("refresh", "row_changed"),
                        };
                        JsonRefreshChange {
                            address: crate::plan::address::display(&r.resource, &c.address),
                            row_key: c.row_key.clone(),
                            members: c.members.clone(),
                            action,
                            reason,
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("the refresh plan serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::state::Entry;
    use crate::value::Value;

    fn state(row: Row) -> ResourceState {
        ResourceState {
            resource: "customers".into(),
            table: "customers".into(),
            fields: vec!["name".into(), "ssn".into()],
            sensitive: vec![false, true],
            entries: vec![Entry {
                address: "acme\u{1b}[2J".into(),
                row_key: "7".into(),
                members: vec!["crm:1\u{7}".into()],
                row,
            }],
        }
    }

    #[test]
    fn entries_escape_source_text_and_mask_sensitive_values() {
        let s = state(Row::Held {
            values: vec![Value::Text("Acme".into()), Value::Text("SECRET-1".into())],
            as_written: true,
        });
        for text in [
            entries(std::slice::from_ref(&s)),
            json(std::slice::from_ref(&s)),
        ] {
            assert!(!text.contains("SECRET-1"), "{text}");
            assert!(text.contains("(sensitive value)"), "{text}");
        }
        let shown = entries(std::slice::from_ref(&s)) + &list(std::slice::from_ref(&s));
        // Styles aside, no control character of the source reaches the terminal.
        assert!(
            !shown.contains("\u{1b}[2J") && !shown.contains('\u{7}'),
            "{shown}"
        );
        assert!(shown.contains("acme\\u{1b}[2J"), "{shown}");
        let gone = entries(&[state(Row::Gone)]);
        assert!(gone.contains("holds no row 7 any more"), "{gone}");
    }
}
