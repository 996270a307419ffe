//! CSV reader: a header row, then one record per row, separated by commas or the source's
//! `delimiter`. Every cell is text; a ragged row or invalid UTF-8 is an error naming its
//! line, and a mapped column the header lacks is an error naming the column. Records are
//! mapped straight from the cells.

use super::{Ids, Problem, RawRecord, ReadResult, Row};
use crate::spec::compiled::{Compiled, FieldPath, Source};

/// Reads every row as a JSON object of its cells, keyed by the (trimmed) header; the file is
/// separated by commas.
pub fn read(bytes: &[u8]) -> ReadResult {
    read_with(bytes, b',')
}

/// [`read`], for a file separated by `delimiter`.
pub fn read_with(bytes: &[u8], delimiter: u8) -> ReadResult {
    let mut rows = Vec::new();
    each_row(
        bytes,
        delimiter,
        |_| Ok(()),
        |headers, _, line, record| {
            let map = headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
                .collect();
            rows.push(Row {
                label: format!("line {line}"),
                value: serde_json::Value::Object(map),
            });
        },
    )
    .map_err(|mut ps| {
        let p = ps.remove(0);
        (p.row, p.message)
    })?;
    Ok(rows)
}

/// Reads rows straight into records of the source: each mapped field is taken from its
/// column, without building a JSON object per row. Gives the same records and the same
/// problems as [`read`] followed by [`super::map_records`], faster and in less memory; a
/// column the header lacks is found from the header alone, even in a file without rows.
pub fn read_mapped(
    bytes: &[u8],
    spec: &Compiled,
    index: usize,
    source: &Source,
) -> Result<Vec<RawRecord>, Vec<Problem>> {
    let mut problems: Vec<Problem> = Vec::new();
    let mut out = Vec::new();
    let mut ids = Ids::for_source(source);
    let header = |headers: &[String]| columns(spec, source, headers);
    each_row(
        bytes,
        source.delimiter,
        header,
        |_, (id_column, mapped): &Columns, line, record| {
            let label = || format!("line {line}");
            let mut fields = vec![serde_json::Value::Null; spec.fields.len()];
            for &(fi, c) in mapped.iter() {
                if let Some(cell) = record.get(c) {
                    fields[fi] = serde_json::Value::String(cell.to_string());
                }
            }
            let explicit = || {
                id_column
                    .and_then(|c| record.get(c))
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_string)
            };
            match ids.next(spec, source, explicit, &fields) {
                Ok(id) => out.push(RawRecord {
                    source: index,
                    id,
                    row: label(),
                    fields,
                }),
                Err(message) => problems.push(Problem {
                    row: Some(label()),
                    message,
                    help: None,
                }),
            }
        },
    )?;
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Where a source's id and each mapped field are in a row: `(id column, [(field, column)])`.
type Columns = (Option<usize>, Vec<(usize, usize)>);

/// Finds the id column and every mapped column in the header. A column the header lacks is
/// a problem (it would read as empty in every row), with a did-you-mean over the header; a
/// header of one column holding `;`, a tab or `|` suggests the file's real separator.
fn columns(spec: &Compiled, source: &Source, headers: &[String]) -> Result<Columns, Vec<Problem>> {
    let mut absent: Vec<(String, &FieldPath)> = Vec::new();
    let id_column = source.id.as_ref().and_then(|path| {
        let c = column_of(headers, path);
        if c.is_none() {
            absent.push((format!("the id is column `{}`", path.raw), path));
        }
        c
    });
    let mut mapped = Vec::with_capacity(source.mapping.len());
    for (fi, path) in &source.mapping {
        match column_of(headers, path) {
            Some(c) => mapped.push((*fi, c)),
            None => absent.push((
                format!(
                    "field `{}` is mapped to column `{}`",
                    spec.fields[*fi].name, path.raw
                ),
                path,
            )),
        }
    }
    if absent.is_empty() {
        return Ok((id_column, mapped));
    }
    let line_1 = Some("line 1".to_string());
    // A header read as one column explains every absent column at once: say it once.
    if let ([one], Some(sep)) = (headers, sniff_delimiter(headers, source.delimiter)) {
        let written = if sep == b'\t' {
            "\\t".to_string()
        } else {
            (sep as char).to_string()
        };
        return Err(vec![Problem {
            row: line_1,
            message: format!(
                "the header has one column, `{one}`, so {} of the columns mapped cannot be \
                 found; is the file separated by {}?",
                absent.len(),
                show_delimiter(sep)
            ),
            help: Some(format!("add `delimiter: \"{written}\"` to the source")),
        }]);
    }
    Err(absent
        .into_iter()
        .map(|(what, path)| Problem {
            row: line_1.clone(),
            message: format!("{what}, which the header does not have"),
            help: Some(super::paths_help(&path.raw, headers, "the header has")),
        })
        .collect())
}

/// The separator a one-column header seems to use instead of the one given: the most
/// frequent of `;`, tab and `|` in it.
fn sniff_delimiter(headers: &[String], given: u8) -> Option<u8> {
    let [one] = headers else {
        return None;
    };
    [b';', b'\t', b'|', b',']
        .into_iter()
        .filter(|&c| c != given)
        .map(|c| (one.bytes().filter(|&b| b == c).count(), c))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .map(|(_, c)| c)
}

fn show_delimiter(c: u8) -> String {
    match c {
        b'\t' => "tabs".to_string(),
        c => format!("`{}`", c as char),
    }
}

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

