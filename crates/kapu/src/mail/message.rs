//! Turning an [`OutgoingEmail`] into RFC 5322 bytes, and (for the outbox and
//! tests) reading such bytes back.

use data_encoding::{BASE64, HEXLOWER};
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use rand_core::{OsRng, RngCore};

use super::{MailError, OutgoingEmail, Sender};

/// RFC 5322 §2.1.1: a line may hold at most 998 octets before its CRLF.
const MAX_LINE_OCTETS: usize = 998;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    /// Raw UTF-8 (`Content-Transfer-Encoding: 8bit`), so the file reads as
    /// plain text and links stay on one line. Falls back to [`Auto`] for the
    /// rare body that cannot be 8bit (a line over 998 octets).
    ///
    /// [`Auto`]: BodyEncoding::Auto
    EightBit,
    /// lettre's choice of 7bit, quoted-printable or base64: 7-bit clean, so
    /// any relay takes it, with or without the 8BITMIME extension.
    Auto,
}

pub(crate) fn build(from: &Sender, email: &OutgoingEmail, encoding: BodyEncoding) -> Result<Message, MailError> {
    let from_box = Mailbox::new(from.name.clone(), from.address.to_lettre()?);
    let to_name = email.to_name.as_deref().map(header_text).filter(|n| !n.trim().is_empty());
    let to_box = Mailbox::new(to_name, email.to.to_lettre()?);

    let text = body_text(&email.text);
    let crlf = text.replace('\n', "\r\n");
    let eight_bit = encoding == BodyEncoding::EightBit && crlf.split("\r\n").all(|line| line.len() <= MAX_LINE_OCTETS);
    let part = SinglePart::builder().header(ContentType::TEXT_PLAIN);
    let part = if eight_bit {
        // Safe to call "pre-encoded": control characters are gone, lines are
        // CRLF-terminated and short enough, which is all 8bit requires.
        part.body(Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::EightBit))
    } else {
        part.body(text)
    };

    let message = Message::builder()
        .from(from_box)
        .to(to_box)
        .subject(header_text(&email.subject))
        // Our own id instead of lettre's `<random@hostname>`, which would
        // publish the server's internal host name in every message.
        .message_id(Some(format!("<{}@{}>", random_hex(16)?, from.address.domain())))
        .date_now()
        .singlepart(part)?;
    Ok(message)
}

/// Header values are single-line: line breaks and other control characters
/// become spaces, so a name typed by a user can never start a new header.
/// Trimmed because folding would not keep outer spaces anyway.
fn header_text(s: &str) -> String {
    s.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// LF line ends, and no control characters besides `\n` and `\t`; the
/// invisible ones would only confuse readers (or spam filters).
fn body_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\r' => '\n',
            '\n' | '\t' => c,
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, MailError> {
    let mut buf = vec![0u8; bytes];
    OsRng.try_fill_bytes(&mut buf).map_err(|e| MailError::Random(e.to_string()))?;
    Ok(HEXLOWER.encode(&buf))
}

/// What [`parse`] recovers from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The bare address of the first recipient.
    pub to: String,
    pub subject: String,
    /// The decoded body with `\n` line ends.
    pub text: String,
}

/// Reads a single-part text message as [`build`] writes it (any transfer
/// encoding). Not a general MIME parser: multipart mail is out of scope.
pub(crate) fn parse(raw: &[u8]) -> Result<Parsed, String> {
    let raw = std::str::from_utf8(raw).map_err(|_| "the message is not UTF-8".to_owned())?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .ok_or("the message has no blank line after its headers")?;

    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            // Unfolding (RFC 5322 §2.2.3): drop the line break, keep the space.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim_start().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim_end().to_owned());

    let to = decode_header(&header("to").ok_or("the message has no To header")?);
    let to = match (to.rfind('<'), to.rfind('>')) {
        (Some(open), Some(close)) if open < close => to[open + 1..close].trim().to_owned(),
        _ => to.trim().to_owned(),
    };
    let subject = decode_header(&header("subject").unwrap_or_default());

    // lettre ends the body with one CRLF of its own.
    let body = body.strip_suffix("\r\n").or_else(|| body.strip_suffix('\n')).unwrap_or(body);
    let cte = header("content-transfer-encoding").unwrap_or_default().to_ascii_lowercase();
    let bytes = match cte.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            BASE64.decode(compact.as_bytes()).map_err(|e| format!("bad base64 body: {e}"))?
        }
        _ => body.as_bytes().to_vec(),
    };
    let text = String::from_utf8(bytes).map_err(|_| "the body is not UTF-8".to_owned())?;
    Ok(Parsed { to, subject, text: text.replace("\r\n", "\n") })
}

fn decode_quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if b[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let Some(byte) = b.get(i + 1..i + 3).and_then(hex_byte) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(s, 16).ok()
}

/// RFC 2047 `=?charset?B|Q?...?=` words back to text. lettre writes UTF-8 B
/// words (`=?utf-8?b?...?=`) for every run of non-ASCII words, split across
/// folded lines; the whitespace between two encoded words is not part of the
/// text (RFC 2047 §6.2), any other whitespace is.
fn decode_header(value: &str) -> String {
    let mut out = String::new();
    let mut pending_space = String::new();
    // Adjacent words are joined as bytes first, in case an encoder split a
    // character between them.
    let mut encoded: Vec<u8> = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let space_len = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if space_len > 0 {
            pending_space.push_str(&rest[..space_len]);
            rest = &rest[space_len..];
            continue;
        }
        let word_len = rest.find([' ', '\t']).unwrap_or(rest.len());
        let word = &rest[..word_len];
        rest = &rest[word_len..];
        match decode_encoded_word(word) {
            Some(bytes) => {
                if encoded.is_empty() {
                    out.push_str(&pending_space);
                }
                encoded.extend_from_slice(&bytes);
            }
            None => {
                out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut encoded)));
                out.push_str(&pending_space);
                out.push_str(word);
            }
        }
        pending_space.clear();
    }
    out.push_str(&String::from_utf8_lossy(&encoded));
    out.push_str(&pending_space);
    out
}

fn decode_encoded_word(word: &str) -> Option<Vec<u8>> {
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.split('?');
    let (Some(charset), Some(encoding), Some(text), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    // RFC 2231 allows a language after `*`.
    let charset = charset.split('*').next().unwrap_or_default().to_ascii_lowercase();
    if !matches!(charset.as_str(), "utf-8" | "utf8" | "us-ascii") {
        return None;
    }
    match encoding {
        "b" | "B" => BASE64.decode(text.as_bytes()).ok(),
        "q" | "Q" => Some(decode_quoted_printable(&text.replace('_', " "))),
        _ => None,
    }
}
