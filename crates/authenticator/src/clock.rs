//! Is this machine's clock right? Codes are computed from the time, so a
//! clock that is off by more than the server's tolerance gives codes that
//! are refused. The reference is the HTTP `Date` header of a server the user
//! trusts (kapu sends one with every answer).
//!
//! The header has a resolution of one second and is truncated, so the true
//! server time at the moment it was written lies in `[Date, Date + 1 s)`;
//! we take the middle, and compare it with the middle of our request's
//! round trip. The result is good to about half a second plus half the
//! round trip, plenty for thresholds of 15 and 30 seconds.

use std::time::{Duration, SystemTime};

/// Above this many seconds of difference, warn: a code typed late in its
/// period may already be refused.
pub const WARN_SECONDS: f64 = 15.0;
/// Above this, codes fail: the server accepts one period (30 s) either way.
pub const FAIL_SECONDS: f64 = 30.0;

/// How far off the clock is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within [`WARN_SECONDS`].
    Ok,
    /// Between [`WARN_SECONDS`] and [`FAIL_SECONDS`].
    Warn,
    /// More than [`FAIL_SECONDS`].
    CodesWillFail,
}

/// Judges an offset in seconds (either sign).
#[must_use]
pub fn assess(offset_seconds: f64) -> Verdict {
    let off = offset_seconds.abs();
    if off > FAIL_SECONDS {
        Verdict::CodesWillFail
    } else if off > WARN_SECONDS {
        Verdict::Warn
    } else {
        Verdict::Ok
    }
}

/// The outcome of one comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockCheck {
    /// Server time minus this machine's time, in seconds: positive when
    /// this machine is behind.
    pub offset_seconds: f64,
    /// The request's round trip.
    pub round_trip: Duration,
    /// The server's time as its `Date` header said.
    pub server_date: SystemTime,
}

impl ClockCheck {
    /// Computes the offset from the header and the request's start and end
    /// times on this machine.
    #[must_use]
    pub fn from_observation(server_date: SystemTime, sent: SystemTime, received: SystemTime) -> Self {
        let secs = |t: SystemTime| match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        let local_mid = (secs(sent) + secs(received)) / 2.0;
        let server_mid = secs(server_date) + 0.5;
        let round_trip = received.duration_since(sent).unwrap_or_default();
        Self { offset_seconds: server_mid - local_mid, round_trip, server_date }
    }

    /// The server's time as an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT").
    #[must_use]
    pub fn server_date_text(&self) -> String {
        httpdate::fmt_http_date(self.server_date)
    }

    /// [`assess`] of the offset.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        assess(self.offset_seconds)
    }
}

/// Why the server's time could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    /// Not an http(s) URL.
    #[error("{0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    /// The request failed.
    #[error("cannot reach {url}: {reason}")]
    Request {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No usable `Date` header.
    #[error("{0} sent no valid Date header, so its time cannot be compared")]
    NoDate(String),
}

/// Asks `url` for its time (one GET, whatever the status) and compares.
pub async fn check(url: &str, timeout: Duration) -> Result<ClockCheck, ClockError> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(ClockError::BadUrl(url.chars().take(100).collect()));
    }
    let request_error = |e: reqwest::Error| ClockError::Request { url: url.to_owned(), reason: error_chain(&e) };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("kapu-otp-time/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(request_error)?;
    let sent = SystemTime::now();
    let response = client.get(url).send().await.map_err(request_error)?;
    let received = SystemTime::now();
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .ok_or_else(|| ClockError::NoDate(url.to_owned()))?;
    Ok(ClockCheck::from_observation(date, sent, received))
}

/// The error and its causes, for a one-line message.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(assess(0.0), Verdict::Ok);
        assert_eq!(assess(-15.0), Verdict::Ok);
        assert_eq!(assess(15.5), Verdict::Warn);
        assert_eq!(assess(-30.0), Verdict::Warn);
        assert_eq!(assess(30.5), Verdict::CodesWillFail);
        assert_eq!(assess(-3600.0), Verdict::CodesWillFail);
    }

    #[test]
    fn offset_uses_midpoints() {
        let t = |s: f64| SystemTime::UNIX_EPOCH + Duration::from_secs_f64(s);
        // Server said 1000 (true time 1000.0..1001.0); we sent at 999.0 and
        // got the answer at 1000.0: local middle 999.5, server middle 1000.5.
        let c = ClockCheck::from_observation(t(1000.0), t(999.0), t(1000.0));
        assert!((c.offset_seconds - 1.0).abs() < 1e-6, "{c:?}");
        assert_eq!(c.round_trip, Duration::from_secs(1));
        let behind = ClockCheck::from_observation(t(1060.0), t(1000.0), t(1000.2));
        assert!((behind.offset_seconds - 60.4).abs() < 1e-6);
        assert_eq!(behind.verdict(), Verdict::CodesWillFail);
    }

    #[test]
    fn rejects_non_http() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let e = rt.block_on(check("ftp://x", Duration::from_secs(1))).unwrap_err();
        assert!(e.to_string().contains("not an http"));
    }
}
