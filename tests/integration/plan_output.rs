//! The plan for people: the summary first, changes grouped by action, long plans shortened
//! (with `--full` to see everything), long text diffed line by line, colour only when wanted.

use std::fmt::Write as _;

use crate::common::Workspace;

/// A workspace whose spec reads `n` customers from a CSV file; every 1000th is private.
fn customers(n: usize) -> Workspace {
    let ws = Workspace::empty();
    let mut csv = String::from("id,name,email,kind\n");
    for i in 0..n {
        let kind = if i % 1000 == 999 {
            "private"
        } else {
            "business"
        };
        let _ = writeln!(csv, "{i},Customer {i:06},c{i}@example.com,{kind}");
    }
    ws.write("specs/customers.csv", &csv);
    ws.write(
        "specs/customers.yaml",
        "version: 1\nresource: customers\ntarget:\n  table: customers\n  fields:\n    \
         name: { type: text, required: true }\n    email: { type: email }\n    kind: { type: text }\n\
         sources:\n  crm:\n    file: customers.csv\n    id: id\n    fields: { name: name, email: email, kind: kind }\n\
         exclude:\n  - name: private customers\n    when: { field: kind, equals: private }\n",
    );
    ws
}

#[test]
fn a_plan_of_100k_rows_fits_on_a_screen() {
    let ws = customers(100_000);
    let run = ws.run(&["plan"]).ok();
    let lines = run.stdout.lines().count();
    assert!(lines < 120, "{lines} lines:\n{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("reconcile will perform the following actions on table customers:\n\nPlan: 99,900 to add, 0 to change, 0 to destroy. (100 excluded)\n"),
        "the summary comes first:\n{}",
        run.stdout
    );
    insta::assert_snapshot!("plan_100k", run.stdout);
}

#[test]
fn full_shows_every_change_and_updates_say_which_fields_change() {
    let ws = customers(60);
    let short = ws.run(&["plan"]).ok();
    assert_eq!(short.stdout.matches("\"] will be created").count(), 10);
    assert!(
        short
            .stdout
            .contains("... and 50 more to add (`--full` shows them all"),
        "{}",
        short.stdout
    );
    let full = ws.run(&["plan", "--full"]).ok();
    assert_eq!(full.stdout.matches("\"] will be created").count(), 60);
    assert!(!full.stdout.contains("more to add"), "{}", full.stdout);

    ws.run(&["apply", "--auto-approve"]).ok();
    let csv = ws
        .read("specs/customers.csv")
        .replace("@example.com", "@example.org");
    ws.write("specs/customers.csv", &csv);
    let run = ws.run(&["plan"]).ok();
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 60 to change, 0 to destroy."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  Fields changed: email (60)\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("# (2 unchanged fields hidden)"),
        "{}",
        run.stdout
    );
}

#[test]
fn long_text_is_diffed_line_by_line() {
    let ws = Workspace::empty();
    let spec = |notes: &str| {
        format!(
            "version: 1\nresource: venues\ntarget:\n  table: venues\n  fields:\n    name: {{ type: text }}\n    notes: {{ type: text, multiline: true }}\n\
             sources:\n  crm:\n    id: id\n    fields: {{ name: name, notes: notes }}\n    inline:\n      - id: 1\n        name: Leopard Lodge\n        notes: |\n{notes}"
        )
    };
    let before: String = (1..=12)
        .map(|i| format!("          Line {i} of the delivery notes.\n"))
        .collect();
    ws.write("specs/venues.yaml", &spec(&before));
    let created = ws.run(&["plan"]).ok();
    assert!(
        created.stdout.contains("+ notes = <<-EOT"),
        "{}",
        created.stdout
    );
    ws.run(&["apply", "--auto-approve"]).ok();

    let after = before
        .replace("Line 3 of", "Line three of")
        .replace("Line 10 of the delivery notes.\n", "");
    ws.write("specs/venues.yaml", &spec(&after));
    let run = ws.run(&["plan"]).ok();
    insta::assert_snapshot!("plan_text_diff", run.stdout);
    assert!(
        run.stdout.contains("- Line 3 of the delivery notes."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+ Line three of the delivery notes."),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("Line 6 of"),
        "far-away lines are hidden: {}",
        run.stdout
    );
}

#[test]
fn colour_only_when_wanted_and_never_with_no_color() {
    let ws = Workspace::seed();
    let plain = ws.run(&["plan"]).ok();
    assert!(!plain.stdout.contains('\u{1b}'), "a pipe gets no colour");
    let forced = ws
        .run_with_env(
            &["plan"],
            &[("NO_COLOR", None), ("CLICOLOR_FORCE", Some("1"))],
        )
        .ok();
    assert!(forced.stdout.contains("\u{1b}["), "{}", forced.stdout);
    let refused = ws
        .run_with_env(
            &["plan"],
            &[("NO_COLOR", Some("1")), ("CLICOLOR_FORCE", Some("1"))],
        )
        .ok();
    assert!(!refused.stdout.contains('\u{1b}'), "NO_COLOR wins");

    ws.edit("specs/customers.yaml", "threshold: 0.85", "threshold: high");
    let forced = ws.run_with_env(
        &["plan"],
        &[("NO_COLOR", None), ("CLICOLOR_FORCE", Some("1"))],
    );
    assert!(forced.stderr.contains("\u{1b}["), "{}", forced.stderr);
    let plain = ws.run(&["plan"]).fails();
    assert!(!plain.stderr.contains('\u{1b}'), "{}", plain.stderr);
}

#[test]
fn the_html_report_is_one_file_that_loads_nothing() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan", "--html", "report.html"]).ok();
    assert!(
        run.stdout.contains("Plan: 17 to add"),
        "the text plan still prints"
    );
    let html = ws.read("report.html");
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none';"));
    for outside in ["http://", "https://", " src=", "<link", "@import", "url("] {
        assert!(!html.contains(outside), "the report refers to {outside:?}");
    }
    assert!(html.contains("data-kind=\"create\" data-count=\"17\""));
    assert!(html.contains("data-kind=\"excluded\" data-count=\"3\""));
    assert!(html.contains("private customers"));
    // Each of the five similar names is a cluster of two, with its scores.
    assert!(html.matches("class=\"link\"").count() >= 5);
    assert!(html.contains("<table class=\"terms\">"));
}
