//! Where the NATS servers are, how to log in, and the stream's settings: what every sensor
//! and store node of a deployment must agree on.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::stream::{self, DiscardPolicy, RetentionPolicy, StorageType};
use async_nats::{ConnectOptions, ServerAddr};

use crate::{nats_error, ClusterError};

/// How long the stream keeps a batch: a store node away for longer misses what expired
/// (a replica of another node is then the way back).
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// The stream's message-id memory: a batch resent within it is stored once. Older resends
/// are stored again and the consumers' batch records make them harmless.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long one request to NATS (a publish acknowledgement included) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Credentials read from a file, never from the command line (where `ps` shows them).
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Token(String),
    UserPassword { user: String, password: String },
}

/// Secrets stay out of logs and debug output.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Token(..)"),
            Credentials::UserPassword { user, .. } => write!(f, "UserPassword({user}, ..)"),
        }
    }
}

impl Credentials {
    /// Reads `token=TOKEN`, or `user=NAME` and `password=SECRET`, one per line (`#`
    /// comments and blank lines allowed).
    pub fn read(path: &Path) -> Result<Credentials, ClusterError> {
        let bad = |what: String| ClusterError::Credentials {
            path: path.to_path_buf(),
            what,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        Credentials::parse(&text).map_err(bad)
    }

    fn parse(text: &str) -> Result<Credentials, String> {
        let (mut token, mut user, mut password) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(format!("{line:?} is not NAME=VALUE"));
            };
            let slot = match name.trim() {
                "token" => &mut token,
                "user" => &mut user,
                "password" => &mut password,
                other => return Err(format!("unknown setting {other:?}")),
            };
            *slot = Some(value.trim().to_string());
        }
        match (token, user, password) {
            (Some(token), None, None) if !token.is_empty() => Ok(Credentials::Token(token)),
            (None, Some(user), Some(password)) if !user.is_empty() => {
                Ok(Credentials::UserPassword { user, password })
            }
            _ => Err("expected token=TOKEN, or user=NAME and password=SECRET".into()),
        }
    }
}

/// A deployment's NATS settings.
#[derive(Clone, Debug)]
pub struct NatsConfig {
    pub servers: Vec<ServerAddr>,
    pub credentials: Option<Credentials>,
    /// The JetStream stream; its subjects are `STREAM.PARTITION`.
    pub stream: String,
    /// Copies JetStream keeps of each batch when it creates the stream.
    pub replicas: usize,
    /// How many partitions sensors spread batches over (the same everywhere).
    pub partitions: u32,
}

impl NatsConfig {
    /// Settings for `url` (`nats://HOST:PORT[,HOST:PORT...]`), one stream partition.
    pub fn new(url: &str, stream: &str) -> Result<NatsConfig, ClusterError> {
        check_name("stream name", stream)?;
        Ok(NatsConfig {
            servers: parse_servers(url)?,
            credentials: None,
            stream: stream.to_string(),
            replicas: 1,
            partitions: 1,
        })
    }

    /// The subject of a partition's batches.
    pub fn subject(&self, partition: u32) -> String {
        format!("{}.{partition}", self.stream)
    }

    /// The stream as it is created when missing.
    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.stream.clone(),
            subjects: vec![format!("{}.*", self.stream)],
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::Old,
            max_age: STREAM_MAX_AGE,
            storage: StorageType::File,
            num_replicas: self.replicas.max(1),
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        }
    }

    /// Connects in the background: the client keeps trying the servers (and reconnects after
    /// losing one), so a sensor starts while NATS is away and spools meanwhile.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, ClusterError> {
        let mut options = ConnectOptions::new()
            .name(name)
            .retry_on_initial_connect()
            .connection_timeout(REQUEST_TIMEOUT)
            .request_timeout(Some(REQUEST_TIMEOUT));
        options = match &self.credentials {
            Some(Credentials::Token(token)) => options.token(token.clone()),
            Some(Credentials::UserPassword { user, password }) => {
                options.user_and_password(user.clone(), password.clone())
            }
            None => options,
        };
        options
            .connect(self.servers.clone())
            .await
            .map_err(nats_error)
    }

    /// A JetStream context on `client` with this deployment's timeouts.
    pub fn jetstream(&self, client: async_nats::Client) -> async_nats::jetstream::Context {
        async_nats::jetstream::ContextBuilder::new()
            .timeout(REQUEST_TIMEOUT)
            .build(client)
    }
}

/// `nats://HOST:PORT[,HOST:PORT...]` as the client's server list.
fn parse_servers(url: &str) -> Result<Vec<ServerAddr>, ClusterError> {
    let bad = || ClusterError::Address {
        text: url.to_string(),
    };
    let list = url.strip_prefix("nats://").ok_or_else(bad)?;
    list.split(',')
        .map(|server| {
            let server = server.trim();
            let (host, port) = server.rsplit_once(':').ok_or_else(bad)?;
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(bad());
            }
            format!("nats://{server}").parse().map_err(|_| bad())
        })
        .collect()
}

/// Stream, consumer and node names: NATS forbids dots, wildcards and spaces in them.
pub(crate) fn check_name(what: &'static str, text: &str) -> Result<(), ClusterError> {
    let valid = (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    match valid {
        true => Ok(()),
        false => Err(ClusterError::Name {
            what,
            text: text.to_string(),
            expected: "1 to 64 of A-Z a-z 0-9 _ -",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_a_comma_separated_list_of_host_and_port() {
        let config =
            NatsConfig::new("nats://127.0.0.1:4222,[::1]:4223, nats.example:4", "S").unwrap();
        assert_eq!(config.servers.len(), 3);
        assert_eq!(config.subject(7), "S.7");
        for bad in [
            "127.0.0.1:4222",
            "nats://",
            "nats://host",
            "nats://host:x",
            "nats://a:1,,b:2",
            "http://a:1",
        ] {
            assert!(NatsConfig::new(bad, "S").is_err(), "{bad}");
        }
        assert!(NatsConfig::new("nats://a:1", "a.b").is_err());
    }

    #[test]
    fn credentials_are_a_token_or_a_user_and_password() {
        assert_eq!(
            Credentials::parse("# ops\ntoken = s3cret\n"),
            Ok(Credentials::Token("s3cret".into()))
        );
        let pair = Credentials::parse("user=tap\npassword=a=b\n").unwrap();
        assert_eq!(
            pair,
            Credentials::UserPassword {
                user: "tap".into(),
                password: "a=b".into()
            }
        );
        assert!(!format!("{pair:?}").contains("a=b"));
        for bad in [
            "",
            "token=",
            "user=x",
            "token=a\nuser=b\npassword=c",
            "key=x",
            "x",
        ] {
            assert!(Credentials::parse(bad).is_err(), "{bad:?}");
        }
    }
}
