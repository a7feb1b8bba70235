//! `kapu otp` as a citizen and a script use it: the real binary on a vault
//! in a temporary directory. Codes are checked against RFC 6238's vectors
//! and an independent implementation (Debian's `oathtool`); QR images come
//! from `qrencode`, from the qrcode crate, and a "photo" made from one; the
//! Google export and the Aegis vaults are built here the way those apps
//! build them; the full-screen view runs in tmux.
//!
//! Needs `oathtool`, `qrencode` and `tmux` (`.ci/run` installs them). When
//! one is missing, its test prints a loud SKIPPED banner and passes, except
//! under CI=true, where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use data_encoding::{BASE32_NOPAD, BASE64, HEXLOWER};
use image::{GrayImage, ImageEncoder, Luma, Rgb, RgbImage, imageops};
use serde_json::Value;

const PASS: &str = "a test vault passphrase";
/// 2026-01-01 00:00:00 UTC.
const NEW_YEAR_2026: u64 = 1_767_225_600;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// A vault in its own temporary directory, and the `kapu otp` command on it.
struct TestVault {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl TestVault {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("authenticator.vault");
        Self { dir, path }
    }

    /// `kapu otp ...` with the vault and passphrase in the environment, no
    /// terminal, and a cheap KDF (the default costs ~0.5 s per run).
    fn kapu(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kapu"));
        c.arg("otp")
            .env("KAPU_VAULT", &self.path)
            .env("KAPU_VAULT_PASSPHRASE", PASS)
            .env("KAPU_VAULT_KDF_LOG_N", "10")
            .env("KAPU_LOG", "warn")
            .env("NO_COLOR", "1")
            .env_remove("KAPU_BACKUP_PASSPHRASE")
            .env_remove("KAPU_OTP_NOW")
            .env_remove("KAPU_CONFIG")
            .env_remove("KAPU_DATABASE_URL")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        ok(self.kapu().args(args))
    }

    fn fail(&self, args: &[&str]) -> String {
        fail(self.kapu().args(args))
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }

    /// `list --json` at `now`: the accounts array.
    fn accounts_at(&self, now: u64) -> Vec<Value> {
        let out = ok(self.kapu().args(["list", "--json"]).env("KAPU_OTP_NOW", now.to_string()));
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
        v["accounts"].as_array().unwrap().clone()
    }

    fn names(&self) -> Vec<String> {
        self.accounts_at(NEW_YEAR_2026).iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect()
    }
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fail(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "{cmd:?} should fail\nstdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

fn with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Whether the external program `name` (Debian package `package`) is there.
/// Missing: under CI=true the test fails; otherwise it says so loudly and
/// the caller returns.
fn have_tool(name: &str, package: &str) -> bool {
    let found =
        std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()));
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("`{name}` is not installed and CI=true: this test may not be skipped (apt-get install -y {package})");
    }
    let bang = "!".repeat(78);
    eprintln!(
        "\n{bang}\n!!  SKIPPED: `{name}` is not installed (apt-get install -y {package}).\n!!  Under CI=true this test FAILS instead.\n{bang}\n"
    );
    false
}

fn png(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)
        .unwrap();
    out
}

/// The QR code of `text` drawn by the qrcode crate, `scale` pixels a module.
fn qr_image(text: &str, scale: u32) -> GrayImage {
    let (grid, side) = authenticator::qr::modules(text, 4).unwrap();
    let side = u32::try_from(side).unwrap();
    GrayImage::from_fn(side * scale, side * scale, |x, y| {
        Luma([if grid[usize::try_from((y / scale) * side + x / scale).unwrap()] { 0 } else { 255 }])
    })
}

// ---------------------------------------------------------------------------
// Codes: RFC 6238 and oathtool
// ---------------------------------------------------------------------------

const RFC_TIMES: [u64; 6] = [59, 1_111_111_109, 1_111_111_111, 1_234_567_890, 2_000_000_000, 20_000_000_000];
const RFC_CODES: [(&str, &[u8], [&str; 6]); 3] = [
    ("SHA1", b"12345678901234567890", ["94287082", "07081804", "14050471", "89005924", "69279037", "65353130"]),
    (
        "SHA256",
        b"12345678901234567890123456789012",
        ["46119246", "68084774", "67062674", "91819424", "90698825", "77737706"],
    ),
    (
        "SHA512",
        b"1234567890123456789012345678901234567890123456789012345678901234",
        ["90693936", "25091201", "99943326", "93441116", "38618901", "47863826"],
    ),
];

#[test]
fn codes_match_rfc6238_vectors() {
    let v = TestVault::new();
    for (alg, key, _) in RFC_CODES {
        let key = BASE32_NOPAD.encode(key);
        v.ok(&["add", "--issuer", "rfc6238", "--account", alg, "--key", &key, "--algorithm", alg, "--digits", "8"]);
    }
    for (t, time) in RFC_TIMES.iter().enumerate() {
        let accounts = v.accounts_at(*time);
        for (a, (alg, _, codes)) in RFC_CODES.iter().enumerate() {
            assert_eq!(accounts[a]["code"], codes[t], "{alg} at {time}");
        }
    }
}

fn oathtool(algorithm: &str, digits: u8, period: u64, now: &str, key: &str) -> String {
    let out = Command::new("oathtool")
        .arg(format!("--totp={}", algorithm.to_lowercase()))
        .arg(format!("--digits={digits}"))
        .arg(format!("--time-step-size={period}s"))
        .args(["--now", now, "-b", key])
        .output()
        .unwrap();
    assert!(out.status.success(), "oathtool: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn codes_match_oathtool() {
    if !have_tool("oathtool", "oathtool") {
        return;
    }
    // oathtool itself against the RFC, so that a broken tool cannot make
    // this test pass.
    for (alg, key, codes) in RFC_CODES {
        assert_eq!(oathtool(alg, 8, 30, "@59", &BASE32_NOPAD.encode(key)), codes[0]);
    }
    let v = TestVault::new();
    let mut expected = Vec::new();
    for alg in ["SHA1", "SHA256", "SHA512"] {
        for digits in [6u8, 7, 8] {
            for period in [15u64, 30, 60] {
                // Random keys of several lengths (10 to 64 bytes).
                let len = [10, 20, 32, 64][expected.len() % 4];
                let key = otp::Secret::generate(len.max(16)).unwrap();
                let key = key.to_base32().to_string();
                let name = format!("{alg}-{digits}-{period}");
                v.ok(&[
                    "add",
                    "--issuer",
                    "oath",
                    "--account",
                    &name,
                    "--key",
                    &key,
                    "--algorithm",
                    alg,
                    "--digits",
                    &digits.to_string(),
                    "--period",
                    &period.to_string(),
                ]);
                expected.push((alg, digits, period, key));
            }
        }
    }
    for (now, text) in [
        (NEW_YEAR_2026, "2026-01-01 00:00:00 UTC".to_owned()),
        (NEW_YEAR_2026 + 86_399 + 7 * 86_400, format!("@{}", NEW_YEAR_2026 + 86_399 + 7 * 86_400)),
    ] {
        let accounts = v.accounts_at(now);
        assert_eq!(accounts.len(), expected.len());
        for (account, (alg, digits, period, key)) in accounts.iter().zip(&expected) {
            assert_eq!(
                account["code"].as_str().unwrap(),
                oathtool(alg, *digits, *period, &text, key),
                "{alg}, {digits} digits, {period} s, at {text}"
            );
            assert_eq!(account["period"], *period);
        }
    }
}

// ---------------------------------------------------------------------------
// add: every form, every parameter, and errors that change nothing
// ---------------------------------------------------------------------------

#[test]
fn add_by_uri_honours_every_parameter() {
    let v = TestVault::new();
    let out = v.ok(&[
        "add",
        "--uri",
        "otpauth://totp/Old%20Label:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME+Co&algorithm=SHA512&digits=8&period=60",
        "--color",
        "green",
    ]);
    assert_eq!(out, "added: #1 ACME Co:alice (TOTP, SHA512, 8 digits, 60 s)\n", "issuer parameter wins, + is a space");
    // From standard input, which keeps the key out of the process list.
    let o = with_stdin(
        v.kapu().args(["add", "--uri", "-"]),
        b"otpauth://hotp/Bank:bob?secret=MFRGGZDFMZTWQ2LK&issuer=Bank&counter=7&digits=7\n",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let accounts = v.accounts_at(NEW_YEAR_2026 + 100);
    assert_eq!(accounts[0]["algorithm"], "SHA512");
    assert_eq!(accounts[0]["digits"], 8);
    assert_eq!(accounts[0]["period"], 60);
    assert_eq!(accounts[0]["color"], "green");
    assert_eq!(accounts[0]["code"].as_str().unwrap().len(), 8);
    assert_eq!(accounts[1]["type"], "hotp");
    assert_eq!(accounts[1]["counter"], 7);

    // HOTP: each `code` shows the code of the counter and moves it on.
    let hotp =
        otp::Hotp::new(otp::Secret::from_base32("MFRGGZDFMZTWQ2LK").unwrap(), otp::Algorithm::Sha1, otp::Digits::SEVEN);
    let first: Value = serde_json::from_str(&v.ok(&["code", "bank", "--json"])).unwrap();
    assert_eq!(first, serde_json::json!({"name": "Bank:bob", "code": hotp.code_at(7), "counter": 7}));
    let second = v.ok(&["code", "bank"]);
    assert!(second.starts_with(&format!("Bank:bob  {}  (HOTP code number 8", hotp.code_at(8))), "{second}");
    assert_eq!(v.accounts_at(0)[1]["counter"], 9, "the counter is saved in the vault");
}

#[test]
fn add_by_hand_and_code_json() {
    let v = TestVault::new();
    let out =
        v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "jbsw y3dp ehpk 3pxp", "--color", "Purple"]);
    assert_eq!(out, "added: #1 kapu:imre (TOTP, SHA1, 6 digits, 30 s)\n");
    v.ok(&["add", "--issuer", "kapu-teszt", "--account", "imre", "--key", "GEZDGNBVGY3TQOJQ", "--period", "45"]);
    let totp = |key: &str, period: u64| {
        otp::Totp::new(
            otp::Secret::from_base32(key).unwrap(),
            otp::Algorithm::Sha1,
            otp::Digits::SIX,
            otp::Period::new(period).unwrap(),
        )
    };
    let imre = totp("JBSWY3DPEHPK3PXP", 30);

    // 10 s left: no next code.
    let at = NEW_YEAR_2026 + 20;
    let j: Value =
        serde_json::from_str(&ok(v.kapu().args(["code", "KAPU", "--json"]).env("KAPU_OTP_NOW", at.to_string())))
            .unwrap();
    assert_eq!(j, serde_json::json!({"name": "kapu:imre", "code": imre.code_at(at), "seconds_left": 10, "period": 30}));
    // 4 s left: the next code too, and a warning in the text form.
    let at = NEW_YEAR_2026 + 26;
    let j: Value =
        serde_json::from_str(&ok(v.kapu().args(["code", "kapu", "--json"]).env("KAPU_OTP_NOW", at.to_string())))
            .unwrap();
    assert_eq!(j["seconds_left"], 4);
    assert_eq!(j["next_code"], imre.code_at(at + 4));
    let text = ok(v.kapu().args(["code", "kapu:imre"]).env("KAPU_OTP_NOW", at.to_string()));
    assert!(text.starts_with(&format!("kapu:imre  {}  (4 s left of 30)\n! only 4 s left", imre.code_at(at))), "{text}");
    assert!(text.contains(&imre.code_at(at + 4)));

    // list: every account, code and seconds left, the warning where due.
    let list = ok(v.kapu().arg("list").env("KAPU_OTP_NOW", at.to_string()));
    assert!(list.contains(&format!("#1  kapu:imre        {}   4 s left", imre.code_at(at))), "{list}");
    assert!(list.contains(&format!("#2  kapu-teszt:imre  {}", totp("GEZDGNBVGY3TQOJQ", 45).code_at(at))), "{list}");
    assert_eq!(ok(v.kapu().arg("code").env("KAPU_OTP_NOW", at.to_string())), list, "code without a name lists");

    // Names: ambiguous substrings are refused with the matches listed.
    let e = v.fail(&["code", "imre"]);
    assert!(e.contains("\"imre\" matches 2 accounts: #1 kapu:imre, #2 kapu-teszt:imre"), "{e}");
    assert!(v.fail(&["code", "google"]).contains("no account matches \"google\""));
    assert!(v.ok(&["code", "#2"]).starts_with("kapu-teszt:imre  "));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let v = TestVault::new();
    // Before any vault exists, a failed add does not create one.
    let e = v.fail(&["add", "--issuer", "x", "--account", "y", "--key", "JBSW1Y3DP"]);
    assert!(e.contains("not valid base32: invalid character '1' at position 5"), "{e}");
    assert!(!v.path.exists(), "no vault created by a failed add");

    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    let before = v.bytes();
    let e = v.fail(&["add", "--account", "y", "--key", "JBSWY3DP-EHPK3PXP"]);
    assert!(e.contains("not valid base32") && e.contains("nothing was added"), "{e}");
    let e = v.fail(&["add", "--uri", "https://example.com/?secret=JBSWY3DPEHPK3PXP"]);
    assert!(e.contains("not an otpauth:// URI"), "{e}");
    let e = v.fail(&["add", "--uri", "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=9"]);
    assert!(e.contains("unsupported number of digits \"9\""), "{e}");
    let blank = v.file("blank.png");
    std::fs::write(&blank, png(&GrayImage::from_pixel(400, 300, Luma([255])))).unwrap();
    let e = v.fail(&["add", "--qr", blank.to_str().unwrap()]);
    assert!(e.contains("no QR code was found in the image") && e.contains("nothing was added"), "{e}");
    let not_image = v.file("notes.txt");
    std::fs::write(&not_image, "hello").unwrap();
    assert!(v.fail(&["add", "--qr", not_image.to_str().unwrap()]).contains("not a PNG, JPEG, GIF, WebP or BMP image"));
    let e = v.fail(&["add", "--issuer", "again", "--account", "same key", "--key", "JBSWY3DPEHPK3PXP"]);
    assert!(e.contains("already in the vault with the same settings as #1 kapu:imre"), "{e}");
    let e = v.fail(&["add", "--issuer", "x", "--account", "y", "--key", "JBSWY3DPEHPK3PXP", "--digits", "5"]);
    assert!(e.contains("6, 7 or 8 digits"), "{e}");
    assert!(v.fail(&["add"]).contains("--uri URI, --qr IMAGE, or --issuer"));
    assert_eq!(v.bytes(), before, "the vault file was not touched");
    assert_eq!(v.names(), ["kapu:imre"]);
}

