//! Compiling a spec: the semantic checks that the JSON Schema cannot express (a field mapped
//! that the target does not declare, a priority naming no source, a review band above the
//! threshold, ...), each placed at its line, and the compiled forms the engine runs on. One
//! module per section of the spec; this one composes them.

mod deletes;
mod exclude;
mod mapping;
mod matching;
mod merge;
mod sources;
mod target;

pub use matching::same_chain;

use std::path::Path;

use super::Spec;
use super::compiled::{Compiled, Field, MatchConfig};
use super::report::Reporter;
use super::yaml::escape_segment;
use crate::suggest::did_you_mean;

/// Resolves the field names a spec writes (in mappings, keys, rules, comparisons) to field
/// indexes, reporting each unknown one with the closest declared name.
pub(super) struct FieldNames<'a> {
    fields: &'a [Field],
    names: Vec<&'a str>,
}

impl<'a> FieldNames<'a> {
    fn new(fields: &'a [Field]) -> FieldNames<'a> {
        FieldNames {
            fields,
            names: fields.iter().map(|f| f.name.as_str()).collect(),
        }
    }

    /// The index of field `name`, written at `pointer` (as a value when `value`, else as a
    /// key); `None`, with the problem reported, when the target declares no such field.
    pub(super) fn resolve(
        &self,
        r: &mut Reporter<'_>,
        pointer: &str,
        name: &str,
        value: bool,
    ) -> Option<usize> {
        let idx = self.fields.iter().position(|f| f.name == name);
        if idx.is_none() {
            let help = did_you_mean(name, self.names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("declared fields: {}", self.names.join(", "))));
            let msg = format!("`{name}` is not a field of the target");
            if value {
                r.at_value(pointer, msg, help);
            } else {
                r.at(pointer, msg, help);
            }
        }
        idx
    }
}

/// Checks what the schema cannot and builds the compiled spec. Problems go to `r`; the
/// result is `None` only when a problem was reported.
pub fn compile(spec: &Spec, file: &Path, base: &Path, r: &mut Reporter<'_>) -> Option<Compiled> {
    let before = r.problems.len();
    let fields = target::fields(spec, r);
    let names = FieldNames::new(&fields);
    let key = spec
        .target
        .key
        .as_ref()
        .and_then(|k| names.resolve(r, "/target/key", k, true));
    let address_field = match &spec.target.address {
        Some(a) => names.resolve(r, "/target/address", a, true).unwrap_or(0),
        None => 0,
    };
    let (sources, order) = sources::sources(spec, base, &fields, &names, r);
    let declared: Vec<&str> = spec.sources.keys().map(String::as_str).collect();
    let source_index = |name: &str| sources.iter().position(|s| s.name == name);
    let exclude = exclude::rules(spec, &names, &source_index, &declared, r);
    let (comparisons, blocking, dedupe, origin) =
        matching::matching(spec, &names, &order, sources.len(), address_field, r);
    let m = &spec.matching;
    let same: Vec<_> = matching::overrides(&m.same, "same", &source_index, &declared, r)
        .into_iter()
        .map(|(_, o)| o)
        .collect();
    let distinct = matching::overrides(&m.distinct, "distinct", &source_index, &declared, r);
    matching::contradictions(&same, &distinct, &|s| sources[s].name.clone(), r);
    let distinct: Vec<_> = distinct.into_iter().map(|(_, o)| o).collect();
    if m.labels.as_ref().is_some_and(|f| f.trim().is_empty()) {
        r.at_value(
            "/match/labels",
            "the labels file has no name",
            Some(format!(
                "write `labels: {}`, or remove the key",
                crate::labels::DEFAULT_FILE
            )),
        );
    }
    let memory = m.memory.as_deref().and_then(|text| {
        crate::matching::memory::parse_size(text)
            .map_err(|why| {
                r.at_value(
                    "/match/memory",
                    &why,
                    Some("write a size such as `512MiB` or `4GiB`, or remove the key".into()),
                );
            })
            .ok()
    });
    let merge = merge::rules(spec, &names, &sources, r);
    let (soft_delete, max_delete) = deletes::deletes(spec, &fields, r);
    if r.problems.len() > before {
        return None;
    }
    Some(Compiled {
        file: file.to_path_buf(),
        resource: spec.resource.clone(),
        database: spec.database.clone(),
        table: spec.target.table.clone(),
        primary_key: spec.target.primary_key.clone(),
        fields,
        key,
        address_field,
        sources,
        exclude,
        matching: MatchConfig {
            threshold: m.threshold,
            review: m.review,
            weights: m.weights,
            comparisons,
            blocking,
            max_block: m.max_block,
            max_cluster: m.max_cluster,
            one_row_per_place: m.one_row_per_place,
            dedupe,
            same,
            distinct,
            labels: m.labels.as_ref().map(|f| base.join(f)),
            origin,
            memory,
        },
        on_missing: spec.on_missing,
        soft_delete,
        max_delete,
        prevent_destroy: spec.prevent_destroy,
        depends_on: spec.depends_on.clone(),
        owns_table: spec.target.owns_table,
        sensitive: spec.target.fields.values().map(|f| f.sensitive).collect(),
        ignore_changes: spec
            .target
            .fields
            .values()
            .map(|f| f.ignore_changes)
            .collect(),
        strict: spec.invalid == super::InvalidPolicy::Error,
        merge,
    })
}

