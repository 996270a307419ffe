//! How much memory matching may hold: the budget (`match.memory`, `--match-memory`, else
//! half the memory available when matching starts), sizes as people write them
//! (`512MiB`, `4GiB`, `2GB`), and what a record's prepared values take.

use super::compare::Prepared;

/// The budget when the memory available cannot be read.
const FALLBACK_BUDGET: u64 = 4 << 30;

/// The share of the available memory matching may hold by default (one part in this many):
/// the rest is for the golden records and the plan, which the later stages build and which
/// take about what matching's working set does.
const AVAILABLE_SHARE: u64 = 2;

/// Reads a size: a number with an optional unit, `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`,
/// `TB`/`TiB` (decimal and binary alike, case ignored, a space allowed before the unit).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size"))?;
    let scale: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "kib" | "k" => 1024.0,
        "mb" => 1e6,
        "mib" | "m" => 1024.0 * 1024.0,
        "gb" => 1e9,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "tb" => 1e12,
        "tib" | "t" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("`{other}` is not a unit of size")),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(format!("`{text}` is not a size of at least one byte"));
    }
    Ok(bytes as u64)
}

/// A size for people: `1.5 GiB`, `640 MiB`, `12 KiB`, `900 B`.
pub fn show_size(bytes: u64) -> String {
    let units = [
        (1u64 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (scale, unit) in units {
        if bytes >= scale {
            let v = bytes as f64 / scale as f64;
            return if v < 10.0 {
                format!("{v:.1} {unit}")
            } else {
                format!("{v:.0} {unit}")
            };
        }
    }
    format!("{bytes} B")
}

/// The memory this process may still take: the system's available memory, or what is left
/// of a control group's limit when that is smaller.
pub fn available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let system = meminfo.as_deref().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    let read = |f: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{f}"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    let group = match (read("memory.max"), read("memory.current")) {
        (Some(max), Some(current)) => Some(max.saturating_sub(current)),
        _ => None,
    };
    match (system, group) {
        (Some(s), Some(g)) => Some(s.min(g)),
        (s, g) => s.or(g),
    }
}

/// The budget matching works within: the one given, else a share of the available memory.
pub fn budget(given: Option<u64>) -> u64 {
    given.unwrap_or_else(|| available().map_or(FALLBACK_BUDGET, |a| a / AVAILABLE_SHARE))
}

/// Bytes one record's prepared values take in the table that holds them all
/// ([`super::PreparedTable`]), with the allocator's own share of each allocation.
pub fn prepared_bytes(p: &[Prepared]) -> u64 {
    const ALLOCATION: usize = 16;
    let boxed = |len: usize| if len == 0 { 0 } else { len + ALLOCATION };
    let string = |s: &String| boxed(s.capacity());
    let text = |s: &str| boxed(s.len());
    let strings =
        |v: &[String]| boxed(std::mem::size_of_val(v)) + v.iter().map(string).sum::<usize>();
    let heap: usize = p
        .iter()
        .map(|v| match v {
            Prepared::Missing | Prepared::Number(_) => 0,
            Prepared::Other(v) => boxed(size_of_val(&**v)),
            Prepared::Name {
                tokens,
                canonical,
                weights,
            } => strings(tokens) + text(canonical) + boxed(size_of_val(&**weights)),
            Prepared::Text(t) | Prepared::Phone(t) => text(t),
            Prepared::Grams { text: t, grams } => text(t) + boxed(std::mem::size_of_val(&**grams)),
            Prepared::Tokens { text: t, tokens } => text(t) + strings(tokens),
            Prepared::Date { text: t, .. } => text(t),
            Prepared::Address(a) => {
                boxed(size_of_val(&**a))
                    + text(&a.text)
                    + a.address.number.as_ref().map_or(0, string)
                    + boxed(a.address.street.capacity() * size_of::<String>())
                    + a.address.street.iter().map(string).sum::<usize>()
            }
        })
        .sum();
    (std::mem::size_of_val(p) + heap) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("4 GiB"), Ok(4 << 30));
        assert_eq!(parse_size("2gb"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("64k"), Ok(65536));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("4 parsecs").unwrap_err().contains("parsecs"));
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn sizes_shown_for_people() {
        assert_eq!(show_size(900), "900 B");
        assert_eq!(show_size(3 << 29), "1.5 GiB");
        assert_eq!(show_size(640 << 20), "640 MiB");
    }

    #[test]
    fn prepared_values_are_counted_with_what_they_hold() {
        let empty = prepared_bytes(&[Prepared::Missing]);
        let name = prepared_bytes(&[Prepared::new(
            crate::spec::CompareMethod::Name,
            &crate::value::Value::Text("Ocean Basket Menlyn".into()),
        )]);
        assert!(name > empty + 19, "{name} vs {empty}");
    }
}
