//! `GET /authenticator`: the browser authenticator, a page in the style of
//! totp.app for citizens without a smartphone.
//!
//! The page is ONE self-contained HTML file that works just as well saved to
//! disk and opened from there: its secrets stay in the browser's storage,
//! encrypted under the user's passphrase, and it never talks to a server. It
//! is assembled once, at first use, from `static/authenticator.html`, the
//! vendored QR decoder `static/vendor/jsQR.js` (the first inline `<script>`)
//! and the page's own modules `static/authenticator/{i18n,otp,backup,storage,ui}.js`,
//! concatenated in that order into one function scope (the second inline
//! `<script>`). The modules are plain scripts, so the Node tests
//! (browser/tests/authenticator-modules.test.mjs) load the same files.
//!
//! Each answer carries kapu's time (`<meta name="kapu-server-time">`, in
//! milliseconds), so the page can tell the user when the device's clock is
//! off; it is not in a script, so the script hashes do not change.
//!
//! The Content-Security-Policy allows exactly the page's inline scripts and
//! styles by their SHA-256 hashes and forbids every connection. The same
//! policy (less `frame-ancestors`, which browsers ignore, with a console
//! error, in a `<meta>`) is written into the page itself, so that a saved copy
//! is just as locked down.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64;
use sha2::{Digest, Sha256};

const TEMPLATE: &str = include_str!("../../static/authenticator.html");
const JSQR: &str = include_str!("../../static/vendor/jsQR.js");
/// The page's modules, in the order they are concatenated.
const MODULES: [(&str, &str); 5] = [
    ("i18n.js", include_str!("../../static/authenticator/i18n.js")),
    ("otp.js", include_str!("../../static/authenticator/otp.js")),
    ("backup.js", include_str!("../../static/authenticator/backup.js")),
    ("storage.js", include_str!("../../static/authenticator/storage.js")),
    ("ui.js", include_str!("../../static/authenticator/ui.js")),
];

/// Where the decoder goes: the whole content of the page's first `<script>`.
const JSQR_MARKER: &str = "/*@kapu:vendor/jsQR.js@*/";
/// Where the modules go: the whole content of the page's second `<script>`.
const APP_MARKER: &str = "/*@kapu:app@*/";
/// Where the server's time goes (per answer).
const TIME_MARKER: &str = "@kapu:server-time@";
/// Where the policy goes: the `content` of the CSP `<meta>`.
const CSP_MARKER: &str = "@kapu:csp@";

/// The assembled page and its policy.
struct Page {
    html: String,
    csp: String,
}

static PAGE: LazyLock<Page> = LazyLock::new(|| assemble(TEMPLATE, JSQR, &app()));

pub async fn page() -> Response {
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE.csp.as_str()),
            // Never stored: each copy carries the time it was served.
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE.html.replacen(TIME_MARKER, &now_ms.to_string(), 1),
    )
        .into_response()
}

/// The modules in one strict function scope, each under a comment naming it.
fn app() -> String {
    let mut out = String::from("'use strict';\n(() => {\n");
    for (name, source) in MODULES {
        out.push_str(&format!("// ---- static/authenticator/{name} ----\n"));
        out.push_str(source);
        out.push('\n');
    }
    out.push_str("})();\n");
    out
}

fn assemble(template: &str, decoder: &str, app: &str) -> Page {
    // A "</script" inside a script would end its element early.
    let decoder = decoder.replace("</script", "<\\/script");
    let app = app.replace("</script", "<\\/script");
    let with_decoder = template.replacen(JSQR_MARKER, &decoder, 1).replacen(APP_MARKER, &app, 1);
    let scripts = inline_contents(&with_decoder, "script");
    let styles = inline_contents(&with_decoder, "style");
    let policy = |frame_ancestors: bool| {
        format!(
            "default-src 'none'; script-src {}; style-src {}; img-src data: blob:; connect-src 'none'; \
             form-action 'none';{} base-uri 'none'",
            sources(&scripts),
            sources(&styles),
            if frame_ancestors { " frame-ancestors 'none';" } else { "" },
        )
    };
    let html = with_decoder.replacen(CSP_MARKER, &policy(false), 1);
    Page { html, csp: policy(true) }
}

/// The texts of the `<tag>...</tag>` elements (written without attributes,
/// as the page writes them), in document order.
fn inline_contents<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let Some(end) = body.find(&close) else { break };
        found.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    found
}

