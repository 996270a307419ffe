//! Canonical text forms of the field types that are not plain text or numbers: decimal, date,
//! timestamp and JSON. Source values are normalised into these forms, and what a database
//! column reads back as (`12.50`, `2024-01-02 03:04:05+00`, `{"a": 1}`) is brought to the same
//! form, so that comparing the spec with the table never reports a difference that is only
//! spelling.

use crate::time::{civil_from_days, days_from_civil, days_in_month};

/// A decimal number in its shortest exact form: no leading zeros, no trailing fractional
/// zeros, no exponent (`"012.50"` → `"12.5"`, `"1.5e3"` → `"1500"`, `"-0.0"` → `"0"`).
pub fn decimal(s: &str) -> Option<String> {
    let s = s.trim();
    let (negative, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    // A bound keeps a hostile exponent from building a huge string.
    if exponent.abs() > 400 {
        return None;
    }
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // All digits, and where the decimal point sits among them.
    let digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
    let point = int.len() as i64 + i64::from(exponent);
    let (mut whole, mut fraction) = (String::new(), String::new());
    if point <= 0 {
        fraction.push_str(&"0".repeat(point.unsigned_abs() as usize));
        fraction.extend(digits.iter().map(|&b| b as char));
    } else if point as usize >= digits.len() {
        whole.extend(digits.iter().map(|&b| b as char));
        whole.push_str(&"0".repeat(point as usize - digits.len()));
    } else {
        whole.extend(digits[..point as usize].iter().map(|&b| b as char));
        fraction.extend(digits[point as usize..].iter().map(|&b| b as char));
    }
    let whole = whole.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let zero = whole == "0" && fraction.is_empty();
    let mut out = String::with_capacity(whole.len() + fraction.len() + 2);
    if negative && !zero {
        out.push('-');
    }
    out.push_str(whole);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    Some(out)
}

/// The order of two decimal numbers written as [`decimal`] writes them (an optional `-`,
/// digits, an optional fraction); `None` when either is not such a number.
pub fn cmp_decimal(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    fn parts(s: &str) -> Option<(bool, &str, &str)> {
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !digits(int) || !digits(frac) {
            return None;
        }
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        let zero = int.is_empty() && frac.is_empty();
        Some((negative && !zero, int, frac))
    }
    let (na, ia, fa) = parts(a)?;
    let (nb, ib, fb) = parts(b)?;
    // Magnitudes: more integer digits is larger, then digit by digit.
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(ib))
        .then_with(|| fa.cmp(fb));
    Some(match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    })
}

