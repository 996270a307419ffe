//! Addresses: the stable name of each desired record, `customers["maltos-sun-city"]`.
//!
//! A record that was applied before keeps the address the state table gives any of its
//! source records, so renaming a customer in a source is an update, not a delete and a create.
//! A new record takes a slug of its address field, made unique with `-2`, `-3`, ...; when
//! that field is sensitive, or empty, a slug of its first source record (`production-7`).

use std::fmt::Write as _;

use crate::collections::{HashMap, HashSet};

use crate::merge::DesiredRecord;
use crate::spec::compiled::Compiled;
use crate::state::StateRow;
use crate::value::Value;

/// `resource["key"]`, with quotes and backslashes in the key escaped.
pub fn display(resource: &str, key: &str) -> String {
    format!(
        "{resource}[\"{}\"]",
        key.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// An address as people write it, `customers["acme"]` (quotes and backslashes in the key
/// escaped as [`display`] writes them): its resource and key. `None` for text of another
/// shape, such as a bare key.
pub fn parse(text: &str) -> Option<(&str, String)> {
    let (resource, rest) = text.split_once("[\"")?;
    let inner = rest.strip_suffix("\"]")?;
    if resource.is_empty() || resource.contains(['[', ']', '"']) {
        return None;
    }
    let mut key = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => key.push(chars.next()?),
            // An unescaped quote ends the key early: not an address `display` writes.
            '"' => return None,
            c => key.push(c),
        }
    }
    Some((resource, key))
}

/// The longest slug. An address is stored in the state table's VARCHAR(255) column with a
/// `-N` suffix when several records share a slug: this leaves ample room for it.
pub const MAX_SLUG: usize = 100;

/// Lower-case ASCII words joined by hyphens: "Die Joint Koffiehuis & Kwekery" →
/// "die-joint-koffiehuis-kwekery". Words stop being added past 60 characters, and a slug
/// longer than [`MAX_SLUG`] (one long word) is cut, on a character boundary.
pub fn slug(s: &str) -> String {
    let folded = deunicode::deunicode(s).to_lowercase();
    let mut out = String::with_capacity(folded.len());
    for word in folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(word);
        if out.len() >= 60 {
            break;
        }
    }
    if out.len() > MAX_SLUG {
        let mut cut = MAX_SLUG;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        while out.ends_with('-') {
            out.pop();
        }
    }
    out
}

/// Gives every desired record its address.
pub fn assign(spec: &Compiled, desired: &[DesiredRecord], state: &[StateRow]) -> Vec<String> {
    // Sized up front: at a million entries, growing by doubling rehashes every key again.
    let mut by_member: HashMap<&str, &str> = HashMap::default();
    by_member.reserve(state.iter().map(|s| s.members.len()).sum());
    for s in state {
        for m in &s.members {
            by_member.entry(m.as_str()).or_insert(s.address.as_str());
        }
    }
    let mut used: HashSet<String> = HashSet::default();
    used.reserve(state.len() + desired.len());
    used.extend(state.iter().map(|s| s.address.clone()));
    let mut claimed: HashSet<&str> = HashSet::default();
    claimed.reserve(state.len().min(desired.len()));
    let mut out: Vec<Option<String>> = vec![None; desired.len()];

    // Records applied before keep their address, the highest-priority member deciding.
    let mut written = String::new();
    for (i, d) in desired.iter().enumerate() {
        for m in &d.members {
            written.clear();
            let _ = write!(written, "{m}");
            if let Some(&addr) = by_member.get(written.as_str())
                && claimed.insert(addr)
            {
                out[i] = Some(addr.to_string());
                break;
            }
        }
    }
    // New records take a fresh slug. The next suffix to try is kept per slug, so that a
    // name a thousand records share costs a thousand steps, not half a million.
    let mut next_suffix: HashMap<String, usize> = HashMap::default();
    for (i, d) in desired.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        // A sensitive field never names a record: its value would show in every address.
        let sensitive = spec
            .sensitive
            .get(spec.address_field)
            .copied()
            .unwrap_or(false);
        let base = match &d.values[spec.address_field] {
            _ if sensitive => String::new(),
            Value::Text(s) => slug(s),
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        };
        let base = if base.is_empty() {
            slug(&d.members[0].to_string())
        } else {
            base
        };
        let mut candidate = base.clone();
        if used.contains(&candidate) {
            let n = next_suffix.entry(base.clone()).or_insert(2);
            loop {
                candidate = format!("{base}-{n}");
                *n += 1;
                if !used.contains(&candidate) {
                    break;
                }
            }
        }
        used.insert(candidate.clone());
        out[i] = Some(candidate);
    }
    out.into_iter()
        .map(|a| a.expect("every record got an address"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Die Joint Koffiehuis & Kwekery"),
            "die-joint-koffiehuis-kwekery"
        );
        assert_eq!(slug("Valley (Barchefz Branch)"), "valley-barchefz-branch");
        assert_eq!(slug("Café Zoë"), "cafe-zoe");
        assert_eq!(slug("!!!"), "");
        // One long word is cut; words past 60 characters are left out.
        assert_eq!(slug(&"x".repeat(300)), "x".repeat(MAX_SLUG));
        let words = format!("{} {}", "a".repeat(59), "b".repeat(300));
        assert_eq!(slug(&words).len(), MAX_SLUG);
        assert!(slug(&format!("{} tail", "é".repeat(200))).len() <= MAX_SLUG);
    }

    #[test]
    fn shared_names_get_numbered_suffixes_in_order() {
        let spec = crate::spec::load::load_str(
            "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    name: { type: text }\n\
             sources:\n  s:\n    id: name\n    inline: [{ name: x }]\n    fields: { name: name }\n",
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads");
        let record = |name: &str| DesiredRecord {
            values: vec![Value::Text(name.into())],
            provenance: vec![None],
            members: vec![crate::merge::SourceRef {
                source: "s".into(),
                id: name.into(),
            }],
            cluster: 0,
            invalid_only: Vec::new(),
            conflicts: Default::default(),
        };
        let desired: Vec<DesiredRecord> = ["Acme", "Acme", "Bolt", "Acme", "acme-2", "Acme"]
            .into_iter()
            .map(record)
            .collect();
        assert_eq!(
            assign(&spec, &desired, &[]),
            ["acme", "acme-2", "bolt", "acme-3", "acme-2-2", "acme-4"]
        );
    }

    #[test]
    fn display_escapes() {
        assert_eq!(display("customers", "a\"b"), r#"customers["a\"b"]"#);
    }

    #[test]
    fn parse_reads_back_what_display_writes() {
        for key in ["acme", "a\"b", "back\\slash", "", "x[\"y\"]"] {
            let shown = display("customers", key);
            assert_eq!(
                parse(&shown),
                Some(("customers", key.to_string())),
                "{shown}"
            );
        }
        assert_eq!(parse("acme"), None);
        assert_eq!(parse("customers[acme]"), None);
        assert_eq!(parse(r#"["acme"]"#), None);
        assert_eq!(parse(r#"customers["a"b"]"#), None);
    }
}