#[test]
fn add_from_qr_images_rendered_and_photographed() {
    let v = TestVault::new();
    let uri =
        "otpauth://totp/Ügyfélkapu:kovacs.janos?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=%C3%9Cgyf%C3%A9lkapu";
    let rendered = v.file("rendered.png");
    std::fs::write(&rendered, png(&qr_image(uri, 8))).unwrap();
    assert_eq!(
        v.ok(&["add", "--qr", rendered.to_str().unwrap()]),
        "added: #1 Ügyfélkapu:kovacs.janos (TOTP, SHA1, 6 digits, 30 s)\n"
    );

    // A photo of a screen: scaled by a non-integer factor, on a wide uneven
    // background, blurred, noisy, in colour, JPEG-compressed.
    let uri2 = "otpauth://totp/Photo:anna?secret=ORSXG5BAMFRGGZDFORSXG5BAMFRGGZDF&issuer=Photo&algorithm=SHA256";
    let qr = qr_image(uri2, 7);
    let w = (f64::from(qr.width()) * 1.37) as u32;
    let scaled = imageops::resize(&qr, w, w, imageops::FilterType::Triangle);
    let (cw, ch) = (w * 3, w * 2 + 200);
    let mut canvas = GrayImage::from_fn(cw, ch, |x, y| Luma([170 + u8::try_from((x / 9 + y / 13) % 40).unwrap()]));
    imageops::overlay(&mut canvas, &scaled, i64::from(w) + 37, 123);
    let blurred = imageops::blur(&canvas, 1.3);
    let mut seed: u32 = 12345;
    let photo = RgbImage::from_fn(cw, ch, |x, y| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let noise = i32::try_from((seed >> 16) % 41).unwrap() - 20;
        let l = i32::from(blurred.get_pixel(x, y).0[0]) + noise;
        let c = |d: i32| u8::try_from((l + d).clamp(0, 255)).unwrap();
        Rgb([c(8), c(0), c(-10)])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 55)
        .write_image(photo.as_raw(), cw, ch, image::ExtendedColorType::Rgb8)
        .unwrap();
    let photo_path = v.file("photo.jpg");
    std::fs::write(&photo_path, &jpeg).unwrap();
    assert_eq!(
        v.ok(&["add", "--qr", photo_path.to_str().unwrap()]),
        "added: #2 Photo:anna (TOTP, SHA256, 6 digits, 30 s)\n"
    );

    // A QR code that is not an otpauth URI.
    let other = v.file("website.png");
    std::fs::write(&other, png(&qr_image("https://ugyfelkapu.gov.hu/", 6))).unwrap();
    assert!(v.fail(&["add", "--qr", other.to_str().unwrap()]).contains("not an otpauth:// URI"));
    assert_eq!(v.names(), ["Ügyfélkapu:kovacs.janos", "Photo:anna"]);
}

#[test]
fn add_from_qrencode_png() {
    if !have_tool("qrencode", "qrencode") {
        return;
    }
    let v = TestVault::new();
    let file = v.file("qrencode.png");
    let uri = "otpauth://totp/kapu:szucs.imre?secret=JBSWY3DPEHPK3PXP&issuer=kapu&digits=8&period=30";
    let status = Command::new("qrencode").arg("-o").arg(&file).arg(uri).status().unwrap();
    assert!(status.success());
    assert_eq!(
        v.ok(&["add", "--qr", file.to_str().unwrap()]),
        "added: #1 kapu:szucs.imre (TOTP, SHA1, 8 digits, 30 s)\n"
    );
    let expected = otp::Totp::new(
        otp::Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
        otp::Algorithm::Sha1,
        otp::Digits::EIGHT,
        otp::Period::DEFAULT,
    );
    assert_eq!(v.accounts_at(NEW_YEAR_2026)[0]["code"], expected.code_at(NEW_YEAR_2026));
    // Dark mode (inverted) and small (2 pixels a module) screenshots too.
    let inverted = v.file("inverted.png");
    let status = Command::new("qrencode")
        .args(["-s", "2", "--foreground=FFFFFF", "--background=000000", "-o"])
        .arg(&inverted)
        .arg("otpauth://totp/dark:mode?secret=GEZDGNBVGY3TQOJQ")
        .status()
        .unwrap();
    assert!(status.success());
    assert!(v.ok(&["add", "--qr", inverted.to_str().unwrap()]).starts_with("added: #2 dark:mode"));
}

#[test]
fn qr_shows_a_scannable_code() {
    let v = TestVault::new();
    let uri = "otpauth://totp/kapu:imre?secret=JBSWY3DPEHPK3PXP&issuer=kapu&algorithm=SHA1&digits=6&period=30";
    v.ok(&["add", "--uri", uri]);
    let out = v.ok(&["qr", "imre"]);
    assert!(out.contains("do not let anyone else see"));
    // Read the half blocks back into modules, draw them, and scan them.
    let rows: Vec<Vec<char>> = out
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| matches!(c, ' ' | '█' | '▀' | '▄')))
        .map(|l| l.chars().collect())
        .collect();
    let side = rows[0].len();
    let height = rows.len() * 2;
    let scale = 6;
    let img =
        GrayImage::from_fn(u32::try_from(side * scale).unwrap(), u32::try_from(height * scale).unwrap(), |x, y| {
            let (x, y) = (x as usize / scale, y as usize / scale);
            let c = rows[y / 2].get(x).copied().unwrap_or(' ');
            let dark = if y % 2 == 0 { matches!(c, '█' | '▀') } else { matches!(c, '█' | '▄') };
            Luma([if dark { 0 } else { 255 }])
        });
    let mut quiet = GrayImage::from_pixel(img.width() + 48, img.height() + 48, Luma([255]));
    imageops::overlay(&mut quiet, &img, 24, 24);
    let texts = authenticator::qr::decode(&png(&quiet)).unwrap();
    assert_eq!(texts[0].as_str(), uri);
}

// ---------------------------------------------------------------------------
// export / import
// ---------------------------------------------------------------------------

fn three_accounts(v: &TestVault) {
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP", "--color", "red"]);
    v.ok(&["add", "--uri", "otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQ&counter=3&algorithm=SHA256"]);
    v.ok(&[
        "add",
        "--issuer",
        "",
        "--account",
        "no issuer",
        "--key",
        "MFRGGZDFMZTWQ2LK",
        "--digits",
        "8",
        "--period",
        "60",
    ]);
}