/// Reads the header and hands it to `header`, which may refuse the file; then calls `each`
/// with the headers, what `header` made of them, the line and the cells of every row. A
/// ragged row or invalid UTF-8 ends the read with a problem naming its line.
fn each_row<H>(
    bytes: &[u8],
    delimiter: u8,
    header: impl FnOnce(&[String]) -> Result<H, Vec<Problem>>,
    mut each: impl FnMut(&[String], &H, u64, &::csv::StringRecord),
) -> Result<(), Vec<Problem>> {
    let at = |line: u64, message: String| {
        vec![Problem {
            row: Some(format!("line {line}")),
            message,
            help: None,
        }]
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .delimiter(delimiter)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| at(1, format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let made = header(&headers)?;
    let mut record = ::csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                each(&headers, &made, line, &record);
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                let message = match e.kind() {
                    ::csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("this row has {len} fields, the header has {expected_len}"),
                    ::csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_string(),
                    _ => e.to_string(),
                };
                return Err(at(line, message));
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

    fn spec(source: &str) -> Compiled {
        crate::spec::load::load_str(
            &format!(
                "version: 1\nresource: r\ntarget:\n  table: t\n  key: email\n  fields:\n    \
                 name: {{ type: text }}\n    email: {{ type: email }}\nsources:\n  s:\n    \
                 file: s.csv\n{source}"
            ),
            std::path::Path::new("spec.yaml"),
        )
        .expect("the spec loads")
    }

    fn mapped(spec: &Compiled, bytes: &[u8]) -> Result<Vec<RawRecord>, Vec<Problem>> {
        read_mapped(bytes, spec, 0, &spec.sources[0])
    }

    #[test]
    fn a_column_the_header_lacks_is_named_with_a_suggestion() {
        let spec = spec("    fields: { name: Name, email: Emial }\n");
        let problems = mapped(&spec, b"Name,Email\nAcme,a@x.com\n").unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = &problems[0];
        assert_eq!(
            p.message,
            "field `email` is mapped to column `Emial`, which the header does not have"
        );
        assert_eq!(
            p.help.as_deref(),
            Some("did you mean `Email`? the header has: Name, Email")
        );
        // Also in a file without rows: the header alone says it.
        assert!(mapped(&spec, b"Name,Email\n").is_err());
    }

    #[test]
    fn an_id_column_the_header_lacks_is_named() {
        let spec = spec("    id: code\n    fields: { name: Name, email: Email }\n");
        let problems = mapped(&spec, b"Name,Email,Code\nAcme,a@x.com,7\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "the id is column `code`, which the header does not have"
        );
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `Code`?"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_header_of_one_column_suggests_the_delimiter() {
        let spec = spec("    fields: { name: Name, email: Email }\n");
        let problems = mapped(&spec, b"Name;Email\nAcme;a@x.com\n").unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].message,
            "the header has one column, `Name;Email`, so 2 of the columns mapped cannot be \
             found; is the file separated by `;`?"
        );
        assert_eq!(
            problems[0].help.as_deref(),
            Some("add `delimiter: \";\"` to the source")
        );
        let tabs = mapped(&spec, b"Name\tEmail\nAcme\ta@x.com\n").unwrap_err();
        assert!(tabs[0].message.ends_with("separated by tabs?"), "{tabs:?}");
    }

    #[test]
    fn the_delimiter_setting_is_honoured() {
        let semi = spec("    delimiter: \";\"\n    fields: { name: Name, email: Email }\n");
        let records = mapped(&semi, b"Name;Email\nAcme, Inc;a@x.com\n").unwrap();
        assert_eq!(records[0].fields[0], "Acme, Inc");
        assert_eq!(records[0].fields[1], "a@x.com");
        let tabbed = spec("    delimiter: \"\\t\"\n    fields: { name: Name, email: Email }\n");
        let records = mapped(&tabbed, b"Name\tEmail\nAcme\ta@x.com\n").unwrap();
        assert_eq!(records[0].fields[1], "a@x.com");
    }

    #[test]
    fn ids_come_from_content_not_rows() {
        let spec = spec("    fields: { name: Name, email: Email }\n");
        let ids = |bytes: &[u8]| -> Vec<(String, String)> {
            let mut v: Vec<(String, String)> = mapped(&spec, bytes)
                .unwrap()
                .into_iter()
                .map(|r| (r.fields[0].as_str().unwrap().to_string(), r.id))
                .collect();
            v.sort();
            v
        };
        let forward = ids(b"Name,Email\nA,a@x\nB,b@x\nA,a@x\nC,c@x\n");
        let backward = ids(b"Name,Email\nC,c@x\nA,a@x\nB,b@x\nA,a@x\n");
        assert_eq!(forward, backward);
        let without_b = ids(b"Name,Email\nA,a@x\nA,a@x\nC,c@x\n");
        assert_eq!(
            without_b,
            forward
                .iter()
                .filter(|(n, _)| n != "B")
                .cloned()
                .collect::<Vec<_>>()
        );
        // Identical records: the hash, then the hash with `-2`.
        assert_eq!(forward[1].1, format!("{}-2", forward[0].1));
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let (row, msg) = read(b"a,b\n1,2\n3,\xff\n").unwrap_err();
        assert_eq!(row.unwrap(), "line 3");
        assert!(msg.contains("UTF-8"), "{msg}");
    }
}
