//! Sources as users' files come: CSV files in other dialects and encodings, spreadsheets,
//! and patterns (`exports/*.csv`) that read many files as one source. Files are written
//! here with their exact bytes; the spreadsheets are made with `rust_xlsxwriter`.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::common::{Workspace, on_each_backend};

/// A spec of suppliers (name, email, and the fields `more` adds) with the sources given.
fn spec(ws: &Workspace, more: &str, sources: &str) {
    ws.write(
        "spec.yaml",
        &format!(
            "version: 1\nresource: suppliers\ntarget:\n  table: suppliers\n  key: email\n  \
             fields:\n    name: {{ type: text, required: true }}\n    email: {{ type: email }}\n\
             {more}sources:\n{sources}"
        ),
    );
}

/// The names the plan creates, sorted.
fn created_names(plan: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .map(|c| c["after"]["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_windows_1252_file_reads_with_its_encoding_and_is_named_without_it() {
    let ws = Workspace::empty();
    // "Café Müller" and "Bäckerei Schäfer" as Excel saves them on Windows: é = E9, ü = FC,
    // ä = E4; semicolons, CRLF.
    ws.write_bytes(
        "ledger.csv",
        b"Name;Email\r\nCaf\xE9 M\xFCller;cafe@mueller.example\r\n\
          B\xE4ckerei Sch\xE4fer;info@schaefer.example\r\n",
    );
    let source = "  ledger:\n    file: ledger.csv\n    delimiter: \";\"\n    fields: { name: Name, \
                  email: Email }\n";
    spec(&ws, "", source);
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    assert!(
        run.stderr
            .contains("source `ledger` (ledger.csv), line 2: the row is not valid UTF-8"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("add `encoding: windows-1252` to the source"),
        "{}",
        run.stderr
    );
    spec(
        &ws,
        "",
        &source.replace("    fields:", "    encoding: windows-1252\n    fields:"),
    );
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(created_names(&plan), ["Bäckerei Schäfer", "Café Müller"]);
}

#[test]
fn a_header_below_a_title_and_a_one_column_header_names_its_delimiter() {
    let ws = Workspace::empty();
    ws.write(
        "ledger.csv",
        "Supplier list, 6 March\nName|Email\nAcme|a@acme.example\n",
    );
    let source = "  ledger:\n    file: ledger.csv\n    header: 2\n    fields: { name: Name, email: \
                  Email }\n";
    spec(&ws, "", source);
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    assert!(
        run.stderr.contains(
            "line 2: the header has one column, `Name|Email`, so 2 of the columns mapped \
             cannot be found; is the file separated by `|`?"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("add `delimiter: \"|\"` to the source"),
        "{}",
        run.stderr
    );
    spec(
        &ws,
        "",
        &source.replace("    header: 2\n", "    skip: 1\n    delimiter: \"|\"\n"),
    );
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(created_names(&plan), ["Acme"]);
}

/// A price list as purchasing keeps one: a "Notes" sheet first, then "Prices" with a title
/// on row 1 and the header on row 3. Row 7 has no supplier number when `gap` is set.
fn price_list(gap: bool) -> Vec<u8> {
    let mut book = Workbook::new();
    book.add_worksheet()
        .set_name("Notes")
        .unwrap()
        .write_string(0, 0, "Prices in EUR")
        .unwrap();
    let s = book.add_worksheet();
    s.set_name("Prices").unwrap();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    s.write_string(0, 0, "Supplier price list").unwrap();
    for (c, h) in ["No", "Supplier", "Email", "Min order", "Valid from"]
        .iter()
        .enumerate()
    {
        s.write_string(2, c as u16, *h).unwrap();
    }
    let rows = [
        (
            5001.0,
            "Café Müller",
            "cafe@mueller.example",
            150.0,
            (2024, 1, 1),
        ),
        (
            5002.0,
            "Brasserie Lefèvre",
            "commandes@lefevre.example",
            80.5,
            (2024, 2, 15),
        ),
        (
            5003.0,
            "Øresund Fisk",
            "sales@oresund.example",
            400.0,
            (2024, 3, 1),
        ),
        (
            5004.0,
            "Atelier Crème",
            "bonjour@creme.example",
            60.0,
            (2024, 3, 1),
        ),
    ];
    for (i, (no, name, email, min, (y, m, d))) in rows.into_iter().enumerate() {
        let r = 3 + i as u32;
        if !(gap && r == 6) {
            s.write_number(r, 0, no).unwrap();
        }
        s.write_string(r, 1, name).unwrap();
        s.write_string(r, 2, email).unwrap();
        s.write_number(r, 3, min).unwrap();
        let when = ExcelDateTime::from_ymd(y, m, d).unwrap();
        s.write_datetime_with_format(r, 4, &when, &date).unwrap();
    }
    book.save_to_buffer().unwrap()
}

#[test]
fn a_spreadsheet_sheet_by_name_or_position_with_its_header_row() {
    let ws = Workspace::empty();
    ws.write_bytes("price_list.xlsx", &price_list(false));
    let more = "    min_order: { type: decimal }\n    since: { type: date }\n";
    let source = |sheet: &str| {
        format!(
            "  prices:\n    file: price_list.xlsx\n    sheet: {sheet}\n    header: 3\n    id: No\n    \
             fields: {{ name: Supplier, email: Email, min_order: Min order, since: Valid from }}\n"
        )
    };
    spec(&ws, more, &source("Prices"));
    let by_name = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(
        created_names(&by_name),
        [
            "Atelier Crème",
            "Brasserie Lefèvre",
            "Café Müller",
            "Øresund Fisk"
        ]
    );
    let cafe = by_name["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["after"]["name"] == "Café Müller")
        .unwrap();
    assert_eq!(cafe["after"]["min_order"], "150");
    assert_eq!(cafe["after"]["since"], "2024-01-01");
    // Supplier numbers are whole numbers: the id reads `5001`, not `5001.0`.
    assert_eq!(cafe["sources"][0], "prices:5001", "{cafe}");
    spec(&ws, more, &source("2"));
    let by_position = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(by_position["changes"], by_name["changes"]);

    // A problem names the file, the sheet and the row as the spreadsheet numbers it.
    ws.write_bytes("price_list.xlsx", &price_list(true));
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    assert!(
        run.stderr.contains(
            "source `prices` (price_list.xlsx), sheet \"Prices\", row 7: the id field `No` is \
             missing or empty"
        ),
        "{}",
        run.stderr
    );
    spec(&ws, more, &source("Price"));
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    assert!(
        run.stderr.contains("the workbook has no sheet \"Price\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean \"Prices\"?"),
        "{}",
        run.stderr
    );
}

#[test]
fn layout_settings_are_checked_against_the_file() {
    let ws = Workspace::empty();
    ws.write("a.csv", "Name,Email\n");
    ws.write("b.json", "[]");
    let fields = "    fields: { name: Name, email: Email }\n";
    spec(
        &ws,
        "",
        &format!(
            "  a:\n    file: a.csv\n    encoding: klingon\n    quote: ab\n    sheet: 2\n    \
             header: 2\n    skip: 3\n{fields}  b:\n    file: b.json\n    encoding: utf-8\n{fields}  \
             c:\n    file: \"exports/[*.csv\"\n{fields}"
        ),
    );
    let run = ws.run(&["validate", "-f", "spec.yaml"]).fails();
    for expected in [
        "sources.a.encoding: `klingon` is not an encoding reconcile knows",
        "sources.a.quote: `ab` cannot quote cells",
        "sources.a.sheet: `sheet` only applies to spreadsheets",
        "sources.a.header: `header: 2` is among the 3 lines `skip` passes over",
        "sources.b.encoding: `encoding` only applies to CSV files",
        "sources.c.file: `exports/[*.csv` is not a file pattern",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
    }
}

/// Two monthly exports of one list, written in the opposite order to their names, and a
/// file the pattern does not match.
fn exports(ws: &Workspace) {
    ws.write(
        "exports/2024-02.csv",
        "Code,Name,Email\nB1,Bäckerei Schäfer,info@schaefer.example\nB2,Brasserie \
         Lefèvre,commandes@lefevre.example\n",
    );
    ws.write(
        "exports/2024-01.csv",
        "Code,Name,Email\nA1,Café Müller,cafe@mueller.example\nA2,Øresund Fisk,sales@oresund.example\n",
    );
    ws.write("exports/README.txt", "not a CSV file\n");
}

const PATTERN: &str = "  ledger:\n    file: exports/*.csv\n    id: Code\n    fields: { name: Name, \
                       email: Email }\n";

#[test]
fn a_pattern_reads_its_files_in_name_order_and_labels_rows_with_their_file() {
    let ws = Workspace::empty();
    exports(&ws);
    spec(&ws, "", PATTERN);
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 4, "{plan}");
    // Ragged rows in both files: the problems come in file-name order, each at its file.
    ws.edit("exports/2024-01.csv", "A2,", "A2,extra,");
    ws.edit("exports/2024-02.csv", "B1,", "B1,extra,");
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    let first = run
        .stderr
        .find("exports/2024-01.csv, line 3: this row has 4 fields, the header has 3")
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let second = run
        .stderr
        .find("exports/2024-02.csv, line 2: this row has 4 fields, the header has 3")
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(first < second, "{}", run.stderr);
    // An invalid value is listed at its file and line.
    exports(&ws);
    ws.edit(
        "exports/2024-02.csv",
        "commandes@lefevre",
        "commandes at lefevre",
    );
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(
        plan["invalid"][0]["row"], "exports/2024-02.csv, line 3",
        "{plan}"
    );
}

#[test]
fn ids_are_unique_across_the_files_of_a_pattern() {
    let ws = Workspace::empty();
    exports(&ws);
    ws.edit("exports/2024-02.csv", "B2,", "A1,");
    spec(&ws, "", PATTERN);
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    assert!(
        run.stderr.contains(
            "exports/2024-02.csv, line 3: id `A1` is also the id of the record at \
             exports/2024-01.csv, line 2"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_pattern_matching_no_file_is_an_error() {
    let ws = Workspace::empty();
    exports(&ws);
    spec(&ws, "", &PATTERN.replace("exports/*.csv", "exports/*.tsv"));
    ws.edit(
        "spec.yaml",
        "    id: Code\n",
        "    id: Code\n    format: csv\n",
    );
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    assert!(
        run.stderr
            .contains("source `ledger` (exports/*.tsv): no file matches `exports/*.tsv`"),
        "{}",
        run.stderr
    );
}

#[test]
fn content_ids_do_not_depend_on_the_file_a_record_is_in() {
    let ws = Workspace::empty();
    exports(&ws);
    let no_id = PATTERN.replace("    id: Code\n", "");
    spec(&ws, "", &no_id);
    ws.run(&["apply", "-f", "spec.yaml", "--auto-approve"]).ok();
    // Café Müller moves from January's export to February's: the same record still.
    ws.edit(
        "exports/2024-01.csv",
        "A1,Café Müller,cafe@mueller.example\n",
        "",
    );
    ws.write(
        "exports/2024-02.csv",
        &format!(
            "{}A1,Café Müller,cafe@mueller.example\n",
            ws.read("exports/2024-02.csv")
        ),
    );
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["update"], 0, "{plan}");
    assert_eq!(plan["summary"]["no_op"], 4, "{plan}");
    assert!(plan.get("shortcut").is_none(), "{plan}");
}

#[test]
fn the_no_change_shortcut_sees_every_file_of_a_pattern() {
    let ws = Workspace::empty();
    exports(&ws);
    spec(&ws, "", PATTERN);
    ws.run(&["apply", "-f", "spec.yaml", "--auto-approve"]).ok();
    let quick = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert!(quick["shortcut"].is_object(), "{quick}");
    // An edit to the second file is an update: the plan read the files again.
    ws.edit(
        "exports/2024-02.csv",
        "Bäckerei Schäfer",
        "Bäckerei Schäfer KG",
    );
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert!(plan.get("shortcut").is_none(), "{plan}");
    assert_eq!(plan["summary"]["update"], 1, "{plan}");
    ws.run(&["apply", "-f", "spec.yaml", "--auto-approve"]).ok();
    // So is a new file the pattern matches.
    ws.write(
        "exports/2024-03.csv",
        "Code,Name,Email\nC1,Grünkern Bio,hallo@gruenkern.example\n",
    );
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert!(plan.get("shortcut").is_none(), "{plan}");
    assert_eq!(plan["summary"]["create"], 1, "{plan}");
}

#[test]
fn a_saved_plan_is_stale_when_a_file_of_its_pattern_changes_comes_or_goes() {
    let ws = Workspace::empty();
    exports(&ws);
    spec(&ws, "", PATTERN);
    let save = || {
        ws.run(&["plan", "-f", "spec.yaml", "--out", "plan.json"])
            .ok();
    };
    let stale = |what: &str| {
        let run = ws.run(&["apply", "plan.json"]).fails();
        assert!(
            run.stderr.contains("the saved plan is stale") && run.stderr.contains(what),
            "{what}\n{}",
            run.stderr
        );
    };
    save();
    ws.edit("exports/2024-01.csv", "Øresund Fisk", "Øresund Fisk ApS");
    stale("2024-01.csv");
    save();
    ws.write(
        "exports/2024-03.csv",
        "Code,Name,Email\nC1,Grünkern Bio,hallo@gruenkern.example\n",
    );
    stale("2024-03.csv");
    save();
    std::fs::remove_file(ws.path("exports/2024-01.csv")).unwrap();
    stale("2024-01.csv (no longer read)");
}

/// The suppliers example copied into the workspace.
fn suppliers(ws: &Workspace) {
    for file in [
        "suppliers.yaml",
        "crm_export.json",
        "price_list.xlsx",
        "ledger_export.csv",
    ] {
        ws.copy(&format!("examples/suppliers/{file}"));
    }
}

const SUPPLIERS: &str = "examples/suppliers/suppliers.yaml";

on_each_backend! {
    /// The shipped suppliers example: an .xlsx, a Windows-1252 CSV and a JSON export of the
    /// same suppliers make ten golden records; once applied, nothing is left to do, even
    /// when every source is read again.
    fn suppliers_example_plans_applies_and_then_has_nothing_to_do(ws) {
        suppliers(&ws);
        let plan = ws.run(&["plan", "-f", SUPPLIERS, "--json"]).ok().json();
        assert_eq!(plan["summary"]["create"], 10, "{plan}");
        let cafe = plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == "suppliers[\"cafe-muller-gmbh\"]")
            .unwrap_or_else(|| panic!("{plan}"));
        assert_eq!(
            cafe["sources"],
            serde_json::json!(["crm:C-101", "prices:5001", "ledger:K-70012"])
        );
        assert_eq!(cafe["after"]["min_order"], "150");
        assert_eq!(cafe["after"]["prices_from"], "2024-01-01");
        assert_eq!(cafe["after"]["updated_at"], "2024-03-04 16:20:00");
        ws.run(&["apply", "-f", SUPPLIERS, "--auto-approve"]).ok();
        let sql = "SELECT name, city FROM suppliers WHERE email = 'pedidos@senorpimiento.es'";
        let rows = match ws.backend() {
            // Without a database URL the table is in the SQLite file beside the spec.
            crate::common::Backend::Sqlite => {
                crate::common::query(&ws.path("examples/suppliers/reconcile.db"), sql)
            }
            _ => ws.query(sql),
        };
        assert_eq!(rows, vec![vec![Some("Señor Pimiento S.L.".to_string()), Some("Madrid".to_string())]]);
        for args in [
            &["plan", "-f", SUPPLIERS, "--detailed-exitcode"][..],
            &["plan", "-f", SUPPLIERS, "--detailed-exitcode", "--refresh"][..],
        ] {
            let again = ws.run(args);
            assert_eq!(again.code, 0, "{args:?}\n{}{}", again.stdout, again.stderr);
            assert!(again.stdout.contains("No changes."), "{}", again.stdout);
        }
    }
}

#[test]
fn a_pattern_of_json_files_is_one_source_too() {
    let ws = Workspace::empty();
    ws.write(
        "crm/b.json",
        r#"[{"id": 2, "name": "Bäckerei Schäfer", "email": "info at schaefer.example"}]"#,
    );
    ws.write(
        "crm/a.json",
        r#"[{"id": 1, "name": "Café Müller", "email": "cafe@mueller.example"}]"#,
    );
    spec(
        &ws,
        "",
        "  crm:\n    file: crm/*.json\n    id: id\n    fields: { name: name, email: email }\n",
    );
    let plan = ws.run(&["plan", "-f", "spec.yaml", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 2, "{plan}");
    assert_eq!(plan["invalid"][0]["row"], "crm/b.json, record 1", "{plan}");
    ws.edit("crm/b.json", "\"id\": 2", "\"id\": 1");
    let run = ws.run(&["plan", "-f", "spec.yaml"]).fails();
    assert!(
        run.stderr.contains(
            "crm/b.json, record 1: id `1` is also the id of the record at crm/a.json, record 1"
        ),
        "{}",
        run.stderr
    );
}

/// The suppliers example's per-field rules each decide at least one supplier: the plan's
/// conflicts name the rule that chose.
#[test]
fn every_rule_of_the_suppliers_example_decides_a_value() {
    let ws = Workspace::empty();
    suppliers(&ws);
    let plan = ws.run(&["plan", "-f", SUPPLIERS, "--json"]).ok().json();
    let decided: Vec<(String, String, bool)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["conflicts"].as_array().cloned().unwrap_or_default())
        .map(|x| {
            (
                x["field"].as_str().unwrap().to_string(),
                x["rule"].as_str().unwrap().to_string(),
                x["own_order"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    for (field, rule, own_order) in [
        ("name", "longest", false),
        ("email", "priority", true),
        ("city", "most_frequent", false),
    ] {
        assert!(
            decided
                .iter()
                .any(|(f, r, o)| f == field && r == rule && *o == own_order),
            "no {field} decided by {rule}: {decided:?}"
        );
    }
}

/// A `source` rule that finds nothing in its source empties the field: the plan says so,
/// field by field, instead of leaving it to `--explain`.
#[test]
fn a_field_emptied_by_its_source_rule_is_said_in_the_plan() {
    let ws = Workspace::empty();
    suppliers(&ws);
    ws.edit(
        SUPPLIERS,
        "    city: most_frequent",
        "    phone: { source: prices }\n    city: most_frequent",
    );
    let run = ws.run(&["plan", "-f", SUPPLIERS]).ok();
    assert!(
        run.stdout.contains(
            "`phone` is left empty in 7 records by its `source` rule, although other sources \
             hold a value."
        ),
        "{}",
        run.stdout
    );
    let json = ws.run(&["plan", "-f", SUPPLIERS, "--json"]).ok().json();
    let emptied = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["after"]["phone"].is_null())
        .count();
    assert_eq!(
        emptied, 10,
        "no supplier keeps a phone: the price list has none"
    );
}
