//! The no-change shortcut: a plan that need not read and match the sources, because nothing
//! the last apply was made from has changed and the table still holds what it wrote.
//!
//! Every apply records, per resource, an *inputs fingerprint* (the spec's bytes, the values
//! of the environment variables it names, every source file's path and bytes (each file a
//! pattern matches), the reconcile
//! version and the options that change a plan) and a digest of the state entries it left
//! behind, with the parts of its plan that are not changes (excluded records, pairs to
//! review, kept rows). A later plan of the same resource whose inputs fingerprint is the same
//! resolves the sources to the very same desired records, so when the table still holds
//! exactly what that apply wrote, the full plan is known without resolving: no changes.
//!
//! "Exactly what it wrote" is checked row by row, as the full plan would: the state digest is
//! the one recorded (no apply, of any version, changed the state since), every managed row
//! still exists and its values hash to the hash the state keeps (rows kept although their
//! record left the sources need only exist), and, when the spec owns the table, no row is
//! unmanaged. Rows the tool does not manage otherwise play no part: every desired record is
//! paired with its row through the state, before any row is looked for by key or matcher. Anything else takes the full path, whose result is unchanged.
//! A spec with a query source has no cheap fingerprint and never takes the shortcut.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    Action, Change, ExcludedItem, InvalidItem, Missing, Options, OverrideNote, Plan, Reason,
    ReviewItem,
};
use crate::fingerprint::{InputsHasher, StateDigest, Sum};
use crate::merge::SourceRef;
use crate::spec::compiled::{Compiled, Input};
use crate::state::CurrentState;
use crate::value::Value;

/// What an apply records for its resource, to let the next plan skip resolving.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The inputs fingerprint the applied plan was made from.
    pub inputs: String,
    /// The digest of the resource's state entries the apply left
    /// ([`crate::fingerprint::StateDigest`]).
    pub state: String,
    /// When the apply ran (RFC 3339).
    pub applied_at: String,
    /// The parts of the applied plan that are not changes.
    pub aside: Aside,
}

/// The parts of a plan that are not changes, as recorded with the inputs fingerprint: what a
/// no-change plan shows besides "No changes".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Aside {
    pub excluded: Vec<ExcludedItem>,
    pub review: Vec<ReviewItem>,
    pub kept: Vec<Missing>,
    /// Invalid values left out (absent from what older versions recorded).
    #[serde(default)]
    pub invalid: Vec<InvalidItem>,
    /// What the `same` / `distinct` pairs changed (absent from what older versions recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideNote>,
    /// What the table's rows summed to when the apply was done, by their canonical prints,
    /// when the apply could tell and had checked every row it wrote against its entry: a
    /// plan whose rows and entries sum to what was recorded needs to look at no row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_left: Option<Sum>,
}

impl Aside {
    /// What the plan leaves aside. A plan that deletes its missing rows keeps none of them.
    pub fn of(plan: &Plan) -> Aside {
        Aside {
            excluded: plan.excluded.clone(),
            review: plan.review.clone(),
            kept: plan.missing.clone(),
            invalid: plan.invalid.clone(),
            overrides: plan.overrides.clone(),
            rows_left: None,
        }
    }
}

/// Says, in a plan, that it was made by the shortcut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortcut {
    /// When the apply the plan relies on ran.
    pub applied_at: String,
    /// Records up to date that the plan counts but does not list one by one: a plan shown
    /// only as text never shows them, so they are not built.
    #[serde(default)]
    pub unlisted: usize,
}