fn number(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses `YYYY-MM-DD` (or `YYYY/MM/DD`) at the start of `s`; returns the date and the rest.
fn parse_date(s: &str) -> Option<((i64, u32, u32), &str)> {
    let date = s.get(..10)?;
    let sep = date.as_bytes()[4];
    if !(sep == b'-' || sep == b'/') || date.as_bytes()[7] != sep {
        return None;
    }
    let year = i64::from(number(&date[..4], 4)?);
    let month = number(&date[5..7], 2)?;
    let day = number(&date[8..10], 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(((year, month, day), &s[10..]))
}

/// A calendar date as `YYYY-MM-DD`.
pub fn date(s: &str) -> Option<String> {
    let ((y, m, d), rest) = parse_date(s.trim())?;
    rest.is_empty().then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// A timestamp as `YYYY-MM-DD HH:MM:SS[.ffffff]` in UTC, without a zone: the form all three
/// databases accept for their zone-less timestamp types. Accepts `T` or a space between date
/// and time, optional seconds and fraction (at most microseconds), and an optional zone (`Z`,
/// `+02`, `+02:00`, `-0530`), which is converted to UTC. A date alone is midnight.
pub fn timestamp(s: &str) -> Option<String> {
    let ((y, mo, d), rest) = parse_date(s.trim())?;
    let (mut secs_of_day, mut micros, mut rest) = (0i64, 0u32, rest);
    if !rest.is_empty() {
        rest = rest.strip_prefix(['T', 't', ' '])?;
        let h = number(rest.get(..2)?, 2)?;
        rest = rest[2..].strip_prefix(':')?;
        let mi = number(rest.get(..2)?, 2)?;
        rest = &rest[2..];
        let mut sec = 0;
        if let Some(r) = rest.strip_prefix(':') {
            sec = number(r.get(..2)?, 2)?;
            rest = &r[2..];
            if let Some(r) = rest.strip_prefix('.') {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 || n > 6 {
                    return None;
                }
                micros = r[..n].parse::<u32>().ok()? * 10u32.pow(6 - n as u32);
                rest = &r[n..];
            }
        }
        if h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        secs_of_day = i64::from(h * 3600 + mi * 60 + sec);
        let zone = rest.trim_start();
        let offset = match zone {
            "" | "Z" | "z" | "UTC" => 0,
            _ => {
                let sign = match zone.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let z = zone[1..].replace(':', "");
                let (zh, zm) = match z.len() {
                    2 => (number(&z, 2)?, 0),
                    4 => (number(&z[..2], 2)?, number(&z[2..], 2)?),
                    _ => return None,
                };
                if zh > 23 || zm > 59 {
                    return None;
                }
                sign * i64::from(zh * 3600 + zm * 60)
            }
        };
        secs_of_day -= offset;
    }
    let total = days_from_civil(y, mo, d) * 86_400 + secs_of_day;
    let (days, secs) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    if micros > 0 {
        let f = format!("{micros:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    Some(out)
}

/// A JSON value as compact text with object keys sorted, so that key order and spacing
/// (PostgreSQL's `jsonb` reorders keys) never count as a difference.
pub fn json(v: &serde_json::Value) -> String {
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                serde_json::Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// JSON text in canonical form; `None` when it is not JSON.
pub fn json_text(s: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .map(|v| json(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_compare_by_value() {
        use std::cmp::Ordering::*;
        for (a, b, want) in [
            ("12.5", "9.75", Greater),
            ("0.5", "0.49", Greater),
            ("0.5", "0.51", Less),
            ("-2", "1", Less),
            ("-2", "-10", Greater),
            ("100", "100", Equal),
            ("0", "-0.001", Greater),
            ("1234567890123456789012", "999", Greater),
        ] {
            assert_eq!(cmp_decimal(a, b), Some(want), "{a} vs {b}");
            assert_eq!(cmp_decimal(b, a), Some(want.reverse()), "{b} vs {a}");
        }
        assert_eq!(cmp_decimal("x", "1"), None);
    }

    #[test]
    fn decimals_have_one_spelling() {
        for (input, want) in [
            ("12.50", "12.5"),
            ("012.00", "12"),
            ("-0.0", "0"),
            ("+3", "3"),
            (".5", "0.5"),
            ("1.5e3", "1500"),
            ("15E-3", "0.015"),
            ("-1234567890123456789012.125", "-1234567890123456789012.125"),
            ("0", "0"),
        ] {
            assert_eq!(decimal(input).as_deref(), Some(want), "{input}");
        }
        for bad in ["", "abc", "1.2.3", "1,5", "-", ".", "1e9999", "1 000"] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_are_checked() {
        assert_eq!(date("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(date("2024/03/01").as_deref(), Some("2024-03-01"));
        assert_eq!(date("2023-02-29"), None);
        assert_eq!(date("2024-13-01"), None);
        assert_eq!(date("24-01-01"), None);
        assert_eq!(date("2024-01-01 10:00"), None);
    }

    #[test]
    fn timestamps_become_utc() {
        for (input, want) in [
            ("2024-01-02 03:04:05", "2024-01-02 03:04:05"),
            ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05"),
            ("2024-01-02T03:04", "2024-01-02 03:04:00"),
            ("2024-01-02", "2024-01-02 00:00:00"),
            ("2024-01-02 03:04:05.500000", "2024-01-02 03:04:05.5"),
            ("2024-01-02 03:04:05+00", "2024-01-02 03:04:05"),
            ("2024-01-02T01:30:00+02:00", "2024-01-01 23:30:00"),
            ("2023-12-31T23:30:00-0100", "2024-01-01 00:30:00"),
        ] {
            assert_eq!(timestamp(input).as_deref(), Some(want), "{input}");
        }
        for bad in [
            "2024-01-02 24:00:00",
            "2024-01-02 03:04:05.1234567",
            "2024-01-02 03:04:05 nowhere",
            "yesterday",
        ] {
            assert_eq!(timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_ignores_key_order_and_spacing() {
        assert_eq!(
            json_text(r#"{"b": 1, "a": [ {"d": null, "c": true} ]}"#).as_deref(),
            Some(r#"{"a":[{"c":true,"d":null}],"b":1}"#)
        );
        assert_eq!(json_text("{nope"), None);
    }
}
