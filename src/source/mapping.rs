//! Computed fields: values a source's mapping builds instead of reading them from one path.
//! A constant (`{ const: business }`), a template over paths (`"{first} {last}"`), or a path
//! or template followed by pure text transforms (`trim`, `lower`, `upper`, `title`, `replace`,
//! `split`). Compiled once with the spec ([`crate::spec::compile`]), evaluated on each record
//! as records are mapped ([`super::map_records`]), before normalisation, so that a built value
//! is normalised and checked like any value read from a source.

use regex::Regex;

use crate::spec::path::FieldPath;

/// A target field built from a source record.
#[derive(Debug, Clone)]
pub struct Computed {
    pub base: Base,
    /// Applied in order to the text of `base` (never to a constant).
    pub transforms: Vec<Step>,
}

/// What a computed field starts from.
#[derive(Debug, Clone)]
pub enum Base {
    /// The same value for every record.
    Const(serde_json::Value),
    /// The value at one path.
    Path(FieldPath),
    /// Text with the values of paths put in.
    Template(Template),
}

/// A template: literal text and paths, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Path(FieldPath),
}

/// A compiled transform.
#[derive(Debug, Clone)]
pub enum Step {
    Trim,
    Lower,
    Upper,
    Title,
    /// Every match of the pattern becomes the replacement (`$1` names a group).
    Replace(Regex, String),
    /// The part at this place (negative: from the end) of the text cut at each separator.
    Split(String, i64),
}

/// A value a computed field cannot use: the path holds a list or a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misfit<'a> {
    pub path: &'a FieldPath,
    /// `a list` or `a mapping`.
    pub holds: &'static str,
}

impl Template {
    /// Reads `text`: each `{path}` is a placeholder (white space around the path ignored),
    /// `{{` and `}}` are braces. `path` makes a path of a placeholder's text (dotted paths
    /// for files, whole column names for queries). An `Err` says what is wrong.
    pub fn parse(text: &str, path: impl Fn(&str) -> FieldPath) -> Result<Template, String> {
        if text.trim().is_empty() {
            return Err("the template is empty".into());
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(
                        "a `}` closes no placeholder (write `}}` for a brace itself)".into(),
                    );
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') => {
                                return Err("a placeholder cannot hold `{`".into());
                            }
                            Some(c) => name.push(c),
                            None => {
                                return Err(format!(
                                    "the placeholder `{{{name}` is not closed (write `{{{{` for \
                                     a brace itself)"
                                ));
                            }
                        }
                    }
                    let name = name.trim();
                    if name.is_empty() {
                        return Err("`{}` names no path".into());
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Path(path(name)));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        if !parts.iter().any(|p| matches!(p, Part::Path(_))) {
            return Err("the template has no `{path}` placeholder".into());
        }
        Ok(Template { parts })
    }

    /// The paths the template reads, in order.
    pub fn paths(&self) -> impl Iterator<Item = &FieldPath> {
        self.parts.iter().filter_map(|p| match p {
            Part::Path(path) => Some(path),
            Part::Text(_) => None,
        })
    }
}

/// A source value as text for a template or a transform: `None` when absent, a misfit when
/// it holds a list or a mapping.
fn text_of<'p>(
    value: Option<&serde_json::Value>,
    path: &'p FieldPath,
) -> Result<Option<String>, Misfit<'p>> {
    Ok(match value {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
        Some(serde_json::Value::Array(_)) => {
            return Err(Misfit {
                path,
                holds: "a list",
            });
        }
        Some(serde_json::Value::Object(_)) => {
            return Err(Misfit {
                path,
                holds: "a mapping",
            });
        }
    })
}

impl Computed {
    /// The same value for every record: it says nothing about which record is which.
    pub fn is_const(&self) -> bool {
        matches!(self.base, Base::Const(_))
    }

