//! Organisation-name normalisation and similarity. Names are compared as token lists after
//! folding case and accents, turning `&` into `and`, dropping punctuation, stop words ("the",
//! "and") and legal suffixes ("Pty Ltd"). Similarity takes the better of Jaro-Winkler on the
//! whole name and a fuzzy token containment, so "Luma" is close to "Luma Bar and Lounge" and
//! "Barchef Entertainment" to "Barchefz".

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

/// Similarity of one token to another: equal, a likely typo of it, or unrelated.
fn token_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    if a.len() < 4 || b.len() < 4 {
        return 0.0;
    }
    let s = jaro_winkler(a, b);
    if s >= 0.9 { s } else { 0.0 }
}

/// How much of the shorter name (by tokens, weighted by length) is found in the longer one.
pub fn containment(a: &[String], b: &[String]) -> f64 {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let total: usize = small.iter().map(String::len).sum();
    if total == 0 {
        return 0.0;
    }
    let found: f64 = small
        .iter()
        .map(|t| {
            let best = large
                .iter()
                .map(|u| token_similarity(t, u))
                .fold(0.0, f64::max);
            best * t.len() as f64
        })
        .sum();
    found / total as f64
}

/// Similarity of two names, from their token lists: 1.0 means equal canonical forms.
pub fn similarity(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let whole = jaro_winkler(&a.join(" "), &b.join(" "));
    let contained = containment(a, b);
    // Equal canonical forms are the only way to reach 1.0.
    whole.max(contained).min(0.999)
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
        ] {
            assert_eq!(sim(a, b), sim(b, a));
        }
    }
}
