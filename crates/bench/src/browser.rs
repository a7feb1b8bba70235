//! One citizen's browser, scripted: a cookie jar, keep-alive connections, and
//! kapu's pages (login, code, OpenID Connect authorize and token).
//!
//! Nothing is followed automatically: every redirect is checked against the
//! page the flow must reach, so a benchmark that counts a login counts one
//! that really ended on the portal with a session.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use data_encoding::BASE64URL_NOPAD;
use rand_core::{OsRng, RngCore};
use reqwest::header::HeaderValue;
use sha2::{Digest, Sha256};

/// Cookies by name. The benchmark talks to 127.0.0.1 only (all instances,
/// whatever the port), so the jar ignores the URL as a browser would for
/// host-only cookies of one host.
#[derive(Default)]
pub struct Jar(Mutex<BTreeMap<String, String>>);

impl Jar {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl reqwest::cookie::CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, _url: &url::Url) {
        let mut jar = self.lock();
        for header in headers {
            let Ok(text) = header.to_str() else { continue };
            let mut parts = text.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let expired = parts.any(|a| a.eq_ignore_ascii_case("max-age=0"));
            if expired || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookies(&self, _url: &url::Url) -> Option<HeaderValue> {
        let jar = self.lock();
        if jar.is_empty() {
            return None;
        }
        let line = jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        HeaderValue::from_str(&line).ok()
    }
}

/// What a page answered.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The form's CSRF token (every kapu form has one).
    pub fn csrf(&self) -> Result<String> {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).context("the page has no CSRF field")? + marker.len();
        Ok(self.body[start..].split('"').next().unwrap_or_default().to_owned())
    }

    fn expect(self, what: &str, status: u16, location_prefix: Option<&str>) -> Result<Self> {
        let location_ok = match (location_prefix, &self.location) {
            (None, _) => true,
            (Some(prefix), Some(found)) => found.starts_with(prefix),
            (Some(_), None) => false,
        };
        if self.status != status || !location_ok {
            let snippet: String = self.body.chars().take(300).collect();
            bail!(
                "{what}: HTTP {} (location {:?}), wanted {status} {location_prefix:?}: {snippet}",
                self.status,
                self.location
            );
        }
        Ok(self)
    }
}

/// A registered OpenID Connect client (from `kapu admin client add`).
#[derive(Clone)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

/// The code page of a half-finished login.
#[derive(Clone)]
pub struct CodeForm {
    pub path: String,
    pub csrf: String,
}

/// An authorization code and the PKCE verifier it was asked with.
pub struct Grant {
    pub code: String,
    pub verifier: String,
}

pub struct Browser {
    client: reqwest::Client,
    jar: Arc<Jar>,
    /// One base URL per kapu instance; requests take them in turn, as a load
    /// balancer without sticky sessions would.
    bases: Arc<Vec<String>>,
    turn: usize,
}

impl Browser {
    pub fn new(bases: Arc<Vec<String>>) -> Result<Self> {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("HTTP client")?;
        Ok(Self { client, jar, bases, turn: 0 })
    }

    /// Forgets every cookie: the next request comes from a new browser (the
    /// keep-alive connections stay).
    pub fn clear(&self) {
        self.jar.lock().clear();
    }

    /// The cookies, to carry a half-finished login to another browser.
    pub fn cookies(&self) -> BTreeMap<String, String> {
        self.jar.lock().clone()
    }

    pub fn set_cookies(&self, cookies: BTreeMap<String, String>) {
        *self.jar.lock() = cookies;
    }

    fn url(&mut self, path: &str) -> String {
        if path.starts_with("http") {
            return path.to_owned();
        }
        let base = &self.bases[self.turn % self.bases.len()];
        self.turn = self.turn.wrapping_add(1);
        format!("{base}{path}")
    }

    async fn page(response: reqwest::Response) -> Result<Page> {
        let status = response.status().as_u16();
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.text().await.context("reading the answer")?;
        Ok(Page { status, location, body })
    }

