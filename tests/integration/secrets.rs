//! Secrets and hostile input: a canary planted in `sensitive: true` fields must appear in no
//! output of any command (stdout, stderr, written reports, addresses, errors of ours and of
//! the database), on every backend; text from sources reaches the terminal escaped; saved
//! plans and reports are written owner-only, never through a symlink.

use crate::common::{Workspace, on_each_backend};

/// The canary: every sensitive value holds it, in any letter case.
const CANARY: &str = "canary-7731";

/// A spec whose address field and a multi-line field are sensitive.
fn people_spec(ws: &Workspace, records: &str) {
    ws.write(
        "specs/customers.yaml",
        &format!(
            r#"version: 1
resource: people
target:
  table: people
  key: email
  address: ssn
  fields:
    name: {{ type: text, required: true }}
    email: {{ type: email }}
    ssn: {{ type: text, sensitive: true }}
    note: {{ type: text, multiline: true, sensitive: true }}
sources:
  s:
    id: id
    fields: {{ name: name, email: email, ssn: ssn, note: note }}
    inline:
{records}
match:
  compare:
    name: {{ method: name }}
"#
        ),
    );
}

const TWO: &str = r#"      - { id: 1, name: Alice Smith, email: alice@example.com, ssn: ZQX-CANARY-7731-A, note: "first line\nCANARY-7731 line" }
      - { id: 2, name: Bob Jones, email: bob@example.com, ssn: zqx-canary-7731-b }"#;

/// Fails the test if the canary shows anywhere in `text`.
fn clean(what: &str, text: &str) {
    assert!(
        !text.to_lowercase().contains(CANARY),
        "the sensitive value leaked in {what}:\n{text}"
    );
}

/// Runs a command and checks both of its streams.
fn run_clean(ws: &Workspace, args: &[&str]) -> crate::common::Run {
    let run = ws.run(args);
    clean(&format!("stdout of {args:?}"), &run.stdout);
    clean(&format!("stderr of {args:?}"), &run.stderr);
    run
}

