//! Reading a spec file: YAML with locations, `${VAR}` expansion, validation against the JSON
//! Schema, deserialisation, then the semantic checks of [`super::compiled`]. Every problem found
//! on the way is gathered, with file:line:column, the field path and a suggested fix.

pub use super::report::{Reporter, display_path};
pub use crate::suggest::did_you_mean;
use std::path::{Path, PathBuf};

use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use super::Spec;
use super::compiled::Compiled;
use super::schema;
use super::yaml::{self, Located};
use crate::error::{Error, Result, SpecErrors, SpecProblem};

/// The most YAML nodes a spec may hold (aliases expanded).
const SPEC_NODE_BUDGET: usize = 1_000_000;

/// The largest spec file read: specs are written by hand.
const SPEC_MAX_SIZE: u64 = 64 << 20;

/// What loading does when the spec names a labels file (`match.labels`) that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingLabels {
    /// A problem of the spec: the decisions it points to are not there.
    Error,
    /// No decisions yet: `reconcile review`, which creates the file, reads the spec so.
    Allow,
}

/// Loads, validates and compiles the spec at `path`.
pub fn load(path: &Path) -> Result<Compiled> {
    load_with(path, MissingLabels::Error)
}

/// Loads, validates and compiles the spec at `path`, with a choice about a missing labels
/// file.
pub fn load_with(path: &Path, missing_labels: MissingLabels) -> Result<Compiled> {
    // A spec is small: a device or FIFO named by mistake is refused, not read for ever.
    let text =
        crate::files::read_file(path, SPEC_MAX_SIZE).map_err(|reason| Error::SpecNotFound {
            path: path.to_path_buf(),
            reason,
        })?;
    let file = path.display().to_string();
    let text = String::from_utf8(text).map_err(|e| {
        Error::Spec(SpecErrors {
            file: file.clone(),
            problems: vec![SpecProblem {
                file: file.clone(),
                line: 0,
                column: 0,
                path: String::new(),
                message: format!(
                    "the file is not valid UTF-8 (byte {})",
                    e.utf8_error().valid_up_to()
                ),
                help: Some("save the spec as UTF-8".into()),
                src: None,
                span: None,
            }],
        })
    })?;
    load_str_with(&text, path, missing_labels)
}

/// Loads a spec from text; `path` names the file in messages and anchors relative paths.
///
/// Problems are gathered, not returned one at a time: duplicate keys, unset variables and
/// schema errors first; then, when the parts the schema rejected can be set aside, the
/// semantic checks run on the rest, so one run shows (nearly) everything there is to fix.
pub fn load_str(text: &str, path: &Path) -> Result<Compiled> {
    load_str_with(text, path, MissingLabels::Error)
}

/// As [`load_str`], with a choice about a missing labels file.
pub fn load_str_with(text: &str, path: &Path, missing_labels: MissingLabels) -> Result<Compiled> {
    let file = path.display().to_string();
    let mut located = match yaml::parse_collecting_duplicates(text, SPEC_NODE_BUDGET) {
        Ok(l) => l,
        Err(e) => {
            let empty = Located::default();
            let mut r = Reporter::new(file.clone(), text, &empty);
            let help = (!e.message.starts_with("document too large")).then(|| {
                "check the indentation and the brackets and quotes on this line and the lines \
                 above it"
                    .to_string()
            });
            r.push(e.location, "", format!("invalid YAML: {}", e.message), help);
            return r
                .finish()
                .map(|_| unreachable!("a YAML error was reported"));
        }
    };

    // `${VAR}` expansion, everywhere but the database URL, which is expanded only when used
    // (so a spec naming `${DATABASE_URL}` still validates on a machine without it).
    let mut unset = Vec::new();
    expand_env(&mut located.value, "", &mut unset);

    let mut r = Reporter::new(file.clone(), text, &located);
    for d in &located.duplicates {
        duplicate_problem(d, &mut r);
    }
    for (pointer, var) in unset {
        r.at_value(
            &pointer,
            format!("environment variable `{var}` is not set"),
            Some(format!(
                "set `{var}`, or write `${{{var}:-default}}` to give a default"
            )),
        );
    }
    let rejected = schema_problems(&located.value, &mut r);
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if !r.problems.is_empty() {
        semantic_problems_beside(&located.value, &rejected, path, &base, &mut r);
        return r.finish().map(|_| unreachable!("problems were reported"));
    }
    let spec: Spec = match serde_json::from_value(located.value.clone()) {
        Ok(s) => s,
        Err(e) => {
            r.at("", format!("the spec does not fit its schema: {e}"), None);
            return r.finish().map(|_| unreachable!("a problem was reported"));
        }
    };
    let mut compiled = super::compile::compile(&spec, path, &base, &mut r);
    if let Some(c) = &compiled {
        super::compile::check_identity(c, &mut r);
        super::compile::check_sensitive_ids(c, &mut r);
    }
    let labels = match compiled.as_mut() {
        Some(c) if r.problems.is_empty() => read_labels(c, missing_labels, &mut r),
        _ => Ok(()),
    };
    r.finish()?;
    labels?;
    Ok(compiled.expect("compile returns a spec when it reports no problem"))
}

