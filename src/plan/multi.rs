//! Several resources planned together (a folder of specs): the dependency order that
//! `depends_on` and references give, references resolved to the referenced record's address,
//! stored keys read back as addresses, and `--target`. Pure: the I/O is in `cli`.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::merge::DesiredRecord;
use crate::plan::{Action, Plan, address};
use crate::spec::compiled::Compiled;
use crate::state::{CurrentState, key_text};
use crate::value::Value;

/// The resources a spec must be written after: `depends_on`, then every referenced resource.
pub fn dependencies(spec: &Compiled) -> Vec<String> {
    let mut out = spec.depends_on.clone();
    for f in &spec.fields {
        if let Some(r) = &f.reference
            && !out.contains(&r.resource)
        {
            out.push(r.resource.clone());
        }
    }
    out
}

/// The order to write the specs in, parents first. Unknown resources, duplicate resource
/// names and cycles are errors naming them.
pub fn order(specs: &[Compiled]) -> Result<Vec<usize>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, s) in specs.iter().enumerate() {
        if let Some(&j) = index.get(s.resource.as_str()) {
            return Err(Error::Plan {
                message: format!(
                    "resource `{}` is declared twice: in {} and {}",
                    s.resource,
                    specs[j].file.display(),
                    s.file.display()
                ),
                help: Some("give every spec of the folder its own `resource:` name".into()),
            });
        }
        index.insert(&s.resource, i);
    }
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(specs.len());
    for s in specs {
        let mut d = Vec::new();
        for name in dependencies(s) {
            match index.get(name.as_str()) {
                Some(&j) => d.push(j),
                None => {
                    let mut known: Vec<&str> = index.keys().copied().collect();
                    known.sort_unstable();
                    return Err(Error::Plan {
                        message: format!(
                            "resource `{}` ({}) depends on `{name}`, which no spec planned with it declares",
                            s.resource,
                            s.file.display()
                        ),
                        help: Some(format!(
                            "plan the folder holding both specs (-f FOLDER); the resources planned are {}",
                            known.join(", ")
                        )),
                    });
                }
            }
        }
        deps.push(d);
    }
    // Depth-first, in folder order; 0 = unvisited, 1 = on the path, 2 = done.
    let mut mark = vec![0u8; specs.len()];
    let mut out = Vec::with_capacity(specs.len());
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        mark: &mut [u8],
        path: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> std::result::Result<(), Vec<usize>> {
        match mark[i] {
            2 => return Ok(()),
            1 => {
                let from = path.iter().position(|&p| p == i).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(i);
                return Err(cycle);
            }
            _ => {}
        }
        mark[i] = 1;
        path.push(i);
        for &j in &deps[i] {
            visit(j, deps, mark, path, out)?;
        }
        path.pop();
        mark[i] = 2;
        out.push(i);
        Ok(())
    }
    for i in 0..specs.len() {
        let mut path = Vec::new();
        if let Err(cycle) = visit(i, &deps, &mut mark, &mut path, &mut out) {
            let names: Vec<&str> = cycle.iter().map(|&j| specs[j].resource.as_str()).collect();
            return Err(Error::Plan {
                message: format!(
                    "the resources depend on each other in a cycle: {}",
                    names.join(" → ")
                ),
                help: Some(
                    "remove one `depends_on` or reference of the cycle; a resource cannot be \
                     written before and after another"
                        .into(),
                ),
            });
        }
    }
    Ok(out)
}

/// Text a `by` value is compared with: trimmed and case-folded.
fn fold(v: &Value) -> String {
    key_text(v).trim().to_lowercase()
}

