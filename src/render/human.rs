//! The plan for people, in the shape Terraform users know: `+` create, `~` update, `-` delete,
//! field-level diffs with unchanged fields hidden, the excluded records with their rules,
//! pairs to review, and a closing summary line. Styles are ANSI; the caller's stream strips
//! them when the output is not a terminal or `NO_COLOR` is set.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};

use crate::error::plural;
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

/// Renders a plan.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let s = plan.summary();
    let width = plan.fields.iter().map(|(n, _)| n.len()).max().unwrap_or(0);

    if plan.has_changes() {
        let _ = writeln!(
            out,
            "reconcile will perform the following actions on table {}:\n",
            paint(BOLD, &plan.table)
        );
        if plan.create_table {
            let cols: Vec<&str> = plan.fields.iter().map(|(_, c)| c.as_str()).collect();
            let _ = writeln!(
                out,
                "  {} table {} will be created ({})\n",
                paint(GREEN, "+"),
                paint(BOLD, &plan.table),
                cols.join(", ")
            );
        }
        for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
            change(&mut out, plan, c, width);
        }
    }

    if !plan.excluded.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(BOLD, format!("Excluded ({}):", plan.excluded.len()))
        );
        let w = plan
            .excluded
            .iter()
            .map(|e| e.record.to_string().len())
            .max()
            .unwrap_or(0);
        for e in &plan.excluded {
            let _ = writeln!(
                out,
                "  - {:w$}  by rule {:?}",
                e.record.to_string(),
                e.rule,
                w = w
            );
        }
        out.push('\n');
    }
    if !plan.review.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(
                BOLD,
                format!("To review ({}), not linked:", plan.review.len())
            )
        );
        for r in &plan.review {
            let _ = writeln!(
                out,
                "  ? {} ~ {}  score {:.3}: {}",
                r.left, r.right, r.score, r.reason
            );
        }
        out.push('\n');
    }
    if !plan.missing.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            paint(
                BOLD,
                format!(
                    "Kept ({}): managed, but no longer in any source (on_missing: keep):",
                    plan.missing.len()
                )
            )
        );
        for m in &plan.missing {
            let _ = writeln!(out, "  = {} (row {})", plan.address(&m.address), m.row_key);
        }
        out.push('\n');
    }

    if plan.has_changes() {
        let _ = writeln!(
            out,
            "{} {} to add, {} to change, {} to destroy.",
            paint(BOLD, "Plan:"),
            s.create,
            s.update,
            s.delete
        );
        if s.no_op > 0 {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    DIM,
                    format!("{} already up to date.", plural(s.no_op, "record"))
                )
            );
        }
    } else {
        let _ = writeln!(
            out,
            "{} The database matches the spec ({} up to date).",
            paint(GREEN.bold(), "No changes."),
            plural(s.no_op, "record")
        );
    }
    out
}

fn reason_text(c: &Change, plan: &Plan) -> Option<String> {
    Some(match &c.reason {
        Reason::New | Reason::UpToDate => return None,
        Reason::Vanished => "the row was deleted outside reconcile".into(),
        Reason::SourceChanged => "the sources changed".into(),
        Reason::Drift { fields } => {
            let names: Vec<&str> = fields.iter().map(|&f| plan.fields[f].0.as_str()).collect();
            format!("changed outside reconcile: {}", names.join(", "))
        }
        Reason::AdoptByKey => "an existing row with the same key; it becomes managed".into(),
        Reason::AdoptByMatch { score } => {
            format!("an existing row that matches (score {score:.3}); it becomes managed")
        }
        Reason::Missing => "no source holds this record any more".into(),
        Reason::MissingSoft => match &plan.soft_delete {
            Some(sd) => format!(
                "no source holds this record any more; {} will be set to {}",
                sd.column, sd.value
            ),
            None => "no source holds this record any more".into(),
        },
    })
}

/// A value as shown: masked when its field is sensitive.
fn shown(plan: &Plan, f: usize, v: &Value) -> String {
    if plan.sensitive.get(f).copied().unwrap_or(false) && !v.is_null() {
        "(sensitive value)".into()
    } else {
        v.to_string()
    }
}

fn change(out: &mut String, plan: &Plan, c: &Change, width: usize) {
    let address = plan.address(&c.address);
    let (symbol, style, verb) = match c.action {
        Action::Create => ("+", GREEN, "will be created"),
        Action::Update if c.changed.is_empty() => {
            ("~", YELLOW, "will be adopted (no field changes)")
        }
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
    if let Some(why) = reason_text(c, plan) {
        let _ = writeln!(out, "  {}", paint(DIM, format!("# ({why})")));
    }
    let _ = writeln!(out, "  {} {} {{", paint(style, symbol), address);
    // Values from the record's first (highest-priority) member go unmarked; a value that
    // another member supplied says where it came from.
    let origin = |f: usize| -> String {
        match &c.provenance[f] {
            Some(p) if Some(p) != c.members.first() => paint(DIM, format!("  # from {p}")),
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
                let _ = writeln!(
                    out,
                    "      {} {:width$} = {}{}",
                    paint(GREEN, "+"),
                    plan.fields[f].0,
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
                    plan.fields[f].0,
                    text,
                    origin(f),
                    width = width
                );
            }
            let hidden = after.len() - c.changed.len();
            if hidden > 0 {
                let _ = writeln!(
                    out,
                    "        {}",
                    paint(
                        DIM,
                        format!(
                            "# ({hidden} unchanged {} hidden)",
                            if hidden == 1 { "field" } else { "fields" }
                        )
                    )
                );
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
                        plan.fields[f].0,
                        shown(plan, f, v),
                        width = width
                    );
                }
            }
        }
        Action::NoOp => {}
    }
    let from: Vec<String> = c.members.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "    }}{}\n",
        paint(DIM, format!("  # from {}", from.join(", ")))
    );
}
