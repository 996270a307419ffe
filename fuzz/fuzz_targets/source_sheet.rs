//! The spreadsheet reader on arbitrary bytes, as each workbook format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reconcile::spec::SourceFormat;

fuzz_target!(|data: &[u8]| {
    for format in [
        SourceFormat::Xlsx,
        SourceFormat::Xlsb,
        SourceFormat::Xls,
        SourceFormat::Ods,
    ] {
        let _ = reconcile::source::sheet::read(data, format, None, 1);
    }
});
