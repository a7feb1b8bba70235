#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use super::message::{self, BodyEncoding};
use super::*;

const URL: &str = "http://127.0.0.1:8080/register/confirm/AbC-123_x";
const SUBJECT: &str = "Ügyfélkapu regisztráció megerősítése";

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn sender() -> Sender {
    Sender::parse("Ügyfélkapu+ <noreply@kapu.example.hu>").unwrap()
}

/// A link line of about 150 characters, longer than any encoder's wrap width.
fn long_url() -> String {
    let url = format!("{URL}?token={}&lang=hu&next=%2Fprofil%2Fadatok", "Zx9_-".repeat(18));
    assert!(url.len() > 140, "{}", url.len());
    url
}

fn hungarian_text(url: &str) -> String {
    format!(
        "Kedves Árvíztűrő Tükörfúrógép!\n\nA regisztráció megerősítéséhez nyissa meg ezt a hivatkozást:\n{url}\n\nŐszintén: ő ű Ő Ű á é í ó ö ú ü.\n.egy ponttal kezdődő sor\n"
    )
}

// ---------------------------------------------------------------- addresses

#[test]
fn email_address_accepts() {
    for (input, expected) in [
        ("kovacs.eva@example.hu", "kovacs.eva@example.hu"),
        ("  Kovacs.Eva@Example.HU \n", "Kovacs.Eva@example.hu"),
        ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        // Apostrophes and dashes are atext; SQL safety is the store's job
        // (bound parameters), not the address syntax's.
        ("a'--@x.hu", "a'--@x.hu"),
        ("x@a-b.hu", "x@a-b.hu"),
        ("1234567890@x.hu", "1234567890@x.hu"),
        // Internationalised domains work in their ASCII (punycode) form.
        ("a@xn--kovcs-rta.hu", "a@xn--kovcs-rta.hu"),
    ] {
        let a = EmailAddress::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(a.as_str(), expected);
        assert_eq!(a.to_string(), expected);
    }
    let a = addr("Kovacs@Example.HU");
    assert_eq!(a.local_part(), "Kovacs");
    assert_eq!(a.domain(), "example.hu");
}

#[test]
fn email_address_rejects() {
    use EmailAddressError::*;
    let megabyte = "a".repeat(1 << 20) + "@x.hu";
    let long_local = format!("{}@x.hu", "a".repeat(65));
    let long_total = format!("a@{}.hu", "b".repeat(251));
    for (input, expected) in [
        ("", Empty),
        ("   \t\n", Empty),
        (megabyte.as_str(), TooLong),
        (long_local.as_str(), TooLong),
        (long_total.as_str(), TooLong),
        ("plain", Invalid),
        ("@x.hu", Invalid),
        ("a@", Invalid),
        ("a@b@x.hu", Invalid),
        ("a@localhost", Invalid),
        ("a@hu", Invalid),
        ("a b@x.hu", Invalid),
        ("a@x .hu", Invalid),
        ("a\u{0}@x.hu", Invalid),
        ("a\r\nBcc: evil@x.hu", Invalid),
        ("<script>@x.hu", Invalid),
        ("a@<script>.hu", Invalid),
        ("\"a b\"@x.hu", Invalid),
        ("\"a\"@x.hu", Invalid),
        ("a@[127.0.0.1]", Invalid),
        ("a@127.0.0.1", Invalid),
        ("a@10.0.0.1", Invalid),
        ("árvíz@x.hu", Invalid),
        ("a@példa.hu", Invalid),
        ("a..b@x.hu", Invalid),
        (".a@x.hu", Invalid),
        ("a@x..hu", Invalid),
        ("a@x.hu.", Invalid),
        ("a.@x.hu", Invalid),
        ("a@-x.hu", Invalid),
        ("a;DROP TABLE@x.hu", Invalid),
        ("Name <a@x.hu>", Invalid),
    ] {
        assert_eq!(EmailAddress::parse(input), Err(expected), "{:?}", &input[..input.len().min(40)]);
    }
}

