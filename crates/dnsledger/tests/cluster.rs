//! Scale-out end to end: a three-node NATS JetStream cluster on loopback ports (stream
//! replication 3), three sensors publishing the testbed captures with `--output nats://`,
//! two store nodes as shards and one replica consuming with `serve --consume`; one NATS node
//! and one store node are killed (SIGKILL) and restarted mid-run. At the end the replica
//! dumps exactly what a store written directly by the same sensors holds, the two shards
//! together hold exactly that, split by partition, and nothing was lost or applied twice;
//! a router over the two shards (`serve --shards`) answers every query form exactly as a
//! server on the single-box store.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::router::{assert_same_answers, every_query_form, router_key, shards_file, ShardLine};
use common::server::{add_key, http_get, metric_value as metric, run, TestServer};
use common::{fixture, scratch_dir};

/// (sensor id, capture): the third taps the same traffic as the first (two sensors on one
/// link), so counts add up across sensors.
const SENSORS: [(&str, &str); 3] = [
    ("tap-a", "testbed/run3_attack.resolver_auth.pcap.gz"),
    ("tap-b", "testbed/run1_qmin_on.resolver.dnstap.gz"),
    ("tap-c", "testbed/run3_attack.resolver_auth.pcap.gz"),
];
/// Small flushes: each capture becomes dozens of batches over both partitions.
const MAX_RRSETS: &str = "60";
const PARTITIONS: u32 = 2;
const TOKEN: &str = "test-token-not-secret";
/// How long the store nodes may take to catch up at the end.
const CONVERGE: Duration = Duration::from_secs(180);

/// A free loopback port (the listener is closed again: the server binds it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One nats-server of the cluster, killed when dropped.
struct NatsNode {
    config: PathBuf,
    client_port: u16,
    child: Child,
}

impl NatsNode {
    fn start(config: &Path, client_port: u16) -> NatsNode {
        let child = Command::new("nats-server")
            .arg("--config")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (scripts/ensure-deps test)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", client_port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        NatsNode {
            config: config.to_path_buf(),
            client_port,
            child,
        }
    }

    /// SIGKILL, then the same node again with its JetStream directory.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn restart(&mut self) {
        *self = NatsNode::start(&self.config, self.client_port);
    }
}

impl Drop for NatsNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three nodes named n0..n2, each routing to the others, JetStream on, a token required.
fn nats_cluster(dir: &Path) -> (Vec<NatsNode>, String) {
    let client_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let nodes = (0..3)
        .map(|i| {
            let routes: Vec<String> = (0..3)
                .filter(|&j| j != i)
                .map(|j| format!("nats-route://127.0.0.1:{}", route_ports[j]))
                .collect();
            let config = format!(
                "server_name: n{i}\nlisten: 127.0.0.1:{}\n\
                 authorization {{ token: \"{TOKEN}\" }}\n\
                 jetstream {{ store_dir: \"{}\", max_memory_store: 64MB, max_file_store: 1GB }}\n\
                 cluster {{ name: dnsledger-test, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                client_ports[i],
                dir.join(format!("n{i}")).display(),
                route_ports[i],
                routes.join(", "),
            );
            let path = dir.join(format!("n{i}.conf"));
            std::fs::write(&path, config).unwrap();
            path
        })
        .collect::<Vec<_>>()
        .iter()
        .zip(&client_ports)
        .map(|(config, &port)| NatsNode::start(config, port))
        .collect();
    let url = client_ports
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    (nodes, format!("nats://{url}"))
}

fn nats_options(credentials: &Path) -> Vec<String> {
    vec![
        "--nats-credentials".into(),
        credentials.to_str().unwrap().into(),
        "--nats-replicas".into(),
        "3".into(),
        "--nats-partitions".into(),
        PARTITIONS.to_string(),
    ]
}

/// `dnsledger sensor` reading `capture` as `sensor`, its output `output` (plus `extra`).
fn run_sensor(sensor: &str, capture: &str, output: &str, extra: &[String]) {
    let started = Instant::now();
    let result = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
        .args(["sensor", "--read", &fixture(capture), "--root-hints"])
        .arg(fixture("testbed/root.hints"))
        .args(["--max-rrsets", MAX_RRSETS, "--sensor-id", sensor])
        .args(["--output", output])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{sensor}: {stderr}");
    assert!(
        !stderr.contains("batches wait in the spool"),
        "{sensor} left batches behind: {stderr}"
    );
    eprintln!("{sensor} done in {:?}", started.elapsed());
}

