//! Bad input gets a clear error naming where the problem is, and nothing is written.

use crate::common::Workspace;

/// Applies the seed, breaks something, and checks that `apply` fails with `expect` in its
/// message while the table stays as it was.
fn fails_and_writes_nothing(ws: &Workspace, expect: &[&str]) -> String {
    let before = ws.query("SELECT * FROM customers ORDER BY id");
    let run = ws.run(&["apply", "--auto-approve"]).fails();
    for e in expect {
        assert!(run.stderr.contains(e), "expected {e:?} in:\n{}", run.stderr);
    }
    assert_eq!(
        before,
        ws.query("SELECT * FROM customers ORDER BY id"),
        "the table changed"
    );
    run.stderr
}

fn applied() -> Workspace {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "examples/customers/production_seeding.json",
        "suncity@maltos.co.za",
        "orders@maltos.co.za",
    );
    ws
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "  table: customers\n",
        "  table: [customers\n",
    );
    fails_and_writes_nothing(&ws, &["customers.yaml:", "invalid YAML"]);
}

#[test]
fn unknown_key_suggests_the_nearest() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "  threshold: 0.85",
        "  threshhold: 0.85",
    );
    let err = fails_and_writes_nothing(
        &ws,
        &["unknown key `threshhold`", "did you mean `threshold`?"],
    );
    let line = ws
        .read("specs/customers.yaml")
        .lines()
        .position(|l| l.contains("threshhold"))
        .unwrap()
        + 1;
    assert!(
        err.contains("error: match.threshhold: unknown key `threshhold`"),
        "{err}"
    );
    assert!(err.contains(&format!("customers.yaml:{line}:3\n")), "{err}");
}

#[test]
fn wrong_type_says_what_was_expected() {
    let ws = applied();
    ws.edit("specs/customers.yaml", "threshold: 0.85", "threshold: high");
    fails_and_writes_nothing(
        &ws,
        &["match.threshold", "expected a number, found \"high\""],
    );
}

#[test]
fn unknown_field_type_suggests_a_valid_one() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "{ type: phone, region: ZA }",
        "{ type: phon, region: ZA }",
    );
    fails_and_writes_nothing(&ws, &["target.fields.phone.type", "did you mean `phone`?"]);
}

#[test]
fn several_problems_are_reported_together() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "priority: [production, import]",
        "priority: [prodution, import]",
    );
    ws.edit(
        "specs/customers.yaml",
        "      kind: Type\n",
        "      knd: Type\n",
    );
    let err = fails_and_writes_nothing(&ws, &["2 problems"]);
    assert!(
        err.contains("`prodution` is not a declared source"),
        "{err}"
    );
    assert!(err.contains("did you mean `production`?"), "{err}");
    assert!(err.contains("`knd` is not a field of the target"), "{err}");
    assert!(err.contains("did you mean `kind`?"), "{err}");
}

#[test]
fn missing_source_file_is_named() {
    let ws = applied();
    std::fs::remove_file(ws.path("examples/customers/import_customers.csv")).unwrap();
    fails_and_writes_nothing(
        &ws,
        &[
            "source `import`",
            "import_customers.csv",
            "cannot read the file",
        ],
    );
}

#[test]
fn ragged_csv_row_is_named() {
    let ws = applied();
    ws.edit(
        "examples/customers/import_customers.csv",
        "Debonair Pizza,Store Manager,",
        "Debonair Pizza,Store Manager,extra,",
    );
    fails_and_writes_nothing(
        &ws,
        &[
            "source `import`",
            "line 6",
            "this row has 6 fields, the header has 5",
        ],
    );
}

/// In strict mode (here from the spec), invalid values are errors, every one named at once.
#[test]
fn bad_values_name_their_rows_all_at_once() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "resource: customers\n",
        "resource: customers\ninvalid: error\n",
    );
    ws.edit(
        "examples/customers/import_customers.csv",
        "orders@muggandbean.co.za",
        "not-an-email",
    );
    ws.edit(
        "examples/customers/import_customers.csv",
        "+27 11 555 0005",
        "12",
    );
    let err = fails_and_writes_nothing(&ws, &["2 invalid values in the sources (strict mode)"]);
    assert!(
        err.contains(
            "line 2 (id f4c9c7141b9f): field `email`: \"not-an-email\" is not an email address"
        ),
        "{err}"
    );
    assert!(
        err.contains("line 6 (id 6450f36da7fd): field `phone`"),
        "{err}"
    );
}

#[test]
fn invalid_identifier_is_refused_before_any_sql() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "  table: customers\n",
        "  table: \"customers; DROP TABLE x\"\n",
    );
    fails_and_writes_nothing(&ws, &["target.table", "is not a valid table name"]);
}

#[test]
fn missing_primary_key_in_an_existing_table_is_a_clear_error() {
    let ws = applied();
    ws.edit(
        "specs/customers.yaml",
        "  key: email",
        "  primary_key: customer_no\n  key: email",
    );
    fails_and_writes_nothing(
        &ws,
        &["has no column customer_no (primary key)", "`primary_key:`"],
    );
}

#[test]
fn no_spec_found_says_how_to_point_at_one() {
    let ws = Workspace::empty();
    let run = ws.run(&["plan"]).fails();
    assert!(
        run.stderr.contains("cannot read spec specs"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("-f PATH"), "{}", run.stderr);
}

#[test]
fn unknown_database_scheme_is_explained() {
    let ws = Workspace::seed();
    let run = ws
        .run(&["plan", "--database", "oracle://scott:tiger@db/x"])
        .fails();
    assert!(
        run.stderr.contains("unknown database URL scheme"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("tiger"),
        "passwords never show: {}",
        run.stderr
    );
}
