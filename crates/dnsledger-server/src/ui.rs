//! The web UI's files, compiled into the binary: no CDN, nothing fetched at run time.

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::auth::Refusal;
use crate::service::{bytes_response, Body};

/// (name, content type, bytes) of every file served under `/` and `/ui/`.
const ASSETS: [(&str, &str, &[u8]); 1] = [(
    "index.html",
    "text/html; charset=utf-8",
    include_bytes!("../ui/index.html"),
)];

pub fn asset(name: &str) -> Result<Response<Body>, Refusal> {
    ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name)
        .map(|(_, content_type, bytes)| {
            bytes_response(StatusCode::OK, content_type, Bytes::from_static(bytes))
        })
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "no such file"))
}
