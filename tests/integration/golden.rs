//! Golden records people can shape: survivorship rules per field, the values that lost shown
//! in every view (text, `--explain`, `explain ADDRESS`, HTML, JSON) with sensitive ones
//! masked, computed fields in mappings (constants, templates, transforms) read from CSV and
//! JSON, and records named beside their ids wherever they are listed.

use crate::common::Workspace;

const SPEC: &str = r#"version: 1
resource: customers
target:
  table: customers
  key: email
  fields:
    name: { type: text, required: true }
    email: { type: email }
    address: { type: text }
    phone: { type: phone, region: ZA }
    updated_at: { type: date }
    revenue: { type: decimal }
    contact: { type: text }
    kind: { type: text }
    segment: { type: text }
    region: { type: text }
    pin: { type: text, sensitive: true }
sources:
  crm:
    file: crm.csv
    id: Code
    fields:
      name: { from: Name, transforms: [{ replace: { pattern: '\s*\(.*\)$', with: '' } }] }
      email: Email
      address: "{Street}, {City}"
      phone: Phone
      updated_at: Updated
      revenue: Revenue
      contact: { template: "{First} {Last}", transforms: [trim, title] }
      kind: { const: business }
      segment: { from: Segment, transforms: [upper] }
      region: { from: Location, transforms: [{ split: { on: ",", take: -1 } }, trim, lower] }
      pin: Pin
  sheet:
    file: sheet.json
    id: id
    fields:
      name: name
      email: email
      address: address
      phone: phone
      updated_at: updated
      revenue: revenue
      segment: segment
      pin: pin
priority: [crm, sheet]
exclude:
  - name: private customers
    when: { field: segment, equals: private }
match:
  compare:
    email: { method: exact }
merge:
  fields:
    name: { rule: priority, order: [sheet, crm] }
    address: longest
    phone: { rule: most_recent, by: updated_at }
    revenue: max
    segment: { source: crm }
    pin: { rule: most_recent, by: updated_at }
"#;

const CRM: &str = "\
Code,Name,Email,First,Last,Street,City,Location,Phone,Updated,Revenue,Pin,Segment
108,Ocean Basket Menlyn,menlyn@oceanbasket.example,ann,LEE,Menlyn Mall,Pretoria,\"Menlyn, Gauteng\",012 348 1111,2024-01-10,1200.50,PIN-CRM-1,gold
109,Private Person,p@example.com,bob,smith,1 Main Rd,Durban,Durban,031 000 0000,2024-01-01,0,PIN-CRM-2,private
110,Barchefz (Valley),info@barchefz.example,  cara ,DE BEER,,,\"Valley, Western Cape\",,2024-02-01,300,PIN-CRM-3,silver
";

const SHEET: &str = r#"[
  {"id": 3, "name": "Ocean Basket (Menlyn)", "email": "menlyn@oceanbasket.example",
   "address": "Shop 12, Menlyn Park Mall, Pretoria", "phone": "012 348 2222",
   "updated": "2024-03-01", "revenue": "980", "pin": "PIN-SHEET-1", "segment": "platinum"}
]
"#;

const OCEAN: &str = "customers[\"ocean-basket-menlyn\"]";

fn workspace() -> Workspace {
    let ws = Workspace::empty();
    ws.write("specs/customers.yaml", SPEC);
    ws.write("specs/crm.csv", CRM);
    ws.write("specs/sheet.json", SHEET);
    ws
}

/// No view ever shows a value of the sensitive field, winner or loser.
fn no_pin(text: &str) {
    assert!(
        !text.contains("PIN-"),
        "a sensitive value is shown:\n{text}"
    );
}

