//! The one mapping from errors to responses.
//!
//! A handler returns [`PageError`]; its response carries an [`ErrorPage`]
//! marker that the page middleware renders in the page's language (the error
//! itself does not know the language). Internal errors get an operation id,
//! logged with the cause and shown to the user, so support can find the log
//! line; the cause itself is never shown.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::accounts::service::{AccountError, LoginError};
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    BadForm,
    TooLarge,
    TooSlow,
    Csrf,
    NotFound,
    Busy,
    /// The database cannot be reached or cannot write: try again shortly.
    Unavailable,
    Internal,
}

/// Marker put on an error response; the middleware renders the page.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub kind: ErrorKind,
    pub operation_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("bad request")]
    BadRequest,
    #[error("the form could not be read")]
    BadForm,
    #[error("the request body is too large")]
    TooLarge,
    #[error("the request body came too slowly")]
    TooSlow,
    #[error("the CSRF token is missing or wrong")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error("the server is busy")]
    Busy,
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Not logged in (or the session ended): go to the login page.
    #[error("login required")]
    LoginRequired { expired: bool },
    /// A password-only session after the end of one-step login.
    #[error("two-step login required")]
    Restricted,
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a page handler returns (or a part of a page that can fail).
pub type PageResult<T = axum::response::Response> = Result<T, PageError>;

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => PageError::Unavailable(e.to_string()),
            e => PageError::Internal(format!("storage: {e}")),
        }
    }
}

impl From<AccountError> for PageError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Busy => PageError::Busy,
            AccountError::Store(e) => e.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<crate::identity::service::IdentityError> for PageError {
    fn from(e: crate::identity::service::IdentityError) -> Self {
        match e {
            crate::identity::service::IdentityError::Store(e) => e.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<crate::delegations::service::DelegationError> for PageError {
    fn from(e: crate::delegations::service::DelegationError) -> Self {
        match e {
            crate::delegations::service::DelegationError::Store(e) => e.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<LoginError> for PageError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Busy => PageError::Busy,
            LoginError::Store(e) => e.into(),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Internal(format!("template: {e}"))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, kind, operation_id) = match self {
            PageError::LoginRequired { expired } => {
                let to = if expired { "/login?msg=expired" } else { "/login?msg=required" };
                return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
            }
            PageError::Restricted => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, "/plus?msg=restricted")]).into_response();
            }
            PageError::BadRequest => (StatusCode::BAD_REQUEST, ErrorKind::BadRequest, None),
            PageError::BadForm => (StatusCode::BAD_REQUEST, ErrorKind::BadForm, None),
            PageError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorKind::TooLarge, None),
            PageError::TooSlow => (StatusCode::REQUEST_TIMEOUT, ErrorKind::TooSlow, None),
            PageError::Csrf => (StatusCode::FORBIDDEN, ErrorKind::Csrf, None),
            PageError::NotFound => (StatusCode::NOT_FOUND, ErrorKind::NotFound, None),
            PageError::Busy => (StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Busy, None),
            PageError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Unavailable, None)
            }
            PageError::Internal(cause) => {
                let id = crate::crypto::random_id()[..12].to_owned();
                tracing::error!(operation_id = %id, %cause, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorKind::Internal, Some(id))
            }
        };
        let mut response = status.into_response();
        if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body was never read: the connection cannot be
            // reused, and the client must not try (RFC 9110 §15.5.14).
            response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        response.extensions_mut().insert(ErrorPage { kind, operation_id });
        response
    }
}
