//! Settling uncertain pairs: `reconcile review` on a terminal (driven through a pseudo-terminal),
//! its `--json` / `--apply` round trip, the labels file (`match.labels`) read like the spec's
//! own `same` / `distinct`, its errors placed at their line, and the records' names in every
//! listing of pairs.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::Workspace;

/// Six customers in each of two sources. `production:1` and `import:a` share a phone number
/// under different names: scored in the review band, not linked. `production:2` and
/// `import:b` are one name: linked. `email` is sensitive.
fn spec(match_extra: &str) -> String {
    format!(
        r#"version: 1
resource: customers
target:
  table: customers
  fields:
    name: {{ type: text, required: true }}
    phone: {{ type: phone, region: ZA }}
    email: {{ type: email, sensitive: true }}
sources:
  production:
    id: id
    fields: {{ name: name, phone: phone, email: email }}
    inline:
      - {{ id: "1", name: "Pemba Mozambican Restaurant", phone: "082 874 8637", email: "secret-pemba@example.com" }}
      - {{ id: "2", name: "Luma", phone: "" }}
      - {{ id: "3", name: "Shebeen", phone: "" }}
      - {{ id: "4", name: "Venue", phone: "" }}
      - {{ id: "5", name: "Debonair Pizza", phone: "" }}
      - {{ id: "6", name: "Culinary Institute", phone: "" }}
  import:
    id: id
    fields: {{ name: name, phone: phone, email: email }}
    inline:
      - {{ id: "a", name: "Chameleon \e]0;owned\a Village", phone: "+27 82 874 8637", email: "secret-chameleon@example.com" }}
      - {{ id: "b", name: "Luma", phone: "" }}
      - {{ id: "c", name: "Revue Bar", phone: "" }}
      - {{ id: "d", name: "Casa Bella", phone: "" }}
      - {{ id: "e", name: "Spur", phone: "" }}
      - {{ id: "f", name: "Nandos", phone: "" }}
match:
  threshold: 0.85
  review: 0.5
  compare:
    name: {{ method: name }}
    phone: {{ method: phone }}
{match_extra}"#
    )
}

const LABELS: &str = "  labels: reconcile.labels.csv\n";

fn workspace(match_extra: &str) -> Workspace {
    let ws = Workspace::empty();
    ws.write("specs/customers.yaml", &spec(match_extra));
    ws
}

/// Golden records the plan would create.
fn creates(ws: &Workspace) -> u64 {
    let plan = ws.run(&["plan", "--json"]).ok().json();
    plan["summary"]["create"].as_u64().unwrap()
}