/// A source without `id:` names its records by their content, so an edited record arrives
/// under a new id and is known for the same one only by `target.key` or by the matcher. With
/// neither, an edit would leave the old row behind and create a new one: refused, at each
/// such source, with the fix. Runs on the compiled spec, so that comparisons derived from the
/// field types count as comparisons.
pub fn check_identity(compiled: &Compiled, r: &mut Reporter<'_>) {
    if compiled.key.is_some() || !compiled.matching.comparisons.is_empty() {
        return;
    }
    for source in compiled.sources.iter().filter(|s| s.id.is_none()) {
        r.at(
            &format!("/sources/{}", escape_segment(&source.name)),
            format!(
                "source `{}` has no `id:`, and the spec has neither `target.key` nor a match \
                 comparison, so an edited record could not be told from a new one",
                source.name
            ),
            Some(
                "add `id:` naming a column that identifies each record (an account number, a \
                 code), or declare `target.key` (a field unique to each record, such as `email`)"
                    .into(),
            ),
        );
    }
}

/// Record ids are printed (plans, reports, errors) and stored in the state table, so a
/// source's `id:` may not be the column a `sensitive` field is read from: refused at the
/// source's `id`, with the fix.
pub fn check_sensitive_ids(compiled: &Compiled, r: &mut Reporter<'_>) {
    for source in &compiled.sources {
        let Some(id) = &source.id else { continue };
        let fed = source
            .mapping
            .iter()
            .find(|(f, path)| compiled.sensitive[*f] && path.segments == id.segments);
        if let Some((f, _)) = fed {
            r.at_value(
                &format!("/sources/{}/id", escape_segment(&source.name)),
                format!(
                    "source `{}` uses `{}` as its `id:`, but that column feeds the sensitive \
                     field `{}`; record ids are printed in plans, reports and errors and kept \
                     in the state table, so the value would show",
                    source.name, id.raw, compiled.fields[*f].name
                ),
                Some(
                    "name another column that identifies each record as `id:` (a row number \
                     of the export, an account code), or drop `id:` and declare `target.key`"
                        .into(),
                ),
            );
        }
    }
}

/// A table or column name the tool writes into SQL unquoted-safe: letters, digits and
/// underscores, starting with a letter or underscore, at most 63 characters.
pub(super) fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

pub(super) fn identifier_help() -> Option<String> {
    Some(
        "table and column names may hold letters, digits and underscores, start with a letter, \
         and be at most 63 characters"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        assert!(valid_identifier("customers"));
        assert!(valid_identifier("_x1"));
        assert!(!valid_identifier("customers; DROP TABLE x"));
        assert!(!valid_identifier("1abc"));
        assert!(!valid_identifier(""));
    }
}
