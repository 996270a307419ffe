//! Wording shared by every view: numbers, plurals.

/// A count with thousands separated: `100,000`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The line that closes a successful apply.
pub fn apply_complete(added: usize, changed: usize, destroyed: usize) -> String {
    format!(
        "\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.\n"
    )
}
