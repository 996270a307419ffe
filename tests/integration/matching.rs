//! Matching on tricky business names, overrides, the review band, within-source dedupe and
//! `explain`, end to end through the binary.

use crate::common::Workspace;

/// Two sources of customers; `extra` is appended under `match:`.
fn spec(production: &[(&str, &str, &str)], import: &[(&str, &str, &str)], extra: &str) -> String {
    let rows = |rs: &[(&str, &str, &str)]| {
        rs.iter()
            .map(|(id, name, phone)| {
                format!("      - {{ id: \"{id}\", name: \"{name}\", phone: \"{phone}\" }}\n")
            })
            .collect::<String>()
    };
    format!(
        r#"version: 1
resource: customers
target:
  table: customers
  fields:
    name: {{ type: text, required: true }}
    phone: {{ type: phone, region: ZA }}
sources:
  production:
    id: id
    fields: {{ name: name, phone: phone }}
    inline:
{}  import:
    id: id
    fields: {{ name: name, phone: phone }}
    inline:
{}match:
  threshold: 0.85
  review: 0.5
  compare:
    name: {{ method: name }}
    phone: {{ method: phone }}
{extra}"#,
        rows(production),
        rows(import)
    )
}

/// The clusters of several records, as sorted lists of `source:id`.
fn clusters(ws: &Workspace) -> Vec<Vec<String>> {
    let doc = ws.run(&["explain", "--json"]).ok().json();
    let mut out: Vec<Vec<String>> = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut v: Vec<String> = c
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        })
        .collect();
    out.sort();
    out
}

fn pair(a: &str, b: &str) -> Vec<String> {
    let mut v = vec![format!("production:{a}"), format!("import:{b}")];
    v.sort();
    v
}

#[test]
fn tricky_business_names_link_to_the_right_record() {
    let production = [
        ("1", "Ocean Basket Menlyn", ""),
        ("2", "Ocean Basket Brooklyn", ""),
        ("3", "The Junction", ""),
        ("4", "Mugg & Bean", ""),
        ("5", "Café Zoë", ""),
        ("6", "Acme Holdings (Pty) Ltd", ""),
        ("7", "Shebeen", ""),
        ("8", "Luma Bar and Lounge", ""),
    ];
    let import = [
        ("a", "Ocean Basket Brooklyn", ""),
        ("b", "Ocean Basket Menlyn", ""),
        ("c", "Junction", ""),
        ("d", "Mugg and Bean", ""),
        ("e", "Cafe Zoe", ""),
        ("f", "ACME HOLDINGS", ""),
        ("g", "Shebeeen", ""),
        ("h", "Luma", ""),
    ];
    let ws = Workspace::empty();
    ws.write("specs/customers.yaml", &spec(&production, &import, ""));
    let got = clusters(&ws);
    let want: Vec<Vec<String>> = {
        let mut w = vec![
            pair("1", "b"), // branches of one brand each keep their own record
            pair("2", "a"),
            pair("3", "c"), // "The X" / "X"
            pair("4", "d"), // "&" / "and"
            pair("5", "e"), // accents
            pair("6", "f"), // legal suffix, case
            pair("7", "g"), // a typo
            pair("8", "h"), // containment
        ];
        w.sort();
        w
    };
    assert_eq!(got, want);
}

#[test]
fn one_brand_without_its_branch_name_is_not_merged_into_a_branch() {
    let ws = Workspace::empty();
    ws.write(
        "specs/customers.yaml",
        &spec(
            &[
                ("1", "Ocean Basket Menlyn", ""),
                ("2", "Ocean Basket Brooklyn", ""),
            ],
            &[("a", "Ocean Basket Hatfield", "")],
            "",
        ),
    );
    assert!(clusters(&ws).is_empty());
}

