//! A `dnsledger serve` of the tests' own: a store in a scratch directory, keys made with
//! `dnsledger keys add`, the server on a free loopback port, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{fixture, scratch_dir};

/// How long a server may take to print its URL.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub db: PathBuf,
    child: Child,
}

/// Runs the binary to completion; (status, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
        .args(args)
        .output()
        .expect("running dnsledger");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A store holding the testbed's attack capture (812 RRsets), in `scratch_dir(name)/db`.
pub fn testbed_store(name: &str) -> PathBuf {
    let db = scratch_dir(name).join("db");
    let (status, _, stderr) = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        "--root-hints",
        &fixture("testbed/root.hints"),
        &fixture("testbed/run3_attack.resolver_auth.pcap.gz"),
    ]);
    assert_eq!(status, 0, "ingest failed: {stderr}");
    db
}

/// Creates a key with `dnsledger keys add NAME ARGS...` and returns it.
pub fn add_key(db: &Path, name: &str, args: &[&str]) -> String {
    let mut all = vec!["keys", "--db", db.to_str().unwrap(), "add", name];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = run(&all);
    assert_eq!(status, 0, "keys add failed: {stderr}");
    let key = stdout.trim().to_string();
    assert!(key.starts_with("dnsl_"), "unexpected key output {stdout:?}");
    key
}

impl TestServer {
    /// `dnsledger serve --db DB --listen 127.0.0.1:0 EXTRA...`, once it says where it listens.
    pub fn start(db: &Path, extra: &[&str]) -> TestServer {
        TestServer::start_on(db, "127.0.0.1:0", extra)
    }

    /// The same on a given address (a server restarted where its clients expect it).
    pub fn start_on(db: &Path, listen: &str, extra: &[&str]) -> TestServer {
        let binary = Command::new(env!("CARGO_BIN_EXE_dnsledger"));
        TestServer::start_with(binary, db, listen, extra)
    }

    /// The same with `binary` a command that runs the dnsledger binary (in a network
    /// namespace, say).
    pub fn start_with(mut binary: Command, db: &Path, listen: &str, extra: &[&str]) -> TestServer {
        let mut child = binary
            .args(["serve", "--db", db.to_str().unwrap(), "--listen", listen])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting dnsledger serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("dnsledger serve printed no URL within {START_TIMEOUT:?}");
            }
        };
        let url = line
            .trim()
            .strip_prefix("dnsledger: serving ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        TestServer {
            url,
            db: db.to_path_buf(),
            child,
        }
    }

    /// The server's process id (to signal it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the server to exit by itself; its status.
    pub fn wait(mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `server`'s `/metrics` line `NAME VALUE` (0 when absent).
pub fn metric_value(server: &TestServer, name: &str) -> u64 {
    let (status, body) = http_get(&format!("{}/metrics", server.url), None);
    assert_eq!(status, 200);
    body.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
}

/// GET `url` with `key` (if any) in X-API-Key: (status, body). Refusals are answers too.
pub fn http_get(url: &str, key: Option<&str>) -> (u16, String) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build();
    get_with(agent.into(), url, key)
}

/// [`http_get`] of an `https://` URL whose certificate the PEM roots in `ca` sign.
pub fn https_get(url: &str, key: Option<&str>, ca: &Path) -> (u16, String) {
    let roots = dnsledger_submit::root_certs(ca).unwrap();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .build();
    get_with(agent.into(), url, key)
}

fn get_with(agent: ureq::Agent, url: &str, key: Option<&str>) -> (u16, String) {
    let mut request = agent.get(url);
    if let Some(key) = key {
        request = request.header("X-API-Key", key);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), body)
}
