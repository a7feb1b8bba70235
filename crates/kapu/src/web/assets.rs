//! Static files, compiled into the binary: kapu serves its own assets and
//! never loads anything from a CDN.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::web::error::PageError;

const FILES: &[(&str, &str, &str)] = &[
    ("kapu.css", "text/css; charset=utf-8", include_str!("../../static/kapu.css")),
    ("session.js", "text/javascript; charset=utf-8", include_str!("../../static/session.js")),
    ("copy.js", "text/javascript; charset=utf-8", include_str!("../../static/copy.js")),
    ("form_post.js", "text/javascript; charset=utf-8", include_str!("../../static/form_post.js")),
];

pub async fn static_file(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=3600")], *body)
                .into_response()
        }
        None => (axum::http::StatusCode::NOT_FOUND, PageError::NotFound.to_string()).into_response(),
    }
}