#[test]
fn the_same_phone_with_different_names_is_reviewed_not_merged() {
    let ws = Workspace::empty();
    ws.write(
        "specs/customers.yaml",
        &spec(
            &[
                ("1", "Pemba Mozambican Restaurant", "082 874 8637"),
                ("2", "Luma", ""),
                ("3", "Shebeen", ""),
                ("4", "Venue", ""),
                ("5", "Debonair Pizza", ""),
                ("6", "Culinary Institute", ""),
            ],
            &[
                ("a", "Chameleon Village", "+27 82 874 8637"),
                ("b", "Luma", ""),
                ("c", "Revue Bar", ""),
                ("d", "Casa Bella", ""),
                ("e", "Spur", ""),
                ("f", "Nandos", ""),
            ],
            "",
        ),
    );
    assert_eq!(clusters(&ws), vec![pair("2", "b")]);
    let plan = ws.run(&["plan", "--json"]).ok().json();
    let review = plan["review"].as_array().unwrap();
    assert_eq!(review.len(), 1, "{review:?}");
    assert_eq!(review[0]["left"], "production:1");
    assert_eq!(review[0]["right"], "import:a");
    let score = review[0]["score"].as_f64().unwrap();
    assert!((0.5..0.85).contains(&score), "{score}");
    assert_eq!(plan["summary"]["create"], 11);
}

#[test]
fn a_review_band_pair_is_listed_and_not_merged() {
    let ws = Workspace::empty();
    ws.write(
        "specs/customers.yaml",
        &spec(
            &[("1", "Luma Bar and Lounge", "")],
            &[("a", "Luma", "")],
            "",
        )
        .replace("threshold: 0.85", "threshold: 0.9999"),
    );
    assert!(clusters(&ws).is_empty());
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 2);
    let review = plan["review"].as_array().unwrap();
    assert_eq!(review.len(), 1, "{review:?}");
    let score = review[0]["score"].as_f64().unwrap();
    assert!((0.5..0.9999).contains(&score), "{score}");
    assert_eq!(review[0]["code"], "review_band");
    let text = ws.run(&["plan"]).ok().stdout;
    assert!(text.contains("To review (1), not linked:"), "{text}");
    assert!(
        text.contains("in the review band (0.50–0.9999), below `match.threshold`"),
        "{text}"
    );
}

#[test]
fn a_distinct_override_beats_a_high_score() {
    let ws = Workspace::empty();
    let records = [("1", "Luma Bar", "011 555 0001")];
    let same = [("a", "Luma Bar", "011 555 0001")];
    ws.write("specs/customers.yaml", &spec(&records, &same, ""));
    assert_eq!(clusters(&ws), vec![pair("1", "a")]);
    ws.write(
        "specs/customers.yaml",
        &spec(&records, &same, "  distinct: [[production:1, import:a]]\n"),
    );
    assert!(clusters(&ws).is_empty());
}

#[test]
fn a_same_override_links_whatever_the_score() {
    let ws = Workspace::empty();
    ws.write(
        "specs/customers.yaml",
        &spec(
            &[("1", "Venue", "")],
            &[("a", "Revue Bar", "")],
            "  same: [[production:1, import:a]]\n",
        ),
    );
    assert_eq!(clusters(&ws), vec![pair("1", "a")]);
}

const DEDUPE: &str = r#"version: 1
resource: customers
target:
  table: customers
  fields:
    name: { type: text, required: true }
sources:
  list:
    id: id
    dedupe: true
    fields: { name: name }
    inline:
      - { id: "1", name: "Luma Bar" }
      - { id: "2", name: "Luma Bar" }
      - { id: "3", name: "LUMA BAR" }
      - { id: "4", name: "Shebeen" }
match:
  max_cluster: MAX
  compare:
    name: { method: name }
"#;