/// Adds the decisions of the labels file the spec names to its `same` and `distinct` pairs.
/// A file that is missing or unreadable is a problem of the spec, placed at `match.labels`;
/// a bad row is an error of the labels file, placed at its line.
fn read_labels(c: &mut Compiled, missing: MissingLabels, r: &mut Reporter<'_>) -> Result<()> {
    let Some(file) = c.matching.labels.clone() else {
        return Ok(());
    };
    match crate::labels::read(&file) {
        Ok(Some(text)) => {
            crate::labels::apply(c, &file, &text)?;
            label_contradictions(c, r);
            return Ok(());
        }
        Ok(None) if missing == MissingLabels::Allow => {}
        Ok(None) => r.at_value(
            "/match/labels",
            format!("the labels file {} does not exist", file.display()),
            Some(format!(
                "`reconcile review` creates it with the first pair you decide; or create it \
                 with the header line `{}`",
                crate::labels::HEADER
            )),
        ),
        Err(reason) => r.at_value(
            "/match/labels",
            format!("cannot read the labels file {}: {reason}", file.display()),
            None,
        ),
    }
    Ok(())
}

/// A `distinct` decision that a chain of `same` decisions makes one entity, where a labels
/// file wrote one of them (the spec's own pairs are checked as it compiles): refused, at
/// `match.labels`, naming every line involved.
fn label_contradictions(c: &Compiled, r: &mut Reporter<'_>) {
    let name = |x: &super::compiled::RecordRef| format!("{}:{}", c.sources[x.source].name, x.id);
    for d in &c.matching.distinct {
        let Some(chain) = super::compile::same_chain(&c.matching.same, &d.a, &d.b) else {
            continue;
        };
        if !d.origin.label && chain.iter().all(|o| !o.origin.label) {
            continue;
        }
        let same: Vec<String> = chain.iter().map(|o| o.origin.to_string()).collect();
        r.at_value(
            "/match/labels",
            format!(
                "`{}` and `{}` cannot be distinct ({}) and one entity ({})",
                name(&d.a),
                name(&d.b),
                d.origin,
                same.join(", ")
            ),
            Some(
                "decide the pair again with `reconcile review` (the last row of a pair wins), or \
                 remove the spec pair that is wrong"
                    .into(),
            ),
        );
    }
}

/// A key written twice. Most YAML readers silently keep the last value, which hides mistakes
/// such as two sources with the same name; here it is an error, pointing at both.
fn duplicate_problem(d: &yaml::Duplicate, r: &mut Reporter<'_>) {
    let parent = &d.pointer[..d.pointer.rfind('/').unwrap_or(0)];
    let first = format!("the first `{}` is at line {}", d.key, d.first.line);
    let (message, help) = match parent {
        "/sources" => (
            format!("two sources are named `{}`", d.key),
            format!("{first}; give each source its own name"),
        ),
        "/target/fields" => (
            format!("two target fields are named `{}`", d.key),
            format!("{first}; give each field its own name"),
        ),
        _ => (
            format!("duplicate key `{}`", d.key),
            format!("{first}; remove one of them"),
        ),
    };
    r.push(d.at, &d.pointer, message, Some(help));
}

