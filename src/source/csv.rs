//! CSV reader: a header row, then one record per row. Every cell is text; a ragged row or
//! invalid UTF-8 is an error naming its line. Records are mapped straight from the cells.

use super::{RawRecord, ReadResult, Row};
use crate::collections::HashSet;
use crate::spec::compiled::{Compiled, FieldPath, Source};

/// Reads every row as a JSON object of its cells, keyed by the (trimmed) header.
pub fn read(bytes: &[u8]) -> ReadResult {
    let mut rows = Vec::new();
    each_row(bytes, |headers, line, record| {
        let map = headers
            .iter()
            .zip(record.iter())
            .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
            .collect();
        rows.push(Row {
            label: format!("line {line}"),
            value: serde_json::Value::Object(map),
        });
    })?;
    Ok(rows)
}

/// Reads rows straight into records of the source: each mapped field is taken from its
/// column, without building a JSON object per row. Gives the same records and the same
/// problems as [`read`] followed by [`super::map_records`], faster and in less memory.
pub fn read_mapped(
    bytes: &[u8],
    spec: &Compiled,
    index: usize,
    source: &Source,
) -> Result<Vec<RawRecord>, Vec<(Option<String>, String)>> {
    let mut problems: Vec<(Option<String>, String)> = Vec::new();
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::default();
    let mut columns: Option<Columns> = None;
    let mut n = 0usize;
    each_row(bytes, |headers, line, record| {
        let (id_column, mapped) = columns.get_or_insert_with(|| {
            (
                source.id.as_ref().and_then(|p| column_of(headers, p)),
                source
                    .mapping
                    .iter()
                    .map(|(fi, p)| (*fi, column_of(headers, p)))
                    .collect(),
            )
        });
        n += 1;
        let label = || format!("line {line}");
        let id = match &source.id {
            None => n.to_string(),
            Some(path) => match id_column.and_then(|c| record.get(c)).map(str::trim) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => {
                    problems.push((
                        Some(label()),
                        format!("the id field `{}` is missing or empty", path.raw),
                    ));
                    return;
                }
            },
        };
        if !seen.insert(id.clone()) {
            problems.push((
                Some(label()),
                format!("id `{id}` appears more than once in this source"),
            ));
            return;
        }
        let mut fields = vec![serde_json::Value::Null; spec.fields.len()];
        for &(fi, c) in mapped.iter() {
            if let Some(cell) = c.and_then(|c| record.get(c)) {
                fields[fi] = serde_json::Value::String(cell.to_string());
            }
        }
        out.push(RawRecord {
            source: index,
            id,
            row: label(),
            fields,
        });
    })
    .map_err(|e| vec![e])?;
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Where a source's id and each mapped field are in a row: `(id column, [(field, column)])`.
type Columns = (Option<usize>, Vec<(usize, Option<usize>)>);

/// The column a field path reads in a flat row: the header equal to the whole path, else to
/// its single segment; the last such header when several are equal (as a JSON object of the
/// row would keep it).
fn column_of(headers: &[String], path: &FieldPath) -> Option<usize> {
    headers
        .iter()
        .rposition(|h| *h == path.raw)
        .or_else(|| match path.segments.as_slice() {
            [one] => headers.iter().rposition(|h| h == one),
            _ => None,
        })
}

/// Calls `each` with the headers, the line and the cells of every row; a ragged row or
/// invalid UTF-8 ends the read with a problem naming its line.
fn each_row(
    bytes: &[u8],
    mut each: impl FnMut(&[String], u64, &::csv::StringRecord),
) -> Result<(), (Option<String>, String)> {
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
    let mut record = ::csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                each(&headers, line, &record);
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
