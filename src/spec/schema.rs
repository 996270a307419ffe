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
/// `properties`, `additionalProperties`, `items` and the first matching `anyOf` branch.
/// Used to suggest valid keys and values.
pub fn schema_at(pointer: &str) -> Option<&'static Value> {
    let root = schema();
    let mut node = resolve(root, root)?;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        node = step(root, node, &seg)?;
    }
    Some(node)
}

fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> Option<&'a Value> {
    for _ in 0..16 {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            let name = r.strip_prefix("#/$defs/")?;
            node = root.get("$defs")?.get(name)?;
            continue;
        }
        if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
            node = branches
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))?;
            continue;
        }
        return Some(node);
    }
    None
}

fn step<'a>(root: &'a Value, node: &'a Value, seg: &str) -> Option<&'a Value> {
    let next = if let Some(p) = node.get("properties").and_then(|p| p.get(seg)) {
        p
    } else if let Some(ap) = node.get("additionalProperties").filter(|v| v.is_object()) {
        ap
    } else if let Some(items) = node.get("items") {
        match items {
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            other => other,
        }
    } else if let Some(pi) = node.get("prefixItems").and_then(Value::as_array) {
        pi.get(seg.parse::<usize>().ok()?)?
    } else {
        return None;
    };
    resolve(root, next)
}

/// The keys an object at `pointer` may have.
pub fn allowed_keys(pointer: &str) -> Vec<String> {
    schema_at(pointer)
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The values a string at `pointer` may take, when it is an enumeration.
pub fn allowed_values(pointer: &str) -> Vec<String> {
    let Some(node) = schema_at(pointer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(e) = node.get("enum").and_then(Value::as_array) {
        out.extend(e.iter().filter_map(Value::as_str).map(String::from));
    }
    if let Some(one) = node.get("oneOf").and_then(Value::as_array) {
        for b in one {
            if let Some(c) = b.get("const").and_then(Value::as_str) {
                out.push(c.to_string());
            }
            if let Some(e) = b.get("enum").and_then(Value::as_array) {
                out.extend(e.iter().filter_map(Value::as_str).map(String::from));
            }
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
