//! The plan as Markdown (`--format markdown`), for a pull-request comment or
//! `$GITHUB_STEP_SUMMARY`: a table of counts (one row per resource of a folder), the verdict,
//! then the changes: records to add and to destroy as tables of their values, records to
//! change field by field (before and after), and the records set aside (excluded, invalid
//! values, pairs to review, kept rows) in collapsed sections. Long plans are cut as the text
//! plan is, with a count of what was left out; `--full` shows everything.
//!
//! Everything from a spec or a source is escaped: values, ids and names go in code spans (no
//! emphasis, link, HTML or @mention can come out of them), other text has Markdown's
//! punctuation escaped, and a table cell never holds a raw `|` or line break. Sensitive values
//! are masked and long values shortened, as in every view.

use std::fmt::Write as _;

use super::safe::{self, term};
use super::words::count;
use crate::plan::{Action, Change, Plan};
use crate::value::Value;

/// How much of a plan to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Show every change and every record set aside.
    pub full: bool,
}

/// As in the text plan: beyond this many changes, each kind shows its first
/// [`SHOWN_PER_GROUP`] and counts the rest.
const SHOW_ALL_UP_TO: usize = 50;
const SHOWN_PER_GROUP: usize = 10;

/// One spec's plan.
pub fn render(plan: &Plan, opts: Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### reconcile plan: {} → table {}\n",
        code(&plan.resource),
        code(&plan.table)
    );
    counts(&mut out, std::slice::from_ref(plan), false);
    let _ = writeln!(out, "{}\n", verdict(plan));
    body(&mut out, plan, opts, "####");
    out
}

/// A folder's plans (parents first): one table of counts for all of them, then each
/// resource's changes under its name.
pub fn render_many(plans: &[Plan], opts: Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### reconcile plan: {}\n",
        plural(plans.len(), "resource")
    );
    counts(&mut out, plans, true);
    let total = |f: fn(&crate::plan::Summary) -> usize| -> usize {
        plans.iter().map(|p| f(&p.summary())).sum()
    };
    if plans.iter().any(Plan::has_changes) {
        let _ = writeln!(
            out,
            "**Plan (all resources): {} to add, {} to change, {} to destroy.**\n",
            count(total(|s| s.create)),
            count(total(|s| s.update)),
            count(total(|s| s.delete))
        );
    } else {
        let _ = writeln!(
            out,
            "**No changes.** The database matches the specs ({} up to date).\n",
            plural(total(|s| s.no_op), "record")
        );
    }
    for plan in plans {
        let _ = writeln!(
            out,
            "#### {} → table {}\n",
            code(&plan.resource),
            code(&plan.table)
        );
        let _ = writeln!(out, "{}\n", verdict(plan));
        body(&mut out, plan, opts, "#####");
    }
    out
}