/// How the schema rejected a node, for setting it aside before the semantic checks.
enum Rejected {
    /// An unknown key: dropping it leaves the rest as written.
    Key(String),
    /// A value of the wrong type or out of range: dropping it lets a default stand in, so
    /// semantic problems next to it may be artefacts of that default.
    Value(String),
    /// Cannot be set aside (a missing key, a list item): no semantic checks this time.
    Blocking,
}

/// Runs the semantic checks on the spec with the nodes the schema rejected removed, so their
/// problems are reported in the same run. Problems beside a replaced value are left out,
/// since they may only reflect the default standing in for it.
fn semantic_problems_beside(
    value: &Value,
    rejected: &[Rejected],
    path: &Path,
    base: &Path,
    r: &mut Reporter<'_>,
) {
    let mut pruned = value.clone();
    let mut replaced_parents = Vec::new();
    for rej in rejected {
        let pointer = match rej {
            Rejected::Blocking => return,
            Rejected::Key(p) => p,
            Rejected::Value(p) => {
                let parent = &p[..p.rfind('/').unwrap_or(0)];
                replaced_parents.push(display_path(parent));
                p
            }
        };
        let Some((parent, last)) = pointer.rsplit_once('/') else {
            return;
        };
        let last = last.replace("~1", "/").replace("~0", "~");
        match pruned.pointer_mut(parent) {
            Some(Value::Object(m)) => {
                m.shift_remove(&last);
            }
            _ => return,
        }
    }
    let Ok(spec) = serde_json::from_value::<Spec>(pruned) else {
        return;
    };
    let before = r.problems.len();
    let _ = super::compile::compile(&spec, path, base, r);
    let beside = |p: &SpecProblem| {
        let at = p.path.trim_end_matches(": ");
        replaced_parents.iter().any(|parent| {
            parent.is_empty()
                || at == parent
                || at.starts_with(&format!("{parent}."))
                || at.starts_with(&format!("{parent}["))
        })
    };
    let mut i = before;
    while i < r.problems.len() {
        if beside(&r.problems[i]) {
            r.problems.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Replaces `${VAR}` and `${VAR:-default}` in every string; collects unset variables.
fn expand_env(v: &mut Value, pointer: &str, unset: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if pointer != "/database" && s.contains("${") => match expand_str(s) {
            Ok(x) => *s = x,
            Err(var) => unset.push((pointer.to_string(), var)),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_env(item, &format!("{pointer}/{i}"), unset);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                expand_env(
                    item,
                    &format!("{pointer}/{}", yaml::escape_segment(k)),
                    unset,
                );
            }
        }
        _ => {}
    }
}

/// Expands `${VAR}` / `${VAR:-default}` in one string; `Err(name)` for an unset variable.
pub fn expand_str(s: &str) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => out.push_str(&v),
            _ => match default {
                Some(d) => out.push_str(d),
                None => return Err(name.to_string()),
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Validates against the JSON Schema and words each error for people. Returns how each
/// rejected node could be set aside.
fn schema_problems(value: &Value, r: &mut Reporter<'_>) -> Vec<Rejected> {
    let mut rejected = Vec::new();
    for err in schema::validator().iter_errors(value) {
        let pointer = err.instance_path().as_str().to_string();
        let in_list = pointer
            .rsplit('/')
            .next()
            .is_some_and(|s| s.parse::<usize>().is_ok());
        rejected.push(match err.kind() {
            ValidationErrorKind::AdditionalProperties { .. } => Rejected::Blocking,
            ValidationErrorKind::Required { .. } => Rejected::Blocking,
            _ if in_list || pointer.is_empty() => Rejected::Blocking,
            _ => Rejected::Value(pointer.clone()),
        });
        word(&err, &pointer, r, &mut rejected, 0);
    }
    rejected
}

/// Words one schema error at `pointer`. An unknown key replaces the last entry of `rejected`
/// with the key itself, which can be set aside alone.
fn word(
    err: &ValidationError<'_>,
    pointer: &str,
    r: &mut Reporter<'_>,
    rejected: &mut Vec<Rejected>,
    depth: usize,
) {
    match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = schema::allowed_keys(pointer);
            rejected.pop();
            for key in unexpected {
                let help = match did_you_mean(key, allowed.iter().map(String::as_str)) {
                    Some(s) => Some(format!("did you mean `{s}`?")),
                    None => Some(format!("valid keys here: {}", allowed.join(", "))),
                };
                let at = format!("{pointer}/{}", yaml::escape_segment(key));
                r.at(&at, format!("unknown key `{key}`"), help);
                rejected.push(Rejected::Key(at));
            }
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            // The schema's own example shows what to write.
            let example = schema::schemas_at(pointer)
                .into_iter()
                .filter_map(|s| s.get("properties")?.get(name)?.get("examples")?.get(0))
                .next();
            let help = example.map(|e| format!("add it, e.g. `{name}: {e}`"));
            r.at(pointer, format!("missing required key `{name}`"), help);
        }
        ValidationErrorKind::Type { kind } => {
            let expected = format!("{kind:?}").to_lowercase();
            let expected = expected
                .trim_start_matches("single(")
                .trim_start_matches("multiple(")
                .trim_end_matches(')')
                .to_string();
            r.at_value(
                pointer,
                format!(
                    "expected {}, found {}",
                    expected_words(&expected),
                    describe(err.instance())
                ),
                None,
            );
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context }
            if err.instance().is_object()
                && depth < 8
                && shape_problems(context, err.instance(), pointer, r, depth) => {}
        ValidationErrorKind::Enum { .. }
        | ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::AnyOf { .. }
            if !schema::allowed_values(pointer).is_empty() =>
        {
            let allowed = schema::allowed_values(pointer);
            let found = err.instance().as_str().unwrap_or_default();
            let help = did_you_mean(found, allowed.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"));
            r.at_value(
                pointer,
                format!(
                    "expected one of {}, found {}",
                    allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    describe(err.instance())
                ),
                help,
            );
        }
        ValidationErrorKind::Minimum { .. } | ValidationErrorKind::Maximum { .. } => {
            let node = schema::schema_at(pointer);
            let bound = |k: &str| node.and_then(|n| n.get(k)).and_then(Value::as_f64);
            let expected = match (bound("minimum"), bound("maximum")) {
                (Some(lo), Some(hi)) => format!("a number from {lo} to {hi}"),
                (Some(lo), None) => format!("a number of at least {lo}"),
                (None, Some(hi)) => format!("a number of at most {hi}"),
                (None, None) => "a number in range".to_string(),
            };
            let help = (pointer == "/match/threshold" || pointer == "/match/review").then(|| {
                "`threshold` and `review` are match probabilities, between 0 and 1".to_string()
            });
            r.at_value(
                pointer,
                format!("expected {expected}, found {}", err.instance()),
                help,
            );
        }
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. }
            if !shapes(pointer).is_empty() =>
        {
            r.at_value(
                pointer,
                format!(
                    "expected {}, found {}",
                    shapes(pointer).join(" or "),
                    describe(err.instance())
                ),
                None,
            );
        }
        ValidationErrorKind::Pattern { pattern } => r.at_value(
            pointer,
            format!("{} does not match `{pattern}`", describe(err.instance())),
            Some("use letters, digits and underscores, starting with a letter".into()),
        ),
        _ => r.at_value(pointer, err.to_string(), None),
    }
}

