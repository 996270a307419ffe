//! A CSV file's bytes as UTF-8 text: UTF-8 is used as it is (only its byte order mark is
//! skipped; it is checked row by row as it is read), other encodings (Windows-1252,
//! UTF-16...) are decoded by `encoding_rs` in one pass, and text they cannot hold is a
//! problem naming its line.
//!
//! A byte order mark that contradicts the source's `encoding:` is a problem rather than a
//! guess: the spec says what the file is, and the file must agree.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::Problem;
use crate::spec::compiled::TextEncoding;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16BE_BOM: &[u8] = b"\xFE\xFF";

/// The encoding a byte order mark at the start of `bytes` announces, and the mark's length.
fn bom(bytes: &[u8]) -> Option<(&'static Encoding, usize)> {
    if bytes.starts_with(UTF8_BOM) {
        Some((UTF_8, 3))
    } else if bytes.starts_with(UTF16LE_BOM) {
        Some((UTF_16LE, 2))
    } else if bytes.starts_with(UTF16BE_BOM) {
        Some((UTF_16BE, 2))
    } else {
        None
    }
}

/// How the spec names an encoding, for messages.
fn spelled(e: &'static Encoding) -> &'static str {
    if e == UTF_8 {
        "utf-8"
    } else if e == UTF_16LE {
        "utf-16le"
    } else if e == UTF_16BE {
        "utf-16be"
    } else {
        e.name()
    }
}

/// The text of a file in `encoding`: the bytes after the byte order mark for UTF-8 (checked
/// later, row by row, so that a bad byte names its row), the decoded text otherwise.
pub(super) fn open(bytes: &[u8], encoding: TextEncoding) -> Result<Cow<'_, [u8]>, Problem> {
    let found = bom(bytes);
    let wanted = match encoding {
        TextEncoding::Utf8 => UTF_8,
        TextEncoding::Utf16 => match found {
            Some((e, _)) if e != UTF_8 => e,
            Some(_) => {
                return Err(Problem {
                    row: None,
                    message: "the file starts with a UTF-8 byte order mark, but the source \
                              says `encoding: utf-16`"
                        .into(),
                    help: Some("remove `encoding:` from the source: UTF-8 is the default".into()),
                });
            }
            None => {
                return Err(Problem {
                    row: None,
                    message: "the file has no byte order mark, which `encoding: utf-16` needs \
                              to tell which way round its bytes are"
                        .into(),
                    help: Some(
                        "write `encoding: utf-16le` (what Windows writes) or `encoding: \
                         utf-16be`"
                            .into(),
                    ),
                });
            }
        },
        TextEncoding::Other(e) => e,
    };
    let body = match found {
        Some((e, len)) if e == wanted => &bytes[len..],
        Some((e, _)) => {
            let written = if encoding == TextEncoding::Utf8 {
                "the source reads it as UTF-8 (the default)".to_string()
            } else {
                format!("the source says `encoding: {}`", encoding.name())
            };
            return Err(Problem {
                row: None,
                message: format!(
                    "the file starts with a {} byte order mark, but {written}",
                    e.name()
                ),
                help: Some(if e == UTF_8 {
                    "remove `encoding:` from the source: UTF-8 is the default".to_string()
                } else {
                    format!("write `encoding: {}`", spelled(e))
                }),
            });
        }
        None => bytes,
    };
    if wanted == UTF_8 {
        return Ok(Cow::Borrowed(body));
    }
    decode(body, wanted).map(|text| Cow::Owned(text.into_bytes()))
}

/// Decodes the whole of `body`; a sequence `encoding` cannot hold is a problem at its line.
fn decode(body: &[u8], encoding: &'static Encoding) -> Result<String, Problem> {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    // Most text of these files is ASCII, one byte either way; more room is made as needed.
    let mut out = String::with_capacity(body.len() + body.len() / 8 + 16);
    let mut at = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&body[at..], &mut out, true);
        at += read;
        match result {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => out.reserve((body.len() - at).max(16) * 2),
            DecoderResult::Malformed(..) => {
                let line = out.bytes().filter(|&b| b == b'\n').count() + 1;
                return Err(Problem {
                    row: Some(format!("line {line}")),
                    message: format!("the line is not valid {}", spelled(encoding)),
                    help: Some(
                        "check the source's `encoding:` against how the file was saved".into(),
                    ),
                });
            }
        }
    }
}

/// What "not valid UTF-8" says about what to do: most such files come from Windows programs.
pub(super) fn utf8_help() -> String {
    "the file is in another encoding: if a Windows program such as Excel wrote it, add \
     `encoding: windows-1252` to the source (or the encoding it was saved in)"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8], encoding: TextEncoding) -> Result<String, String> {
        let text = open(bytes, encoding).map_err(|p| p.message)?;
        Ok(String::from_utf8(text.into_owned()).unwrap())
    }

    #[test]
    fn utf8_loses_its_bom() {
        assert_eq!(
            text(b"\xEF\xBB\xBFa,b\n", TextEncoding::Utf8).unwrap(),
            "a,b\n"
        );
        assert_eq!(text(b"a,b\n", TextEncoding::Utf8).unwrap(), "a,b\n");
    }

    #[test]
    fn windows_1252_is_decoded() {
        let cp1252 = TextEncoding::Other(encoding_rs::WINDOWS_1252);
        assert_eq!(
            text(b"Caf\xE9 M\xFCller \x80\n", cp1252).unwrap(),
            "Café Müller €\n"
        );
    }

    #[test]
    fn utf16_follows_its_bom() {
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("Zoë\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("Zoë\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(text(&le, TextEncoding::Utf16).unwrap(), "Zoë\n");
        assert_eq!(text(&be, TextEncoding::Utf16).unwrap(), "Zoë\n");
        let e = text(&le[2..], TextEncoding::Utf16).unwrap_err();
        assert!(e.contains("no byte order mark"), "{e}");
        // Read as UTF-8 by default, a UTF-16 file is named for what it is.
        let e = text(&le, TextEncoding::Utf8).unwrap_err();
        assert_eq!(
            e,
            "the file starts with a UTF-16LE byte order mark, but the source reads it as \
             UTF-8 (the default)"
        );
    }

    #[test]
    fn a_malformed_sequence_names_its_line() {
        // An unpaired surrogate on line 3 of a UTF-16LE file.
        let mut bytes: Vec<u8> = "a\nb\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        bytes.extend([0x00, 0xD8, b'x', 0x00]);
        let p = open(&bytes, TextEncoding::Other(UTF_16LE)).unwrap_err();
        assert_eq!(p.row.as_deref(), Some("line 3"));
        assert_eq!(p.message, "the line is not valid utf-16le");
    }
}