#[test]
fn email_address_serde_and_traits() {
    let a: EmailAddress = "A@X.HU".parse().unwrap();
    assert_eq!(a, addr("A@x.hu"));
    assert_eq!(format!("{a:?}"), "EmailAddress(\"A@x.hu\")");
    assert_eq!(serde_json::to_string(&a).unwrap(), "\"A@x.hu\"");
    let back: EmailAddress = serde_json::from_str("\"A@x.hu\"").unwrap();
    assert_eq!(back, a);
    assert!(serde_json::from_str::<EmailAddress>("\"<script>@x.hu\"").is_err());
    assert_eq!(String::from(a), "A@x.hu");
}

#[test]
fn sender_parsing() {
    let s = Sender::parse("kapu <noreply@localhost>").unwrap();
    assert_eq!(s.name.as_deref(), Some("kapu"));
    assert_eq!(s.address.as_str(), "noreply@localhost");
    let s = Sender::parse("noreply@Kapu.HU").unwrap();
    assert_eq!(s.name, None);
    assert_eq!(s.address.as_str(), "noreply@kapu.hu");
    let s = Sender::parse("\"Ügyfélkapu+\" <noreply@kapu.hu>").unwrap();
    assert_eq!(s.name.as_deref(), Some("Ügyfélkapu+"));
    for bad in ["", "kapu", "kapu <>", "kapu <a@[127.0.0.1]>", "a@b@c.hu"] {
        let e = Sender::parse(bad).unwrap_err();
        assert!(matches!(e, MailError::Config(_)), "{bad:?}: {e:?}");
    }
    assert_eq!(Sender::from(addr("a@x.hu")).address, addr("a@x.hu"));
}

// ------------------------------------------------------------------ message

fn email(to: &str, subject: &str, text: &str) -> OutgoingEmail {
    OutgoingEmail::new(addr(to), subject, text)
}

#[test]
fn subjects_round_trip_through_rfc2047() {
    for subject in [
        SUBJECT,
        "Jelszó visszaállítása - kapu",
        "plain ascii subject",
        "two  spaces,   three",
        "Új bejelentkezés: Árvíztűrő tükörfúrógép, Őszibarack, ŰŐ és még sok minden más, hogy hosszú legyen a sor és biztosan tördelni kelljen",
        "=?utf-8?b?not really?= ő",
    ] {
        let m = message::build(&sender(), &email("a@x.hu", subject, "x"), BodyEncoding::EightBit).unwrap().formatted();
        let p = message::parse(&m).unwrap();
        assert_eq!(p.subject, subject);
    }
    // What lettre emits, so the decoder targets the right form.
    let m = message::build(&sender(), &email("a@x.hu", SUBJECT, "x"), BodyEncoding::EightBit).unwrap().formatted();
    let m = String::from_utf8(m).unwrap();
    assert!(m.contains("Subject: =?utf-8?b?"), "{m}");
    let m = message::build(&sender(), &email("a@x.hu", "  padded\t", "x"), BodyEncoding::EightBit).unwrap().formatted();
    assert_eq!(message::parse(&m).unwrap().subject, "padded");
}

#[test]
fn headers_cannot_be_injected() {
    let mut e = email("a@x.hu", "Hi\r\nBcc: evil@x.hu", "x");
    e.to_name = Some("Eve\r\nBcc: evil@x.hu".to_owned());
    let m = message::build(&sender(), &e, BodyEncoding::EightBit).unwrap().formatted();
    let m = String::from_utf8(m).unwrap();
    assert!(!m.lines().any(|l| l.to_ascii_lowercase().starts_with("bcc")), "{m}");
    let p = message::parse(m.as_bytes()).unwrap();
    assert_eq!(p.subject, "Hi  Bcc: evil@x.hu");
    assert_eq!(p.to, "a@x.hu");
}

#[test]
fn bodies_round_trip_in_every_encoding() {
    let url = long_url();
    let long_line = format!("{}\n", "ő".repeat(600)); // 1200 octets: too long for 8bit
    for text in [hungarian_text(&url), "ascii only\nno newline at end".to_owned(), long_line] {
        for encoding in [BodyEncoding::EightBit, BodyEncoding::Auto] {
            let m = message::build(&sender(), &email("a@x.hu", SUBJECT, &text), encoding).unwrap().formatted();
            let p = message::parse(&m).unwrap();
            assert_eq!(p.text, text, "{encoding:?}");
        }
    }
    // CRLF and stray control characters are normalised, not passed on.
    let m = message::build(&sender(), &email("a@x.hu", "s", "a\r\nb\rc\u{7}d"), BodyEncoding::EightBit)
        .unwrap()
        .formatted();
    assert_eq!(message::parse(&m).unwrap().text, "a\nb\nc\u{FFFD}d");
}

