//! The history store through the real binary: `ingest`, then every query form against
//! answers derived from the testbed's expected RRsets (never from the store itself).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::expect::{
    answers_from_json, expect_rrsets, expected, in_range, is_dns, rdata_answers, under, Answer,
};
use common::{fixture, run_sensor, scratch_dir, ExpectedRow};

const CAPTURE: &str = "testbed/run3_attack.resolver_auth.pcap.gz";

use common::server::run as dnsledger;

fn ingest(db: &Path, inputs: &[&str]) -> (i32, String) {
    let mut args = vec!["ingest", "--db", db.to_str().unwrap(), "--root-hints"];
    let hints = fixture("testbed/root.hints");
    args.push(&hints);
    args.extend_from_slice(inputs);
    let (status, _, stderr) = dnsledger(&args);
    (status, stderr)
}

/// A store holding the attack capture, built once per test that asks.
fn testbed_store(name: &str) -> std::path::PathBuf {
    let dir = scratch_dir(name).join("db");
    let (status, stderr) = ingest(&dir, &[&fixture(CAPTURE)]);
    assert_eq!(status, 0, "{stderr}");
    dir
}

fn query(db: &Path, args: &[&str]) -> Vec<Answer> {
    let mut all = vec!["query", "--db", db.to_str().unwrap(), "-j", "-l", "0"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = dnsledger(&all);
    assert_eq!(status, 0, "query {args:?}: {stderr}");
    answers_from_json(&stdout)
}

#[test]
fn rrset_lookups_answer_what_the_expected_rrsets_imply() {
    let db = testbed_store("rrset_lookups");
    let cases: Vec<(Vec<&str>, Vec<Answer>)> = vec![
        (
            vec!["-r", "*.oscar-secure.org"],
            expect_rrsets(|r| is_dns(r) && under(&r.rrname, "oscar-secure.org.")),
        ),
        (
            vec!["-r", "www.*"],
            expect_rrsets(|r| is_dns(r) && r.rrname.starts_with("www.")),
        ),
        (
            vec!["-r", "target-one.com/NS/com."],
            expect_rrsets(|r| {
                r.rrname == "target-one.com."
                    && r.rrtype == "NS"
                    && r.bailiwick.as_deref() == Some("com.")
            }),
        ),
        (
            vec!["-r", "*.org", "-t", "ANY-DNSSEC"],
            expect_rrsets(|r| !is_dns(r) && under(&r.rrname, "org.")),
        ),
        (
            vec!["-r", "*.papa-signed.org/RRSIG"],
            expect_rrsets(|r| r.rrtype == "RRSIG" && under(&r.rrname, "papa-signed.org.")),
        ),
    ];
    for (args, want) in cases {
        assert!(
            !want.is_empty(),
            "{args:?}: the expected answer must not be empty"
        );
        assert_eq!(query(&db, &args), want, "{args:?}");
    }
}

#[test]
fn rdata_lookups_answer_what_the_expected_rrsets_imply() {
    let db = testbed_store("rdata_lookups");
    let rows = expected();
    let v4 = rdata_answers(&rows, |r, rdata| {
        r.rrtype == "A" && in_range(rdata, "192.0.2.0", "192.0.2.255")
    });
    assert!(!v4.is_empty());
    assert_eq!(query(&db, &["-i", "192.0.2.0/24"]), v4);
    let v6 = rdata_answers(&rows, |r, rdata| {
        r.rrtype == "AAAA"
            && in_range(
                rdata,
                "2001:db8::",
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            )
    });
    assert!(!v6.is_empty());
    assert_eq!(query(&db, &["-i", "2001:db8::/32"]), v6);
    let ns = rdata_answers(&rows, |r, rdata| {
        r.rrtype == "NS" && rdata == "ns1.oscar-secure.org."
    });
    assert!(!ns.is_empty());
    assert_eq!(query(&db, &["-n", "ns1.oscar-secure.org/NS"]), ns);
}

#[test]
fn time_fences_and_summarize_follow_the_expected_rows() {
    let db = testbed_store("fences");
    let rows = expected();
    let firsts: Vec<i64> = rows.iter().map(|r| r.time_first.floor() as i64).collect();
    let middle = (firsts.iter().min().unwrap() + firsts.iter().max().unwrap()) / 2;
    let middle_text = middle.to_string();
    let dns_under_com = |r: &ExpectedRow| is_dns(r) && under(&r.rrname, "com.");
    let late = expect_rrsets(|r| dns_under_com(r) && r.time_first.floor() as i64 >= middle);
    assert!(!late.is_empty());
    assert_eq!(query(&db, &["-r", "*.com", "-A", &middle_text, "-c"]), late);
    let early = expect_rrsets(|r| dns_under_com(r) && r.time_first.floor() as i64 <= middle);
    assert_eq!(query(&db, &["-r", "*.com", "-B", &middle_text]), early);

    let all = expect_rrsets(dns_under_com);
    let (status, stdout, _) = dnsledger(&[
        "query",
        "--db",
        db.to_str().unwrap(),
        "-r",
        "*.com",
        "-V",
        "summarize",
        "-j",
    ]);
    assert_eq!(status, 0);
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["num_results"].as_u64(), Some(all.len() as u64));
    assert_eq!(
        summary["count"].as_u64(),
        Some(all.iter().map(|a| a.4).sum::<u64>())
    );
    assert_eq!(
        summary["time_first"].as_i64(),
        all.iter().map(|a| a.5).min()
    );
}

