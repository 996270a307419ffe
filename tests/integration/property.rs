//! Properties: from any starting table and any sources, plan → apply → plan has no changes,
//! and the table then holds exactly the plan's `after` rows plus the rows the plan left
//! alone; with `owns_table` and `on_missing: delete`, exactly the `after` rows.

use std::fmt::Write as _;

use proptest::prelude::*;

use crate::common::Workspace;

const NAMES: &[&str] = &[
    "Casa Bella",
    "Casa Bella Dining",
    "Luma",
    "Luma Bar",
    "Shebeen",
    "Revue Bar",
    "Venue",
    "Barchefz",
    "Valley",
    "Mugg & Bean",
    "Mugg and Bean",
    "The Junction",
    "Junction",
];

fn record() -> impl Strategy<Value = (usize, Option<u8>)> {
    (0..NAMES.len(), proptest::option::of(0u8..6))
}

fn csv(records: &[(usize, Option<u8>)]) -> String {
    let mut s = String::from("name,email\n");
    for (n, e) in records {
        let email = e
            .map(|e| format!("contact{e}@example.com"))
            .unwrap_or_default();
        let _ = writeln!(s, "{},{}", NAMES[*n], email);
    }
    s
}

const SPEC: &str = r#"
version: 1
resource: things
target:
  table: things
  key: email
  fields:
    name: { type: text, required: true }
    email: { type: email }
sources:
  a: { file: a.csv, fields: { name: name, email: email } }
  b: { file: b.csv, fields: { name: name, email: email } }
match:
  compare:
    name: { method: name }
    email: { method: exact }
"#;

/// The same spec, owning the whole table and deleting what no source holds.
fn owning_spec() -> String {
    format!("{SPEC}on_missing: delete\nmax_delete: \"100%\"\n")
        .replace("  key: email\n", "  key: email\n  owns_table: true\n")
}

type Row = Vec<Option<String>>;

fn row_of(v: &serde_json::Value) -> Row {
    vec![
        v["name"].as_str().map(String::from),
        v["email"].as_str().map(String::from),
    ]
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort();
    rows
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    #[test]
    fn plan_apply_plan_is_empty(
        a in proptest::collection::vec(record(), 0..6),
        b in proptest::collection::vec(record(), 0..6),
        existing in proptest::collection::vec(record(), 0..5),
        owning in proptest::bool::ANY,
    ) {
        let ws = Workspace::empty();
        ws.write("specs/things.yaml", &if owning { owning_spec() } else { SPEC.to_string() });
        ws.write("specs/a.csv", &csv(&a));
        ws.write("specs/b.csv", &csv(&b));
        if !existing.is_empty() {
            let mut sql = String::from(
                "CREATE TABLE things (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT);",
            );
            for (n, e) in &existing {
                let email = e.map_or("NULL".to_string(), |e| format!("'contact{e}@example.com'"));
                let _ = write!(sql, "INSERT INTO things (name, email) VALUES ('{}', {email});", NAMES[*n]);
            }
            ws.execute(&sql);
        }
        let plan = ws.run(&["plan", "--json"]);
        if plan.stderr.contains("`target.key` (email) must be unique") {
            // Two golden records that the matcher keeps apart but that share an email: a plan
            // error, and nothing may be written.
            prop_assert_eq!(plan.code, 1);
            let refused = ws.run(&["apply", "--auto-approve"]);
            prop_assert_eq!(refused.code, 1, "{}", refused.stdout);
            let rows = if existing.is_empty() {
                Vec::new()
            } else {
                ws.query("SELECT name, email FROM things")
            };
            prop_assert_eq!(rows.len(), existing.len());
            return Ok(());
        }
        prop_assert_eq!(plan.code, 0, "{}", plan.stderr);
        let plan = plan.json();
        let applied = ws.run(&["apply", "--auto-approve"]);
        prop_assert_eq!(applied.code, 0, "{}", applied.stderr);
        let again = ws.run(&["plan", "--detailed-exitcode"]);
        prop_assert_eq!(again.code, 0, "second plan has changes:\n{}", again.stdout);

        // Every planned `after` row is in the table.
        let rows = ws.query("SELECT name, email FROM things");
        for c in plan["changes"].as_array().unwrap().iter().filter(|c| !c["after"].is_null()) {
            let want = vec![
                c["after"]["name"].as_str().map(String::from),
                c["after"]["email"].as_str().map(String::from),
            ];
            prop_assert!(rows.contains(&want), "{:?} not in {:?}", want, rows);
        }
        // No row was added beyond the plan's creates.
        let creates = plan["summary"]["create"].as_u64().unwrap() as usize;
        let deletes = plan["summary"]["delete"].as_u64().unwrap() as usize;
        prop_assert_eq!(rows.len(), existing.len() + creates - deletes);

        // Exactly: the rows before, less every row the plan touched, plus every `after`.
        let mut expected: Vec<Row> = existing
            .iter()
            .map(|(n, e)| vec![Some(NAMES[*n].to_string()), e.map(|e| format!("contact{e}@example.com"))])
            .collect();
        for c in plan["changes"].as_array().unwrap() {
            if !c["before"].is_null() {
                let before = row_of(&c["before"]);
                let at = expected.iter().position(|r| *r == before);
                prop_assert!(at.is_some(), "{:?} was not in the table", before);
                expected.remove(at.unwrap());
            }
            if !c["after"].is_null() {
                expected.push(row_of(&c["after"]));
            }
        }
        if owning {
            // Nothing but the plan's rows remain.
            prop_assert_eq!(plan["kept"].as_array().unwrap().len(), 0);
        }
        prop_assert_eq!(sorted(rows), sorted(expected));
    }
}

