//! Mappings are checked against the data: a column the CSV header lacks, or a path no record
//! of a source has, would read as empty in every record and plan to blank the table. Each is
//! an error naming the source, the field and the mapping, with a did-you-mean, reported by
//! `validate` and `plan` alike, and nothing is written.

use crate::common::Workspace;

const SPEC: &str = "specs/customers.yaml";
const CSV: &str = "examples/customers/import_customers.csv";

fn applied() -> Workspace {
    let ws = Workspace::seed();
    ws.run(&["apply", "--auto-approve"]).ok();
    ws
}

/// Runs `validate`, `plan` and `apply`: each must fail with every text of `wants` in its
/// error, and the table must be as it was.
fn refused_everywhere(ws: &Workspace, wants: &[&str]) {
    let before = ws.query("SELECT * FROM customers ORDER BY id");
    let state = ws.query("SELECT * FROM reconcile_state ORDER BY address");
    for cmd in [
        &["validate"][..],
        &["plan"][..],
        &["apply", "--auto-approve"][..],
    ] {
        let run = ws.run(cmd).fails();
        for want in wants {
            assert!(
                run.stderr.contains(want),
                "{cmd:?}: missing {want:?} in\n{}",
                run.stderr
            );
        }
    }
    assert_eq!(ws.query("SELECT * FROM customers ORDER BY id"), before);
    assert_eq!(
        ws.query("SELECT * FROM reconcile_state ORDER BY address"),
        state
    );
}

#[test]
fn a_misspelt_csv_column_is_named_with_a_suggestion() {
    let ws = applied();
    ws.edit(SPEC, "      email: Email\n", "      email: Emial\n");
    refused_everywhere(
        &ws,
        &[
            "source `import`",
            "import_customers.csv",
            "field `email` is mapped to column `Emial`, which the header does not have",
            "did you mean `Email`? the header has: Name, Contact, Email, Phone, Type",
        ],
    );
}

#[test]
fn a_misspelt_id_column_is_named_with_a_suggestion() {
    let ws = applied();
    ws.edit(
        SPEC,
        "    file: ../examples/customers/import_customers.csv\n",
        "    file: ../examples/customers/import_customers.csv\n    id: name\n",
    );
    refused_everywhere(
        &ws,
        &[
            "the id is column `name`, which the header does not have",
            "did you mean `Name`?",
        ],
    );
}

#[test]
fn a_json_path_no_record_has_is_named_with_a_suggestion() {
    let ws = applied();
    ws.edit(SPEC, "fields.contact_person", "fields.contact_persn");
    refused_everywhere(
        &ws,
        &[
            "source `production`",
            "production_seeding.json",
            "field `contact` is mapped to `fields.contact_persn`, which no record of this source has",
            "did you mean `fields.contact_person`?",
        ],
    );
}

#[test]
fn a_path_only_some_records_have_is_fine() {
    let ws = Workspace::empty();
    ws.write(
        "specs/firms.yaml",
        "version: 1\nresource: firms\ntarget:\n  table: firms\n  key: email\n  fields:\n    \
         name: { type: text }\n    email: { type: email }\n    phone: { type: phone, region: ZA }\n\
         sources:\n  list:\n    file: firms.ndjson\n    \
         fields: { name: name, email: contact.email, phone: contact.phone }\n",
    );
    ws.write(
        "specs/firms.ndjson",
        "{\"name\": \"Acme\", \"contact\": {\"email\": \"a@acme.example\"}}\n\
         {\"name\": \"Bolt\", \"contact\": {\"email\": \"b@bolt.example\", \"phone\": \"082 874 8637\"}}\n",
    );
    ws.run(&["validate"]).ok();
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 2);
}

#[test]
fn a_semicolon_separated_file_suggests_its_delimiter_and_reads_with_it() {
    let ws = applied();
    let text = ws.read(CSV).replace(',', ";");
    ws.write(CSV, &text);
    refused_everywhere(
        &ws,
        &[
            "source `import`",
            "the header has one column, `Name;Contact;Email;Phone;Type`",
            "is the file separated by `;`?",
            "add `delimiter: \";\"` to the source",
        ],
    );
    ws.edit(
        SPEC,
        "    file: ../examples/customers/import_customers.csv\n",
        "    file: ../examples/customers/import_customers.csv\n    delimiter: \";\"\n",
    );
    let run = ws.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn a_delimiter_is_one_character_of_a_csv_source() {
    let ws = Workspace::seed();
    ws.edit(
        SPEC,
        "    file: ../examples/customers/import_customers.csv\n",
        "    file: ../examples/customers/import_customers.csv\n    delimiter: \";;\"\n",
    );
    ws.edit(SPEC, "    id: pk\n", "    id: pk\n    delimiter: \";\"\n");
    let run = ws.run(&["validate"]).fails();
    assert!(
        run.stderr
            .contains("sources.import.delimiter: `;;` cannot separate columns"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("sources.production.delimiter: `delimiter` only applies to CSV files"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_id_of_true_is_an_id() {
    let ws = Workspace::empty();
    ws.write(
        "specs/flags.yaml",
        "version: 1\nresource: flags\ntarget:\n  table: flags\n  fields:\n    \
         name: { type: text }\nsources:\n  list:\n    id: on\n    fields: { name: name }\n    \
         inline:\n      - { on: true, name: Yes }\n      - { on: false, name: No }\n",
    );
    let plan = ws.run(&["plan", "--json"]).ok().json();
    let sources: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sources"][0].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["list:true", "list:false"]);
}