#[test]
fn each_field_is_chosen_by_its_rule_and_the_table_gets_the_winners() {
    let ws = workspace();
    ws.run(&["apply", "--auto-approve"]).ok();
    let rows = ws.query(
        "SELECT name, address, phone, updated_at, revenue, contact, kind, segment, region, pin \
         FROM customers ORDER BY name",
    );
    let text = |v: &[&str]| -> Vec<Option<String>> {
        v.iter()
            .map(|s| (!s.is_empty()).then(|| s.to_string()))
            .collect()
    };
    assert_eq!(
        rows,
        vec![
            // A record of its own: built values, an empty template left empty.
            text(&[
                "Barchefz",
                "",
                "",
                "2024-02-01",
                "300",
                "Cara De Beer",
                "business",
                "SILVER",
                "western cape",
                "PIN-CRM-3"
            ]),
            text(&[
                // The field's own order puts the sheet first.
                "Ocean Basket (Menlyn)",
                // longest
                "Shop 12, Menlyn Park Mall, Pretoria",
                // most_recent by updated_at: the sheet's, dated later
                "+27123482222",
                // the default: priority, crm first
                "2024-01-10",
                // max, as numbers: 1200.5 > 980
                "1200.5",
                "Ann Lee",
                "business",
                // source: crm, whatever the sheet says
                "GOLD",
                "gauteng",
                "PIN-SHEET-1"
            ]),
        ]
    );
    // Built values and the rules are stable: a second plan changes nothing.
    let again = ws.run(&["plan"]).ok();
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn conflicts_are_shown_in_every_view_with_sensitive_values_masked() {
    let ws = workspace();

    // The text plan stays short: one line says where to look.
    let plan = ws.run(&["plan"]).ok();
    assert!(
        plan.stdout.contains(
            "Members disagreed on 7 fields of 1 record: `reconcile plan --explain` and \
             `reconcile explain ADDRESS` show which value won, by which rule, and which lost."
        ),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("over "), "{}", plan.stdout);
    no_pin(&plan.stdout);

    // The explanation: the rule beside each value, and what it passed over.
    for run in [
        ws.run(&["plan", "--explain"]).ok(),
        ws.run(&["explain", OCEAN]).ok(),
    ] {
        let out = &run.stdout;
        for want in [
            "name       = \"Ocean Basket (Menlyn)\"  from sheet:3 (rule: priority, in this \
             field's own source order)",
            "over \"Ocean Basket Menlyn\"  from crm:108",
            "address    = \"Shop 12, Menlyn Park Mall, Pretoria\"  from sheet:3 (rule: longest)",
            "over \"Menlyn Mall, Pretoria\"  from crm:108",
            "phone      = \"+27123482222\"  from sheet:3 (rule: most_recent by updated_at)",
            "over \"+27123481111\"  from crm:108",
            "revenue    = \"1200.5\"  from crm:108 (rule: max)",
            "over \"980\"  from sheet:3",
            "segment    = \"GOLD\"  from crm:108 (rule: source crm)",
            "over \"platinum\"  from sheet:3",
            "pin        = (sensitive value)  from sheet:3 (rule: most_recent by updated_at)",
            "over (sensitive value)  from crm:108",
            // Members that agree are no conflict.
            "email      = \"menlyn@oceanbasket.example\"  from crm:108\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
        no_pin(out);
    }

    // The JSON plan: each conflict as data.
    let json = ws.run(&["plan", "--json"]).ok();
    no_pin(&json.stdout);
    let plan = json.json();
    let change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == OCEAN)
        .unwrap();
    let conflicts = change["conflicts"].as_array().unwrap();
    let by_field = |f: &str| {
        conflicts
            .iter()
            .find(|c| c["field"] == f)
            .unwrap_or_else(|| panic!("no conflict on {f}: {conflicts:?}"))
    };
    assert_eq!(
        by_field("phone"),
        &serde_json::json!({
            "field": "phone", "rule": "most_recent", "by": "updated_at", "tie": false,
            "value": "+27123482222", "from": "sheet:3",
            "lost": [{"value": "+27123481111", "from": "crm:108"}]
        })
    );
    assert_eq!(by_field("name")["own_order"], true);
    assert_eq!(by_field("segment")["source"], "crm");
    assert_eq!(by_field("revenue")["rule"], "max");
    assert_eq!(by_field("pin")["value"], "(sensitive value)");
    assert_eq!(by_field("pin")["lost"][0]["value"], "(sensitive value)");
    assert_eq!(conflicts.len(), 7, "{conflicts:?}");
    assert_eq!(
        change["source_names"],
        serde_json::json!({"crm:108": "Ocean Basket Menlyn", "sheet:3": "Ocean Basket (Menlyn)"})
    );
    // A golden record of one member has nothing to disagree on.
    let single = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] != OCEAN)
        .unwrap();
    assert!(single.get("conflicts").is_none(), "{single}");

    // The HTML report: the rule and each value that lost, beside the field.
    ws.run(&["plan", "--html", "report.html"]).ok();
    let html = ws.read("report.html");
    no_pin(&html);
    assert!(html.contains("data-kind=\"conflicts\" data-count=\"7\""));
    assert!(
        html.contains(
            "<div class=\"conflict\">by <b>most_recent by updated_at</b>; lost:<br><s><span \
             class=\"v\">+27123481111</span></s> from <code>crm:108</code> <span \
             class=\"name\">Ocean Basket Menlyn</span></div>"
        ),
        "{html}"
    );
}

