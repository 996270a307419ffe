//! `reconcile init`: writes a commented starter spec that validates and plans as it is, and
//! the JSON Schema beside it so editors complete and check the spec. Never overwrites a file.

use std::path::Path;
use std::process::ExitCode;

use super::InitArgs;
use crate::error::{Error, Result};

/// The starter spec. It names its schema on the first line, relative to itself.
pub(super) const STARTER: &str = include_str!("templates/starter.yaml");

/// The schema's file name, beside the spec.
pub(super) const SCHEMA_FILE: &str = "reconcile.schema.json";

pub(super) fn run(args: InitArgs) -> Result<ExitCode> {
    let spec = &args.path;
    let dir = spec
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let schema = dir.join(SCHEMA_FILE);
    let schema_text = crate::spec::schema::schema_text();
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
    // `create_new` refuses an existing file atomically: no window between a check and a write.
    write_new(spec, STARTER).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::Init { path: spec.clone() },
        _ => Error::Io(format!("cannot write {}: {e}", spec.display())),
    })?;
    println!("Wrote {}, a starter spec with comments.", spec.display());
    match std::fs::read_to_string(&schema) {
        Err(_) => {
            write_new(&schema, &schema_text)
                .map_err(|e| Error::Io(format!("cannot write {}: {e}", schema.display())))?;
            println!(
                "Wrote {}, so editors complete and check the spec.",
                schema.display()
            );
        }
        Ok(existing) if existing == schema_text => {}
        Ok(_) => println!(
            "Left {} as it is; it differs from this version's schema (refresh it with `reconcile schema > {}`).",
            schema.display(),
            schema.display()
        ),
    }
    println!(
        "\nNext:\n  reconcile validate -f {0}   # check it\n  reconcile plan -f {0}       # see what it would do",
        spec.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_spec_is_valid_and_names_its_schema() {
        assert!(STARTER.starts_with(&format!("# yaml-language-server: $schema={SCHEMA_FILE}\n")));
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::spec::load::load_str(STARTER, &dir.path().join("customers.yaml"))
            .unwrap_or_else(|e| panic!("{}", crate::render::diagnostics::render(&e)));
        assert_eq!(spec.sources.len(), 2);
    }
}
