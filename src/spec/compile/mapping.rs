//! One entry of a source's `fields`: a path read as it is, or a value the spec builds (a
//! constant, a template, a path or template with transforms), checked and compiled. A
//! constant is checked against its field's type here, once; paths are data, checked against
//! the records when they are read.

use crate::normalize::{PhoneCache, normalize_value};
use crate::source::mapping::{Base, Computed, Step, Template};
use crate::spec::compiled::{Field, FieldPath};
use crate::spec::report::Reporter;
use crate::spec::{ComputedField, FieldMapping, FieldType, Transform};

/// A compiled mapping entry.
pub(super) enum Mapped {
    /// Read as it is from one path.
    Path(FieldPath),
    Computed(Computed),
}

/// Compiles the mapping of `field`, written at `pointer`; `path` makes a path of text
/// (dotted paths for files, whole column names for queries). `None` when a problem was
/// reported.
pub(super) fn mapping(
    m: &FieldMapping,
    field: &Field,
    pointer: &str,
    path: fn(&str) -> FieldPath,
    r: &mut Reporter<'_>,
) -> Option<Mapped> {
    match m {
        FieldMapping::Path(text) if text.contains('{') => {
            let template = template(text, pointer, path, r)?;
            Some(Mapped::Computed(Computed {
                base: Base::Template(template),
                transforms: Vec::new(),
            }))
        }
        FieldMapping::Path(text) => Some(Mapped::Path(path(text))),
        FieldMapping::Computed(c) => computed(c, field, pointer, path, r),
    }
}

fn template(
    text: &str,
    pointer: &str,
    path: fn(&str) -> FieldPath,
    r: &mut Reporter<'_>,
) -> Option<Template> {
    match Template::parse(text, path) {
        Ok(t) => Some(t),
        Err(problem) => {
            let help = if problem.contains("no `{path}`") {
                "for the same value in every record write `{ const: ... }`; to read a path \
                 whose name holds braces write `{ from: ... }`"
            } else {
                "a template writes each path as `{path}`, e.g. `\"{first} {last}\"`; `{{` and \
                 `}}` write a brace; to read a path whose name holds braces write \
                 `{ from: ... }`"
            };
            r.at_value(pointer, problem, Some(help.into()));
            None
        }
    }
}

fn computed(
    c: &ComputedField,
    field: &Field,
    pointer: &str,
    path: fn(&str) -> FieldPath,
    r: &mut Reporter<'_>,
) -> Option<Mapped> {
    let given: Vec<&str> = [
        (c.constant.is_some(), "const"),
        (c.from.is_some(), "from"),
        (c.template.is_some(), "template"),
    ]
    .iter()
    .filter(|(g, _)| *g)
    .map(|(_, k)| *k)
    .collect();
    if given.len() != 1 {
        let message = if given.is_empty() {
            "a computed field needs one of `const`, `from` or `template`".to_string()
        } else {
            format!(
                "give one of `const`, `from` or `template`, not {}",
                given
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        };
        r.at(
            pointer,
            message,
            Some(
                "e.g. `{ const: business }`, `{ from: name, transforms: [trim] }` or \
                 `{ template: \"{first} {last}\" }`"
                    .into(),
            ),
        );
        return None;
    }
    let transforms = transforms(&c.transforms, pointer, r);
    if let Some(value) = &c.constant {
        if !c.transforms.is_empty() {
            r.at(
                &format!("{pointer}/transforms"),
                "transforms apply to `from` and `template`, not to a constant",
                Some("write the constant as it should be stored".into()),
            );
        }
        constant(value, field, &format!("{pointer}/const"), r)?;
        return Some(Mapped::Computed(Computed {
            base: Base::Const(value.clone()),
            transforms: Vec::new(),
        }));
    }
    let transforms = transforms?;
    let base = if let Some(from) = &c.from {
        if from.trim().is_empty() {
            r.at_value(&format!("{pointer}/from"), "the path is empty", None);
            return None;
        }
        if transforms.is_empty() {
            return Some(Mapped::Path(path(from)));
        }
        Base::Path(path(from))
    } else {
        let text = c.template.as_deref().unwrap_or_default();
        Base::Template(template(text, &format!("{pointer}/template"), path, r)?)
    };
    Some(Mapped::Computed(Computed { base, transforms }))
}

/// A constant must be a value of its field's type, checked as a source value would be.
fn constant(
    value: &serde_json::Value,
    field: &Field,
    pointer: &str,
    r: &mut Reporter<'_>,
) -> Option<()> {
    if (value.is_array() || value.is_object()) && field.kind != FieldType::Json {
        r.at_value(
            pointer,
            format!(
                "field `{}` holds a single value, not a {}",
                field.name,
                if value.is_array() { "list" } else { "mapping" }
            ),
            None,
        );
        return None;
    }
    match normalize_value(field, value, &mut PhoneCache::default()) {
        Ok(v) if v.is_null() => {
            r.at_value(
                pointer,
                "the constant is empty",
                Some("give the value every record gets, or remove the field".into()),
            );
            None
        }
        Ok(_) => Some(()),
        Err(rejected) => {
            r.at_value(
                pointer,
                format!(
                    "{:?} is {} (field `{}`)",
                    rejected.text, rejected.reason, field.name
                ),
                None,
            );
            None
        }
    }
}

/// The transforms compiled in order; `None` when one was reported.
fn transforms(list: &[Transform], pointer: &str, r: &mut Reporter<'_>) -> Option<Vec<Step>> {
    let mut out = Vec::with_capacity(list.len());
    let mut ok = true;
    for (i, t) in list.iter().enumerate() {
        let at = format!("{pointer}/transforms/{i}");
        out.push(match t {
            Transform::Trim => Step::Trim,
            Transform::Lower => Step::Lower,
            Transform::Upper => Step::Upper,
            Transform::Title => Step::Title,
            Transform::Replace(rep) => match regex::Regex::new(&rep.pattern) {
                Ok(re) => Step::Replace(re, rep.with.clone()),
                Err(e) => {
                    r.at_value(
                        &format!("{at}/replace/pattern"),
                        format!("invalid regular expression: {e}"),
                        None,
                    );
                    ok = false;
                    continue;
                }
            },
            Transform::Split(split) => {
                if split.on.is_empty() {
                    r.at_value(
                        &format!("{at}/split/on"),
                        "`on` is empty: give the text that separates the parts",
                        Some("e.g. `{ split: { on: \",\", take: 0 } }`".into()),
                    );
                    ok = false;
                    continue;
                }
                Step::Split(split.on.clone(), split.take)
            }
        });
    }
    ok.then_some(out)
}
