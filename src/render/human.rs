//! The plan for people, in the shape Terraform users know: `+` create, `~` update, `-` delete,
//! field-level diffs with unchanged fields hidden, the excluded records with their rules, the
//! source values left out as invalid, pairs to review, what the `same` / `distinct` overrides
//! changed, and a closing summary line. Records are named beside their ids; where members
//! disagreed, one line counts the fields and points to `--explain`, so the plan stays short. Styles are ANSI; the caller's stream strips
//! them when the output is not a terminal or `NO_COLOR` is set.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use super::safe::{self, term};
pub use super::words::count;
use crate::plan::{Action, Change, Plan, Reason};
use crate::value::Value;

const GREEN: Style = AnsiColor::Green.on_default();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const RED: Style = AnsiColor::Red.on_default();
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// How much of a plan to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Show every change, every excluded record and every pair to review.
    pub full: bool,
}

/// Beyond this many changes in all, each kind shows its first [`SHOWN_PER_GROUP`] in full and
/// counts the rest: a plan of 100,000 rows stays readable, and `--full` shows them all.
const SHOW_ALL_UP_TO: usize = 50;
const SHOWN_PER_GROUP: usize = 10;

/// Renders a plan, shortened when it is long.
pub fn render(plan: &Plan) -> String {
    render_with(plan, Options::default())
}

/// Renders a plan: the summary first, then the changes grouped by action, then what was
/// excluded, what needs review and what is kept, and the summary again at the end, where a
/// long plan leaves the reader.
pub fn render_with(plan: &Plan, opts: Options) -> String {
    let mut out = String::new();
    let pending = {
        let s = plan.summary();
        s.create + s.update + s.delete
    };
    let limit = if opts.full || pending <= SHOW_ALL_UP_TO {
        usize::MAX
    } else {
        SHOWN_PER_GROUP
    };

    let note = super::model_note(&plan.matching)
        .map(|note| format!("{} {note}\n", paint(YELLOW.bold(), "Note:")));
    if plan.has_changes() {
        let _ = writeln!(
            out,
            "reconcile will perform the following actions on table {}:\n",
            paint(BOLD, term(&plan.table))
        );
        let _ = writeln!(out, "{}\n", summary_line(plan));
        if let Some(note) = &note {
            let _ = writeln!(out, "{note}");
        }
        schema_notes(&mut out, plan, true);
        if plan.create_table {
            let cols: Vec<&str> = plan.fields.iter().map(|(_, c)| c.as_str()).collect();
            let _ = writeln!(
                out,
                "  {} table {} will be created ({})",
                paint(GREEN, "+"),
                paint(BOLD, term(&plan.table)),
                term(&cols.join(", "))
            );
            for line in super::schema::constraints(plan) {
                let _ = writeln!(out, "      with {}", term(&line));
            }
            out.push('\n');
        }
        columns(&mut out, plan);
        changes(&mut out, plan, limit, opts.full);
        if let Some(note) = conflicts_note(plan) {
            let _ = writeln!(out, "{}\n", paint(DIM, note));
        }
    }

    if !plan.excluded.is_empty() {
        excluded(&mut out, plan, limit);
    }
    if !plan.invalid.is_empty() {
        invalid(&mut out, plan, limit);
    }
    if !plan.review.is_empty() {
        review(&mut out, plan, limit);
    }
    if !plan.overrides.is_empty() {
        overrides(&mut out, plan, limit);
    }
    if !plan.missing.is_empty() {
        kept(&mut out, plan, limit);
    }
    closing(&mut out, plan, note.as_deref());
    out
}

/// The columns to add to the existing table, before the rows that fill them.
fn columns(out: &mut String, plan: &Plan) {
    let add = &plan.schema.add_columns;
    if add.is_empty() {
        return;
    }
    let title = format!(
        "{} to add to table {}:",
        plural_count(add.len(), "column"),
        term(&plan.table)
    );
    let _ = writeln!(out, "{}\n", paint(GREEN.bold(), title));
    for a in add {
        let _ = writeln!(
            out,
            "  {} {}",
            paint(GREEN, "+"),
            term(&super::schema::add_column(plan, a))
        );
    }
    let _ = writeln!(
        out,
        "  {}",
        paint(DIM, format!("# {}", super::schema::NULLABLE))
    );
    if let Some(line) = super::schema::unmanaged(plan) {
        let _ = writeln!(out, "  {}", paint(DIM, format!("# {}", term(&line))));
    }
    out.push('\n');
}