#[test]
fn export_is_the_shared_format_and_round_trips() {
    let v = TestVault::new();
    three_accounts(&v);
    let plain: Value = serde_json::from_str(&v.ok(&["export"])).unwrap();
    assert_eq!(
        plain,
        serde_json::json!({"format": "kapu-authenticator", "version": 1, "accounts": [
            {"issuer": "kapu", "account": "imre", "secret": "JBSWY3DPEHPK3PXP", "type": "totp", "algorithm": "SHA1",
             "digits": 6, "period": 30, "counter": 0, "color": "red"},
            {"issuer": "Bank", "account": "bob", "secret": "GEZDGNBVGY3TQOJQ", "type": "hotp", "algorithm": "SHA256",
             "digits": 6, "period": 30, "counter": 3, "color": "blue"},
            {"issuer": "", "account": "no issuer", "secret": "MFRGGZDFMZTWQ2LK", "type": "totp", "algorithm": "SHA1",
             "digits": 8, "period": 60, "counter": 0, "color": "blue"}
        ]})
    );

    // Plain to a file, into a new vault.
    let file = v.file("backup.json");
    ok(v.kapu().args(["export", "-o"]).arg(&file));
    let w = TestVault::new();
    let out = w.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("added: kapu:imre\nadded: Bank:bob\nadded: no issuer\n"), "{out}");
    assert!(out.contains("3 added, 0 renamed, 0 recoloured, 0 unchanged, 0 skipped; nothing deleted"), "{out}");
    assert_eq!(serde_json::from_str::<Value>(&w.ok(&["export"])).unwrap(), plain);

    // Encrypted, with its own passphrase; wrong or missing passphrase: nothing imported.
    let sealed = v.file("backup.enc.json");
    ok(v.kapu()
        .args(["export", "--encrypted", "-o"])
        .arg(&sealed)
        .env("KAPU_BACKUP_PASSPHRASE", "backup passphrase 1"));
    let text = std::fs::read_to_string(&sealed).unwrap();
    assert!(text.contains("\"format\": \"kapu-authenticator-encrypted\"") && !text.contains("JBSWY3DPEHPK3PXP"));
    let e = fail(v.kapu().args(["export", "--encrypted"]).env("KAPU_BACKUP_PASSPHRASE", "short"));
    assert!(e.contains("at least 8 characters"), "{e}");
    let x = TestVault::new();
    let e = x.fail(&["import", sealed.to_str().unwrap()]);
    assert!(e.contains("is encrypted: set KAPU_BACKUP_PASSPHRASE"), "{e}");
    let e = fail(x.kapu().args(["import"]).arg(&sealed).env("KAPU_BACKUP_PASSPHRASE", "wrong passphrase"));
    assert!(e.contains("wrong password for the encrypted kapu backup") && e.contains("nothing was imported"), "{e}");
    assert!(!x.path.exists());
    let out = ok(x.kapu().args(["import"]).arg(&sealed).env("KAPU_BACKUP_PASSPHRASE", "backup passphrase 1"));
    assert!(out.contains("(encrypted kapu backup): 3 added"), "{out}");
    assert_eq!(serde_json::from_str::<Value>(&x.ok(&["export"])).unwrap(), plain);

    // From standard input, and a plain list of URIs.
    let y = TestVault::new();
    let o = with_stdin(
        y.kapu().args(["import", "-"]),
        b"# from my notes\notpauth://totp/kapu:imre?secret=JBSWY3DPEHPK3PXP\n\notpauth://totp/Other:x?secret=ORSXG5BA\n",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(y.names(), ["kapu:imre", "Other:x"]);
}

#[test]
fn restore_matches_by_key_renames_adds_and_deletes_nothing() {
    let v = TestVault::new();
    three_accounts(&v);
    v.ok(&["code", "bank"]); // counter 3 -> 4
    let backup = serde_json::json!({"format": "kapu-authenticator", "version": 1, "accounts": [
        {"issuer": "Ügyfélkapu", "account": "imre", "secret": "jbswy3dpehpk3pxp", "color": "red", "future-field": 1},
        {"issuer": "Bank", "account": "bob", "secret": "GEZDGNBVGY3TQOJQ", "type": "hotp", "algorithm": "SHA256", "counter": 1},
        {"issuer": "New", "account": "one", "secret": "ORSXG5BAMFRGGZDF", "type": "totp", "period": 30}
    ]});
    let file = v.file("restore.json");
    std::fs::write(&file, backup.to_string()).unwrap();
    let out = v.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(
        out.lines().take(3).collect::<Vec<_>>(),
        ["renamed: kapu:imre → Ügyfélkapu:imre", "unchanged: Bank:bob", "added: New:one"],
        "{out}"
    );
    assert_eq!(v.names(), ["Ügyfélkapu:imre", "Bank:bob", "no issuer", "New:one"], "nothing deleted");
    assert_eq!(v.accounts_at(0)[1]["counter"], 4, "an HOTP counter never goes back");
    // A bad account in the file is skipped with a line saying why; the
    // rest is imported.
    let bad = serde_json::json!({"format": "kapu-authenticator", "version": 1, "accounts": [
        {"issuer": "Fine", "account": "x", "secret": "NBSWY3DP"},
        {"issuer": "Broken", "account": "y", "secret": "NOT BASE32 1"}
    ]});
    std::fs::write(&file, bad.to_string()).unwrap();
    let out = v.ok(&["import", file.to_str().unwrap()]);
    assert!(out.contains("added: Fine:x\n"), "{out}");
    assert!(out.contains("skipped: entry 2 \"Broken:y\": the secret key is not valid base32"), "{out}");
    assert!(out.contains("1 added, 0 renamed, 0 recoloured, 0 unchanged, 1 skipped"), "{out}");
    // A file that is not a backup at all: nothing is imported.
    std::fs::write(&file, b"{\"format\": \"kapu-authenticator\", \"version\": 1, \"acc").unwrap();
    let before = v.bytes();
    assert!(v.fail(&["import", file.to_str().unwrap()]).contains("nothing was imported"));
    assert_eq!(v.bytes(), before);
}

/// Percent-encodes `text` for a URI query value.
fn query_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[test]
fn import_google_authenticator_export_as_text_and_image() {
    use authenticator::import::google::{DigitCount, MigrationAlgorithm, MigrationPayload, OtpParameters, OtpType};
    let param = |name: &str, issuer: &str, secret: &[u8], algorithm, digits, kind, counter| OtpParameters {
        secret: secret.to_vec(),
        name: name.to_owned(),
        issuer: issuer.to_owned(),
        algorithm: algorithm as i32,
        digits: digits as i32,
        r#type: kind as i32,
        counter,
    };
    let payload = MigrationPayload {
        otp_parameters: vec![
            param(
                "kapu:imre",
                "kapu",
                b"Hello!\xde\xad\xbe\xef",
                MigrationAlgorithm::Sha1,
                DigitCount::Six,
                OtpType::Totp,
                0,
            ),
            param(
                "alice@example.com",
                "Example",
                b"12345678901234567890",
                MigrationAlgorithm::Sha256,
                DigitCount::Eight,
                OtpType::Totp,
                0,
            ),
            param("counter", "", b"abcdefghijklmnop", MigrationAlgorithm::Sha1, DigitCount::Six, OtpType::Hotp, 12),
            param("legacy", "Old", b"0123456789", MigrationAlgorithm::Md5, DigitCount::Six, OtpType::Totp, 0),
        ],
        version: 1,
        batch_size: 1,
        batch_index: 0,
        batch_id: -1_512_370_113,
    };
    let uri = format!(
        "otpauth-migration://offline?data={}",
        query_encode(&BASE64.encode(&prost::Message::encode_to_vec(&payload)))
    );
    let check = |v: &TestVault, out: &str| {
        assert!(out.contains("added: kapu:imre\nadded: Example:alice@example.com\nadded: counter\n"), "{out}");
        assert!(out.contains(", account 4 \"Old:legacy\": MD5 codes are not supported"), "{out}");
        let accounts = v.accounts_at(59);
        assert_eq!(
            accounts[0]["code"],
            otp::Totp::new(
                otp::Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
                otp::Algorithm::Sha1,
                otp::Digits::SIX,
                otp::Period::DEFAULT,
            )
            .code_at(59)
        );
        let sha256 = otp::Totp::new(
            otp::Secret::from_slice(b"12345678901234567890").unwrap(),
            otp::Algorithm::Sha256,
            otp::Digits::EIGHT,
            otp::Period::DEFAULT,
        );
        assert_eq!(accounts[1]["code"], sha256.code_at(59));
        assert_eq!(accounts[2]["counter"], 12);
    };
    let v = TestVault::new();
    let file = v.file("google.txt");
    std::fs::write(&file, format!("{uri}\n")).unwrap();
    check(&v, &v.ok(&["import", file.to_str().unwrap()]));

    let w = TestVault::new();
    let image = w.file("google.png");
    std::fs::write(&image, png(&qr_image(&uri, 5))).unwrap();
    let out = w.ok(&["import", image.to_str().unwrap()]);
    assert!(out.contains("(QR image): 3 added"), "{out}");
    check(&w, &out);
    // add --qr points at import for such a code.
    assert!(
        w.fail(&["add", "--qr", image.to_str().unwrap()])
            .contains("is a Google Authenticator export: use `kapu otp import")
    );
}

/// An Aegis vault's entries, as Aegis 3.x writes them.
fn aegis_db() -> Value {
    serde_json::json!({"version": 3, "entries": [
        {"type": "totp", "uuid": "0b3a0c3e-8b4f-4f0e-9d35-2c1c6f3b1a01", "name": "imre", "issuer": "kapu", "note": "",
         "favorite": false, "icon": null, "info": {"secret": "JBSWY3DPEHPK3PXP", "algo": "SHA1", "digits": 6, "period": 30},
         "groups": []},
        {"type": "totp", "uuid": "0b3a0c3e-8b4f-4f0e-9d35-2c1c6f3b1a02", "name": "long", "issuer": "Sha512",
         "icon": null, "info": {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "algo": "SHA512", "digits": 8, "period": 60}},
        {"type": "steam", "uuid": "0b3a0c3e-8b4f-4f0e-9d35-2c1c6f3b1a03", "name": "gamer", "issuer": "Steam",
         "icon": null, "info": {"secret": "MFRGGZDFMZTWQ2LK", "algo": "SHA1", "digits": 5, "period": 30}}
    ]})
}

