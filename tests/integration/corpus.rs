//! A corpus of bad inputs. Each one, applied on top of the applied seed, must fail with exit
//! code 1 and a clear message (never a panic), and leave the table and the state table
//! exactly as they were.

use crate::common::Workspace;

const SPEC: &str = "specs/customers.yaml";
const PRODUCTION: &str = "examples/customers/production_seeding.json";
const IMPORT: &str = "examples/customers/import_customers.csv";

/// A bad input: how to break the applied seed, extra arguments, and what stderr must say.
struct Case {
    name: &'static str,
    breaks: Box<dyn Fn(&Workspace)>,
    args: &'static [&'static str],
    expect: &'static [&'static str],
}

fn edit(file: &'static str, from: &'static str, to: &'static str) -> Box<dyn Fn(&Workspace)> {
    Box::new(move |ws: &Workspace| ws.edit(file, from, to))
}

fn write_bytes(file: &'static str, bytes: Vec<u8>) -> Box<dyn Fn(&Workspace)> {
    Box::new(move |ws: &Workspace| std::fs::write(ws.path(file), &bytes).unwrap())
}

fn case(
    name: &'static str,
    breaks: Box<dyn Fn(&Workspace)>,
    expect: &'static [&'static str],
) -> Case {
    Case {
        name,
        breaks,
        args: &[],
        expect,
    }
}

fn cases() -> Vec<Case> {
    let huge_name = "x".repeat(100_000);
    let huge_phone = "9".repeat(50_000);
    vec![
        // The spec: YAML.
        case(
            "unclosed flow sequence",
            edit(SPEC, "  table: customers\n", "  table: [customers\n"),
            &["customers.yaml:", "invalid YAML"],
        ),
        case(
            "tab indentation",
            edit(SPEC, "  table: customers\n", "\ttable: customers\n"),
            &["customers.yaml:", "invalid YAML"],
        ),
        case(
            "duplicate key",
            edit(
                SPEC,
                "resource: customers\n",
                "resource: customers\nresource: clients\n",
            ),
            &["customers.yaml:", "resource"],
        ),
        case(
            "invalid UTF-8 in the spec",
            Box::new(|ws: &Workspace| {
                let mut b = ws.read(SPEC).into_bytes();
                b.extend_from_slice(b"# \xff\xfe\n");
                std::fs::write(ws.path(SPEC), b).unwrap();
            }),
            &["customers.yaml", "not valid UTF-8"],
        ),
        case(
            "empty spec",
            write_bytes(SPEC, Vec::new()),
            &["customers.yaml"],
        ),
        case(
            "a list instead of a mapping",
            write_bytes(SPEC, b"- version: 1\n".to_vec()),
            &["customers.yaml"],
        ),
        // The spec: schema and meaning.
        case(
            "unknown top-level key",
            edit(SPEC, "priority:", "prioirty:"),
            &["unknown key `prioirty`", "did you mean `priority`?"],
        ),
        case(
            "unknown field key",
            edit(
                SPEC,
                "{ type: text, required: true }",
                "{ type: text, requird: true }",
            ),
            &["unknown key `requird`"],
        ),
        case(
            "wrong type for a number",
            edit(SPEC, "threshold: 0.85", "threshold: high"),
            &["match.threshold", "expected a number"],
        ),
        case(
            "wrong type for a boolean",
            edit(SPEC, "required: true", "required: maybe"),
            &["required"],
        ),
        case(
            "unsupported version",
            edit(SPEC, "version: 1", "version: 2"),
            &["version"],
        ),
        case(
            "unknown field type",
            edit(
                SPEC,
                "{ type: phone, region: ZA }",
                "{ type: phon, region: ZA }",
            ),
            &["did you mean `phone`?"],
        ),
        case(
            "SQL in the table name",
            edit(
                SPEC,
                "  table: customers\n",
                "  table: \"customers; DROP TABLE x\"\n",
            ),
            &["target.table", "is not a valid table name"],
        ),
        case(
            "SQL in a column name",
            edit(
                SPEC,
                "column: contact_person",
                "column: \"contact_person\\\"; DROP TABLE customers; --\"",
            ),
            &["is not a valid column name"],
        ),
        case(
            "SQL in the primary key",
            edit(
                SPEC,
                "  key: email",
                "  primary_key: \"id; DELETE FROM customers\"\n  key: email",
            ),
            &["target.primary_key", "is not a valid column name"],
        ),
        case(
            "huge table name",
            Box::new(move |ws: &Workspace| {
                ws.edit(
                    SPEC,
                    "  table: customers\n",
                    &format!("  table: {huge_name}\n"),
                )
            }),
            &["is not a valid table name"],
        ),
        case(
            "unknown source in priority",
            edit(
                SPEC,
                "priority: [production, import]",
                "priority: [prod, import]",
            ),
            &["`prod` is not a declared source"],
        ),
        case(
            "unknown field in a rule",
            edit(
                SPEC,
                "{ field: kind, equals: private }",
                "{ field: knd, equals: private }",
            ),
            &["`knd` is not a field of the target", "did you mean `kind`?"],
        ),
        case(
            "invalid regular expression",
            edit(
                SPEC,
                "{ field: kind, equals: private }",
                "{ field: kind, matches: \"(private\" }",
            ),
            &["invalid regular expression"],
        ),
        case(
            "review above threshold",
            edit(SPEC, "review: 0.5", "review: 0.9"),
            &["must not be above the threshold"],
        ),
        case(
            "unknown region",
            edit(SPEC, "region: ZA", "region: ZZZ"),
            &["is not a region code"],
        ),
        case(
            "records not a pointer",
            edit(SPEC, "    id: pk\n", "    id: pk\n    records: data\n"),
            &["is not a JSON pointer"],
        ),
        case(
            "unset environment variable",
            edit(
                SPEC,
                "file: ../examples/customers/import_customers.csv",
                "file: ${RECONCILE_NO_SUCH_VAR}/import.csv",
            ),
            &["environment variable `RECONCILE_NO_SUCH_VAR` is not set"],
        ),
        case(
            "soft_delete without its column",
            edit(SPEC, "on_missing: keep", "on_missing: soft_delete"),
            &["needs a `soft_delete` column"],
        ),
        case(
            "soft_delete on a field's column",
            edit(
                SPEC,
                "on_missing: keep",
                "on_missing: soft_delete\nsoft_delete: { column: contact_person }",
            ),
            &["already used by the target"],
        ),
        case(
            "max_delete above 100%",
            edit(
                SPEC,
                "on_missing: keep",
                "on_missing: keep\nmax_delete: \"150%\"",
            ),
            &["max_delete", "is not a share"],
        ),
        case(
            "negative max_delete",
            edit(SPEC, "on_missing: keep", "on_missing: keep\nmax_delete: -3"),
            &["max_delete"],
        ),
        // The sources.
        case(
            "JSON pointer to nothing",
            edit(
                SPEC,
                "    id: pk\n",
                "    id: pk\n    records: /data/customers\n",
            ),
            &["source `production`", "`/data/customers` points to nothing"],
        ),
        case(
            "malformed JSON",
            edit(PRODUCTION, "\"pk\": 3,", "\"pk\": 3"),
            &["source `production`", "invalid JSON"],
        ),
        case(
            "a list where a value belongs",
            edit(
                PRODUCTION,
                "\"phone\": \"+27 83 267 6406\"",
                "\"phone\": [\"+27 83 267 6406\"]",
            ),
            &["holds a list where field `phone` needs a single value"],
        ),
        case(
            "duplicate ids",
            edit(PRODUCTION, "\"pk\": 3,", "\"pk\": 2,"),
            &["id `2` appears more than once"],
        ),
        case(
            "ragged CSV row",
            edit(IMPORT, "Maltos,Manager,", "Maltos,Manager,extra,"),
            &[
                "source `import`",
                "line 3",
                "this row has 6 fields, the header has 5",
            ],
        ),
        case(
            "invalid UTF-8 in a CSV",
            Box::new(|ws: &Workspace| {
                let mut b = ws.read(IMPORT).into_bytes();
                b.extend_from_slice(b"Caf\xe9,Manager,cafe@example.com,,business\n");
                std::fs::write(ws.path(IMPORT), b).unwrap();
            }),
            &["source `import`", "UTF-8"],
        ),
        // Invalid values are listed and left out; in strict mode they are errors.
        Case {
            name: "invalid email, strict",
            breaks: edit(IMPORT, "maltos@example.com", "maltos-at-example"),
            args: &["--strict"],
            expect: &["is not an email address", "strict mode"],
        },
        Case {
            name: "huge phone number, strict",
            breaks: Box::new(move |ws: &Workspace| ws.edit(IMPORT, "+27 11 555 0002", &huge_phone)),
            args: &["--strict"],
            expect: &["source `import`", "field `phone`"],
        },
        case(
            "missing source file",
            Box::new(|ws: &Workspace| std::fs::remove_file(ws.path(IMPORT)).unwrap()),
            &["source `import`", "cannot read the file"],
        ),
        case(
            "a source suddenly empty",
            write_bytes(PRODUCTION, b"[]".to_vec()),
            &["source `production`", "yielded no records"],
        ),
        // The database.
        Case {
            name: "unreachable database",
            breaks: Box::new(|_: &Workspace| {}),
            args: &["--database", "postgres://nobody:pw@127.0.0.1:1/none"],
            expect: &["cannot connect", "check that the server is running"],
        },
        Case {
            name: "unknown database scheme",
            breaks: Box::new(|_: &Workspace| {}),
            args: &["--database", "oracle://scott:tiger@db/x"],
            expect: &["unknown database URL scheme"],
        },
        case(
            "primary key missing from the table",
            edit(
                SPEC,
                "  key: email",
                "  primary_key: customer_no\n  key: email",
            ),
            &["has no column customer_no (primary key)", "`primary_key:`"],
        ),
    ]
}

