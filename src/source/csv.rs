//! CSV reader: a header row, then one record per row. Every cell is text; a ragged row or
//! invalid UTF-8 is an error naming its line.

use super::{ReadResult, Row};

pub fn read(bytes: &[u8]) -> ReadResult {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            (
                Some("line 1".to_string()),
                format!("cannot read the header row: {e}"),
            )
        })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                let map = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
                    .collect();
                rows.push(Row {
                    label: format!("line {line}"),
                    value: serde_json::Value::Object(map),
                });
            }
            Err(e) => {
                let at = e.position().map_or(line, |p| p.line());
                let message = match e.kind() {
                    ::csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("this row has {len} fields, the header has {expected_len}"),
                    ::csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_string(),
                    _ => e.to_string(),
                };
                return Err((Some(format!("line {at}")), message));
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_as_text() {
        let rows = read(b"Name,Phone\nAcme,082 874 8637\n").unwrap();
        assert_eq!(rows[0].value["Phone"], "082 874 8637");
        assert_eq!(rows[0].label, "line 2");
    }

    #[test]
    fn ragged_rows_name_their_line() {
        let (row, msg) = read(b"a,b\n1,2\n3\n").unwrap_err();
        assert_eq!(row.unwrap(), "line 3");
        assert!(msg.contains("1 fields, the header has 2"), "{msg}");
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let (row, msg) = read(b"a,b\n1,2\n3,\xff\n").unwrap_err();
        assert_eq!(row.unwrap(), "line 3");
        assert!(msg.contains("UTF-8"), "{msg}");
    }
}
