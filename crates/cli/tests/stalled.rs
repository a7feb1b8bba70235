//! A real `kapu serve` under `ulimit -n 1024`, with its default server
//! settings: a thousand connections from one address (127.0.0.2) that never
//! finish their header do not keep a citizen at another address (127.0.0.3)
//! waiting. Past `server.max_connections_per_address` they are closed at
//! accept; the rest are closed when `server.header_timeout_seconds` ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const STALLED: usize = 1000;

async fn connect_from(local: &str, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{local}:0").parse().unwrap())?;
    socket.connect(server).await
}

/// One request from `local`: the whole answer and how long it took.
async fn request_from(local: &str, server: SocketAddr, path: &str) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = connect_from(local, server).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_stalled_connections_from_one_address_do_not_starve_another() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("sh")
        .args(["-c", "ulimit -n 1024 && exec \"$@\"", "sh", env!("CARGO_BIN_EXE_kapu"), "--data-dir"])
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("KAPU_DATABASE_URL")
        .env_remove("KAPU_CONFIG")
        .env("KAPU_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let server: SocketAddr = first
        .strip_prefix("kapu listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let open_files = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    assert_eq!(open_files.split_whitespace().nth(3), Some("1024"), "{open_files}");

    // A thousand connections from 127.0.0.2, each with half a header.
    let opened = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut stream = connect_from("127.0.0.2", server).await.unwrap();
        // Closed at once when over the cap: the write may then fail.
        let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: kapu\r\n").await;
        stalled.push(stream);
    }
    let opened = opened.elapsed();

    // The citizen at 127.0.0.3 is answered at once, page and all.
    for path in ["/readyz", "/login"] {
        let (answer, took) = request_from("127.0.0.3", server, path).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{path}: {answer}");
        assert!(took < Duration::from_secs(3), "{path} took {took:?}");
    }

    // All but the per-address cap (64 by default) were closed at accept, and
    // counted; the others end with the header timeout (10 s by default).
    let (body, _) = request_from("127.0.0.1", server, "/metrics").await;
    let refused: usize = body
        .lines()
        .find(|l| l.starts_with("kapu_refused_total{outcome=\"connections_per_address\"}"))
        .unwrap_or_else(|| panic!("no refused connections counted:\n{body}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    if opened < Duration::from_secs(8) {
        // None of the admitted ones can have timed out yet: the count is exact.
        assert_eq!(refused, STALLED - 64, "opened in {opened:?}");
    } else {
        assert!(refused >= STALLED - 64 - 64, "{refused} (opened in {opened:?})");
    }
    let mut closed = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    for stream in &mut stalled {
        let mut buf = [0u8; 512];
        let left = deadline.saturating_duration_since(Instant::now());
        // EOF, a reset, or the 408 hyper may write before closing: all closed.
        loop {
            match tokio::time::timeout(left, stream.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
    }
    assert_eq!(closed, STALLED, "every stalled connection is closed within the header timeout");

    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}
