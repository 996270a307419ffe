//! Writes the three exports of the suppliers example, as the systems that make them would:
//!
//! - `price_list.xlsx`: the purchasing team's price list, a title above the header (row 3),
//!   supplier numbers, minimum orders and the date each price list holds from;
//! - `ledger_export.csv`: the accounting system's supplier list, separated by semicolons and
//!   saved in Windows-1252 with Windows line ends, a title line above the header, and when
//!   each supplier was last changed;
//! - `crm_export.json`: the CRM's suppliers under `/suppliers`.
//!
//! The same ten suppliers, give or take, appear in them with the differences real lists
//! have: spellings, accents, phone formats, an email or a city that disagrees. The files are
//! committed; run this only to change them:
//!
//! ```sh
//! cargo run --example suppliers
//! ```

use std::path::Path;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

/// A row of purchasing's price list.
struct Price {
    no: u32,
    name: &'static str,
    email: &'static str,
    /// The minimum order, in euros.
    min: f64,
    /// The day the prices hold from.
    from: (u16, u8, u8),
    active: bool,
}

const fn price(
    no: u32,
    name: &'static str,
    email: &'static str,
    min: f64,
    from: (u16, u8, u8),
    active: bool,
) -> Price {
    Price {
        no,
        name,
        email,
        min,
        from,
        active,
    }
}

const PRICES: &[Price] = &[
    price(
        5001,
        "Cafe Müller",
        "einkauf@cafe-mueller.de",
        150.0,
        (2024, 1, 1),
        true,
    ),
    price(
        5002,
        "Brasserie Lefevre",
        "commandes@lefevre.fr",
        80.5,
        (2024, 2, 15),
        true,
    ),
    price(
        5003,
        "Øresund Fisk",
        "sales@oresund-fisk.dk",
        400.0,
        (2024, 1, 1),
        true,
    ),
    price(
        5004,
        "Nordlicht Kaffee",
        "bestellung@nordlicht-kaffee.de",
        120.0,
        (2023, 11, 1),
        true,
    ),
    price(
        5005,
        "Atelier Crème",
        "bonjour@atelier-creme.fr",
        60.0,
        (2024, 3, 1),
        false,
    ),
    price(
        5006,
        "Olivenhain Import",
        "info@olivenhain.de",
        250.0,
        (2024, 1, 15),
        true,
    ),
];

/// The ledger: creditor number, name, email, phone, city, last change.
const LEDGER: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "K-70012",
        "Café Müller",
        "EINKAUF@cafe-mueller.de",
        "030 1234567",
        "Berlin",
        "2024-03-04 16:20",
    ),
    (
        "K-70013",
        "Bäckerei Schäfer",
        "info@baeckerei-schaefer.de",
        "089 7654321",
        "München",
        "2024-02-28 09:05",
    ),
    (
        "K-70019",
        "Brasserie Lefèvre",
        "commandes@lefevre.fr",
        "+33 1 42 68 53 00",
        "Paris",
        "2024-01-19 11:47",
    ),
    (
        "K-70021",
        "Señor Pimiento S.L.",
        "pedidos@senorpimiento.es",
        "+34 912 345 678",
        "Madrid",
        "2024-03-01 08:30",
    ),
    (
        "K-70024",
        "Nordlicht Kaffee",
        "bestellung@nordlicht-kaffee.de",
        "040 555 0199",
        "Hamburg-Altona",
        "2024-03-05 10:12",
    ),
    (
        "K-70030",
        "Zeiss & Söhne",
        "kontakt@zeiss-soehne.de",
        "0711 2223334",
        "Stuttgart",
        "2023-12-12 14:00",
    ),
];

const CRM: &str = r#"{
  "exported_at": "2024-03-06T07:00:00Z",
  "suppliers": [
    {"id": "C-101", "name": "Café Müller GmbH", "email": "einkauf@cafe-mueller.de", "phone": "+49 30 1234567", "city": "Berlin"},
    {"id": "C-102", "name": "Bäckerei Schäfer", "email": "info@baeckerei-schaefer.de", "phone": "+49 89 7654321", "city": "München"},
    {"id": "C-104", "name": "Øresund Fisk ApS", "email": "orders@oresund-fisk.dk", "phone": "+45 33 12 34 56", "city": "København"},
    {"id": "C-107", "name": "Nordlicht Kaffee", "email": "bestellung@nordlicht-kaffee.de", "phone": "+49 40 5550199", "city": "Hamburg"},
    {"id": "C-110", "name": "Grünkern Bio", "email": "hallo@gruenkern-bio.de", "phone": "+49 761 4445556", "city": "Freiburg"},
    {"id": "C-112", "name": "Zeiss & Söhne Metzgerei", "email": "kontakt@zeiss-soehne.de", "phone": null, "city": "Stuttgart"},
    {"id": "C-115", "name": "Olivenhain Import", "email": "info@olivenhain.de", "phone": "+49 221 9876543", "city": "Köln"}
  ]
}
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/suppliers");
    std::fs::write(dir.join("price_list.xlsx"), price_list()?)?;
    std::fs::write(dir.join("ledger_export.csv"), ledger()?)?;
    std::fs::write(dir.join("crm_export.json"), CRM)?;
    println!("wrote the suppliers example to {}", dir.display());
    Ok(())
}

/// The price list: a title on row 1, the header on row 3, one supplier a row.
fn price_list() -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    // A fixed creation time keeps the file the same from one run to the next.
    book.set_properties(
        &DocProperties::new()
            .set_title("Supplier price list")
            .set_creation_datetime(&ExcelDateTime::from_ymd(2024, 3, 6)?),
    );
    let sheet = book.add_worksheet();
    sheet.set_name("Prices")?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let euros = Format::new().set_num_format("#,##0.00 [$€-407]");
    sheet.write_string_with_format(0, 0, "Supplier price list, March 2024", &bold)?;
    let header = [
        "Supplier No",
        "Supplier",
        "Contact email",
        "Min. order (EUR)",
        "Valid from",
        "Active",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &bold)?;
    }
    for (i, p) in PRICES.iter().enumerate() {
        let row = 3 + i as u32;
        let (y, m, d) = p.from;
        sheet.write_number(row, 0, p.no)?;
        sheet.write_string(row, 1, p.name)?;
        sheet.write_string(row, 2, p.email)?;
        sheet.write_number_with_format(row, 3, p.min, &euros)?;
        sheet.write_datetime_with_format(row, 4, ExcelDateTime::from_ymd(y, m, d)?, &date)?;
        sheet.write_boolean(row, 5, p.active)?;
    }
    sheet.set_column_width(1, 22)?;
    sheet.set_column_width(2, 32)?;
    sheet.set_column_width(3, 16)?;
    sheet.set_column_width(4, 12)?;
    book.save_to_buffer()
}

/// The ledger as the accounting system saves it: Windows-1252, `;`, CRLF, a title line.
fn ledger() -> Result<Vec<u8>, String> {
    let mut text = String::from("Kreditorenliste;Stand 06.03.2024\r\n");
    text.push_str("Kreditor;Name;E-Mail;Telefon;Ort;updated_at\r\n");
    for (no, name, email, phone, city, updated) in LEDGER {
        text.push_str(&format!("{no};{name};{email};{phone};{city};{updated}\r\n"));
    }
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    if unmappable {
        return Err("a ledger name has a character Windows-1252 cannot hold".into());
    }
    Ok(bytes.into_owned())
}
