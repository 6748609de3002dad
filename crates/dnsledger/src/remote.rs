//! `dnsledger query --server URL --key KEY`: the same lookups against a dnsledger (or any
//! DNSDB API v2) server, read as a SAF stream.

use std::io::{BufRead, BufReader, Read};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use dnsledger_query::{BadQuery, Presented, Summary};
use serde_json::Value;

/// `--server URL --key KEY`: ask a server instead of the local store (`query`, `watch new`).
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Ask this dnsledger (or DNSDB API v2) server instead of a local store.
    #[arg(long, value_name = "URL", env = "DNSLEDGER_SERVER")]
    server: Option<String>,
    /// The API key for --server.
    #[arg(
        long,
        value_name = "KEY",
        env = "DNSLEDGER_API_KEY",
        hide_env_values = true
    )]
    key: Option<String>,
}

impl ServerArgs {
    /// The server's client, `None` for the local store; a server without a key is a bad
    /// query.
    pub fn client(&self) -> Result<Option<Client>> {
        match (&self.server, &self.key) {
            (Some(url), Some(key)) => Ok(Some(Client::new(url, key))),
            (Some(_), None) => bail!(BadQuery(
                "--server needs --key (or DNSLEDGER_API_KEY)".into()
            )),
            (None, _) => Ok(None),
        }
    }
}

/// One event of a lookup's answer.
pub enum Event {
    Row(Presented),
    /// The server's row cap ended the answer; its message.
    Limited(String),
}

pub struct Client {
    base: String,
    key: String,
    agent: ureq::Agent,
}

impl Client {
    /// `URL` as DNSDB_SERVER has it (the client appends `/dnsdb/v2` to DNSDB paths).
    pub fn new(url: &str, key: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("dnsledger/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            base: url.trim_end_matches('/').to_string(),
            key: key.to_string(),
            agent: config.into(),
        }
    }

    /// Starts `verb/path?params`; a refusal becomes an error with the server's message
    /// (a 400 a [`BadQuery`], so the exit status is the same as for a local bad query).
    fn start(&self, verb: &str, path: &str, params: &[(&str, String)]) -> Result<impl BufRead> {
        self.get_lines(&format!("dnsdb/v2/{verb}/{path}"), params)
    }

    /// Starts `GET URL/path?params` for NDJSON; a refusal is an error as in [`Client::start`].
    pub fn get_lines(&self, path: &str, params: &[(&str, String)]) -> Result<impl BufRead> {
        let url = format!("{}/{path}", self.base);
        let mut request = self
            .agent
            .get(&url)
            .header("X-API-Key", &self.key)
            .header("Accept", "application/x-ndjson");
        for (name, value) in params {
            request = request.query(*name, value);
        }
        let mut response = request.call().with_context(|| format!("asking {url}"))?;
        let status = response.status();
        if status.is_success() {
            return Ok(BufReader::new(response.into_body().into_reader()));
        }
        let mut message = String::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(4096)
            .read_to_string(&mut message);
        let message = format!("the server answered {status}: {}", message.trim());
        match status.as_u16() {
            400 => Err(BadQuery(message).into()),
            _ => Err(anyhow!(message)),
        }
    }

