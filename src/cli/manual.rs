//! The parts of the manual pages clap does not know: the environment the tool reads, worked
//! examples for each command, and the pages to see next. Written as roff, escaped here.

/// Text made safe for roff: backslashes and hyphens escaped, and a line that would start
/// with a control character (`.` or `'`) guarded.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// A section of `.TP` paragraphs: a bold tag, then its text.
fn tagged(title: &str, items: &[(&str, &str)]) -> String {
    let mut out = format!(".SH {title}\n");
    for (tag, text) in items {
        out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(tag), roff(text)));
    }
    out
}

/// ENVIRONMENT: every variable the tool reads.
pub(super) fn environment() -> String {
    tagged(
        "ENVIRONMENT",
        &[
            (
                "DATABASE_URL",
                "The target database when --database is not given (sqlite://, postgres://, \
                 mysql://). It comes before the spec's database: and the default \
                 sqlite://reconcile.db beside the spec. A spec may also name it as \
                 ${DATABASE_URL}, so that passwords never live in the spec.",
            ),
            (
                "NO_COLOR",
                "When set (to anything), no colour is used. Colour is only ever used on a \
                 terminal.",
            ),
            (
                "RECONCILE_MAX_FILE_SIZE",
                "The largest source file read, in bytes (default 1 GiB); larger files are \
                 refused before they are read.",
            ),
            (
                "TMPDIR",
                "Where matching writes its blocking keys when the records' prepared values do \
                 not fit match.memory (or --match-memory); the files are removed when \
                 matching ends.",
            ),
            (
                "${VAR} in a spec",
                "Any variable a spec names as ${VAR} (in database: and in source URLs) is \
                 read from the environment; an unset one is an error naming it.",
            ),
        ],
    )
}

/// A command's worked examples: the command line, then what it does.
type Examples = &'static [(&'static str, &'static str)];

/// Worked examples of the main loop's commands, by page name.
fn loop_examples(name: &str) -> Option<Examples> {
    Some(match name {
        "reconcile" => &[
            (
                "reconcile init",
                "Write a commented starter spec to specs/customers.yaml.",
            ),
            (
                "reconcile plan",
                "Show what would change in the database, and why.",
            ),
            (
                "reconcile apply",
                "Show the plan, ask for yes, and apply it in one transaction.",
            ),
        ],
        "reconcile-plan" => &[
            (
                "reconcile plan -f specs/customers.yaml",
                "Plan one spec against its database.",
            ),
            (
                "reconcile plan --out plan.bin && reconcile apply plan.bin",
                "Save a plan, review it, then apply exactly it.",
            ),
            (
                "reconcile plan --json | jq .summary",
                "The plan as JSON (a stable contract; see reconcile schema --plan).",
            ),
            (
                "reconcile plan --detailed-exitcode",
                "Exit 2 when there are changes, 0 when there are none (for CI).",
            ),
            (
                "reconcile plan --html report.html",
                "Also write a report with every cluster and pair to review.",
            ),
        ],
        "reconcile-apply" => &[
            (
                "reconcile apply",
                "Plan, show the plan, ask for yes, then apply.",
            ),
            (
                "reconcile apply --auto-approve",
                "Apply without asking (scripts and CI; without a terminal this is required).",
            ),
            (
                "reconcile apply plan.bin",
                "Apply a plan saved with plan --out, as it was shown.",
            ),
        ],
        _ => return None,
    })
}