/// The notes on the table's constraints, each on its own line (`gap`: a blank line after).
fn schema_notes(out: &mut String, plan: &Plan, gap: bool) {
    for n in &plan.schema.notes {
        let _ = writeln!(
            out,
            "{} {}",
            paint(YELLOW.bold(), "Note:"),
            term(&super::schema::note(plan, n))
        );
    }
    if gap && !plan.schema.notes.is_empty() {
        out.push('\n');
    }
}

/// The changes grouped by action, each group cut at `limit` with what the rest touch.
fn changes(out: &mut String, plan: &Plan, limit: usize, full: bool) {
    let width = plan.fields.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let groups = [
        (Action::Create, "to add", GREEN),
        (Action::Update, "to change", YELLOW),
        (Action::Delete, "to destroy", RED),
    ];
    for (action, words, style) in groups {
        let total = plan.changes.iter().filter(|c| c.action == action).count();
        if total == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "{}\n",
            paint(style.bold(), format!("{} {words}:", count(total)))
        );
        for c in plan
            .changes
            .iter()
            .filter(|c| c.action == action)
            .take(limit)
        {
            change(out, plan, c, width, full);
        }
        if total > limit && action == Action::Update {
            // Which fields the hidden updates touch, most often first.
            let updates = plan.changes.iter().filter(|c| c.action == action);
            let touched = super::words::fields_changed(plan, updates, |s| term(s).into_owned());
            let _ = writeln!(out, "  Fields changed: {touched}\n");
        }
        if total > limit {
            let _ = writeln!(
                out,
                "  {}\n",
                paint(
                    DIM,
                    format!(
                        "... and {} more {words} (`--full` shows them all; `--html FILE` writes a searchable report)",
                        count(total - limit)
                    )
                )
            );
        }
    }
}

/// The pairs left for review, each record named, with why.
fn review(out: &mut String, plan: &Plan, limit: usize) {
    let lines = plan.review.iter().map(|r| {
        format!(
            "? {} ~ {}  score {:.3}: {}",
            named(&r.left.to_string(), r.left_name.as_deref()),
            named(&r.right.to_string(), r.right_name.as_deref()),
            r.score,
            term(&super::review_reason(&r.reason, |a| plan.address(a)))
        )
    });
    let title = format!("To review ({}), not linked:", count(plan.review.len()));
    listing(out, &title, lines, plan.review.len(), limit, "to review");
}

/// What the `same` / `distinct` overrides changed.
fn overrides(out: &mut String, plan: &Plan, limit: usize) {
    let lines = plan.overrides.iter().map(|o| {
        format!(
            "{} {}",
            if o.instead.is_some() { "?" } else { "~" },
            term(&super::override_note(o, |a| plan.address(a)))
        )
    });
    let total = plan.overrides.len();
    let title = format!("Changed by `same` / `distinct` ({}):", count(total));
    listing(out, &title, lines, total, limit, "changed by overrides");
}

/// Managed rows kept although no source has them any more.
fn kept(out: &mut String, plan: &Plan, limit: usize) {
    let lines = plan.missing.iter().map(|m| {
        format!(
            "= {} (row {}){}",
            term(&plan.address(&m.address)),
            term(&m.row_key.to_string()),
            m.name.as_deref().map_or_else(String::new, |n| format!(
                " {}",
                safe::value(&Value::Text(n.to_string()), false, false)
            ))
        )
    });
    let total = plan.missing.len();
    let title = format!(
        "Kept ({}): managed, but no longer in any source (on_missing: keep):",
        count(total)
    );
    listing(out, &title, lines, total, limit, "kept");
}