    /// The paths the field reads.
    pub fn paths(&self) -> Vec<&FieldPath> {
        match &self.base {
            Base::Const(_) => Vec::new(),
            Base::Path(p) => vec![p],
            Base::Template(t) => t.paths().collect(),
        }
    }

    /// The field's raw value in one record, before normalisation. A template whose paths are
    /// all absent or blank is absent (`null`), so that a built value is never made of its
    /// punctuation alone.
    pub fn eval<'a>(&'a self, record: &serde_json::Value) -> Result<serde_json::Value, Misfit<'a>> {
        let text = match &self.base {
            Base::Const(v) => return Ok(v.clone()),
            Base::Path(p) => match text_of(p.get(record), p)? {
                Some(t) => t,
                None => return Ok(serde_json::Value::Null),
            },
            Base::Template(t) => {
                let mut out = String::new();
                let mut any = false;
                for part in &t.parts {
                    match part {
                        Part::Text(s) => out.push_str(s),
                        Part::Path(p) => {
                            if let Some(v) = text_of(p.get(record), p)? {
                                any |= !v.trim().is_empty();
                                out.push_str(&v);
                            }
                        }
                    }
                }
                if !any {
                    return Ok(serde_json::Value::Null);
                }
                out
            }
        };
        let text = self.transforms.iter().fold(text, |t, step| step.apply(t));
        Ok(serde_json::Value::String(text))
    }
}

impl Step {
    /// The transform applied to one text.
    pub fn apply(&self, text: String) -> String {
        match self {
            Step::Trim => text.trim().to_string(),
            Step::Lower => text.to_lowercase(),
            Step::Upper => text.to_uppercase(),
            Step::Title => title(&text),
            Step::Replace(re, with) => re.replace_all(&text, with.as_str()).into_owned(),
            Step::Split(on, take) => {
                let parts: Vec<&str> = text.split(on.as_str()).collect();
                let at = if *take < 0 {
                    i64::try_from(parts.len()).unwrap_or(i64::MAX) + take
                } else {
                    *take
                };
                usize::try_from(at)
                    .ok()
                    .and_then(|i| parts.get(i))
                    .map_or_else(String::new, |p| (*p).to_string())
            }
        }
    }
}