#[test]
fn message_headers_are_sensible() {
    let mut e = email("kovacs@x.hu", SUBJECT, "x");
    e.to_name = Some("Kovács Éva".to_owned());
    let m = message::build(&sender(), &e, BodyEncoding::EightBit).unwrap().formatted();
    let m = String::from_utf8(m).unwrap();
    assert!(m.contains("MIME-Version: 1.0\r\n"), "{m}");
    assert!(m.contains("Content-Type: text/plain; charset=utf-8\r\n"), "{m}");
    assert!(m.contains("Content-Transfer-Encoding: 8bit\r\n"), "{m}");
    assert!(m.contains("Message-ID: <"), "{m}");
    assert!(m.contains("@kapu.example.hu>\r\n"), "{m}");
    assert!(m.contains("Date: "), "{m}");
    assert!(m.contains("<noreply@kapu.example.hu>"), "{m}");
    assert_eq!(message::parse(m.as_bytes()).unwrap().to, "kovacs@x.hu");
}

// ------------------------------------------------------------------- outbox

fn outbox_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn outbox_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outbox").join("nested");
    let mailer = OutboxMailer::new(dir.clone(), addr("noreply@kapu.example.hu")).unwrap();
    assert_eq!(mailer.dir(), dir);

    let url = long_url();
    let first_text = hungarian_text(&url);
    mailer.send(email("elso@example.hu", SUBJECT, &first_text).with_to_name("Kovács Éva")).await.unwrap();
    let second_text = format!("Jelszó-visszaállítás:\n{URL}\n");
    mailer.send(email("Masodik@Example.HU", "Jelszó visszaállítása", &second_text)).await.unwrap();

    let msgs = read_outbox(&dir).unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].to, "elso@example.hu");
    assert_eq!(msgs[0].subject, SUBJECT);
    assert_eq!(msgs[0].text, first_text);
    assert_eq!(msgs[1].to, "Masodik@example.hu");
    assert_eq!(msgs[1].subject, "Jelszó visszaállítása");
    assert_eq!(msgs[1].text, second_text);

    // The file itself is readable: link and accents verbatim, on one line.
    let raw = std::fs::read_to_string(&msgs[0].path).unwrap();
    assert!(raw.contains(&format!("\r\n{url}\r\n")), "{raw}");
    assert!(raw.contains("Őszintén: ő ű Ő Ű á é í ó ö ú ü."), "{raw}");
    assert!(raw.contains("Content-Transfer-Encoding: 8bit"), "{raw}");
    assert!(raw.contains("charset=utf-8"), "{raw}");
    assert!(!raw.contains("quoted-printable") && !raw.contains("base64"), "{raw}");
    let raw2 = std::fs::read_to_string(&msgs[1].path).unwrap();
    assert!(raw2.contains(URL));

    // Names: `<timestamp>-<8 hex>.eml`, nothing else (no temp files).
    let names = outbox_files(&dir);
    assert_eq!(names.len(), 2, "{names:?}");
    for name in &names {
        let (stamp, rest) = name.split_once('-').unwrap();
        assert_eq!(stamp.len(), "20261122T031500.123Z".len(), "{name}");
        assert!(jiff::fmt::strtime::parse("%Y%m%dT%H%M%S%.fZ", stamp).is_ok(), "{name}");
        let hex = rest.strip_suffix(".eml").unwrap();
        assert_eq!(hex.len(), 8);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
    assert!(names[0] < names[1]);
}

#[tokio::test]
async fn outbox_keeps_order_within_one_millisecond() {
    let tmp = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(tmp.path().to_owned(), addr("noreply@kapu.hu")).unwrap();
    for i in 0..20 {
        mailer.send(email("a@x.hu", &format!("msg {i:02}"), "x")).await.unwrap();
    }
    let subjects: Vec<String> = read_outbox(tmp.path()).unwrap().into_iter().map(|m| m.subject).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("msg {i:02}")).collect();
    assert_eq!(subjects, expected);
}

