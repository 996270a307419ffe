//! The commands around the plan: `init`, completions, the man page, and the exit codes
//! scripts rely on.

use crate::common::Workspace;

#[test]
fn init_writes_a_starter_spec_that_plans_and_never_overwrites() {
    let ws = Workspace::empty();
    let run = ws.run(&["init"]).ok();
    assert!(
        run.stdout.contains("Wrote specs/customers.yaml"),
        "{}",
        run.stdout
    );
    let spec = ws.read("specs/customers.yaml");
    assert!(
        spec.starts_with("# yaml-language-server: $schema=reconcile.schema.json\n"),
        "{spec}"
    );
    let schema: serde_json::Value =
        serde_json::from_str(&ws.read("specs/reconcile.schema.json")).unwrap();
    assert_eq!(schema, *reconcile::spec::schema::schema());

    ws.run(&["validate"]).ok();
    let plan = ws.run(&["plan", "--json"]).ok().json();
    assert_eq!(plan["summary"]["create"], 3);
    assert_eq!(plan["summary"]["excluded"], 1);
    // The ids the template's commented `same:`/`distinct:` examples use are the ones the
    // plan prints for its source without `id:`.
    let sources = plan["changes"].to_string();
    for id in ["sheet:e851651b3581", "sheet:0ac2151f51e3"] {
        assert!(spec.contains(id), "{id} not in the template");
        assert!(sources.contains(id), "{id} not in {sources}");
    }

    ws.write("specs/customers.yaml", "# mine\n");
    let again = ws.run(&["init"]).fails();
    assert!(
        again.stderr.contains("specs/customers.yaml already exists"),
        "{}",
        again.stderr
    );
    assert_eq!(
        ws.read("specs/customers.yaml"),
        "# mine\n",
        "the file is untouched"
    );

    ws.run(&["init", "other/suppliers.yaml"]).ok();
    assert!(ws.path("other/suppliers.yaml").is_file());
}

#[test]
fn completions_and_man_page_come_from_the_command_line_definition() {
    let ws = Workspace::empty();
    let bash = ws.run(&["completions", "bash"]).ok();
    assert!(bash.stdout.contains("_reconcile()"), "{}", bash.stdout);
    assert!(
        bash.stdout.contains("--detailed-exitcode"),
        "{}",
        bash.stdout
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert!(!ws.run(&["completions", shell]).ok().stdout.is_empty());
    }
    let man = ws.run(&["man"]).ok();
    assert!(man.stdout.contains(".TH reconcile 1"), "{}", man.stdout);
    assert!(man.stdout.contains("Exit codes"), "{}", man.stdout);
    assert!(
        man.stdout.contains("\\fBreconcile\\-plan\\fR(1)"),
        "{}",
        man.stdout
    );
}

/// Every command has a page of its own, `reconcile-COMMAND(1)`, with ENVIRONMENT and
/// EXAMPLES; `man COMMAND` prints one, and a typo is answered with the closest command.
#[test]
fn every_command_has_a_manual_page_with_environment_and_examples() {
    let ws = Workspace::empty();
    let run = ws.run(&["man", "--dir", "man"]).ok();
    assert!(run.stderr.contains("manual pages"), "{}", run.stderr);
    let help = ws.run(&["--help"]).ok().stdout;
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A command's line starts two spaces in; its wrapped description further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for command in commands {
        let page = ws.read(&format!("man/reconcile-{command}.1"));
        assert!(
            page.contains(&format!(".TH reconcile-{command} 1")),
            "{command}: {page}"
        );
        assert!(
            page.contains(".SH ENVIRONMENT") && page.contains("DATABASE_URL"),
            "{command}"
        );
        assert!(page.contains(".SH EXAMPLES"), "{command} has no examples");
        let printed = ws.run(&["man", command]).ok().stdout;
        assert_eq!(printed, page, "{command}");
    }
    let typo = ws.run(&["man", "plna"]).fails();
    assert!(
        typo.stderr.contains("did you mean `plan`?"),
        "{}",
        typo.stderr
    );
}

#[test]
fn exit_codes_are_stable() {
    let ws = Workspace::seed();
    assert_eq!(ws.run(&["plan", "--detailed-exitcode"]).code, 2, "changes");
    ws.run(&["apply", "--auto-approve"]).ok();
    assert_eq!(
        ws.run(&["plan", "--detailed-exitcode"]).code,
        0,
        "no changes"
    );
    // A usage error must not read as "changes" under --detailed-exitcode.
    let usage = ws.run(&["plan", "--detailed-exitcode", "--no-such-flag"]);
    assert_eq!(usage.code, 1, "{}", usage.stderr);
    assert_eq!(ws.run(&["--help"]).code, 0);
    assert!(ws.run(&["--help"]).stdout.contains("Exit codes:"));
    assert_eq!(ws.run(&["--version"]).code, 0);
    ws.edit("specs/customers.yaml", "version: 1", "version: 2");
    assert_eq!(
        ws.run(&["plan", "--detailed-exitcode"]).code,
        1,
        "spec error"
    );
}
