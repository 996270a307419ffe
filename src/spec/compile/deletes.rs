//! Deletes: `on_missing`, the `soft_delete` column and value, and `max_delete`.

use super::{identifier_help, valid_identifier};
use crate::spec::compiled::{DeleteLimit, Field, SoftDelete};
use crate::spec::report::Reporter;
use crate::spec::{MaxDelete, OnMissing, Spec};

/// The soft-delete column (when deletes are soft) and the largest delete allowed.
pub(super) fn deletes(
    spec: &Spec,
    fields: &[Field],
    r: &mut Reporter<'_>,
) -> (Option<SoftDelete>, DeleteLimit) {
    let soft_delete = compile_soft_delete(spec, fields, r);
    let max_delete = match &spec.max_delete {
        None => DeleteLimit::Share(0.1),
        Some(MaxDelete::Count(n)) => DeleteLimit::Count(*n),
        Some(MaxDelete::Share(s)) => match s.trim_end_matches('%').parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => DeleteLimit::Share(p / 100.0),
            _ => {
                r.at_value(
                    "/max_delete",
                    format!("`{s}` is not a share between 0% and 100%"),
                    Some("write a count such as `5`, or a share such as `\"10%\"`".into()),
                );
                DeleteLimit::Share(0.1)
            }
        },
    };
    (soft_delete, max_delete)
}

/// `soft_delete` must name a valid column that no field uses, with a scalar value, and is
/// needed exactly when `on_missing: soft_delete`.
fn compile_soft_delete(spec: &Spec, fields: &[Field], r: &mut Reporter<'_>) -> Option<SoftDelete> {
    let Some(sd) = &spec.soft_delete else {
        if spec.on_missing == OnMissing::SoftDelete {
            r.at_value(
                "/on_missing",
                "`on_missing: soft_delete` needs a `soft_delete` column",
                Some("add `soft_delete: { column: archived, value: true }`".into()),
            );
        }
        return None;
    };
    if spec.target.owns_table {
        r.at(
            "/soft_delete",
            "`soft_delete` cannot be combined with `owns_table: true`",
            Some(
                "a soft-deleted row is no longer managed, so a spec that owns the whole table \
                 would find it missing again on every plan; use `on_missing: delete`"
                    .into(),
            ),
        );
    }
    if spec.on_missing != OnMissing::SoftDelete {
        r.at(
            "/soft_delete",
            "`soft_delete` only applies with `on_missing: soft_delete`",
            None,
        );
    }
    if !valid_identifier(&sd.column) {
        r.at_value(
            "/soft_delete/column",
            format!("`{}` is not a valid column name", sd.column),
            identifier_help(),
        );
    }
    if sd.column == spec.target.primary_key || fields.iter().any(|f| f.column == sd.column) {
        r.at_value(
            "/soft_delete/column",
            format!(
                "column `{}` is already used by the target; soft deletes need a column of their own",
                sd.column
            ),
            None,
        );
    }
    let value = match &sd.value {
        serde_json::Value::Bool(b) => crate::value::Value::Bool(*b),
        serde_json::Value::Number(n) if n.is_i64() => {
            crate::value::Value::Int(n.as_i64().unwrap_or_default())
        }
        serde_json::Value::String(s) if !s.is_empty() => crate::value::Value::Text(s.clone()),
        _ => {
            r.at_value(
                "/soft_delete/value",
                "the soft-delete value must be `true`/`false`, a whole number or a non-empty text",
                None,
            );
            return None;
        }
    };
    Some(SoftDelete {
        column: sd.column.clone(),
        value,
    })
}