#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let seed = Workspace::seed();
    seed.run(&["apply", "--auto-approve"]).ok();
    let snapshot = |ws: &Workspace| {
        (
            ws.query("SELECT * FROM customers ORDER BY id"),
            ws.query("SELECT * FROM reconcile_state ORDER BY address"),
            ws.query("SELECT name FROM sqlite_master ORDER BY name"),
        )
    };
    let before = snapshot(&seed);
    let cases = cases();
    assert!(cases.len() >= 30, "the corpus holds {} inputs", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let ws = Workspace::seed();
        std::fs::copy(seed.db_path(), ws.db_path()).unwrap();
        // A change the apply would make, so that writing anything would show.
        ws.edit(PRODUCTION, "suncity@maltos.co.za", "orders@maltos.co.za");
        (c.breaks)(&ws);
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(c.args);
        let run = ws.run(&args);
        let mut wrong = Vec::new();
        if run.code != 1 {
            wrong.push(format!("exit code {}", run.code));
        }
        if run.stderr.contains("panicked") {
            wrong.push("it panicked".into());
        }
        for e in c.expect {
            if !run.stderr.contains(e) {
                wrong.push(format!("stderr lacks {e:?}"));
            }
        }
        if snapshot(&ws) != before {
            wrong.push("the database changed".into());
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}\n{}", c.name, wrong.join(", "), run.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