/// A store node: `serve --consume` on `db` as node `name`, owning `partitions` (all: none).
fn store_node(
    db: &Path,
    url: &str,
    name: &str,
    partitions: Option<&str>,
    options: &[String],
) -> TestServer {
    let mut args: Vec<String> = vec!["--consume".into(), url.into(), "--node".into(), name.into()];
    if let Some(list) = partitions {
        args.extend(["--partitions".into(), list.into()]);
    }
    args.extend(options.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start(db, &args)
}

fn dump(db: &Path) -> String {
    let (status, stdout, stderr) = run(&["dump", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "dump failed: {stderr}");
    stdout
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// Waits until `done` holds, or fails with `what`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + CONVERGE;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {CONVERGE:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn shards_and_a_replica_end_with_exactly_the_single_box_store_through_node_failures() {
    let dir = scratch_dir("cluster");
    let credentials = dir.join("nats.credentials");
    std::fs::write(&credentials, format!("token={TOKEN}\n")).unwrap();
    let options = nats_options(&credentials);

    // What the single box makes of the same three sensors: each writing the store itself.
    let reference_db = dir.join("reference");
    for (sensor, capture) in SENSORS {
        let output = format!("db:{}", reference_db.display());
        run_sensor(sensor, capture, &output, &[]);
    }
    let reference = dump(&reference_db);
    assert!(
        reference.lines().count() > 800,
        "{}",
        reference.lines().count()
    );

    let (mut nats, url) = nats_cluster(&dir);
    let shard_dbs = [dir.join("shard0"), dir.join("shard1")];
    let shard_keys = shard_dbs.each_ref().map(|db| router_key(db));
    let replica_db = dir.join("replica");
    let shard0 = store_node(&shard_dbs[0], &url, "shard0", Some("0"), &options);
    let mut shard1 = store_node(&shard_dbs[1], &url, "shard1", Some("1"), &options);
    let replica = store_node(&replica_db, &url, "replica", None, &options);

    let sensor_options = |sensor: &str| {
        let mut extra = options.clone();
        extra.extend([
            "--spool".into(),
            dir.join(format!("spool-{sensor}")).to_str().unwrap().into(),
            "--drain-timeout".into(),
            "90".into(),
        ]);
        extra
    };
    let (sensor, capture) = SENSORS[0];
    run_sensor(sensor, capture, &url, &sensor_options(sensor));

    // Mid-run: a NATS node and a store node die without warning.
    nats[1].kill();
    drop(shard1);
    let (sensor, capture) = SENSORS[1];
    run_sensor(sensor, capture, &url, &sensor_options(sensor));
    nats[1].restart();
    shard1 = store_node(&shard_dbs[1], &url, "shard1", Some("1"), &options);
    let (sensor, capture) = SENSORS[2];
    run_sensor(sensor, capture, &url, &sensor_options(sensor));

    wait_for("the replica holds the single-box store", || {
        dump(&replica_db) == reference
    });
    wait_for("the shards together hold the single-box store", || {
        let mut both = sorted_lines(&dump(&shard_dbs[0]));
        both.extend(sorted_lines(&dump(&shard_dbs[1])));
        both.sort();
        both == sorted_lines(&reference)
    });
    // Each shard holds its own partitions only: whole registered domains.
    for (partition, db) in shard_dbs.iter().enumerate() {
        let rows = dump(db);
        assert!(
            rows.lines().count() > 100,
            "shard {partition} is nearly empty"
        );
        for line in rows.lines() {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let owner = row["rrname"].as_str().unwrap();
            assert_eq!(
                dnsledger_cluster::partition::partition_of(owner, PARTITIONS),
                partition as u32,
                "{line}"
            );
        }
    }

    // The router over the two shards answers every query form as the single box does.
    let router_db = dir.join("router");
    let router_analyst = add_key(&router_db, "analyst", &[]);
    let reference_analyst = add_key(&reference_db, "analyst", &[]);
    let file = shards_file(
        &dir,
        &[
            ShardLine::at("s0", &shard0.url, &shard_keys[0]),
            ShardLine::at("s1", &shard1.url, &shard_keys[1]),
        ],
    );
    let router = TestServer::start(&router_db, &["--shards", file.to_str().unwrap()]);
    let single_box = TestServer::start(&reference_db, &[]);
    assert_same_answers(
        (&router, &router_analyst),
        (&single_box, &reference_analyst),
        &every_query_form(&reference),
    );

    let applied = |node: &TestServer| metric(node, "dnsledger_cluster_batches_applied_total");
    let replica_batches = applied(&replica);
    assert!(replica_batches > 50, "{replica_batches} batches");
    assert_eq!(
        metric(&replica, "dnsledger_cluster_batches_rejected_total"),
        0
    );
    // The lag is a gauge: it comes back down to 0 once the node has caught up.
    let (_, exposition) = http_get(&format!("{}/metrics", replica.url), None);
    assert!(
        exposition.contains("# TYPE dnsledger_cluster_lag_batches gauge\n"),
        "{exposition}"
    );
    wait_for("the replica's lag gauge to read 0", || {
        let (_, exposition) = http_get(&format!("{}/metrics", replica.url), None);
        exposition.contains("\ndnsledger_cluster_lag_batches 0\n")
    });

    let status_report = || {
        let (status, report, stderr) = run(&[
            "cluster",
            "status",
            "--nats",
            &url,
            "--nats-credentials",
            credentials.to_str().unwrap(),
        ]);
        assert_eq!(status, 0, "{stderr}");
        report
    };
    // Every consumer ends with nothing pending or unacknowledged (an acknowledgement may
    // still be on its way when the stores already match).
    let mut report = String::new();
    wait_for("every consumer's lag to reach 0", || {
        report = status_report();
        [
            "consumer replica ",
            "consumer shard0-p0 ",
            "consumer shard1-p1 ",
        ]
        .iter()
        .all(|expected| {
            report
                .lines()
                .any(|l| l.starts_with(expected) && l.contains("lag 0 pending + 0 unacknowledged"))
        })
    });
    for (sensor, _) in SENSORS {
        assert!(
            report.contains(&format!("sensor {sensor}: last batch {sensor}/")),
            "{report}"
        );
    }
    assert_eq!(
        report.lines().filter(|l| l.starts_with("node n")).count(),
        3,
        "{report}"
    );
    let stream_batches: u64 = report
        .lines()
        .next()
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no batch count in {report}"));
    // Each batch is in the stream once (resends within the duplicate window are kept once)
    // and the replica applied each once: re-deliveries, if any, were duplicates.
    assert_eq!(replica_batches, stream_batches, "{report}");
    drop((shard0, shard1));
}

#[test]
fn a_sensor_spools_while_no_nats_server_answers_and_submit_replays_the_spool() {
    let dir = scratch_dir("cluster-spool");
    let credentials = dir.join("nats.credentials");
    std::fs::write(&credentials, format!("token={TOKEN}\n")).unwrap();
    let mut options = nats_options(&credentials);
    options[3] = "1".into(); // one node: one copy
    let (sensor, capture) = SENSORS[0];
    let spool = dir.join("spool");

    // Nothing listens yet: every batch waits in the spool, and the run says so.
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let mut extra = options.clone();
    extra.extend(["--spool".into(), spool.to_str().unwrap().into()]);
    extra.extend(["--drain-timeout".into(), "0".into()]);
    let output = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
        .args(["sensor", "--read", &fixture(capture), "--root-hints"])
        .arg(fixture("testbed/root.hints"))
        .args([
            "--max-rrsets",
            MAX_RRSETS,
            "--sensor-id",
            sensor,
            "--output",
            &url,
        ])
        .args(&extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("batches wait in the spool"), "{stderr}");
    let spooled = std::fs::read_dir(&spool)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "batch")
        })
        .count();
    assert!(spooled > 5, "{spooled} batches spooled");

    // A single JetStream node comes up, and a store node consuming everything.
    let config = dir.join("nats.conf");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:{port}\nauthorization {{ token: \"{TOKEN}\" }}\n\
             jetstream {{ store_dir: \"{}\" }}\n",
            dir.join("js").display()
        ),
    )
    .unwrap();
    let _nats = NatsNode::start(&config, port);
    let db = dir.join("node");
    let node = store_node(&db, &url, "solo", None, &options);
    let reference_db = dir.join("reference");
    // The single box after one more run of the same sensor.
    let reference_after_another_run = || {
        run_sensor(
            sensor,
            capture,
            &format!("db:{}", reference_db.display()),
            &[],
        );
        dump(&reference_db)
    };
    let applied = || metric(&node, "dnsledger_cluster_batches_applied_total");

    // `dnsledger submit` replays a NATS spool as it does an HTTP one.
    let mut args = vec!["submit".to_string(), "--server".into(), url.clone()];
    args.extend(["--spool".into(), spool.to_str().unwrap().into()]);
    args.extend(options.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, _, stderr) = run(&args);
    assert_eq!(status, 0, "{stderr}");
    let once = reference_after_another_run();
    wait_for("the store node holds the replayed spool", || {
        dump(&db) == once
    });
    assert_eq!(applied(), spooled as u64);

    // The next sensor run publishes at once; the store holds the capture twice over.
    let mut extra = options.clone();
    extra.extend(["--spool".into(), spool.to_str().unwrap().into()]);
    run_sensor(sensor, capture, &url, &extra);
    let twice = reference_after_another_run();
    wait_for("the store node holds both runs", || dump(&db) == twice);
    assert_eq!(applied(), 2 * spooled as u64, "each batch once");
}