/// Each word's first letter in upper case and the rest in lower case; a word is a run of
/// letters, digits and apostrophes (so `o'neill` becomes `O'neill`, `it's` stays `It's`).
fn title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '’' {
            if in_word {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            in_word = true;
        } else {
            out.push(c);
            in_word = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(text: &str) -> Computed {
        Computed {
            base: Base::Template(Template::parse(text, FieldPath::parse).unwrap()),
            transforms: Vec::new(),
        }
    }

    fn with(base: Base, transforms: Vec<Step>) -> Computed {
        Computed { base, transforms }
    }

    #[test]
    fn a_constant_is_the_same_for_every_record() {
        let c = with(Base::Const(json!("business")), Vec::new());
        assert!(c.is_const());
        assert_eq!(c.eval(&json!({})).unwrap(), json!("business"));
        assert_eq!(c.eval(&json!({"kind": "x"})).unwrap(), json!("business"));
        assert!(c.paths().is_empty());
    }

    #[test]
    fn a_template_puts_values_in() {
        let c = template("{first} {last}");
        assert_eq!(
            c.eval(&json!({"first": "Ann", "last": "Lee"})).unwrap(),
            json!("Ann Lee")
        );
        // Numbers and nested paths; one value absent leaves its place empty.
        let c = template("{a.street}, {a.no}");
        assert_eq!(
            c.eval(&json!({"a": {"street": "Main Rd", "no": 12}}))
                .unwrap(),
            json!("Main Rd, 12")
        );
        assert_eq!(
            c.eval(&json!({"a": {"street": "Main Rd"}})).unwrap(),
            json!("Main Rd, ")
        );
        // Every value absent or blank: no value at all, not ", ".
        assert_eq!(c.eval(&json!({"a": {}})).unwrap(), json!(null));
        assert_eq!(
            c.eval(&json!({"a": {"street": " ", "no": null}})).unwrap(),
            json!(null)
        );
    }

    #[test]
    fn template_braces_and_mistakes() {
        let t = Template::parse("{{{ code }}}-{n}", FieldPath::parse).unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Text("{".into()),
                Part::Path(FieldPath::parse("code")),
                Part::Text("}-".into()),
                Part::Path(FieldPath::parse("n")),
            ]
        );
        for (text, problem) in [
            ("", "the template is empty"),
            ("{first", "is not closed"),
            ("first}", "closes no placeholder"),
            ("{}", "names no path"),
            ("{a{b}}", "cannot hold"),
            ("{{literal}}", "no `{path}` placeholder"),
        ] {
            let err = Template::parse(text, FieldPath::parse).unwrap_err();
            assert!(err.contains(problem), "{text:?}: {err}");
        }
    }

    #[test]
    fn lists_and_mappings_are_misfits() {
        let c = template("{tags}!");
        let err = c.eval(&json!({"tags": ["a"]})).unwrap_err();
        assert_eq!(err.holds, "a list");
        assert_eq!(err.path.raw, "tags");
        let c = with(Base::Path(FieldPath::parse("m")), vec![Step::Trim]);
        assert_eq!(
            c.eval(&json!({"m": {"x": 1}})).unwrap_err().holds,
            "a mapping"
        );
    }

    #[test]
    fn each_transform() {
        let t = |step: Step, text: &str| step.apply(text.to_string());
        assert_eq!(t(Step::Trim, "  Acme  "), "Acme");
        assert_eq!(t(Step::Lower, "INFO@Acme.Example"), "info@acme.example");
        assert_eq!(t(Step::Upper, "za"), "ZA");
        assert_eq!(
            t(Step::Title, "OCEAN basket-menlyn (pty) it's o'neill"),
            "Ocean Basket-Menlyn (Pty) It's O'neill"
        );
        assert_eq!(t(Step::Title, "école ÉTÉ"), "École Été");
        let re = Regex::new(r"\s*\((.*)\)$").unwrap();
        assert_eq!(
            t(
                Step::Replace(re.clone(), String::new()),
                "Barchefz (Valley)"
            ),
            "Barchefz"
        );
        assert_eq!(
            t(Step::Replace(re, ", $1".into()), "Barchefz (Valley)"),
            "Barchefz, Valley"
        );
        let split = |take| Step::Split(",".into(), take);
        assert_eq!(t(split(0), "Menlyn, Pretoria, Gauteng"), "Menlyn");
        assert_eq!(t(split(1), "Menlyn, Pretoria, Gauteng"), " Pretoria");
        assert_eq!(t(split(-1), "Menlyn, Pretoria, Gauteng"), " Gauteng");
        assert_eq!(t(split(3), "Menlyn, Pretoria, Gauteng"), "");
        assert_eq!(t(split(-4), "Menlyn, Pretoria, Gauteng"), "");
        assert_eq!(t(split(0), "no separator"), "no separator");
    }

    #[test]
    fn transforms_apply_in_order_and_skip_absent_values() {
        let c = with(
            Base::Path(FieldPath::parse("name")),
            vec![Step::Split(",".into(), -1), Step::Trim, Step::Upper],
        );
        assert_eq!(
            c.eval(&json!({"name": "Acme, pretoria"})).unwrap(),
            json!("PRETORIA")
        );
        assert_eq!(c.eval(&json!({"name": null})).unwrap(), json!(null));
        assert_eq!(c.eval(&json!({})).unwrap(), json!(null));
        // Numbers are transformed as their text.
        let c = with(
            Base::Path(FieldPath::parse("n")),
            vec![Step::Split(".".into(), 0)],
        );
        assert_eq!(c.eval(&json!({"n": 12.5})).unwrap(), json!("12"));
    }
}
