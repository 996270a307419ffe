//! Street addresses and phone numbers as people write them.
//!
//! An address is cut into its house number and its street words, in one canonical spelling:
//! street types and directions abbreviated ("Avenue" = "Ave" = "av", "North" = "N"), ordinals
//! as digits, with or without their suffix ("Seventh" = "7th" = "7", "E. 113 St." = "E 113th
//! Street"), and what is not the address left out: a unit or suite
//! ("Suite 200", "#4", "2nd Floor") and a note after "between", "at", "near" or "corner of".
//! The house number comes first ("221 E. 51st St.") or last ("Hauptstraße 12", "Calle Mayor,
//! 5"), and German and Dutch street words joined to the name are shortened as they are
//! written abbreviated ("Hauptstraße" = "Hauptstr."). The house number is its own evidence:
//! two records on one street with different numbers are likely two places.
//!
//! A phone number is compared by its digits, whatever the separators or the field type; a
//! number written without its country or area code matches the full one when its digits
//! end the longer number.

/// Spellings of street types and directions, each with its abbreviation.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("street", "st"),
    ("str", "st"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("avn", "ave"),
    ("boulevard", "blvd"),
    ("blv", "blvd"),
    ("road", "rd"),
    ("drive", "dr"),
    ("drv", "dr"),
    ("place", "pl"),
    ("court", "ct"),
    ("lane", "ln"),
    ("parkway", "pkwy"),
    ("highway", "hwy"),
    ("terrace", "ter"),
    // German and Dutch street words, written alone ("Lange Straße"); joined to the name
    // ("Hauptstraße", "Kerkstraat") they are shortened by [`canonical_word`].
    ("strasse", "st"),
    ("straat", "st"),
    ("square", "sq"),
    ("circle", "cir"),
    ("expressway", "expy"),
    ("crescent", "cres"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
    ("northeast", "ne"),
    ("northwest", "nw"),
    ("southeast", "se"),
    ("southwest", "sw"),
];

/// Ordinal words and their digits.
const ORDINALS: &[(&str, &str)] = &[
    ("first", "1st"),
    ("second", "2nd"),
    ("third", "3rd"),
    ("fourth", "4th"),
    ("fifth", "5th"),
    ("sixth", "6th"),
    ("seventh", "7th"),
    ("eighth", "8th"),
    ("ninth", "9th"),
    ("tenth", "10th"),
    ("eleventh", "11th"),
    ("twelfth", "12th"),
];

/// Words after which the rest is a note, not the address.
const NOTES: &[&str] = &[
    "between", "btwn", "betw", "at", "near", "corner", "cnr", "off",
];

/// Words that start a unit designation; the word after them is the unit.
const UNITS: &[&str] = &[
    "unit",
    "suite",
    "ste",
    "apt",
    "apartment",
    "room",
    "rm",
    "building",
    "bldg",
    "office",
];

/// Words that end a floor designation ("2nd floor", "ground floor"); the word before goes too.
const FLOORS: &[&str] = &["floor", "fl", "flr"];

/// An address in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    /// The house number, when the address starts with one ("2450", "12b").
    pub number: Option<String>,
    /// The street words, canonical, in order.
    pub street: Vec<String>,
}