/// A titled list of at most `limit` of its `total` lines, then how many more there are.
fn listing(
    out: &mut String,
    title: &str,
    lines: impl Iterator<Item = String>,
    total: usize,
    limit: usize,
    what: &str,
) {
    let _ = writeln!(out, "{}", paint(BOLD, title));
    for line in lines.take(limit) {
        let _ = writeln!(out, "  {line}");
    }
    more(out, total, limit, what);
    out.push('\n');
}

/// The summary again, where a long plan leaves the reader, or "No changes." with why.
fn closing(out: &mut String, plan: &Plan, note: Option<&str>) {
    let s = plan.summary();
    if plan.has_changes() {
        let _ = writeln!(out, "{}", summary_line(plan));
        if s.no_op > 0 {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    DIM,
                    format!("{} already up to date.", plural_count(s.no_op, "record"))
                )
            );
        }
    } else {
        let _ = writeln!(
            out,
            "{} The database matches the spec ({} up to date).",
            paint(GREEN.bold(), "No changes."),
            plural_count(s.no_op, "record")
        );
        if let Some(note) = &note {
            let _ = write!(out, "{note}");
        }
        schema_notes(out, plan, false);
        if let Some(quick) = &plan.shortcut {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    DIM,
                    format!(
                        "The spec and its sources are unchanged since the last apply ({}) and \
                         the table still holds what it wrote, so the sources were not read \
                         again; `--refresh` reads them.",
                        quick.applied_at
                    )
                )
            );
        }
    }
}

/// `Plan: 17 to add, 0 to change, 0 to destroy.`, with what was set aside when there is any.
fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    let replacing = if s.replace > 0 {
        paint(RED, format!(" ({} replacing a row)", count(s.replace)))
    } else {
        String::new()
    };
    let columns = if s.add_column > 0 {
        format!(", {} to add", plural_count(s.add_column, "column"))
    } else {
        String::new()
    };
    let mut line = format!(
        "{} {} to add, {} to change{replacing}, {} to destroy{columns}.",
        paint(BOLD, "Plan:"),
        count(s.create),
        count(s.update),
        count(s.delete)
    );
    let mut aside = Vec::new();
    if !plan.excluded.is_empty() {
        aside.push(format!("{} excluded", count(plan.excluded.len())));
    }
    if !plan.invalid.is_empty() {
        aside.push(plural_count(plan.invalid.len(), "invalid value"));
    }
    if !plan.review.is_empty() {
        aside.push(format!("{} to review", count(plan.review.len())));
    }
    if !aside.is_empty() {
        line.push_str(&paint(DIM, format!(" ({})", aside.join(", "))));
    }
    line
}

fn excluded(out: &mut String, plan: &Plan, limit: usize) {
    let _ = writeln!(
        out,
        "{}",
        paint(BOLD, format!("Excluded ({}):", count(plan.excluded.len())))
    );
    if plan.excluded.len() > limit {
        // Long lists say first how many each rule dropped.
        let mut by_rule: Vec<(&str, usize)> = Vec::new();
        for e in &plan.excluded {
            match by_rule.iter_mut().find(|(r, _)| *r == e.rule) {
                Some((_, n)) => *n += 1,
                None => by_rule.push((&e.rule, 1)),
            }
        }
        for (rule, n) in by_rule {
            let _ = writeln!(out, "  {} by rule \"{}\"", count(n), term(rule));
        }
    }
    let shown = |e: &crate::plan::ExcludedItem| named(&e.record.to_string(), e.name.as_deref());
    let w = plan
        .excluded
        .iter()
        .take(limit)
        .map(|e| shown(e).chars().count())
        .max()
        .unwrap_or(0);
    for e in plan.excluded.iter().take(limit) {
        let _ = writeln!(
            out,
            "  - {:w$}  by rule \"{}\"",
            shown(e),
            term(&e.rule),
            w = w
        );
    }
    more(out, plan.excluded.len(), limit, "excluded");
    out.push('\n');
}