/// Encrypts like Aegis: scrypt(password) wraps a random master key in a
/// password slot, the master key encrypts the db; AES-256-GCM with the tags
/// stored apart, hex for the header and base64 for the db.
fn aegis_encrypted(db: &Value, password: &str) -> Value {
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    let seal = |key: &[u8], nonce: &[u8; 12], data: &[u8]| {
        let mut buf = data.to_vec();
        let tag = aes_gcm::Aes256Gcm::new_from_slice(key)
            .unwrap()
            .encrypt_in_place_detached(aes_gcm::Nonce::from_slice(nonce), b"", &mut buf)
            .unwrap();
        (buf, tag.to_vec())
    };
    let master: [u8; 32] = *b"master key of the aegis vault 32";
    let salt = [0x5a; 32];
    let mut derived = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), &salt, &scrypt::Params::new(15, 8, 1, 32).unwrap(), &mut derived).unwrap();
    let (wrapped, key_tag) = seal(&derived, &[3; 12], &master);
    let (ciphertext, db_tag) = seal(&master, &[4; 12], db.to_string().as_bytes());
    serde_json::json!({"version": 1, "header": {
        "slots": [{"type": 1, "uuid": "8d4f1d1e-0000-4000-8000-000000000001", "key": HEXLOWER.encode(&wrapped),
                   "key_params": {"nonce": HEXLOWER.encode(&[3; 12]), "tag": HEXLOWER.encode(&key_tag)},
                   "n": 32768, "r": 8, "p": 1, "salt": HEXLOWER.encode(&salt), "repaired": true, "is_backup": false}],
        "params": {"nonce": HEXLOWER.encode(&[4; 12]), "tag": HEXLOWER.encode(&db_tag)}},
        "db": BASE64.encode(&ciphertext)})
}

#[test]
fn import_aegis_plain_and_encrypted() {
    let check = |out: &str| {
        assert!(out.contains("added: kapu:imre\nadded: Sha512:long\n"), "{out}");
        assert!(out.contains("skipped: entry 3 \"Steam:gamer\": steam codes are not supported"), "{out}");
    };
    let v = TestVault::new();
    let plain = v.file("aegis-export-plain.json");
    std::fs::write(
        &plain,
        serde_json::json!({"version": 1, "header": {"slots": null, "params": null}, "db": aegis_db()}).to_string(),
    )
    .unwrap();
    let out = v.ok(&["import", plain.to_str().unwrap()]);
    assert!(out.contains("(Aegis vault): 2 added"), "{out}");
    check(&out);
    let accounts = v.accounts_at(NEW_YEAR_2026);
    assert_eq!(
        (accounts[1]["algorithm"].as_str(), accounts[1]["digits"].as_u64(), accounts[1]["period"].as_u64()),
        (Some("SHA512"), Some(8), Some(60))
    );

    let w = TestVault::new();
    let encrypted = w.file("aegis-export.json");
    std::fs::write(&encrypted, aegis_encrypted(&aegis_db(), "aegis jelszó").to_string()).unwrap();
    let e = fail(w.kapu().args(["import"]).arg(&encrypted).env("KAPU_BACKUP_PASSPHRASE", "wrong"));
    assert!(e.contains("wrong password for the Aegis vault"), "{e}");
    assert!(!w.path.exists());
    let out = ok(w.kapu().args(["import"]).arg(&encrypted).env("KAPU_BACKUP_PASSPHRASE", "aegis jelszó"));
    assert!(out.contains("(Aegis encrypted vault): 2 added"), "{out}");
    check(&out);
    assert_eq!(w.accounts_at(NEW_YEAR_2026)[0]["code"], v.accounts_at(NEW_YEAR_2026)[0]["code"]);
}

#[test]
fn import_refuses_unknown_files() {
    let v = TestVault::new();
    for (name, contents) in [
        ("notes.txt", &b"my bank password is hunter2"[..]),
        ("other.json", b"{\"some\": \"json\"}"),
        ("cut.json", b"{\"format\": \"kapu-authenticator\", \"version\": 1, \"acc"),
    ] {
        let file = v.file(name);
        std::fs::write(&file, contents).unwrap();
        let e = v.fail(&["import", file.to_str().unwrap()]);
        assert!(e.contains("nothing was imported"), "{name}: {e}");
        assert!(!e.contains("hunter2"), "file contents are not echoed");
    }
    assert!(!v.path.exists());
}

// ---------------------------------------------------------------------------
// The vault file
// ---------------------------------------------------------------------------

#[test]
fn vault_errors_are_clear_and_different() {
    let v = TestVault::new();
    let e = v.fail(&["list"]);
    assert!(e.contains("there is no vault at") && e.contains("kapu otp add"), "{e}");
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    v.ok(&["add", "--issuer", "kapu", "--account", "second", "--key", "GEZDGNBVGY3TQOJQ"]);
    let good = v.bytes();
    let bak = PathBuf::from(format!("{}.bak", v.path.display()));
    assert!(bak.is_file(), "the previous version is kept");

    let wrong = fail(v.kapu().arg("list").env("KAPU_VAULT_PASSPHRASE", "not the passphrase"));
    assert!(wrong.contains("wrong passphrase for the vault"), "{wrong}");

    std::fs::write(&v.path, &good[..good.len() / 2]).unwrap();
    let truncated = v.fail(&["list"]);
    assert!(truncated.contains("is incomplete (truncated)"), "{truncated}");
    assert!(truncated.contains(".bak"), "points at the backup: {truncated}");

    std::fs::write(&v.path, b"\x7fELF\x02\x01\x01 definitely not a vault").unwrap();
    let garbage = v.fail(&["list"]);
    assert!(garbage.contains("is not a kapu authenticator vault"), "{garbage}");

    let mut damaged = good.clone();
    let at = String::from_utf8_lossy(&good).find("\"ciphertext\": \"").unwrap() + 20;
    damaged[at] = if damaged[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&v.path, &damaged).unwrap();
    let damaged = v.fail(&["list"]);
    assert!(damaged.contains("the passphrase is right, but its contents fail authentication"), "{damaged}");

    let all = [&wrong, &truncated, &garbage, &damaged];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
    // The .bak opens with the same passphrase and holds the version before the last save.
    let from_bak = ok(v.kapu().arg("list").env("KAPU_VAULT", &bak));
    assert!(from_bak.contains("kapu:imre") && !from_bak.contains("second"), "{from_bak}");
    std::fs::write(&v.path, &good).unwrap();
    assert_eq!(v.names(), ["kapu:imre", "kapu:second"]);

    // No passphrase and no terminal: a clear error, not a hang.
    let e = fail(v.kapu().arg("list").env_remove("KAPU_VAULT_PASSPHRASE"));
    assert!(e.contains("set KAPU_VAULT_PASSPHRASE"), "{e}");
    // A new vault needs a real passphrase.
    let w = TestVault::new();
    let e = fail(
        w.kapu().args(["add", "--account", "a", "--key", "JBSWY3DPEHPK3PXP"]).env("KAPU_VAULT_PASSPHRASE", "short"),
    );
    assert!(e.contains("at least 8 characters"), "{e}");
}

#[test]
fn a_failed_write_leaves_the_old_vault() {
    let v = TestVault::new();
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    v.ok(&["add", "--issuer", "kapu", "--account", "second", "--key", "GEZDGNBVGY3TQOJQ"]);
    let good = v.bytes();
    let bak = PathBuf::from(format!("{}.bak", v.path.display()));
    let bak_before = std::fs::read(&bak).unwrap();
    // Something in the way of the new backup: the save fails part-way (as
    // with a crash or a full disk, tested with an injected writer in the
    // authenticator crate).
    let tmp = PathBuf::from(format!("{}.bak.tmp", v.path.display()));
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join("occupied"), b"x").unwrap();
    let e = v.fail(&["add", "--issuer", "new", "--account", "x", "--key", "MFRGGZDFMZTWQ2LK"]);
    assert!(e.contains("cannot write"), "{e}");
    assert_eq!(v.bytes(), good, "the vault is untouched");
    assert_eq!(std::fs::read(&bak).unwrap(), bak_before, "and so is its backup");
    assert_eq!(v.names(), ["kapu:imre", "kapu:second"]);
    assert!(v.ok(&["code", "imre"]).starts_with("kapu:imre  "), "reading still works");
    std::fs::remove_dir_all(&tmp).unwrap();
    v.ok(&["add", "--issuer", "new", "--account", "x", "--key", "MFRGGZDFMZTWQ2LK"]);
    assert_eq!(v.names().len(), 3);
    // A temporary file left by a writer killed mid-save is removed by the
    // next writer (under the lock, only dead writers' files can be there).
    let stale = PathBuf::from(format!("{}.tmp-4242-0123456789ab", v.path.display()));
    std::fs::write(&stale, b"half a vault").unwrap();
    std::fs::write(&tmp, b"half a backup").unwrap();
    v.ok(&["remove", "new:x", "--yes"]);
    assert_eq!(v.names().len(), 2);
    assert!(!stale.exists() && !tmp.exists());
}

#[test]
fn otp_never_reads_the_server_configuration() {
    let v = TestVault::new();
    let out = ok(v
        .kapu()
        .args(["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"])
        .env("KAPU_CONFIG", "/nonexistent/kapu.toml")
        .env("KAPU_DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing")
        .env("KAPU_DATA_DIR", "/nonexistent/kapu-data"));
    assert!(out.starts_with("added:"));
    assert!(!Path::new("/nonexistent").exists());
}

#[test]
fn default_vault_location_is_the_xdg_data_directory() {
    let home = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &Path)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kapu"));
        c.args(["otp", "add", "--account", "a", "--key", "JBSWY3DPEHPK3PXP"])
            .env_remove("KAPU_VAULT")
            .env_remove("XDG_DATA_HOME")
            .env("KAPU_VAULT_PASSPHRASE", PASS)
            .env("KAPU_VAULT_KDF_LOG_N", "10")
            .stdin(Stdio::null());
        for (k, val) in env {
            c.env(k, val);
        }
        ok(&mut c);
    };
    run(&[("HOME", home.path())]);
    assert!(home.path().join(".local/share/kapu/authenticator.vault").is_file());
    let xdg = home.path().join("xdg");
    run(&[("HOME", home.path()), ("XDG_DATA_HOME", &xdg)]);
    assert!(xdg.join("kapu/authenticator.vault").is_file());
}

// ---------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------

