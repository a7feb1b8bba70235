//! Many requests at the same moment, from raw sockets: each request is
//! written whole but for its last byte on its own connection, then the last
//! bytes of all are released together, so the server starts them all at
//! once — the way an attacker times a race, not the way a polite client
//! queues behind a connection pool.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A form POST as raw HTTP/1.1 (`Connection: close`).
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// `http://127.0.0.1:PORT`: which instance gets it.
    pub base: String,
    pub bytes: Vec<u8>,
}

impl RawRequest {
    /// POST `path` with url-encoded `fields` and the cookies `jar` holds for `base`.
    pub fn form(base: &str, path: &str, jar: &Arc<Jar>, fields: &[(&str, &str)]) -> Self {
        let url: reqwest::Url = format!("{base}{path}").parse().unwrap();
        let cookies = jar.cookies(&url).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        Self::post(base, path, &cookies, fields)
    }

    /// POST `path` with url-encoded `fields` and a `Cookie` header (may be empty).
    pub fn post(base: &str, path: &str, cookies: &str, fields: &[(&str, &str)]) -> Self {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let url: reqwest::Url = format!("{base}{path}").parse().unwrap();
        let host = url.host_str().unwrap();
        let port = url.port().unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nCookie: {cookies}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        Self { base: base.to_owned(), bytes: [head.into_bytes(), body.into_bytes()].concat() }
    }
}

#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawResponse {
    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

/// Sends every request at the same moment; the responses in the same order.
pub async fn burst(requests: &[RawRequest]) -> Vec<RawResponse> {
    let mut streams = Vec::with_capacity(requests.len());
    for r in requests {
        let addr = r.base.trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        stream.write_all(&r.bytes[..r.bytes.len() - 1]).await.unwrap();
        streams.push(stream);
    }
    // Let the server read every partial request and wait for its last byte.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (stream, r) in streams.iter_mut().zip(requests) {
        stream.write_all(&r.bytes[r.bytes.len() - 1..]).await.unwrap();
    }
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut raw = Vec::new();
                tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
                    .await
                    .expect("a response within 60 s")
                    .unwrap();
                parse(&raw)
            })
        })
        .collect();
    let mut out = Vec::with_capacity(readers.len());
    for r in readers {
        out.push(r.await.unwrap());
    }
    out
}

/// Sends one request whose body the server may refuse before reading it all
/// (a 413): the body is written while the response is read, so a server that
/// answers and closes early is heard, not reported as a broken pipe. What
/// arrived before a reset is the response.
pub async fn send_while_reading(request: &RawRequest) -> RawResponse {
    let addr = request.base.trim_start_matches("http://").to_owned();
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let bytes = request.bytes.clone();
    let writer = tokio::spawn(async move {
        // The server may stop reading and close: that refusal is the point.
        let _ = write.write_all(&bytes).await;
        write
    });
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), read.read(&mut chunk)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => raw.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Ok(Err(e)) => panic!("reading the response: {e}"),
            Err(_) => panic!("no response within 60 s"),
        }
    }
    drop(writer.await);
    parse(&raw)
}

fn parse(raw: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    RawResponse { status, head: head.to_owned(), body: body.to_owned() }
}

/// How many responses had each status, sorted: `[(401, 19), (429, 281)]`.
pub fn statuses(responses: &[RawResponse]) -> Vec<(u16, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for r in responses {
        *counts.entry(r.status).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}
