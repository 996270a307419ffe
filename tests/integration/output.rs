//! Output for CI and for people: `--format text|json|markdown`, Markdown for a pull-request
//! comment (counts, changes field by field, values escaped and masked, long plans cut),
//! `apply` taking the output flags `plan` takes, and `--no-color`.

use std::fmt::Write as _;

use crate::common::Workspace;
use crate::multi::{on_folder, seeding};

#[test]
fn markdown_of_one_spec_has_the_counts_and_every_change() {
    let ws = Workspace::seed();
    let run = ws.run(&["plan", "--format", "markdown"]).ok();
    assert!(
        run.stdout.contains(
            "| resource | create | update | delete | no-op | excluded | review | invalid |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n\
             | `customers` | 17 | 0 | 0 | 0 | 3 | 0 | 0 |\n"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('\u{1b}'));
    insta::assert_snapshot!("markdown_seed", run.stdout);

    // Updates field by field, with the reason.
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "examples/customers/production_seeding.json",
        "suncity@maltos.co.za",
        "orders@maltos.co.za",
    );
    ws.execute("UPDATE customers SET contact_person = 'Someone' WHERE name = 'Revue Bar'");
    let run = ws.run(&["plan", "--format", "markdown"]).ok();
    insta::assert_snapshot!("markdown_seed_updates", run.stdout);
    assert!(
        run.stdout.contains(
            "| `customers[\"maltos-sun-city\"]`<br>*the sources changed* | email | \
             `\"suncity@maltos.co.za\"` | `\"orders@maltos.co.za\"` |"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn markdown_of_a_folder_has_a_row_per_resource_and_a_part_each() {
    let ws = Workspace::seed();
    seeding(&ws);
    let run = on_folder(&ws, &["plan", "--format", "markdown"]).ok();
    assert!(
        run.stdout.contains(
            "| `customers` | 17 | 0 | 0 | 0 | 3 | 0 | 0 |\n\
             | `branches` | 5 | 0 | 0 | 0 | 0 | 0 | 0 |\n\
             | **all** | 22 | 0 | 0 | 0 | 3 | 0 | 0 |\n"
        ),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("markdown_folder", run.stdout);
}

#[test]
fn markdown_escapes_values_masks_sensitive_ones_and_cuts_long_plans() {
    let ws = Workspace::empty();
    let mut csv = String::from("id,name,secret\n");
    for i in 0..60 {
        let _ = writeln!(
            csv,
            "{i},\"Pipe | *bold* <b>x</b> @team `tick` {i}\",s3cr3t-{i}"
        );
    }
    ws.write("specs/people.csv", &csv);
    ws.write(
        "specs/people.yaml",
        "version: 1\nresource: people\ntarget:\n  table: people\n  fields:\n    \
         name: { type: text }\n    secret: { type: text, sensitive: true }\n\
         sources:\n  s:\n    file: people.csv\n    id: id\n    fields: { name: name, secret: secret }\n",
    );
    let run = ws.run(&["plan", "--format", "markdown"]).ok();
    let md = &run.stdout;
    assert!(!md.contains("s3cr3t"), "{md}");
    assert!(md.contains("`(sensitive value)`"), "{md}");
    // Values are code spans whose pipes are escaped, and whose backticks need a longer fence.
    assert!(
        md.contains(r#"`` "Pipe \| *bold* <b>x</b> @team `tick` 0" ``"#),
        "{md}"
    );
    for line in md.lines().filter(|l| l.starts_with("| `people[")) {
        // Every row of the table has as many cells as its head: no pipe breaks out.
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 5, "{line}");
    }
    assert_eq!(md.matches("| `people[").count(), 10, "{md}");
    assert!(
        md.contains("*… and 50 more to add (`--full` shows them all)*"),
        "{md}"
    );
    let full = ws.run(&["plan", "--format", "markdown", "--full"]).ok();
    assert_eq!(full.stdout.matches("| `people[").count(), 60);
}

#[test]
fn format_json_is_json_and_full_does_not_go_with_it() {
    let ws = Workspace::seed();
    let json = ws.run(&["plan", "--json"]).ok().stdout;
    assert_eq!(ws.run(&["plan", "--format", "json"]).ok().stdout, json);
    assert_eq!(
        ws.run(&["plan", "--format", "text"]).ok().stdout,
        ws.run(&["plan"]).ok().stdout
    );
    let run = ws.run(&["plan", "--format", "json", "--full"]).fails();
    assert!(
        run.stderr.contains("--full does not go with --format json"),
        "{}",
        run.stderr
    );
    let run = ws
        .run(&["plan", "--format", "markdown", "--explain"])
        .fails();
    assert!(
        run.stderr.contains("--explain prints text"),
        "{}",
        run.stderr
    );
    let run = ws.run(&["plan", "--format", "yaml"]).fails();
    assert!(run.stderr.contains("markdown"), "{}", run.stderr);
}

/// The workspace of `plan_output`: `n` customers from a CSV file.
fn customers(n: usize) -> Workspace {
    let ws = Workspace::empty();
    let mut csv = String::from("id,name,email\n");
    for i in 0..n {
        let _ = writeln!(csv, "{i},Customer {i:06},c{i}@example.com");
    }
    ws.write("specs/customers.csv", &csv);
    ws.write(
        "specs/customers.yaml",
        "version: 1\nresource: customers\ntarget:\n  table: customers\n  fields:\n    \
         name: { type: text, required: true }\n    email: { type: email }\n\
         sources:\n  crm:\n    file: customers.csv\n    id: id\n    fields: { name: name, email: email }\n",
    );
    ws
}

#[test]
fn apply_takes_full_and_html_as_plan_does() {
    let ws = customers(60);
    let run = ws
        .run(&["apply", "--auto-approve", "--full", "--html", "report.html"])
        .ok();
    assert_eq!(run.stdout.matches("\"] will be created").count(), 60);
    assert!(!run.stdout.contains("more to add"), "{}", run.stdout);
    assert!(run.stdout.contains("60 added"), "{}", run.stdout);
    assert!(
        run.stderr.contains("Wrote the report to report.html."),
        "{}",
        run.stderr
    );
    assert!(
        ws.read("report.html")
            .contains("data-kind=\"create\" data-count=\"60\"")
    );

    // A saved plan: --full shows it whole; --html is refused, saying where a report comes from.
    let csv = ws
        .read("specs/customers.csv")
        .replace("@example.com", "@example.org");
    ws.write("specs/customers.csv", &csv);
    ws.run(&["plan", "--out", "plan.json"]).ok();
    let run = ws.run(&["apply", "plan.json", "--html", "r.html"]).fails();
    assert!(
        run.stderr.contains("plan --out FILE --html REPORT"),
        "{}",
        run.stderr
    );
    let run = ws.run(&["apply", "plan.json", "--full"]).ok();
    assert_eq!(
        run.stdout.matches("\"] will be updated in-place").count(),
        60
    );
    assert!(run.stdout.contains("60 changed"), "{}", run.stdout);
}

#[test]
fn apply_json_prints_the_plan_and_what_was_applied() {
    let ws = Workspace::seed();
    let run = ws.run(&["apply", "--json"]).fails();
    assert!(
        run.stderr.contains("cannot ask for confirmation"),
        "{}",
        run.stderr
    );
    assert_eq!(
        ws.run(&["plan", "--json"]).ok().json()["summary"]["create"],
        17
    );

    ws.run(&["plan", "--out", "plan.json"]).ok();
    let plan = ws.run(&["show", "plan.json", "--json"]).ok().json();
    let run = ws.run(&["apply", "plan.json", "--json"]).ok();
    let doc = run.json();
    assert_eq!(doc["plan"], plan, "the plan as `plan --json` printed it");
    assert_eq!(
        doc["applied"],
        serde_json::json!({"created": 17, "updated": 0, "deleted": 0})
    );
    // With records up to date, listed as `show` lists them.
    ws.edit(
        "examples/customers/production_seeding.json",
        "suncity@maltos.co.za",
        "orders@maltos.co.za",
    );
    ws.run(&["plan", "--out", "plan.json"]).ok();
    let plan = ws.run(&["show", "plan.json", "--json"]).ok().json();
    assert_eq!(plan["changes"].as_array().map(Vec::len), Some(17));
    let doc = ws.run(&["apply", "plan.json", "--json"]).ok().json();
    assert_eq!(doc["plan"], plan);
    assert_eq!(doc["applied"]["updated"], 1);
    // Nothing to do: the counts are zero.
    let doc = ws.run(&["apply", "--json", "--auto-approve"]).ok().json();
    assert_eq!(doc["applied"]["created"], 0);
    assert_eq!(doc["plan"]["summary"]["no_op"], 17);
}

#[test]
fn no_color_wins_over_a_forced_colour() {
    let ws = Workspace::seed();
    let forced = [("NO_COLOR", None), ("CLICOLOR_FORCE", Some("1"))];
    let coloured = ws.run_with_env(&["plan"], &forced).ok();
    assert!(coloured.stdout.contains("\u{1b}["), "{}", coloured.stdout);
    let plain = ws.run_with_env(&["plan", "--no-color"], &forced).ok();
    assert!(!plain.stdout.contains('\u{1b}'), "{}", plain.stdout);
    assert_eq!(plain.stdout, ws.run(&["plan"]).ok().stdout);
    // A global flag: before the command too, and for errors on stderr.
    ws.edit("specs/customers.yaml", "threshold: 0.85", "threshold: high");
    let coloured = ws.run_with_env(&["validate"], &forced).fails();
    assert!(coloured.stderr.contains("\u{1b}["), "{}", coloured.stderr);
    let plain = ws
        .run_with_env(&["--no-color", "validate"], &forced)
        .fails();
    assert!(!plain.stderr.contains('\u{1b}'), "{}", plain.stderr);
}
