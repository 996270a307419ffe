//! Addresses: the stable name of each desired record, `customers["maltos-sun-city"]`.
//!
//! A record that was applied before keeps the address the state table gives any of its
//! source records, so renaming a customer in a source is an update, not a delete and a create.
//! A new record takes a slug of its address field, made unique with `-2`, `-3`, ...

use crate::collections::{HashMap, HashSet};

use crate::db::read::StateRow;
use crate::merge::DesiredRecord;
use crate::spec::compiled::Compiled;
use crate::value::Value;

/// `resource["key"]`, with quotes and backslashes in the key escaped.
pub fn display(resource: &str, key: &str) -> String {
    format!(
        "{resource}[\"{}\"]",
        key.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Lower-case ASCII words joined by hyphens: "Die Joint Koffiehuis & Kwekery" →
/// "die-joint-koffiehuis-kwekery".
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
    out
}

/// Gives every desired record its address.
pub fn assign(spec: &Compiled, desired: &[DesiredRecord], state: &[StateRow]) -> Vec<String> {
    let mut by_member: HashMap<&str, &str> = HashMap::default();
    for s in state {
        for m in &s.members {
            by_member.entry(m.as_str()).or_insert(s.address.as_str());
        }
    }
    let mut used: HashSet<String> = state.iter().map(|s| s.address.clone()).collect();
    let mut claimed: HashSet<&str> = HashSet::default();
    let mut out: Vec<Option<String>> = vec![None; desired.len()];

    // Records applied before keep their address, the highest-priority member deciding.
    for (i, d) in desired.iter().enumerate() {
        for m in &d.members {
            if let Some(&addr) = by_member.get(m.to_string().as_str())
                && claimed.insert(addr)
            {
                out[i] = Some(addr.to_string());
                break;
            }
        }
    }
    // New records take a fresh slug.
    for (i, d) in desired.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let base = match &d.values[spec.address_field] {
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
        let mut n = 2;
        while used.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
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
    }

    #[test]
    fn display_escapes() {
        assert_eq!(display("customers", "a\"b"), r#"customers["a\"b"]"#);
    }
}
