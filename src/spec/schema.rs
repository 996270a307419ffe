//! The JSON Schema of the spec, generated from the Rust types. The committed copy in
//! `schemas/reconcile.schema.json` is what editors use; a test keeps the two identical.

use std::sync::OnceLock;

use serde_json::Value;

use super::Spec;

/// The schema as a JSON value.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema = schemars::schema_for!(Spec);
        serde_json::to_value(schema).expect("a generated schema is valid JSON")
    })
}

/// The schema as pretty-printed text with a trailing newline, as committed.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(schema()).expect("a generated schema is valid JSON");
    s.push('\n');
    s
}

/// A compiled validator for the schema, built once.
pub fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::validator_for(schema()).expect("the generated schema compiles"))
}

/// The sub-schema that describes the node at `pointer` in a spec, following `$ref`s,
/// `properties`, `additionalProperties`, `items` and `anyOf` / `oneOf` branches: the first of
/// [`schemas_at`]. Used to suggest valid keys and values.
pub fn schema_at(pointer: &str) -> Option<&'static Value> {
    schemas_at(pointer).into_iter().next()
}

/// Every sub-schema that may describe the node at `pointer`: a node that is one of several
/// shapes (`anyOf`, `oneOf`: a path or a mapping, a rule's name or its settings) gives each
/// of them, in order, and a step into a child follows every shape that has it.
pub fn schemas_at(pointer: &str) -> Vec<&'static Value> {
    let root = schema();
    let mut nodes = branches(root, root);
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        nodes = nodes
            .into_iter()
            .filter_map(|n| step(n, &seg))
            .flat_map(|n| branches(root, n))
            .collect();
    }
    nodes
}

/// A node with its `$ref`s followed and its `anyOf` / `oneOf` branches taken apart (a `null`
/// branch, which only makes a key optional, left out).
fn branches<'a>(root: &'a Value, node: &'a Value) -> Vec<&'a Value> {
    fn walk<'a>(root: &'a Value, mut node: &'a Value, depth: usize, out: &mut Vec<&'a Value>) {
        if depth > 16 {
            return;
        }
        while let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let Some(next) = r
                .strip_prefix("#/$defs/")
                .and_then(|name| root.get("$defs")?.get(name))
            else {
                return;
            };
            node = next;
        }
        let list = node
            .get("anyOf")
            .or_else(|| node.get("oneOf"))
            .and_then(Value::as_array);
        match list {
            Some(list) => {
                for b in list {
                    if b.get("type").and_then(Value::as_str) != Some("null") {
                        walk(root, b, depth + 1, out);
                    }
                }
            }
            None => out.push(node),
        }
    }
    let mut out = Vec::new();
    walk(root, node, 0, &mut out);
    out
}

fn step<'a>(node: &'a Value, seg: &str) -> Option<&'a Value> {
    if let Some(p) = node.get("properties").and_then(|p| p.get(seg)) {
        Some(p)
    } else if let Some(ap) = node.get("additionalProperties").filter(|v| v.is_object()) {
        Some(ap)
    } else if let Some(items) = node.get("items") {
        match items {
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
            other => Some(other),
        }
    } else if let Some(pi) = node.get("prefixItems").and_then(Value::as_array) {
        pi.get(seg.parse::<usize>().ok()?)
    } else {
        None
    }
}

/// The keys an object at `pointer` may have (of every shape it may take).
pub fn allowed_keys(pointer: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for node in schemas_at(pointer) {
        let keys = node
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys());
        for k in keys {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// The values a string at `pointer` may take, when it is an enumeration; with the one key of
/// each mapping it may also be (as `replace` for a transform written `{ replace: ... }`).
pub fn allowed_values(pointer: &str) -> Vec<String> {
    fn push(out: &mut Vec<String>, v: &str) {
        if !out.iter().any(|o| o == v) {
            out.push(v.to_string());
        }
    }
    let nodes = schemas_at(pointer);
    let mut out: Vec<String> = Vec::new();
    for node in &nodes {
        for v in node
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(v) = v.as_str() {
                push(&mut out, v);
            }
        }
        if let Some(c) = node.get("const").and_then(Value::as_str) {
            push(&mut out, c);
        }
    }
    if out.is_empty() {
        return out;
    }
    for node in &nodes {
        if let Some([Value::String(key)]) = node
            .get("required")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            push(&mut out, key);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_through_refs_and_maps() {
        let keys = allowed_keys("/target/fields/email");
        assert!(keys.contains(&"type".to_string()), "{keys:?}");
        assert!(keys.contains(&"column".to_string()), "{keys:?}");
        let keys = allowed_keys("/sources/production");
        assert!(keys.contains(&"file".to_string()), "{keys:?}");
    }

    /// The schema is the editor's documentation: every property of every object says what
    /// it is (title), what it does (description) and shows a value (examples), and each
    /// example is itself valid there.
    #[test]
    fn every_property_has_a_title_a_description_and_a_valid_example() {
        let root = schema();
        let mut objects = vec![("spec".to_string(), root)];
        for (name, def) in root["$defs"].as_object().unwrap() {
            objects.push((name.clone(), def));
        }
        let mut missing = Vec::new();
        let mut checked = 0;
        for (name, object) in objects {
            let Some(props) = object.get("properties").and_then(Value::as_object) else {
                continue;
            };
            for (key, prop) in props {
                for what in ["title", "description", "examples"] {
                    if prop.get(what).is_none() {
                        missing.push(format!("{name}.{key}: no {what}"));
                    }
                }
                let mut sub = prop.clone();
                sub["$defs"] = root["$defs"].clone();
                let validator = jsonschema::validator_for(&sub).unwrap();
                for example in prop["examples"].as_array().into_iter().flatten() {
                    checked += 1;
                    if let Err(e) = validator.validate(example) {
                        missing.push(format!("{name}.{key}: example {example} is invalid: {e}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
        assert!(checked >= 40, "only {checked} examples");
    }

    #[test]
    fn finds_enumerations() {
        let values = allowed_values("/target/fields/email/type");
        assert!(values.contains(&"phone".to_string()), "{values:?}");
    }
}