#[test]
fn a_saved_plan_keeps_the_conflicts_to_show_them_and_applies() {
    let ws = workspace();
    let plan = ws.run(&["plan", "--out", "saved.json"]).ok();
    let saved = ws.read("saved.json");
    assert!(saved.contains("\"conflicts\""), "kept for `show`");
    assert!(saved.contains("\"names\""), "names are kept for the views");
    let shown = ws.run(&["show", "saved.json"]).ok();
    assert!(
        shown.stdout.contains("Members disagreed on"),
        "{}",
        shown.stdout
    );
    assert!(plan.stdout.starts_with(&shown.stdout), "{}", shown.stdout);
    assert_eq!(
        ws.run(&["show", "saved.json", "--json"]).ok().stdout,
        ws.run(&["plan", "--json"]).ok().stdout
    );
    ws.run(&["apply", "saved.json"]).ok();
    assert_eq!(
        ws.query("SELECT phone FROM customers WHERE name = 'Ocean Basket (Menlyn)'"),
        vec![vec![Some("+27123482222".to_string())]]
    );
}

#[test]
fn records_are_named_beside_their_ids_wherever_they_are_listed() {
    let ws = workspace();
    let plan = ws.run(&["plan"]).ok();
    for want in [
        "}  # from crm:108 \"Ocean Basket Menlyn\", sheet:3 \"Ocean Basket (Menlyn)\"",
        "+ name       = \"Ocean Basket (Menlyn)\"  # from sheet:3 \"Ocean Basket (Menlyn)\"",
        "- crm:109 \"Private Person\"  by rule \"private customers\"",
    ] {
        assert!(
            plan.stdout.contains(want),
            "missing {want:?}\n{}",
            plan.stdout
        );
    }
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(
        json["excluded"][0],
        serde_json::json!({"source": "crm", "record": "109", "rule": "private customers",
                           "name": "Private Person"})
    );
    ws.run(&["plan", "--html", "report.html"]).ok();
    let html = ws.read("report.html");
    assert!(
        html.contains("<td>crm</td><td><code>109</code></td><td>Private Person</td>"),
        "{html}"
    );
    assert!(
        html.contains("<code>sheet:3</code> <span class=\"name\">Ocean Basket (Menlyn)</span>")
    );

    // A managed row whose record left every source is kept, named by what it holds.
    ws.run(&["apply", "--auto-approve"]).ok();
    ws.edit(
        "specs/crm.csv",
        "110,Barchefz (Valley)",
        "111,Barchefz (Valley)",
    );
    ws.edit("specs/crm.csv", "info@barchefz", "new@barchefz");
    let plan = ws.run(&["plan"]).ok();
    assert!(
        plan.stdout
            .contains("= customers[\"barchefz\"] (row 2) \"Barchefz\""),
        "{}",
        plan.stdout
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["kept"][0]["name"], "Barchefz", "{}", json["kept"]);
    ws.run(&["plan", "--html", "report.html"]).ok();
    let html = ws.read("report.html");
    assert!(
        html.contains(
            "<td><code>customers[&quot;barchefz&quot;]</code></td><td><code>2</code></td>\
             <td>Barchefz</td>"
        ),
        "{html}"
    );
}

#[test]
fn a_template_path_no_record_has_says_how_to_read_braces() {
    let ws = workspace();
    ws.edit(
        "specs/customers.yaml",
        "\"{Street}, {City}\"",
        "\"{Street}, {Cty}\"",
    );
    let run = ws.run(&["validate"]).fails();
    for want in [
        "field `address` is built from `Cty`, which no record of this source has",
        "did you mean `City`?",
        "a mapping holding `{` is a template: to read a path whose name holds braces, write \
         `{ from: ... }`",
    ] {
        assert!(
            run.stderr.contains(want),
            "missing {want:?}\n{}",
            run.stderr
        );
    }
}