/// The data rows of the labels file, without their times.
fn label_rows(ws: &Workspace) -> Vec<String> {
    let text = ws.read("specs/reconcile.labels.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("left,right,label,time"), "{text}");
    lines
        .map(|l| {
            let (rest, time) = l.rsplit_once(',').unwrap();
            assert!(
                time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
                "not an RFC 3339 UTC time: {l}"
            );
            rest.to_string()
        })
        .collect()
}

/// The binary running under a pseudo-terminal (util-linux `script`), with what it has drawn so
/// far, and its keyboard.
struct Pty {
    child: std::process::Child,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn spawn(ws: &Workspace, args: &str) -> Pty {
        let command = format!("'{}' {args}", env!("CARGO_BIN_EXE_reconcile"));
        let mut child = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .current_dir(ws.dir.path())
            .env("SHELL", "/bin/sh")
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("`script` (util-linux) runs the binary under a pseudo-terminal");
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut out = child.stdout.take().unwrap();
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty { child, screen }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until `what` has been drawn `times` times in all.
    fn wait_for(&self, what: &str, times: usize) {
        let start = Instant::now();
        while self.text().matches(what).count() < times {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what:?} was not drawn {times} times; the terminal shows:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn press(&mut self, key: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(key.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the program to end; its exit code and everything it drew.
    fn finish(mut self) -> (i32, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("review did not end; the terminal shows:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(self.child.stdin.take());
        std::thread::sleep(Duration::from_millis(100));
        (status.code().unwrap_or(-1), self.text())
    }
}

#[test]
fn review_on_a_terminal_appends_decisions_that_the_next_plan_obeys() {
    let ws = workspace(LABELS);
    // The spec names a labels file nobody has written yet: the plan says so, and what to do.
    let run = ws.run(&["plan"]).fails();
    assert!(
        run.stderr
            .contains("the labels file specs/reconcile.labels.csv does not exist"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("`reconcile review`"), "{}", run.stderr);

    // The review band pair, then the weakest link.
    let mut pty = Pty::spawn(&ws, "review --weakest 1");
    pty.wait_for("pair 1 of 2", 1);
    let first = pty.text();
    assert!(first.contains("Not linked: in the review band"), "{first}");
    assert!(first.contains("\"Pemba Mozambican Restaurant\""), "{first}");
    // Terminal escapes in values are shown escaped, sensitive values masked.
    assert!(
        first.contains("Chameleon \\u{1b}]0;owned\\u{7} Village"),
        "{first}"
    );
    assert!(!first.contains("\u{1b}]0;owned"), "{first}");
    assert!(first.contains("(sensitive value)"), "{first}");
    assert!(!first.contains("secret-"), "{first}");
    assert!(first.contains("phone"), "{first}");
    pty.press("d");
    pty.wait_for("pair 2 of 2", 1);
    // Back to the first pair, which shows the decision just recorded, and change it.
    pty.press("b");
    pty.wait_for("pair 1 of 2", 2);
    pty.wait_for("Decided: distinct", 1);
    pty.press("s");
    pty.wait_for("pair 2 of 2", 2);
    pty.press("q");
    let (code, shown) = pty.finish();
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("Recorded 2 decisions in specs/reconcile.labels.csv: 1 same, 1 distinct"),
        "{shown}"
    );

    // Both decisions are in the file, in order; the last one of the pair wins.
    assert_eq!(
        label_rows(&ws),
        vec![
            "production:1,import:a,distinct",
            "production:1,import:a,same"
        ]
    );
    assert_eq!(
        ws.read("specs/customers.yaml"),
        spec(LABELS),
        "the spec is never edited"
    );
    // Linked now: one golden record fewer, and nothing left to review.
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 10);
    assert_eq!(plan["review"].as_array().unwrap().len(), 0);
}

#[test]
fn review_json_and_apply_round_trip() {
    let ws = workspace("");
    let doc = ws.run(&["review", "--json"]).ok();
    assert!(!doc.stdout.contains("secret-"), "{}", doc.stdout);
    let mut doc = doc.json();
    assert_eq!(doc["labels"], "specs/reconcile.labels.csv");
    assert_eq!(doc["labels_in_spec"], false);
    let pairs = doc["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    let pair = &pairs[0];
    assert_eq!(
        (&pair["kind"], &pair["left"], &pair["right"]),
        (&"review".into(), &"production:1".into(), &"import:a".into())
    );
    assert_eq!(pair["left_name"], "Pemba Mozambican Restaurant");
    assert_eq!(pair["left_values"]["phone"], "+27828748637");
    assert_eq!(pair["left_values"]["email"], "(sensitive value)");
    let evidence: Vec<(&str, &str)> = pair["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["comparison"].as_str().unwrap(),
                e["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(evidence[1], ("phone", "exact"));
    assert_eq!(evidence[0].0, "name");
    assert!(pair["label"].is_null());

    // Decided elsewhere, then recorded.
    doc["pairs"][0]["label"] = "same".into();
    ws.write("decided.json", &doc.to_string());
    let run = ws.run(&["review", "--apply", "decided.json"]).ok();
    assert!(run.stdout.contains("Recorded 1 decision"), "{}", run.stdout);
    // The spec does not read the file yet: the line to add is printed, and nothing changes.
    assert!(
        run.stdout
            .contains("match:\n  labels: reconcile.labels.csv"),
        "{}",
        run.stdout
    );
    assert_eq!(label_rows(&ws), vec!["production:1,import:a,same"]);
    assert_eq!(creates(&ws), 11);
    ws.write("specs/customers.yaml", &spec(LABELS));
    assert_eq!(creates(&ws), 10);
    // Decided pairs are not asked again.
    let doc = ws.run(&["review", "--json"]).ok().json();
    assert_eq!(doc["pairs"].as_array().unwrap().len(), 0);

    // A plain array, and a labels CSV, are accepted too; a record no source holds is refused
    // with its place, and nothing of that file is written.
    ws.write(
        "more.json",
        r#"[{"left": "production:2", "right": "import:b", "label": "distinct"}]"#,
    );
    ws.run(&["review", "--apply", "more.json"]).ok();
    ws.write(
        "more.csv",
        "left,right,label\nproduction:3,import:c,unsure\nproduction:4,import:zz,same\n",
    );
    let run = ws.run(&["review", "--apply", "more.csv"]).fails();
    assert!(
        run.stderr
            .contains("more.csv, line 3: source `import` has no record `zz`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        label_rows(&ws),
        vec![
            "production:1,import:a,same",
            "production:2,import:b,distinct"
        ]
    );
    assert_eq!(
        creates(&ws),
        11,
        "the distinct decision splits the Luma pair"
    );
}

#[test]
fn review_without_a_terminal_names_the_flags_that_work_without_one() {
    let ws = workspace("");
    let run = ws.run(&["review"]).fails();
    assert!(run.stderr.contains("no terminal"), "{}", run.stderr);
    assert!(
        run.stderr.contains("reconcile review --json"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--apply FILE"), "{}", run.stderr);
}

#[test]
fn labels_link_split_and_withdraw_like_the_specs_own_pairs() {
    let ws = workspace(LABELS);
    ws.write("specs/reconcile.labels.csv", "left,right,label,time\n");
    assert_eq!(creates(&ws), 11);
    // `same` links the review pair, as `match.same` would.
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\nimport:a,production:1,same,2026-03-02T09:14:00Z\n",
    );
    assert_eq!(creates(&ws), 10);
    // `distinct` splits a pair the scores link, as `match.distinct` would.
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\nproduction:2,import:b,distinct,2026-03-02T09:14:00Z\n",
    );
    assert_eq!(creates(&ws), 12);
    // A later `unsure` withdraws it: the scores decide again.
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\nproduction:2,import:b,distinct,2026-03-02T09:14:00Z\n\
         import:b,production:2,unsure,2026-03-02T09:15:00Z\n",
    );
    assert_eq!(creates(&ws), 11);
    // A label naming a record no source holds is an error naming its line in the labels file.
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\n\nproduction:2,import:zz,same,\n",
    );
    let run = ws.run(&["plan"]).fails();
    assert!(
        run.stderr
            .contains("the `same` label on line 3 of specs/reconcile.labels.csv names `import:zz`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_new_label_is_planned_after_an_apply_of_unchanged_sources() {
    let ws = workspace(LABELS);
    ws.write("specs/reconcile.labels.csv", "left,right,label,time\n");
    ws.run(&["apply", "--auto-approve"]).ok();
    // Nothing changed since the apply: the plan does not read the sources again.
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert!(plan["shortcut"].is_object(), "{plan}");
    // A decision added to the labels file is a change of input: the sources are read and
    // matched again, and the record merged away is no longer in any golden record.
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\nproduction:1,import:a,same,2026-03-02T09:14:00Z\n",
    );
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert!(plan["shortcut"].is_null(), "{plan}");
    assert_eq!(plan["kept"].as_array().unwrap().len(), 1, "{plan}");
}

#[test]
fn bad_lines_of_the_labels_file_are_each_named_with_a_fix() {
    let ws = workspace(LABELS);
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\n\
         production:1,import:a,same,2026-03-02T09:14:00Z\n\
         production:2,imprt:b,sam,2026-03-02\n\
         production:3,production:3,distinct,\n",
    );
    let run = ws.run(&["plan"]).fails();
    let err = &run.stderr;
    for expected in [
        "--> specs/reconcile.labels.csv:3:14",
        "`imprt` in `imprt:b` is not a source of the spec",
        "did you mean `import`?",
        "--> specs/reconcile.labels.csv:3:22",
        "the label `sam` is not one of the labels",
        "write `same`, `distinct` or `unsure`",
        "the time `2026-03-02` is not an RFC 3339 time in UTC",
        "--> specs/reconcile.labels.csv:4:",
        "`production:3` is paired with itself",
        "4 problems in specs/reconcile.labels.csv",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
}

#[test]
fn evaluate_reads_the_labels_file_review_writes() {
    let ws = workspace("");
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\n\
         production:1,import:a,same,2026-03-02T09:14:00Z\n\
         production:2,import:b,distinct,2026-03-02T09:14:00Z\n\
         production:2,import:b,unsure,2026-03-02T09:15:00Z\n",
    );
    let json = ws
        .run(&[
            "evaluate",
            "--labels",
            "specs/reconcile.labels.csv",
            "--json",
        ])
        .ok()
        .json();
    // The withdrawn pair is not judged: one true pair, left unlinked by the scores.
    let at = &json["at_threshold"];
    assert_eq!(
        (&at["links"], &at["right"], &at["true_pairs"]),
        (&0.into(), &0.into(), &1.into())
    );
    // Measured against the file the spec obeys, its decisions are set aside: the scores are
    // measured, not the labels.
    ws.write("specs/customers.yaml", &spec(LABELS));
    assert_eq!(creates(&ws), 10);
    let json = ws
        .run(&[
            "evaluate",
            "--labels",
            "specs/reconcile.labels.csv",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(json["at_threshold"]["links"], 0);
}

#[test]
fn every_listing_of_pairs_names_the_records() {
    let ws = workspace("");
    let text = ws.run(&["plan"]).ok().stdout;
    assert!(
        text.contains(
            "? production:1 \"Pemba Mozambican Restaurant\" ~ import:a \"Chameleon \\u{1b}]0;owned\\u{7} Village\"  score 0."
        ),
        "{text}"
    );
    let plan = ws.run(&["plan", "--json"]).ok().json();
    let review = &plan["review"][0];
    assert_eq!(review["left_name"], "Pemba Mozambican Restaurant");
    assert_eq!(
        review["right_name"],
        "Chameleon \u{1b}]0;owned\u{7} Village"
    );
    // explain --json: every link with each comparison's evidence and its score.
    let doc = ws.run(&["explain", "--json"]).ok().json();
    let links = doc["links"].as_array().unwrap();
    let luma = links
        .iter()
        .find(|l| l["record"] == "import:b")
        .expect("the Luma link");
    assert_eq!(luma["to"], "production:2");
    assert!(luma["score"].as_f64().unwrap() >= 0.85);
    assert_eq!(luma["evidence"][0]["comparison"], "name");
    assert_eq!(luma["evidence"][0]["level"], "exact");
    assert!(luma["evidence"][0]["bits"].as_f64().unwrap() > 0.0);
    assert_eq!(doc["review"][0]["evidence"][1]["level"], "exact");
    // The HTML report.
    ws.run(&["plan", "--html", "report.html"]).ok();
    let html = ws.read("report.html");
    assert!(
        html.contains("<span class=\"name\">Pemba Mozambican Restaurant</span>"),
        "no name in the report"
    );
    assert!(!html.contains("secret-"));
}

#[test]
fn the_review_screen() {
    let ws = workspace("");
    let spec = reconcile::spec::load::load(&ws.path("specs/customers.yaml")).unwrap();
    let resolved = reconcile::pipeline::resolve(&spec).unwrap();
    let r = &resolved.matches.review[0];
    let pair = reconcile::review::Pair {
        kind: reconcile::review::Kind::Band,
        left: reconcile::review::view(&spec, &resolved.kept, r.to),
        right: reconcile::review::view(&spec, &resolved.kept, r.record),
        score: r.score.clone(),
        reason: reconcile::render::review::reason_words(&spec, &resolved.kept, &r.reason),
    };
    let place = reconcile::render::review::Place { index: 0, total: 3 };
    let screen = reconcile::render::review::screen(
        &spec,
        &pair,
        place,
        Some(reconcile::labels::Label::Unsure),
        100,
    );
    insta::assert_snapshot!("review_screen", screen.join("\n"));
}

#[test]
fn a_label_contradicting_the_specs_own_pairs_is_refused_naming_both() {
    // The spec says production:2 and import:b are one; the labels file says they are not.
    let ws = workspace(&format!("{LABELS}  same: [[production:2, import:b]]\n"));
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\nimport:b,production:2,distinct,2026-03-02T09:14:00Z\n",
    );
    let run = ws.run(&["plan"]).fails();
    for want in [
        "cannot be distinct (the `distinct` label on line 2 of specs/reconcile.labels.csv)",
        "and one entity (`match.same` on line",
        "reconcile review",
    ] {
        assert!(
            run.stderr.contains(want),
            "missing {want:?} in\n{}",
            run.stderr
        );
    }
    // Decided again, the last row wins and the contradiction is gone.
    ws.write(
        "specs/reconcile.labels.csv",
        "left,right,label,time\nimport:b,production:2,distinct,2026-03-02T09:14:00Z\n\
         import:b,production:2,same,2026-03-02T09:15:00Z\n",
    );
    ws.run(&["plan"]).ok();
}