on_each_backend! {
    /// Every command, and every file they write, keeps the sensitive values out.
    fn sensitive_values_appear_in_no_output(ws) {
        people_spec(&ws, TWO);
        let plan = run_clean(&ws, &["plan"]).ok();
        assert!(plan.stdout.contains("(sensitive value)"), "{}", plan.stdout);
        assert!(plan.stdout.contains(r#"people["s-1"]"#), "{}", plan.stdout);
        run_clean(&ws, &["plan", "--json"]).ok();
        run_clean(&ws, &["plan", "--html", "report.html"]).ok();
        clean("the HTML report", &ws.read("report.html"));
        run_clean(&ws, &["plan", "--explain"]).ok();
        run_clean(&ws, &["plan", "--out", "plan.json"]).ok();
        run_clean(&ws, &["plan", "--format", "markdown"]).ok();
        run_clean(&ws, &["show", "plan.json"]).ok();
        run_clean(&ws, &["show", "plan.json", "--json"]).ok();
        run_clean(&ws, &["show", "plan.json", "--format", "markdown"]).ok();
        run_clean(&ws, &["explain"]).ok();
        run_clean(&ws, &["explain", "--json"]).ok();
        let one = run_clean(&ws, &["explain", r#"people["s-1"]"#]).ok();
        assert!(one.stdout.contains("ssn"), "{}", one.stdout);
        run_clean(&ws, &["validate"]).ok();
        run_clean(&ws, &["apply", "plan.json"]).ok();
        // The state's views show the rows as the table holds them.
        run_clean(&ws, &["state", "list"]).ok();
        run_clean(&ws, &["state", "list", "--json"]).ok();
        let shown = run_clean(&ws, &["state", "show", r#"people["s-1"]"#]).ok();
        assert!(shown.stdout.contains("ssn   = (sensitive value)"), "{}", shown.stdout);
        run_clean(&ws, &["state", "show", r#"people["s-1"]"#, "--json"]).ok();
        run_clean(&ws, &["plan", "--refresh-only"]).ok();
        // The values did reach the database: masking is only in what is shown.
        let stored = ws.query("SELECT ssn FROM people ORDER BY ssn");
        assert_eq!(stored[0][0].as_deref(), Some("ZQX-CANARY-7731-A"));

        // An update of a sensitive value, and a record whose sensitive value is invalid.
        ws.edit("specs/customers.yaml", "zqx-canary-7731-b", "zqx-canary-7731-c");
        let update = run_clean(&ws, &["plan"]).ok();
        assert!(update.stdout.contains("(sensitive value) -> (sensitive value)"), "{}", update.stdout);
        run_clean(&ws, &["plan", "--json"]).ok();
        run_clean(&ws, &["plan", "--format", "markdown"]).ok();
        run_clean(&ws, &["plan", "--html", "report.html"]).ok();
        clean("the HTML report of an update", &ws.read("report.html"));
        run_clean(&ws, &["plan", "--out", "update.json"]).ok();
        run_clean(&ws, &["show", "update.json", "--full"]).ok();
        run_clean(&ws, &["show", "update.json", "--json"]).ok();

        // A failing apply: the table refuses the new value.
        ws.execute(ws.backend().pick(
            "CREATE TRIGGER refuse BEFORE UPDATE ON people BEGIN SELECT RAISE(ABORT, 'refused'); END",
            "ALTER TABLE people ADD CONSTRAINT refuse CHECK (ssn NOT LIKE '%-c')",
            "ALTER TABLE people ADD CONSTRAINT refuse CHECK (ssn NOT LIKE '%-c')",
        ));
        let failed = run_clean(&ws, &["apply", "--auto-approve"]).fails();
        assert!(failed.stderr.contains("rolled back"), "{}", failed.stderr);
    }
}

on_each_backend! {
    /// Errors of ours that would quote a value: a unique constraint two records would break,
    /// and a value that fails its type.
    fn errors_do_not_quote_sensitive_values(ws) {
        people_spec(
            &ws,
            r#"      - { id: 1, name: Alice Smith, email: alice@example.com, ssn: ZQX-CANARY-7731, note: a }
      - { id: 2, name: Bob Jones, email: bob@example.com, ssn: ZQX-CANARY-7731, note: b }"#,
        );
        ws.execute(ws.backend().pick(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(100), \
             ssn VARCHAR(100), note TEXT, CONSTRAINT people_ssn UNIQUE (ssn))",
            "CREATE TABLE people (id SERIAL PRIMARY KEY, name TEXT NOT NULL, email VARCHAR(100), \
             ssn VARCHAR(100), note TEXT, CONSTRAINT people_ssn UNIQUE (ssn))",
            "CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, \
             email VARCHAR(100), ssn VARCHAR(100), note TEXT, CONSTRAINT people_ssn UNIQUE (ssn))",
        ));
        let run = run_clean(&ws, &["plan"]).fails();
        assert!(run.stderr.contains("on (ssn) would be violated"), "{}", run.stderr);
        assert!(run.stderr.contains("ssn = (sensitive value)"), "{}", run.stderr);
        ws.write("specs/customers.yaml", &ws.read("specs/customers.yaml").replace("ssn: { type: text", "ssn: { type: email"));
        let run = run_clean(&ws, &["validate", "--strict"]).fails();
        assert!(run.stderr.contains("not an email address"), "{}", run.stderr);
        assert!(run.stderr.contains("sensitive"), "{}", run.stderr);
    }
}

/// MariaDB quotes the row it refuses (`Duplicate entry '…' for key …`); its collation folds
/// accents, so two values the plan's check keeps apart collide only in the server.
#[test]
#[cfg_attr(
    not(reconcile_test_mysql),
    ignore = "set RECONCILE_TEST_MYSQL_URL to run"
)]
fn mariadb_duplicate_entry_does_not_echo_the_value() {
    let Some(ws) = Workspace::seed_on(crate::common::Backend::MySql) else {
        return;
    };
    people_spec(
        &ws,
        r#"      - { id: 1, name: Alice Smith, email: alice@example.com, ssn: ZQX-CANARY-7731-É, note: a }
      - { id: 2, name: Bob Jones, email: bob@example.com, ssn: zqx-canary-7731-e, note: b }"#,
    );
    ws.execute(
        "CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, \
         email VARCHAR(100), ssn VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, \
         note TEXT, CONSTRAINT people_ssn UNIQUE (ssn))",
    );
    let run = run_clean(&ws, &["apply", "--auto-approve"]).fails();
    assert!(run.stderr.contains("Duplicate entry"), "{}", run.stderr);
    assert!(run.stderr.contains("(sensitive value)"), "{}", run.stderr);
}

/// Saved plans and reports are owner-only also over an existing file, and a symbolic link at
/// the target is replaced, never written through.
#[cfg(unix)]
#[test]
fn saved_plans_and_reports_are_owner_only_and_never_follow_links() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let ws = Workspace::seed();
    for (flag, file) in [("--out", "plan.json"), ("--html", "report.html")] {
        ws.write(file, "old");
        std::fs::set_permissions(ws.path(file), std::fs::Permissions::from_mode(0o644)).unwrap();
        ws.run(&["plan", flag, file]).ok();
        let mode = std::fs::metadata(ws.path(file)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file} was left {mode:o}");
        assert_ne!(ws.read(file), "old");

        // A link pointing elsewhere: the file it points to keeps its content.
        let elsewhere = format!("elsewhere-{file}");
        let link = format!("link-{file}");
        ws.write(&elsewhere, "precious");
        std::os::unix::fs::symlink(ws.path(&elsewhere), ws.path(&link)).unwrap();
        ws.run(&["plan", flag, &link]).ok();
        assert_eq!(
            ws.read(&elsewhere),
            "precious",
            "{flag} wrote through a link"
        );
        let meta = std::fs::symlink_metadata(ws.path(&link)).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the link was not replaced by the file"
        );
        assert_eq!(meta.mode() & 0o777, 0o600);
    }
    // No temporary file is left beside them.
    let stray: Vec<_> = std::fs::read_dir(ws.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// Control, escape and bidi characters that must never reach a terminal as they are.
fn no_raw_controls(what: &str, text: &str) {
    for bad in [
        "\x07", "\r", "\u{202E}", "\u{2066}", "\x1b]", "\x1b[2J", "\x1b[8m",
    ] {
        assert!(
            !text.contains(bad),
            "{what} holds {bad:?} as it is:\n{}",
            text.escape_debug()
        );
    }
}

/// Runs with colour forced on, so that nothing on the way strips what reaches the terminal.
fn run_in_colour(ws: &Workspace, args: &[&str]) -> crate::common::Run {
    let run = ws.run_with_env(args, &[("NO_COLOR", None), ("CLICOLOR_FORCE", Some("1"))]);
    no_raw_controls(&format!("stdout of {args:?}"), &run.stdout);
    no_raw_controls(&format!("stderr of {args:?}"), &run.stderr);
    run
}

const HOSTILE: &str = r#"version: 1
resource: people
target:
  table: people
  fields:
    name: { type: text, required: true }
    kind: { type: text }
    note: { type: text, multiline: true }
sources:
  s:
    id: id
    fields: { name: name, kind: kind, note: note }
    inline:
      - { id: "7\e]0;pwned\a\e[2J", name: "Evil\e[8m Co\u202Eoc", kind: biz, note: "one\n\e[8mhidden\rtwo\n" }
      - { id: "8\u2066x", name: "Bad\r Corp", kind: "biz\e[2J" }
      - { id: "9\r\e[8m", name: "Private\a Person", kind: private }
exclude:
  - name: private
    when: { field: kind, equals: private }
"#;

/// Ids, values, keys and names from sources are printed escaped everywhere: the text plan
/// (changes, `# from` lines, excluded records), explain, and error messages.
#[test]
fn text_from_sources_reaches_the_terminal_escaped() {
    let ws = Workspace::seed();
    ws.write("specs/customers.yaml", HOSTILE);
    let plan = run_in_colour(&ws, &["plan"]).ok();
    assert!(
        plan.stdout.contains(r"s:7\u{1b}]0;pwned\u{7}\u{1b}[2J"),
        "{}",
        plan.stdout.escape_debug()
    );
    assert!(
        plan.stdout.contains(r"s:9\r\u{1b}[8m"),
        "{}",
        plan.stdout.escape_debug()
    );
    assert!(
        plan.stdout.contains(r"\u{1b}[8mhidden two"),
        "{}",
        plan.stdout.escape_debug()
    );
    run_in_colour(&ws, &["plan", "--full"]).ok();
    run_in_colour(&ws, &["plan", "--explain"]).ok();
    run_in_colour(&ws, &["explain"]).ok();
    let json = ws.run(&["plan", "--json"]).ok().json();
    for change in json["changes"].as_array().unwrap() {
        let address = change["address"].as_str().unwrap();
        run_in_colour(&ws, &["explain", address]).ok();
    }
    run_in_colour(&ws, &["explain", "people[\"\x1b]0;x\x07\"]"]).fails();
    run_in_colour(&ws, &["apply", "--auto-approve"]).ok();
    // The state's views: ids, members and values escaped.
    let list = run_in_colour(&ws, &["state", "list"]).ok();
    assert!(
        list.stdout.contains(r"s:7\u{1b}]0;pwned"),
        "{}",
        list.stdout.escape_debug()
    );
    let json = ws.run(&["state", "list", "--json"]).ok().json();
    for entry in json["resources"][0]["entries"].as_array().unwrap() {
        run_in_colour(&ws, &["state", "show", entry["address"].as_str().unwrap()]).ok();
    }
    run_in_colour(&ws, &["state", "show", "people[\"\x1b]0;x\x07\"]"]).fails();
    run_in_colour(&ws, &["state", "rm", "people[\"\x1b]0;x\x07\"]"]).fails();
    run_in_colour(&ws, &["import", "people[\"\x1b]0;x\x07\"]", "\x1b[2J"]).fails();
    // A change of the values: the update shows old and new.
    ws.edit("specs/customers.yaml", "Bad\\r Corp", "Bad\\a\\u2067 Corp");
    run_in_colour(&ws, &["plan"]).ok();

    // Errors naming an id, a value and a reference.
    ws.edit(
        "specs/customers.yaml",
        "id: \"8\\u2066x\"",
        "id: \"7\\e]0;pwned\\a\\e[2J\"",
    );
    let err = run_in_colour(&ws, &["plan"]).fails();
    assert!(
        err.stderr.contains(r"\u{1b}]0;pwned"),
        "{}",
        err.stderr.escape_debug()
    );
    ws.write(
        "specs/customers.yaml",
        &HOSTILE.replace("kind: { type: text }", "kind: { type: email }"),
    );
    run_in_colour(&ws, &["validate", "--strict"]).fails();
    // Without strict mode the invalid values are listed, escaped as everything else is.
    let listed = run_in_colour(&ws, &["plan"]).ok();
    assert!(
        listed.stdout.contains("Invalid values (2)"),
        "{}",
        listed.stdout
    );
    run_in_colour(&ws, &["validate"]).ok();
}

/// Passwords are masked as the URL's password component, whatever they hold, and only
/// there: a short password or a common word leaves the rest of the message readable.
#[test]
fn passwords_are_masked_as_the_url_component() {
    let ws = Workspace::seed();
    // Nothing listens on port 1: every attempt fails after the URL was read.
    for (password, decoded) in [
        ("pa/ss", "pa/ss"),
        ("p@ss", "p@ss"),
        ("p%2Fw0rd", "p/w0rd"),
        ("e", "e"),
        ("error", "error"),
    ] {
        for scheme in ["postgres", "mysql"] {
            let url = format!("{scheme}://app:{password}@127.0.0.1:1/app");
            let run = ws.run(&["plan", "--database", &url]).fails();
            let all = format!("{}{}", run.stdout, run.stderr);
            for shown in [password, decoded] {
                assert!(!all.contains(&format!(":{shown}@")), "{url}: {all}");
            }
            assert!(
                all.contains(&format!("{scheme}://app:***@127.0.0.1:1/app")),
                "{url}: {all}"
            );
            assert!(all.contains("cannot connect"), "{url}: {all}");
            if password.contains(['/', '@']) {
                assert!(!all.contains(password), "{url}: {all}");
            }
        }
    }
    // A raw `/` makes the driver read another port: the help says to percent-encode it.
    let run = ws
        .run(&["plan", "--database", "postgres://app:pa/ss@127.0.0.1:1/app"])
        .fails();
    assert!(run.stderr.contains("`/` as `%2F`"), "{}", run.stderr);
    // A one-letter password and a common word mask nothing else.
    let run = ws
        .run(&["plan", "--database", "postgres://app:e@127.0.0.1:1/app"])
        .fails();
    assert!(
        run.stderr.contains("error communicating with database"),
        "{}",
        run.stderr
    );
}

/// A password equal to a word of the server's reply leaves the reply readable.
#[test]
#[cfg_attr(
    not(reconcile_test_mysql),
    ignore = "set RECONCILE_TEST_MYSQL_URL to run"
)]
fn a_password_that_is_a_common_word_masks_only_itself() {
    let Ok(admin) = std::env::var("RECONCILE_TEST_MYSQL_URL") else {
        return;
    };
    let ws = Workspace::seed();
    let url = admin.replacen("://root@", "://root:error@", 1);
    let run = ws.run(&["plan", "--database", &url]).fails();
    assert!(
        run.stderr.contains("error returned from database"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("root:***@"), "{}", run.stderr);
    assert!(!run.stderr.contains("root:error@"), "{}", run.stderr);
}

/// Runs the binary, killing it (and failing) if it is still running after `secs` seconds.
fn run_within(ws: &Workspace, args: &[&str], env: &[(&str, &str)], secs: u64) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"));
    cmd.args(args)
        .current_dir(ws.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (status.code().unwrap_or(-1), text);
        }
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            panic!("{args:?} still ran after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn one_source_spec(file: &str) -> String {
    format!(
        "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    name: {{ type: text }}\n\
         sources:\n  s:\n    file: ../{file}\n    fields: {{ name: name }}\n"
    )
}

/// Devices, FIFOs and files over the size limit are refused at once, with a clear error.
#[cfg(unix)]
#[test]
fn sources_that_are_not_files_or_too_large_are_refused() {
    let ws = Workspace::seed();
    std::os::unix::fs::symlink("/dev/zero", ws.path("zero.csv")).unwrap();
    ws.write("specs/customers.yaml", &one_source_spec("zero.csv"));
    let (code, out) = run_within(&ws, &["validate"], &[], 20);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is a device, not a regular file"), "{out}");

    let fifo = ws.path("pipe.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    ws.write("specs/customers.yaml", &one_source_spec("pipe.csv"));
    let (code, out) = run_within(&ws, &["validate"], &[], 20);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("is a FIFO (named pipe), not a regular file"),
        "{out}"
    );

    // A spec named by mistake as a device is refused too.
    let (code, out) = run_within(&ws, &["validate", "-f", "/dev/zero"], &[], 20);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a regular file"), "{out}");

    ws.write("big.csv", &format!("name\n{}", "Acme\n".repeat(100)));
    ws.write("specs/customers.yaml", &one_source_spec("big.csv"));
    let limit = [("RECONCILE_MAX_FILE_SIZE", "100")];
    let (code, out) = run_within(&ws, &["validate"], &limit, 20);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("big.csv is 505 bytes, over the limit of 100 bytes"),
        "{out}"
    );
    assert!(out.contains("RECONCILE_MAX_FILE_SIZE"), "{out}");
    let (code, out) = run_within(&ws, &["validate"], &[("RECONCILE_MAX_FILE_SIZE", "1K")], 20);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_within(
        &ws,
        &["validate"],
        &[("RECONCILE_MAX_FILE_SIZE", "lots")],
        20,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("is not a size"), "{out}");
}

/// A YAML source of a few hundred bytes whose aliases would expand to hundreds of millions
/// of nodes is refused at once.
#[test]
fn a_yaml_alias_bomb_is_refused_quickly() {
    let ws = Workspace::seed();
    let mut bomb =
        String::from("- &a0 { name: x }\n- &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\n");
    for i in 2..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "- &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert!(bomb.len() < 600, "{}", bomb.len());
    ws.write("bomb.yaml", &bomb);
    ws.write("specs/customers.yaml", &one_source_spec("bomb.yaml"));
    let start = std::time::Instant::now();
    let (code, out) = run_within(&ws, &["validate"], &[], 30);
    let took = start.elapsed();
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("alias bomb"), "{out}");
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
}

/// Long values are shortened in the text plan with a count of what was cut; `--full` shows
/// text whole, but never bytes that are not text.
#[test]
fn long_values_are_shortened_in_the_text_plan() {
    let ws = Workspace::seed();
    let long = "Acme ".repeat(2_000);
    let binary = format!("{}\u{1}", "b".repeat(300));
    ws.write(
        "specs/customers.yaml",
        &format!(
            "version: 1\nresource: r\ntarget:\n  table: t\n  fields:\n    name: {{ type: text }}\n    \
             blob: {{ type: text }}\nsources:\n  s:\n    inline:\n      - {{ k: 1, name: {long:?}, blob: \"{}\\x01\" }}\n    \
             id: k\n    fields: {{ name: name, blob: blob }}\n",
            "b".repeat(300)
        ),
    );
    let plan = ws.run(&["plan"]).ok();
    assert!(
        plan.stdout
            .contains("(9,799 more characters; `--full` shows them)"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.len() < 4_000, "{}", plan.stdout.len());
    let full = ws.run(&["plan", "--full"]).ok();
    assert!(full.stdout.contains(long.trim()), "--full cut the text");
    assert!(
        !full.stdout.contains(&binary),
        "--full showed bytes that are not text"
    );
    assert!(
        full.stdout.contains("not text, so `--full` keeps it cut"),
        "{}",
        full.stdout
    );
}

/// Whether the apply holds its lock: from then on it is writing.
fn apply_holds_the_lock(ws: &Workspace) -> bool {
    use crate::common::Backend;
    match ws.backend() {
        Backend::Sqlite => ws.path("specs/reconcile.db-reconcile-lock").exists(),
        Backend::Postgres => {
            ws.query(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name LIKE 'reconcile apply%'",
            )[0][0]
                .as_deref()
                != Some("0")
        }
        Backend::MySql => ws.query(
            "SELECT IS_USED_LOCK(CONCAT('reconcile:', LEFT(SHA2(CONCAT(DATABASE(), '.', 't'), 256), 40)))",
        )[0][0]
            .is_some(),
    }
}

on_each_backend! {
    /// SIGINT in the middle of an apply: rolled back, locks released, said plainly, exit 130.
    fn an_interrupted_apply_rolls_back_and_says_so(ws) {
        let rows = 30_000;
        ws.write("data.csv", &crate::crash::csv(rows, 0));
        ws.write("specs/customers.yaml", &crate::crash::spec("t", "../data.csv"));
        ws.run(&["plan", "--out", "plan.json"]).ok();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"));
        cmd.args(["apply", "plan.json"])
            .current_dir(ws.dir.path())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        match &ws.server {
            Some(db) => cmd.env("DATABASE_URL", &db.url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        let child = cmd.spawn().unwrap();
        let start = std::time::Instant::now();
        while !apply_holds_the_lock(&ws) {
            assert!(start.elapsed().as_secs() < 120, "the apply never took its lock");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let pid = child.id().to_string();
        let sent = std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{stderr}");
        assert!(stderr.contains("Interrupted: nothing was written"), "{stderr}");
        // The lock is free and nothing was written: the same plan applies in full.
        assert!(!ws.path("specs/reconcile.db-reconcile-lock").exists(), "the lock note was left behind");
        let json = ws.run(&["plan", "--json"]).ok().json();
        assert_eq!(json["summary"]["create"], rows, "{}", json["summary"]);
        ws.run(&["apply", "plan.json"]).ok();
        assert_eq!(ws.query("SELECT COUNT(*) FROM t")[0][0].as_deref(), Some("30000"));
    }
}

on_each_backend! {
    /// A row the database refuses is named: its address, its source records and the column,
    /// without the server's internal line numbers.
    fn database_errors_name_the_record_and_the_column(ws) {
        ws.write(
            "specs/customers.yaml",
            &r#"version: 1
resource: people
target:
  table: people
  fields:
    name: { type: text, required: true }
    code: { type: text }
sources:
  s:
    id: id
    fields: { name: name, code: code }
    inline:
      - { id: 1, name: Alice, code: ok }
      - { id: 2, name: Bob, code: CODE }
      - { id: 3, name: Carol, code: fine }
"#
            .replace("CODE", &"x".repeat(300)),
        );
        ws.execute(ws.backend().pick(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             code VARCHAR(5) CHECK (length(code) <= 5))",
            "CREATE TABLE people (id SERIAL PRIMARY KEY, name TEXT NOT NULL, \
             code TEXT CONSTRAINT code_is_short CHECK (char_length(code) <= 5))",
            "CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, \
             code TINYTEXT)",
        ));
        let run = ws.run(&["apply", "--auto-approve"]).fails();
        assert!(run.stderr.contains("rolled back"), "{}", run.stderr);
        assert!(run.stderr.contains(r#"at people["bob"] (s:2)"#), "{}", run.stderr);
        match ws.backend() {
            // MariaDB names the column and the row of a value too long for a TINYTEXT,
            // which the plan's width check (CHAR and VARCHAR) leaves to the server.
            crate::common::Backend::MySql => {
                assert!(run.stderr.contains("column code"), "{}", run.stderr)
            }
            // PostgreSQL names the CHECK constraint; SQLite its expression.
            crate::common::Backend::Postgres => {
                assert!(run.stderr.contains("code_is_short"), "{}", run.stderr)
            }
            crate::common::Backend::Sqlite => {}
        }
        assert!(!run.stderr.contains(" at line "), "{}", run.stderr);
        assert_eq!(ws.query("SELECT COUNT(*) FROM people")[0][0].as_deref(), Some("0"));
    }
}

/// A spec whose one record is read over the source URL in `SRC`: on PostgreSQL, whether the
/// connection it came over is encrypted.
pub(crate) const TLS_SPEC: &str = r#"version: 1
resource: tls
target:
  table: tls
  fields:
    name: { type: text }
sources:
  s:
    sql: "SELECT 1 AS id, CAST(ssl AS TEXT) AS name FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
    database: ${SRC}
    id: id
    fields: { name: name }
"#;

/// PostgreSQL over TLS (rustls): `sslmode=require` encrypts, `disable` does not, and under
/// `verify-full` a certificate the URL's CA (or the host name) does not vouch for is refused,
/// with a help naming `sslrootcert`.
#[test]
#[cfg_attr(
    not(reconcile_test_postgres),
    ignore = "set RECONCILE_TEST_POSTGRES_URL to run"
)]
fn postgres_connections_use_tls_as_the_url_asks() {
    let Ok(admin) = std::env::var("RECONCILE_TEST_POSTGRES_URL") else {
        return;
    };
    let Some(ws) = Workspace::seed_on(crate::common::Backend::Postgres) else {
        return;
    };
    if ws.query("SHOW ssl")[0][0].as_deref() != Some("on") {
        eprintln!("note: PostgreSQL TLS test skipped: the server has ssl = off");
        return;
    }
    ws.write("specs/customers.yaml", TLS_SPEC);
    let with = |query: &str| {
        let sep = if admin.contains('?') { '&' } else { '?' };
        format!("{admin}{sep}{query}")
    };
    let encrypted = |url: &str| {
        let run = ws.run_with_env(
            &["plan", "--json", "--database", "sqlite://specs/out.db"],
            &[("SRC", Some(url))],
        );
        let json = run.ok().json();
        json["changes"][0]["after"]["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(encrypted(&with("sslmode=require")), "true");
    assert_eq!(encrypted(&with("sslmode=disable")), "false");

    // A CA made here, which signed nothing the server holds.
    let ca = ws.path("ca.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=test CA",
        ])
        .arg("-keyout")
        .arg(ws.path("ca.key"))
        .arg("-out")
        .arg(&ca)
        .output();
    if !made.is_ok_and(|m| m.status.success()) {
        eprintln!("note: the verify-full part skipped: openssl could not make a CA");
        return;
    }
    let url = with(&format!("sslmode=verify-full&sslrootcert={}", ca.display()));
    // The target over that URL (the shipped spec, which has no SQL source).
    let plain = Workspace::seed();
    let run = plain.run(&["plan", "--database", &url]).fails();
    assert!(run.stderr.contains("certificate"), "{}", run.stderr);
    assert!(
        run.stderr.contains("sslrootcert=/path/ca.pem"),
        "{}",
        run.stderr
    );
}

/// MySQL/MariaDB with `ssl-mode=REQUIRED`: encrypted when the server offers TLS, else a
/// clear refusal that says what to change.
#[test]
#[cfg_attr(
    not(reconcile_test_mysql),
    ignore = "set RECONCILE_TEST_MYSQL_URL to run"
)]
fn mysql_requiring_tls_connects_or_says_why_not() {
    let Ok(admin) = std::env::var("RECONCILE_TEST_MYSQL_URL") else {
        return;
    };
    let ws = Workspace::seed();
    let sep = if admin.contains('?') { '&' } else { '?' };
    let url = format!("{admin}{sep}ssl-mode=REQUIRED");
    let offered = crate::common::Workspace::seed_on(crate::common::Backend::MySql)
        .map(|w| w.query("SELECT @@have_ssl")[0][0].clone())
        .unwrap_or_default();
    let run = ws.run(&["plan", "--database", &url]);
    if offered.as_deref() == Some("YES") {
        run.ok();
    } else {
        let run = run.fails();
        assert!(
            run.stderr.contains("does not support TLS"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("enable TLS on the server"),
            "{}",
            run.stderr
        );
    }
}
