//! JSON and NDJSON readers. A JSON file holds a list of records, at the root or under a JSON
//! pointer (a Django fixture, `[{"model", "pk", "fields"}]`, works as is).

use super::{ReadResult, Row, records_at};

pub fn read_json(bytes: &[u8], pointer: &str) -> ReadResult {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        (
            Some(format!("line {}, column {}", e.line(), e.column())),
            format!("invalid JSON: {e}"),
        )
    })?;
    let items = records_at(doc, pointer).map_err(|m| (None, m))?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, value)| Row {
            label: format!("record {}", i + 1),
            value,
        })
        .collect())
}

pub fn read_ndjson(bytes: &[u8]) -> ReadResult {
    let text = super::utf8(bytes)?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(line).map_err(|e| {
            (
                Some(format!("line {}", i + 1)),
                format!("invalid JSON: {e}"),
            )
        })?;
        rows.push(Row {
            label: format!("line {}", i + 1),
            value,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_under_a_pointer() {
        let rows = read_json(
            br#"{"data": {"items": [{"a": 1}, {"a": 2}]}}"#,
            "/data/items",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].label, "record 2");
    }

    #[test]
    fn a_pointer_to_nothing_is_named() {
        let (_, msg) = read_json(br#"{"data": []}"#, "/nope").unwrap_err();
        assert!(msg.contains("`/nope` points to nothing"), "{msg}");
    }

    #[test]
    fn broken_json_names_the_line() {
        let (row, _) = read_json(b"[\n{\"a\": 1},\n{\"a\" 2}\n]", "").unwrap_err();
        assert_eq!(row.unwrap(), "line 3, column 6");
    }

    #[test]
    fn ndjson_names_the_bad_line() {
        let (row, _) = read_ndjson(b"{\"a\":1}\n\n{oops}\n").unwrap_err();
        assert_eq!(row.unwrap(), "line 3");
    }
}
