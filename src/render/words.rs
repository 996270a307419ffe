//! Wording shared by every view: numbers, plurals, why a change is planned.

use crate::plan::{Change, Plan, Reason};

/// A count with thousands separated: `100,000`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The line that closes a successful apply.
pub fn apply_complete(added: usize, changed: usize, destroyed: usize) -> String {
    format!(
        "\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.\n"
    )
}

/// Why a change is planned, in the words the text and Markdown plans share; `None` for a new
/// record or one up to date. `name` shows a field or column name as the view shows terms.
pub fn reason(c: &Change, plan: &Plan, name: impl Fn(&str) -> String) -> Option<String> {
    let names = |fields: &[usize]| {
        let names: Vec<&str> = fields.iter().map(|&f| plan.fields[f].0.as_str()).collect();
        name(&names.join(", "))
    };
    let gone = "no source holds this record any more";
    let back = "restored: its record is back in the sources";
    Some(match &c.reason {
        Reason::New | Reason::UpToDate => return None,
        Reason::Vanished => "the row was deleted outside reconcile".into(),
        Reason::SourceChanged => "the sources changed".into(),
        Reason::NewColumn => {
            let what = if c.changed.len() == 1 {
                "column"
            } else {
                "columns"
            };
            format!("new {what} to fill: {}", names(&c.changed))
        }
        Reason::Drift { fields } => format!("changed outside reconcile: {}", names(fields)),
        Reason::AdoptByKey => "an existing row with the same key; it becomes managed".into(),
        Reason::AdoptByMatch { score } => {
            format!("an existing row that matches (score {score:.3}); it becomes managed")
        }
        Reason::Missing => gone.into(),
        Reason::MissingSoft => match &plan.soft_delete {
            Some(sd) => format!("{gone}; {} will be set to {}", name(&sd.column), sd.value),
            None => gone.into(),
        },
        Reason::Restored => match &plan.soft_delete {
            Some(sd) => format!(
                "{back}; {} = {} will be cleared",
                name(&sd.column),
                sd.value
            ),
            None => back.into(),
        },
    })
}

/// The fields some updates change, each with how many of them change it, most often first:
/// `email (3), name (1)`. `name` shows a field name as the view shows terms.
pub fn fields_changed<'c>(
    plan: &Plan,
    updates: impl IntoIterator<Item = &'c Change>,
    name: impl Fn(&str) -> String,
) -> String {
    let mut per_field = vec![0usize; plan.fields.len()];
    for c in updates {
        for &f in &c.changed {
            per_field[f] += 1;
        }
    }
    let mut touched: Vec<(usize, usize)> = per_field
        .into_iter()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .collect();
    touched.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let words: Vec<String> = touched
        .iter()
        .map(|(f, n)| format!("{} ({})", name(&plan.fields[*f].0), count(*n)))
        .collect();
    words.join(", ")
}