    pub async fn get(&mut self, path: &str) -> Result<Page> {
        let url = self.url(path);
        let response = self.client.get(&url).send().await.with_context(|| format!("GET {url}"))?;
        Self::page(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Page> {
        let url = self.url(path);
        let response = self.client.post(&url).form(form).send().await.with_context(|| format!("POST {url}"))?;
        Self::page(response).await
    }

    /// GET /login, POST the password: ends on the code page. Returns the
    /// code form's path (with the service's request, if any) and CSRF token.
    pub async fn password_step(&mut self, login_path: &str, username: &str, password: &str) -> Result<CodeForm> {
        let page = self.get(login_path).await?.expect("GET /login", 200, None)?;
        let csrf = page.csrf()?;
        let fields = [("csrf", csrf.as_str()), ("username", username), ("password", password)];
        let answer = self.post(login_path, &fields).await?.expect("POST /login", 303, Some("/login/code"))?;
        let code_path = answer.location.unwrap_or_default();
        // A browser follows the redirect to the code page.
        let page = self.get(&code_path).await?.expect("GET /login/code", 200, None)?;
        Ok(CodeForm { csrf: page.csrf()?, path: code_path })
    }

    /// POST the code: the login is finished; returns where kapu sends the
    /// browser next.
    pub async fn code_step(&mut self, form: &CodeForm, code: &str, next: &str) -> Result<String> {
        let answer = self.post(&form.path, &[("csrf", form.csrf.as_str()), ("code", code)]).await?;
        let answer = answer.expect("POST /login/code", 303, Some(next))?;
        Ok(answer.location.unwrap_or_default())
    }

    /// A whole two-step login as a new browser: GET /login, POST /login,
    /// GET /login/code, POST /login/code, GET / (the portal).
    pub async fn two_step_login(&mut self, username: &str, password: &str, code: &str) -> Result<()> {
        self.clear();
        let form = self.password_step("/login", username, password).await?;
        self.code_step(&form, code, "/").await?;
        self.get("/").await?.expect("GET /", 200, None)?;
        Ok(())
    }

    /// GET /authorize with PKCE; returns the first redirect and the verifier.
    async fn authorize(&mut self, client: &OidcClient) -> Result<(Page, String)> {
        let mut random = [0u8; 32];
        OsRng.fill_bytes(&mut random);
        let verifier = BASE64URL_NOPAD.encode(&random);
        let challenge = BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()));
        let state = BASE64URL_NOPAD.encode(&random[..8]);
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", &client.redirect_uri)
            .append_pair("scope", "openid profile email")
            .append_pair("state", &state)
            .append_pair("nonce", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .finish();
        let page = self.get(&format!("/authorize?{query}")).await?.expect("GET /authorize", 303, None)?;
        Ok((page, verifier))
    }

    fn grant(location: &str, verifier: String) -> Result<Grant> {
        let url = url::Url::parse(location).with_context(|| format!("redirect {location}"))?;
        let code = url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
        let code = code.with_context(|| format!("no code in {location}"))?;
        Ok(Grant { code, verifier })
    }

    /// A full OpenID Connect login as a new browser: authorize → login page
    /// → password → code → back to the service with a code. `code` is asked
    /// for only when the code page is reached, so it is fresh.
    pub async fn oidc_login(
        &mut self,
        client: &OidcClient,
        username: &str,
        password: &str,
        code: impl FnOnce() -> String,
    ) -> Result<Grant> {
        self.clear();
        let (first, verifier) = self.authorize(client).await?;
        let login_path = first.location.unwrap_or_default();
        if !login_path.starts_with("/login?") {
            bail!("authorize without a session went to {login_path}, not the login page");
        }
        let form = self.password_step(&login_path, username, password).await?;
        let mut location = self.code_step(&form, &code(), "").await?;
        // Back through /authorize/continue to the service.
        for _ in 0..3 {
            if location.starts_with(&client.redirect_uri) {
                return Self::grant(&location, verifier);
            }
            location = self.get(&location).await?.expect("after the code", 303, None)?.location.unwrap_or_default();
        }
        bail!("no redirect to the service after the login; last at {location}")
    }

    /// Authorize inside a live session: straight back with a code.
    pub async fn authorize_in_session(&mut self, client: &OidcClient) -> Result<Grant> {
        let (page, verifier) = self.authorize(client).await?;
        let location = page.location.unwrap_or_default();
        if !location.starts_with(&client.redirect_uri) {
            bail!("authorize in a session went to {location}");
        }
        Self::grant(&location, verifier)
    }

    /// The service's side: the code for tokens (client_secret_basic); checks
    /// that an ID token came back.
    pub async fn exchange(&mut self, client: &OidcClient, grant: &Grant) -> Result<()> {
        let url = self.url("/token");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", grant.code.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_verifier", grant.verifier.as_str()),
        ];
        let response = self
            .client
            .post(&url)
            .basic_auth(&client.client_id, Some(&client.client_secret))
            .form(&form)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let page = Self::page(response).await?.expect("POST /token", 200, None)?;
        let tokens: serde_json::Value = serde_json::from_str(&page.body).context("token answer is not JSON")?;
        let id_token = tokens.get("id_token").and_then(|v| v.as_str()).context("no id_token")?;
        let header = id_token.split('.').next().and_then(|h| BASE64URL_NOPAD.decode(h.as_bytes()).ok());
        let es256 = header.is_some_and(|h| String::from_utf8_lossy(&h).contains("\"ES256\""));
        if !es256 {
            bail!("the ID token is not signed with ES256");
        }
        Ok(())
    }
}
