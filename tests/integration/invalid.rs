//! Source values that fail their field type (a phone that is not a number, a malformed
//! email): listed in the plan and left out, never written over a good value, errors in strict
//! mode, and never checked on records an exclusion rule drops.

use crate::common::{Workspace, on_each_backend};

const SPEC: &str = "specs/customers.yaml";
const IMPORT: &str = "examples/customers/import_customers.csv";
const PRODUCTION: &str = "examples/customers/production_seeding.json";
/// Venue's phone: only the import source has Venue, so this is its only phone value.
const VENUE_PHONE: &str = "+27 11 555 0014";
const BAD_PHONE: &str = "310/788-";

fn break_venue_phone(ws: &Workspace) {
    ws.edit(IMPORT, VENUE_PHONE, BAD_PHONE);
}

fn venue(ws: &Workspace) -> Vec<Vec<Option<String>>> {
    ws.query("SELECT name, email, phone FROM customers WHERE name = 'Venue'")
}

on_each_backend! {
    /// The run goes on: the value is listed with its source, record, row, field and reason,
    /// counted in the summary, and the row is created without it; the next plan is empty.
    fn an_invalid_value_is_listed_and_not_written_on_create(ws) {
        break_venue_phone(&ws);
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["format_version"], "1");
        assert_eq!(json["summary"]["create"], 17);
        assert_eq!(json["summary"]["excluded"], 3);
        assert_eq!(json["summary"]["invalid"], 1);
        assert_eq!(
            json["invalid"],
            serde_json::json!([{
                "source": "import",
                "record": "101241a66ab5",
                "row": "line 13",
                "field": "phone",
                "value": BAD_PHONE,
                "reason": "not a valid phone number (read with default region ZA)"
            }])
        );
        let venue_change = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == "customers[\"venue\"]")
            .expect("Venue is created")
            .clone();
        assert_eq!(venue_change["after"]["phone"], serde_json::Value::Null);
        assert_eq!(venue_change["after"]["email"], "events@venue.co.za");

        let text = ws.run(&["plan"]).ok().stdout;
        assert!(
            text.contains("Plan: 17 to add, 0 to change, 0 to destroy. (3 excluded, 1 invalid value)"),
            "{text}"
        );
        assert!(text.contains("Invalid values (1), left out"), "{text}");
        assert!(
            text.contains(
                "! import:101241a66ab5 (line 13)  phone = \"310/788-\": not a valid phone number (read with default region ZA)"
            ),
            "{text}"
        );

        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(
            venue(&ws),
            vec![vec![Some("Venue".into()), Some("events@venue.co.za".into()), None]],
            "the other fields are written, the invalid one is not"
        );
        // plan -> apply -> plan is empty, by the shortcut and by reading the sources again;
        // the invalid value is still listed.
        for args in [&["plan", "--detailed-exitcode"][..], &["plan", "--refresh", "--detailed-exitcode"]] {
            let again = ws.run(args);
            assert_eq!(again.code, 0, "{args:?}: {}{}", again.stdout, again.stderr);
            assert!(again.stdout.contains("No changes."), "{}", again.stdout);
            assert!(again.stdout.contains("Invalid values (1)"), "{}", again.stdout);
        }
        let quick = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(quick["summary"]["invalid"], 1, "{quick}");
        assert_eq!(quick["invalid"][0]["value"], BAD_PHONE);
    }
}

on_each_backend! {
    /// A row that holds a good phone keeps it when the source's phone turns invalid, while
    /// the record's other changes are applied; no drift follows.
    fn an_invalid_value_never_overwrites_a_good_one(ws) {
        ws.run(&["apply", "--auto-approve"]).ok();
        break_venue_phone(&ws);
        let json = ws.run(&["plan", "--json", "--detailed-exitcode"]);
        assert_eq!(json.code, 0, "an invalid value alone changes nothing: {}", json.stdout);
        assert_eq!(json.json()["summary"]["invalid"], 1);

        ws.edit(IMPORT, "events@venue.co.za", "bookings@venue.co.za");
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["summary"]["update"], 1);
        let change = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["action"] == "update")
            .unwrap()
            .clone();
        assert_eq!(change["address"], "customers[\"venue\"]");
        assert_eq!(change["changed"], serde_json::json!(["email"]));
        assert_eq!(change["after"]["phone"], "+27115550014");

        ws.run(&["apply", "--auto-approve"]).ok();
        assert_eq!(
            venue(&ws),
            vec![vec![
                Some("Venue".into()),
                Some("bookings@venue.co.za".into()),
                Some("+27115550014".into())
            ]]
        );
        for args in [&["plan", "--detailed-exitcode"][..], &["plan", "--refresh", "--detailed-exitcode"]] {
            let again = ws.run(args);
            assert_eq!(again.code, 0, "{args:?}: {}{}", again.stdout, again.stderr);
            assert!(again.stdout.contains("No changes."), "{}", again.stdout);
        }
    }
}