/// Source values that failed their field type: each with its record, row, field and reason.
/// They were left out: a create leaves the field empty, an update keeps what the row holds.
fn invalid(out: &mut String, plan: &Plan, limit: usize) {
    let _ = writeln!(
        out,
        "{}",
        paint(
            BOLD,
            format!(
                "Invalid values ({}), left out as if absent:",
                count(plan.invalid.len())
            )
        )
    );
    if plan.invalid.len() > limit {
        // Long lists say first how many each field has.
        let mut by_field = vec![0usize; plan.fields.len()];
        for v in &plan.invalid {
            if let Some(n) = by_field.get_mut(v.field) {
                *n += 1;
            }
        }
        for (f, n) in by_field.into_iter().enumerate().filter(|(_, n)| *n > 0) {
            let _ = writeln!(out, "  {} in {}", count(n), plan.fields[f].0);
        }
    }
    let place =
        |v: &crate::plan::InvalidItem| term(&format!("{} ({})", v.record, v.row)).into_owned();
    let w = plan
        .invalid
        .iter()
        .take(limit)
        .map(|v| place(v).len())
        .max()
        .unwrap_or(0);
    for v in plan.invalid.iter().take(limit) {
        let masked = plan.sensitive.get(v.field).copied().unwrap_or(false);
        let value = safe::value(&Value::Text(v.value.clone()), masked, false);
        let _ = writeln!(
            out,
            "  ! {:w$}  {} = {value}: {}",
            place(v),
            plan.fields.get(v.field).map_or("?", |f| f.0.as_str()),
            term(&v.reason),
            w = w
        );
    }
    more(out, plan.invalid.len(), limit, "invalid values");
    out.push('\n');
}

/// How many fields of the records to add or change had members that disagreed, and where
/// to see them; the plan itself stays short.
pub fn conflicts_note(plan: &Plan) -> Option<String> {
    let (mut fields, mut records) = (0, 0);
    // Fields a `source` rule left empty although another member had a value: a value
    // dropped by a rule is said here, not only under `--explain`.
    let mut emptied: Vec<usize> = vec![0; plan.fields.len()];
    for c in plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update))
    {
        fields += c.conflicts.len();
        records += usize::from(!c.conflicts.is_empty());
        for x in c.conflicts.iter().filter(|x| x.value.is_null()) {
            if let Some(n) = emptied.get_mut(x.field) {
                *n += 1;
            }
        }
    }
    (fields > 0).then(|| {
        let mut note = format!(
            "Members disagreed on {} of {}: `reconcile plan --explain` and `reconcile explain \
             ADDRESS` show which value won, by which rule, and which lost.",
            plural_count(fields, "field"),
            plural_count(records, "record")
        );
        for (f, n) in emptied.iter().enumerate().filter(|(_, n)| **n > 0) {
            let _ = write!(
                note,
                "\n`{}` is left empty in {} by its `source` rule, although other sources \
                 hold a value.",
                term(&plan.fields[f].0),
                plural_count(*n, "record")
            );
        }
        note
    })
}

/// `crm:108 "Ocean Basket Menlyn"`: a record's id and, when it has one, what names it,
/// escaped and shortened.
pub fn named(reference: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!(
            "{} {}",
            term(reference),
            safe::value(&Value::Text(name.to_string()), false, false)
        ),
        None => term(reference).into_owned(),
    }
}

fn more(out: &mut String, total: usize, limit: usize, what: &str) {
    if total > limit {
        let _ = writeln!(
            out,
            "  {}",
            paint(
                DIM,
                format!(
                    "... and {} more {what} (`--full` shows them all)",
                    count(total - limit)
                )
            )
        );
    }
}

fn plural_count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", count(n))
    }
}

/// Whether field `f`'s values are masked.
fn sensitive(plan: &Plan, f: usize) -> bool {
    plan.sensitive.get(f).copied().unwrap_or(false)
}

