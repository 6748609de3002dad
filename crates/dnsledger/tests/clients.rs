//! The API clients people already use, unmodified, against `dnsledger serve` on loopback
//! with the testbed's store: dnsdb2 and pypdns (Python, from the venv that
//! `scripts/ensure-deps test` makes), Debian's dnsdbq, and schemathesis against the
//! server's own OpenAPI document. Every answer is compared with what the testbed's expected
//! RRsets imply (`common::expect`), never with the store. A missing tool fails the test:
//! a compatibility claim must not pass untested.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::expect::{
    answers_from_json, answers_from_values, circl_address_records, circl_name_records,
    expect_rdata, expect_rrsets, flex_rdata, flex_rrnames, in_range, is_dns, name_in_rdata,
    quiet_time, summary_of, under, Answer, FlexGroup,
};
use common::scratch_dir;
use common::server::{add_key, run, testbed_store, TestServer};
use serde::Deserialize;
use serde_json::{json, Value};

const ENSURE_DEPS: &str = "run scripts/ensure-deps test";
/// What schemathesis checks: no 5xx, and statuses, content types and bodies as documented.
const SCHEMATHESIS_CHECKS: &str = "not_a_server_error,status_code_conformance,\
                                   content_type_conformance,response_schema_conformance";

/// The venv of the Python clients: `$DNSLEDGER_PYENV`, by default where ensure-deps puts it.
fn python() -> PathBuf {
    let venv = std::env::var_os("DNSLEDGER_PYENV")
        .map_or_else(|| PathBuf::from("/var/tmp/dnsledger-pyenv"), PathBuf::from);
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: the client tests need the venv with dnsdb2, pypdns and \
         schemathesis ({ENSURE_DEPS})",
        python.display()
    );
    python
}

/// Runs one of the driver scripts in `tests/clients/` with `plan` on stdin; its JSON lines.
fn run_script<T: for<'de> Deserialize<'de>>(script: &str, plan: &Value) -> Vec<T> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let mut child = Command::new(python())
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {script}: {e} ({ENSURE_DEPS})"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(plan.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed (if a module is missing: {ENSURE_DEPS}):\n{stderr}"
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{script} printed {l:?}: {e}")))
        .collect()
}

/// A served testbed store with keys made from (name, `keys add` options), the `revoked`
/// ones revoked; the keys in that order. All before the server starts: it reads the key
/// file again at most once a second, so a later change could race the first requests.
fn serve_testbed(name: &str, keys: &[(&str, &str)], revoked: &[&str]) -> (TestServer, Vec<String>) {
    let db = testbed_store(&format!("clients_{name}"));
    let keys = keys
        .iter()
        .map(|(key_name, options)| {
            let options: Vec<&str> = options.split_whitespace().collect();
            add_key(&db, key_name, &options)
        })
        .collect();
    for key_name in revoked {
        let db = db.to_str().unwrap();
        let (status, _, stderr) = run(&["keys", "--db", db, "revoke", key_name]);
        assert_eq!(status, 0, "keys revoke {key_name}: {stderr}");
    }
    (TestServer::start(&db, &[]), keys)
}

// ---------------------------------------------------------------------------------------
// dnsdb2

/// What the dnsdb2 driver printed for one call.
#[derive(Debug, Deserialize)]
struct Outcome {
    result: Value,
    error: Option<String>,
    message: Option<String>,
}

impl Outcome {
    /// The record objects, after checking the call raised nothing.
    fn answers(&self, what: &str) -> Vec<Answer> {
        assert_eq!(self.error, None, "{what}: {:?}", self.message);
        answers_from_values(self.objects(what))
    }

    fn objects(&self, what: &str) -> &[Value] {
        self.result
            .as_array()
            .unwrap_or_else(|| panic!("{what}: not rows: {}", self.result))
    }
}

/// `client.METHOD(*args, **kwargs)` with `key`.
fn dnsdb2_call(key: &str, method: &str, args: Value, kwargs: Value) -> Value {
    json!({"key": key, "method": method, "args": args, "kwargs": kwargs})
}

/// A GET of `/dnsdb/v2/PATH` read with dnsdb2's SAF reader (forms without a client method).
fn saf_path(key: &str, path: &str) -> Value {
    dnsdb2_call(key, "saf_path", json!([path]), json!({}))
}

/// An assertion about one call's outcome; the string names the call.
type Verdict = Box<dyn Fn(&Outcome, &str)>;

struct Check {
    what: String,
    call: Value,
    verdict: Verdict,
}

fn check(what: impl Into<String>, call: Value, verdict: Verdict) -> Check {
    Check {
        what: what.into(),
        call,
        verdict,
    }
}

