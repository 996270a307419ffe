//! The HTML report, opened in a real headless Chromium through chromedriver (WebDriver over
//! plain HTTP, with a small client below): it loads with no console error and no request, the
//! counts it shows are the plan's, typing in the search box filters the rows, a click on a
//! column head sorts. A screenshot is kept in `target/test-artefacts/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
//! test prints a note and passes, unless `RECONCILE_REQUIRE_BROWSER=1` says they must be there.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::common::Workspace;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One HTTP/1.1 exchange with chromedriver; returns the JSON body's `value`.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    // chromedriver answers `Connection: close` but keeps the socket open, so the body is
    // read by its Content-Length (or its chunks), never to the end of the stream.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let header_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the HTTP header".into());
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let length = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    let chunked = head.contains("transfer-encoding:") && head.contains("chunked");
    loop {
        let body = &raw[header_end..];
        let done = match length {
            Some(n) => body.len() >= n,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if done {
            break;
        }
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[header_end..]).into_owned();
    let payload = if chunked { dechunk(&body) } else { body };
    let v: Value = serde_json::from_str(&payload).map_err(|e| format!("{e}: {payload}"))?;
    if !head.starts_with("http/1.1 200") {
        return Err(format!("{method} {path}: {head}\n{v}"));
    }
    Ok(v["value"].clone())
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A browser session; the driver process and the session end when it drops.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    fn start(profile: &Path) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        // The driver is ready when /status says so. Count attempts, not time.
        let mut ready = false;
        for _ in 0..200 {
            if let Ok(v) = http(port, "GET", "/status", None)
                && v["ready"] == true
            {
                ready = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
        };
        assert!(ready, "chromedriver did not come up on port {port}");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--window-size=1280,1400",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let v = http(port, "POST", "/session", Some(&caps)).expect("new session");
        browser.session = v["sessionId"].as_str().unwrap().to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        // WebDriver wants a JSON object with every POST, if only an empty one.
        let body = body.or_else(|| (method == "POST").then(|| json!({})));
        http(self.port, method, &path, body.as_ref()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn script(&self, js: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }

    /// Console messages since the last call.
    fn console(&self) -> Vec<Value> {
        self.call("POST", "/se/log", Some(json!({"type": "browser"})))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Rows of a report table that are not hidden by the search.
fn visible_rows(b: &Browser, table: &str) -> u64 {
    b.script(&format!(
        "return Array.prototype.filter.call(document.querySelector('table[data-table={table}]').tBodies[0].rows, \
         function (tr) {{ return getComputedStyle(tr).display !== 'none'; }}).length;"
    ))
    .as_u64()
    .unwrap()
}

/// A workspace whose spec reads `n` customers from a CSV file.
fn long_plan(n: usize) -> Workspace {
    let ws = Workspace::empty();
    let mut csv = String::from("id,name\n");
    for i in 0..n {
        csv.push_str(&format!("{i},Customer {i:06}\n"));
    }
    ws.write("specs/customers.csv", &csv);
    ws.write(
        "specs/customers.yaml",
        "version: 1\nresource: customers\ntarget:\n  table: customers\n  fields:\n    name: { type: text }\n\
         sources:\n  crm:\n    file: customers.csv\n    id: id\n    fields: { name: name }\n",
    );
    ws
}

#[test]
#[cfg_attr(
    not(reconcile_test_browser),
    ignore = "install Debian's chromium and chromium-driver to run"
)]
fn the_html_report_works_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("RECONCILE_REQUIRE_BROWSER").is_none(),
            "RECONCILE_REQUIRE_BROWSER is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!(
            "note: skipping the browser test: install Debian's `chromium` and `chromium-driver`"
        );
        return;
    }
    // The seed, with a threshold high enough that some pairs fall into the review band.
    let ws = Workspace::seed();
    ws.edit("specs/customers.yaml", "threshold: 0.85", "threshold: 0.99");
    let run = ws.run(&["plan", "--json", "--html", "report.html"]).ok();
    let plan = run.json();
    assert!(run.stderr.contains("Wrote the report to report.html"));
    let html = ws.read("report.html");
    std::fs::write(artefacts().join("report.html"), &html).unwrap();
    let review = plan["summary"]["review"].as_u64().unwrap();
    assert!(review > 0, "the scenario needs pairs to review");

    let b = Browser::start(&ws.path("chromium-profile"));
    let url = format!("file://{}", ws.path("report.html").display());
    b.call("POST", "/url", Some(json!({ "url": url })));

    // No console errors, and the page asked for nothing over the network.
    let errors: Vec<Value> = b
        .console()
        .into_iter()
        .filter(|m| m["level"] == "SEVERE" || m["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert_eq!(
        b.script("return performance.getEntriesByType('resource').length;"),
        0,
        "the report loads nothing"
    );
    // The console is really read: an error raised on purpose shows up.
    b.script("console.error('reconcile-probe');");
    assert!(
        b.console().iter().any(|m| m["message"]
            .as_str()
            .unwrap_or("")
            .contains("reconcile-probe")),
        "console errors are not being captured"
    );

    // The counts shown are the plan's.
    let shown = b.script(
        "var o = {}; document.querySelectorAll('.card .count').forEach(function (e) { \
         o[e.getAttribute('data-kind')] = Number(e.textContent.replace(/,/g, '')); }); return o;",
    );
    let s = &plan["summary"];
    for (kind, key) in [
        ("create", "create"),
        ("update", "update"),
        ("delete", "delete"),
        ("no-op", "no_op"),
        ("excluded", "excluded"),
        ("review", "review"),
    ] {
        assert_eq!(shown[kind], s[key], "card `{kind}` in {shown}");
    }
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(visible_rows(&b, "changes"), changes.len() as u64);
    assert_eq!(
        visible_rows(&b, "excluded"),
        s["excluded"].as_u64().unwrap()
    );
    assert_eq!(visible_rows(&b, "review"), review);
    assert_eq!(
        b.script("return document.getElementById('verdict').textContent;"),
        format!(
            "Plan: {} to add, {} to change, {} to destroy.",
            s["create"], s["update"], s["delete"]
        )
    );
    // Per-comparison contributions are on the page for every link.
    let links = b
        .script("return document.querySelectorAll('#clusters .link').length;")
        .as_u64()
        .unwrap();
    let term_tables = b
        .script("return document.querySelectorAll('#clusters .link + table.terms').length;")
        .as_u64()
        .unwrap();
    assert!(links > 0);
    assert_eq!(links, term_tables, "each link shows its comparisons");

    // Typing in the search box filters the rows, everywhere.
    let search = b.element("#search");
    b.call(
        "POST",
        &format!("/element/{search}/value"),
        Some(json!({"text": "maltos"})),
    );
    let want = changes
        .iter()
        .filter(|c| c.to_string().to_lowercase().contains("maltos"))
        .count() as u64;
    assert!(want >= 1 && want < changes.len() as u64);
    assert_eq!(visible_rows(&b, "changes"), want);
    assert_eq!(
        b.script("return document.querySelector('#changes .shown').textContent;"),
        format!("{want} of {}", changes.len())
    );
    assert_eq!(
        visible_rows(&b, "excluded"),
        0,
        "no excluded record mentions it"
    );
    // Backspace, as a person would; the rows come back.
    b.call(
        "POST",
        &format!("/element/{search}/value"),
        Some(json!({"text": "\u{E003}".repeat("maltos".len())})),
    );
    assert_eq!(visible_rows(&b, "changes"), changes.len() as u64);

    // A click on "Address" sorts the changes by address.
    let head = b.element("table[data-table=changes] thead th:nth-child(2)");
    b.call("POST", &format!("/element/{head}/click"), None);
    let order = b.script(
        "return Array.prototype.map.call(document.querySelector('table[data-table=changes]').tBodies[0].rows, \
         function (tr) { return tr.cells[1].textContent.trim().toLowerCase(); });",
    );
    let order: Vec<String> = serde_json::from_value(order).unwrap();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);

    let screenshot = |name: &str| {
        let png = b.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let shot = artefacts().join(name);
        std::fs::write(&shot, png).unwrap();
        eprintln!("screenshot: {}", shot.display());
    };
    screenshot("report.png");
    b.script("document.getElementById('clusters').scrollIntoView();");
    screenshot("report-clusters.png");

    // A long plan: the first rows are laid out, the search looks through all of them, and
    // "Show all" shows the rest.
    let long = long_plan(700);
    long.run(&["plan", "--html", "report.html"]).ok();
    let url = format!("file://{}", long.path("report.html").display());
    b.call("POST", "/url", Some(json!({ "url": url })));
    assert_eq!(visible_rows(&b, "changes"), 500);
    assert_eq!(
        b.script("return document.querySelector('#changes .shown').textContent;"),
        "500 of 700"
    );
    let search = b.element("#search");
    b.call(
        "POST",
        &format!("/element/{search}/value"),
        Some(json!({"text": "customer 000654"})),
    );
    assert_eq!(
        visible_rows(&b, "changes"),
        1,
        "rows past the first 500 are searched"
    );
    b.call(
        "POST",
        &format!("/element/{search}/value"),
        Some(json!({"text": "\u{E003}".repeat("customer 000654".len())})),
    );
    assert_eq!(visible_rows(&b, "changes"), 500);
    let more = b.element("button.show-all[data-for=changes]");
    b.call("POST", &format!("/element/{more}/click"), None);
    assert_eq!(visible_rows(&b, "changes"), 700);
    assert_eq!(
        b.script("return document.querySelector('#changes .shown').textContent;"),
        "700 of 700"
    );

    let late: Vec<Value> = b
        .console()
        .into_iter()
        .filter(|m| m["level"] == "SEVERE")
        .collect();
    assert!(
        late.is_empty(),
        "console errors while searching and sorting: {late:#?}"
    );
}