#[test]
fn a_deduped_source_links_its_own_records_within_the_size_guard() {
    let ws = Workspace::empty();
    ws.write("specs/customers.yaml", &DEDUPE.replace("MAX", "10"));
    assert_eq!(
        clusters(&ws),
        vec![vec!["list:1".to_string(), "list:2".into(), "list:3".into()]]
    );
    ws.write("specs/customers.yaml", &DEDUPE.replace("MAX", "2"));
    let doc = ws.run(&["explain", "--json"]).ok().json();
    assert_eq!(doc["clusters"].as_array().unwrap().len(), 1);
    assert_eq!(doc["clusters"][0].as_array().unwrap().len(), 2);
    // Both other pairs with the third record would have made a group of three.
    assert_eq!(doc["guard_refusals"], 2);
    assert_eq!(doc["golden_records"], 3);
    let text = ws.run(&["plan"]).ok().stdout;
    assert!(
        text.contains("not linked: the group would exceed `match.max_cluster` (2)"),
        "{text}"
    );
}

/// One list of sites: the same name and phone at two addresses that share nothing (two
/// sites of one organisation), and the same site written twice.
const SITES: &str = r#"version: 1
resource: sites
target:
  table: sites
  fields:
    name: { type: text, required: true }
    address: { type: text }
    phone: { type: phone, region: US }
sources:
  list:
    id: id
    dedupe: true
    fields: { name: name, address: address, phone: phone }
    inline:
      - { id: "1", name: "Disney Magnet", address: "3815 N. Kedvale Ave", phone: "(773) 534-3750" }
      - { id: "2", name: "Disney Magnet", address: "4140 N. Marine Dr.", phone: "773-534-3750" }
      - { id: "3", name: "Disney Magnet", address: "3815 North Kedvale Avenue", phone: "7735343750" }
"#;

#[test]
fn one_list_at_two_addresses_is_two_places_and_says_so() {
    let ws = Workspace::empty();
    ws.write("specs/sites.yaml", SITES);
    assert_eq!(
        clusters(&ws),
        vec![vec!["list:1".to_string(), "list:3".into()]],
        "the same site written twice is one; the other site stays apart"
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["summary"]["create"], 2, "{json}");
    let review = json["review"].as_array().unwrap();
    assert!(
        review.iter().any(
            |r| r["code"] == "other_place" && (r["left"] == "list:2" || r["right"] == "list:2")
        ),
        "{json}"
    );
    let text = ws.run(&["plan"]).ok().stdout;
    assert!(
        text.contains("one source at two addresses: one list keeps one row per place"),
        "{text}"
    );
    // A list that may hold one entity at two addresses turns the rule off.
    ws.write(
        "specs/sites.yaml",
        &format!("{SITES}match:\n  one_row_per_place: false\n"),
    );
    let json = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(json["summary"]["create"], 1, "{json}");
}

/// A spec whose overrides change what the scores would link: `same` pulls `import:c` away
/// from its exact copy, and `distinct` splits `import:a` from its copy, after which it links
/// to the next record of that name.
const OVERRIDES: &str = r#"version: 1
resource: customers
target:
  table: customers
  fields:
    name: { type: text, required: true }
    phone: { type: phone, region: ZA }
sources:
  production:
    id: id
    fields: { name: name, phone: phone }
    inline:
      - { id: "1", name: "Luma Bar", phone: "011 555 0001" }
      - { id: "2", name: "Luma Bar", phone: "" }
      - { id: "3", name: "Shebeen", phone: "011 555 0003" }
      - { id: "4", name: "Spur", phone: "" }
  import:
    id: id
    fields: { name: name, phone: phone }
    inline:
      - { id: "a", name: "Luma Bar", phone: "011 555 0001" }
      - { id: "c", name: "Shebeen", phone: "011 555 0003" }
match:
  compare:
    name: { method: name }
    phone: { method: phone }
  same:
    - [production:4, import:c]
  distinct:
    - [production:1, import:a]
"#;