/// Replaces each reference field's value (the name of a referenced record, as the source
/// gave it) with that record's full address, taken from the referenced resource's plan. A
/// name no record has is an error naming both records.
pub fn resolve_references(
    spec: &Compiled,
    desired: &mut [DesiredRecord],
    planned: &[(&Compiled, &Plan)],
) -> Result<()> {
    let mut problems: Vec<String> = Vec::new();
    for (f, field) in spec.fields.iter().enumerate() {
        let Some(reference) = &field.reference else {
            continue;
        };
        let Some((parent, plan)) = planned
            .iter()
            .find(|(s, _)| s.resource == reference.resource)
        else {
            return Err(Error::Plan {
                message: format!(
                    "field `{}` of `{}` refers to `{}`, which is not planned with it",
                    field.name, spec.resource, reference.resource
                ),
                help: Some(
                    "plan the spec folder holding both resources (and target both with --target)"
                        .into(),
                ),
            });
        };
        let by = match &reference.by {
            None => parent.address_field,
            Some(name) => parent
                .fields
                .iter()
                .position(|g| &g.name == name)
                .ok_or_else(|| Error::Plan {
                    message: format!(
                        "field `{}` of `{}` refers to `{}` by `{name}`, which is not one of its fields",
                        field.name, spec.resource, reference.resource
                    ),
                    help: Some(format!(
                        "its fields are {}",
                        parent
                            .fields
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                })?,
        };
        let mut by_value: HashMap<String, String> = HashMap::new();
        for c in &plan.changes {
            if c.action == Action::Delete {
                continue;
            }
            if let Some(v) = c.after.as_ref().map(|a| &a[by])
                && !v.is_null()
            {
                by_value
                    .entry(fold(v))
                    .or_insert_with(|| address::display(&parent.resource, &c.address));
            }
        }
        for d in desired.iter_mut() {
            let v = &d.values[f];
            if v.is_null() {
                continue;
            }
            match by_value.get(&fold(v)) {
                Some(addr) => d.values[f] = Value::Text(addr.clone()),
                None => {
                    let masked = |f: usize, v: &Value| {
                        if spec.sensitive.get(f) == Some(&true) {
                            crate::value::MASK.to_string()
                        } else {
                            key_text(v)
                        }
                    };
                    let who = masked(spec.address_field, &d.values[spec.address_field]);
                    let from = d
                        .source_of(f)
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default();
                    problems.push(format!(
                        "{} record \"{who}\"{from}: field `{}` refers to {} \"{}\" by `{}`, and no {} record has that value",
                        spec.resource,
                        field.name,
                        reference.resource,
                        if parent.sensitive.get(by) == Some(&true) { crate::value::MASK.to_string() } else { masked(f, v) },
                        parent.fields[by].name,
                        reference.resource
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Plan {
            message: format!(
                "{} reference{} to records that do not exist:\n  {}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems.join("\n  ")
            ),
            help: Some(
                "correct the source value, or add the referenced record to its sources".into(),
            ),
        })
    }
}

/// Reads each reference column's stored primary key as the address of the row it points to,
/// by the referenced resource's state entries, so a row written from the plan compares equal
/// to it. A key no managed row has is left as it is (and shows as a change).
pub fn map_current(spec: &Compiled, current: &mut CurrentState, read: &[(&str, &CurrentState)]) {
    for (f, field) in spec.fields.iter().enumerate() {
        let Some(reference) = &field.reference else {
            continue;
        };
        let Some((_, parent)) = read.iter().find(|(r, _)| *r == reference.resource) else {
            continue;
        };
        let by_key: HashMap<&str, &str> = parent
            .state
            .iter()
            .map(|s| (s.row_key.as_str(), s.address.as_str()))
            .collect();
        for row in &mut current.rows {
            if row.values[f].is_null() {
                continue;
            }
            if let Some(a) = by_key.get(key_text(&row.values[f]).as_str()) {
                row.values[f] = Value::Text(address::display(&reference.resource, a));
            }
        }
    }
}

/// What `--target` keeps: per spec, whether it is planned, and the addresses its plan is
/// cut down to (`None`: all of them). A targeted resource brings, whole, the resources it
/// depends on, as Terraform does: its references need their rows.
pub fn targets(specs: &[Compiled], wanted: &[String]) -> Result<Vec<(bool, Option<Vec<String>>)>> {
    if wanted.is_empty() {
        return Ok(vec![(true, None); specs.len()]);
    }
    let mut out: Vec<(bool, Option<Vec<String>>)> = vec![(false, Some(Vec::new())); specs.len()];
    let mut stack: Vec<usize> = Vec::new();
    for w in wanted {
        let (resource, key) = match parse_address(w) {
            Some((r, k)) => (r, Some(k)),
            None => (w.clone(), None),
        };
        let Some(i) = specs.iter().position(|s| s.resource == resource) else {
            return Err(Error::Plan {
                message: format!("--target {w}: no spec of the folder declares `{resource}`"),
                help: Some(format!(
                    "the resources are {}",
                    specs
                        .iter()
                        .map(|s| s.resource.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            });
        };
        out[i].0 = true;
        match (key, &mut out[i].1) {
            (None, slot) => *slot = None,
            (Some(k), Some(keys)) => keys.push(k),
            (Some(_), None) => {}
        }
        stack.push(i);
    }
    while let Some(i) = stack.pop() {
        for name in dependencies(&specs[i]) {
            if let Some(j) = specs.iter().position(|s| s.resource == name)
                && out[j] != (true, None)
            {
                out[j] = (true, None);
                stack.push(j);
            }
        }
    }
    Ok(out)
}

/// Cuts a plan down to the given addresses (keys inside `resource["…"]`).
pub fn keep_addresses(plan: &mut Plan, keys: &[String]) {
    plan.changes.retain(|c| keys.contains(&c.address));
    plan.missing.retain(|m| keys.contains(&m.address));
    plan.create_table = plan.create_table && !plan.changes.is_empty();
}

/// `resource["key"]` → (resource, key); `None` for a bare resource name.
pub fn parse_address(text: &str) -> Option<(String, String)> {
    super::address::parse(text).map(|(resource, key)| (resource.to_string(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &std::path::Path, resource: &str, extra: &str) -> Compiled {
        let path = dir.join(format!("{resource}.yaml"));
        std::fs::write(
            &path,
            format!(
                "version: 1\nresource: {resource}\ntarget:\n  table: {resource}\n  fields:\n    \
                 name: {{}}\nsources:\n  s:\n    id: name\n    inline: [{{ name: x }}]\n    fields: {{ name: name }}\n{extra}"
            ),
        )
        .unwrap();
        crate::spec::load::load(&path).unwrap()
    }

    fn names(specs: &[Compiled], order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| specs[i].resource.clone()).collect()
    }

    #[test]
    fn parents_come_first_whatever_the_folder_order() {
        let dir = tempfile::tempdir().unwrap();
        let specs = vec![
            spec(
                dir.path(),
                "invoices",
                "depends_on: [branches, customers]\n",
            ),
            spec(dir.path(), "branches", "depends_on: [customers]\n"),
            spec(dir.path(), "customers", ""),
        ];
        assert_eq!(
            names(&specs, &order(&specs).unwrap()),
            ["customers", "branches", "invoices"]
        );
    }

    #[test]
    fn a_cycle_is_named_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let specs = vec![
            spec(dir.path(), "a", "depends_on: [b]\n"),
            spec(dir.path(), "b", "depends_on: [c]\n"),
            spec(dir.path(), "c", "depends_on: [a]\n"),
        ];
        let err = order(&specs).unwrap_err().to_string();
        assert!(err.contains("cycle: a → b → c → a"), "{err}");
    }

    #[test]
    fn a_resource_declared_twice_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = spec(dir.path(), "a", "");
        let err = order(&[a.clone(), a]).unwrap_err().to_string();
        assert!(err.contains("resource `a` is declared twice"), "{err}");
    }

    #[test]
    fn addresses_parse_back() {
        assert_eq!(
            parse_address(r#"branches["valley-barchefz"]"#),
            Some(("branches".into(), "valley-barchefz".into()))
        );
        assert_eq!(
            parse_address(&address::display("r", r#"a "q" \ b"#)),
            Some(("r".into(), r#"a "q" \ b"#.into()))
        );
        assert_eq!(parse_address("branches"), None);
    }
}
