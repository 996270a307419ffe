//! TLS against servers the test sets up itself: a MariaDB started here on a free port with a
//! certificate signed by a CA generated here, so `ssl-mode=REQUIRED`, `VERIFY_CA` and
//! `VERIFY_IDENTITY` with `ssl-ca=` are tested whatever the shared server's TLS settings.
//! Likewise a PostgreSQL cluster initialised here, for `sslmode=verify-full` and `verify-ca`
//! with `sslrootcert=`. The private servers leave the shared ones untouched and are stopped
//! when the test ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::Workspace;

/// Runs a command that must succeed.
fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a server certificate it signed for 127.0.0.1, in `dir`; returns the CA's path.
fn make_certificates(dir: &Path, ca_name: &str) -> PathBuf {
    let p = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-subj")
        .arg(format!("/CN={ca_name}"))
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(p("server.key"))
        .arg("-out")
        .arg(p("server.csr")));
    std::fs::write(p("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(p("server.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("server.pem"))
        .arg("-extfile")
        .arg(p("ext")));
    p("ca.pem")
}

/// A MariaDB server of this test's own, with TLS on; stopped when dropped.
struct PrivateMariaDb {
    child: Child,
    port: u16,
}

impl PrivateMariaDb {
    fn start(dir: &Path) -> PrivateMariaDb {
        let data = dir.join("data");
        run(Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--skip-test-db",
                "--auth-root-authentication-method=normal",
            ])
            .arg(format!("--user={}", whoami()))
            .arg(format!("--datadir={}", data.display())));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--user={}", whoami()))
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", dir.join("sock").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg(format!("--ssl-ca={}", dir.join("ca.pem").display()))
            .arg(format!("--ssl-cert={}", dir.join("server.pem").display()))
            .arg(format!("--ssl-key={}", dir.join("server.key").display()))
            .args(["--skip-log-bin", "--innodb-buffer-pool-size=16M"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let server = PrivateMariaDb { child, port };
        let started = Instant::now();
        while !server.sql("CREATE DATABASE IF NOT EXISTS test") {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the private MariaDB did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    /// Runs SQL with the `mariadb` client, without TLS; whether it succeeded.
    fn sql(&self, sql: &str) -> bool {
        Command::new("mariadb")
            .args([
                "--no-defaults",
                "--skip-ssl",
                "-h",
                "127.0.0.1",
                "-u",
                "root",
            ])
            .arg(format!("-P{}", self.port))
            .args(["-e", sql])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn url(&self, query: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/test?{query}", self.port)
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL cluster of this test's own, with TLS on and trust authentication; stopped
/// when dropped. PostgreSQL refuses to run as root, so as root it runs as `postgres`.
struct PrivatePostgres {
    child: Child,
    port: u16,
}

/// The folder holding `initdb` and `postgres` (Debian keeps them out of `PATH`).
fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    found.retain(|p| p.join("initdb").exists());
    found.sort();
    found.pop().unwrap_or_default()
}

impl PrivatePostgres {
    fn start(dir: &Path) -> PrivatePostgres {
        let bin = postgres_bin();
        let as_root = whoami() == "root";
        let command = |program: &str| {
            if as_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            }
        };
        if as_root {
            run(Command::new("chown").args(["-R", "postgres"]).arg(dir));
            run(Command::new("chmod").arg("755").arg(dir));
        }
        let data = dir.join("pgdata");
        run(command("initdb")
            .args(["--auth=trust", "--username=postgres", "--no-sync", "-D"])
            .arg(&data));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = command("postgres")
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "ssl=on", "-c"])
            .arg(format!("unix_socket_directories={}", dir.display()))
            .arg("-c")
            .arg(format!(
                "ssl_cert_file={}",
                dir.join("server.pem").display()
            ))
            .arg("-c")
            .arg(format!("ssl_key_file={}", dir.join("server.key").display()))
            .args(["-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let server = PrivatePostgres { child, port };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the private PostgreSQL did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // `runuser` passes the signal on; the postmaster stops its children on SIGTERM.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A spec whose one record says whether its own connection is encrypted: the SQL source runs
/// over the URL under test, and reads the session's cipher.
const CIPHER_SPEC: &str = r#"version: 1
resource: tls
target:
  table: tls
  fields:
    name: { type: text }
sources:
  s:
    sql: "SELECT 1 AS id, VARIABLE_VALUE AS name FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'"
    database: ${SRC}
    id: id
    fields: { name: name }
"#;

/// MariaDB over TLS with a CA of the user's: `REQUIRED` encrypts, `DISABLED` does not,
/// `VERIFY_IDENTITY` and `VERIFY_CA` with the right `ssl-ca` connect and apply, and with a CA
/// that signed nothing the server holds the connection is refused with a help naming
/// `ssl-ca`.
#[test]
fn mariadb_over_tls_with_a_ca_made_for_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_certificates(dir.path(), "reconcile test CA");
    let stranger = dir.path().join("stranger");
    std::fs::create_dir(&stranger).unwrap();
    let stranger_ca = make_certificates(&stranger, "another CA");
    let server = PrivateMariaDb::start(dir.path());

    let cipher = |query: &str| {
        let ws = Workspace::empty();
        ws.write("specs/customers.yaml", CIPHER_SPEC);
        let run = ws.run_with_env(
            &["plan", "--json", "--database", "sqlite://specs/out.db"],
            &[("SRC", Some(&server.url(query)))],
        );
        let plan = run.ok().json();
        plan["changes"][0]["after"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(!cipher("ssl-mode=REQUIRED").is_empty(), "REQUIRED encrypts");
    assert_eq!(cipher("ssl-mode=DISABLED"), "", "DISABLED does not");
    let verified = format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", ca.display());
    assert!(!cipher(&verified).is_empty());

    // The target itself over a verified connection: apply, then nothing left to do.
    let ws = Workspace::seed();
    let url = server.url(&verified);
    ws.run(&["apply", "--auto-approve", "--database", &url])
        .ok();
    let again = ws.run(&["plan", "--database", &url]).ok();
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
    let ca_only = server.url(&format!("ssl-mode=VERIFY_CA&ssl-ca={}", ca.display()));
    ws.run(&["plan", "--database", &ca_only]).ok();

    // A CA that vouches for nothing the server holds.
    let refused = ws
        .run(&[
            "plan",
            "--database",
            &server.url(&format!(
                "ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
                stranger_ca.display()
            )),
        ])
        .fails();
    assert!(refused.stderr.contains("certificate"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("ssl-ca=/path/ca.pem"),
        "{}",
        refused.stderr
    );
}

/// PostgreSQL with a CA of the user's: `verify-full` with the right `sslrootcert` connects
/// encrypted and applies; `verify-ca` accepts the certificate under another host name, which
/// `verify-full` refuses; a CA that signed nothing the server holds is refused with a help
/// naming `sslrootcert`.
#[test]
fn postgres_over_tls_with_a_ca_made_for_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_certificates(dir.path(), "reconcile test CA");
    let stranger = dir.path().join("stranger");
    std::fs::create_dir(&stranger).unwrap();
    let stranger_ca = make_certificates(&stranger, "another CA");
    let server = PrivatePostgres::start(dir.path());
    let verified = format!("sslmode=verify-full&sslrootcert={}", ca.display());

    let ssl = |url: &str| {
        let ws = Workspace::empty();
        ws.write("specs/customers.yaml", crate::secrets::TLS_SPEC);
        let run = ws.run_with_env(
            &["plan", "--json", "--database", "sqlite://specs/out.db"],
            &[("SRC", Some(url))],
        );
        let plan = run.ok().json();
        plan["changes"][0]["after"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(ssl(&server.url("127.0.0.1", &verified)), "true");
    assert_eq!(ssl(&server.url("127.0.0.1", "sslmode=disable")), "false");

    // The target over a verified connection: apply, then nothing left to do.
    let ws = Workspace::seed();
    let url = server.url("127.0.0.1", &verified);
    ws.run(&["apply", "--auto-approve", "--database", &url])
        .ok();
    let again = ws.run(&["plan", "--database", &url]).ok();
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);

    // The certificate names 127.0.0.1 only: under `localhost` it proves the CA, not the host.
    let ca_only = format!("sslmode=verify-ca&sslrootcert={}", ca.display());
    ws.run(&["plan", "--database", &server.url("localhost", &ca_only)])
        .ok();
    let wrong_host = ws
        .run(&["plan", "--database", &server.url("localhost", &verified)])
        .fails();
    assert!(
        wrong_host.stderr.contains("certificate"),
        "{}",
        wrong_host.stderr
    );

    let refused = ws
        .run(&[
            "plan",
            "--database",
            &server.url(
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={}", stranger_ca.display()),
            ),
        ])
        .fails();
    assert!(refused.stderr.contains("certificate"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("sslrootcert=/path/ca.pem"),
        "{}",
        refused.stderr
    );
}
