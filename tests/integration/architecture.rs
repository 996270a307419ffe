//! The shape of the code, checked like behaviour: no import circle between source files (a
//! module may use its own children, nothing else may loop back), no function longer than a
//! screenful or two, no algorithm hidden in a macro body in the database layer, and every
//! spec shipped in the repository valid.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Functions longer than this many lines are split into named steps.
const MAX_FUNCTION_LINES: usize = 150;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, with its module path (`plan/diff` → ["plan", "diff"]).
fn modules(dir: &Path) -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("the source folder reads") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(dir).expect("under src");
                let mut parts: Vec<String> = rel
                    .with_extension("")
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|p| p == "mod") {
                    parts.pop();
                }
                if parts == ["lib"] || parts == ["main"] {
                    parts.clear();
                }
                let text = std::fs::read_to_string(&path).expect("a source file reads");
                out.insert(parts, text);
            }
        }
    }
    out
}

/// The code of a file without its tests and line comments, string contents blanked.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or(text);
    text.lines()
        .map(|l| {
            let l = blank_strings(l);
            match l.find("//") {
                Some(i) => l[..i].to_string(),
                None => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A line with the contents of its string and character literals replaced by spaces.
fn blank_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_str {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
                out.push('"');
                continue;
            }
            out.push(' ');
        } else {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
    }
    out
}

/// The module a path such as `crate::plan::diff::Pairing` lands in: the longest prefix that
/// is a file.
fn resolve(files: &BTreeMap<Vec<String>, String>, path: &[String]) -> Option<Vec<String>> {
    (0..=path.len())
        .rev()
        .map(|k| path[..k].to_vec())
        .find(|p| files.contains_key(p))
}

/// The paths a file names through `crate::` and `super::`, groups (`{a, b::c}`) expanded.
fn named_paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            let before = text[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                // `super` is the parent module, whether the file is `x.rs` or `x/mod.rs`.
                module[..module.len().saturating_sub(1)].to_vec()
            };
            let rest = &text[at + start.len()..];
            let mut rest_iter = rest;
            // More `super::` steps.
            while let Some(r) = rest_iter.strip_prefix("super::") {
                base.pop();
                rest_iter = r;
            }
            expand(&base, rest_iter, &mut out);
        }
    }
    out
}

/// Expands `a::b::{c, d::e}` after `base` into full paths.
fn expand(base: &[String], rest: &str, out: &mut Vec<Vec<String>>) {
    let mut path = base.to_vec();
    let mut s = rest;
    loop {
        let ident: String = s
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            if let Some(group) = s.strip_prefix('{') {
                let mut depth = 1;
                let mut end = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = i;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let inner = &group[..end];
                let mut depth = 0;
                let mut item = String::new();
                for c in inner.chars().chain(std::iter::once(',')) {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if c == ',' && depth == 0 {
                        let t = item.trim();
                        if !t.is_empty() && t != "self" {
                            expand(&path, t, out);
                        }
                        item.clear();
                    } else {
                        item.push(c);
                    }
                }
            }
            break;
        }
        path.push(ident.clone());
        s = &s[ident.len()..];
        match s.strip_prefix("::") {
            Some(r) => s = r,
            None => break,
        }
    }
    out.push(path);
}

/// The import graph between source files; a module using its own descendants is left out.
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = root().join("src");
    let files = modules(&src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, text) in &files {
        let set = edges.entry(module.clone()).or_default();
        for path in named_paths(module, &code(text)) {
            if let Some(target) = resolve(&files, &path)
                && &target != module
                && !target.starts_with(module)
            {
                set.insert(target);
            }
        }
    }
    edges
}

/// Strongly connected components of more than one file (Tarjan).
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a Vec<String>) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let Some((w, _)) = edges.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                component.push(w.join("/"));
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_import_circles_between_source_files() {
    let edges = graph();
    let found = circles(&edges);
    let described: Vec<String> = found
        .iter()
        .map(|c| {
            let inside: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    let key: Vec<String> = if a.is_empty() {
                        Vec::new()
                    } else {
                        a.split('/').map(String::from).collect()
                    };
                    edges[&key]
                        .iter()
                        .filter(|b| c.contains(&b.join("/")))
                        .map(move |b| format!("{a} -> {}", b.join("/")))
                        .collect::<Vec<_>>()
                })
                .collect();
            inside.join(", ")
        })
        .collect();
    assert!(
        found.is_empty(),
        "import circles (a file may use its own child modules, nothing else may loop \
         back):\n  {}",
        described.join("\n  ")
    );
}