on_each_backend! {
    /// Strict mode, from `--strict` or from `invalid: error`, makes each invalid value an
    /// error naming its source, row, field and reason, and writes nothing.
    fn strict_mode_makes_invalid_values_errors(ws) {
        break_venue_phone(&ws);
        let expect = [
            "1 invalid value in the sources (strict mode)",
            "source `import`",
            "import_customers.csv",
            "line 13 (id 101241a66ab5): field `phone`: \"310/788-\" is not a valid phone number",
        ];
        for args in [
            &["plan", "--strict"][..],
            &["apply", "--auto-approve", "--strict"],
            &["validate", "--strict"],
        ] {
            let run = ws.run(args).fails();
            for e in expect {
                assert!(run.stderr.contains(e), "{args:?}: expected {e:?} in\n{}", run.stderr);
            }
        }
        let after = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(after["create_table"], true, "the strict apply wrote nothing");

        // Without strict mode, validate lists the value and succeeds.
        let ok = ws.run(&["validate"]).ok();
        assert!(ok.stdout.contains("1 invalid value left out"), "{}", ok.stdout);
        assert!(ok.stdout.contains("field `phone`: \"310/788-\""), "{}", ok.stdout);

        // An apply that left the value out, then a strict plan of the same inputs (which
        // would otherwise be answered without reading the sources) fails too.
        ws.run(&["apply", "--auto-approve"]).ok();
        let run = ws.run(&["plan", "--strict"]).fails();
        assert!(run.stderr.contains(expect[3]), "{}", run.stderr);

        // The spec setting.
        ws.edit(SPEC, "on_missing: keep", "on_missing: keep\ninvalid: error");
        let run = ws.run(&["plan"]).fails();
        for e in expect {
            assert!(run.stderr.contains(e), "expected {e:?} in\n{}", run.stderr);
        }
        assert!(run.stderr.contains("Without `--strict` and `invalid: error`"), "{}", run.stderr);
        ws.edit(SPEC, "invalid: error", "invalid: list");
        ws.run(&["plan"]).ok();
    }
}

/// A saved plan that lists invalid values is refused by `apply --strict`.
#[test]
fn a_saved_plan_with_invalid_values_is_refused_in_strict_mode() {
    let ws = Workspace::seed();
    break_venue_phone(&ws);
    ws.run(&["plan", "--out", "saved.plan"]).ok();
    let run = ws.run(&["apply", "--strict", "saved.plan"]).fails();
    assert!(
        run.stderr.contains("field `phone`: \"310/788-\""),
        "{}",
        run.stderr
    );
    let saved: serde_json::Value =
        serde_json::from_str(ws.read("saved.plan").lines().next().unwrap()).unwrap();
    assert_eq!(saved["resources"][0]["summary"]["invalid"], 1);
    ws.run(&["apply", "saved.plan"]).ok();
    assert_eq!(
        venue(&ws),
        vec![vec![
            Some("Venue".into()),
            Some("events@venue.co.za".into()),
            None
        ]]
    );
}

/// A record an exclusion rule drops is never validated: its invalid values are neither
/// listed nor errors, even in strict mode. Rules see an invalid value as the source wrote it.
#[test]
fn excluded_records_are_not_validated() {
    let ws = Workspace::seed();
    // A private customer (excluded) with a broken phone and email.
    ws.edit(PRODUCTION, "072 555 0142", "not a phone");
    ws.edit(PRODUCTION, "thandi.mokoena@gmail.com", "thandi at gmail");
    let json = ws.run(&["plan", "--json", "--strict"]).ok().json();
    assert_eq!(json["summary"]["excluded"], 3);
    assert_eq!(json["summary"]["invalid"], 0);
    assert_eq!(json["invalid"], serde_json::json!([]));
    let text = ws.run(&["plan"]).ok().stdout;
    assert!(
        text.contains("Plan: 17 to add, 0 to change, 0 to destroy. (3 excluded)\n"),
        "{text}"
    );

    // A rule on the invalid text itself: Venue's phone written as "unknown" drops it.
    ws.edit(IMPORT, VENUE_PHONE, "unknown");
    ws.edit(
        SPEC,
        "    when: { field: kind, equals: private }\n",
        "    when: { field: kind, equals: private }\n  - name: no phone\n    when: { field: phone, equals: unknown }\n",
    );
    let json = ws.run(&["plan", "--json", "--strict"]).ok().json();
    assert_eq!(json["summary"]["excluded"], 4);
    assert_eq!(json["summary"]["invalid"], 0);
    assert_eq!(json["excluded"][3]["rule"], "no phone");
}

