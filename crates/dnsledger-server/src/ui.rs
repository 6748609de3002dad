//! The web UI's files, compiled into the binary: no CDN, nothing fetched at run time, and no
//! build step (plain HTML, CSS and JavaScript modules, written by hand).

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::auth::Refusal;
use crate::service::{bytes_response, Body};

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// (name, content type, bytes) of every file served under `/` and `/ui/`.
const ASSETS: [(&str, &str, &[u8]); 16] = [
    ("index.html", HTML, include_bytes!("../ui/index.html")),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../ui/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../ui/favicon.svg"),
    ),
    ("app.js", JS, include_bytes!("../ui/app.js")),
    ("api.js", JS, include_bytes!("../ui/api.js")),
    ("query.js", JS, include_bytes!("../ui/query.js")),
    ("format.js", JS, include_bytes!("../ui/format.js")),
    ("rdata.js", JS, include_bytes!("../ui/rdata.js")),
    ("table.js", JS, include_bytes!("../ui/table.js")),
    ("timeline.js", JS, include_bytes!("../ui/timeline.js")),
    ("export.js", JS, include_bytes!("../ui/export.js")),
    ("svg.js", JS, include_bytes!("../ui/svg.js")),
    ("stats.html", HTML, include_bytes!("../ui/stats.html")),
    ("stats.js", JS, include_bytes!("../ui/stats.js")),
    ("chart.js", JS, include_bytes!("../ui/chart.js")),
    ("novelty.js", JS, include_bytes!("../ui/novelty.js")),
];

/// The page may load only its own files and talk only to its own server; search terms in
/// its URLs do not leak through referrers; a new binary's files are never mixed with cached
/// old ones.
const HEADERS: [(&str, &str); 4] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-cache"),
];

pub fn asset(name: &str) -> Result<Response<Body>, Refusal> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name)
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "no such file"))?;
    let mut response = bytes_response(StatusCode::OK, content_type, Bytes::from_static(bytes));
    for (header, value) in HEADERS {
        response
            .headers_mut()
            .insert(header, http::HeaderValue::from_static(value));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file the page refers to (`/ui/NAME` in HTML, `./NAME.js` in module imports) is
    /// in the table, so a new file cannot be forgotten there.
    #[test]
    fn every_referenced_file_is_served() {
        let names: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        for (name, _, bytes) in ASSETS {
            let text = std::str::from_utf8(bytes).unwrap();
            for reference in references(text) {
                assert!(names.contains(&reference), "{name} refers to {reference}");
            }
        }
    }

    /// `/ui/NAME` and `from './NAME'` references in a file.
    fn references(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        for (marker, end) in [("\"/ui/", '"'), ("from './", '\'')] {
            for (start, _) in text.match_indices(marker) {
                let rest = &text[start + marker.len()..];
                found.push(&rest[..rest.find(end).unwrap()]);
            }
        }
        found
    }
}