#[tokio::test]
async fn outbox_skips_temp_files_and_leaves_none() {
    let tmp = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(tmp.path().to_owned(), addr("noreply@kapu.hu")).unwrap();
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let m = mailer.clone();
            tokio::spawn(async move { m.send(email("a@x.hu", &format!("{i}"), "x")).await })
        })
        .collect();
    for s in sends {
        s.await.unwrap().unwrap();
    }
    let names = outbox_files(tmp.path());
    assert_eq!(names.len(), 8);
    assert!(names.iter().all(|n| n.ends_with(".eml") && !n.starts_with('.')), "{names:?}");

    // A write in progress elsewhere is not reported.
    std::fs::write(tmp.path().join(".20990101T000000.000Z-deadbeef.eml.tmp"), "partial").unwrap();
    assert_eq!(read_outbox(tmp.path()).unwrap().len(), 8);
}

#[cfg(unix)]
#[tokio::test]
async fn outbox_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outbox");
    let mailer = OutboxMailer::new(dir.clone(), addr("noreply@kapu.hu")).unwrap();
    mailer.send(email("a@x.hu", "s", "t")).await.unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let msgs = read_outbox(&dir).unwrap();
    assert_eq!(mode(&msgs[0].path), 0o600);
}

#[test]
fn outbox_in_a_file_is_an_error() {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    let e = OutboxMailer::new(tmp.path().join("sub"), addr("a@x.hu")).unwrap_err();
    assert!(matches!(e, MailError::Outbox { .. }), "{e:?}");
}

async fn wait_for_outbox(dir: &Path, n: usize) -> Vec<OutboxMessage> {
    for _ in 0..200 {
        let msgs = read_outbox(dir).unwrap();
        if msgs.len() >= n {
            return msgs;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the outbox did not receive {n} messages");
}

#[tokio::test]
async fn send_in_background_delivers_and_swallows_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = MailConfig::default();
    let mailer = mailer_from_config(&cfg, tmp.path().join("outbox")).unwrap();
    send_in_background(mailer.clone(), email("a@x.hu", SUBJECT, URL));
    let msgs = wait_for_outbox(&tmp.path().join("outbox"), 1).await;
    assert_eq!(msgs[0].text, URL);

    // A failing mailer: the caller sees nothing, only a log line.
    std::fs::remove_dir_all(tmp.path().join("outbox")).unwrap();
    send_in_background(mailer, email("a@x.hu", SUBJECT, URL));
    tokio::time::sleep(Duration::from_millis(50)).await;
}

#[test]
fn send_in_background_without_runtime_does_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let mailer = OutboxMailer::new(tmp.path().to_owned(), addr("a@x.hu")).unwrap();
    send_in_background(Arc::new(mailer), email("a@x.hu", "s", "t"));
}

// ------------------------------------------------------------------- config

fn smtp_from_toml(s: &str) -> Result<SmtpConfig, toml::de::Error> {
    toml::from_str(s)
}

#[test]
fn mail_config_defaults_and_parsing() {
    let cfg: MailConfig = toml::from_str("").unwrap();
    assert_eq!(cfg.from, "kapu <noreply@localhost>");
    assert!(cfg.smtp.is_none());
    cfg.validate().unwrap();
    assert_eq!(cfg.sender().unwrap().address.as_str(), "noreply@localhost");

    let cfg: MailConfig = toml::from_str(
        "from = \"Ügyfélkapu+ <noreply@kapu.hu>\"\n[smtp]\nhost = \"smtp.kapu.hu\"\nusername = \"kapu\"\npassword = \"s3cret\"\n",
    )
    .unwrap();
    cfg.validate().unwrap();
    let smtp = cfg.smtp.as_ref().unwrap();
    assert_eq!(smtp.security, SmtpSecurity::StartTls);
    assert_eq!(smtp.effective_port(), 587);
    assert_eq!(smtp.timeout_seconds, 10);

    assert!(toml::from_str::<MailConfig>("form = \"x@y.hu\"").is_err());
    assert!(toml::from_str::<MailConfig>("[smtp]\nhost = \"a\"\nsecurtiy = \"tls\"").is_err());
    assert!(toml::from_str::<MailConfig>("[smtp]\nhost = \"a\"\nsecurity = \"ssl\"").is_err());
    assert!(toml::from_str::<MailConfig>("[smtp]\nport = 25").is_err(), "host is required");

    let bad_from = MailConfig { from: "not an address".to_owned(), ..MailConfig::default() };
    assert!(bad_from.validate().unwrap_err().to_string().contains("mail.from"));
}

