//! Form input: a rejected form (wrong content type, invalid UTF-8, a value
//! that is not of its field's type) becomes the "form could not be read" page,
//! in the page's language, with status 400.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use crate::web::context::CookieUpdates;
use crate::web::error::PageError;

pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Form(value)),
            Err(rejection) => {
                tracing::debug!(%rejection, "form rejected");
                Err(PageError::BadForm)
            }
        }
    }
}

/// 303 See Other: after a POST, the browser follows with a GET.
pub fn redirect(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Asks the page middleware to set these cookies on the response.
pub fn with_cookies(mut response: Response, cookies: Vec<String>) -> Response {
    response.extensions_mut().insert(CookieUpdates(cookies));
    response
}

/// A page answer with a status other than 200 (e.g. 422 for a form with errors).
pub fn with_status(mut response: Response, status: axum::http::StatusCode) -> Response {
    *response.status_mut() = status;
    response
}
