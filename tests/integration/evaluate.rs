//! `reconcile evaluate`, end to end: scores against a column of true ids and against labelled
//! pairs, hand-checked; the true ids never reach matching or the database.

use crate::common::Workspace;

const SPEC: &str = r#"version: 1
resource: venues
target:
  table: venues
  fields:
    name:  { type: text, required: true }
    phone: { type: text }
sources:
  guide:
    file: guide.csv
    id: id
    truth: entity
    fields: { name: name, phone: phone }
  list:
    file: list.csv
    id: id
    truth: entity
    fields: { name: name, phone: phone }
match:
  compare:
    name:  { method: name }
    phone: { method: exact }
"#;

fn workspace() -> Workspace {
    let ws = Workspace::empty();
    ws.write("specs/venues.yaml", SPEC);
    // E1 is in both lists under one name: a right link. E2 and E4 share a name but are two
    // venues: a false link. E3 is in both lists under two names with one phone, linked on
    // a short list. E5 shares nothing, so blocking never offers it: missed.
    ws.write(
        "specs/guide.csv",
        "id,name,phone,entity\n\
         1,Lulo Brewery,0828748637,E1\n\
         2,Kaya Bistro,0821112222,E2\n\
         3,Mugg and Bean Menlyn,0823334444,E3\n\
         4,Ocean Basket Menlyn,0827778888,E5\n",
    );
    ws.write(
        "specs/list.csv",
        "id,name,phone,entity\n\
         1,Lulo Brewery,0828748637,E1\n\
         2,Kaya Bistro,0825556666,E4\n\
         3,Zebra Lounge,0823334444,E3\n\
         4,The Fish Place,0829990000,E5\n",
    );
    ws
}

#[test]
fn evaluate_against_true_ids() {
    let ws = workspace();
    let run = ws
        .run(&["evaluate", "-f", "specs/venues.yaml", "--truth"])
        .ok();
    insta::assert_snapshot!("evaluate_truth", run.stdout);
    // Evaluation never opens the target database, so it never creates one.
    assert!(!ws.db_path().exists());

    let json = ws
        .run(&[
            "evaluate",
            "-f",
            "specs/venues.yaml",
            "--truth",
            "entity",
            "--json",
        ])
        .ok()
        .json();
    let at = &json["at_threshold"];
    // Links: guide:1~list:1 and guide:3~list:3 (right), guide:2~list:2 (false). True pairs:
    // E1, E3, E5. Precision 2/3, recall 2/3.
    assert_eq!(at["links"], 3);
    assert_eq!(at["right"], 2);
    assert_eq!(at["true_pairs"], 3);
    assert!((at["precision"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!((at["recall"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(json["false_links"]["pairs"][0]["left"], "guide:2");
    assert_eq!(json["missed_links"]["pairs"][0]["left"], "guide:4");
    assert_eq!(json["missed_links"]["pairs"][0]["compared"], false);
    assert_eq!(json["true_pairs_never_compared"], 1);
}

#[test]
fn the_truth_column_changes_nothing_in_the_plan() {
    let ws = workspace();
    let with = ws
        .run(&["plan", "-f", "specs/venues.yaml", "--json"])
        .ok()
        .json();
    ws.edit("specs/venues.yaml", "    truth: entity\n", "");
    ws.edit("specs/venues.yaml", "    truth: entity\n", "");
    let without = ws
        .run(&["plan", "-f", "specs/venues.yaml", "--json"])
        .ok()
        .json();
    assert_eq!(with["changes"], without["changes"]);
    assert!(!ws.read("specs/venues.yaml").contains("truth"));
    // Without `truth:` in the spec, the column is named on the command line.
    let run = ws
        .run(&["evaluate", "-f", "specs/venues.yaml", "--truth"])
        .fails();
    assert!(
        run.stderr.contains("names no column of true ids"),
        "{}",
        run.stderr
    );
    ws.run(&["evaluate", "-f", "specs/venues.yaml", "--truth", "entity"])
        .ok();
}

#[test]
fn evaluate_against_labelled_pairs() {
    let ws = workspace();
    ws.write(
        "labels.csv",
        "left,right,label\n\
         guide:1,list:1,same\n\
         guide:2,list:2,distinct\n\
         guide:3,list:3,same\n\
         guide:1,list:3,distinct\n",
    );
    let json = ws
        .run(&[
            "evaluate",
            "-f",
            "specs/venues.yaml",
            "--labels",
            "labels.csv",
            "--json",
        ])
        .ok()
        .json();
    let at = &json["at_threshold"];
    assert_eq!(
        (at["links"].as_u64(), at["right"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(at["true_pairs"], 2);

    ws.write("labels.csv", "left,right,label\nguide:1,lst:1,same\n");
    let run = ws
        .run(&[
            "evaluate",
            "-f",
            "specs/venues.yaml",
            "--labels",
            "labels.csv",
        ])
        .fails();
    assert!(run.stderr.contains("labels.csv, line 2"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `list`?"),
        "{}",
        run.stderr
    );
}

/// `weights: labels` end to end: with twelve labelled pairs the model is trained on them and
/// `evaluate` says so; with three it keeps the defaults and says why.
#[test]
fn weights_trained_on_labelled_pairs_are_reported() {
    let names = [
        "Lulo Brewery",
        "Kaya Bistro",
        "Mugg and Bean",
        "Ocean Basket",
        "Zebra Lounge",
        "Fynbos Deli",
        "Tasha Cafe",
        "Sorbet Salon",
        "Barchefz",
        "Maltos",
        "Revue Bar",
        "Debonair Pizza",
    ];
    let ws = Workspace::empty();
    let spec = SPEC.replace(
        "match:\n",
        "match:\n  weights: labels\n  labels: labels.csv\n",
    );
    ws.write("specs/venues.yaml", &spec);
    let mut guide = String::from("id,name,phone,entity\n");
    let mut list = String::from("id,name,phone,entity\n");
    let mut labels = String::from("left,right,label\n");
    for (i, name) in names.iter().enumerate() {
        // The same venue in both lists, under one name, with the guide's switchboard number
        // and the list's own: the labels teach that phones differ between the lists.
        guide.push_str(&format!("{i},{name},08200000{i:02},E{i}\n"));
        list.push_str(&format!("{i},{name},08300000{i:02},E{i}\n"));
        labels.push_str(&format!("guide:{i},list:{i},same\n"));
    }
    ws.write("specs/guide.csv", &guide);
    ws.write("specs/list.csv", &list);
    ws.write("specs/labels.csv", &labels);
    let run = ws
        .run(&["evaluate", "-f", "specs/venues.yaml", "--truth"])
        .ok();
    assert!(
        run.stdout
            .contains("Model: weights trained on 12 labelled `same` pairs, u from"),
        "{}",
        run.stdout
    );

    let few: String = labels.lines().take(4).map(|l| format!("{l}\n")).collect();
    ws.write("specs/labels.csv", &few);
    let run = ws
        .run(&["evaluate", "-f", "specs/venues.yaml", "--truth"])
        .ok();
    assert!(
        run.stdout
            .contains("weights: labels, but each method's defaults in force")
            && run
                .stdout
                .contains("3 labelled `same` pairs are too few to train on"),
        "{}",
        run.stdout
    );
}