/// The inputs fingerprint of a spec for a run with `options`, or `None` when the spec has no
/// cheap one (a query source) or a file cannot be read (the full path then reports it).
///
/// It is taken before the sources are read for a plan, so a source edited while planning
/// makes the recorded fingerprint describe the older bytes: the next plan then misses the
/// shortcut rather than trusting a table built from other data.
pub fn inputs_fingerprint(spec: &Compiled, options: Options) -> Option<String> {
    let mut h = InputsHasher::new();
    let mut part = |bytes: &[u8]| h.part(bytes);
    part(b"reconcile inputs 1");
    part(env!("CARGO_PKG_VERSION").as_bytes());
    part(&[u8::from(options.prune), u8::from(options.allow_mass_delete)]);
    let text = std::fs::read(&spec.file).ok()?;
    part(&text);
    // `${VAR}` in the spec: the values it expands to are part of what it says.
    for name in env_names(&String::from_utf8_lossy(&text)) {
        part(name.as_bytes());
        match crate::spec::load::expand_str(&format!("${{{name}}}")) {
            Ok(v) => part(format!("={v}").as_bytes()),
            Err(_) => part(b"(unset)"),
        }
    }
    // The labels file decides links as the spec's `same` and `distinct` do.
    if let Some(labels) = &spec.matching.labels {
        part(b"labels");
        part(&crate::fingerprint::file_sha256(labels).ok()?);
    }
    // Every file a pattern matches, so that adding, removing or editing any one of them is
    // seen; the files are hashed on every core, and taken in order.
    let mut files = Vec::new();
    for source in &spec.sources {
        match &source.input {
            Input::File { path, glob, .. } => {
                files.push(crate::files::source_paths(path, glob.as_ref()).ok()?);
            }
            Input::Inline(_) => files.push(Vec::new()),
            Input::Sql { .. } => return None,
        }
    }
    let hashes: Vec<[u8; 32]> = {
        use rayon::prelude::*;
        let all: Vec<&std::path::PathBuf> = files.iter().flatten().collect();
        all.par_iter()
            .map(|p| crate::fingerprint::file_sha256(p).ok())
            .collect::<Option<_>>()?
    };
    let mut hashes = hashes.iter();
    for (source, paths) in spec.sources.iter().zip(&files) {
        part(source.name.as_bytes());
        match &source.input {
            Input::File { .. } => {
                part(&(paths.len() as u64).to_le_bytes());
                for (p, hash) in paths.iter().zip(&mut hashes) {
                    part(absolute(p).to_string_lossy().as_bytes());
                    part(hash);
                }
            }
            // Inline records live in the spec's bytes.
            _ => part(b"inline"),
        }
    }
    Some(h.finish())
}

