//! Tells the test suite which optional servers and tools this machine offers, so that a test
//! needing one that is missing is reported as ignored (with what to set), never as passed.
//!
//! - `reconcile_test_postgres`: `RECONCILE_TEST_POSTGRES_URL` is set.
//! - `reconcile_test_mysql`: `RECONCILE_TEST_MYSQL_URL` is set.
//! - `reconcile_test_browser`: Debian's `chromium` and `chromium-driver` are installed, or
//!   `RECONCILE_REQUIRE_BROWSER` is set (then a missing browser fails the test).

use std::path::Path;

fn main() {
    for cfg in [
        "reconcile_test_postgres",
        "reconcile_test_mysql",
        "reconcile_test_browser",
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    for (var, cfg) in [
        ("RECONCILE_TEST_POSTGRES_URL", "reconcile_test_postgres"),
        ("RECONCILE_TEST_MYSQL_URL", "reconcile_test_mysql"),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var(var).is_ok_and(|url| !url.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    println!("cargo::rerun-if-env-changed=RECONCILE_REQUIRE_BROWSER");
    // Installing the packages changes the folder, which runs this script again.
    println!("cargo::rerun-if-changed=/usr/bin");
    let browser = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        .iter()
        .all(|p| Path::new(p).exists());
    if browser || std::env::var_os("RECONCILE_REQUIRE_BROWSER").is_some() {
        println!("cargo::rustc-cfg=reconcile_test_browser");
    }
    println!("cargo::rerun-if-changed=build.rs");
}
