//! Spreadsheet reader: one sheet of an `.xlsx`, `.xlsm`, `.xlsb`, `.xls` or `.ods` workbook,
//! its header on a given row, then one record per row below it (rows with no cell are
//! passed over, as blank lines are in a CSV file).
//!
//! Cells keep their kind where JSON has one: text stays text, numbers are numbers (a whole
//! number without `.0`), booleans are booleans; dates read as `YYYY-MM-DD` (with the time,
//! `YYYY-MM-DD HH:MM:SS`, when there is one), and an empty cell is no value. A cell holding
//! an error such as `#N/A` is a problem when the spec reads its column. Rows are labelled
//! `sheet "Prices", row 7`, as the spreadsheet numbers them.

use std::io::Cursor;

use calamine::{Data, Reader as _};

use super::{Problem, Row, csv};
use crate::spec::SourceFormat;
use crate::spec::compiled::{Compiled, SheetRef, Source};

/// The rows of a source's sheet as records keyed by the header, after checking that the
/// header has every column the source reads. A cell holding an error in such a column is a
/// problem; an empty cell is no value (`null`).
pub(super) fn rows(
    spec: &Compiled,
    source: &Source,
    bytes: &[u8],
    format: SourceFormat,
) -> Result<Vec<Row>, Vec<Problem>> {
    let layout = &source.layout;
    let table = read(bytes, format, layout.sheet.as_ref(), layout.header).map_err(|p| vec![p])?;
    let (id_column, mapped) = csv::columns(
        spec,
        source,
        &table.headers,
        &table.label(layout.header),
        None,
    )?;
    let read: Vec<usize> = id_column
        .into_iter()
        .chain(mapped.iter().map(|(_, c)| *c))
        .collect();
    let mut problems = Vec::new();
    let mut rows = Vec::with_capacity(table.rows.len());
    for (n, cells) in &table.rows {
        let mut record = serde_json::Map::with_capacity(cells.len());
        for (c, (name, cell)) in table.headers.iter().zip(cells).enumerate() {
            let value = match cell {
                Cell::Value(v) => v.clone(),
                Cell::Error(e) if read.contains(&c) => {
                    problems.push(Problem {
                        row: Some(table.label(*n)),
                        message: format!(
                            "the cell in column `{name}` holds the error {e}, not a value"
                        ),
                        help: Some("fix the formula in the spreadsheet, or clear the cell".into()),
                    });
                    serde_json::Value::Null
                }
                Cell::Error(_) => serde_json::Value::Null,
            };
            record.insert(name.clone(), value);
        }
        rows.push(Row {
            label: table.label(*n),
            value: serde_json::Value::Object(record),
        });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// A sheet as read: the sheet's name, the header's cells as text and every row below it
/// that holds a cell.
#[derive(Debug)]
pub struct Table {
    pub sheet: String,
    pub headers: Vec<String>,
    /// The 1-based row number, as the spreadsheet shows it, and the row's cells.
    pub rows: Vec<(u32, Vec<Cell>)>,
}

/// One cell, as the reader hands it on.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Value(serde_json::Value),
    /// A formula error (`#N/A`, `#DIV/0!`, ...), as the spreadsheet shows it.
    Error(String),
}

impl Table {
    /// How rows are labelled: `sheet "Prices", row 7`.
    pub fn label(&self, row: u32) -> String {
        format!("sheet {:?}, row {row}", self.sheet)
    }
}

/// Reads one sheet (`sheet`, or the first) of a workbook in `format`, with its header on row
/// `header` (1-based). A problem names the sheet and the row where there is one.
pub fn read(
    bytes: &[u8],
    format: SourceFormat,
    sheet: Option<&SheetRef>,
    header: u32,
) -> Result<Table, Problem> {
    let cursor = Cursor::new(bytes);
    let kind = extension(format);
    let unreadable = |e: &dyn std::fmt::Display| {
        Problem::file(format!("cannot read the file as {kind} workbook: {e}"))
    };
    let mut book: calamine::Sheets<_> = match format {
        SourceFormat::Xlsx => calamine::Sheets::Xlsx(
            calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?,
        ),
        SourceFormat::Xlsb => calamine::Sheets::Xlsb(
            calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?,
        ),
        SourceFormat::Xls => calamine::Sheets::Xls(
            calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?,
        ),
        SourceFormat::Ods => calamine::Sheets::Ods(
            calamine::open_workbook_from_rs(cursor).map_err(|e| unreadable(&e))?,
        ),
        other => unreachable!("{other:?} is no spreadsheet format"),
    };
    let names = book.sheet_names();
    let name = pick_sheet(&names, sheet)?;
    let range = book
        .worksheet_range(&name)
        .map_err(|e| Problem::file(format!("cannot read sheet {name:?}: {e}")))?;
    table(&name, &range, header)
}

/// The name of the sheet to read: the one named, the one at a 1-based position, or the first.
fn pick_sheet(names: &[String], sheet: Option<&SheetRef>) -> Result<String, Problem> {
    let listed = || {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match sheet {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Problem::file("the workbook has no sheet".to_string())),
        Some(SheetRef::Index(i)) => names
            .get((*i as usize).saturating_sub(1))
            .cloned()
            .ok_or_else(|| Problem {
                row: None,
                message: format!(
                    "there is no sheet {i}: the workbook has {} ({})",
                    crate::error::plural(names.len(), "sheet"),
                    listed()
                ),
                help: Some(if names.contains(&i.to_string()) {
                    format!("a sheet is named \"{i}\": write `sheet: \"{i}\"` to read it by name")
                } else {
                    "write `sheet:` with a sheet's name or its position, from 1".into()
                }),
            }),
        Some(SheetRef::Name(wanted)) => {
            if names.contains(wanted) {
                return Ok(wanted.clone());
            }
            let close = names
                .iter()
                .find(|n| n.trim().eq_ignore_ascii_case(wanted.trim()))
                .cloned()
                .or_else(|| crate::suggest::did_you_mean(wanted, names.iter().map(String::as_str)));
            Err(Problem {
                row: None,
                message: format!("the workbook has no sheet {wanted:?}"),
                help: Some(match close {
                    Some(c) => format!("did you mean {c:?}? the sheets are: {}", listed()),
                    None => format!("the sheets are: {}", listed()),
                }),
            })
        }
    }
}

/// The header (row `header`, 1-based) and the rows below it of a sheet's cells.
fn table(sheet: &str, range: &calamine::Range<Data>, header: u32) -> Result<Table, Problem> {
    let at = |row: u32, message: String, help: Option<String>| Problem {
        row: Some(format!("sheet {sheet:?}, row {row}")),
        message,
        help,
    };
    let (Some((top, left)), Some((bottom, right))) = (range.start(), range.end()) else {
        return Err(at(header, format!("sheet {sheet:?} is empty"), None));
    };
    // Positions from calamine are 0-based and absolute; rows as people see them are 1-based.
    let first_row = top + 1;
    let header_index = header - 1;
    let cells_of = |r: u32| (left..=right).map(move |c| range.get_value((r, c)));
    let header_cells: Vec<Option<&Data>> = if (top..=bottom).contains(&header_index) {
        cells_of(header_index).collect()
    } else {
        Vec::new()
    };
    if header_cells.iter().all(|c| c.is_none_or(is_blank)) {
        let help = if header < first_row {
            Some(format!(
                "the first row with cells is {first_row}: write `header: {first_row}` if the \
                 column names are there"
            ))
        } else {
            None
        };
        let message = if header > bottom + 1 {
            format!(
                "the header row {header} is below the last row with cells ({})",
                bottom + 1
            )
        } else {
            "the header row is empty".to_string()
        };
        return Err(at(header, message, help));
    }
    let headers = header_cells
        .into_iter()
        .map(|c| c.map_or_else(String::new, header_text))
        .collect();
    let mut rows = Vec::new();
    for r in header_index + 1..=bottom {
        if cells_of(r).all(|c| c.is_none_or(is_blank)) {
            continue;
        }
        rows.push((
            r + 1,
            cells_of(r)
                .map(|c| c.map_or(Cell::Value(serde_json::Value::Null), cell))
                .collect(),
        ));
    }
    Ok(Table {
        sheet: sheet.to_string(),
        headers,
        rows,
    })
}

fn is_blank(d: &Data) -> bool {
    match d {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A header cell as a column name: its text, trimmed.
fn header_text(d: &Data) -> String {
    match cell(d) {
        Cell::Value(serde_json::Value::String(s)) => s.trim().to_string(),
        Cell::Value(serde_json::Value::Null) => String::new(),
        Cell::Value(v) => v.to_string(),
        Cell::Error(e) => e,
    }
}

/// A cell as a JSON value.
fn cell(d: &Data) -> Cell {
    use serde_json::Value;
    Cell::Value(match d {
        Data::Empty => Value::Null,
        Data::String(s) => Value::String(s.clone()),
        Data::Bool(b) => Value::Bool(*b),
        Data::Int(i) => Value::from(*i),
        Data::Float(f) => number(*f),
        Data::DateTime(dt) => Value::String(excel_datetime(dt)),
        Data::DateTimeIso(s) => Value::String(iso_datetime(s)),
        Data::DurationIso(s) => Value::String(s.clone()),
        Data::Error(e) => return Cell::Error(e.to_string()),
    })
}

/// A number as JSON: a whole number without a fraction (`7`, never `7.0`), others as the
/// shortest text that reads back the same (`12.35`).
fn number(f: f64) -> serde_json::Value {
    // Below 2^53 every whole f64 is exactly an i64.
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        serde_json::Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// An Excel date and time (days since 1900 or 1904) as text: `YYYY-MM-DD` for a date,
/// `YYYY-MM-DD HH:MM:SS` for a date with a time of day, `HH:MM:SS` for a time alone or a
/// duration.
fn excel_datetime(dt: &calamine::ExcelDateTime) -> String {
    let value = dt.as_f64();
    if dt.is_duration() || (0.0..1.0).contains(&value) {
        let ms = (value * 86_400_000.0).round() as i64;
        let secs = ms / 1000;
        let mut out = format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        );
        if ms % 1000 != 0 {
            out.push_str(&format!(".{:03}", ms % 1000));
        }
        return out;
    }
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    let mut out = format!("{y:04}-{mo:02}-{d:02}");
    if (h, mi, s, ms) != (0, 0, 0, 0) {
        out.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
        if ms != 0 {
            out.push_str(&format!(".{ms:03}"));
        }
    }
    out
}

/// An ISO date and time from an OpenDocument file (`2024-03-01T00:00:00`) written as an
/// Excel one is: the date alone at midnight, a space before a time.
fn iso_datetime(s: &str) -> String {
    match s.split_once('T') {
        Some((date, "00:00:00" | "00:00:00.000")) => date.to_string(),
        Some((date, time)) => format!("{date} {time}"),
        None => s.to_string(),
    }
}

fn extension(format: SourceFormat) -> &'static str {
    match format {
        SourceFormat::Xlsx => "an .xlsx",
        SourceFormat::Xlsb => "an .xlsb",
        SourceFormat::Xls => "an .xls",
        SourceFormat::Ods => "an .ods",
        _ => "a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    use serde_json::{Value, json};

    /// A workbook whose first sheet is "Notes" and whose second, "Prices", has a title on row
    /// 1, its header on row 3 and rows of every kind of cell below, a blank row among them.
    fn workbook() -> Vec<u8> {
        let mut book = Workbook::new();
        let notes = book.add_worksheet();
        notes.set_name("Notes").unwrap();
        notes.write_string(0, 0, "Read me").unwrap();
        let s = book.add_worksheet();
        s.set_name("Prices").unwrap();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        let stamp = Format::new().set_num_format("yyyy-mm-dd hh:mm");
        s.write_string(0, 0, "Price list, March 2024").unwrap();
        for (c, h) in ["Code", "Supplier", " Price ", "Since", "Active", "Note"]
            .iter()
            .enumerate()
        {
            s.write_string(2, c as u16, *h).unwrap();
        }
        s.write_string(3, 0, "S1").unwrap();
        s.write_string(3, 1, "Café Müller").unwrap();
        s.write_number(3, 2, 12.35).unwrap();
        let d = ExcelDateTime::from_ymd(2024, 3, 1).unwrap();
        s.write_datetime_with_format(3, 3, &d, &date).unwrap();
        s.write_boolean(3, 4, true).unwrap();
        // Row 5 is blank; row 6 has a whole number, a date with a time, no note.
        s.write_number(5, 0, 42.0).unwrap();
        s.write_string(5, 1, "Acme").unwrap();
        s.write_number(5, 2, 7.0).unwrap();
        let t = ExcelDateTime::from_ymd(2024, 3, 2)
            .unwrap()
            .and_hms(14, 30, 0)
            .unwrap();
        s.write_datetime_with_format(5, 3, &t, &stamp).unwrap();
        s.write_boolean(5, 4, false).unwrap();
        book.save_to_buffer().unwrap()
    }

    fn values(cells: &[Cell]) -> Vec<Value> {
        cells
            .iter()
            .map(|c| match c {
                Cell::Value(v) => v.clone(),
                Cell::Error(e) => panic!("error cell {e}"),
            })
            .collect()
    }

    #[test]
    fn reads_a_sheet_by_name_with_its_header_row() {
        let bytes = workbook();
        let t = read(
            &bytes,
            SourceFormat::Xlsx,
            Some(&SheetRef::Name("Prices".into())),
            3,
        )
        .unwrap();
        assert_eq!(t.sheet, "Prices");
        assert_eq!(
            t.headers,
            ["Code", "Supplier", "Price", "Since", "Active", "Note"]
        );
        let rows: Vec<(u32, Vec<Value>)> = t.rows.iter().map(|(n, c)| (*n, values(c))).collect();
        assert_eq!(
            rows,
            [
                (
                    4,
                    vec![
                        json!("S1"),
                        json!("Café Müller"),
                        json!(12.35),
                        json!("2024-03-01"),
                        json!(true),
                        Value::Null
                    ]
                ),
                (
                    6,
                    vec![
                        json!(42),
                        json!("Acme"),
                        json!(7),
                        json!("2024-03-02 14:30:00"),
                        json!(false),
                        Value::Null
                    ]
                ),
            ]
        );
        // Whole numbers have no fraction: `7`, never `7.0`.
        assert_eq!(rows[1].1[2].to_string(), "7");
        assert_eq!(t.label(6), "sheet \"Prices\", row 6");
    }

    #[test]
    fn sheets_by_position_and_the_first_by_default() {
        let bytes = workbook();
        let second = read(&bytes, SourceFormat::Xlsx, Some(&SheetRef::Index(2)), 3).unwrap();
        assert_eq!(second.sheet, "Prices");
        assert_eq!(second.rows.len(), 2);
        let first = read(&bytes, SourceFormat::Xlsx, None, 1).unwrap();
        assert_eq!(first.sheet, "Notes");
        assert_eq!(first.headers, ["Read me"]);
        assert!(first.rows.is_empty());
    }

    #[test]
    fn a_missing_sheet_is_named_with_the_sheets_there_are() {
        let bytes = workbook();
        let p = read(
            &bytes,
            SourceFormat::Xlsx,
            Some(&SheetRef::Name("prices".into())),
            1,
        )
        .unwrap_err();
        assert_eq!(p.message, "the workbook has no sheet \"prices\"");
        assert_eq!(
            p.help.as_deref(),
            Some("did you mean \"Prices\"? the sheets are: \"Notes\", \"Prices\"")
        );
        let p = read(&bytes, SourceFormat::Xlsx, Some(&SheetRef::Index(3)), 1).unwrap_err();
        assert_eq!(
            p.message,
            "there is no sheet 3: the workbook has 2 sheets (\"Notes\", \"Prices\")"
        );
    }

    #[test]
    fn an_empty_header_row_names_the_first_row_with_cells() {
        let mut book = Workbook::new();
        let s = book.add_worksheet();
        s.write_string(2, 0, "Name").unwrap();
        s.write_string(3, 0, "Acme").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let p = read(&bytes, SourceFormat::Xlsx, None, 1).unwrap_err();
        assert_eq!(p.row.as_deref(), Some("sheet \"Sheet1\", row 1"));
        assert_eq!(p.message, "the header row is empty");
        assert_eq!(
            p.help.as_deref(),
            Some(
                "the first row with cells is 3: write `header: 3` if the column names are \
                 there"
            )
        );
        let p = read(&bytes, SourceFormat::Xlsx, None, 9).unwrap_err();
        assert_eq!(
            p.message,
            "the header row 9 is below the last row with cells (4)"
        );
    }

    #[test]
    fn not_a_workbook_is_said_plainly() {
        let p = read(b"Name,Email\n", SourceFormat::Xlsx, None, 1).unwrap_err();
        assert!(
            p.message
                .starts_with("cannot read the file as an .xlsx workbook:"),
            "{}",
            p.message
        );
    }

    #[test]
    fn cells_as_values() {
        assert_eq!(cell(&Data::Float(3.0)), Cell::Value(json!(3)));
        assert_eq!(cell(&Data::Float(-0.5)), Cell::Value(json!(-0.5)));
        assert_eq!(cell(&Data::Float(1e20)), Cell::Value(json!(1e20)));
        assert_eq!(cell(&Data::Int(12)), Cell::Value(json!(12)));
        assert_eq!(cell(&Data::Empty), Cell::Value(Value::Null));
        assert_eq!(
            cell(&Data::Error(calamine::CellErrorType::NA)),
            Cell::Error("#N/A".into())
        );
        assert_eq!(
            cell(&Data::DateTimeIso("2024-03-01T00:00:00".into())),
            Cell::Value(json!("2024-03-01"))
        );
        assert_eq!(
            cell(&Data::DateTimeIso("2024-03-01T08:15:00".into())),
            Cell::Value(json!("2024-03-01 08:15:00"))
        );
        // A time of day alone (a fraction of a day).
        let noon = calamine::ExcelDateTime::new(0.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(cell(&Data::DateTime(noon)), Cell::Value(json!("12:00:00")));
    }

    /// A minimal OpenDocument spreadsheet, as LibreOffice lays one out.
    fn ods(rows: &str) -> Vec<u8> {
        use std::io::Write as _;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let mut put = |name: &str, text: &str| {
            zip.start_file(name, stored).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        };
        put("mimetype", "application/vnd.oasis.opendocument.spreadsheet");
        put(
            "META-INF/manifest.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#,
        );
        put(
            "content.xml",
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="Suppliers">{rows}</table:table></office:spreadsheet></office:body>
</office:document-content>"#
            ),
        );
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_an_ods_sheet() {
        let text = |t: &str| {
            format!(
                r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
            )
        };
        let rows = format!(
            "<table:table-row>{}{}{}{}</table:table-row>\
             <table:table-row>{}\
             <table:table-cell office:value-type=\"float\" office:value=\"12\"><text:p>12</text:p></table:table-cell>\
             <table:table-cell office:value-type=\"date\" office:date-value=\"2024-03-01\"><text:p>01/03/24</text:p></table:table-cell>\
             <table:table-cell office:value-type=\"boolean\" office:boolean-value=\"true\"><text:p>TRUE</text:p></table:table-cell>\
             </table:table-row>",
            text("Name"),
            text("Price"),
            text("Since"),
            text("Active"),
            text("Café Müller"),
        );
        let bytes = ods(&rows);
        let t = read(&bytes, SourceFormat::Ods, None, 1).unwrap();
        assert_eq!(t.sheet, "Suppliers");
        assert_eq!(t.headers, ["Name", "Price", "Since", "Active"]);
        assert_eq!(
            values(&t.rows[0].1),
            [
                json!("Café Müller"),
                json!(12),
                json!("2024-03-01"),
                json!(true)
            ]
        );
        assert_eq!(t.rows[0].0, 2);
    }
}