#[test]
fn the_circle_check_finds_a_circle() {
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let m = |s: &str| vec![s.to_string()];
    edges.entry(m("a")).or_default().insert(m("b"));
    edges.entry(m("b")).or_default().insert(m("a"));
    edges.entry(m("c")).or_default().insert(m("a"));
    assert_eq!(
        circles(&edges),
        vec![vec!["a".to_string(), "b".to_string()]]
    );
    let paths = named_paths(
        &["plan".to_string(), "diff".to_string()],
        "use crate::db::{read::{CurrentState, key_text}, Database};\nuse super::Plan;",
    );
    assert!(paths.contains(&vec!["db".into(), "read".into(), "CurrentState".into()]));
    assert!(paths.contains(&vec!["db".into(), "Database".into()]));
    assert!(paths.contains(&vec!["plan".into(), "Plan".into()]));
}

/// Each `fn` (or `macro_rules!`) in the code with its length in lines.
fn function_lengths(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<String> = code(text).lines().map(String::from).collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub(super) "))
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let t = t.strip_prefix("async ").unwrap_or(t);
        let t = t.strip_prefix("const ").unwrap_or(t);
        let name = if let Some(r) = t.strip_prefix("fn ") {
            r
        } else if let Some(r) = t.strip_prefix("macro_rules! ") {
            r
        } else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let mut depth = 0i64;
        let mut opened = false;
        for (j, l) in lines[i..].iter().enumerate() {
            for c in l.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if !opened && l.trim_end().ends_with(';') {
                break;
            }
            if opened && depth <= 0 {
                out.push((name.clone(), i + 1, j + 1));
                break;
            }
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let mut long = Vec::new();
    for (module, text) in modules(&root().join("src")) {
        for (name, line, len) in function_lengths(&text) {
            if len > MAX_FUNCTION_LINES {
                long.push(format!(
                    "{}: {name} (line {line}, {len} lines)",
                    module.join("/")
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines; cut them into named steps:\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn the_database_layer_keeps_its_algorithms_out_of_macros() {
    let mut found = Vec::new();
    for (module, text) in modules(&root().join("src")) {
        if module.first().is_none_or(|m| m != "db") {
            continue;
        }
        for (name, line, len) in function_lengths(&text) {
            if len > 12
                && text
                    .lines()
                    .nth(line - 1)
                    .is_some_and(|l| l.contains("macro_rules!"))
            {
                found.push(format!(
                    "{}: {name}! (line {line}, {len} lines)",
                    module.join("/")
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "macros holding more than a one-line helper in src/db/ (write the code once, \
         generic over the Backend trait):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_length_check_measures_functions() {
    let text = "fn short() {\n    1;\n}\n\npub(crate) fn longer(x: u8) -> u8 {\n    let s = \"}\";\n    x\n}\n";
    assert_eq!(
        function_lengths(text),
        vec![("short".into(), 1, 3), ("longer".into(), 5, 4)]
    );
}

/// Every spec in `specs/`, `examples/` and `benches/`: each compiles, and each whose source
/// files are all present validates end to end.
#[test]
fn every_shipped_spec_is_valid() {
    let mut specs = Vec::new();
    for dir in ["specs", "examples", "benches"] {
        let mut stack = vec![root().join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("the folder reads") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && std::fs::read_to_string(&path)
                        .is_ok_and(|t| t.lines().any(|l| l.starts_with("version:")))
                {
                    specs.push(path);
                }
            }
        }
    }
    specs.sort();
    assert!(specs.len() >= 5, "the shipped specs are found: {specs:?}");
    let mut validated = 0;
    for path in &specs {
        let spec = reconcile::spec::load::load(path)
            .unwrap_or_else(|e| panic!("{} does not compile: {e:?}", path.display()));
        let all_present = spec.sources.iter().all(|s| match &s.input {
            reconcile::spec::compiled::Input::File { path, .. } => path.exists(),
            _ => true,
        });
        if !all_present {
            continue;
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"))
            .args(["validate", "-f"])
            .arg(path)
            .current_dir(root())
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "{} does not validate:\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        validated += 1;
    }
    assert!(validated >= 3, "the specs with their data were validated");
}