impl Address {
    /// The canonical text: number and street words.
    pub fn canonical(&self) -> String {
        let mut out = self.number.clone().unwrap_or_default();
        for w in &self.street {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
        out
    }
}

/// Street words joined to the street's name, as German and Dutch write them, and the
/// abbreviation they are written with: "Hauptstraße" = "Hauptstr.", "Kerkstraat" = "Kerkstr".
const JOINED: &[(&str, &str)] = &[("strasse", "str"), ("straat", "str")];

fn canonical_word(w: &str) -> String {
    if let Some((_, a)) = ABBREVIATIONS.iter().find(|(long, _)| *long == w) {
        return (*a).to_string();
    }
    if let Some((_, d)) = ORDINALS.iter().find(|(long, _)| *long == w) {
        return (*d).to_string();
    }
    for (long, short) in JOINED {
        if let Some(name) = w.strip_suffix(long)
            && !name.is_empty()
        {
            return format!("{name}{short}");
        }
    }
    w.to_string()
}

/// Whether a word is a house number: digits, then at most two letters ("12", "12a").
fn is_house_number(w: &str) -> bool {
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && digits <= 6
        && w.len() - digits <= 2
        && w[digits..].bytes().all(|b| b.is_ascii_lowercase())
        && !is_ordinal(w)
}

/// Parses an address; `None` when nothing of it is left.
pub fn parse(text: &str) -> Option<Address> {
    let folded = deunicode::deunicode(text).to_lowercase();
    let (dashed, folded) = match dashed_number(&folded) {
        Some((number, rest)) => (Some(number), rest),
        None => (None, folded.as_str()),
    };
    let cleaned: String = folded
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '#' || c == '@' {
                c
            } else if c == '\'' {
                '\u{0}'
            } else {
                ' '
            }
        })
        .filter(|&c| c != '\u{0}')
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let mut kept: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if i > 0 && (NOTES.contains(&w) || w == "@") {
            break;
        }
        if w.starts_with('#') {
            // "#4", or "#" then the unit.
            i += if w.len() == 1 { 2 } else { 1 };
            continue;
        }
        if UNITS.contains(&w) && i > 0 {
            i += 2;
            continue;
        }
        if FLOORS.contains(&w) && i > 0 {
            kept.pop();
            i += 1;
            continue;
        }
        kept.push(canonical_word(w));
        i += 1;
    }
    let number = match kept.first() {
        _ if dashed.is_some() => dashed,
        Some(first) if first.starts_with(|c: char| c.is_ascii_digit()) && !is_ordinal(first) => {
            Some(kept.remove(0))
        }
        // Much of the world writes the number after the street: "Hauptstraße 12",
        // "Calle Mayor, 5", "Kerkstraat 12a".
        _ if kept.len() >= 2 && kept.last().is_some_and(|w| is_house_number(w)) => kept.pop(),
        _ => None,
    };
    if number.is_none() && kept.is_empty() {
        return None;
    }
    // A numbered street is written with its ordinal's suffix or without: "E 113 St".
    for w in &mut kept {
        if is_ordinal(w) {
            w.truncate(w.len() - 2);
        }
    }
    Some(Address {
        number,
        street: kept,
    })
}

/// A leading house number written with a dash ("3450-54 W 79th St", a range of numbers, or
/// "123-45 Queens Blvd", one number): kept whole as the house number, with the text after it.
fn dashed_number(text: &str) -> Option<(String, &str)> {
    let trimmed = text.trim_start();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let rest = trimmed[digits..]
        .trim_start()
        .strip_prefix('-')?
        .trim_start();
    let end = rest.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0 && end > 0 && rest[end..].starts_with(' ')).then(|| {
        (
            format!("{}-{}", &trimmed[..digits], &rest[..end]),
            &rest[end..],
        )
    })
}

/// Whether two house numbers are one: equal, or one a dashed number starting with the other
/// ("3450-54" and "3450").
pub fn same_number(a: &str, b: &str) -> bool {
    a == b || (a.contains('-') != b.contains('-') && a.split('-').next() == b.split('-').next())
}

/// Whether two house numbers name two buildings for certain: not one number, and not one
/// digit apart as a typo leaves them (one digit changed, dropped, added, or two swapped:
/// "2140"/"2141", "123"/"132"). A number a typo away is left to the score.
pub fn other_number(a: &str, b: &str) -> bool {
    !same_number(a, b) && !one_edit(a.as_bytes(), b.as_bytes())
}

/// Whether `a` becomes `b` by one changed, dropped or added character, or two neighbours
/// swapped.
fn one_edit(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let head = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    match long.len() - short.len() {
        0 if head == short.len() => true,
        0 => {
            short[head + 1..] == long[head + 1..]
                || (head + 1 < short.len()
                    && short[head] == long[head + 1]
                    && short[head + 1] == long[head]
                    && short[head + 2..] == long[head + 2..])
        }
        1 => short[head..] == long[head + 1..],
        _ => false,
    }
}

