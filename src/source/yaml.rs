//! YAML reader: a list of mappings, at the root or under a JSON pointer. Rows are labelled
//! with their line in the file.

use super::{ReadResult, Row, records_at};
use crate::spec::yaml;

/// YAML data files may be large; the node budget still stops alias bombs.
const DATA_NODE_BUDGET: usize = 50_000_000;

pub fn read(bytes: &[u8], pointer: &str) -> ReadResult {
    let text = super::utf8(bytes)?;
    let doc = yaml::parse(text, DATA_NODE_BUDGET).map_err(|e| {
        (
            Some(format!(
                "line {}, column {}",
                e.location.line, e.location.column
            )),
            format!("invalid YAML: {}", e.message),
        )
    })?;
    let lines: Vec<usize> = {
        let n = match doc.value.pointer(pointer) {
            Some(serde_json::Value::Array(a)) => a.len(),
            _ => 0,
        };
        (0..n)
            .map(|i| doc.locate_value(&format!("{pointer}/{i}")).line)
            .collect()
    };
    let items = records_at(doc.value, pointer).map_err(|m| (None, m))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, value)| Row {
            label: format!("line {}", lines.get(i).copied().unwrap_or(0)),
            value,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_their_line() {
        let rows = read(b"# customers\n- name: A\n- name: B\n  phone: '1'\n", "").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].label, "line 3");
    }
}