    /// A lookup's rows as they arrive.
    pub fn lookup(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<impl Iterator<Item = Result<Event>>> {
        let lines = self.start("lookup", path, params)?.lines();
        Ok(SafEvents {
            lines,
            ended: false,
        })
    }

    pub fn summarize(&self, path: &str, params: &[(&str, String)]) -> Result<Summary> {
        let events = SafEvents {
            lines: self.start("summarize", path, params)?.lines(),
            ended: false,
        };
        let mut summary = Summary::default();
        for object in events.objects() {
            summary = Summary::from_json(&object?);
        }
        Ok(summary)
    }
}

/// SAF lines in, objects out; the terminator checked, a missing one an error.
struct SafEvents<L> {
    lines: L,
    ended: bool,
}

enum Saf {
    Object(Value),
    Limited(String),
}

impl<L: Iterator<Item = std::io::Result<String>>> SafEvents<L> {
    fn next_saf(&mut self) -> Option<Result<Saf>> {
        while !self.ended {
            let line = match self.lines.next() {
                None => {
                    self.ended = true;
                    return Some(Err(anyhow!("the answer was cut short (no SAF terminator)")));
                }
                Some(line) => line,
            };
            match parse_line(line) {
                Ok(Line::Object(object)) => return Some(Ok(Saf::Object(object))),
                Ok(Line::Skip) => {}
                Ok(Line::End(limited)) => {
                    self.ended = true;
                    return limited.map(|msg| Ok(Saf::Limited(msg)));
                }
                Err(error) => {
                    self.ended = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }

    fn objects(mut self) -> impl Iterator<Item = Result<Value>> {
        std::iter::from_fn(move || match self.next_saf()? {
            Ok(Saf::Object(object)) => Some(Ok(object)),
            Ok(Saf::Limited(_)) => None,
            Err(error) => Some(Err(error)),
        })
    }
}

impl<L: Iterator<Item = std::io::Result<String>>> Iterator for SafEvents<L> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        Some(match self.next_saf()? {
            Ok(Saf::Object(object)) => Presented::from_cof(&object)
                .map(Event::Row)
                .map_err(|e| anyhow!("the server sent {e}")),
            Ok(Saf::Limited(message)) => Ok(Event::Limited(message)),
            Err(error) => Err(error),
        })
    }
}

enum Line {
    Object(Value),
    /// `begin`, `ongoing` without an object, keep-alives.
    Skip,
    /// `succeeded` (None) or `limited` (its message).
    End(Option<String>),
}

fn parse_line(line: std::io::Result<String>) -> Result<Line> {
    let line = line.context("reading the answer")?;
    if line.trim().is_empty() {
        return Ok(Line::Skip);
    }
    let value: Value =
        serde_json::from_str(&line).with_context(|| format!("not a SAF line: {line}"))?;
    let message = || value["msg"].as_str().unwrap_or("").to_string();
    match value["cond"].as_str() {
        Some("succeeded") => return Ok(Line::End(None)),
        Some("limited") => return Ok(Line::End(Some(message()))),
        Some("failed") => bail!("the server failed the query: {}", message()),
        _ => {}
    }
    Ok(match value.get("obj") {
        Some(object) => Line::Object(object.clone()),
        None => Line::Skip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Vec<Result<Event>> {
        let lines: Vec<std::io::Result<String>> = text.lines().map(|l| Ok(l.to_string())).collect();
        SafEvents {
            lines: lines.into_iter(),
            ended: false,
        }
        .collect()
    }

    const ROW: &str = r#"{"obj":{"count":1,"time_first":1,"time_last":2,"rrname":"a.","rrtype":"A","bailiwick":".","rdata":["192.0.2.1"]}}"#;

    #[test]
    fn saf_streams_yield_rows_then_their_ending() {
        let all = events(&format!(
            "{{\"cond\":\"begin\"}}\n{ROW}\n{{\"cond\":\"succeeded\"}}\n"
        ));
        assert_eq!(all.len(), 1);
        assert!(matches!(&all[0], Ok(Event::Row(row)) if row.rrname == "a."));
        let limited = events(&format!(
            "{{\"cond\":\"begin\"}}\n{ROW}\n{{\"cond\":\"limited\",\"msg\":\"Result limit reached\"}}\n"
        ));
        assert!(matches!(&limited[1], Ok(Event::Limited(m)) if m == "Result limit reached"));
    }

    #[test]
    fn failed_and_truncated_streams_are_errors() {
        let failed = events("{\"cond\":\"begin\"}\n{\"cond\":\"failed\",\"msg\":\"budget\"}\n");
        assert!(failed[0]
            .as_ref()
            .is_err_and(|e| e.to_string().contains("budget")));
        let cut = events(&format!("{{\"cond\":\"begin\"}}\n{ROW}\n"));
        assert!(cut.len() == 2 && cut[1].is_err());
    }
}