/// A sensitive field's invalid value is masked everywhere it is listed.
#[test]
fn a_sensitive_invalid_value_is_masked() {
    let ws = Workspace::seed();
    ws.edit(
        SPEC,
        "phone:   { type: phone, region: ZA }",
        "phone:   { type: phone, region: ZA, sensitive: true }",
    );
    break_venue_phone(&ws);
    let text = ws.run(&["plan", "--html", "report.html"]).ok().stdout;
    assert!(
        text.contains("phone = (sensitive value): not a valid phone number"),
        "{text}"
    );
    let json = ws.run(&["plan", "--json"]).ok();
    assert_eq!(json.json()["invalid"][0]["value"], "(sensitive value)");
    let validate = ws.run(&["validate"]).ok().stdout;
    let strict = ws.run(&["plan", "--strict"]).fails().stderr;
    assert!(
        strict.contains("field `phone`: (sensitive value) is not a valid phone number"),
        "{strict}"
    );
    for (what, out) in [
        ("text", text),
        ("json", json.stdout),
        ("validate", validate),
        ("strict", strict),
        ("html", ws.read("report.html")),
    ] {
        assert!(
            !out.contains(BAD_PHONE),
            "{what} shows the sensitive value:\n{out}"
        );
    }
}

/// The HTML report has an invalid-values section when there are some, and none otherwise;
/// the JSON plan always has `invalid` and `summary.invalid`.
#[test]
fn reports_show_invalid_values() {
    let ws = Workspace::seed();
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["summary"]["invalid"], 0);
    assert_eq!(json["invalid"], serde_json::json!([]));
    ws.run(&["plan", "--html", "clean.html"]).ok();
    assert!(!ws.read("clean.html").contains("id=\"invalid\""));

    break_venue_phone(&ws);
    ws.run(&["plan", "--html", "report.html"]).ok();
    let html = ws.read("report.html");
    assert!(html.contains("<section id=\"invalid\">"), "{html}");
    assert!(
        html.contains("data-kind=\"invalid\" data-count=\"1\""),
        "{html}"
    );
    assert!(html.contains("<code>310/788-</code>"), "{html}");
    assert!(html.contains("not a valid phone number"), "{html}");
}

/// A local number without its area code is not a valid phone for the region, so it is never
/// written; but its digits still count as evidence that two records are one place.
#[test]
fn an_invalid_phone_still_counts_as_evidence_for_matching() {
    let ws = Workspace::empty();
    let spec = |phone: &str| {
        format!(
            "version: 1\nresource: sites\ntarget:\n  table: sites\n  fields:\n    name: {{ type: text }}\n    phone: {{ type: phone, region: US }}\n\
             sources:\n  a:\n    id: id\n    fields: {{ name: name, phone: phone }}\n    inline: [{{ id: 1, name: Little Stars Learning Center, phone: \"{phone}\" }}]\n\
             \x20 b:\n    id: id\n    fields: {{ name: name, phone: phone }}\n    inline: [{{ id: 7, name: Little Stars Academy, phone: \"(773) 538-6633\" }}]\n"
        )
    };
    ws.write("specs/sites.yaml", &spec("538-6633"));
    let same = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(same["summary"]["invalid"], 1);
    assert_eq!(
        same["review"].as_array().unwrap().len(),
        1,
        "{}",
        same["review"]
    );
    assert_eq!(same["review"][0]["left"], "a:1");
    assert_eq!(same["review"][0]["right"], "b:7");
    // The invalid number is not written.
    let created = same["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["sources"][0] == "a:1")
        .unwrap();
    assert!(created["after"]["phone"].is_null(), "{created}");

    // Another local number: no evidence, and the names alone are not close enough to review.
    ws.write("specs/sites.yaml", &spec("538-0000"));
    let other = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(
        other["review"].as_array().unwrap().len(),
        0,
        "{}",
        other["review"]
    );
}