fn is_ordinal(w: &str) -> bool {
    ["st", "nd", "rd", "th"].iter().any(|s| {
        w.strip_suffix(s)
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// How two addresses compare, from the strongest agreement down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressLevel {
    /// The same number and street words.
    Exact,
    /// The same number; one street is the other with words left out (a street type, a
    /// direction: "2450 Broadway" / "2450 Broadway Ave").
    SameNumberSameStreet,
    /// The same number and a similar street (a typo).
    SameNumberSimilarStreet,
    /// The same street, a number on one side only.
    SameStreetNoNumber,
    /// The same street, different numbers: likely another place on the street.
    OtherNumber,
    Else,
}

impl AddressLevel {
    pub const NAMES: [&'static str; 6] = [
        "exact",
        "same number and street",
        "same number, similar street",
        "same street, one number missing",
        "same street, another number",
        "else",
    ];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Similarity of two street word lists, 0..=1: 1 when one is contained in the other.
pub fn street_similarity(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let found = small.iter().filter(|w| large.contains(w)).count();
    if found == small.len() {
        // Containment counts only when a word that names the street (not only a type or a
        // direction) is shared.
        let named = small
            .iter()
            .any(|w| !ABBREVIATIONS.iter().any(|(_, abbr)| abbr == w));
        return if named { 1.0 } else { 0.5 };
    }
    // Otherwise the words that name the street, typos allowed.
    let named = |ws: &[String]| {
        ws.iter()
            .filter(|w| !ABBREVIATIONS.iter().any(|(_, abbr)| abbr == w))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (na, nb) = (named(a), named(b));
    if na.is_empty() || nb.is_empty() {
        return 0.0;
    }
    super::name::jaro_winkler(&na, &nb)
}

/// The level of two parsed addresses and the street similarity.
pub fn compare(a: &Address, b: &Address) -> (AddressLevel, f64) {
    if a == b {
        return (AddressLevel::Exact, 1.0);
    }
    let s = street_similarity(&a.street, &b.street);
    let same_street = s >= 1.0;
    let similar = s >= 0.8;
    let level = match (&a.number, &b.number) {
        (Some(x), Some(y))
            if same_number(x, y) && (same_street || a.street.is_empty() || b.street.is_empty()) =>
        {
            AddressLevel::SameNumberSameStreet
        }
        (Some(x), Some(y)) if same_number(x, y) && similar => AddressLevel::SameNumberSimilarStreet,
        (Some(_), Some(_)) if similar => AddressLevel::OtherNumber,
        (Some(_), None) | (None, Some(_)) | (None, None) if same_street => {
            AddressLevel::SameStreetNoNumber
        }
        _ => AddressLevel::Else,
    };
    (level, s)
}

/// The digits of a phone number without leading zeros (a trunk prefix) and without an
/// extension ("ext. 12", "x12", "#12" after at least 7 digits), or `None` when it has fewer
/// than 5 digits.
pub fn phone_digits(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let digits_before = |i: usize| lower[..i].bytes().filter(u8::is_ascii_digit).count();
    let end = ["ext", "x", "#"]
        .iter()
        .filter_map(|mark| lower.find(mark))
        .filter(|&i| digits_before(i) >= 7)
        .min()
        .unwrap_or(lower.len());
    let digits: String = lower[..end].chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    (digits.len() >= 5).then(|| digits.to_string())
}

/// Whether two phone numbers' digits are one number written with and without its country
/// or area code: the shorter (at least 7 digits) ends the longer.
pub fn same_local_number(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 7 && long.ends_with(short)
}

/// The part of a phone number's digits two writings of it share: its last 7 digits.
pub fn local_part(digits: &str) -> &str {
    &digits[digits.len().saturating_sub(7)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(a: &str, b: &str) -> AddressLevel {
        let (x, y) = (parse(a).unwrap(), parse(b).unwrap());
        let l = compare(&x, &y).0;
        assert_eq!(l, compare(&y, &x).0, "symmetric for {a:?} / {b:?}");
        l
    }

    #[test]
    fn numbers_a_typo_apart_are_not_two_buildings_for_certain() {
        for (a, b) in [
            ("2140", "2141"),
            ("123", "132"),
            ("123", "1234"),
            ("123", "13"),
            ("3450-54", "3450"),
        ] {
            assert!(!other_number(a, b), "{a} / {b}");
            assert!(!other_number(b, a), "{b} / {a}");
        }
        for (a, b) in [
            ("939", "941"),
            ("3815", "4140"),
            ("7", "1915"),
            ("12", "21345"),
        ] {
            assert!(other_number(a, b), "{a} / {b}");
            assert!(other_number(b, a), "{b} / {a}");
        }
    }

    #[test]
    fn street_types_and_directions_abbreviated_or_not() {
        assert_eq!(
            level("221 E. 51st St.", "221 East 51st Street"),
            AddressLevel::Exact
        );
        assert_eq!(
            level("100 N Lake Shore Drive", "100 North Lake Shore Dr"),
            AddressLevel::Exact
        );
        assert_eq!(
            level("5 Ocean Blvd", "5 ocean boulevard"),
            AddressLevel::Exact
        );
        assert_eq!(level("12 Main Rd", "12 Main Road"), AddressLevel::Exact);
        assert_eq!(level("4 Park Avenue", "4 Park Av."), AddressLevel::Exact);
    }

    #[test]
    fn ordinals_as_words_or_digits() {
        assert_eq!(
            level("854 7th ave.", "854 seventh ave."),
            AddressLevel::Exact
        );
        assert_eq!(
            level("156 2nd ave.", "156 second avenue"),
            AddressLevel::Exact
        );
        assert_eq!(
            level("124 E 113th St", "124 E. 113 St."),
            AddressLevel::Exact
        );
        // A house number written with a dash is one number: a range takes in its first
        // number, and "123-45" is not "123-47".
        assert_eq!(
            level("3450-54 W. 79th St", "3450 West 79th Street"),
            AddressLevel::SameNumberSameStreet
        );
        assert_eq!(
            level("3416 - 18 W. 79th St", "3416-18 W 79th St"),
            AddressLevel::Exact
        );
        assert_eq!(
            level("123-45 Queens Blvd", "123-47 Queens Blvd"),
            AddressLevel::OtherNumber
        );
        // Only the street's number loses its suffix: another house number is still another.
        assert_eq!(
            level("124 E 113th St", "126 E 113 St"),
            AddressLevel::OtherNumber
        );
    }

    #[test]
    fn units_and_notes_are_left_out() {
        assert_eq!(
            level("2450 broadway between 90th and 91st sts.", "2450 Broadway"),
            AddressLevel::Exact
        );
        assert_eq!(
            level("10 Elm St Suite 200", "10 Elm Street"),
            AddressLevel::Exact
        );
        assert_eq!(level("10 Elm St #4", "10 Elm St"), AddressLevel::Exact);
        assert_eq!(
            level("10 Elm St, 2nd Floor", "10 Elm St"),
            AddressLevel::Exact
        );
        assert_eq!(
            level("7 Long St at Wale St", "7 Long Street"),
            AddressLevel::Exact
        );
    }

    #[test]
    fn the_house_number_is_its_own_evidence() {
        assert_eq!(
            level("2450 Broadway", "2450 Broadway Ave"),
            AddressLevel::SameNumberSameStreet
        );
        assert_eq!(
            level("3033 W. Arthington", "3030 W. Arthington"),
            AddressLevel::OtherNumber
        );
        assert_eq!(
            level("25 W 47th St", "25 W 47th Sreet"),
            AddressLevel::SameNumberSimilarStreet
        );
        assert_eq!(
            level("Washtenaw Ave", "7059 S Washtenaw Ave"),
            AddressLevel::SameStreetNoNumber
        );
        assert_eq!(
            level("363 W. Hill", "1431 N. North Park Avenue"),
            AddressLevel::Else
        );
        // A shared street type or direction alone is not the same street.
        assert_eq!(level("12 N", "12 N Main St"), AddressLevel::Else);
        assert_eq!(level("1 W St", "9 W Oak St"), AddressLevel::Else);
    }

    #[test]
    fn numbers_after_the_street_and_joined_street_words() {
        assert_eq!(level("Hauptstraße 12", "Hauptstr. 12"), AddressLevel::Exact);
        assert_eq!(level("Hauptstrasse 12", "HAUPTSTR 12"), AddressLevel::Exact);
        assert_eq!(level("Kerkstraat 12a", "Kerkstr. 12a"), AddressLevel::Exact);
        assert_eq!(level("Lange Straße 5", "Lange Str. 5"), AddressLevel::Exact);
        assert_eq!(
            level("Calle Mayor 5", "Calle Mayor, 5"),
            AddressLevel::Exact
        );
        assert_eq!(
            level("Hauptstraße 12", "Hauptstraße 14"),
            AddressLevel::OtherNumber
        );
        assert_eq!(
            level("Hauptstraße 12", "Bahnhofstraße 7"),
            AddressLevel::Else
        );
        let p = parse("Via Roma, 10").unwrap();
        assert_eq!(p.number.as_deref(), Some("10"));
        assert_eq!(p.street, ["via", "roma"]);
        // An ordinal or a lone number is not taken for a house number at the end.
        assert_eq!(parse("Avenue 5th").unwrap().number, None);
        assert_eq!(parse("12").unwrap().number.as_deref(), Some("12"));
        // A number first is still the house number.
        assert_eq!(
            parse("221 E. 51st St.").unwrap().number.as_deref(),
            Some("221")
        );
    }

    #[test]
    fn phones_by_digits_with_or_without_codes() {
        let d = |s: &str| phone_digits(s).unwrap();
        assert_eq!(d("(773) 535-1480"), d("773.535.1480"));
        assert_eq!(d("+27 82 874 8637"), "27828748637");
        assert_eq!(d("082 874 8637"), "828748637");
        assert!(same_local_number(&d("+27 82 874 8637"), &d("082 874 8637")));
        assert!(same_local_number(&d("773-535-1480"), &d("5351480")));
        assert!(same_local_number(
            &d("1 773 535 1480"),
            &d("(773) 535-1480")
        ));
        assert!(!same_local_number(&d("773-535-1480"), &d("773-535-1481")));
        assert!(!same_local_number(&d("535-14"), &d("773-535-14")));
        assert_eq!(local_part(&d("773-535-1480")), "5351480");
        assert_eq!(phone_digits("n/a"), None);
        // An extension is not part of the number; a label before it is no extension.
        for written in [
            "(773) 534-3750 ext. 12",
            "773 534 3750 x12",
            "773-534-3750 #12",
        ] {
            assert_eq!(d(written), "7735343750", "{written}");
        }
        assert_eq!(d("Fax: 773-534-3750"), "7735343750");
    }
}