/// Runs every call in one Python process, then each check's verdict; the outcomes.
fn run_checks(server: &TestServer, checks: &[Check]) -> Vec<Outcome> {
    let calls: Vec<&Value> = checks.iter().map(|c| &c.call).collect();
    let outcomes: Vec<Outcome> = run_script(
        "dnsdb2_calls.py",
        &json!({"server": server.url, "calls": calls}),
    );
    assert_eq!(outcomes.len(), checks.len());
    for (check, outcome) in checks.iter().zip(&outcomes) {
        (check.verdict)(outcome, &check.what);
    }
    outcomes
}

/// Exactly these rows (a non-empty answer: an empty one would prove nothing).
fn rows(want: Vec<Answer>) -> Verdict {
    assert!(!want.is_empty(), "an expected answer must not be empty");
    Box::new(move |outcome, what| assert_eq!(outcome.answers(what), want, "{what}"))
}

/// One summarize object over these rows.
fn summary(of: Vec<Answer>) -> Verdict {
    assert!(!of.is_empty(), "an expected summary must cover rows");
    let want = summary_of(&of);
    Box::new(move |outcome, what| {
        assert_eq!(outcome.error, None, "{what}: {:?}", outcome.message);
        assert_eq!(outcome.objects(what), std::slice::from_ref(&want), "{what}");
    })
}

