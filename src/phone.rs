//! Phone validity without the phone library's shared regex cache.
//!
//! `phonenumber` keeps its compiled patterns in one LRU cache behind a global mutex, so every
//! pattern match of every thread takes that lock; at a million numbers validation was most
//! of normalisation and did not scale with threads. Here each country calling code's patterns
//! (the same metadata the library ships) are compiled once into plain `regex::Regex`es shared
//! by all threads, and the library's own validity rules are applied to them unchanged:
//! pick the region from the calling code (by leading digits, or by a number type that
//! matches, when several regions share the code), then the number is valid when the general
//! pattern matches and so does the pattern of at least one number type.

use std::sync::{Arc, Mutex, OnceLock};

use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
use regex::Regex;

use crate::collections::HashMap;

/// A metadata pattern, compiled as the library compiles it (white space in it ignored), and
/// anchored at the start: the library takes the leftmost match and asks that it start at the
/// first digit, which is whether the pattern matches there. Anchored, a search stops at the
/// first digit that cannot continue a match, instead of trying every later start.
fn compile_pattern(source: &str) -> Option<Regex> {
    // A line break ends a `#` comment in this mode, so the pattern cannot swallow the `)`.
    regex::RegexBuilder::new(&format!("^(?:{source}\n)"))
        .ignore_whitespace(true)
        .build()
        .ok()
}

/// One number-type pattern: the lengths it allows (empty: any) and its expression.
struct Pattern {
    lengths: Vec<u16>,
    regex: Regex,
}

impl Pattern {
    fn new(d: &Descriptor) -> Option<Pattern> {
        Some(Pattern {
            lengths: d.possible_length().to_vec(),
            regex: compile_pattern(d.national_number().as_str())?,
        })
    }

    /// The library's match: a possible length, and a match starting at the first digit.
    fn matches(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.regex.is_match(national)
    }
}

/// The patterns of one region.
struct Region {
    leading_digits: Option<Regex>,
    general: Pattern,
    /// Every number type that makes a number valid (fixed line, mobile, toll free, ...).
    types: Vec<Pattern>,
}

impl Region {
    fn new(meta: &Metadata) -> Option<Region> {
        let d = meta.descriptors();
        let kinds = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ];
        Some(Region {
            leading_digits: match meta.leading_digits() {
                Some(r) => Some(compile_pattern(r.as_str())?),
                None => None,
            },
            general: Pattern::new(d.general())?,
            types: kinds
                .into_iter()
                .flatten()
                .map(Pattern::new)
                .collect::<Option<_>>()?,
        })
    }

    fn has_type(&self, national: &str) -> bool {
        self.general.matches(national) && self.types.iter().any(|t| t.matches(national))
    }
}

/// The regions that share one calling code, in the library's order. `None` when the code
/// is unknown or its metadata could not be compiled (then the library decides).
type Code = Option<Vec<Region>>;

fn compile(code: u16) -> Code {
    let ids = DATABASE.region(&code)?;
    if ids.len() == 1 {
        let meta = if ids[0] == "001" {
            DATABASE.by_code(&code)?.into_iter().next()?
        } else {
            DATABASE.by_id(ids[0])?
        };
        return Some(vec![Region::new(meta)?]);
    }
    ids.iter()
        .map(|id| DATABASE.by_id(*id).and_then(Region::new))
        .collect()
}

fn shared() -> &'static Mutex<HashMap<u16, Arc<Code>>> {
    static CODES: OnceLock<Mutex<HashMap<u16, Arc<Code>>>> = OnceLock::new();
    CODES.get_or_init(Default::default)
}

/// Compiled calling codes, one per worker: the shared table is locked once per code.
#[derive(Default)]
pub struct Validator {
    codes: HashMap<u16, Arc<Code>>,
}