/// A one-request HTTP server on 127.0.0.1 whose Date header is `offset`
/// seconds from now (none if `None`).
fn date_server(offset: Option<i64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let date = offset.map_or_else(String::new, |o| {
            let now = SystemTime::now();
            let t = if o >= 0 {
                now + Duration::from_secs(o.unsigned_abs())
            } else {
                now - Duration::from_secs(o.unsigned_abs())
            };
            format!("Date: {}\r\n", httpdate::fmt_http_date(t))
        });
        let _ = write!(stream, "HTTP/1.1 200 OK\r\n{date}Content-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    url
}

#[test]
fn time_compares_the_clock_with_a_server() {
    let v = TestVault::new();
    let time = |offset: Option<i64>| {
        v.kapu()
            .args(["time", &date_server(offset)])
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("all_proxy")
            .env_remove("ALL_PROXY")
            .output()
            .unwrap()
    };
    let right = time(Some(0));
    let text = String::from_utf8_lossy(&right.stdout);
    assert!(right.status.success(), "{text}");
    assert!(text.contains("ok: the clock is right"), "{text}");
    assert!(text.contains("offset:") && text.contains("server time:"), "{text}");

    let off = time(Some(20));
    let text = String::from_utf8_lossy(&off.stdout);
    assert!(off.status.success());
    assert!(text.contains("behind the server") && text.contains("warning: the clock is"), "{text}");

    let wrong = time(Some(-125));
    let text = String::from_utf8_lossy(&wrong.stdout);
    assert!(!wrong.status.success());
    assert!(text.contains("ahead of the server") && text.contains("codes made here will be refused"), "{text}");

    let none = time(None);
    assert!(String::from_utf8_lossy(&none.stderr).contains("sent no valid Date header"));
    let bad = v.fail(&["time", "ftp://example.com"]);
    assert!(bad.contains("not an http:// or https:// URL"));
    assert!(!v.path.exists(), "time needs no vault");
}

// ---------------------------------------------------------------------------
// watch, in a real terminal (tmux)
// ---------------------------------------------------------------------------

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux").args(["-L", &self.socket, "-f", "/dev/null"]).args(args).output().unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "w"]).stdout).into_owned()
    }

    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn pane(&self, format: &str) -> String {
        String::from_utf8_lossy(&self.run(&["display-message", "-p", "-t", "w", format]).stdout).trim().to_owned()
    }

    fn wait_dead(&self) {
        let start = Instant::now();
        while self.pane("#{pane_dead}") != "1" {
            assert!(start.elapsed() < Duration::from_secs(20), "kapu otp watch did not exit:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn watch_shows_codes_searches_copies_and_restores_the_terminal() {
    if !have_tool("tmux", "tmux") {
        return;
    }
    let v = TestVault::new();
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP", "--color", "red"]);
    v.ok(&["add", "--issuer", "Other", "--account", "zoe", "--key", "GEZDGNBVGY3TQOJQ"]);
    v.ok(&["add", "--issuer", "Bank", "--account", "bob", "--key", "MFRGGZDFMZTWQ2LK", "--counter", "0"]);
    let command = format!(
        "env -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 TZ=Europe/Budapest KAPU_VAULT={} KAPU_VAULT_PASSPHRASE={} KAPU_LOG=warn {} otp watch",
        shell_quote(v.path.to_str().unwrap()),
        shell_quote(PASS),
        shell_quote(env!("CARGO_BIN_EXE_kapu"))
    );
    let tmux = Tmux { socket: format!("kapu-otp-test-{}", std::process::id()) };
    // tmux does not always record a dead pane's exit status (3.3a leaves it
    // empty now and then), so the shell writes it to a file.
    let status_file = v.file("watch-exit-status");
    let recorded = format!(
        "sh -c {}",
        shell_quote(&format!("{command}; echo $? > {}", shell_quote(status_file.to_str().unwrap())))
    );
    let started = tmux.run(&["new-session", "-d", "-x", "100", "-y", "30", "-s", "w", &recorded]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
    tmux.run(&["set-option", "-g", "remain-on-exit", "on"]);

    let imre = otp::Totp::new(
        otp::Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
        otp::Algorithm::Sha1,
        otp::Digits::SIX,
        otp::Period::DEFAULT,
    );
    let unix = || SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    // The codes valid around now (the screen may be a second behind or ahead).
    let imre_codes = || [unix() - 2, unix(), unix() + 2].map(|t| imre.code_at(t));
    let grouped = |c: &str| format!("{} {}", &c[..3], &c[3..]);

    let screen = tmux.wait_for("the codes", |s| s.contains("kapu authenticator") && s.contains("Other:zoe"));
    assert!(screen.contains(" CET") || screen.contains(" CEST"), "the clock in the user's zone (TZ):\n{screen}");
    assert!(imre_codes().iter().any(|c| screen.contains(&grouped(c))), "kapu:imre's code on screen:\n{screen}");
    assert!(screen.contains("kapu:imre") && screen.contains("Bank:bob") && screen.contains("HOTP"), "{screen}");
    assert!(screen.contains('█') || screen.contains('░'), "a countdown bar:\n{screen}");
    assert_eq!(tmux.pane("#{alternate_on}"), "1", "full screen");

    // Search.
    tmux.run(&["send-keys", "-t", "w", "/"]);
    tmux.run(&["send-keys", "-t", "w", "-l", "IMRE"]);
    let screen = tmux.wait_for("the filter", |s| s.contains("/IMRE") && !s.contains("Other:zoe"));
    assert!(screen.contains("kapu:imre") && !screen.contains("Bank:bob"), "{screen}");

    // Keep the filter, copy the code (OSC 52 lands in tmux's paste buffer).
    tmux.run(&["send-keys", "-t", "w", "Enter"]);
    tmux.run(&["send-keys", "-t", "w", "Enter"]);
    tmux.wait_for("the copy message", |s| s.contains("sent to the terminal's clipboard"));
    let buffer = String::from_utf8_lossy(&tmux.run(&["show-buffer"]).stdout).into_owned();
    assert!(imre_codes().contains(&buffer), "clipboard holds {buffer:?}");

    // q quits and gives the terminal back.
    tmux.run(&["send-keys", "-t", "w", "q"]);
    tmux.wait_dead();
    assert_eq!(tmux.pane("#{alternate_on}"), "0", "left the alternate screen");
    let start = Instant::now();
    while !status_file.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(&status_file).unwrap().trim(), "0", "q exits cleanly");

    // SIGTERM also restores the terminal.
    tmux.run(&["respawn-pane", "-k", "-t", "w", &command]);
    tmux.wait_for("the codes again", |s| s.contains("kapu authenticator"));
    let pid = tmux.pane("#{pane_pid}");
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tmux.wait_dead();
    assert_eq!(tmux.pane("#{alternate_on}"), "0", "left the alternate screen on SIGTERM");
}

#[test]
fn first_use_asks_on_the_terminal_without_echo() {
    if !have_tool("tmux", "tmux") {
        return;
    }
    let v = TestVault::new();
    let kapu = shell_quote(env!("CARGO_BIN_EXE_kapu"));
    let env = format!(
        "env -u KAPU_VAULT_PASSPHRASE -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 KAPU_VAULT={} KAPU_VAULT_KDF_LOG_N=10 KAPU_LOG=warn",
        shell_quote(v.path.to_str().unwrap())
    );
    let tmux = Tmux { socket: format!("kapu-otp-test-first-{}", std::process::id()) };
    let started =
        tmux.run(&["new-session", "-d", "-x", "120", "-y", "30", "-s", "w", &format!("{env} {kapu} otp add")]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    tmux.run(&["set-option", "-g", "remain-on-exit", "on"]);
    let answer = |prompt: &str, text: &str| {
        tmux.wait_for(prompt, |s| s.contains(prompt));
        tmux.run(&["send-keys", "-t", "w", "-l", text]);
        tmux.run(&["send-keys", "-t", "w", "Enter"]);
    };
    answer("Service (e.g. Ügyfélkapu):", "kapu");
    answer("Account (e.g. your user name):", "imre");
    // A wrong key and a wrong colour: only that answer is asked again.
    answer("Key (base32; not shown as you type):", "jbsw y3dp ehpk 3px0");
    tmux.wait_for("the key error", |s| s.contains("not valid base32") && s.contains("Try again."));
    answer("Key (base32; not shown as you type):", "jbsw y3dp ehpk 3pxp");
    answer("[blue]:", "pink");
    tmux.wait_for("the colour error", |s| s.contains("unknown colour \"pink\""));
    answer("[blue]:", "green");
    answer("(at least 8 characters):", "interactive passphrase");
    answer("The same passphrase again:", "interactive passphrase");
    tmux.wait_dead();
    let screen = tmux.screen();
    assert!(screen.contains("added: #1 kapu:imre (TOTP, SHA1, 6 digits, 30 s)"), "{screen}");
    assert_eq!(screen.matches("Key (base32").count(), 2, "the key was asked again:\n{screen}");
    assert!(screen.matches("Service (e.g.").count() <= 1, "the service was not asked again:\n{screen}");
    assert!(screen.matches("Account (e.g.").count() <= 1, "nor the account:\n{screen}");
    assert!(
        !screen.to_lowercase().contains("jbsw") && !screen.contains("interactive passphrase"),
        "no echo:\n{screen}"
    );
    let accounts = ok(v.kapu().args(["list", "--json"]).env("KAPU_VAULT_PASSPHRASE", "interactive passphrase"));
    assert!(accounts.contains("\"color\":\"green\""), "{accounts}");

    // Opening asks once more after a wrong passphrase.
    tmux.run(&["respawn-pane", "-k", "-t", "w", &format!("{env} {kapu} otp list")]);
    answer("Passphrase of the vault", "wrong guess");
    tmux.wait_for("the second try", |s| s.contains("Wrong passphrase, try again."));
    tmux.run(&["send-keys", "-t", "w", "-l", "interactive passphrase"]);
    tmux.run(&["send-keys", "-t", "w", "Enter"]);
    tmux.wait_dead();
    assert!(tmux.screen().contains("#1  "), "{}", tmux.screen());
}

/// The picture kapu's own set-up page shows ("1. QR-kód leolvasása"), as a
/// citizen's screenshot of it: the SVG kapu serves, rasterised, imports into
/// the terminal authenticator with the same key.
#[test]
fn add_from_a_screenshot_of_kapus_set_up_page() {
    let v = TestVault::new();
    let uri = "otpauth://totp/kapu:szucs.imre?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=kapu&algorithm=SHA1&digits=6&period=30";
    let svg = kapu::twostep::qr::svg(uri).unwrap();
    let (size, dark) = kapu::twostep::qr::modules(&svg).unwrap();
    let scale = 6u32;
    let side = u32::try_from(size).unwrap() * scale;
    let img = GrayImage::from_fn(side, side, |x, y| {
        let module = (usize::try_from(x / scale).unwrap(), usize::try_from(y / scale).unwrap());
        Luma([if dark.contains(&module) { 0 } else { 255 }])
    });
    let file = v.file("kapu-setup-screenshot.png");
    std::fs::write(&file, png(&img)).unwrap();
    assert_eq!(
        v.ok(&["add", "--qr", file.to_str().unwrap()]),
        "added: #1 kapu:szucs.imre (TOTP, SHA1, 6 digits, 30 s)\n"
    );
    let listed = v.ok(&["export"]);
    assert!(listed.contains("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), "{listed}");
}

// ---------------------------------------------------------------------------
// Many writers at once, and writers killed mid-save
// ---------------------------------------------------------------------------

/// A base32 key of its own for writer `i`.
fn key_of(i: usize) -> String {
    BASE32_NOPAD.encode(format!("concurrent writer {i:04}").as_bytes())
}

/// Starts `n` `kapu otp add` processes as close together as possible.
fn spawn_adds(v: &TestVault, n: usize, wait: &str) -> Vec<std::process::Child> {
    (0..n)
        .map(|i| {
            v.kapu()
                .args(["add", "--issuer", "many", "--account", &format!("writer{i:02}"), "--key", &key_of(i)])
                .env("KAPU_VAULT_LOCK_WAIT", wait)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

#[test]
fn thirty_concurrent_adds_lose_no_acknowledged_account() {
    let v = TestVault::new();
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    // Patient writers: each waits for the one before; all 30 get in.
    let children = spawn_adds(&v, 30, "60");
    let mut acknowledged = Vec::new();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "writer {i}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with("added: #"), "{stdout}");
        acknowledged.push(format!("many:writer{i:02}"));
    }
    let names = v.names();
    assert_eq!(names.len(), 31, "{names:?}");
    for name in &acknowledged {
        assert!(names.contains(name), "{name} said `added:` and exited 0 but is missing: {names:?}");
    }

    // Impatient writers (no waiting): some are refused with a clear error,
    // none of those that said `added:` is lost.
    let w = TestVault::new();
    w.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    let mut ok = Vec::new();
    let mut refused = 0;
    for (i, child) in spawn_adds(&w, 30, "0").into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            ok.push(format!("many:writer{i:02}"));
        } else {
            let e = String::from_utf8_lossy(&out.stderr);
            assert!(
                e.contains("is being changed by another kapu otp") && e.contains("nothing was saved"),
                "a refusal says why: {e}"
            );
            refused += 1;
        }
    }
    let names = w.names();
    for name in &ok {
        assert!(names.contains(name), "{name} acknowledged but missing: {names:?}");
    }
    assert_eq!(names.len(), 1 + ok.len(), "refused writers wrote nothing: {names:?}");
    eprintln!("no-wait writers: {} added, {refused} refused with a clear error", ok.len());
}

#[test]
fn kill_9_during_concurrent_writers_loses_nothing_acknowledged() {
    let v = TestVault::new();
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    let mut seed: u64 = 0x5eed;
    let mut random = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut acknowledged = Vec::new();
    for round in 0..4 {
        let mut children = spawn_adds(&v, 12, "60");
        // Give the writers names of their own in this round.
        std::thread::sleep(Duration::from_millis(random(40)));
        let mut killed = 0;
        for child in &mut children {
            if random(2) == 0 {
                std::thread::sleep(Duration::from_millis(random(15)));
                let _ = child.kill(); // SIGKILL
                killed += 1;
            }
        }
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            if out.status.success() {
                acknowledged.push(format!("many:writer{i:02}"));
            }
        }
        // Whatever was killed where, the vault opens and holds every
        // acknowledged account; so does its backup of the version before.
        let names = v.names();
        for name in &acknowledged {
            assert!(names.contains(name), "round {round}: {name} acknowledged but missing: {names:?}");
        }
        let bak = PathBuf::from(format!("{}.bak", v.path.display()));
        ok(v.kapu().arg("list").env("KAPU_VAULT", &bak));
        eprintln!("round {round}: {killed} writers killed with SIGKILL, {} accounts", names.len());
        // Accounts of this round are added again next round (same keys):
        // start each round from the same state.
        for i in 0..12 {
            let _ = v.kapu().args(["remove", &format!("many:writer{i:02}"), "--yes"]).output();
        }
        acknowledged.clear();
    }
    // The next writer clears what killed writers left behind.
    v.ok(&["add", "--issuer", "last", "--account", "one", "--key", "MFRGGZDFMZTWQ2LK"]);
    let leftovers: Vec<String> = std::fs::read_dir(v.path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_held_lock_makes_a_writer_wait_then_fail_clearly() {
    if !have_tool("flock", "util-linux") {
        return;
    }
    let v = TestVault::new();
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    let lock = PathBuf::from(format!("{}.lock", v.path.display()));
    // util-linux's flock(1) holds the same kind of lock for 3 s.
    let mut holder = Command::new("flock").arg(&lock).args(["sleep", "3"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = v.bytes();
    let started = Instant::now();
    let e =
        fail(v.kapu().args(["add", "--account", "x", "--key", "GEZDGNBVGY3TQOJQ"]).env("KAPU_VAULT_LOCK_WAIT", "0.5"));
    assert!(started.elapsed() >= Duration::from_millis(500), "it waited");
    assert!(e.contains("is being changed by another kapu otp (waited 0.5 s for it); nothing was saved"), "{e}");
    assert_eq!(v.bytes(), before);
    // A patient writer gets in when the holder is done.
    let out =
        ok(v.kapu().args(["add", "--account", "x", "--key", "GEZDGNBVGY3TQOJQ"]).env("KAPU_VAULT_LOCK_WAIT", "20"));
    assert!(out.starts_with("added: #2 x"), "{out}");
    holder.wait().unwrap();
    // Reading needs no lock.
    let mut holder = Command::new("flock").arg(&lock).args(["sleep", "2"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(v.names(), ["kapu:imre", "x"]);
    holder.wait().unwrap();
}

#[test]
fn backups_keep_several_generations() {
    let v = TestVault::new();
    for i in 0..7 {
        v.ok(&["add", "--issuer", "gen", "--account", &format!("a{i}"), "--key", &key_of(i)]);
    }
    let count = |suffix: &str| {
        ok(v.kapu().args(["list", "--json"]).env("KAPU_VAULT", format!("{}{suffix}", v.path.display())))
            .matches("\"number\"")
            .count()
    };
    assert_eq!(count(""), 7);
    assert_eq!(count(".bak"), 6);
    assert_eq!(count(".bak.2"), 5);
    assert_eq!(count(".bak.5"), 2);
    assert!(!PathBuf::from(format!("{}.bak.6", v.path.display())).exists());
}

// ---------------------------------------------------------------------------
// Escape sequences in names: never raw on the terminal, in any format
// ---------------------------------------------------------------------------

/// Sets tmux's clipboard (OSC 52) and the window title, rings the bell.
const HOSTILE: &str =
    "evil\u{1b}]52;c;cm0gLXJmIH4gIyBwYXN0ZWQgYnkgYSBiYWNrdXAgZmlsZQ==\u{7}\u{1b}]0;pwned\u{7}\u{9b}2J";

/// No control byte but newline, no DEL, no C1 control in `bytes`.
fn assert_terminal_safe(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{what}: {c:?} reached the terminal raw:\n{text}"
        );
    }
}

#[test]
fn hostile_names_are_escaped_in_every_import_format() {
    use authenticator::import::google::{DigitCount, MigrationAlgorithm, MigrationPayload, OtpParameters, OtpType};
    let good = |n: &str| serde_json::json!({"issuer": "good", "account": n, "secret": "JBSWY3DPEHPK3PXP"});
    let bad = |n: &str| serde_json::json!({"issuer": HOSTILE, "account": n, "secret": "GEZDGNBVGY3TQOJQ"});
    let ours =
        serde_json::json!({"format": "kapu-authenticator", "version": 1, "accounts": [good("ours"), bad("ours")]});
    let aegis_entry = |name: &str, issuer: &str, secret: &str| {
        serde_json::json!({"type": "totp", "uuid": "u", "name": name, "issuer": issuer,
            "info": {"secret": secret, "algo": "SHA1", "digits": 6, "period": 30}})
    };
    let db = serde_json::json!({"version": 3, "entries": [
        aegis_entry("a", "good", "JBSWY3DPEHPK3PXP"), aegis_entry(HOSTILE, "x", "GEZDGNBVGY3TQOJQ")]});
    let twofas = serde_json::json!({"services": [
        {"name": "good", "secret": "JBSWY3DPEHPK3PXP", "otp": {"account": "2fas", "tokenType": "TOTP"}},
        {"name": HOSTILE, "secret": "GEZDGNBVGY3TQOJQ", "otp": {"account": "x", "tokenType": "TOTP"}}],
        "schemaVersion": 4});
    let andotp = serde_json::json!([
        {"secret": "JBSWY3DPEHPK3PXP", "issuer": "good", "label": "andotp", "type": "TOTP", "digits": 6, "period": 30},
        {"secret": "GEZDGNBVGY3TQOJQ", "issuer": HOSTILE, "label": "x", "type": "TOTP", "digits": 6, "period": 30}]);
    let param = |name: &str, secret: &[u8]| OtpParameters {
        secret: secret.to_vec(),
        name: name.to_owned(),
        issuer: String::new(),
        algorithm: MigrationAlgorithm::Sha1 as i32,
        digits: DigitCount::Six as i32,
        r#type: OtpType::Totp as i32,
        counter: 0,
    };
    let google = MigrationPayload {
        otp_parameters: vec![param("good:google", b"Hello!\xde\xad\xbe\xef"), param(HOSTILE, b"0123456789")],
        version: 1,
        batch_size: 1,
        batch_index: 0,
        batch_id: 1,
    };
    let google_uri = format!(
        "otpauth-migration://offline?data={}",
        query_encode(&BASE64.encode(&prost::Message::encode_to_vec(&google)))
    );
    let hostile_uri = format!("otpauth://totp/{}:x?secret=GEZDGNBVGY3TQOJQ", query_encode(HOSTILE));
    let uri_list = format!("otpauth://totp/good:list?secret=JBSWY3DPEHPK3PXP\n{hostile_uri}\n");

    let v = TestVault::new();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("ours.json", ours.to_string().into_bytes()),
        (
            "ours-encrypted.json",
            authenticator::backup::to_encrypted(
                &[],
                "backup passphrase",
                authenticator::envelope::KdfParams::TEST_ONLY_WEAK,
            )
            .map(|_| {
                // An encrypted file whose plaintext holds the hostile entry.
                let key = authenticator::envelope::SealingKey::new(
                    "backup passphrase",
                    authenticator::envelope::KdfParams::TEST_ONLY_WEAK,
                )
                .unwrap();
                key.seal(ours.to_string().as_bytes()).unwrap()
            })
            .unwrap(),
        ),
        (
            "aegis.json",
            serde_json::json!({"version": 1, "header": {"slots": null, "params": null}, "db": db})
                .to_string()
                .into_bytes(),
        ),
        ("aegis-encrypted.json", aegis_encrypted(&db, "backup passphrase").to_string().into_bytes()),
        ("twofas.2fas", twofas.to_string().into_bytes()),
        ("andotp.json", andotp.to_string().into_bytes()),
        ("google.txt", google_uri.clone().into_bytes()),
        ("google.png", png(&qr_image(&google_uri, 4))),
        ("uris.txt", uri_list.clone().into_bytes()),
        ("uri-qr.png", png(&qr_image(&hostile_uri, 5))),
    ];
    for (name, bytes) in &files {
        let file = v.file(name);
        std::fs::write(&file, bytes).unwrap();
        let out =
            v.kapu().arg("import").arg(&file).env("KAPU_BACKUP_PASSPHRASE", "backup passphrase").output().unwrap();
        let both = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert_terminal_safe(&both, name);
        let text = String::from_utf8_lossy(&both);
        assert!(text.contains("\\u{1b}]"), "{name}: the name is shown, escaped:\n{text}");
        assert!(text.contains("skipped: "), "{name}: the hostile entry is skipped:\n{text}");
        if *name != "uri-qr.png" {
            assert!(out.status.success() && text.contains("1 added") || text.contains("0 added"), "{name}:\n{text}");
        }
    }
    // The good entry of each file is in the vault (some share one key and
    // settings: those are the same account, renamed).
    assert!(!v.names().is_empty());
    // add --uri and --qr with such a name, a lookup with one, rename to one.
    let out = v.kapu().args(["add", "--uri", &hostile_uri]).output().unwrap();
    assert!(!out.status.success());
    assert_terminal_safe(&out.stderr, "add --uri");
    let qr = v.file("uri-qr.png");
    let out = v.kapu().args(["add", "--qr"]).arg(&qr).output().unwrap();
    assert_terminal_safe(&[out.stdout, out.stderr].concat(), "add --qr");
    let out = v.kapu().args(["code", HOSTILE]).output().unwrap();
    assert!(!out.status.success());
    assert_terminal_safe(&out.stderr, "code NAME");
    let out = v.kapu().args(["rename", "#1", "--issuer", HOSTILE]).output().unwrap();
    assert!(!out.status.success());
    assert_terminal_safe(&out.stderr, "rename");
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbidden character U+001B"));
}

// ---------------------------------------------------------------------------
// Other apps' files, skipped entries, keys shared by several accounts
// ---------------------------------------------------------------------------

#[test]
fn imports_skip_what_they_cannot_use_and_keep_shared_keys_apart() {
    let v = TestVault::new();
    // Aegis's and Ente's plain-text exports: one URI per line, a Steam one among them.
    let plain = v.file("aegis-plain.txt");
    std::fs::write(
        &plain,
        "otpauth://totp/kapu:imre?secret=JBSWY3DPEHPK3PXP&issuer=kapu\n\
         otpauth://steam/Steam:gamer?secret=MFRGGZDFMZTWQ2LK&issuer=Steam&digits=5\n\
         otpauth://totp/Bank:bob?secret=GEZDGNBVGY3TQOJQ&issuer=Bank&algorithm=MD5\n\
         otpauth://totp/Long:code?secret=ORSXG5BAMFRGGZDF&digits=10\n\
         otpauth://totp/Other:anna?secret=NBSWY3DPO5XXE3DE&issuer=Other&digits=8&period=60\n",
    )
    .unwrap();
    let out = v.ok(&["import", plain.to_str().unwrap()]);
    assert!(out.contains("added: kapu:imre\nadded: Other:anna\n"), "{out}");
    assert!(out.contains("skipped: line 2 \"Steam:gamer\": unknown OTP type \"steam\""), "{out}");
    assert!(out.contains("skipped: line 3 \"Bank:bob\": unsupported algorithm \"MD5\""), "{out}");
    assert!(out.contains("skipped: line 4 \"Long:code\": unsupported number of digits \"10\""), "{out}");
    assert!(out.contains("2 added, 0 renamed, 0 recoloured, 0 unchanged, 3 skipped"), "{out}");

    // The same key with other settings is another account, kept apart.
    let other = v.file("other-settings.json");
    std::fs::write(
        &other,
        serde_json::json!({"format": "kapu-authenticator", "version": 1, "accounts": [
            {"issuer": "kapu", "account": "imre", "secret": "JBSWY3DPEHPK3PXP", "algorithm": "SHA256", "digits": 8}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = v.ok(&["import", other.to_str().unwrap()]);
    assert!(
        out.contains(
            "added: kapu:imre (TOTP, SHA256, 8 digits, 30 s) (the same key as kapu:imre (TOTP, SHA1, 6 digits, 30 s)"
        ),
        "{out}"
    );
    let accounts = v.accounts_at(NEW_YEAR_2026);
    let sha1 = otp::Totp::new(
        otp::Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
        otp::Algorithm::Sha1,
        otp::Digits::SIX,
        otp::Period::DEFAULT,
    );
    let sha256 = otp::Totp::new(
        otp::Secret::from_base32("JBSWY3DPEHPK3PXP").unwrap(),
        otp::Algorithm::Sha256,
        otp::Digits::EIGHT,
        otp::Period::DEFAULT,
    );
    assert_eq!(accounts[0]["code"], sha1.code_at(NEW_YEAR_2026), "the old account still makes its codes");
    assert_eq!(accounts[2]["code"], sha256.code_at(NEW_YEAR_2026), "and the new one its own");

    // 2FAS and andOTP exports.
    let twofas = v.file("backup.2fas");
    std::fs::write(
        &twofas,
        serde_json::json!({"services": [
        {"name": "Ügyfélkapu", "secret": "KRUGS4ZANFZSAYLOEBQXK5DIMVXHI2LDMF2G64RAORSXG5A", "updatedAt": 1,
         "otp": {"label": "Ügyfélkapu:kovacs", "account": "kovacs", "issuer": "Ügyfélkapu", "digits": 6, "period": 30,
                 "algorithm": "SHA1", "tokenType": "TOTP", "source": "Link"}, "order": {"position": 0}},
        {"name": "Steam", "secret": "MFRGGZDFMZTWQ2LK", "otp": {"account": "g", "tokenType": "STEAM", "digits": 5}}
    ], "groups": [], "updatedAt": 1, "schemaVersion": 4, "appVersionCode": 5_000_000, "appOrigin": "android"})
        .to_string(),
    )
    .unwrap();
    let out = v.ok(&["import", twofas.to_str().unwrap()]);
    assert!(out.contains("added: Ügyfélkapu:kovacs\n") && out.contains("(2FAS export): 1 added"), "{out}");
    assert!(out.contains("skipped: entry 2 \"Steam:g\": steam codes are not supported"), "{out}");
    let andotp = v.file("otp_accounts.json");
    std::fs::write(&andotp, serde_json::json!([
        {"secret": "MFRGGZDFMZTWQ2LKNBSWY3DP", "issuer": "NAV", "label": "adoszam", "digits": 6, "type": "TOTP",
         "algorithm": "SHA1", "thumbnail": "Default", "last_used": 1_700_000_000_000u64, "used_frequency": 3, "period": 30, "tags": []},
        {"secret": "ORSXG5BAMFRGGZDFORSXG5A", "issuer": "Bank", "label": "bob", "digits": 6, "type": "HOTP", "counter": 4, "algorithm": "SHA1"}
    ]).to_string()).unwrap();
    let out = v.ok(&["import", andotp.to_str().unwrap()]);
    assert!(out.contains("(andOTP export): 2 added"), "{out}");
    assert!(v.names().contains(&"NAV:adoszam".to_owned()));
}

#[test]
fn google_batches_are_read_whole_and_a_missing_part_is_named() {
    use authenticator::import::google::{DigitCount, MigrationAlgorithm, MigrationPayload, OtpParameters, OtpType};
    let param = |name: &str, secret: &[u8]| OtpParameters {
        secret: secret.to_vec(),
        name: name.to_owned(),
        issuer: "Same".to_owned(),
        algorithm: MigrationAlgorithm::Sha1 as i32,
        digits: DigitCount::Six as i32,
        r#type: OtpType::Totp as i32,
        counter: 0,
    };
    let part = |index: i32, names: &[&str]| {
        let payload = MigrationPayload {
            otp_parameters: names.iter().map(|n| param(n, b"one key for all")).collect(),
            version: 1,
            batch_size: 2,
            batch_index: index,
            batch_id: 99,
        };
        format!(
            "otpauth-migration://offline?data={}",
            query_encode(&BASE64.encode(&prost::Message::encode_to_vec(&payload)))
        )
    };
    let v = TestVault::new();
    let first = v.file("part1.png");
    std::fs::write(&first, png(&qr_image(&part(0, &["a", "b", "c", "d", "e", "f"]), 4))).unwrap();
    let out = v.ok(&["import", first.to_str().unwrap()]);
    assert!(out.contains("6 added"), "one key in six entries stays six accounts: {out}");
    assert!(
        out.contains("note: this is part 1 of 2 of a Google Authenticator export: the accounts of part 2"),
        "{out}"
    );
    assert_eq!(v.names().len(), 6);
    let both = v.file("both.txt");
    std::fs::write(&both, format!("{}\n{}\n", part(0, &["a"]), part(1, &["g"]))).unwrap();
    let out = v.ok(&["import", both.to_str().unwrap()]);
    assert!(!out.contains("note:"), "{out}");
    // "a" finds its namesake; "g" takes the name of the first other account
    // with that key (the restore rule), nothing is lost or merged away.
    assert!(out.contains("unchanged: Same:a\nrenamed: Same:b → Same:g\n"), "{out}");
    assert_eq!(v.names().len(), 6);
}

// ---------------------------------------------------------------------------
// rename, passwd, languages, help
// ---------------------------------------------------------------------------

#[test]
fn rename_and_passwd() {
    let v = TestVault::new();
    v.ok(&["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"]);
    assert_eq!(
        v.ok(&["rename", "imre", "--issuer", "Ügyfélkapu", "--color", "green"]),
        "renamed: kapu:imre → Ügyfélkapu:imre\n"
    );
    assert_eq!(v.accounts_at(0)[0]["color"], "green");
    assert!(v.fail(&["rename", "imre"]).contains("give the new name"));
    let out = ok(v.kapu().arg("passwd").env("KAPU_VAULT_NEW_PASSPHRASE", "the new vault passphrase"));
    assert!(out.contains("the vault's passphrase is changed"), "{out}");
    let e = fail(v.kapu().arg("list"));
    assert!(e.contains("wrong passphrase"), "{e}");
    let listed = ok(v.kapu().arg("list").env("KAPU_VAULT_PASSPHRASE", "the new vault passphrase"));
    assert!(listed.contains("Ügyfélkapu:imre"), "{listed}");
    let e = fail(
        v.kapu()
            .arg("passwd")
            .env("KAPU_VAULT_PASSPHRASE", "the new vault passphrase")
            .env("KAPU_VAULT_NEW_PASSPHRASE", "short"),
    );
    assert!(e.contains("at least 8 characters"), "{e}");
}

#[test]
fn hungarian_from_lang_or_flag_and_help_without_server_options() {
    let v = TestVault::new();
    let out = ok(v
        .kapu()
        .args(["add", "--issuer", "kapu", "--account", "imre", "--key", "JBSWY3DPEHPK3PXP"])
        .env("LANG", "hu_HU.UTF-8"));
    assert_eq!(out, "hozzáadva: #1 kapu:imre (TOTP, SHA1, 6 digits, 30 s)\n");
    let list = ok(v.kapu().args(["--lang", "hu", "list"]).env("KAPU_OTP_NOW", (NEW_YEAR_2026 + 26).to_string()));
    assert!(list.contains("még  4 mp") && list.contains("várja meg a következőt"), "{list}");
    let e = fail(
        v.kapu().args(["code", "nincs"]).env("LANG", "hu_HU.UTF-8").env("KAPU_VAULT_PASSPHRASE", "rossz jelmondat"),
    );
    assert!(e.starts_with("kapu otp: hiba: hibás jelmondat a tárolóhoz"), "{e}");
    let en = ok(v.kapu().args(["--lang", "en", "list"]).env("LANG", "hu_HU.UTF-8"));
    assert!(en.contains("s left"), "{en}");

    let help = ok(v.kapu().arg("--help"));
    for server_option in ["--data-dir", "--database-url", "--config"] {
        assert!(!help.contains(server_option), "`kapu otp --help` lists {server_option}:\n{help}");
    }
    for command in ["add", "list", "code", "watch", "import", "rename", "passwd", "--lang", "--vault"] {
        assert!(help.contains(command), "{command} in:\n{help}");
    }
    assert!(help.contains("Usage: kapu otp"), "{help}");
    let server_help = ok(Command::new(env!("CARGO_BIN_EXE_kapu")).arg("--help"));
    assert!(server_help.contains("--data-dir") && server_help.contains("otp"), "{server_help}");
}

// ---------------------------------------------------------------------------
// The QR corpus: kapu's own set-up page and qrencode, transformed as
// citizens' screenshots and photos are (scripts/qr-corpus)
// ---------------------------------------------------------------------------

/// The URIs of the corpus: as kapu's set-up page makes them, one with a long
/// Hungarian issuer, and (qrencode) a short one and a Google export.
fn corpus_sources() -> Vec<(&'static str, &'static str, String)> {
    use authenticator::import::google::{DigitCount, MigrationAlgorithm, MigrationPayload, OtpParameters, OtpType};
    let google = MigrationPayload {
        otp_parameters: vec![OtpParameters {
            secret: b"Hello!\xde\xad\xbe\xef".to_vec(),
            name: "kapu:imre".to_owned(),
            issuer: "kapu".to_owned(),
            algorithm: MigrationAlgorithm::Sha1 as i32,
            digits: DigitCount::Six as i32,
            r#type: OtpType::Totp as i32,
            counter: 0,
        }],
        version: 1,
        batch_size: 1,
        batch_index: 0,
        batch_id: 5,
    };
    vec![
        (
            "kapu-setup",
            "page",
            "otpauth://totp/kapu:szucs.imre?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=kapu&algorithm=SHA1&digits=6&period=30".to_owned(),
        ),
        (
            "kapu-setup-long",
            "page",
            "otpauth://totp/%C3%9Cgyf%C3%A9lkapu%2B:kovacs.janos.budapest?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZHXDMVJECJJWSRB3H&issuer=%C3%9Cgyf%C3%A9lkapu%2B&algorithm=SHA1&digits=6&period=30".to_owned(),
        ),
        (
            "kapu-setup-hidpi",
            "page@1.5",
            "otpauth://totp/kapu:nagy.anna?secret=MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LK&issuer=kapu&algorithm=SHA1&digits=6&period=30".to_owned(),
        ),
        ("qrencode-short", "qrencode", "otpauth://totp/Bank:bob?secret=GEZDGNBVGY3TQOJQ&issuer=Bank".to_owned()),
        (
            "qrencode-google",
            "qrencode",
            format!(
                "otpauth-migration://offline?data={}",
                query_encode(&BASE64.encode(&prost::Message::encode_to_vec(&google)))
            ),
        ),
    ]
}

/// The page a citizen sees at "1. QR-kód leolvasása": kapu's own SVG (the
/// set-up page's, from kapu::twostep::qr::svg) in the set-up page's markup
/// (`<img class="qr" width="200" height="200">`, templates/plus_setup.html)
/// with kapu's own stylesheet, so Chromium draws it as on the real page:
/// 200 CSS pixels, pixelated, a thin border.
fn setup_page(uri: &str) -> String {
    let svg = kapu::twostep::qr::svg(uri).unwrap();
    let css = include_str!("../../kapu/static/kapu.css");
    format!(
        "<!DOCTYPE html><html lang=\"hu\"><head><meta charset=\"utf-8\"><title>Ügyfélkapu+</title><style>{css}</style></head>\
         <body><main><h1>Kétlépcsős azonosítás beállítása</h1><p>Ügyfélkapu+: a belépéshez a jelszó mellett egy kódra is szükség lesz.</p>\
         <section><h2>1. QR-kód leolvasása</h2>\
         <p><img class=\"qr\" src=\"data:image/svg+xml;base64,{}\" alt=\"QR-kód\" width=\"200\" height=\"200\"></p>\
         <p><a href=\"#\">Nem tudom beolvasni a kódot</a></p></section></main></body></html>",
        BASE64.encode(svg.as_bytes())
    )
}

/// Builds the corpus once (target/qr-corpus) and returns its directory and
/// manifest rows (file, group, transform, source), or `None` when a tool is
/// missing (a loud skip; under CI=true a failure).
fn corpus() -> Option<(PathBuf, Vec<[String; 4]>)> {
    static CORPUS: std::sync::OnceLock<Option<(PathBuf, Vec<[String; 4]>)>> = std::sync::OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
            let have_chromium = Path::new(&chromium).is_file() || have_tool("chromium", "chromium");
            if !(have_chromium && have_tool("convert", "imagemagick") && have_tool("qrencode", "qrencode")) {
                return None;
            }
            let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_owned();
            let sources = target.join("qr-corpus-sources");
            let out = target.join("qr-corpus");
            std::fs::create_dir_all(&sources).unwrap();
            let mut tsv = String::new();
            for (name, kind, text) in corpus_sources() {
                if kind.starts_with("page") {
                    std::fs::write(sources.join(format!("{name}.html")), setup_page(&text)).unwrap();
                }
                tsv.push_str(&format!("{name}\t{kind}\t{text}\n"));
            }
            std::fs::write(sources.join("sources.tsv"), &tsv).unwrap();
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/qr-corpus");
            // A corpus built from the same sources by the same script is reused.
            let current = std::fs::read_to_string(out.join("sources.tsv")).ok() == Some(tsv)
                && std::fs::read(out.join("script")).ok() == std::fs::read(&script).ok()
                && out.join("manifest.tsv").is_file();
            if !current {
                let status = Command::new("bash").arg(&script).arg(&sources).arg(&out).status().unwrap();
                assert!(status.success(), "scripts/qr-corpus failed");
            }
            let rows = std::fs::read_to_string(out.join("manifest.tsv"))
                .unwrap()
                .lines()
                .map(|l| {
                    let v: Vec<String> = l.split('\t').map(str::to_owned).collect();
                    [v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone()]
                })
                .collect();
            Some((out, rows))
        })
        .clone()
}

fn zbarimg(file: &Path) -> Vec<String> {
    let out = Command::new("zbarimg").args(["-q", "--raw", "-Sdisable", "-Sqrcode.enable"]).arg(file).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn the_terminal_reads_every_corpus_image_zbarimg_reads() {
    let Some((dir, rows)) = corpus() else { return };
    if !have_tool("zbarimg", "zbar-tools") {
        return;
    }
    let mut missed = Vec::new();
    let mut zbar_read = Vec::new();
    let mut table: Vec<(String, usize, usize, usize)> = Vec::new();
    for [file, group, transform, source] in &rows {
        let expected = std::fs::read_to_string(dir.join("expected").join(format!("{source}.txt"))).unwrap();
        let path = dir.join(file);
        let zbar = zbarimg(&path).contains(&expected);
        let ours = authenticator::qr::decode(&std::fs::read(&path).unwrap())
            .is_ok_and(|texts| texts.iter().any(|t| t.as_str() == expected));
        if zbar && !ours {
            missed.push(format!("{file} ({transform})"));
        }
        if zbar {
            zbar_read.push(file.clone());
        }
        let row = match table.iter_mut().position(|r| r.0 == *group) {
            Some(i) => &mut table[i],
            None => {
                table.push((group.clone(), 0, 0, 0));
                table.last_mut().unwrap()
            }
        };
        row.1 += 1;
        row.2 += usize::from(zbar);
        row.3 += usize::from(ours);
    }
    eprintln!("{:<14} {:>6} {:>8} {:>9}", "group", "images", "zbarimg", "terminal");
    for (group, n, zbar, ours) in &table {
        eprintln!("{group:<14} {n:>6} {zbar:>8} {ours:>9}");
    }
    assert!(missed.is_empty(), "zbarimg reads these and the terminal does not: {missed:#?}");
    // The screenshots of kapu's own page at every size zbarimg reads (the
    // smallest scales are beyond both), and the formats, through the real
    // command.
    let v = TestVault::new();
    for [file, group, _, source] in &rows {
        if source == "kapu-setup" && matches!(group.as_str(), "scaled" | "formats") && zbar_read.contains(file) {
            let out = v.ok(&["add", "--qr", dir.join(file).to_str().unwrap()]);
            assert!(out.starts_with("added: #1 kapu:szucs.imre"), "{file}: {out}");
            v.ok(&["remove", "#1", "--yes"]);
        }
    }
}
