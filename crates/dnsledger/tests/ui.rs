//! The web UI in a real browser. `dnsledger demo` starts as a new user would start it (a
//! fresh store, on loopback, printing its URL and key); then `e2e/ui.test.mjs` drives
//! headless Debian Chromium through playwright-core: the key, searches by name and by CIDR,
//! pivots from an address to its names and on to a nameserver's domains, the timeline, the
//! exports, permalinks and errors (bad key, bad query, quota), with a screenshot of each step in this test's folder under
//! the target directory (`ui/screenshots`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::scratch_dir;
use common::server::add_key;

const ENSURE_DEPS: &str = "run scripts/ensure-deps test";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The demo ingests the bundled capture before it serves.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// The browser run takes about 10 s; this bounds a hang, not the normal run.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(180);
/// Steps of ui.test.mjs whose screenshots must exist: one for each check of the issue.
const SCREENSHOTS: [&str; 11] = [
    "bad-key",
    "keyboard-name-search",
    "permalink-reload",
    "bad-query",
    "cidr-search-and-load-more",
    "timeline",
    "pivot-ip-to-names",
    "pivot-nameserver-to-domains",
    "export-json-lines",
    "dnsdbq-command",
    "quota-exceeded",
];

#[test]
fn the_web_ui_works_in_a_real_browser() {
    let e2e = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    check_prerequisites(&e2e);
    let dir = scratch_dir("ui");
    let db = dir.join("db");
    let demo = Demo::start(&db);
    // A second key with a tiny daily quota (one search is a lookup and its summary: two
    // queries), for the quota error; the running demo picks it up within a second.
    let quota_key = add_key(&db, "two-a-day", &["--daily", "2"]);
    let screenshots = dir.join("screenshots");

    let started = Instant::now();
    let mut browser = Command::new("node")
        .arg("ui.test.mjs")
        .current_dir(&e2e)
        .env("URL", &demo.url)
        .env("KEY", &demo.key)
        .env("QUOTA_KEY", &quota_key)
        .env("SCREENSHOTS", &screenshots)
        .spawn()
        .unwrap_or_else(|e| panic!("node cannot run: {e} ({ENSURE_DEPS})"));
    let status = wait(&mut browser, BROWSER_TIMEOUT);
    assert!(
        status.success(),
        "the browser tests failed ({status}); screenshots in {}",
        screenshots.display()
    );

    for step in SCREENSHOTS {
        let shot = find_screenshot(&screenshots, step);
        let bytes = std::fs::read(&shot).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
            "{} is not a screenshot",
            shot.display()
        );
    }
    println!(
        "browser tests passed in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        screenshots.display()
    );
}

/// Node, the pinned playwright-core, Debian's Chromium, and dnsdbq (the test runs the
/// command line the page shows): missing is a failure that says how to get them.
fn check_prerequisites(e2e: &Path) {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|out| out.status.success()),
        "node is missing: the web UI tests need Node.js 20 or later ({ENSURE_DEPS})"
    );
    let pinned = package_version(&e2e.join("package.json"), "/dependencies/playwright-core");
    let installed_manifest = e2e.join("node_modules/playwright-core/package.json");
    assert!(
        installed_manifest.exists(),
        "{} is missing: e2e/node_modules needs `npm ci` ({ENSURE_DEPS})",
        installed_manifest.display()
    );
    let installed = package_version(&installed_manifest, "/version");
    assert_eq!(
        installed, pinned,
        "e2e/node_modules is stale: playwright-core {installed} installed, {pinned} pinned ({ENSURE_DEPS})"
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the web UI tests run Debian's chromium ({ENSURE_DEPS})"
    );
    assert!(
        Command::new("dnsdbq").arg("-v").output().is_ok(),
        "dnsdbq is missing ({ENSURE_DEPS})"
    );
}

/// A string field of a package.json, by JSON pointer.
fn package_version(manifest: &Path, pointer: &str) -> String {
    let text =
        std::fs::read_to_string(manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json.pointer(pointer)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("{} has no {pointer}", manifest.display()))
        .to_string()
}

/// `dnsledger demo --db DIR --listen 127.0.0.1:0`, killed when dropped.
struct Demo {
    child: Child,
    /// What it printed: `http://127.0.0.1:PORT/` and the API key.
    url: String,
    key: String,
}

impl Demo {
    fn start(db: &Path) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
            .args([
                "demo",
                "--db",
                db.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting dnsledger demo");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads the welcome text, then keeps draining stdout so the demo never blocks on it.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            let mut welcome = Welcome::default();
            for line in lines.by_ref() {
                if let Some(found) = welcome.read(&line) {
                    let _ = tx.send(found);
                    break;
                }
            }
            lines.for_each(drop);
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok((url, key)) => Demo { child, url, key },
            Err(_) => {
                let _ = child.kill();
                panic!("dnsledger demo printed no URL and key within {START_TIMEOUT:?}");
            }
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of the demo's welcome that a new user reads: where to go, and the key.
#[derive(Default)]
struct Welcome {
    url: Option<String>,
    key: Option<String>,
}

impl Welcome {
    /// Takes one line; (url, key) once both have been read.
    fn read(&mut self, line: &str) -> Option<(String, String)> {
        if let Some(url) = line.strip_prefix("dnsledger demo: serving the testbed's history at ") {
            self.url = Some(url.trim().to_string());
        }
        if let Some(key) = line.trim().strip_prefix("API key:") {
            self.key = Some(key.trim().to_string());
        }
        Some((self.url.clone()?, self.key.clone()?))
    }
}

/// Waits for a child, killing it after `timeout`.
fn wait(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser tests did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `NN-STEP.png` in the screenshot directory.
fn find_screenshot(dir: &Path, step: &str) -> PathBuf {
    let suffix = format!("-{step}.png");
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.ends_with(&suffix) && !name.contains("FAILED"))
        })
        .unwrap_or_else(|| panic!("no screenshot of step {step} in {}", dir.display()))
}
