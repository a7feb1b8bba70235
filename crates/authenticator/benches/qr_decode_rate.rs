//! The QR decode-rate benchmark: on the corpus of scripts/qr-corpus (kapu's
//! own set-up page and qrencode pictures, transformed as citizens'
//! screenshots and photos are), how many images each decoder reads:
//! zbarimg (the reference), the terminal's (`authenticator::qr::decode`) and
//! the browser page's (written by browser/tests/authenticator.test.mjs to
//! `page-results.tsv` in the corpus directory). Prints one table; asserts
//! nothing (the tests do).
//!
//! ```sh
//! cargo test -p kapu-cli --test otp corpus        # builds target/qr-corpus
//! cargo bench -p authenticator --bench qr_decode_rate
//! cargo test -p authenticator --bench qr_decode_rate   # the same, unoptimised
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn corpus_dir() -> PathBuf {
    std::env::var_os("KAPU_QR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/qr-corpus"))
}

fn zbarimg(file: &Path) -> Option<Vec<String>> {
    let out = Command::new("zbarimg").args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable"]).arg(file).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
}

#[derive(Default)]
struct Row {
    images: usize,
    zbar: usize,
    terminal: usize,
    page: usize,
    page_seen: usize,
    terminal_time: Duration,
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 { "-".to_owned() } else { format!("{n}/{of} ({:.0} %)", 100.0 * n as f64 / of as f64) }
}

fn main() {
    let dir = corpus_dir();
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.tsv")) else {
        println!(
            "qr_decode_rate: no corpus at {}: build it with `cargo test -p kapu-cli --test otp corpus`",
            dir.display()
        );
        return;
    };
    let page: Vec<(String, bool)> = std::fs::read_to_string(dir.join("page-results.tsv"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(f, ok)| (f.to_owned(), ok == "1")))
        .collect();
    let have_zbar = zbarimg(Path::new("/dev/null")).is_some();
    let mut groups: Vec<(String, Row)> = Vec::new();
    let mut behind_zbar = Vec::new();
    for line in manifest.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [file, group, _transform, source] = fields[..] else { continue };
        let expected = std::fs::read_to_string(dir.join("expected").join(format!("{source}.txt"))).unwrap();
        let path = dir.join(file);
        let bytes = std::fs::read(&path).unwrap();
        let start = Instant::now();
        let ours = authenticator::qr::decode(&bytes).is_ok_and(|t| t.iter().any(|t| t.as_str() == expected));
        let took = start.elapsed();
        let zbar = have_zbar && zbarimg(&path).is_some_and(|t| t.contains(&expected));
        if zbar && !ours {
            behind_zbar.push(format!("terminal: {file}"));
        }
        let row = match groups.iter().position(|(g, _)| g == group) {
            Some(i) => &mut groups[i].1,
            None => {
                groups.push((group.to_owned(), Row::default()));
                &mut groups.last_mut().unwrap().1
            }
        };
        row.images += 1;
        row.zbar += usize::from(zbar);
        row.terminal += usize::from(ours);
        row.terminal_time += took;
        if let Some((_, ok)) = page.iter().find(|(f, _)| f == file) {
            row.page_seen += 1;
            row.page += usize::from(*ok);
            if zbar && !ok {
                behind_zbar.push(format!("page: {file}"));
            }
        }
    }
    let mut total = Row::default();
    println!("QR decode rate on {} ({} images)", dir.display(), manifest.lines().count());
    println!(
        "{:<13} {:>6}  {:<16} {:<16} {:<16} {:>12}",
        "group", "images", "zbarimg", "terminal", "page", "terminal ms"
    );
    for (group, r) in &groups {
        println!(
            "{group:<13} {:>6}  {:<16} {:<16} {:<16} {:>12.1}",
            r.images,
            pct(r.zbar, r.images),
            pct(r.terminal, r.images),
            pct(r.page, r.page_seen),
            r.terminal_time.as_secs_f64() * 1000.0 / r.images as f64
        );
        total.images += r.images;
        total.zbar += r.zbar;
        total.terminal += r.terminal;
        total.page += r.page;
        total.page_seen += r.page_seen;
        total.terminal_time += r.terminal_time;
    }
    println!(
        "{:<13} {:>6}  {:<16} {:<16} {:<16} {:>12.1}",
        "all",
        total.images,
        pct(total.zbar, total.images),
        pct(total.terminal, total.images),
        pct(total.page, total.page_seen),
        total.terminal_time.as_secs_f64() * 1000.0 / total.images.max(1) as f64
    );
    for miss in &behind_zbar {
        println!("read by zbarimg, missed by the {miss}");
    }
    if !have_zbar {
        println!("(zbarimg is not installed: apt-get install -y zbar-tools)");
    }
    if page.is_empty() {
        println!("(no page results yet: run browser/tests/authenticator.test.mjs)");
    }
}
