//! Organisation-name normalisation and similarity. Names are compared as token lists after
//! folding case and accents, turning `&` into `and`, dropping punctuation, stop words ("the",
//! "and") and legal suffixes ("Pty Ltd"). Similarity is a fuzzy word containment, so "Luma"
//! is close to "Luma Bar and Lounge" and "Barchef Entertainment" to "Barchefz", while two
//! branches of one brand ("Ocean Basket Menlyn" / "Brooklyn") are not.

/// Words that carry no identity in a business name.
const STOP_WORDS: &[&str] = &["the", "and", "of", "a", "an", "die", "de"];

/// Legal-form suffixes, dropped wherever they stand.
const LEGAL_SUFFIXES: &[&str] = &[
    "pty",
    "ltd",
    "limited",
    "llc",
    "inc",
    "incorporated",
    "cc",
    "corp",
    "corporation",
    "gmbh",
    "plc",
    "llp",
    "sa",
    "bv",
    "nv",
    "ag",
    "proprietary",
];

/// The identity-bearing tokens of a name.
pub fn tokens(name: &str) -> Vec<String> {
    let folded = deunicode::deunicode(name).to_lowercase();
    let mut cleaned = String::with_capacity(folded.len() + 8);
    for c in folded.chars() {
        match c {
            '&' | '+' => cleaned.push_str(" and "),
            '\'' | '`' => {}
            c if c.is_ascii_alphanumeric() => cleaned.push(c),
            _ => cleaned.push(' '),
        }
    }
    cleaned
        .split_whitespace()
        .filter(|t| !STOP_WORDS.contains(t) && !LEGAL_SUFFIXES.contains(t))
        .map(String::from)
        .collect()
}

/// Tokens joined by single spaces: the canonical form two names are "equal" in.
pub fn canonical(name: &str) -> String {
    tokens(name).join(" ")
}

/// Jaro-Winkler similarity of two strings.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    rapidfuzz::distance::jaro_winkler::similarity(a.chars(), b.chars())
}

/// Similarity of one token to another: equal, a likely typo or abbreviation of it, or
/// unrelated. Short words must be equal, or one a prefix of the other ("mug"/"mugg").
fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    if a.len() < 4 || b.len() < 4 {
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        return if short.len() >= 3 && long.len() == short.len() + 1 && long.starts_with(short) {
            0.9
        } else {
            0.0
        };
    }
    let s = jaro_winkler(a, b);
    if s >= 0.9 { s } else { 0.0 }
}

/// How much of `small` (by word weight) is found, exactly or as a likely typo, in `large`.
fn contained_in(small: &[String], large: &[String], weight: &dyn Fn(&str) -> f64) -> f64 {
    let total: f64 = small.iter().map(|t| weight(t)).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let found: f64 = small
        .iter()
        .map(|t| {
            let best = large
                .iter()
                .map(|u| token_similarity(t, u))
                .fold(0.0, f64::max);
            best * weight(t)
        })
        .sum();
    found / total
}

/// How much of the name with fewer words (weighted by length) is found in the other one.
/// With equally many words, the better direction counts, so the measure is symmetric.
pub fn containment(a: &[String], b: &[String]) -> f64 {
    containment_weighted(a, b, &|t: &str| t.len() as f64)
}

fn containment_weighted(a: &[String], b: &[String], weight: &dyn Fn(&str) -> f64) -> f64 {
    use std::cmp::Ordering::*;
    match a.len().cmp(&b.len()) {
        Less => contained_in(a, b, weight),
        Greater => contained_in(b, a, weight),
        Equal => contained_in(a, b, weight).max(contained_in(b, a, weight)),
    }
}

/// Similarity of two names, from their token lists: 1.0 means equal canonical forms.
pub fn similarity(a: &[String], b: &[String]) -> f64 {
    similarity_weighted(a, b, &|t: &str| t.len() as f64)
}

/// Similarity of two names with words weighted by `weight` (their length, times their
/// rarity when term frequencies are known). Containment carries it: "Luma" is close to
/// "Luma Bar and Lounge", "Barchef Entertainment" to "Barchefz" (a typo of one word), while
/// "Ocean Basket Menlyn" and "Ocean Basket Brooklyn" each hold a word the other lacks, so
/// they stay apart however alike the strings look. Words run together ("MuggBean") match
/// their spaced form.
pub fn similarity_weighted(a: &[String], b: &[String], weight: &dyn Fn(&str) -> f64) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    if a.concat() == b.concat() {
        return 0.999;
    }
    let mut s = containment_weighted(a, b, weight);
    if a.len() == 1 && b.len() == 1 {
        // A single word each: a typo anywhere in it still reads as the same name.
        let jw = jaro_winkler(&a[0], &b[0]);
        if jw >= 0.9 && a[0].len() >= 4 && b[0].len() >= 4 {
            s = s.max(jw);
        }
    }
    // Equal canonical forms are the only way to reach 1.0.
    s.min(0.999)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(a: &str, b: &str) -> f64 {
        similarity(&tokens(a), &tokens(b))
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical("The T Junction"), "t junction");
        assert_eq!(canonical("T-junction"), "t junction");
        assert_eq!(canonical("Mugg & Bean (Pty) Ltd"), "mugg bean");
        assert_eq!(canonical("Mugg and Bean"), "mugg bean");
        assert_eq!(canonical("Café Zoë"), "cafe zoe");
    }

    #[test]
    fn containment_and_typos_are_close() {
        assert!(sim("Luma", "Luma Bar and Lounge") >= 0.92);
        assert!(sim("Maltos", "Maltos Sun City") >= 0.92);
        assert!(sim("Barchef Entertainment", "Barchefz") >= 0.92);
        assert!(sim("Valley", "Valley (Barchefz Branch)") >= 0.92);
    }

    #[test]
    fn branches_of_one_brand_are_far() {
        assert!(sim("Ocean Basket Menlyn", "Ocean Basket Brooklyn") < 0.8);
        assert!(sim("Spur Steak Ranch Sandton", "Spur Steak Ranch Rosebank") < 0.8);
    }

    #[test]
    fn abbreviations_and_run_together_words() {
        assert!(sim("Mug & Bean", "Mugg and Bean") >= 0.92);
        assert!(sim("MuggBean", "Mugg Bean") >= 0.92);
    }

    #[test]
    fn unrelated_names_are_far() {
        assert!(sim("Venue", "Revue Bar") < 0.8);
        assert!(sim("Barchef Entertainment", "Valley (Barchefz Branch)") < 0.8);
        assert!(sim("Valley", "Barchefz") < 0.8);
    }

    #[test]
    fn symmetric() {
        for (a, b) in [
            ("Luma", "Luma Bar"),
            ("Casa Bella", "Bella Casa"),
            ("x", "yz"),
            ("Ocean Basket Menlyn", "Ocean Basket Brooklyn"),
            ("Mug & Bean", "Mugg and Bean"),
        ] {
            assert_eq!(sim(a, b), sim(b, a));
        }
    }
}
