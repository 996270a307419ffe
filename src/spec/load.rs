//! Reading a spec file: YAML with locations, `${VAR}` expansion, validation against the JSON
//! Schema, deserialisation, then the semantic checks of [`super::compiled`]. Every problem found
//! on the way is gathered, with file:line:column, the field path and a suggested fix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use miette::{NamedSource, SourceSpan};
use serde_json::Value;

use super::Spec;
use super::compiled::{self, Compiled};
use super::schema;
use super::yaml::{self, Located, Location};
use crate::error::{Error, Result, SpecErrors, SpecProblem};

/// The most YAML nodes a spec may hold (aliases expanded).
const SPEC_NODE_BUDGET: usize = 1_000_000;

/// Gathers problems in one spec file, each placed at a JSON pointer into the document.
pub struct Reporter<'a> {
    pub file: String,
    src: Arc<NamedSource<String>>,
    located: &'a Located,
    pub problems: Vec<SpecProblem>,
}

impl<'a> Reporter<'a> {
    pub fn new(file: String, text: &str, located: &'a Located) -> Self {
        Reporter {
            src: Arc::new(NamedSource::new(file.clone(), text.to_string())),
            file,
            located,
            problems: Vec::new(),
        }
    }

    /// A problem with the node at `pointer`, shown at its key.
    pub fn at(&mut self, pointer: &str, message: impl Into<String>, help: Option<String>) {
        let loc = self.located.locate(pointer);
        self.push(loc, pointer, message.into(), help);
    }

    /// A problem with the value at `pointer`, shown at the value.
    pub fn at_value(&mut self, pointer: &str, message: impl Into<String>, help: Option<String>) {
        let loc = self.located.locate_value(pointer);
        self.push(loc, pointer, message.into(), help);
    }

    fn push(&mut self, loc: Location, pointer: &str, message: String, help: Option<String>) {
        let path = display_path(pointer);
        self.problems.push(SpecProblem {
            file: self.file.clone(),
            line: loc.line,
            column: loc.column,
            path: if path.is_empty() {
                String::new()
            } else {
                format!("{path}: ")
            },
            message,
            help,
            src: Some(self.src.clone()),
            span: (loc.line > 0).then(|| SourceSpan::from((loc.offset, 1))),
        });
    }

    pub fn finish(mut self) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        self.problems
            .sort_by_key(|p| (p.line, p.column, p.message.clone()));
        self.problems
            .dedup_by(|a, b| a.line == b.line && a.column == b.column && a.message == b.message);
        Err(Error::Spec(SpecErrors {
            file: self.file,
            problems: self.problems,
        }))
    }
}

/// `/target/fields/email/type` → `target.fields.email.type`; list items as `[2]`.
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// The closest candidate to `word`, if any is close enough to be a likely typo.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

/// Loads, validates and compiles the spec at `path`.
pub fn load(path: &Path) -> Result<Compiled> {
    let text = std::fs::read(path).map_err(|e| Error::SpecNotFound {
        path: path.to_path_buf(),
        reason: e.to_string(),
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
    load_str(&text, path)
}

/// Loads a spec from text; `path` names the file in messages and anchors relative paths.
pub fn load_str(text: &str, path: &Path) -> Result<Compiled> {
    let file = path.display().to_string();
    let mut located = match yaml::parse(text, SPEC_NODE_BUDGET) {
        Ok(l) => l,
        Err(e) => {
            let empty = Located::default();
            let mut r = Reporter::new(file.clone(), text, &empty);
            r.push(e.location, "", format!("invalid YAML: {}", e.message), None);
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
    for (pointer, var) in unset {
        r.at_value(
            &pointer,
            format!("environment variable `{var}` is not set"),
            Some(format!(
                "set `{var}`, or write `${{{var}:-default}}` to give a default"
            )),
        );
    }
    schema_problems(&located.value, &mut r);
    if !r.problems.is_empty() {
        return r.finish().map(|_| unreachable!("problems were reported"));
    }
    let spec: Spec = match serde_json::from_value(located.value.clone()) {
        Ok(s) => s,
        Err(e) => {
            r.at("", format!("the spec does not fit its schema: {e}"), None);
            return r.finish().map(|_| unreachable!("a problem was reported"));
        }
    };
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let compiled = compiled::compile(&spec, path, &base, &mut r);
    r.finish()?;
    Ok(compiled.expect("compile returns a spec when it reports no problem"))
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

/// Validates against the JSON Schema and words each error for people.
fn schema_problems(value: &Value, r: &mut Reporter<'_>) {
    for err in schema::validator().iter_errors(value) {
        let pointer = err.instance_path().as_str().to_string();
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = schema::allowed_keys(&pointer);
                for key in unexpected {
                    let help = match did_you_mean(key, allowed.iter().map(String::as_str)) {
                        Some(s) => Some(format!("did you mean `{s}`?")),
                        None => Some(format!("valid keys here: {}", allowed.join(", "))),
                    };
                    r.at(
                        &format!("{pointer}/{}", yaml::escape_segment(key)),
                        format!("unknown key `{key}`"),
                        help,
                    );
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                r.at(&pointer, format!("missing required key `{name}`"), None);
            }
            ValidationErrorKind::Type { kind } => {
                let expected = format!("{kind:?}").to_lowercase();
                let expected = expected
                    .trim_start_matches("single(")
                    .trim_start_matches("multiple(")
                    .trim_end_matches(')')
                    .to_string();
                r.at_value(
                    &pointer,
                    format!(
                        "expected {}, found {}",
                        expected_words(&expected),
                        describe(err.instance())
                    ),
                    None,
                );
            }
            ValidationErrorKind::Enum { .. } | ValidationErrorKind::OneOfNotValid { .. }
                if !schema::allowed_values(&pointer).is_empty() =>
            {
                let allowed = schema::allowed_values(&pointer);
                let found = err.instance().as_str().unwrap_or_default();
                let help = did_you_mean(found, allowed.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"));
                r.at_value(
                    &pointer,
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
            ValidationErrorKind::Minimum { limit } => {
                r.at_value(&pointer, format!("must be at least {limit}"), None);
            }
            ValidationErrorKind::Maximum { limit } => {
                r.at_value(&pointer, format!("must be at most {limit}"), None);
            }
            ValidationErrorKind::Pattern { pattern } => r.at_value(
                &pointer,
                format!("{} does not match `{pattern}`", describe(err.instance())),
                Some("use letters, digits and underscores, starting with a letter".into()),
            ),
            _ => r.at_value(&pointer, err.to_string(), None),
        }
    }
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