#[test]
fn smtp_config_validation() {
    let ok = [
        "host = \"smtp.example.hu\"",
        "host = \"smtp.example.hu\"\nsecurity = \"tls\"",
        "host = \"10.1.2.3\"\nport = 2525\nsecurity = \"starttls\"",
        "host = \"127.0.0.1\"\nsecurity = \"none\"",
        "host = \"localhost\"\nsecurity = \"none\"\nport = 1025",
        "host = \"::1\"\nsecurity = \"none\"",
        "host = \"x.hu\"\nusername = \"u\"\npassword = \"p\"\ntimeout_seconds = 300",
    ];
    for s in ok {
        smtp_from_toml(s).unwrap().validate().unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    let bad = [
        ("host = \"\"", "mail.smtp.host must be set"),
        ("host = \"smtp://x.hu\"", "not a URL"),
        ("host = \"x .hu\"", "spaces"),
        ("host = \" x.hu\"", "spaces"),
        ("host = \"x.hu\"\nport = 0", "mail.smtp.port"),
        (
            "host = \"smtp.example.hu\"\nsecurity = \"none\"",
            "mail.smtp.security = none is allowed only for a loopback host; use starttls or tls",
        ),
        ("host = \"10.0.0.1\"\nsecurity = \"none\"", "loopback"),
        ("host = \"localhost.evil.hu\"\nsecurity = \"none\"", "loopback"),
        ("host = \"x.hu\"\nusername = \"u\"", "set together"),
        ("host = \"x.hu\"\npassword = \"p\"", "set together"),
        ("host = \"x.hu\"\nusername = \"\"\npassword = \"p\"", "must not be empty"),
        ("host = \"x.hu\"\ntimeout_seconds = 0", "timeout_seconds"),
        ("host = \"x.hu\"\ntimeout_seconds = 301", "timeout_seconds"),
    ];
    for (s, msg) in bad {
        let e = smtp_from_toml(s).unwrap().validate().unwrap_err();
        assert!(e.to_string().contains(msg), "{s}: {e}");
    }
    let tls = smtp_from_toml("host = \"x.hu\"\nsecurity = \"tls\"").unwrap();
    assert_eq!(tls.effective_port(), 465);
    let none = smtp_from_toml("host = \"localhost\"\nsecurity = \"none\"").unwrap();
    assert_eq!(none.effective_port(), 25);
}

#[test]
fn smtp_password_is_not_in_debug_output() {
    let cfg = smtp_from_toml("host = \"x.hu\"\nusername = \"kapu\"\npassword = \"hunter2-SECRET\"").unwrap();
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("<redacted>") && shown.contains("kapu"), "{shown}");
    let mail = MailConfig { from: "a@x.hu".to_owned(), smtp: Some(cfg), ..MailConfig::default() };
    assert!(!format!("{mail:?}").contains("hunter2"));
}

#[test]
fn smtp_mailer_needs_a_runtime_and_a_valid_config() {
    let cfg = SmtpConfig::new("smtp.example.hu");
    let e = SmtpMailer::new(&cfg, addr("a@x.hu")).unwrap_err();
    assert!(e.to_string().contains("tokio runtime"), "{e}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        SmtpMailer::new(&cfg, addr("a@x.hu")).unwrap();
        let mut tls = SmtpConfig::new("smtp.example.hu");
        tls.security = SmtpSecurity::Tls;
        SmtpMailer::new(&tls, addr("a@x.hu")).unwrap();
        let mut plain = SmtpConfig::new("smtp.example.hu");
        plain.security = SmtpSecurity::None;
        assert!(matches!(SmtpMailer::new(&plain, addr("a@x.hu")), Err(MailError::Config(_))));
    });
}