/// Worked examples of one command, by page name.
fn examples_of(name: &str) -> Examples {
    if let Some(examples) = loop_examples(name) {
        return examples;
    }
    match name {
        "reconcile-show" => &[
            (
                "reconcile show plan.bin",
                "Print a saved plan as plan printed it; applies nothing.",
            ),
            ("reconcile show plan.bin --json", "The saved plan as JSON."),
        ],
        "reconcile-state" => &[
            (
                "reconcile state list",
                "Every address the state table holds.",
            ),
            (
                "reconcile state show 'customers[\"acme\"]'",
                "One entry and its row.",
            ),
        ],
        "reconcile-state-list" => &[
            (
                "reconcile state list",
                "Every address the state table holds.",
            ),
            (
                "reconcile state list customers",
                "Only the entries of one resource.",
            ),
        ],
        "reconcile-state-show" => &[(
            "reconcile state show 'customers[\"acme\"]'",
            "An entry: its row key, its member records and the row as the table holds it.",
        )],
        "reconcile-state-rm" => &[(
            "reconcile state rm 'customers[\"acme\"]'",
            "Forget an entry; the row stays in the table.",
        )],
        "reconcile-state-mv" => &[(
            "reconcile state mv 'customers[\"acme\"]' 'customers[\"acme-ltd\"]'",
            "Give an entry another address.",
        )],
        "reconcile-import" => &[(
            "reconcile import 'customers[\"acme\"]' C-1042",
            "Manage the existing row with key C-1042 as customers[\"acme\"].",
        )],
        "reconcile-validate" => &[(
            "reconcile validate -f specs/",
            "Check every spec of a folder and its sources, without a database.",
        )],
        "reconcile-explain" => &[
            (
                "reconcile explain",
                "Blocking statistics, the match model and time per stage.",
            ),
            (
                "reconcile explain 'customers[\"maltos-sun-city\"]'",
                "Why one golden record looks the way it does.",
            ),
        ],
        "reconcile-evaluate" => &[
            (
                "reconcile evaluate --labels labels.csv",
                "Precision, recall and F1 against pairs marked same or distinct.",
            ),
            (
                "reconcile evaluate --truth",
                "The same against a column of true ids.",
            ),
        ],
        "reconcile-review" => &[
            (
                "reconcile review",
                "Decide the pairs of the review band, one by one.",
            ),
            (
                "reconcile review --json > pairs.json",
                "The pairs to decide, for another tool.",
            ),
        ],
        "reconcile-schema" => &[
            (
                "reconcile schema > reconcile.schema.json",
                "The JSON Schema of the spec format.",
            ),
            ("reconcile schema --plan", "The JSON Schema of plan --json."),
        ],
        "reconcile-init" => &[("reconcile init specs/suppliers.yaml", "Start a new spec.")],
        "reconcile-completions" => &[(
            "reconcile completions bash > ~/.local/share/bash-completion/completions/reconcile",
            "Install completions for bash.",
        )],
        "reconcile-man" => &[
            (
                "reconcile man plan | man -l -",
                "Read the page of one command.",
            ),
            (
                "reconcile man --dir man/",
                "Write every page (reconcile.1, reconcile-plan.1, ...).",
            ),
        ],
        _ => &[],
    }
}

/// EXAMPLES of one page, or nothing when it has none.
pub(super) fn examples(name: &str) -> String {
    let items = examples_of(name);
    if items.is_empty() {
        return String::new();
    }
    let mut out = String::from(".SH EXAMPLES\n");
    for (command, text) in items {
        out.push_str(&format!(
            ".TP\n.B {}\n{}\n",
            roff(command).replace('"', "\\(dq"),
            roff(text)
        ));
    }
    out
}

/// SEE ALSO: the pages of the subcommands, or of the parent.
pub(super) fn see_also(name: &str, subs: &[&clap::Command]) -> String {
    let mut names: Vec<String> = subs
        .iter()
        .map(|s| format!("{name}-{}", s.get_name()))
        .collect();
    if let Some((parent, _)) = name.rsplit_once('-') {
        names.insert(0, parent.to_string());
    }
    if names.is_empty() {
        return String::new();
    }
    let refs: Vec<String> = names
        .iter()
        .map(|n| format!("\\fB{}\\fR(1)", roff(n)))
        .collect();
    format!(".SH \"SEE ALSO\"\n{}\n", refs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes_what_would_be_read_as_markup() {
        assert_eq!(roff("--full"), "\\-\\-full");
        assert_eq!(roff(".hidden"), "\\&.hidden");
        assert_eq!(roff("a\\b"), "a\\eb");
    }

    #[test]
    fn see_also_names_the_parent_of_a_command() {
        assert_eq!(
            see_also("reconcile-plan", &[]),
            ".SH \"SEE ALSO\"\n\\fBreconcile\\fR(1)\n"
        );
    }
}
