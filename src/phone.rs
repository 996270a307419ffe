//! Phone reading and validity without the phone library's shared regex cache.
//!
//! `phonenumber` keeps its compiled patterns in one LRU cache behind a global mutex, so every
//! pattern match of every thread takes that lock; at a million numbers validation was most
//! of normalisation and did not scale with threads. Here each country calling code's patterns
//! (the same metadata the library ships) are compiled once into plain `regex::Regex`es shared
//! by all threads, and the library's own validity rules are applied to them unchanged:
//! pick the region from the calling code (by leading digits, or by a number type that
//! matches, when several regions share the code), then the number is valid when the general
//! pattern matches and so does the pattern of at least one number type. Numbers written the
//! plain way are also parsed here, by the parser's own steps on the same compiled patterns
//! ([`Validator::read`]); the rest is left to the library.

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
    meta: &'static Metadata,
    leading_digits: Option<Regex>,
    general: Pattern,
    /// Every number type that makes a number valid (fixed line, mobile, toll free, ...).
    types: Vec<Pattern>,
    /// The international dialling prefix (`00`, `011`), anchored.
    idd: Option<Regex>,
    /// The national prefix as the parser looks for it (with a carrier code, for some), anchored.
    prefix_for_parsing: Option<Regex>,
}

impl Region {
    fn new(meta: &'static Metadata) -> Option<Region> {
        let d = meta.descriptors();
        // Any type makes a number valid, so the order is free: the types most numbers are
        // come first.
        let kinds = [
            d.fixed_line(),
            d.mobile(),
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        let compiled = |source: Option<&str>| match source {
            Some(source) => compile_pattern(source).map(Some),
            None => Some(None),
        };
        Some(Region {
            meta,
            leading_digits: compiled(meta.leading_digits().map(|r| r.as_str()))?,
            idd: compiled(meta.international_prefix().map(|r| r.as_str()))?,
            prefix_for_parsing: compiled(meta.national_prefix_for_parsing().map(|r| r.as_str()))?,
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
    home: Option<(phonenumber::country::Id, Arc<Code>, usize)>,
}

impl Validator {
    /// The compiled regions of one calling code.
    fn code(&mut self, code: u16) -> Arc<Code> {
        self.codes
            .entry(code)
            .or_insert_with(|| {
                let mut all = shared().lock().unwrap_or_else(|e| e.into_inner());
                all.entry(code)
                    .or_insert_with(|| Arc::new(compile(code)))
                    .clone()
            })
            .clone()
    }

    /// A default region's compiled metadata: its calling code's regions and its place among
    /// them. The last one asked is kept, as a list's numbers share one region.
    fn home(&mut self, id: phonenumber::country::Id) -> Option<(Arc<Code>, usize)> {
        if let Some((last, code, index)) = &self.home
            && *last == id
        {
            return Some((code.clone(), *index));
        }
        let meta = DATABASE.by_id(id.as_ref())?;
        let compiled = self.code(meta.country_code());
        let index = compiled
            .as_ref()
            .as_ref()?
            .iter()
            .position(|r| r.meta.id() == meta.id())?;
        self.home = Some((id, compiled.clone(), index));
        Some((compiled, index))
    }

    /// Whether a parsed number is valid; the same answer as `PhoneNumber::is_valid`.
    pub fn is_valid(&mut self, number: &phonenumber::PhoneNumber) -> bool {
        let national = number.national().to_string();
        self.valid(number.code().value(), &national)
            .unwrap_or_else(|| number.is_valid())
    }

    /// Whether the number `+code national` is valid: `None` when the code's metadata could
    /// not be compiled.
    fn valid(&mut self, code: u16, national: &str) -> Option<bool> {
        let compiled = self.code(code);
        let regions = compiled.as_ref().as_ref()?;
        let region = if regions.len() == 1 {
            regions.first()
        } else {
            regions.iter().find(|r| match &r.leading_digits {
                Some(p) => p.is_match(national),
                None => r.has_type(national),
            })
        };
        Some(region.is_some_and(|r| r.has_type(national)))
    }

    /// Reads a number written the plain way (digits, with spaces, hyphens, dots and
    /// brackets between them, after an optional `+`) as the library's parser would, without
    /// its shared pattern cache: `Some(Ok(E.164))` for a valid number, `Some(Err(()))` for a
    /// number the parser reads but that is not valid, and `None` for anything else: other
    /// characters, or a number the parser refuses, are left to the library, which then says
    /// why. Tests compare the two on every region's example numbers written many ways.
    pub fn read(
        &mut self,
        raw: &str,
        region: Option<phonenumber::country::Id>,
    ) -> Option<Result<String, ()>> {
        let (code, national) = self.parse(raw, region)?;
        let valid = self.valid(code, &national)?;
        Some(if valid {
            Ok(format!("+{code}{national}"))
        } else {
            Err(())
        })
    }

    /// The calling code and national number the library's parser reads in `raw`, following
    /// its steps in its order; `None` where the parser would fail or `raw` is not plain.
    fn parse(
        &mut self,
        raw: &str,
        region: Option<phonenumber::country::Id>,
    ) -> Option<(u16, String)> {
        let plain = Plain::read(raw)?;
        let home = match region {
            Some(id) => Some(self.home(id)?),
            None => None,
        };
        let home = home
            .as_ref()
            .map(|(c, i)| &c.as_ref().as_ref().expect("compiled")[*i]);
        let mut national = plain.digits;
        let code: u16;
        if let Some(prefix) = plain.prefix {
            // `+27-82-…` read as a URI: the code is what comes before the first separator.
            code = prefix;
            if national.len() <= MIN_NSN || !known_code(code) {
                return None;
            }
        } else {
            // An international dialling prefix after the `+`, or in its place.
            let mut dialled = plain.plus;
            if let Some(end) = home
                .and_then(|r| r.idd.as_ref())
                .and_then(|idd| idd.find(&national))
                .map(|m| m.end())
                && !national[end..].starts_with('0')
            {
                national.drain(..end);
                dialled = true;
            }
            if dialled {
                if national.len() <= MIN_NSN || national.starts_with('0') {
                    return None;
                }
                let len = (1..=3).find(|&len| {
                    national.len() > len && known_code(national[..len].parse().unwrap_or(0))
                })?;
                code = national[..len].parse().ok()?;
                national.drain(..len);
            } else {
                let home = home?;
                code = home.meta.country_code();
                let own = code.to_string();
                if national.starts_with(&own)
                    && (!home.general.matches(&national)
                        || !possible(length(home.meta, national.len())))
                {
                    national.drain(..own.len());
                }
            }
        }
        // The region whose national prefix is taken off: the default one when given, else
        // the one the number belongs to.
        let compiled;
        let meta_region = match home {
            Some(r) => Some(r),
            None => {
                compiled = self.code(code);
                let regions = compiled.as_ref().as_ref()?;
                let without_zeros = national.trim_start_matches('0');
                if regions.len() == 1 {
                    let r = &regions[0];
                    let id = DATABASE.region(&code)?;
                    (id[0] == "001" || id[0].parse::<phonenumber::country::Id>().is_ok())
                        .then_some(r)
                } else {
                    regions.iter().find(|r| match &r.leading_digits {
                        Some(p) => p.is_match(without_zeros),
                        None => r.has_type(without_zeros),
                    })
                }
            }
        };
        if let Some(r) = meta_region {
            let mut potential = r.strip_prefix_for_parsing(&national);
            if let Some(prefix) = r.meta.national_prefix()
                && potential.starts_with(prefix)
            {
                potential.drain(..prefix.len());
            }
            if length(r.meta, potential.len()) != Length::TooShort {
                national = potential;
            }
        }
        if national.len() < MIN_NSN || national.len() > MAX_NSN {
            return None;
        }
        // The library keeps the leading zeros and the rest as a number below 2^56.
        let rest = national.trim_start_matches('0');
        if rest.parse::<u64>().ok()? >= 1 << 56 {
            return None;
        }
        Some((code, national))
    }
}

/// A national significant number's shortest and longest lengths, as the parser checks them.
const MIN_NSN: usize = 2;
const MAX_NSN: usize = 17;

/// Whether a calling code is one the metadata knows.
fn known_code(code: u16) -> bool {
    static KNOWN: OnceLock<Vec<bool>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        (0..1000u16)
            .map(|c| DATABASE.by_code(&c).is_some())
            .collect()
    });
    known.get(usize::from(code)).copied().unwrap_or(false)
}

/// A number's length against its region's possible lengths, as the parser judges it.
#[derive(Debug, PartialEq, Eq)]
enum Length {
    LocalOnly,
    Possible,
    TooShort,
    TooLong,
    Invalid,
}

fn possible(l: Length) -> bool {
    matches!(l, Length::Possible | Length::LocalOnly)
}

fn length(meta: &Metadata, len: usize) -> Length {
    let general = meta.descriptors().general();
    let possible = general.possible_length();
    let Some(&minimum) = possible.first() else {
        return Length::Invalid;
    };
    let len = len as u16;
    if general.possible_local_length().contains(&len) {
        Length::LocalOnly
    } else if len == minimum {
        Length::Possible
    } else if len < minimum {
        Length::TooShort
    } else if possible.last().is_some_and(|&max| len > max) {
        Length::TooLong
    } else if possible.contains(&len) {
        Length::Possible
    } else {
        Length::Invalid
    }
}

impl Region {
    /// The number with the national prefix (and carrier code) taken off as the parser
    /// takes it: by the region's pattern, and its transform rule when it has one, but not
    /// when that would make a number that fitted the region's pattern stop fitting it.
    fn strip_prefix_for_parsing(&self, national: &str) -> String {
        let Some(parsing) = &self.prefix_for_parsing else {
            let mut n = national.to_string();
            if let Some(prefix) = self.meta.national_prefix()
                && n.starts_with(prefix)
            {
                n.drain(..prefix.len());
            }
            return n;
        };
        let Some(rule) = self.meta.national_prefix_transform_rule() else {
            // Without a rule only where the match ends counts: no groups to capture.
            return match parsing.find(national) {
                Some(m) => national[m.end()..].to_string(),
                None => national.to_string(),
            };
        };
        let Some(c) = parsing.captures(national) else {
            return national.to_string();
        };
        if c.get(c.len() - 1).is_none() {
            return national[c.get(0).map_or(0, |m| m.end())..].to_string();
        }
        let transformed = parsing.replace(national, rule).into_owned();
        if self.general.matches(national) && !self.general.matches(&transformed) {
            national.to_string()
        } else {
            transformed
        }
    }
}

/// A number written the plain way: its digits, whether a `+` came before them, and with
/// the `+` and no spaces, the digits before the first separator (which the parser reads as
/// the calling code, as in a `tel:` URI).
struct Plain {
    digits: String,
    plus: bool,
    prefix: Option<u16>,
}

impl Plain {
    fn read(raw: &str) -> Option<Plain> {
        let mut digits = String::with_capacity(raw.len());
        let mut plus = false;
        for b in raw.bytes() {
            match b {
                b'0'..=b'9' => digits.push(char::from(b)),
                b' ' | b'-' | b'.' | b'(' | b')' => {}
                b'+' if !plus && digits.is_empty() => plus = true,
                _ => return None,
            }
        }
        if digits.len() < 3 {
            return None;
        }
        let mut prefix = None;
        if raw.starts_with('+') && !raw.contains(' ') {
            let after = &raw[1..];
            let run = after.bytes().take_while(u8::is_ascii_digit).count();
            match after.as_bytes().get(run) {
                // `+(27)…`: no code before the separator, read as plain text.
                _ if run == 0 => {}
                // No separator at all: plain text too.
                None => {}
                Some(_) => {
                    prefix = Some(after[..run].parse().ok()?);
                    digits.drain(..run);
                }
            }
        }
        Some(Plain {
            digits,
            plus,
            prefix,
        })
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

    /// Every region's example numbers written the ways lists write them (national, with the
    /// national prefix, `+code`, an international dialling prefix, with spaces, hyphens,
    /// dots, brackets or nothing between the groups, a digit short or long), read in no
    /// region, their own and several others: wherever `read` answers, it gives the library's
    /// calling code, national number and validity; and it answers for most of them.
    #[test]
    fn reads_plain_numbers_as_the_library_does() {
        use phonenumber::country::Id;
        let others = [None, Some(Id::US), Some(Id::AR), Some(Id::MX)];
        let mut v = Validator::default();
        let (mut asked, mut answered, mut library_read) = (0, 0, 0);
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            let examples = [d.fixed_line(), d.mobile(), d.toll_free(), d.voip(), d.uan()]
                .into_iter()
                .flatten()
                .filter_map(|x| x.example());
            let own: Option<Id> = meta.id().parse().ok();
            let cc = meta.country_code();
            for example in examples {
                let grouped = |sep: &str| {
                    let chars: Vec<char> = example.chars().collect();
                    let groups: Vec<String> = chars.chunks(3).map(|c| c.iter().collect()).collect();
                    groups.join(sep)
                };
                let prefix = meta.national_prefix().unwrap_or("");
                let mut forms = vec![
                    example.to_string(),
                    format!("{prefix}{example}"),
                    format!("{prefix} {}", grouped(" ")),
                    format!(
                        "({prefix}{}) {}",
                        &example[..2.min(example.len())],
                        &example[2.min(example.len())..]
                    ),
                    grouped("-"),
                    format!("{prefix}{}", grouped(".")),
                    format!("+{cc} {}", grouped(" ")),
                    format!("+{cc}-{}", grouped("-")),
                    format!("+{cc}.{}", grouped(".")),
                    format!("+{cc}{example}"),
                    format!("+{cc} ({prefix}) {example}"),
                    format!("+{cc}{prefix}{example}"),
                    format!("00 {cc} {example}"),
                    format!("011 {cc} {example}"),
                    format!("(+{cc}) {example}"),
                    format!("{cc} {example}"),
                    format!("{cc}{example}"),
                    format!("+{cc} {}", &example[..example.len() - 1]),
                    format!("{example}9"),
                    format!("+{cc} {example}1"),
                ];
                forms.dedup();
                for (i, raw) in forms.iter().enumerate() {
                    // Every form in no region and its own; the international forms also in
                    // regions of other kinds (national prefixes with carrier codes and
                    // transform rules, other dialling prefixes).
                    let regions = if (6..15).contains(&i) {
                        &others[..]
                    } else {
                        &others[..1]
                    };
                    for &region in regions.iter().chain([&own]) {
                        asked += 1;
                        let library = phonenumber::parse(region, raw);
                        library_read += usize::from(library.is_ok());
                        let Some((code, national)) = v.parse(raw, region) else {
                            continue;
                        };
                        answered += 1;
                        let n = library.unwrap_or_else(|e| {
                            panic!("{raw:?} in {region:?}: the library refuses it ({e:?}), read as +{code} {national}")
                        });
                        assert_eq!(
                            (code, national.clone()),
                            (n.code().value(), n.national().to_string()),
                            "{raw:?} in {region:?}"
                        );
                        let ours = v.read(raw, region).expect("read");
                        assert_eq!(ours.is_ok(), n.is_valid(), "{raw:?} in {region:?}");
                        if let Ok(e) = ours {
                            assert_eq!(e, n.format().to_string(), "{raw:?} in {region:?}");
                        }
                    }
                }
            }
        }
        eprintln!("{asked} asked, {library_read} read by the library, {answered} by ours");
        assert!(asked > 20_000, "{asked} numbers asked");
        assert!(
            answered * 100 >= library_read * 99,
            "read {answered} of the {library_read} numbers the library reads"
        );
    }

    #[test]
    fn leaves_what_is_not_plain_to_the_library() {
        let mut v = Validator::default();
        let za = Some(phonenumber::country::Id::ZA);
        for raw in [
            "082 874 8637 ext. 12",
            "tel:+27-82-874-8637",
            "082 874 8637 / 8638",
            "82",
            "0800-PIZZA",
        ] {
            assert_eq!(v.parse(raw, za), None, "{raw}");
        }
        assert_eq!(v.read("082 874 8637", za), Some(Ok("+27828748637".into())));
        assert_eq!(
            v.read("+27-82-874-8637", None),
            Some(Ok("+27828748637".into()))
        );
        assert_eq!(v.read("+27 99 999 9999", None), Some(Err(())));
        // Without spaces the digits before the first separator are the calling code, as the
        // library reads them: no region has 2782, so the library refuses it and so do we.
        assert!(phonenumber::parse(None, "+2782-874-8637").is_err());
        assert_eq!(v.parse("+2782-874-8637", None), None);
        assert_eq!(
            v.read("+27828748637", None),
            Some(Ok("+27828748637".into()))
        );
    }
}
