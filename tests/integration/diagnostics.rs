//! The corpus of broken specs in `tests/fixtures/invalid/`. Each fixture says, in `# ERROR:`
//! comments on the lines concerned, what must be reported there; every problem found must be
//! expected and every expectation found, all in one run. The full text each fixture produces
//! is kept as a snapshot, so any change in wording is seen in review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reconcile::error::Error;

use crate::common::Workspace;

const MARK: &str = "# ERROR:";

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is missing: {files:?}");
    files
}

/// Line number → the texts expected in the problems reported at that line.
fn expectations(text: &str) -> BTreeMap<usize, Vec<String>> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.split(MARK).skip(1).peekable();
        if parts.peek().is_some() {
            out.insert(i + 1, parts.map(|p| p.trim().to_string()).collect());
        }
    }
    out
}

#[test]
fn every_fixture_reports_exactly_the_problems_it_expects() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = expectations(&text);
        assert!(!expected.is_empty(), "{name} has no `{MARK}` comment");
        let problems = match reconcile::spec::load::load(&path) {
            Ok(_) => {
                failures.push(format!("{name}: loaded without a problem"));
                continue;
            }
            Err(Error::Spec(e)) => e.problems,
            Err(other) => panic!("{name}: not a spec error: {other}"),
        };
        let mut by_line: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for p in &problems {
            let full = format!(
                "{}{} {}",
                p.path,
                p.message,
                p.help.as_deref().unwrap_or("")
            );
            by_line.entry(p.line).or_default().push(full);
        }
        for (line, wants) in &expected {
            let got = by_line.get(line).cloned().unwrap_or_default();
            for want in wants {
                if !got.iter().any(|g| g.contains(want.as_str())) {
                    failures.push(format!(
                        "{name}:{line}: expected {want:?}, reported there: {got:?}"
                    ));
                }
            }
        }
        for (line, got) in &by_line {
            if !expected.contains_key(line) {
                failures.push(format!("{name}:{line}: unexpected {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_fixture_is_shown_in_full_and_exits_1() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ws = Workspace::empty();
    for path in fixtures() {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let run = ws.run(&["validate", "-f", &path.to_string_lossy()]).fails();
        assert!(run.stdout.is_empty(), "{rel}: {}", run.stdout);
        assert!(
            !run.stderr.contains('\u{1b}'),
            "no colour without a terminal: {}",
            run.stderr
        );
        let stderr = run
            .stderr
            .replace(&path.to_string_lossy().into_owned(), &rel);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        insta::with_settings!({ snapshot_suffix => name, description => rel, omit_expression => true }, {
            insta::assert_snapshot!("diagnostic", stderr);
        });
    }
}