fn change(out: &mut String, plan: &Plan, c: &Change, width: usize, full: bool) {
    // A value as shown: masked when its field is sensitive, shortened when long.
    let shown = |_: &Plan, f: usize, v: &Value| safe::value(v, sensitive(plan, f), full);
    let name = |f: usize| term(&plan.fields[f].0).into_owned();
    let address = term(&plan.address(&c.address)).into_owned();
    let (symbol, style, verb) = match c.action {
        Action::Create => ("+", GREEN, "will be created"),
        Action::Update if c.reason == Reason::Restored => ("~", YELLOW, "will be restored"),
        Action::Update if c.changed.is_empty() => {
            ("~", YELLOW, "will be adopted (no field changes)")
        }
        Action::Update if c.replaces => (
            "-/+",
            RED,
            "will be replaced: every field it is known by changes (apply needs --allow-replace)",
        ),
        Action::Update => ("~", YELLOW, "will be updated in-place"),
        Action::Delete if c.reason == Reason::MissingSoft => ("-", RED, "will be soft-deleted"),
        Action::Delete => ("-", RED, "will be destroyed"),
        Action::NoOp => return,
    };
    let _ = writeln!(
        out,
        "  {} {} {}",
        paint(BOLD, "#"),
        paint(BOLD, &address),
        verb
    );
    if let Some(why) = super::words::reason(c, plan, |s| term(s).into_owned()) {
        let _ = writeln!(out, "  {}", paint(DIM, format!("# ({why})")));
    }
    let _ = writeln!(out, "  {} {} {{", paint(style, symbol), address);
    // Values from the record's first (highest-priority) member go unmarked; a value that
    // another member supplied says where it came from.
    let origin = |f: usize| -> String {
        match c.provenance.get(f).copied().flatten() {
            Some(m) if m > 0 => match c.members.get(m as usize) {
                Some(p) => paint(
                    DIM,
                    format!("  # from {}", named(&p.to_string(), c.name_of(m as usize))),
                ),
                None => String::new(),
            },
            _ => String::new(),
        }
    };
    match c.action {
        Action::Create => {
            let after = c.after.as_deref().unwrap_or_default();
            for (f, v) in after.iter().enumerate() {
                if v.is_null() {
                    continue;
                }
                if let Some(text) = v
                    .as_str()
                    .filter(|t| t.contains('\n') && !sensitive(plan, f))
                {
                    text_diff(out, &name(f), "", text, width, &origin(f), full);
                    continue;
                }
                let _ = writeln!(
                    out,
                    "      {} {:width$} = {}{}",
                    paint(GREEN, "+"),
                    name(f),
                    shown(plan, f, v),
                    origin(f),
                    width = width
                );
            }
        }
        Action::Update => {
            let before = c.before.as_deref().unwrap_or_default();
            let after = c.after.as_deref().unwrap_or_default();
            for &f in &c.changed {
                let (b, a) = (&before[f], &after[f]);
                if let (Some(old), Some(new), false) = (b.as_str(), a.as_str(), sensitive(plan, f))
                    && (old.contains('\n') || new.contains('\n'))
                {
                    text_diff(out, &name(f), old, new, width, &origin(f), full);
                    continue;
                }
                let (b, a) = (shown(plan, f, b), shown(plan, f, a));
                let (sym, st, text) = match (&before[f], &after[f]) {
                    (Value::Null, _) => ("+", GREEN, a),
                    (_, Value::Null) => ("-", RED, format!("{b} -> null")),
                    _ => ("~", YELLOW, format!("{b} -> {a}")),
                };
                let _ = writeln!(
                    out,
                    "      {} {:width$} = {}{}",
                    paint(st, sym),
                    name(f),
                    text,
                    origin(f),
                    width = width
                );
            }
            let hidden = after.len() - c.changed.len();
            if hidden > 0 {
                let _ = writeln!(out, "        {}", hidden_note(hidden, "field"));
            }
        }
        Action::Delete => {
            let before = c.before.as_deref().unwrap_or_default();
            for (f, v) in before.iter().enumerate() {
                if !v.is_null() {
                    let _ = writeln!(
                        out,
                        "      {} {:width$} = {}",
                        paint(RED, "-"),
                        name(f),
                        shown(plan, f, v),
                        width = width
                    );
                }
            }
        }
        Action::NoOp => {}
    }
    let from: Vec<String> = c
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| named(&m.to_string(), c.name_of(i)))
        .collect();
    let _ = writeln!(
        out,
        "    }}{}\n",
        paint(DIM, format!("  # from {}", from.join(", ")))
    );
}