/// The table of counts: one row per plan, and a total row for several.
fn counts(out: &mut String, plans: &[Plan], total: bool) {
    out.push_str(
        "| resource | create | update | delete | no-op | excluded | review | invalid |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut sum = [0usize; 7];
    for plan in plans {
        let s = plan.summary();
        let row = [
            s.create,
            s.update,
            s.delete,
            s.no_op,
            plan.excluded.len(),
            plan.review.len(),
            plan.invalid.len(),
        ];
        for (t, n) in sum.iter_mut().zip(row) {
            *t += n;
        }
        let _ = writeln!(out, "| {} |{}", code(&plan.resource), cells(&row));
    }
    if total && plans.len() > 1 {
        let _ = writeln!(out, "| **all** |{}", cells(&sum));
    }
    out.push('\n');
}

fn cells(row: &[usize]) -> String {
    row.iter().map(|n| format!(" {} |", count(*n))).collect()
}

/// `**Plan: 17 to add, 0 to change, 0 to destroy.**`, or "No changes." with how many records
/// are up to date.
fn verdict(plan: &Plan) -> String {
    let s = plan.summary();
    if !plan.has_changes() {
        return format!(
            "**No changes.** The database matches the spec ({} up to date).",
            plural(s.no_op, "record")
        );
    }
    let replacing = if s.replace > 0 {
        format!(" ({} replacing a row)", count(s.replace))
    } else {
        String::new()
    };
    let columns = if s.add_column > 0 {
        format!(", {} to add", plural(s.add_column, "column"))
    } else {
        String::new()
    };
    let mut line = format!(
        "**Plan: {} to add, {} to change{replacing}, {} to destroy{columns}.**",
        count(s.create),
        count(s.update),
        count(s.delete)
    );
    if s.no_op > 0 {
        let _ = write!(line, " {} already up to date.", plural(s.no_op, "record"));
    }
    line
}

/// A plan's changes and what it set aside; `h` is the heading level of each part.
fn body(out: &mut String, plan: &Plan, opts: Options, h: &str) {
    let pending = {
        let s = plan.summary();
        s.create + s.update + s.delete
    };
    let limit = if opts.full || pending <= SHOW_ALL_UP_TO {
        usize::MAX
    } else {
        SHOWN_PER_GROUP
    };
    if let Some(note) = super::model_note(&plan.matching) {
        let _ = writeln!(out, "> **Note:** {}\n", esc_words(&note));
    }
    structure(out, plan);
    creates_or_deletes(out, plan, Action::Create, limit, opts.full, h);
    updates(out, plan, limit, opts.full, h);
    creates_or_deletes(out, plan, Action::Delete, limit, opts.full, h);
    // Where members disagreed, and a field a `source` rule left empty: said as in the text
    // plan.
    if let Some(note) = super::human::conflicts_note(plan) {
        for line in note.lines() {
            let _ = writeln!(out, "> {}", esc_words(line));
        }
        out.push('\n');
    }
    set_aside(out, plan, limit);
}

/// What the plan does to the table's structure, as the text plan says it: the notes on an
/// existing table's constraints, a table to create with its constraints, the columns to add.
fn structure(out: &mut String, plan: &Plan) {
    for n in &plan.schema.notes {
        let _ = writeln!(
            out,
            "> **Note:** {}\n",
            esc_words(&super::schema::note(plan, n))
        );
    }
    if plan.create_table {
        let cols: Vec<String> = plan.fields.iter().map(|(_, c)| code(c)).collect();
        let _ = writeln!(
            out,
            "The table {} will be created ({}).",
            code(&plan.table),
            cols.join(", ")
        );
        for line in super::schema::constraints(plan) {
            let _ = writeln!(out, "- with {}", esc_words(&line));
        }
        out.push('\n');
    }
    let add = &plan.schema.add_columns;
    if !add.is_empty() {
        let _ = writeln!(
            out,
            "{} to add to the table {}:\n",
            plural(add.len(), "column"),
            code(&plan.table)
        );
        for a in add {
            let _ = writeln!(out, "- {}", code(&super::schema::add_column(plan, a)));
        }
        let _ = writeln!(out, "\n_{}_", esc_words(super::schema::NULLABLE));
        if let Some(line) = super::schema::unmanaged(plan) {
            let _ = writeln!(out, "\n_{}_", esc_words(&line));
        }
        out.push('\n');
    }
}

/// Records to add (their new values) or to destroy (the values they hold), one row each.
fn creates_or_deletes(
    out: &mut String,
    plan: &Plan,
    action: Action,
    limit: usize,
    full: bool,
    h: &str,
) {
    let changes: Vec<&Change> = plan.changes.iter().filter(|c| c.action == action).collect();
    if changes.is_empty() {
        return;
    }
    let words = if action == Action::Create {
        "to add"
    } else {
        "to destroy"
    };
    let _ = writeln!(out, "{h} {} {words}\n", count(changes.len()));
    let mut head = String::from("| address |");
    let mut rule = String::from("| --- |");
    for (name, _) in &plan.fields {
        let _ = write!(head, " {} |", esc(name));
        rule.push_str(" --- |");
    }
    if action == Action::Delete {
        head.push_str(" why |");
        rule.push_str(" --- |");
    }
    head.push_str(" from |");
    rule.push_str(" --- |");
    let _ = writeln!(out, "{head}\n{rule}");
    for c in changes.iter().take(limit) {
        let values = if action == Action::Create {
            c.after.as_deref()
        } else {
            c.before.as_deref()
        }
        .unwrap_or_default();
        let _ = write!(out, "| {} |", code(&plan.address(&c.address)));
        for f in 0..plan.fields.len() {
            let v = values.get(f).unwrap_or(&Value::Null);
            if v.is_null() {
                out.push_str(" |");
            } else {
                let _ = write!(out, " {} |", value(plan, f, v, full));
            }
        }
        if action == Action::Delete {
            let _ = write!(out, " {} |", esc(&reason(c, plan).unwrap_or_default()));
        }
        let _ = writeln!(out, " {} |", members(c));
    }
    more(out, changes.len(), limit, words);
    out.push('\n');
}

/// Records to change, field by field: the address and why on the first line of each.
fn updates(out: &mut String, plan: &Plan, limit: usize, full: bool, h: &str) {
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Update)
        .collect();
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(out, "{h} {} to change\n", count(changes.len()));
    out.push_str("| address | field | before | after |\n| --- | --- | --- | --- |\n");
    for c in changes.iter().take(limit) {
        let mut first = code(&plan.address(&c.address));
        let why = if c.replaces {
            Some(
                "replaced: every field it is known by changes (apply needs --allow-replace)"
                    .to_string(),
            )
        } else {
            reason(c, plan)
        };
        if let Some(why) = why {
            let _ = write!(first, "<br>*{}*", esc(&why));
        }
        let before = c.before.as_deref().unwrap_or_default();
        let after = c.after.as_deref().unwrap_or_default();
        if c.changed.is_empty() {
            let _ = writeln!(out, "| {first} | *no field changes* | | |");
            continue;
        }
        for (i, &f) in c.changed.iter().enumerate() {
            let cell = |vs: &[Value]| {
                let v = vs.get(f).unwrap_or(&Value::Null);
                value(plan, f, v, full)
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                if i == 0 { first.as_str() } else { "" },
                esc(&plan.fields[f].0),
                cell(before),
                cell(after)
            );
        }
    }
    // Which fields the hidden updates touch, most often first, as in the text plan.
    if changes.len() > limit {
        let touched = super::words::fields_changed(plan, changes.iter().copied(), esc);
        let _ = writeln!(out, "\nFields changed: {touched}");
    }
    more(out, changes.len(), limit, "to change");
    out.push('\n');
}

