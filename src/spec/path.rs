//! Where a value sits in a source record: a path as the spec writes it, and how it is found
//! in a record read as JSON.

/// Where a value sits in a source record: `fields.email` (dotted) or `/fields/email` (pointer).
/// For CSV the whole text is the column header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub raw: String,
    pub segments: Vec<String>,
}

impl FieldPath {
    pub fn parse(raw: &str) -> Self {
        let segments = if let Some(p) = raw.strip_prefix('/') {
            p.split('/')
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect()
        } else {
            raw.split('.').map(String::from).collect()
        };
        FieldPath {
            raw: raw.to_string(),
            segments,
        }
    }

    /// A path that is one key, used whole (an SQL column name).
    pub fn column(raw: &str) -> Self {
        FieldPath {
            raw: raw.to_string(),
            segments: vec![raw.to_string()],
        }
    }

    /// The value at this path in a JSON record; `None` when any step is missing.
    pub fn get<'v>(&self, record: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        // A key containing dots (`"first.name"`) is tried whole first.
        if let Some(v) = record.get(&self.raw) {
            return Some(v);
        }
        let mut v = record;
        for seg in &self.segments {
            v = match v {
                serde_json::Value::Object(m) => m.get(seg)?,
                serde_json::Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(v)
    }
}