#[test]
fn the_plan_says_what_each_override_changed() {
    let ws = Workspace::empty();
    ws.write("specs/customers.yaml", OVERRIDES);
    assert_eq!(
        clusters(&ws),
        vec![
            vec!["import:a".to_string(), "production:2".into()],
            vec!["import:c".to_string(), "production:4".into()],
        ]
    );
    let text = ws.run(&["plan"]).ok().stdout;
    for want in [
        "Changed by `same` / `distinct` (2):",
        "~ import:c moved by `match.same` on line 28 of specs/customers.yaml: now in \
         customers[\"spur\"], was with production:3",
        "? import:a linked to production:2 at 0.999 instead after `match.distinct` on line 30 \
         of specs/customers.yaml: review it",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let plan = ws.run(&["plan", "--json"]).ok().json();
    let notes = plan["overrides"].as_array().unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[0]["kind"], "same");
    assert_eq!(notes[0]["line"], 28);
    assert_eq!(notes[0]["record"], "import:c");
    assert_eq!(notes[0]["effect"], "moved");
    assert_eq!(notes[0]["address"], "customers[\"spur\"]");
    assert_eq!(notes[0]["was_with"], "production:3");
    assert_eq!(notes[1]["kind"], "distinct");
    assert_eq!(notes[1]["effect"], "linked_instead");
    assert_eq!(notes[1]["linked_to"], "production:2");
    assert!(notes[1]["score"].as_f64().unwrap() > 0.85);
    ws.run(&["plan", "--html", "report.html"]).ok();
    let html = std::fs::read_to_string(ws.path("report.html")).unwrap();
    assert!(
        html.contains("import:c moved by `match.same` on line 28"),
        "the report lists what the overrides changed"
    );
    // `explain` tells both golden records concerned: the one it joined and the one it left.
    for address in ["customers[\"spur\"]", "customers[\"shebeen\"]"] {
        let text = ws.run(&["explain", address]).ok().stdout;
        assert!(
            text.contains("import:c moved by `match.same` on line 28"),
            "{address}:\n{text}"
        );
    }
    let text = ws.run(&["explain", "customers[\"luma-bar\"]"]).ok().stdout;
    assert!(
        text.contains(
            "production:1 ~ import:a  probability 1.0000: kept apart by `match.distinct` on line 30"
        ),
        "{text}"
    );
    // Applied, the next plan (taken without reading the sources) still says it.
    ws.run(&["apply", "--auto-approve"]).ok();
    let again = ws.run(&["plan"]).ok().stdout;
    assert!(again.contains("No changes."), "{again}");
    assert!(
        again.contains("? import:a linked to production:2 at 0.999 instead"),
        "{again}"
    );
}

#[test]
fn two_same_pairs_sharing_a_record_both_hold_end_to_end() {
    let ws = Workspace::empty();
    ws.write(
        "specs/customers.yaml",
        &spec(
            &[("1", "Luma Bar", "011 555 0001")],
            &[
                ("a", "Luma Bar", "011 555 0001"),
                ("b", "Shebeen", ""),
                ("c", "Spur", ""),
            ],
            "  same:\n    - [production:1, import:b]\n    - [import:c, production:1]\n",
        ),
    );
    assert_eq!(
        clusters(&ws),
        vec![vec![
            "import:b".to_string(),
            "import:c".into(),
            "production:1".into()
        ]]
    );
    let text = ws.run(&["plan"]).ok().stdout;
    assert!(
        text.contains("~ import:a moved by `match.same` on line"),
        "{text}"
    );
}