/// `'sha256-...'` for each text; `'none'` when there is none.
fn sources(texts: &[&str]) -> String {
    if texts.is_empty() {
        return "'none'".to_owned();
    }
    texts
        .iter()
        .map(|t| format!("'sha256-{}'", BASE64.encode(&Sha256::digest(t.as_bytes()))))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Every `<script` and `<style` in the page, whatever its attributes,
    /// with its content, found independently of `inline_contents`.
    fn elements(html: &str, tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        let lower = html.to_ascii_lowercase();
        let mut from = 0;
        while let Some(i) = lower[from..].find(&format!("<{tag}")) {
            let start = from + i;
            let open_end = start + lower[start..].find('>').unwrap() + 1;
            assert_eq!(&html[start..open_end], format!("<{tag}>"), "a <{tag}> with attributes is not hashed");
            let close = open_end + lower[open_end..].find(&format!("</{tag}")).unwrap();
            out.push(html[open_end..close].to_owned());
            from = close + 1;
        }
        out
    }

    fn hash(text: &str) -> String {
        format!("'sha256-{}'", BASE64.encode(&Sha256::digest(text.as_bytes())))
    }

    fn directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
        let d = policy.split(';').map(str::trim).find(|d| d.split(' ').next() == Some(name)).unwrap();
        d.split(' ').skip(1).collect()
    }

    #[test]
    fn header_hashes_match_the_inline_contents() {
        let page = &*PAGE;
        let scripts = elements(&page.html, "script");
        let styles = elements(&page.html, "style");
        assert_eq!(scripts.len(), 2, "the decoder and the app");
        assert_eq!(styles.len(), 1);
        assert!(scripts[0].contains("jsQR"), "the decoder was inserted");
        assert!(!page.html.contains(JSQR_MARKER) && !page.html.contains(CSP_MARKER) && !page.html.contains(APP_MARKER));
        for (name, source) in MODULES {
            assert!(scripts[1].contains(source.trim()), "{name} is in the app script");
        }
        assert!(page.html.contains(TIME_MARKER), "filled in per answer");
        let expected_scripts: Vec<String> = scripts.iter().map(|s| hash(s)).collect();
        let expected_styles: Vec<String> = styles.iter().map(|s| hash(s)).collect();
        assert_eq!(directive(&page.csp, "script-src"), expected_scripts);
        assert_eq!(directive(&page.csp, "style-src"), expected_styles);
        for (name, value) in [
            ("default-src", "'none'"),
            ("connect-src", "'none'"),
            ("form-action", "'none'"),
            ("frame-ancestors", "'none'"),
            ("base-uri", "'none'"),
        ] {
            assert_eq!(directive(&page.csp, name), [value], "{name}");
        }
        assert_eq!(directive(&page.csp, "img-src"), ["data:", "blob:"]);
    }

    #[test]
    fn the_page_carries_the_same_policy_in_a_meta_element() {
        let page = &*PAGE;
        let meta = format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            page.csp.replace(" frame-ancestors 'none';", "")
        );
        assert!(page.html.contains(&meta), "{meta}");
        // Before any script or style, so that it governs them.
        let at = page.html.find(&meta).unwrap();
        assert!(at < page.html.find("<script>").unwrap() && at < page.html.find("<style>").unwrap());
    }

    #[test]
    fn the_page_makes_no_requests_of_its_own() {
        let html = &PAGE.html;
        for needle in ["fetch(", "XMLHttpRequest", "WebSocket", "EventSource", "sendBeacon", "importScripts", "@import"]
        {
            assert!(!html.contains(needle), "{needle}");
        }
        // Outside the decoder (whose licence header names its web sites): no
        // address to load anything from.
        let decoder = elements(html, "script").swap_remove(0);
        let page = html.replacen(&decoder, "", 1).to_ascii_lowercase();
        for needle in ["http:", "https:", "src=", "<link rel=\"stylesheet"] {
            assert!(!page.contains(needle), "{needle}");
        }
        for style in elements(html, "style") {
            assert!(!style.contains("url(") && !style.contains("@import"));
        }
    }

    #[test]
    fn each_answer_carries_the_server_time_and_the_same_hashes() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let response = rt.block_on(page());
        assert_eq!(response.headers()[header::CONTENT_SECURITY_POLICY], PAGE.csp.as_str());
        let body = rt.block_on(axum::body::to_bytes(response.into_body(), 1 << 24)).unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        let at = html.find("<meta name=\"kapu-server-time\" content=\"").unwrap() + 39;
        let ms: u128 = html[at..].split('"').next().unwrap().parse().unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
        assert!(now - ms < 60_000, "{ms} vs {now}");
        assert_eq!(
            elements(&html, "script"),
            elements(&PAGE.html, "script"),
            "scripts (and so their hashes) unchanged"
        );
    }

    #[test]
    fn sources_hash_exact_bytes() {
        assert_eq!(sources(&[]), "'none'");
        // printf 'a' | openssl dgst -sha256 -binary | base64
        assert_eq!(sources(&["a"]), "'sha256-ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs='");
        assert_eq!(inline_contents("<style>x</style><p><style></style>", "style"), ["x", ""]);
    }
}