impl Validator {
    /// Whether a parsed number is valid; the same answer as `PhoneNumber::is_valid`.
    pub fn is_valid(&mut self, number: &phonenumber::PhoneNumber) -> bool {
        let code = number.code().value();
        let compiled = self
            .codes
            .entry(code)
            .or_insert_with(|| {
                let mut all = shared().lock().unwrap_or_else(|e| e.into_inner());
                all.entry(code)
                    .or_insert_with(|| Arc::new(compile(code)))
                    .clone()
            })
            .clone();
        let Some(regions) = compiled.as_ref() else {
            return number.is_valid();
        };
        let national = number.national().to_string();
        let region = if regions.len() == 1 {
            regions.first()
        } else {
            regions.iter().find(|r| match &r.leading_digits {
                Some(p) => p.is_match(&national),
                None => r.has_type(&national),
            })
        };
        region.is_some_and(|r| r.has_type(&national))
    }
}

/// The E.164 form of a number: `+`, the calling code, the national number.
pub fn e164(number: &phonenumber::PhoneNumber) -> String {
    format!("+{}{}", number.code().value(), number.national())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers from many regions, valid and not, give the library's own answer.
    #[test]
    fn agrees_with_the_library() {
        let cases = [
            (None, "+1 6502530000"),
            (None, "+1 2530000"),
            (None, "+1 809 234 5678"),
            (None, "+39 0236618300"),
            (None, "+330631966543"),
            (None, "+44 7912345678"),
            (None, "+44 20 7946 0018"),
            (None, "+800 12345678"),
            (None, "+979 123456789"),
            (None, "+64 21387835"),
            (None, "+7 912 345 67 89"),
            (None, "+7 701 234 5678"),
            (None, "+61 2 9876 5432"),
            (None, "+49 30 123456"),
            (None, "+27 82 874 8637"),
            (None, "+27 10 033 7750"),
            (None, "+27 99 999 9999"),
            (Some(phonenumber::country::Id::ZA), "082 874 8637"),
            (Some(phonenumber::country::Id::ZA), "011 123 4567"),
            (Some(phonenumber::country::Id::ZA), "012 34"),
            (Some(phonenumber::country::Id::US), "(650) 253-0000"),
            (Some(phonenumber::country::Id::GB), "020 7946 0018"),
            (Some(phonenumber::country::Id::IT), "02 3661 8300"),
        ];
        let mut v = Validator::default();
        let mut checked = 0;
        for (region, raw) in cases {
            let Ok(n) = phonenumber::parse(region, raw) else {
                continue;
            };
            assert_eq!(v.is_valid(&n), n.is_valid(), "{raw}");
            if n.is_valid() {
                assert_eq!(e164(&n), n.format().to_string(), "{raw}");
            }
            checked += 1;
        }
        assert!(checked > 20);
    }

    /// Every region's example numbers, and each one a digit short, a digit long and with its
    /// last digit changed: the library's answer, number by number. Thousands of numbers
    /// across every pattern the metadata holds.
    #[test]
    fn agrees_with_the_library_on_every_regions_examples() {
        let mut v = Validator::default();
        let (mut checked, mut valid) = (0, 0);
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            let examples = [
                Some(d.general()),
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .filter_map(|x| x.example());
            for example in examples {
                let last = example
                    .chars()
                    .last()
                    .and_then(|c| c.to_digit(10))
                    .unwrap_or(0);
                let variants = [
                    example.to_string(),
                    example[..example.len() - 1].to_string(),
                    format!("{example}7"),
                    format!("{}{}", &example[..example.len() - 1], (last + 1) % 10),
                ];
                for national in variants {
                    let raw = format!("+{} {national}", meta.country_code());
                    let Ok(n) = phonenumber::parse(None, &raw) else {
                        continue;
                    };
                    assert_eq!(v.is_valid(&n), n.is_valid(), "{raw} ({})", meta.id());
                    checked += 1;
                    valid += usize::from(n.is_valid());
                }
            }
        }
        assert!(checked > 3000, "{checked} numbers checked");
        assert!(
            valid > 1000 && valid < checked,
            "{valid} of {checked} valid"
        );
    }
}