/// Excluded records, invalid values, pairs to review, what overrides changed and the rows
/// kept: each in a collapsed section, when there are any.
fn set_aside(out: &mut String, plan: &Plan, limit: usize) {
    let rows = plan.excluded.iter().map(|e| {
        format!(
            "| {} | {} |",
            named(&e.record.to_string(), e.name.as_deref()),
            esc(&e.rule)
        )
    });
    details(
        out,
        &format!("Excluded ({})", count(plan.excluded.len())),
        "| record | rule |\n| --- | --- |",
        rows,
        plan.excluded.len(),
        limit,
        "excluded",
    );
    let rows = plan.invalid.iter().map(|v| {
        let masked = plan.sensitive.get(v.field).copied().unwrap_or(false);
        format!(
            "| {} | {} | {} | {} | {} |",
            code(&v.record.to_string()),
            esc(&v.row),
            esc(plan.fields.get(v.field).map_or("?", |f| f.0.as_str())),
            code(&safe::value(&Value::Text(v.value.clone()), masked, false)),
            esc(&v.reason)
        )
    });
    details(
        out,
        &format!(
            "Invalid values ({}), left out as if absent",
            count(plan.invalid.len())
        ),
        "| record | row | field | value | reason |\n| --- | --- | --- | --- | --- |",
        rows,
        plan.invalid.len(),
        limit,
        "invalid values",
    );
    let rows = plan.review.iter().map(|r| {
        format!(
            "| {} | {} | {:.3} | {} |",
            named(&r.left.to_string(), r.left_name.as_deref()),
            named(&r.right.to_string(), r.right_name.as_deref()),
            r.score,
            esc(&super::review_reason(&r.reason, |a| plan.address(a)))
        )
    });
    details(
        out,
        &format!("To review ({}), not linked", count(plan.review.len())),
        "| record | record | score | why |\n| --- | --- | ---: | --- |",
        rows,
        plan.review.len(),
        limit,
        "to review",
    );
    let rows = plan
        .overrides
        .iter()
        .map(|o| format!("| {} |", esc(&super::override_note(o, |a| plan.address(a)))));
    details(
        out,
        &format!(
            "Changed by `same` / `distinct` ({})",
            count(plan.overrides.len())
        ),
        "| what changed |\n| --- |",
        rows,
        plan.overrides.len(),
        limit,
        "changed by overrides",
    );
    let rows = plan.missing.iter().map(|m| {
        format!(
            "| {} | {} | {} |",
            code(&plan.address(&m.address)),
            code(&m.row_key),
            m.name.as_deref().map(code).unwrap_or_default()
        )
    });
    details(
        out,
        &format!(
            "Kept ({}): managed, but no longer in any source (on_missing: keep)",
            count(plan.missing.len())
        ),
        "| address | row | name |\n| --- | --- | --- |",
        rows,
        plan.missing.len(),
        limit,
        "kept",
    );
}

