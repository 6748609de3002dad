//! `/metrics` for a sensor: counters in Prometheus' text format over a minimal HTTP/1.1
//! responder on a std `TcpListener`.
//!
//! A sensor has no HTTP stack and needs none for this: one thread takes connections one at
//! a time, reads the request head (at most 8 KiB, within 2 seconds), answers `GET /metrics`
//! with the counters of that moment (anything else with 404) and closes the connection.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const MAX_HEAD_BYTES: usize = 8 * 1024;
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Counters named `section.name` as Prometheus counters `dnsledger_section_name_total`.
pub fn prometheus_text(counters: &[(String, u64)]) -> String {
    let mut text = String::new();
    for (name, value) in counters {
        let metric = format!("dnsledger_{}_total", name.replace(['.', '-'], "_"));
        text.push_str(&format!("# TYPE {metric} counter\n{metric} {value}\n"));
    }
    text
}

/// Answers `GET /metrics` on `listener` with `render()` from a thread of its own, for as
/// long as the process runs.
pub fn serve(
    listener: TcpListener,
    render: impl Fn() -> String + Send + 'static,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // A client that misbehaves only loses its own answer.
                let _ = answer(stream, &render);
            }
        })
        .map(drop)
}

fn answer(mut stream: TcpStream, render: &dyn Fn() -> String) -> io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let head = read_head(&mut stream)?;
    let request_line = head.lines().next().unwrap_or_default();
    let mut words = request_line.split_whitespace();
    let (status, body) = match (words.next(), words.next()) {
        (Some("GET"), Some("/metrics")) => ("200 OK", render()),
        _ => ("404 Not Found", "not found: try GET /metrics\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

/// The request up to its blank line (a sensor's endpoint takes no bodies).
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() >= MAX_HEAD_BYTES {
            return Err(io::ErrorKind::InvalidData.into());
        }
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn get(address: std::net::SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(address).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: sensor\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn counters_are_served_in_prometheus_text() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let address = listener.local_addr().unwrap();
        serve(listener, || {
            prometheus_text(&[
                ("live.kernel_drops".to_string(), 0),
                ("capture.frames".to_string(), 12),
            ])
        })
        .unwrap();
        let answer = get(address, "/metrics");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(answer.ends_with(
            "\r\n\r\n# TYPE dnsledger_live_kernel_drops_total counter\n\
             dnsledger_live_kernel_drops_total 0\n\
             # TYPE dnsledger_capture_frames_total counter\n\
             dnsledger_capture_frames_total 12\n"
        ));
        assert!(get(address, "/").starts_with("HTTP/1.1 404 Not Found\r\n"));
    }
}