#[test]
fn explain_shows_members_waterfall_and_provenance() {
    let ws = Workspace::seed();
    let run = ws.run(&["explain", "customers[\"maltos-sun-city\"]"]).ok();
    let text = run.stdout;
    for want in [
        "customers[\"maltos-sun-city\"] will be created",
        "import:f5a85888b430",
        "link import:f5a85888b430 → production:",
        "prior",
        "name ≥ 0.92",
        "total",
        "= \"suncity@maltos.co.za\"  from production:",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // Just the key works too; an unknown address is an error with a suggestion.
    ws.run(&["explain", "maltos-sun-city"]).ok();
    let bad = ws
        .run(&["explain", "customers[\"maltos-sun-cty\"]"])
        .fails();
    assert!(bad.stderr.contains("maltos-sun-city"), "{}", bad.stderr);
    assert!(
        !ws.db_path().exists(),
        "explain must not create the database"
    );
}

#[test]
fn explain_summary_reports_blocking_and_plan_explain_adds_it() {
    let ws = Workspace::seed();
    let doc = ws.run(&["explain", "--json"]).ok().json();
    assert!(doc["blocking"]["candidate_pairs"].as_u64().unwrap() > 0);
    assert_eq!(doc["blocking"]["rules"].as_array().unwrap().len(), 1);
    assert_eq!(doc["clusters"].as_array().unwrap().len(), 8);
    let text = ws.run(&["plan", "--explain"]).ok().stdout;
    assert!(text.contains("Plan: 17 to add"), "{text}");
    assert!(text.contains("Blocking:"), "{text}");
    assert!(
        text.contains("customers[\"barchefz\"] will be created"),
        "{text}"
    );
}

#[test]
fn blocking_rules_are_counted_per_rule() {
    let ws = Workspace::empty();
    ws.write(
        "specs/customers.yaml",
        &spec(
            &[
                ("1", "Luma Bar", "011 555 0001"),
                ("2", "Shebeen", "011 555 0002"),
            ],
            &[
                ("a", "Luma", "011 555 0001"),
                ("b", "Shebeen Tavern", "011 555 0009"),
            ],
            "  blocking:\n    - on: [phone]\n    - on: [{ field: name, key: first_token }]\n",
        ),
    );
    let doc = ws.run(&["explain", "--json"]).ok().json();
    let rules = doc["blocking"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["rule"], "phone");
    assert_eq!(rules[0]["pairs"], 1);
    assert_eq!(rules[1]["rule"], "first_token(name)");
    assert_eq!(rules[1]["pairs"], 2);
    assert_eq!(rules[1]["new_pairs"], 1);
    assert_eq!(doc["blocking"]["candidate_pairs"], 2);
}

/// A branch name more records share than `max_block` is not dropped from blocking: its
/// records are compared within the same city, so the import's copy of one branch still finds
/// it, while a word prefix that common is skipped. Explain says which was which.
#[test]
fn a_name_too_common_to_block_on_is_compared_city_by_city() {
    let ws = Workspace::seed();
    ws.write(
        "specs/customers.yaml",
        r#"version: 1
resource: customers
target:
  table: customers
  fields:
    name: { type: text, required: true }
    city: { type: text }
sources:
  production:
    id: id
    fields: { name: name, city: city }
    inline:
      - { id: p1, name: Spur Umhlanga, city: Durban }
      - { id: p2, name: Spur Umhlanga, city: Pretoria }
      - { id: p3, name: Spur Umhlanga, city: Cape Town }
      - { id: p4, name: Spur Umhlanga, city: Gqeberha }
      - { id: p5, name: Wimpy Hatfield, city: Pretoria }
      - { id: p6, name: Nando's Menlyn, city: Pretoria }
  import:
    id: id
    fields: { name: name, city: city }
    inline:
      - { id: i1, name: SPUR UMHLANGA, city: Pretoria }
      - { id: i2, name: Steers Brooklyn, city: Pretoria }
match:
  max_block: 3
  compare:
    name: { method: name }
    city: { method: exact }
"#,
    );
    assert_eq!(clusters(&ws), vec![vec!["import:i1", "production:p2"]]);
    let doc = ws.run(&["explain", "--json"]).ok().json();
    let oversized = doc["blocking"]["oversized"].as_array().unwrap();
    let narrowed = |key: &str| {
        oversized
            .iter()
            .find(|o| o["key"] == key)
            .unwrap_or_else(|| panic!("{key} not reported: {oversized:?}"))["narrowed_pairs"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(narrowed("0=spur umhlanga"), 1);
    assert_eq!(narrowed("0^spur"), 0);
    let text = ws.run(&["explain"]).ok().stdout;
    assert!(
        text.contains("shared by 5 records (max_block 3): narrowed to 1 pairs"),
        "{text}"
    );
    assert!(
        text.contains(r#"key "0^spur" of rule"#) && text.contains("skipped"),
        "{text}"
    );
}