/// One source without `id:`: its records are named by their content.
const ONE_SOURCE: &str = r#"
version: 1
resource: things
target:
  table: things
  fields:
    name: { type: text, required: true }
    email: { type: email }
sources:
  a: { file: a.csv, fields: { name: name, email: email } }
match:
  compare:
    name: { method: name }
    email: { method: exact }
on_missing: delete
max_delete: "100%"
"#;

fn expected_rows(records: &[(usize, Option<u8>)]) -> Vec<Row> {
    sorted(
        records
            .iter()
            .map(|(n, e)| {
                vec![
                    Some(NAMES[*n].to_string()),
                    e.map(|e| format!("contact{e}@example.com")),
                ]
            })
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, .. ProptestConfig::default() })]

    /// A record's identity never depends on its place in the file: after an apply, any
    /// reordering of the rows plans no change, and deleting k rows deletes exactly k rows
    /// and changes nothing else. Identical rows are allowed (they are interchangeable).
    #[test]
    fn records_without_id_survive_reordering_and_deletion(
        (records, order, drop) in proptest::collection::vec(record(), 1..12).prop_flat_map(|records| {
            let n = records.len();
            (
                Just(records),
                Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
                proptest::collection::vec(proptest::bool::weighted(0.3), n),
            )
        }),
    ) {
        let ws = Workspace::empty();
        ws.write("specs/things.yaml", ONE_SOURCE);
        ws.write("specs/a.csv", &csv(&records));
        let applied = ws.run(&["apply", "--auto-approve"]);
        prop_assert_eq!(applied.code, 0, "{}", applied.stderr);

        let shuffled: Vec<(usize, Option<u8>)> = order.iter().map(|&i| records[i]).collect();
        ws.write("specs/a.csv", &csv(&shuffled));
        let again = ws.run(&["plan", "--detailed-exitcode"]);
        prop_assert_eq!(again.code, 0, "reordering planned changes:\n{}{}", again.stdout, again.stderr);

        // Delete k rows of the shuffled file, keeping at least one (an emptied source is
        // refused on purpose).
        let mut kept: Vec<(usize, Option<u8>)> = shuffled
            .iter()
            .zip(&drop)
            .filter(|(_, d)| !**d)
            .map(|(r, _)| *r)
            .collect();
        if kept.is_empty() {
            kept.push(shuffled[0]);
        }
        let k = shuffled.len() - kept.len();
        ws.write("specs/a.csv", &csv(&kept));
        let plan = ws.run(&["plan", "--json"]);
        prop_assert_eq!(plan.code, 0, "{}", plan.stderr);
        let plan = plan.json();
        prop_assert_eq!(plan["summary"]["delete"].as_u64(), Some(k as u64), "{}", plan);
        prop_assert_eq!(plan["summary"]["create"].as_u64(), Some(0), "{}", plan);
        prop_assert_eq!(plan["summary"]["update"].as_u64(), Some(0), "{}", plan);
        let applied = ws.run(&["apply", "--auto-approve"]);
        prop_assert_eq!(applied.code, 0, "{}", applied.stderr);
        prop_assert_eq!(
            sorted(ws.query("SELECT name, email FROM things")),
            expected_rows(&kept)
        );
    }
}