/// A collapsed section holding a table of at most `limit` of its `total` rows.
fn details(
    out: &mut String,
    title: &str,
    head: &str,
    rows: impl Iterator<Item = String>,
    total: usize,
    limit: usize,
    what: &str,
) {
    if total == 0 {
        return;
    }
    // The blank lines let GitHub read the table inside the HTML block as Markdown.
    let _ = writeln!(
        out,
        "<details><summary>{}</summary>\n\n{head}",
        html_title(title)
    );
    for row in rows.take(limit) {
        let _ = writeln!(out, "{row}");
    }
    more(out, total, limit, what);
    out.push_str("\n</details>\n\n");
}

fn more(out: &mut String, total: usize, limit: usize, what: &str) {
    if total > limit {
        let _ = writeln!(
            out,
            "\n*… and {} more {what} (`--full` shows them all)*",
            count(total - limit)
        );
    }
}

/// Why a change is planned, as the text plan words it; `None` for a new record.
fn reason(c: &Change, plan: &Plan) -> Option<String> {
    super::words::reason(c, plan, str::to_string)
}

/// The source records of a change, each named.
fn members(c: &Change) -> String {
    c.members
        .iter()
        .enumerate()
        .map(|(i, m)| named(&m.to_string(), c.name_of(i)))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// A record's id and, when it has one, what names it: both as code.
fn named(reference: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!(
            "{} {}",
            code(reference),
            code(&safe::value(&Value::Text(name.to_string()), false, false))
        ),
        None => code(reference),
    }
}

/// A value as a table cell: masked when sensitive, shortened when long, as code.
fn value(plan: &Plan, f: usize, v: &Value, full: bool) -> String {
    let sensitive = plan.sensitive.get(f).copied().unwrap_or(false);
    code(&safe::value(v, sensitive, full))
}

/// Text as a code span that fits in a table cell: controls escaped, `|` escaped (a table
/// reads it before the span), and fenced by more backticks than it holds in a row.
pub fn code(text: &str) -> String {
    let text = term(text).replace('|', "\\|");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || text.starts_with(' ') || text.ends_with(' ') || text.is_empty() {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// Text with Markdown's meaningful punctuation escaped, on one line.
pub fn esc(text: &str) -> String {
    let text = term(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' | '!' | '&' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Our own wording, which may hold `` `code` `` spans: escaped outside them.
fn esc_words(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { esc(part) })
        .collect()
}

/// A title of our own wording for `<summary>`, which GitHub reads as HTML, not Markdown:
/// HTML-escaped, its `` `code` `` spans as `<code>`.
fn html_title(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            let part = term(part)
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part
            }
        })
        .collect()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", count(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("x\u{1b}[31m"), "`x\\u{1b}[31m`");
        assert_eq!(code(""), "`  `");
    }

    #[test]
    fn text_cannot_become_markup() {
        assert_eq!(esc("*x* <b>@team|"), "\\*x\\* \\<b\\>\\@team\\|");
        assert_eq!(esc("a\nb"), "a\\\\nb");
    }
}