fn absolute(path: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The expressions inside `${…}` in a text (a name, or a name with a `:-default`).
fn env_names(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        match rest.find('}') {
            Some(end) => {
                out.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Why the shortcut was not taken, for `--explain`-like diagnostics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No apply recorded inputs for this resource (or it was made with other options).
    NoRecord,
    /// The spec, a source, an environment variable or the version differs.
    InputsChanged,
    /// The state entries differ from those the last apply left.
    StateChanged,
    /// The table does not exist.
    NoTable,
    /// The table lacks a column the spec maps: the full plan adds it.
    ColumnMissing,
    /// A managed row was deleted outside reconcile.
    RowVanished,
    /// A managed row's values differ from those applied.
    RowChanged,
    /// The spec owns the table and a row is not managed.
    Unmanaged,
}

/// Whether the shortcut applies: the same inputs as the last apply, the state it left, and
/// every managed row as it wrote it. Builds nothing.
pub fn check(
    spec: &Compiled,
    inputs: &str,
    record: Option<&Record>,
    current: &CurrentState,
) -> Result<(), Miss> {
    check_rows(spec, inputs, record, current).map(|_| ())
}

/// [`check`], giving for each state entry its row (by index into the rows read) and whether
/// it is a kept row whose record left the sources.
fn check_rows(
    spec: &Compiled,
    inputs: &str,
    record: Option<&Record>,
    current: &CurrentState,
) -> Result<Vec<(usize, bool)>, Miss> {
    use rayon::prelude::*;
    let record = record.ok_or(Miss::NoRecord)?;
    same_inputs_and_columns(inputs, record, current)?;
    if record.state != crate::state::state_digest(&current.state).text() {
        return Err(Miss::StateChanged);
    }
    let kept: HashSet<&str> = record
        .aside
        .kept
        .iter()
        .map(|m| m.address.as_str())
        .collect();
    // Every entry's row, checked on every core; the first problem found in state order wins,
    // so the reason does not depend on the number of threads.
    let rows: Vec<Result<(usize, bool), Miss>> = current
        .state
        .par_iter()
        .map(|s| {
            // A kept row the full plan would no longer list (it was deleted) differs too.
            let ri = row_of(current, &s.row_key).ok_or(Miss::RowVanished)?;
            // A kept row's values are not the plan's business (no source holds its record),
            // but any other managed row must hold what was applied.
            let is_kept = kept.contains(s.address.as_str());
            if !is_kept && !row_holds(&current.rows[ri], &s.hash) {
                return Err(Miss::RowChanged);
            }
            // Soft-deleted outside reconcile while its record is still in the sources: the
            // full plan restores it.
            if !is_kept && current.soft_deleted.contains(&s.row_key) {
                return Err(Miss::RowChanged);
            }
            Ok((ri, is_kept))
        })
        .collect();
    let rows: Vec<(usize, bool)> = rows.into_iter().collect::<Result<_, _>>()?;
    if spec.owns_table {
        let managed: HashSet<usize> = rows.iter().map(|&(ri, _)| ri).collect();
        if managed.len() != current.rows.len() {
            return Err(Miss::Unmanaged);
        }
    }
    Ok(rows)
}

/// The first checks of either way: the inputs the record was made from, and a table that
/// has every column the spec maps.
fn same_inputs_and_columns(
    inputs: &str,
    record: &Record,
    current: &CurrentState,
) -> Result<(), Miss> {
    if record.inputs != inputs {
        return Err(Miss::InputsChanged);
    }
    if !current.table_exists {
        return Err(Miss::NoTable);
    }
    if !current.missing_columns.is_empty() {
        return Err(Miss::ColumnMissing);
    }
    Ok(())
}

/// Whether a row holds the values whose hash is `hash`: by the digest the read kept, or by
/// hashing its values.
fn row_holds(row: &crate::state::CurrentRow, hash: &str) -> bool {
    match &row.digest {
        Some(digest) => crate::fingerprint::digest_matches(digest, hash),
        None => crate::fingerprint::values_hash_matches(&row.values, hash),
    }
}

/// The index of the row a state entry points to. The reader sorts rows by key, so no index
/// needs building; integer keys are usually dense, so the row at the key's offset from the
/// first is tried before searching.
fn row_of(current: &CurrentState, row_key: &str) -> Option<usize> {
    let rows = &current.rows;
    if current.integer_key {
        let k: i64 = row_key.parse().ok()?;
        if let Some(Value::Int(first)) = rows.first().map(|r| &r.key)
            && let Some(guess) = k.checked_sub(*first).and_then(|o| usize::try_from(o).ok())
            && rows.get(guess).is_some_and(|r| r.key == Value::Int(k))
        {
            return Some(guess);
        }
        rows.binary_search_by(|r| r.key.cmp(&Value::Int(k))).ok()
    } else {
        rows.binary_search_by(|r| match &r.key {
            Value::Text(t) => t.as_str().cmp(row_key),
            other => other.cmp(&Value::Text(row_key.to_string())),
        })
        .ok()
    }
}

/// The plan, when the shortcut applies: every managed row up to date, and the recorded
/// excluded records, pairs to review and kept rows. Otherwise, why not, with `current` as it
/// was. With `list`, every record up to date is listed, as `plan --json` shows them: the
/// rows' values are then moved into the plan and `current` keeps only their keys, so
/// `current` must hold the values (not only their digests). Without it, they are only
/// counted.
pub fn plan(
    spec: &Compiled,
    inputs: &str,
    record: Option<&Record>,
    current: &mut CurrentState,
    list: bool,
) -> Result<Plan, Miss> {
    let rows = check_rows(spec, inputs, record, current)?;
    let record = record.ok_or(Miss::NoRecord)?;
    let width = spec.fields.len();
    let rows_read = current.rows.len();
    let mut changes = Vec::new();
    let mut unlisted = 0;
    for (s, (ri, kept)) in current.state.iter().zip(rows) {
        if kept {
            continue;
        }
        if !list {
            unlisted += 1;
            continue;
        }
        let row = &mut current.rows[ri];
        let values = std::mem::take(&mut row.values);
        changes.push(Change {
            address: s.address.clone(),
            action: Action::NoOp,
            reason: Reason::UpToDate,
            row_key: Some(row.key.clone()),
            before: Some(values.clone()),
            after: Some(values),
            changed: Vec::new(),
            // Which source each value came from is only known by resolving.
            provenance: vec![None; width],
            members: s.members.iter().map(|m| SourceRef::parse(m)).collect(),
            names: Vec::new(),
            conflicts: Default::default(),
            write_state: false,
            replaces: false,
        });
    }
    Ok(no_change(
        spec, inputs, record, current, changes, unlisted, rows_read,
    ))
}

/// The plan, when the rows and entries a read summed ([`crate::db::read::Keep::Sums`]) are
/// those the last apply left: it had checked each row it wrote against its entry, and the
/// table and state it left then passed the row-by-row check of [`plan`], so a table that
/// sums to the same passes it too, without a row read. Records up to date are only counted.
/// Otherwise, why not: the caller then reads the rows.
pub fn plan_from_sums(
    spec: &Compiled,
    inputs: &str,
    record: &Record,
    current: &CurrentState,
) -> Result<Plan, Miss> {
    same_inputs_and_columns(inputs, record, current)?;
    let state = current.prints.state_sum();
    if record.state != StateDigest::of_sum(state.count, state.sum).text() {
        return Err(Miss::StateChanged);
    }
    // A soft delete's flag is not among the rows' values: such a spec never records a sum.
    let rows = current.prints.canonical();
    if spec.soft_delete.is_some() || record.aside.rows_left != Some(rows) {
        return Err(Miss::RowChanged);
    }
    let kept = record.aside.kept.len() as u64;
    let unlisted = usize::try_from(state.count.saturating_sub(kept)).unwrap_or(usize::MAX);
    let rows_read = usize::try_from(rows.count).unwrap_or(usize::MAX);
    Ok(no_change(
        spec,
        inputs,
        record,
        current,
        Vec::new(),
        unlisted,
        rows_read,
    ))
}

/// The plan of no change the shortcut makes, with `changes` (the records up to date it
/// lists) and `unlisted` (those it only counts).
fn no_change(
    spec: &Compiled,
    inputs: &str,
    record: &Record,
    current: &CurrentState,
    changes: Vec<Change>,
    unlisted: usize,
    rows_read: usize,
) -> Plan {
    Plan {
        changes,
        missing: record.aside.kept.clone(),
        excluded: record.aside.excluded.clone(),
        invalid: record.aside.invalid.clone(),
        review: record.aside.review.clone(),
        overrides: record.aside.overrides.clone(),
        fingerprint: current.fingerprint.clone(),
        rows_read,
        // `read`, what a saved plan uses to name the rows that changed, stays empty: the
        // shortcut never makes one.
        inputs: Some(inputs.to_string()),
        shortcut: Some(Shortcut {
            applied_at: record.applied_at.clone(),
            unlisted,
        }),
        schema: super::schema::of(spec, current),
        ..Plan::of_spec(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_entry_finds_its_row_with_dense_gapped_or_text_keys() {
        use crate::state::CurrentRow;
        let table = |keys: Vec<Value>, integer_key: bool| CurrentState {
            integer_key,
            rows: keys
                .into_iter()
                .map(|key| CurrentRow {
                    key,
                    values: Vec::new(),
                    digest: None,
                })
                .collect(),
            ..Default::default()
        };
        let dense = table((5..10).map(Value::Int).collect(), true);
        assert_eq!(row_of(&dense, "5"), Some(0));
        assert_eq!(row_of(&dense, "9"), Some(4));
        assert_eq!(row_of(&dense, "10"), None);
        assert_eq!(row_of(&dense, "4"), None);
        assert_eq!(row_of(&dense, "x"), None);
        // Gaps: the guess misses and the search finds it.
        let gapped = table([1, 2, 7, 40, 41].map(Value::Int).to_vec(), true);
        assert_eq!(row_of(&gapped, "7"), Some(2));
        assert_eq!(row_of(&gapped, "41"), Some(4));
        assert_eq!(row_of(&gapped, "3"), None);
        let text = table(
            ["a", "b", "d"].map(|k| Value::Text(k.into())).to_vec(),
            false,
        );
        assert_eq!(row_of(&text, "d"), Some(2));
        assert_eq!(row_of(&text, "c"), None);
    }

    fn spec(extra: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: r\n{extra}target:\n  table: t\n  key: email\n  \
                 fields:\n    name: {{ type: text }}\n    email: {{ type: email }}\n\
                 sources:\n  s:\n    id: name\n    inline: [{{ name: x }}]\n    \
                 fields: {{ name: name, email: email }}\n"
            ),
            Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    #[test]
    fn sums_as_recorded_make_a_plan_of_no_change_and_any_other_does_not() {
        let mut prints = crate::fingerprint::Prints::default();
        for p in [11, 12, 13] {
            prints.canonical_row(p);
        }
        for p in [21, 22] {
            prints.state(p);
        }
        let current = CurrentState {
            table_exists: true,
            prints,
            ..Default::default()
        };
        let state = prints.state_sum();
        let record = Record {
            inputs: "in".into(),
            state: StateDigest::of_sum(state.count, state.sum).text(),
            applied_at: "then".into(),
            aside: Aside {
                rows_left: Some(prints.canonical()),
                kept: vec![Missing {
                    address: "gone".into(),
                    row_key: "3".into(),
                    members: Vec::new(),
                    name: None,
                }],
                ..Aside::default()
            },
        };
        let s = spec("");
        let plan = plan_from_sums(&s, "in", &record, &current).unwrap();
        assert_eq!(
            plan.shortcut.as_ref().unwrap().unlisted,
            1,
            "one of two is kept"
        );
        assert_eq!((plan.rows_read, plan.changes.len()), (3, 0));
        assert_eq!(plan.inputs.as_deref(), Some("in"));

        let miss = |record: &Record, current: &CurrentState, s: &Compiled| {
            plan_from_sums(s, "in", record, current).err()
        };
        assert_eq!(
            miss(
                &record,
                &current,
                &spec("on_missing: soft_delete\nsoft_delete: { column: archived, value: true }\n")
            ),
            Some(Miss::RowChanged)
        );
        let mut other = current.clone();
        other.prints.canonical_row(14);
        assert_eq!(miss(&record, &other, &s), Some(Miss::RowChanged));
        let mut other = current.clone();
        other.prints.state(23);
        assert_eq!(miss(&record, &other, &s), Some(Miss::StateChanged));
        let other = CurrentState {
            table_exists: false,
            ..current.clone()
        };
        assert_eq!(miss(&record, &other, &s), Some(Miss::NoTable));
        let mut unrecorded = record.clone();
        unrecorded.aside.rows_left = None;
        assert_eq!(miss(&unrecorded, &current, &s), Some(Miss::RowChanged));
        assert_eq!(
            plan_from_sums(&s, "other", &record, &current).err(),
            Some(Miss::InputsChanged)
        );
    }

    #[test]
    fn environment_names_are_found() {
        assert_eq!(env_names("a: ${X}\nb: ${Y:-d} ${"), vec!["X", "Y:-d"]);
    }
}

#[cfg(test)]
mod recorded {
    use super::*;
    use crate::plan::{Instead, OverrideNote, ReviewReason};
    use crate::spec::compiled::Origin;

    #[test]
    fn what_an_apply_recorded_reads_back_old_and_new() {
        // Recorded before review reasons named their setting: kept as worded.
        let old = r#"{"excluded":[],"kept":[],"review":[{"left":{"source":"a","id":"1"},
            "right":{"source":"b","id":"2"},"score":0.7,
            "reason":"in the review band, below the threshold"}]}"#;
        let aside: Aside = serde_json::from_str(old).unwrap();
        assert_eq!(
            aside.review[0].reason,
            ReviewReason::Worded("in the review band, below the threshold".into())
        );
        assert!(aside.overrides.is_empty());
        let r = |s: &str, id: &str| SourceRef {
            source: s.into(),
            id: id.into(),
        };
        let now = Aside {
            review: vec![
                ReviewItem {
                    left: r("a", "1"),
                    right: r("b", "2"),
                    score: 0.9,
                    reason: ReviewReason::OneToOne {
                        taken: r("b", "3"),
                        to: r("a", "1"),
                    },
                    left_name: Some("Acme".into()),
                    right_name: None,
                },
                ReviewItem {
                    left: r("b", "5"),
                    right: r("b", "6"),
                    score: 0.95,
                    reason: ReviewReason::OtherPlace,
                    left_name: None,
                    right_name: None,
                },
                ReviewItem {
                    left: r("c", "7"),
                    right: r("a", "1"),
                    score: 0.97,
                    reason: ReviewReason::TwoPlaces {
                        left: r("c", "7"),
                        right: r("a", "4"),
                    },
                    left_name: None,
                    right_name: None,
                },
                ReviewItem {
                    left: r("b", "8"),
                    right: r("b", "9"),
                    score: 0.9,
                    reason: ReviewReason::Against {
                        left: r("b", "8"),
                        right: r("b", "10"),
                    },
                    left_name: None,
                    right_name: None,
                },
            ],
            overrides: vec![OverrideNote {
                origin: Origin {
                    file: "specs/x.yaml".into(),
                    line: 12,
                    kind: "distinct",
                    label: false,
                },
                record: r("b", "2"),
                address: "acme".into(),
                was_with: Some(r("a", "1")),
                instead: Some(Instead {
                    to: r("a", "4"),
                    score: 0.9,
                }),
            }],
            ..Aside::default()
        };
        let text = serde_json::to_string(&now).unwrap();
        assert!(text.contains(r#""reason":"other_place""#), "{text}");
        assert_eq!(serde_json::from_str::<Aside>(&text).unwrap(), now);
        let codes: Vec<&str> = now.review.iter().map(|i| i.reason.code()).collect();
        assert_eq!(
            codes,
            ["one_to_one", "other_place", "two_places", "against"]
        );
        let worded = crate::render::review_reason(&now.review[2].reason, |a| a.to_string());
        assert!(worded.contains("c:7") && worded.contains("a:4"), "{worded}");
    }
}