#[test]
fn text_output_is_dig_like_and_empty_answers_and_bad_queries_say_so() {
    let db = testbed_store("text");
    let (status, stdout, _) = dnsledger(&[
        "query",
        "--db",
        db.to_str().unwrap(),
        "-r",
        "target-one.com/NS/com.",
    ]);
    assert_eq!(status, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with(";; record times: 20"), "{stdout}");
    assert!(
        lines[1].starts_with(";; count: ") && lines[1].ends_with("; bailiwick: com."),
        "{stdout}"
    );
    assert!(
        lines.contains(&"target-one.com.  NS  ns1.target-one.com."),
        "{stdout}"
    );
    let (status, stdout, stderr) = dnsledger(&[
        "query",
        "--db",
        db.to_str().unwrap(),
        "-r",
        "nothing.invalid",
    ]);
    assert_eq!((status, stdout.as_str()), (0, ""));
    assert!(stderr.contains("no results"));
    let (status, _, stderr) =
        dnsledger(&["query", "--db", db.to_str().unwrap(), "-r", "www.*.com"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("middle"), "{stderr}");
    let (status, stdout, _) = dnsledger(&[
        "query",
        "--db",
        db.to_str().unwrap(),
        "-r",
        "*.com",
        "-p",
        "csv",
        "-l",
        "3",
    ]);
    assert_eq!(status, 0);
    assert_eq!(
        stdout.lines().next(),
        Some("time_first,time_last,zone_first,zone_last,count,bailiwick,rrname,rrtype,rdata")
    );
}

fn dump(db: &Path) -> String {
    let (status, stdout, stderr) = dnsledger(&["dump", "--db", db.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
    stdout
}

#[test]
fn split_reverse_order_and_reingested_cof_give_the_same_dump() {
    let dir = scratch_dir("split_store");
    let whole = testbed_store("split_store_whole");
    let reference = dump(&whole);
    assert_eq!(reference.lines().count(), 812);

    let cof = dir.join("sensor.jsonl");
    let run = run_sensor(&[
        "--root-hints",
        &fixture("testbed/root.hints"),
        "--read",
        &fixture(CAPTURE),
        "--output",
        cof.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0);
    let from_cof = dir.join("from_cof");
    assert_eq!(ingest(&from_cof, &[cof.to_str().unwrap()]).0, 0);
    assert_eq!(dump(&from_cof), reference, "COF re-ingested");

    let text = std::fs::read_to_string(&cof).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = lines.split_at(lines.len() / 3);
    let parts = [dir.join("b.jsonl"), dir.join("a.jsonl")];
    std::fs::write(&parts[0], b.join("\n") + "\n").unwrap();
    std::fs::write(&parts[1], a.join("\n") + "\n").unwrap();
    let split = dir.join("split");
    assert_eq!(
        ingest(
            &split,
            &[parts[0].to_str().unwrap(), parts[1].to_str().unwrap()]
        )
        .0,
        0
    );
    assert_eq!(dump(&split), reference, "pieces in reverse order");

    // Small batches leave merge operands on several levels; compacting merges them all.
    let compacted = dir.join("compacted");
    let pieces = [parts[0].to_str().unwrap(), parts[1].to_str().unwrap()];
    let (status, stderr) = ingest(
        &compacted,
        &[&pieces[..], &["--max-rrsets", "50", "--compact"]].concat(),
    );
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("compacted the store in"), "{stderr}");
    assert_eq!(dump(&compacted), reference, "compacted after small batches");
}

#[test]
fn ingesting_the_same_input_twice_counts_it_once() {
    let db = testbed_store("twice");
    let before = dump(&db);
    let (status, stderr) = ingest(&db, &[&fixture(CAPTURE)]);
    assert_eq!(status, 0);
    assert!(stderr.contains("already ingested"), "{stderr}");
    assert_eq!(dump(&db), before);
    let (status, stdout, _) = dnsledger(&["stats", "--db", db.to_str().unwrap(), "--verify"]);
    assert_eq!(status, 0, "{stdout}");
    assert!(
        stdout.contains("rrset_rows 812") && stdout.contains("verify ok"),
        "{stdout}"
    );
}

#[test]
fn an_ingest_killed_at_any_moment_resumes_to_the_same_store() {
    let reference = dump(&testbed_store("killed_reference"));
    let capture = fixture(CAPTURE);
    killed_at_moments_then_resumed("killed", &[&capture], &[&capture], &reference);
}

/// When a round kills the ingest: some time after it starts (while it creates the store and
/// examines its inputs, or early in its batches), or some time after its first rows are
/// visible to a reader, so that some kills land among the batches whatever the machine's
/// speed.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    AfterStart(u64),
    AfterFirstRows(u64),
}

const KILL_MOMENTS: [KillAt; 6] = [
    KillAt::AfterStart(15),
    KillAt::AfterStart(40),
    KillAt::AfterStart(150),
    KillAt::AfterFirstRows(0),
    KillAt::AfterFirstRows(50),
    KillAt::AfterFirstRows(200),
];

/// Runs `ingest INPUTS` in small batches (`--max-rrsets 40`) and SIGKILLs it at each of
/// `KILL_MOMENTS`; after each kill the store must verify, and `ingest RERUN` must complete
/// it to `reference`. At least one rerun must have resumed a partly written input.
fn killed_at_moments_then_resumed(name: &str, inputs: &[&str], rerun: &[&str], reference: &str) {
    let hints = fixture("testbed/root.hints");
    let mut resumed = 0;
    for (round, moment) in KILL_MOMENTS.into_iter().enumerate() {
        let db = scratch_dir(&format!("{name}_{round}")).join("db");
        let db_text = db.to_str().unwrap().to_string();
        let small_batches = |inputs: &[&str]| {
            let mut args = vec!["ingest", "--db", &db_text, "--root-hints", &hints];
            args.extend(["--max-rrsets", "40"]);
            args.extend_from_slice(inputs);
            args.into_iter().map(String::from).collect::<Vec<_>>()
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_dnsledger"))
            .args(small_batches(inputs))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay_ms = match moment {
            KillAt::AfterStart(delay_ms) => delay_ms,
            KillAt::AfterFirstRows(delay_ms) => {
                wait_for_rows(&db, &mut child);
                delay_ms
            }
        };
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        if db.join("CURRENT").exists() {
            let (status, stdout, _) = dnsledger(&["stats", "--db", &db_text, "--verify"]);
            assert_eq!(status, 0, "round {round}: {stdout}");
            assert!(stdout.contains("verify ok"), "round {round}: {stdout}");
        }
        let rerun_args = small_batches(rerun);
        let rerun_args: Vec<&str> = rerun_args.iter().map(String::as_str).collect();
        let (status, _, stderr) = dnsledger(&rerun_args);
        assert_eq!(status, 0, "round {round}: {stderr}");
        assert_eq!(dump(&db), reference, "round {round} (killed {moment:?} ms)");
        resumed += usize::from(stderr.contains("resumed after"));
    }
    assert!(resumed > 0, "no kill landed among the batches");
}

/// Waits until a reader sees rows in the store the child is writing, or the child is gone.
fn wait_for_rows(db: &Path, child: &mut std::process::Child) {
    let db_text = db.to_str().unwrap();
    while child.try_wait().unwrap().is_none() {
        if db.join("CURRENT").exists() {
            let (_, stdout, _) = dnsledger(&["stats", "--db", db_text]);
            if stdout
                .lines()
                .any(|l| l.starts_with("rrset_rows ") && l != "rrset_rows 0")
            {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The attack capture cut into three pcap files at 1/3 and 2/3 of its records, in capture
/// order: queries and their responses, and the referrals that teach the sensor who serves
/// which zone, land on both sides of the cuts.
fn split_capture(dir: &Path) -> Vec<String> {
    let mut bytes = Vec::new();
    let file = std::fs::File::open(fixture(CAPTURE)).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .unwrap();
    let (header, records) = pcap_records(&bytes);
    let cuts = [0, records.len() / 3, records.len() * 2 / 3, records.len()];
    cuts.windows(2)
        .enumerate()
        .map(|(index, cut)| {
            let path = dir.join(format!("piece{}.pcap", index + 1));
            let content = [header, &records[cut[0]..cut[1]].concat()].concat();
            std::fs::write(&path, content).unwrap();
            path.to_string_lossy().into_owned()
        })
        .collect()
}

/// A classic little-endian pcap's global header and its records (header and data each).
fn pcap_records(bytes: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let le_u32 = |at: &[u8]| u32::from_le_bytes(at[..4].try_into().unwrap());
    assert_eq!(le_u32(bytes), 0xa1b2_c3d4, "a classic little-endian pcap");
    let (header, mut rest) = bytes.split_at(24);
    let mut records = Vec::new();
    while !rest.is_empty() {
        let captured = le_u32(&rest[8..]) as usize;
        let (record, tail) = rest.split_at(16 + captured);
        records.push(record);
        rest = tail;
    }
    (header, records)
}

#[test]
fn a_capture_split_in_three_and_given_in_any_order_gives_the_whole_dump() {
    let reference = dump(&testbed_store("split_capture_whole"));
    let dir = scratch_dir("split_capture");
    let pieces = split_capture(&dir);
    let [first, second, third] = [&pieces[0], &pieces[1], &pieces[2]].map(String::as_str);
    let in_capture_order = format!("3 captures read as one stream ({first}, {second}, {third})");
    for (name, order) in [
        ("reverse", [third, second, first]),
        ("shuffled", [second, third, first]),
    ] {
        let db = dir.join(name);
        let (status, stderr) = ingest(&db, &order);
        assert_eq!(status, 0, "{name}: {stderr}");
        assert!(stderr.contains(&in_capture_order), "{name}: {stderr}");
        assert!(
            stderr.contains("3 inputs read (3 captures as one stream)"),
            "{name}: {stderr}"
        );
        assert_eq!(dump(&db), reference, "pieces in {name} order");
    }
    // One command per piece loses what crosses the cuts: the one stream is what matters.
    let apart = dir.join("apart");
    for piece in [first, second, third] {
        assert_eq!(ingest(&apart, &[piece]).0, 0);
    }
    assert_ne!(dump(&apart), reference, "the cuts split pairs or referrals");
}

#[test]
fn the_pieces_of_an_ingested_capture_set_are_already_ingested_together_and_alone() {
    let dir = scratch_dir("split_again");
    let pieces = split_capture(&dir);
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let db = dir.join("db");
    assert_eq!(ingest(&db, &[pieces[2], pieces[0], pieces[1]]).0, 0);
    let before = dump(&db);
    let (status, stderr) = ingest(&db, &pieces);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stderr.matches("already ingested").count(), 3, "{stderr}");
    assert!(stderr.contains("0 inputs read, 3 already"), "{stderr}");
    assert_eq!(dump(&db), before);
    let (status, stderr) = ingest(&db, &[pieces[1]]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("already ingested"), "{stderr}");
    assert_eq!(dump(&db), before);
}

#[test]
fn a_truncated_piece_is_reported_and_the_stream_goes_on_with_the_next() {
    let dir = scratch_dir("split_truncated");
    let pieces = split_capture(&dir);
    let first = std::fs::read(&pieces[0]).unwrap();
    let (header, records) = pcap_records(&first);
    let (last, before_last) = records.split_last().unwrap();
    let clean_end = [header, &before_last.concat()].concat();
    let cut_in_a_record = [&clean_end[..], &last[..last.len() / 2]].concat();
    let clean_path = dir.join("clean_end.pcap");
    let cut_path = dir.join("cut_in_a_record.pcap");
    std::fs::write(&clean_path, clean_end).unwrap();
    std::fs::write(&cut_path, cut_in_a_record).unwrap();
    let [clean_path, cut_path] = [&clean_path, &cut_path].map(|p| p.to_str().unwrap());

    let damaged = dir.join("damaged");
    let (status, stderr) = ingest(&damaged, &[&pieces[2], cut_path, &pieces[1]]);
    assert_eq!(status, 3, "{stderr}");
    assert!(
        stderr.contains(&format!("warning: {cut_path}: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 inputs read (3 captures as one stream)"),
        "{stderr}"
    );
    let clean = dir.join("clean");
    let (status, stderr) = ingest(&clean, &[&pieces[2], clean_path, &pieces[1]]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        dump(&damaged),
        dump(&clean),
        "the same stream after the damage"
    );
}

#[test]
fn a_capture_set_killed_at_any_moment_resumes_to_the_whole_dump() {
    let reference = dump(&testbed_store("killed_set_reference"));
    let dir = scratch_dir("killed_set_pieces");
    let pieces = split_capture(&dir);
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let reversed = [pieces[2], pieces[1], pieces[0]];
    // The rerun names the pieces in another order: the set, and its batches, are the same.
    killed_at_moments_then_resumed("killed_set", &reversed, &pieces, &reference);
}

#[test]
fn readers_query_while_one_writer_ingests() {
    let db = scratch_dir("concurrent").join("db");
    let db_text = db.to_str().unwrap().to_string();
    let capture = fixture(CAPTURE);
    let mut writer = spawn_small_batch_ingest(&db, std::process::Stdio::null());
    let mut counts = Vec::new();
    while writer.try_wait().unwrap().is_none() {
        if !db.join("CURRENT").exists() {
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        let (status, stdout, stderr) =
            dnsledger(&["query", "--db", &db_text, "-r", "*.com", "-j", "-l", "0"]);
        assert_eq!(status, 0, "a reader beside the writer: {stderr}");
        counts.push(stdout.lines().count());
    }
    assert!(writer.wait().unwrap().success());
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "each reader sees at least what the one before saw: {counts:?}"
    );
    let (second_writer, _) = ingest(&db, &[&capture]);
    assert_eq!(second_writer, 0, "a writer after the first one");
    let final_rows = query(&db, &["-r", "*.com"]).len();
    assert!(counts.iter().all(|c| *c <= final_rows));
}

#[test]
fn ctrl_c_reports_what_is_durable_and_the_rerun_completes_the_store() {
    let reference = dump(&testbed_store("interrupted_reference"));
    let db = scratch_dir("interrupted").join("db");
    let capture = fixture(CAPTURE);
    let child = spawn_small_batch_ingest(&db, std::process::Stdio::piped());
    while !db.join("CURRENT").exists() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::thread::sleep(std::time::Duration::from_millis(30));
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("written (durable)"),
        "the summary is printed: {stderr}"
    );
    if output.status.code() == Some(130) {
        assert!(stderr.contains("interrupted"), "{stderr}");
    } else {
        assert_eq!(
            output.status.code(),
            Some(0),
            "finished before the signal: {stderr}"
        );
    }
    assert_eq!(ingest(&db, &[&capture]).0, 0);
    assert_eq!(dump(&db), reference);
}

/// Starts an ingest of the attack capture in batches of 20 RRsets (many durable batches, so
/// that a signal or a reader lands between them).
fn spawn_small_batch_ingest(db: &Path, stderr: std::process::Stdio) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dnsledger"))
        .args([
            "ingest",
            "--db",
            db.to_str().unwrap(),
            "--root-hints",
            &fixture("testbed/root.hints"),
        ])
        .args(["--max-rrsets", "20", &fixture(CAPTURE)])
        .stderr(stderr)
        .spawn()
        .unwrap()
}
