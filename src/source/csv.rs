//! CSV reader: a header line, then one record per row, separated by commas or the source's
//! `delimiter`, quoted by `"` or the source's `quote`, in UTF-8 or the source's `encoding`,
//! with lines above the header (`header:`, `skip:`) passed over. Every cell is text; a
//! ragged row or text the encoding cannot hold is an error naming its line, and a mapped
//! column the header lacks is an error naming the column. Records are mapped straight from
//! the cells.

use super::{Ids, Problem, RawRecord, ReadResult, Row, text};
use crate::spec::compiled::{Compiled, FieldPath, Layout, Source};

/// Reads every row as a JSON object of its cells, keyed by the (trimmed) header; the file is
/// separated by commas.
pub fn read(bytes: &[u8]) -> ReadResult {
    read_with(bytes, b',')
}

/// [`read`], for a file separated by `delimiter`.
pub fn read_with(bytes: &[u8], delimiter: u8) -> ReadResult {
    read_laid_out(
        bytes,
        &Layout {
            delimiter,
            ..Layout::default()
        },
    )
}

/// [`read`], for a file laid out as `layout` says (delimiter, quote, encoding, header line).
pub fn read_laid_out(bytes: &[u8], layout: &Layout) -> ReadResult {
    let mut rows = Vec::new();
    each_row(
        bytes,
        layout,
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
    let at = format!("line {}", source.layout.header);
    let header = |headers: &[String]| columns(spec, source, headers, &at, Some(&source.layout));
    each_row(
        bytes,
        &source.layout,
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
pub(super) type Columns = (Option<usize>, Vec<(usize, usize)>);

/// Finds the id column and every mapped column in the header. A column the header lacks is
/// a problem (it would read as empty in every row), with a did-you-mean over the header; for
/// a CSV file (`csv` gives its layout), a header of one column holding `;`, a tab or `|`
/// suggests the file's real separator.
pub(super) fn columns(
    spec: &Compiled,
    source: &Source,
    headers: &[String],
    at: &str,
    csv: Option<&Layout>,
) -> Result<Columns, Vec<Problem>> {
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
    let at = Some(at.to_string());
    // A header read as one column explains every absent column at once: say it once.
    if let (Some(layout), [one]) = (csv, headers)
        && let Some(sep) = sniff_delimiter(headers, layout.delimiter)
    {
        let written = if sep == b'\t' {
            "\\t".to_string()
        } else {
            (sep as char).to_string()
        };
        return Err(vec![Problem {
            row: at,
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
            row: at.clone(),
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
/// ragged row, or text its encoding cannot hold, ends the read with a problem naming its
/// line (counted from the top of the file, skipped lines included).
fn each_row<H>(
    bytes: &[u8],
    layout: &Layout,
    header: impl FnOnce(&[String]) -> Result<H, Vec<Problem>>,
    mut each: impl FnMut(&[String], &H, u64, &::csv::StringRecord),
) -> Result<(), Vec<Problem>> {
    let text = text::open(bytes, layout.encoding).map_err(|p| vec![p])?;
    let (start, skipped) = skip_lines(&text, layout.header - 1);
    let body = &text[start..];
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![Problem {
            row: None,
            message: if layout.header == 1 {
                "the file is empty: it has no header line".to_string()
            } else if skipped < layout.header - 1 {
                format!(
                    "the header is on line {}, but the file has {skipped} lines",
                    layout.header
                )
            } else {
                format!(
                    "the header is on line {}, but the file is blank from there on",
                    layout.header
                )
            },
            help: (layout.header > 1)
                .then(|| "check `header:` (or `skip:`) against the file".into()),
        }]);
    }
    let mut lines = Lines {
        text: body,
        at: 0,
        breaks: u64::from(skipped),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .delimiter(layout.delimiter)
        .quoting(layout.quote.is_some())
        .quote(layout.quote.unwrap_or(b'"'))
        .from_reader(body);
    let problem = |e: ::csv::Error, line: u64| {
        let (message, help) = match e.kind() {
            ::csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => (
                format!("this row has {len} fields, the header has {expected_len}"),
                None,
            ),
            ::csv::ErrorKind::Utf8 { .. } => (
                "the row is not valid UTF-8".to_string(),
                Some(text::utf8_help()),
            ),
            _ => (e.to_string(), None),
        };
        vec![Problem {
            row: Some(format!("line {line}")),
            message,
            help,
        }]
    };
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_string()).collect(),
        Err(e) => {
            let mut p = problem(e, lines.at(0));
            p[0].message = format!("cannot read the header: {}", p[0].message);
            return Err(p);
        }
    };
    let made = header(&headers)?;
    let mut record = ::csv::StringRecord::new();
    loop {
        let before = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = lines.at(record.position().map_or(before, |p| p.byte()));
                each(&headers, &made, line, &record);
            }
            Err(e) => {
                let line = lines.at(e.position().map_or(before, |p| p.byte()));
                return Err(problem(e, line));
            }
        }
    }
}

/// The offset in `text` after its first `n` lines, and how many lines there were to pass
/// over (fewer than `n` when the text is shorter).
fn skip_lines(text: &[u8], n: u32) -> (usize, u32) {
    let mut at = 0;
    for skipped in 0..n {
        match text[at..].iter().position(|&b| b == b'\n') {
            Some(i) => at += i + 1,
            None if at < text.len() => return (text.len(), skipped + 1),
            None => return (at, skipped),
        }
    }
    (at, n)
}

/// The line numbers of rows, from the byte offsets the CSV reader gives as it goes: its own
/// line count is one short after a `\r\n` and does not count the blank lines before a row.
struct Lines<'a> {
    text: &'a [u8],
    /// Line breaks are counted up to here,
    at: usize,
    /// and there are this many before it (lines passed over included).
    breaks: u64,
}

impl Lines<'_> {
    /// The line of the row the reader found at byte `offset`: the first line at or after it
    /// that is not blank.
    fn at(&mut self, offset: u64) -> u64 {
        let offset = usize::try_from(offset).map_or(self.text.len(), |o| o.min(self.text.len()));
        if offset < self.at {
            self.breaks -= count_breaks(&self.text[offset..self.at]);
        } else {
            self.breaks += count_breaks(&self.text[self.at..offset]);
        }
        self.at = offset;
        let blank = self.text[offset..]
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.breaks + blank + 1
    }
}

fn count_breaks(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
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

    fn laid_out(layout: &str, bytes: &[u8]) -> Result<Vec<RawRecord>, Vec<Problem>> {
        let spec = spec(&format!(
            "{layout}    fields: {{ name: Name, email: Email }}\n"
        ));
        mapped(&spec, bytes)
    }

    fn names(records: &[RawRecord]) -> Vec<(&str, &str)> {
        records
            .iter()
            .map(|r| (r.fields[0].as_str().unwrap(), r.row.as_str()))
            .collect()
    }

    #[test]
    fn quotes_can_be_another_character_or_none() {
        let single = laid_out(
            "    quote: \"'\"\n",
            b"Name,Email\n'Acme, Inc',a@x.com\n\"Bob\",b@x.com\n",
        )
        .unwrap();
        assert_eq!(
            names(&single),
            [("Acme, Inc", "line 2"), ("\"Bob\"", "line 3")]
        );
        let none = laid_out(
            "    quote: none\n    delimiter: \";\"\n",
            b"Name;Email\n\"Acme 12\" Pipes;a@x.com\n",
        )
        .unwrap();
        assert_eq!(names(&none), [("\"Acme 12\" Pipes", "line 2")]);
    }

    #[test]
    fn windows_1252_and_latin_1_are_decoded() {
        // "Café Müller;€ 5" in Windows-1252: é = E9, ü = FC, € = 80.
        let bytes = b"Name;Email\r\nCaf\xE9 M\xFCller \x80 5;cafe@x.com\r\n";
        for label in ["windows-1252", "latin-1", "iso-8859-1", "Windows-1252"] {
            let records = laid_out(
                &format!("    delimiter: \";\"\n    encoding: {label}\n"),
                bytes,
            )
            .unwrap();
            assert_eq!(names(&records), [("Café Müller € 5", "line 2")], "{label}");
        }
    }

    #[test]
    fn non_utf8_bytes_name_their_line_and_suggest_the_encoding() {
        let problems = laid_out("", b"Name,Email\nAcme,a@x.com\nCaf\xE9,c@x.com\n").unwrap_err();
        assert_eq!(problems[0].row.as_deref(), Some("line 3"));
        assert_eq!(problems[0].message, "the row is not valid UTF-8");
        assert!(
            problems[0]
                .help
                .as_deref()
                .unwrap()
                .contains("add `encoding: windows-1252` to the source"),
            "{problems:?}"
        );
        // In the header too.
        let problems = laid_out("", b"N\xE4me,Email\nAcme,a@x.com\n").unwrap_err();
        assert_eq!(problems[0].row.as_deref(), Some("line 1"));
        assert!(problems[0].help.is_some(), "{problems:?}");
    }

    #[test]
    fn utf8_with_a_bom_reads_its_first_column() {
        let records = laid_out("", b"\xEF\xBB\xBFName,Email\nAcme,a@x.com\n").unwrap();
        assert_eq!(names(&records), [("Acme", "line 2")]);
        let records = laid_out(
            "    encoding: utf-8\n",
            b"\xEF\xBB\xBFName,Email\nAcme,a@x.com\n",
        )
        .unwrap();
        assert_eq!(names(&records), [("Acme", "line 2")]);
    }

    #[test]
    fn utf16_either_way_round() {
        let text = "Name\tEmail\r\nZoë Ärzte\tz@x.com\r\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let layout = "    encoding: utf-16\n    delimiter: tab\n";
        assert_eq!(
            names(&laid_out(layout, &le).unwrap()),
            [("Zoë Ärzte", "line 2")]
        );
        assert_eq!(
            names(&laid_out(layout, &be).unwrap()),
            [("Zoë Ärzte", "line 2")]
        );
        // Without `encoding:`, the byte order mark names what to write.
        let problems = laid_out("    delimiter: tab\n", &le).unwrap_err();
        assert_eq!(
            problems[0].help.as_deref(),
            Some("write `encoding: utf-16le`")
        );
        let le_only = laid_out("    encoding: utf-16le\n    delimiter: tab\n", &le[2..]).unwrap();
        assert_eq!(names(&le_only), [("Zoë Ärzte", "line 2")]);
    }

    #[test]
    fn the_header_line_and_skipped_lines_keep_line_numbers_true() {
        let bytes =
            b"Supplier export\nmade 2024-03-01, \"draft\n\nName,Email\nAcme,a@x.com\nBob,b@x.com\n";
        for layout in [
            "    header: 4\n",
            "    skip: 3\n",
            "    skip: 2\n    header: 4\n",
        ] {
            let records = laid_out(layout, bytes).unwrap();
            assert_eq!(
                names(&records),
                [("Acme", "line 5"), ("Bob", "line 6")],
                "{layout}"
            );
        }
        // A ragged row below a skipped preamble names its own line.
        let problems = laid_out("    header: 2\n", b"title\nName,Email\nA,a@x\nB\n").unwrap_err();
        assert_eq!(problems[0].row.as_deref(), Some("line 4"));
        // A mapped column the header lacks names the header's line.
        let problems = laid_out("    header: 2\n", b"title\nName,Mail\n").unwrap_err();
        assert_eq!(problems[0].row.as_deref(), Some("line 2"));
        let problems = laid_out("    header: 9\n", b"title\nName,Email\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "the header is on line 9, but the file has 2 lines"
        );
        let problems = laid_out("    header: 3\n", b"title\nmore\n\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "the header is on line 3, but the file is blank from there on"
        );
        let problems = laid_out("", b"\xEF\xBB\xBF\r\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "the file is empty: it has no header line"
        );
    }

    #[test]
    fn crlf_and_blank_lines_keep_line_numbers_true() {
        let records = laid_out(
            "",
            b"Name,Email\r\nA,a@x\r\n\r\n\"B\r\nC\",b@x\r\nD,d@x\r\n",
        )
        .unwrap();
        assert_eq!(
            names(&records),
            [("A", "line 2"), ("B\r\nC", "line 4"), ("D", "line 6")]
        );
        let problems = laid_out("", b"Name,Email\nA,a@x\n\n\nB\n").unwrap_err();
        assert_eq!(problems[0].row.as_deref(), Some("line 5"));
    }

    #[test]
    fn decoding_errors_name_the_line() {
        let mut bytes: Vec<u8> = "Name,Email\nA,a@x\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        bytes.extend([0x00, 0xD8, b',', 0x00, b'\n', 0x00]);
        let problems = laid_out("    encoding: utf-16le\n", &bytes).unwrap_err();
        assert_eq!(problems[0].row.as_deref(), Some("line 3"));
        assert_eq!(problems[0].message, "the line is not valid utf-16le");
    }
}