/// A mapping that fits none of the shapes a node may take (a field mapping that is a path or
/// a computed field, a rule that is a name or its settings, a transform that is a word or a
/// one-key mapping): the errors of the shape meant for a mapping are worded instead, so that
/// the message names the key or value that is wrong rather than every shape at once. Between
/// one-key shapes (`{ replace: ... }`, `{ split: ... }`), an unknown key is named with the
/// closest one. `false` when no shape stands out, for the caller to word the error as a whole.
fn shape_problems(
    context: &[Vec<ValidationError<'static>>],
    instance: &Value,
    pointer: &str,
    r: &mut Reporter<'_>,
    depth: usize,
) -> bool {
    let Some(map) = instance.as_object() else {
        return false;
    };
    let here = |e: &ValidationError<'_>| e.instance_path().as_str() == pointer;
    // Shapes that are not a mapping at all (a text, a constant, a choice among constants)
    // fail on the type here.
    fn wrong_shape(errs: &[ValidationError<'_>], pointer: &str) -> bool {
        errs.iter().any(|e| {
            e.instance_path().as_str() == pointer
                && match e.kind() {
                    ValidationErrorKind::Type { .. }
                    | ValidationErrorKind::Constant { .. }
                    | ValidationErrorKind::Enum { .. } => true,
                    ValidationErrorKind::AnyOf { context }
                    | ValidationErrorKind::OneOfNotValid { context } => {
                        context.iter().all(|c| wrong_shape(c, pointer))
                    }
                    _ => false,
                }
        })
    }
    let mappings: Vec<&Vec<ValidationError<'static>>> = context
        .iter()
        .filter(|errs| !wrong_shape(errs, pointer))
        .collect();
    // A one-key shape whose key the mapping lacks was not meant.
    let meant: Vec<&&Vec<ValidationError<'static>>> = mappings
        .iter()
        .filter(|errs| {
            !errs.iter().any(|e| {
                here(e)
                    && matches!(e.kind(), ValidationErrorKind::Required { property }
                        if property.as_str().is_some_and(|p| !map.contains_key(p)))
            })
        })
        .collect();
    match meant.as_slice() {
        [one] if !one.is_empty() => {
            for e in one.iter() {
                let at = e.instance_path().as_str().to_string();
                word(e, &at, r, &mut Vec::new(), depth + 1);
            }
            true
        }
        [] if map.len() == 1 && !mappings.is_empty() => {
            let key = map.keys().next().expect("one key");
            let allowed = schema::allowed_values(pointer);
            let help = match did_you_mean(key, allowed.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("valid here: {}", allowed.join(", ")),
            };
            r.at(
                &format!("{pointer}/{}", yaml::escape_segment(key)),
                format!("unknown key `{key}`"),
                Some(help),
            );
            true
        }
        _ => false,
    }
}

/// The shapes a node may take, in words (`text`, `a mapping (key: value)`), each once.
fn shapes(pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for node in schema::schemas_at(pointer) {
        let Some(kind) = node.get("type").and_then(Value::as_str) else {
            continue;
        };
        let words = expected_words(kind);
        if !out.contains(&words) {
            out.push(words);
        }
    }
    out
}

fn expected_words(kind: &str) -> String {
    match kind {
        "object" => "a mapping (key: value)".into(),
        "array" => "a list".into(),
        "string" => "text".into(),
        "integer" => "a whole number".into(),
        "number" => "a number".into(),
        "boolean" => "true or false".into(),
        other => other.replace(['{', '}'], "").replace(", ", " or "),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_yaml() {
        assert_eq!(
            display_path("/target/fields/email/type"),
            "target.fields.email.type"
        );
        assert_eq!(display_path("/exclude/0/when"), "exclude[0].when");
        assert_eq!(display_path(""), "");
    }

    #[test]
    fn env_expansion_with_defaults() {
        let path = std::env::var("PATH").unwrap();
        assert_eq!(expand_str("a${PATH}b").unwrap(), format!("a{path}b"));
        assert_eq!(expand_str("${RECONCILE_TEST_NOPE:-d}").unwrap(), "d");
        assert_eq!(
            expand_str("${RECONCILE_TEST_NOPE}").unwrap_err(),
            "RECONCILE_TEST_NOPE"
        );
    }

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(
            did_you_mean("threshhold", ["threshold", "review", "compare"]),
            Some("threshold".into())
        );
        assert_eq!(did_you_mean("zzz", ["threshold"]), None);
    }
}
