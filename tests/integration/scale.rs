//! Correctness at scale, at a size that runs in seconds: generated sources (the benchmark's
//! generator, same seed) go through plan → apply → plan, and the plan does not depend on how
//! many threads matched it.

use crate::common::Workspace;

#[allow(dead_code)]
#[path = "../../examples/generate.rs"]
mod generate;

const RECORDS: usize = 2_500;

fn generated() -> Workspace {
    let ws = Workspace::empty();
    generate::write(RECORDS, 7, 0.7, ws.dir.path()).expect("write generated sources");
    ws
}

#[test]
fn generated_sources_plan_apply_then_plan_is_empty() {
    let ws = generated();
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    let creates = plan["summary"]["create"].as_u64().expect("a count");
    // Most of b's records are a's again, so there are far fewer golden records than rows.
    assert!(
        creates > RECORDS as u64 && creates < 2 * RECORDS as u64,
        "{creates}"
    );

    ws.run(&["apply", "-f", "spec.yaml", "--auto-approve"]).ok();
    let rows = crate::common::query(&ws.path("reconcile.db"), "SELECT COUNT(*) FROM businesses");
    assert_eq!(rows[0][0].as_deref(), Some(creates.to_string().as_str()));

    let again = ws.run(&["plan", "-f", "spec.yaml", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
}

#[test]
fn plan_is_the_same_on_one_thread_and_on_several() {
    let ws = generated();
    let on = |threads: &str| {
        ws.run_with_env(
            &["plan", "-f", "spec.yaml", "--json"],
            &[("RAYON_NUM_THREADS", Some(threads))],
        )
        .ok()
        .stdout
    };
    let one = on("1");
    assert!(one.contains("\"create\""), "{one}");
    assert_eq!(one, on("3"));
}

#[test]
fn a_saved_plan_at_scale_holds_only_what_writes_and_round_trips() {
    let ws = generated();
    ws.run(&["apply", "-f", "spec.yaml", "--auto-approve"]).ok();
    let db = ws.path("reconcile.db");
    let total: usize = crate::common::query(&db, "SELECT COUNT(*) FROM businesses")[0][0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    // Rows edited outside reconcile (drift): each a different field, so apply batches
    // updates of different columns.
    crate::common::execute(&db, "UPDATE businesses SET city = 'Nowhere' WHERE id = 10");
    crate::common::execute(
        &db,
        "UPDATE businesses SET city = 'Elsewhere' WHERE id = 20",
    );
    crate::common::execute(&db, "UPDATE businesses SET name = 'Someone' WHERE id = 30");

    ws.run(&["plan", "-f", "spec.yaml", "--out", "plan.json"])
        .ok();
    let saved: serde_json::Value =
        serde_json::from_str(ws.read("plan.json").lines().next().unwrap()).unwrap();
    assert_eq!(saved["format_version"], "6");
    let saved = &saved["resources"][0];
    assert_eq!(saved["summary"]["update"], 3);
    assert_eq!(saved["summary"]["no_op"], total - 3);
    let changes = saved["plan"]["changes"].as_array().unwrap();
    assert_eq!(
        changes.len(),
        3,
        "records already up to date are kept apart"
    );
    assert!(changes.iter().all(|c| c["action"] == "update"));
    // On the file's second line, which only `show` reads.
    let up_to_date: serde_json::Value =
        serde_json::from_str(ws.read("plan.json").lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        up_to_date["resources"][0].as_array().unwrap().len(),
        total - 3
    );
    // The plan keeps the prints of what its writes rest on: 3 rows and their 3 entries.
    assert_eq!(saved["plan"]["read"].as_array().unwrap().len(), 6);
    assert!(saved["plan"]["decided"].is_object(), "{}", saved["plan"]);
    assert!(total > 1000);

    // A row the plan writes changes: the stale check names it and its field.
    let name = crate::common::query(
        &db,
        "SELECT address FROM reconcile_state WHERE row_key = '30'",
    )[0][0]
        .clone()
        .unwrap();
    crate::common::execute(
        &db,
        "UPDATE businesses SET phone = '+27110000000' WHERE id = 30",
    );
    let run = ws.run(&["apply", "plan.json"]).fails();
    assert!(
        run.stderr.contains(&format!(
            "1 row changed since the plan: businesses[\"{name}\"] phone"
        )),
        "{}",
        run.stderr
    );
    crate::common::execute(
        &db,
        "UPDATE businesses SET phone = '+27110000000' WHERE id = 40",
    );

    ws.run(&["plan", "-f", "spec.yaml", "--out", "plan.json"])
        .ok();
    let run = ws.run(&["apply", "plan.json"]).ok();
    assert!(run.stdout.contains("0 added, 4 changed"), "{}", run.stdout);
    let cities = crate::common::query(
        &db,
        "SELECT COUNT(*) FROM businesses WHERE city IN ('Nowhere', 'Elsewhere') OR name = 'Someone' OR phone = '+27110000000'",
    );
    assert_eq!(cities[0][0].as_deref(), Some("0"));
    let again = ws.run(&["plan", "-f", "spec.yaml", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[test]
fn a_saved_plan_of_another_format_version_is_refused_clearly() {
    let ws = generated();
    ws.run(&["plan", "-f", "spec.yaml", "--out", "plan.json"])
        .ok();
    ws.edit(
        "plan.json",
        "\"format_version\":\"6\"",
        "\"format_version\":\"5\"",
    );
    let run = ws.run(&["apply", "plan.json"]).fails();
    assert!(
        run.stderr
            .contains("is a saved plan of format version 5; this reconcile reads version 6"),
        "{}",
        run.stderr
    );
    assert!(!ws.path("reconcile.db").exists());
}

/// An application table of 45,000 rows, three of them found by key from the spec's records:
/// SQLite tables are read in chunks, and a row beyond the first chunk must be found as surely
/// as one in it. `without_rowid` makes a table SQLite cannot read in chunks (it is read a row
/// at a time); both must give the same plan.
fn adopt_from_a_large_table(without_rowid: bool) -> serde_json::Value {
    let ws = Workspace::empty();
    ws.write(
        "spec.yaml",
        r#"
version: 1
resource: people
target:
  table: people
  key: email
  fields:
    name: { type: text, required: true }
    email: { type: email }
sources:
  s:
    inline:
      - { name: First, email: p1@example.com }
      - { name: Middle, email: p30000@example.com }
      - { name: Last, email: p44999@example.com }
      - { name: New, email: new@example.com }
    fields: { name: name, email: email }
"#,
    );
    let db = ws.path("reconcile.db");
    crate::common::execute(
        &db,
        &format!(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT){};
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 44999)
             INSERT INTO people (id, name, email) SELECT i + 1, 'P' || i, 'p' || i || '@example.com' FROM n;",
            if without_rowid { " WITHOUT ROWID" } else { "" }
        ),
    );
    ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json()
}

#[test]
fn rows_in_every_chunk_of_a_large_sqlite_table_are_found() {
    for without_rowid in [false, true] {
        let plan = adopt_from_a_large_table(without_rowid);
        let s = &plan["summary"];
        assert_eq!(
            (s["create"].as_u64(), s["update"].as_u64()),
            (Some(1), Some(3)),
            "without rowid: {without_rowid}: {s}"
        );
        // Each record is paired with its own row, read back as it is stored.
        let mut adopted: Vec<(String, String)> = plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["reason"] == "adopt_by_key")
            .map(|c| {
                (
                    c["after"]["name"].as_str().unwrap().to_string(),
                    c["before"]["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        adopted.sort();
        assert_eq!(
            adopted,
            [("First", "P1"), ("Last", "P44999"), ("Middle", "P30000")]
                .map(|(a, b)| (a.to_string(), b.to_string())),
            "without rowid: {without_rowid}"
        );
    }
}

/// 25,000 managed rows: their state entries span two of the chunks SQLite state is read in.
/// After an apply the plan is quick and counts every record up to date without listing them,
/// `--json` lists them all, `--refresh` agrees, and a row changed outside reconcile in the
/// last chunk is seen.
#[test]
fn state_entries_in_every_chunk_are_read_and_checked() {
    const N: usize = 25_000;
    let ws = Workspace::empty();
    let mut csv = String::from("id,name,email\n");
    for i in 0..N {
        csv.push_str(&format!("{i},Customer {i:05},c{i}@example.com\n"));
    }
    ws.write("people.csv", &csv);
    ws.write(
        "spec.yaml",
        r#"version: 1
resource: people
target:
  table: people
  fields:
    name: { type: text, required: true }
    email: { type: email }
sources:
  s: { file: people.csv, id: id, fields: { name: name, email: email } }
"#,
    );
    ws.run(&["apply", "-f", "spec.yaml", "--auto-approve"]).ok();
    let db = ws.path("reconcile.db");
    let entries = crate::common::query(&db, "SELECT COUNT(*) FROM reconcile_state");
    assert_eq!(entries[0][0].as_deref(), Some(N.to_string().as_str()));

    let quick = ws.run(&["plan", "-f", "spec.yaml"]).ok().stdout;
    assert!(quick.contains("unchanged since the last apply"), "{quick}");
    assert!(quick.contains("25,000 records up to date"), "{quick}");
    let listed = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert!(listed["shortcut"].is_object(), "the JSON plan is quick too");
    assert_eq!(listed["summary"]["no_op"], N);
    assert_eq!(listed["changes"].as_array().unwrap().len(), N);
    let full = ws
        .run(&["plan", "-f", "spec.yaml", "--json", "--refresh"])
        .ok()
        .json();
    assert_eq!(full["summary"]["no_op"], N, "{}", full["summary"]);
    assert_eq!(full["summary"]["create"], 0, "{}", full["summary"]);

    // The entry last in address order is read in the second chunk.
    let last = crate::common::query(
        &db,
        "SELECT row_key FROM reconcile_state ORDER BY address DESC LIMIT 1",
    )[0][0]
        .clone()
        .unwrap();
    crate::common::execute(
        &db,
        &format!("UPDATE people SET name = 'Someone' WHERE id = {last}"),
    );
    let run = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert!(
        run.get("shortcut").is_none(),
        "a changed row reads the sources"
    );
    assert_eq!(run["summary"]["update"], 1, "{}", run["summary"]);
}

#[test]
fn matching_past_its_memory_budget_plans_what_matching_in_memory_plans() {
    let ws = generated();
    let plan = |memory: Option<&str>, threads: &str| {
        let mut args = vec!["plan", "-f", "spec.yaml", "--json"];
        if let Some(m) = memory {
            args.extend(["--match-memory", m]);
        }
        ws.run_with_env(&args, &[("RAYON_NUM_THREADS", Some(threads))])
            .ok()
            .stdout
    };
    let in_memory = plan(None, "2");
    assert!(in_memory.contains("\"create\""), "{in_memory}");
    for (memory, threads) in [("64KiB", "1"), ("64KiB", "3"), ("1MiB", "2")] {
        assert_eq!(
            plan(Some(memory), threads),
            in_memory,
            "{memory} on {threads}"
        );
    }

    // The summary says that matching ran in partitions, and how.
    let explained = ws
        .run(&["explain", "-f", "spec.yaml", "--match-memory", "64KiB"])
        .ok()
        .stdout;
    assert!(explained.contains("in partitions"), "{explained}");
    assert!(explained.contains("64 KiB"), "{explained}");
    let json = ws
        .run(&[
            "explain",
            "-f",
            "spec.yaml",
            "--json",
            "--match-memory",
            "64KiB",
        ])
        .ok()
        .json();
    assert!(
        json["partitioned"]["partitions"].as_u64().unwrap() > 1,
        "{json}"
    );
    let whole = ws
        .run(&["explain", "-f", "spec.yaml", "--json"])
        .ok()
        .json();
    assert!(whole.get("partitioned").is_none(), "{whole}");
    assert_eq!(json["links"], whole["links"]);

    // A budget that is not a size is refused, naming the flag's form.
    let bad = ws.run(&["plan", "-f", "spec.yaml", "--match-memory", "lots"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("512MiB"), "{}", bad.stderr);
}

#[test]
fn a_spec_sets_the_matching_memory_and_a_wrong_size_names_its_line() {
    let ws = generated();
    let spec = ws.read("spec.yaml");
    let with =
        |memory: &str| spec.replacen("match:\n", &format!("match:\n  memory: {memory}\n"), 1);
    assert_ne!(
        with("1KiB"),
        spec,
        "the generated spec has a `match:` section"
    );
    ws.write("small.yaml", &with("64KiB"));
    let json = ws
        .run(&["explain", "-f", "small.yaml", "--json"])
        .ok()
        .json();
    assert!(json["partitioned"].is_object(), "{json}");

    ws.write("wrong.yaml", &with("lots of it"));
    let bad = ws.run(&["validate", "-f", "wrong.yaml"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("match.memory") || bad.stderr.contains("memory"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("4GiB"), "{}", bad.stderr);
    assert!(bad.stderr.contains("wrong.yaml:"), "{}", bad.stderr);
}