// --------------------------------------------------------------------- SMTP

struct Received {
    commands: Vec<String>,
    data: String,
}

/// Just enough of an SMTP server for one message, on a plain thread so the
/// test does not depend on tokio's io features.
fn fake_smtp_server() -> (u16, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        serve(stream, tx);
    });
    (port, rx)
}

fn serve(stream: TcpStream, tx: mpsc::Sender<Received>) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut say = |s: &str| out.write_all(s.as_bytes()).unwrap();
    say("220 fake.test ESMTP\r\n");
    let mut commands = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_owned();
        commands.push(cmd.clone());
        let verb = cmd.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => say("250-fake.test\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n"),
            "AUTH" => say("235 2.7.0 Authentication successful\r\n"),
            "DATA" => {
                say("354 go ahead\r\n");
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    // Undo dot-stuffing (RFC 5321 §4.5.2).
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                // lettre's body already ends in CRLF and the terminator
                // starts with another, so the wire carries one extra blank
                // line after the message.
                if let Some(body) = data.strip_suffix("\r\n") {
                    data.truncate(body.len());
                }
                say("250 2.0.0 queued\r\n");
                tx.send(Received { commands: std::mem::take(&mut commands), data }).unwrap();
            }
            "QUIT" => {
                say("221 bye\r\n");
                return;
            }
            _ => say("250 ok\r\n"),
        }
    }
}

#[tokio::test]
async fn smtp_delivers_through_a_real_smtp_session() {
    let (port, received) = fake_smtp_server();
    let cfg: MailConfig = toml::from_str(&format!(
        "from = \"Ügyfélkapu+ <noreply@kapu.example.hu>\"\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"none\"\nusername = \"kapu\"\npassword = \"pw\"\ntimeout_seconds = 5\n"
    ))
    .unwrap();
    let mailer = mailer_from_config(&cfg, "/nonexistent/never-used".into()).unwrap();

    let url = long_url();
    let text = hungarian_text(&url);
    mailer.send(email("citizen@example.hu", SUBJECT, &text).with_to_name("Kovács Éva")).await.unwrap();

    let got =
        tokio::task::spawn_blocking(move || received.recv_timeout(Duration::from_secs(10))).await.unwrap().unwrap();
    let upper: Vec<String> = got.commands.iter().map(|c| c.to_ascii_uppercase()).collect();
    assert!(upper[0].starts_with("EHLO "), "{:?}", got.commands);
    let expected_auth = format!("AUTH PLAIN {}", data_encoding::BASE64.encode(b"\0kapu\0pw"));
    assert!(got.commands.contains(&expected_auth), "{:?}", got.commands);
    assert!(upper.iter().any(|c| c.starts_with("MAIL FROM:<NOREPLY@KAPU.EXAMPLE.HU>")), "{:?}", got.commands);
    assert!(upper.iter().any(|c| c == "RCPT TO:<CITIZEN@EXAMPLE.HU>"), "{:?}", got.commands);

    // On the wire the body is 7-bit clean (QP here); decoded it is exact.
    assert!(got.data.is_ascii());
    assert!(got.data.contains("Subject: =?utf-8?b?"), "{}", got.data);
    let parsed = message::parse(got.data.as_bytes()).unwrap();
    assert_eq!(parsed.subject, SUBJECT);
    assert_eq!(parsed.text, text);
    assert_eq!(parsed.to, "citizen@example.hu");
}

#[tokio::test]
async fn smtp_failure_is_an_error_not_a_hang() {
    // A port that was just free: connection refused.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cfg = SmtpConfig::new("127.0.0.1");
    cfg.port = Some(port);
    cfg.security = SmtpSecurity::None;
    cfg.timeout_seconds = 2;
    let mailer = SmtpMailer::new(&cfg, addr("noreply@kapu.hu")).unwrap();
    let e = mailer.send(email("a@x.hu", "s", "t")).await.unwrap_err();
    assert!(matches!(e, MailError::Smtp(_)), "{e:?}");
}