/// Exactly these flex results; `field` holds the matched text (`rrname` or `rdata`).
fn flex(field: &'static str, want: Vec<FlexGroup>) -> Verdict {
    assert!(
        !want.is_empty(),
        "an expected flex answer must not be empty"
    );
    Box::new(move |outcome, what| {
        assert_eq!(outcome.error, None, "{what}: {:?}", outcome.message);
        let mut got: Vec<FlexGroup> = outcome
            .objects(what)
            .iter()
            .map(|v| {
                let text = |name: &str| v[name].as_str().unwrap_or_default().to_string();
                let int = |name: &str| v[name].as_i64().unwrap_or(-1);
                let count = int("count") as u64;
                let times = (int("time_first"), int("time_last"));
                (text(field), text("rrtype"), count, times.0, times.1)
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{what}");
    })
}

/// `n` rows, each one of `within`, and then `error` (a limited answer).
fn some_of(n: usize, within: Vec<Answer>, error: Option<&'static str>) -> Verdict {
    assert!(
        within.len() > n,
        "a limited answer needs more rows than the limit"
    );
    Box::new(move |outcome, what| {
        assert_eq!(
            outcome.error.as_deref(),
            error,
            "{what}: {:?}",
            outcome.message
        );
        let got = answers_from_values(outcome.objects(what));
        assert_eq!(got.len(), n, "{what}: {got:#?}");
        assert!(
            got.iter().all(|row| within.contains(row)),
            "{what}: {got:#?}"
        );
    })
}

/// The call raised this dnsdb2 exception.
fn raised(class: &'static str) -> Verdict {
    Box::new(move |outcome, what| {
        let rows = outcome.result.as_array().map_or(0, Vec::len);
        let message = &outcome.message;
        let error = outcome.error.as_deref();
        assert_eq!(error, Some(class), "{what}: {rows} rows, then {message:?}")
    })
}

/// `rows` with a time fence applied to their (first, last) seconds; the fence must drop
/// some rows and keep some, or it would test nothing.
fn fenced(rows: &[Answer], keep: impl Fn(i64, i64) -> bool) -> Vec<Answer> {
    let kept: Vec<Answer> = rows.iter().filter(|r| keep(r.5, r.6)).cloned().collect();
    assert!(
        !kept.is_empty() && kept.len() < rows.len(),
        "a fence keeping {} of {} rows tests nothing",
        kept.len(),
        rows.len()
    );
    kept
}

/// Whether a row seen from `first` to `last` passes DNSDB's `fence=value` (inclusive).
fn passes(fence: &str, value: i64, first: i64, last: i64) -> bool {
    match fence {
        "time_first_after" => first >= value,
        "time_first_before" => first <= value,
        "time_last_after" => last >= value,
        "time_last_before" => last <= value,
        other => panic!("no fence {other}"),
    }
}

/// A name in DNS wire format, in hex: what the raw forms take.
fn wire_hex(name: &str) -> String {
    let mut hex = String::new();
    for label in name.trim_end_matches('.').split('.') {
        hex.push_str(&format!("{:02x}", label.len()));
        label
            .bytes()
            .for_each(|b| hex.push_str(&format!("{b:02x}")));
    }
    hex + "00"
}

fn ipv4_hex(address: &str) -> String {
    let address: std::net::Ipv4Addr = address.parse().unwrap();
    address
        .octets()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A lookup form for both verbs: dnsdb2's `lookup_FORM` and `summarize_FORM`.
struct Form {
    what: String,
    form: &'static str,
    args: Value,
    kwargs: Value,
    rows: Vec<Answer>,
}

fn form(form: &'static str, args: Value, kwargs: Value, rows: Vec<Answer>) -> Form {
    Form {
        what: format!("{form} {args} {kwargs}"),
        form,
        args,
        kwargs,
        rows,
    }
}

impl Form {
    fn checks(self, key: &str) -> [Check; 2] {
        let call = |verb: &str| {
            match self.form {
                // dnsdb2 has no rrset/raw method: the path, read with its SAF reader.
                "rrset_raw" => {
                    let tail = self.args[0].as_str().unwrap();
                    saf_path(key, &format!("{verb}/rrset/raw/{tail}"))
                }
                form => dnsdb2_call(
                    key,
                    &format!("{verb}_{form}"),
                    self.args.clone(),
                    self.kwargs.clone(),
                ),
            }
        };
        [
            check(
                format!("lookup {}", self.what),
                call("lookup"),
                rows(self.rows.clone()),
            ),
            check(
                format!("summarize {}", self.what),
                call("summarize"),
                summary(self.rows),
            ),
        ]
    }
}

/// rrset rows of this exact owner, DNS types only (what no rrtype means).
fn owned_by(owner: &'static str) -> Vec<Answer> {
    expect_rrsets(move |r| is_dns(r) && r.rrname == owner)
}

/// rdata rows whose rdata names `keep`'s name.
fn naming(keep: impl Fn(&str) -> bool) -> Vec<Answer> {
    expect_rdata(|r, rdata| name_in_rdata(&r.rrtype, rdata).is_some_and(&keep))
}

/// A and AAAA rdata rows with an address in `lo..=hi`.
fn addresses(lo: &'static str, hi: &'static str) -> Vec<Answer> {
    expect_rdata(move |_, rdata| in_range(rdata, lo, hi))
}

#[test]
fn dnsdb2_lookups_and_summaries_of_every_form_answer_what_the_testbed_implies() {
    let (server, keys) = serve_testbed("dnsdb2_forms", &[("analyst", "")], &[]);
    let none = json!({});
    let forms = vec![
        form(
            "rrset",
            json!(["oscar-secure.org"]),
            none.clone(),
            owned_by("oscar-secure.org."),
        ),
        form(
            "rrset",
            json!(["oscar-secure.org"]),
            json!({"rrtype": "NS"}),
            expect_rrsets(|r| r.rrname == "oscar-secure.org." && r.rrtype == "NS"),
        ),
        // A bailiwick without a type: the client fills the type slot with ANY.
        form(
            "rrset",
            json!(["target-one.com"]),
            json!({"bailiwick": "com"}),
            expect_rrsets(|r| {
                is_dns(r) && r.rrname == "target-one.com." && r.bailiwick.as_deref() == Some("com.")
            }),
        ),
        form(
            "rrset",
            json!(["*.oscar-secure.org"]),
            none.clone(),
            expect_rrsets(|r| is_dns(r) && under(&r.rrname, "oscar-secure.org.")),
        ),
        form(
            "rrset",
            json!(["www.*"]),
            none.clone(),
            expect_rrsets(|r| is_dns(r) && r.rrname.starts_with("www.")),
        ),
        form(
            "rrset",
            json!(["*.papa-signed.org"]),
            json!({"rrtype": "RRSIG"}),
            expect_rrsets(|r| r.rrtype == "RRSIG" && under(&r.rrname, "papa-signed.org.")),
        ),
        form(
            "rrset",
            json!(["*.org"]),
            json!({"rrtype": "ANY-DNSSEC"}),
            expect_rrsets(|r| !is_dns(r) && under(&r.rrname, "org.")),
        ),
        form(
            "rrset_raw",
            json!([wire_hex("many.golf-big.com.")]),
            none.clone(),
            owned_by("many.golf-big.com."),
        ),
        form(
            "rrset_raw",
            json!([format!("{}/AAAA", wire_hex("many.golf-big.com."))]),
            none.clone(),
            expect_rrsets(|r| r.rrname == "many.golf-big.com." && r.rrtype == "AAAA"),
        ),
        form(
            "rdata_name",
            json!(["mail.charlie-mail.com"]),
            none.clone(),
            naming(|name| name == "mail.charlie-mail.com."),
        ),
        form(
            "rdata_name",
            json!(["ns1.oscar-secure.org"]),
            json!({"rrtype": "NS"}),
            expect_rdata(|r, rdata| r.rrtype == "NS" && rdata == "ns1.oscar-secure.org."),
        ),
        form(
            "rdata_name",
            json!(["*.oscar-secure.org"]),
            none.clone(),
            naming(|name| under(name, "oscar-secure.org.")),
        ),
        form(
            "rdata_name",
            json!(["ns1.*"]),
            none.clone(),
            naming(|name| name.starts_with("ns1.")),
        ),
        form(
            "rdata_ip",
            json!(["192.0.2.10"]),
            none.clone(),
            addresses("192.0.2.10", "192.0.2.10"),
        ),
        // The client turns ADDR/LEN into DNSDB's ADDR,LEN.
        form(
            "rdata_ip",
            json!(["192.0.2.0/24"]),
            none.clone(),
            addresses("192.0.2.0", "192.0.2.255"),
        ),
        form(
            "rdata_ip",
            json!(["198.18.0.10-198.18.0.19"]),
            none.clone(),
            addresses("198.18.0.10", "198.18.0.19"),
        ),
        form(
            "rdata_ip",
            json!(["2001:db8::/32"]),
            none.clone(),
            addresses("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
        ),
        form(
            "rdata_ip",
            json!(["2001:db8:5a::1-2001:db8:5a::f"]),
            none.clone(),
            addresses("2001:db8:5a::1", "2001:db8:5a::f"),
        ),
        form(
            "rdata_raw",
            json!([ipv4_hex("192.0.2.10")]),
            none.clone(),
            addresses("192.0.2.10", "192.0.2.10"),
        ),
        form(
            "rdata_raw",
            json!([wire_hex("ns1.oscar-secure.org.")]),
            json!({"rrtype": "NS"}),
            expect_rdata(|r, rdata| r.rrtype == "NS" && rdata == "ns1.oscar-secure.org."),
        ),
    ];
    let checks: Vec<Check> = forms.into_iter().flat_map(|f| f.checks(&keys[0])).collect();
    run_checks(&server, &checks);
}

#[test]
fn dnsdb2_flex_fences_limits_offsets_ping_and_rate_limit_work() {
    let (server, keys) = serve_testbed("dnsdb2_more", &[("analyst", "")], &[]);
    let key = keys[0].as_str();
    let call = |method: &str, args: Value, kwargs: Value| dnsdb2_call(key, method, args, kwargs);
    let none = json!({});
    let mut checks = flex_checks(key);

    let under_com = expect_rrsets(|r| is_dns(r) && under(&r.rrname, "com."));
    // Fence values between the rows' times, so that "now" moving during the test does
    // not change which rows a relative fence keeps.
    let first = quiet_time(under_com.iter().map(|r| r.5));
    let last = quiet_time(under_com.iter().map(|r| r.6));
    let ago = |t: i64| json!({"ago": t});
    for (fence, value) in [
        ("time_first_after", first),
        ("time_first_before", first),
        ("time_last_after", last),
        ("time_last_before", last),
    ] {
        let want = fenced(&under_com, |f, l| passes(fence, value, f, l));
        let absolute = call("lookup_rrset", json!(["*.com"]), json!({ fence: value }));
        checks.push(check(
            format!("{fence}={value}"),
            absolute,
            rows(want.clone()),
        ));
        // Negative: seconds before now, landing on the same second.
        let relative = call(
            "lookup_rrset",
            json!(["*.com"]),
            json!({ fence: ago(value) }),
        );
        checks.push(check(
            format!("{fence}=-(now-{value})"),
            relative,
            rows(want),
        ));
    }
    checks.push(check(
        "summarize with a relative fence",
        call(
            "summarize_rrset",
            json!(["*.com"]),
            json!({"time_first_after": ago(first)}),
        ),
        summary(fenced(&under_com, |f, _| f >= first)),
    ));
    let v4 = addresses("192.0.2.0", "192.0.2.255");
    let v4_last = quiet_time(v4.iter().map(|r| r.6));
    checks.push(check(
        "rdata rows fenced on their merged last time",
        call(
            "lookup_rdata_ip",
            json!(["192.0.2.0/24"]),
            json!({"time_last_before": ago(v4_last)}),
        ),
        rows(fenced(&v4, |_, l| l <= v4_last)),
    ));

    let limited = call("lookup_rrset", json!(["*.com"]), json!({"limit": 5}));
    checks.push(check(
        "limit 5",
        limited,
        some_of(5, under_com.clone(), Some("QueryLimited")),
    ));
    let ignored = json!({"limit": 5, "ignore_limited": true});
    let ignored = call("lookup_rrset", json!(["*.com"]), ignored);
    checks.push(check(
        "limit 5, ignore_limited",
        ignored,
        some_of(5, under_com.clone(), None),
    ));

    // Offset paging to the end: the last page is short (possibly empty).
    const PAGE: usize = 40;
    let pages = under_com.len() / PAGE + 1;
    let first_page = checks.len();
    for page in 0..pages {
        let kwargs = json!({"limit": PAGE, "offset": page * PAGE, "ignore_limited": true});
        let page_rows = PAGE.min(under_com.len() - page * PAGE);
        checks.push(check(
            format!("page {page}"),
            call("lookup_rrset", json!(["*.com"]), kwargs),
            some_of(page_rows, under_com.clone(), None),
        ));
    }

    checks.push(check(
        "ping",
        call("ping", json!([]), none.clone()),
        Box::new(|outcome, what| assert_eq!(outcome.result, json!(true), "{what}")),
    ));
    checks.push(check(
        "rate_limit of a key without limits",
        call("rate_limit", json!([]), none),
        Box::new(|outcome, what| {
            let want = json!({"rate": {"reset": "n/a", "limit": "unlimited", "remaining": "n/a",
                "results_max": 1_000_000, "offset_max": "n/a", "expires": "n/a"}});
            assert_eq!(outcome.result, want, "{what}");
        }),
    ));

    let outcomes = run_checks(&server, &checks);
    let paged: Vec<Value> = outcomes[first_page..first_page + pages]
        .iter()
        .flat_map(|o| o.objects("page").to_vec())
        .collect();
    assert_eq!(
        answers_from_values(&paged),
        under_com,
        "the pages together are the whole answer, each row once"
    );
}

/// Flex search over owner names and rdata, regex and glob, with a type and with `exclude=`.
fn flex_checks(key: &str) -> Vec<Check> {
    let call = |method: &str, expr: &str, kwargs: Value| {
        let check_name = format!("{method} {expr:?} {kwargs}");
        (check_name, dnsdb2_call(key, method, json!([expr]), kwargs))
    };
    let none = json!({});
    let secure = ".oscar-secure.org.";
    let cases = [
        (
            call(
                "flex_rrnames_regex",
                r"\.oscar-secure\.org\.$",
                none.clone(),
            ),
            flex(
                "rrname",
                flex_rrnames(|r| is_dns(r) && r.rrname.ends_with(secure)),
            ),
        ),
        (
            call(
                "flex_rrnames_glob",
                "*.oscar-secure.org.",
                json!({"exclude": "www.*"}),
            ),
            flex(
                "rrname",
                flex_rrnames(|r| {
                    is_dns(r) && r.rrname.ends_with(secure) && !r.rrname.starts_with("www.")
                }),
            ),
        ),
        (
            call("flex_rrnames_regex", "oscar", json!({"rrtype": "NS"})),
            flex(
                "rrname",
                flex_rrnames(|r| r.rrtype == "NS" && r.rrname.contains("oscar")),
            ),
        ),
        (
            call(
                "flex_rrnames_glob",
                "*.papa-signed.org.",
                json!({"rrtype": "RRSIG"}),
            ),
            flex(
                "rrname",
                flex_rrnames(|r| r.rrtype == "RRSIG" && r.rrname.ends_with(".papa-signed.org.")),
            ),
        ),
        (
            call("flex_rdata_regex", r"^192\.0\.2\.", none.clone()),
            flex(
                "rdata",
                flex_rdata(|r, rdata| is_dns(r) && rdata.starts_with("192.0.2.")),
            ),
        ),
        (
            call("flex_rdata_glob", "*.oscar-secure.org.", none),
            flex(
                "rdata",
                flex_rdata(|r, rdata| is_dns(r) && rdata.ends_with(secure)),
            ),
        ),
        (
            call(
                "flex_rdata_regex",
                "oscar-secure",
                json!({"exclude": r"^ns1\."}),
            ),
            flex(
                "rdata",
                flex_rdata(|r, rdata| {
                    is_dns(r) && rdata.contains("oscar-secure") && !rdata.starts_with("ns1.")
                }),
            ),
        ),
    ];
    cases
        .into_iter()
        .map(|((what, call), verdict)| check(what, call, verdict))
        .collect()
}

#[test]
fn dnsdb2_raises_its_exception_for_each_refusal() {
    let (server, keys) = serve_testbed(
        "dnsdb2_refusals",
        &[
            ("daily", "--daily 3"),
            (
                "capped",
                "--results-max 7 --offset-max 5 --daily 1000 --burst 10/60 --expires 30d",
            ),
            // No request may be in flight: any request is one too many, deterministically.
            ("no-concurrency", "--concurrent 0"),
            ("gone", ""),
        ],
        &["gone"],
    );
    let [daily, capped, no_concurrency, gone] = [0, 1, 2, 3].map(|i| keys[i].as_str());
    let lookup =
        |key: &str, kwargs: Value| dnsdb2_call(key, "lookup_rrset", json!(["*.com"]), kwargs);
    let under_com = expect_rrsets(|r| is_dns(r) && under(&r.rrname, "com."));
    let rate_limit = |key: &str| dnsdb2_call(key, "rate_limit", json!([]), json!({}));
    let mut checks = vec![
        check(
            "an unknown key (403)",
            lookup("dnsl_not-a-key", json!({})),
            raised("AccessDenied"),
        ),
        check(
            "a revoked key (401)",
            lookup(gone, json!({})),
            raised("AccessDenied"),
        ),
        check(
            "no concurrency (503)",
            lookup(no_concurrency, json!({})),
            raised("ConcurrencyExceeded"),
        ),
        check(
            "over results_max",
            lookup(capped, json!({})),
            some_of(7, under_com.clone(), Some("QueryLimited")),
        ),
        check(
            "offset at offset_max",
            lookup(capped, json!({"offset": 5, "limit": 2})),
            some_of(2, under_com.clone(), Some("QueryLimited")),
        ),
        check(
            "offset over offset_max (416)",
            lookup(capped, json!({"offset": 6})),
            raised("OffsetError"),
        ),
        check(
            "rate_limit of a key with every limit",
            rate_limit(capped),
            Box::new(|outcome, what| {
                let rate = &outcome.result["rate"];
                // Two queries ran; the refused one consumed nothing.
                assert_eq!(rate["limit"], json!(1000), "{what}: {rate}");
                assert_eq!(rate["remaining"], json!(998), "{what}: {rate}");
                assert_eq!(rate["results_max"], json!(7), "{what}: {rate}");
                assert_eq!(rate["offset_max"], json!(5), "{what}: {rate}");
                assert_eq!(rate["burst_size"], json!(10), "{what}: {rate}");
                assert_eq!(rate["burst_window"], json!(60), "{what}: {rate}");
                assert!(
                    rate["reset"].is_i64() && rate["expires"].is_i64(),
                    "{what}: {rate}"
                );
            }),
        ),
    ];
    for n in 1..=3 {
        let verdict = some_of(1, under_com.clone(), None);
        let call = lookup(daily, json!({"limit": 1, "ignore_limited": true}));
        checks.push(check(format!("daily query {n} of 3"), call, verdict));
    }
    checks.push(check(
        "daily query 4 of 3 (429)",
        lookup(daily, json!({})),
        raised("QuotaExceeded"),
    ));
    checks.push(check(
        "rate_limit of the exhausted key",
        rate_limit(daily),
        Box::new(|outcome, what| {
            let rate = &outcome.result["rate"];
            assert_eq!(
                (&rate["limit"], &rate["remaining"]),
                (&json!(3), &json!(0)),
                "{what}"
            );
        }),
    ));
    run_checks(&server, &checks);
}

// ---------------------------------------------------------------------------------------
// pypdns (CIRCL)

/// What the pypdns driver printed for one call.
#[derive(Debug, Deserialize)]
struct PdnsOutcome {
    records: Vec<Value>,
    requests: usize,
    error: Option<String>,
}

impl PdnsOutcome {
    /// The records, after checking each is one COF record: rdata a one-element array.
    fn answers(&self, what: &str) -> Vec<Answer> {
        assert_eq!(self.error, None, "{what}");
        for record in &self.records {
            let one = record["rdata"].as_array().is_some_and(|r| r.len() == 1);
            assert!(one, "{what}: rdata is not a one-element array: {record}");
        }
        answers_from_values(&self.records)
    }
}

/// `METHOD(query, filter_rrtype=RRTYPE)` on a client authenticated with `auth`.
fn pypdns_call(auth: &Value, method: &str, query: &str, rrtype: Option<&str>) -> Value {
    json!({"auth": auth, "method": method, "query": query, "filter_rrtype": rrtype})
}

#[test]
fn pypdns_queries_names_and_addresses_pages_and_filters() {
    let (server, keys) = serve_testbed("pypdns", &[("analyst", ""), ("gone", "")], &["gone"]);
    let basic = json!({"basic": ["anyuser", keys[0]]});
    let token = json!({"token": keys[0]});
    let calls = [
        pypdns_call(&basic, "rfc_query", "oscar-secure.org", None),
        pypdns_call(&token, "rfc_query", "192.0.2.10", None),
        pypdns_call(&token, "rfc_query", "oscar-secure.org", Some("NS")),
        pypdns_call(&basic, "iter_query", "many.golf-big.com", None),
        pypdns_call(&token, "iter_query", "many.golf-big.com", Some("AAAA")),
        pypdns_call(
            &json!({"basic": ["anyuser", "dnsl_not-a-key"]}),
            "rfc_query",
            "oscar-secure.org",
            None,
        ),
        pypdns_call(
            &json!({"token": keys[1]}),
            "rfc_query",
            "oscar-secure.org",
            None,
        ),
    ];
    let url = format!("{}/pdns/query", server.url);
    let outcomes: Vec<PdnsOutcome> =
        run_script("pypdns_calls.py", &json!({"url": url, "calls": calls}));

    let secure = circl_name_records("oscar-secure.org.");
    assert_eq!(outcomes[0].answers("name, basic auth"), secure);
    assert_eq!(
        outcomes[1].answers("address, token"),
        circl_address_records("192.0.2.10")
    );
    let ns: Vec<Answer> = secure.iter().filter(|r| r.1 == "NS").cloned().collect();
    assert!(!ns.is_empty());
    assert_eq!(outcomes[2].answers("filter_rrtype NS"), ns);

    // iter_query pages by 50 with the x-dribble-cursor header: each record exactly once.
    let many = circl_name_records("many.golf-big.com.");
    assert!(many.len() > 100, "the paging check needs several pages");
    assert_eq!(outcomes[3].answers("iter_query"), many);
    assert_eq!(
        outcomes[3].requests,
        many.len().div_ceil(50),
        "one request per page"
    );
    let aaaa: Vec<Answer> = many.iter().filter(|r| r.1 == "AAAA").cloned().collect();
    assert!(aaaa.len() > 50);
    assert_eq!(outcomes[4].answers("iter_query, filter_rrtype AAAA"), aaaa);
    assert_eq!(outcomes[4].requests, aaaa.len().div_ceil(50));

    assert_eq!(
        outcomes[5].error.as_deref(),
        Some("ForbiddenError"),
        "unknown key: 403"
    );
    assert_eq!(
        outcomes[6].error.as_deref(),
        Some("UnauthorizedError"),
        "revoked key: 401"
    );
}

// ---------------------------------------------------------------------------------------
// dnsdbq (Debian's C client)

/// Runs dnsdbq against the server; (status, stdout, stderr). It reads its server and key
/// from the environment; HOME points at an empty directory so no user config is read.
fn dnsdbq(server: &TestServer, key: &str, args: &[&str]) -> (i32, String, String) {
    let home = server.db.parent().unwrap().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let output = Command::new("dnsdbq")
        .args(args)
        .env("DNSDB_SERVER", &server.url)
        .env("DNSDB_API_KEY", key)
        .env("DNSDBQ_SYSTEM", "dnsdb2")
        .env("HOME", &home)
        .output()
        .unwrap_or_else(|e| panic!("dnsdbq cannot run: {e} ({ENSURE_DEPS})"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `dnsdbq ARGS -j`, which must succeed quietly; its rows.
fn dnsdbq_rows(server: &TestServer, key: &str, args: &[&str]) -> Vec<Answer> {
    let mut all = args.to_vec();
    all.push("-j");
    let (status, stdout, stderr) = dnsdbq(server, key, &all);
    assert_eq!((status, stderr.as_str()), (0, ""), "dnsdbq {args:?}");
    answers_from_json(&stdout)
}

#[test]
fn dnsdbq_answers_every_form_and_reads_the_rate_limit() {
    let (server, keys) = serve_testbed(
        "dnsdbq",
        &[("analyst", ""), ("limited", "--daily 100 --burst 5/60")],
        &[],
    );
    let key = keys[0].as_str();
    let under_com = expect_rrsets(|r| is_dns(r) && under(&r.rrname, "com."));
    let first = quiet_time(under_com.iter().map(|r| r.5));
    let first_text = first.to_string();
    let (many_hex, address_hex) = (wire_hex("many.golf-big.com."), ipv4_hex("192.0.2.10"));
    let cases: Vec<(Vec<&str>, Vec<Answer>)> = vec![
        (
            vec!["-r", "oscar-secure.org"],
            owned_by("oscar-secure.org."),
        ),
        (
            vec!["-r", "target-one.com", "-t", "NS", "-b", "com"],
            expect_rrsets(|r| {
                r.rrname == "target-one.com."
                    && r.rrtype == "NS"
                    && r.bailiwick.as_deref() == Some("com.")
            }),
        ),
        (
            vec!["-r", "*.oscar-secure.org"],
            expect_rrsets(|r| is_dns(r) && under(&r.rrname, "oscar-secure.org.")),
        ),
        (
            vec!["-r", "*.oscar-secure.org", "-t", "NS"],
            expect_rrsets(|r| r.rrtype == "NS" && under(&r.rrname, "oscar-secure.org.")),
        ),
        (
            vec!["-r", "www.*"],
            expect_rrsets(|r| is_dns(r) && r.rrname.starts_with("www.")),
        ),
        (vec!["-R", &many_hex], owned_by("many.golf-big.com.")),
        (
            vec!["-n", "mail.charlie-mail.com"],
            naming(|n| n == "mail.charlie-mail.com."),
        ),
        (
            vec!["-n", "ns1.oscar-secure.org", "-t", "NS"],
            expect_rdata(|r, rdata| r.rrtype == "NS" && rdata == "ns1.oscar-secure.org."),
        ),
        (
            vec!["-i", "192.0.2.10"],
            addresses("192.0.2.10", "192.0.2.10"),
        ),
        (
            vec!["-i", "192.0.2.0/24"],
            addresses("192.0.2.0", "192.0.2.255"),
        ),
        (
            vec!["-i", "198.18.0.10-198.18.0.19"],
            addresses("198.18.0.10", "198.18.0.19"),
        ),
        (
            vec!["-i", "2001:db8::/32"],
            addresses("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
        ),
        (
            vec!["-N", &address_hex],
            addresses("192.0.2.10", "192.0.2.10"),
        ),
        // -c -A: complete fencing, time_first_after.
        (
            vec!["-r", "*.com", "-c", "-A", &first_text],
            fenced(&under_com, |f, _| f >= first),
        ),
    ];
    for (args, want) in cases {
        assert!(
            !want.is_empty(),
            "{args:?}: the expected answer must not be empty"
        );
        assert_eq!(dnsdbq_rows(&server, key, &args), want, "dnsdbq {args:?}");
    }

    let limited = dnsdbq_rows(&server, key, &["-r", "*.com", "-l", "3"]);
    assert_eq!(limited.len(), 3, "-l 3: {limited:#?}");
    assert!(
        limited.iter().all(|row| under_com.contains(row)),
        "{limited:#?}"
    );

    let (status, stdout, stderr) = dnsdbq(&server, key, &["-V", "summarize", "-r", "*.com", "-j"]);
    assert_eq!((status, stderr.as_str()), (0, ""));
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary, summary_of(&under_com), "-V summarize");

    // -I asserts that burst_size and burst_window are integers when they are present: it
    // must neither abort for a key without a burst limit nor for one with.
    let (status, stdout, stderr) = dnsdbq(&server, key, &["-I"]);
    assert_eq!(status, 0, "dnsdbq -I: {stderr}");
    assert!(stdout.contains("limit: unlimited"), "{stdout}");
    let (status, stdout, stderr) = dnsdbq(&server, &keys[1], &["-I", "-j"]);
    assert_eq!(status, 0, "dnsdbq -I -j: {stderr}");
    let rate: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{stdout}: {e}"));
    assert_eq!(
        (&rate["rate"]["burst_size"], &rate["rate"]["burst_window"]),
        (&json!(5), &json!(60))
    );
    let (status, stdout, stderr) = dnsdbq(&server, &keys[1], &["-I"]);
    assert_eq!(status, 0, "dnsdbq -I with a burst limit: {stderr}");
    assert!(stdout.contains("burst rate: 5 per minute"), "{stdout}");
}

// ---------------------------------------------------------------------------------------
// schemathesis

#[test]
fn schemathesis_finds_the_server_true_to_its_openapi_document() {
    let (server, keys) = serve_testbed("schemathesis", &[("analyst", "")], &[]);
    // The new-name feed follows for ever unless asked to end (`follow=false`, which its
    // document requires): a negative test that leaves `follow` out would wait on it until
    // the fuzzer's read times out, so the feed gets the positive tests only.
    const FEED: &str = "/api/v1/stream/new";
    run_schemathesis(&server, &keys[0], &["--exclude-path", FEED]);
    run_schemathesis(
        &server,
        &keys[0],
        &["--include-path", FEED, "--mode", "positive"],
    );
}

/// One schemathesis run against `server`, with the test's checks and `extra` options.
fn run_schemathesis(server: &TestServer, key: &str, extra: &[&str]) {
    let work = scratch_dir("clients_schemathesis_run");
    let schemathesis = python().with_file_name("schemathesis");
    let output = Command::new(&schemathesis)
        .args(["run", &format!("{}/openapi.json", server.url)])
        // The base URL stated outright: every request goes to the loopback server.
        .args(["--url", &server.url])
        .args(["--checks", SCHEMATHESIS_CHECKS])
        .args(["--header", &format!("X-API-Key: {key}")])
        .args(["--max-examples", "30", "--workers", "1", "--no-color"])
        .args(["--generation-database", "none"])
        .args(extra)
        .current_dir(&work)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} ({ENSURE_DEPS})", schemathesis.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis {extra:?} found the server departing from its OpenAPI document:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
}
