//! How many rows go in one statement: a statement may carry only so many parameters and so
//! many bytes, and fewer, larger statements are faster.

use crate::value::Value;

/// The most bytes of values one multi-row statement carries: 4 MiB, and at most half of
/// MySQL's `max_allowed_packet` (given), which a statement and all its values must fit in
/// (1,200 rows of 20 KB in one INSERT broke MariaDB's 16 MB default).
pub(crate) fn batch_bytes(max_allowed_packet: Option<i64>) -> usize {
    const DEFAULT: usize = 4 << 20;
    match max_allowed_packet {
        Some(p) if p > 0 => DEFAULT.min(p as usize / 2).max(1024),
        _ => DEFAULT,
    }
}

/// About how many bytes a value takes in a statement's parameters.
pub(crate) fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Text(s) => s.len() + 9,
        Value::Int(_) => 9,
        Value::Bool(_) | Value::Null => 2,
    }
}

/// About how many bytes a row's values take in a statement's parameters.
pub(crate) fn row_bytes(values: &[Value]) -> usize {
    values.iter().map(value_bytes).sum::<usize>() + 8
}

/// `items` cut into consecutive batches of at most `max_rows` items and, unless one item
/// alone is larger, at most `max_bytes` bytes by `size`.
pub(crate) fn byte_chunks<T>(
    items: &[T],
    max_rows: usize,
    max_bytes: usize,
    size: impl Fn(&T) -> usize,
) -> impl Iterator<Item = &[T]> {
    let max_rows = max_rows.max(1);
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        while n < rest.len() && n < max_rows {
            let b = size(&rest[n]);
            if n > 0 && bytes + b > max_bytes {
                break;
            }
            bytes += b;
            n += 1;
        }
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_by_rows_and_by_bytes() {
        let items: Vec<usize> = vec![10, 10, 10, 50, 10, 10];
        let sizes = |max_rows, max_bytes| -> Vec<usize> {
            byte_chunks(&items, max_rows, max_bytes, |&b| b)
                .map(<[usize]>::len)
                .collect()
        };
        assert_eq!(sizes(1000, 1000), [6]);
        assert_eq!(sizes(2, 1000), [2, 2, 2]);
        // An item larger than the budget goes alone.
        assert_eq!(sizes(1000, 30), [3, 1, 2]);
        assert_eq!(batch_bytes(None), 4 << 20);
        assert_eq!(batch_bytes(Some(16 << 20)), 4 << 20);
        assert_eq!(batch_bytes(Some(1 << 20)), 1 << 19);
    }
}