/// A multi-line text value, changed line by line: only the lines that differ and two lines of
/// context around them, as `diff -u` would show, instead of two long quoted strings.
fn text_diff(
    out: &mut String,
    name: &str,
    old: &str,
    new: &str,
    width: usize,
    origin: &str,
    full: bool,
) {
    let (sym, style) = if old.is_empty() {
        ("+", GREEN)
    } else {
        ("~", YELLOW)
    };
    let _ = writeln!(
        out,
        "      {} {name:width$} = <<-EOT{origin}",
        paint(style, sym),
        width = width
    );
    let diff = similar::TextDiff::from_lines(old, new);
    let groups = diff.grouped_ops(2);
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out, "            {}", paint(DIM, "..."));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches(['\n', '\r']);
                let line = shorten(line, full);
                let _ = match change.tag() {
                    similar::ChangeTag::Equal => writeln!(out, "            {line}"),
                    similar::ChangeTag::Delete => {
                        writeln!(out, "          {} {}", paint(RED, "-"), paint(RED, line))
                    }
                    similar::ChangeTag::Insert => {
                        writeln!(
                            out,
                            "          {} {}",
                            paint(GREEN, "+"),
                            paint(GREEN, line)
                        )
                    }
                };
            }
        }
    }
    let hidden = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Equal)
        .count()
        - groups
            .iter()
            .flatten()
            .flat_map(|op| diff.iter_changes(op))
            .filter(|c| c.tag() == similar::ChangeTag::Equal)
            .count();
    if hidden > 0 {
        let _ = writeln!(out, "            {}", hidden_note(hidden, "line"));
    }
    let _ = writeln!(out, "        EOT");
}

/// One line of a multi-line value as printed: escaped, and cut as [`safe::value`] cuts.
fn shorten(line: &str, full: bool) -> String {
    let n = line.chars().count();
    if n <= safe::VALUE_CHARS || (full && !safe::binaryish(line)) {
        return term(line).into_owned();
    }
    let kept: String = line.chars().take(safe::VALUE_CHARS).collect();
    format!(
        "{}… ({} more characters)",
        term(&kept),
        count(n - safe::VALUE_CHARS)
    )
}

/// Several plans (parents first): each resource's plan, then one summary for all of them.
pub fn render_many(plans: &[Plan], opts: Options) -> String {
    let mut out = String::new();
    let (mut create, mut update, mut delete, mut no_op, mut columns) = (0, 0, 0, 0, 0);
    for plan in plans {
        let _ = writeln!(
            out,
            "{}",
            paint(BOLD, format!("# {}", term(&plan.resource)))
        );
        out.push_str(&render_with(plan, opts));
        out.push('\n');
        let s = plan.summary();
        create += s.create;
        update += s.update;
        delete += s.delete;
        no_op += s.no_op;
        columns += s.add_column;
    }
    if plans.iter().any(Plan::has_changes) {
        let columns = if columns > 0 {
            format!(", {} to add", plural_count(columns, "column"))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} {} to add, {} to change, {} to destroy{columns}, in {}.",
            paint(BOLD, "Plan (all resources):"),
            count(create),
            count(update),
            count(delete),
            plural_count(plans.len(), "resource")
        );
    } else {
        let _ = writeln!(
            out,
            "{} The database matches the specs ({} up to date, in {}).",
            paint(GREEN.bold(), "No changes."),
            plural_count(no_op, "record"),
            plural_count(plans.len(), "resource")
        );
    }
    out
}

/// `# (3 unchanged fields hidden)`, dimmed.
fn hidden_note(hidden: usize, unit: &str) -> String {
    let unit = if hidden == 1 {
        unit.to_string()
    } else {
        format!("{unit}s")
    };
    paint(DIM, format!("# ({hidden} unchanged {unit} hidden)"))
}
