//! The service's side of OpenID Connect, all through the `openidconnect`
//! crate: discovery, the authorization URL (PKCE S256, state, nonce,
//! `max_age=0`, `acr_values=ugyfelkapu-plus`), the code exchange
//! (`client_secret_basic`), ID-token verification and the logout URL. The
//! authorization request itself is pushed to kapu first (PAR, RFC 9126,
//! which that crate does not do: one form POST here) and the browser only
//! carries `client_id` and the `request_uri` kapu answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod,
    CoreGrantType, CoreIdToken, CoreIdTokenClaims, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthenticationContextClass, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    LogoutProviderMetadata, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadata, RedirectUrl, Scope,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use url::Url;

use crate::acceptance::REQUIRED_ACR;
use crate::store::PendingLogin;

type TaxClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The discovery fields of RFC 9126 (PAR) that `openidconnect` does not name.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct ParMetadata {
    pushed_authorization_request_endpoint: Option<Url>,
}
impl AdditionalProviderMetadata for ParMetadata {}

type KapuMetadata = ProviderMetadata<
    LogoutProviderMetadata<ParMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// What discovery gave us: the client (with the provider's keys), the PAR
/// endpoint and the logout endpoint.
struct Provider {
    client: TaxClient,
    par: Option<Url>,
    end_session: Option<EndSessionUrl>,
}

/// kapu's answer to a pushed authorization request.
#[derive(Deserialize)]
struct Pushed {
    request_uri: String,
}

/// This service as a client of kapu.
pub struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect_uri: RedirectUrl,
    post_logout_uri: PostLogoutRedirectUrl,
    http: openidconnect::reqwest::Client,
    provider: RwLock<Arc<Provider>>,
}

/// A login sent to kapu: where to send the browser, and what to keep for the callback.
pub struct LoginStart {
    pub url: Url,
    pub pending: PendingLogin,
}

/// Why the callback's code did not become a verified login.
#[derive(Debug, thiserror::Error)]
pub enum LoginFailure {
    #[error("pushed authorization request failed: {0}")]
    Push(String),
    #[error("token request failed: {0}")]
    Token(String),
    #[error("the token response has no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
}

/// A verified ID token.
pub struct VerifiedLogin {
    pub id_token: String,
    pub claims: CoreIdTokenClaims,
}

/// Someone logged in on the taxpayer's behalf (kapu's `act` and
/// `delegated_matters`, docs/oidc.md §7b): the taxpayer is `sub`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// The agent's verified name.
    pub agent_name: String,
    /// The matters delegated for this service.
    pub matters: Vec<String>,
}

impl VerifiedLogin {
    /// The agent of a login on someone's behalf, `None` for the taxpayer
    /// themselves (see [`acting_of`]).
    pub fn acting(&self) -> Result<Option<Acting>, String> {
        acting_of(&self.id_token)
    }
}

/// kapu's `act` and `delegated_matters` of an ID token whose signature,
/// issuer, audience and nonce were verified already (the library's standard
/// claims have no field for them). An `act` not in kapu's shape is an error.
pub fn acting_of(id_token: &str) -> Result<Option<Acting>, String> {
    #[derive(Deserialize)]
    struct Act {
        name: String,
    }
    #[derive(Deserialize)]
    struct Extra {
        act: Option<Act>,
        #[serde(default)]
        delegated_matters: Vec<String>,
    }
    let payload = id_token.split('.').nth(1).ok_or("the ID token is not a JWS")?;
    let bytes = data_encoding::BASE64URL_NOPAD.decode(payload.as_bytes()).map_err(|e| e.to_string())?;
    let extra: Extra = serde_json::from_slice(&bytes).map_err(|e| format!("act: {e}"))?;
    Ok(extra.act.map(|a| Acting { agent_name: a.name, matters: extra.delegated_matters }))
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0} is not a valid URL: {1}")]
    Url(String, String),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error("discovery at {issuer} failed for {seconds} s; last error: {last}")]
    Discovery { issuer: String, seconds: u64, last: String },
}

/// The chain of causes, for logs ("token request failed: ... : connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Oidc {
    /// Discovers the provider, retrying until `wait` has passed (kapu may still be starting).
    pub async fn discover(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        public_url: &str,
        wait: Duration,
    ) -> Result<Self, SetupError> {
        let url_err = |u: &str, e: &dyn std::fmt::Display| SetupError::Url(u.to_owned(), e.to_string());
        // The `issuer` in the discovery document must match exactly; kapu's has no trailing slash.
        let issuer = issuer.trim_end_matches('/');
        let issuer = IssuerUrl::new(issuer.to_owned()).map_err(|e| url_err(issuer, &e))?;
        let redirect = format!("{public_url}/callback");
        let redirect_uri = RedirectUrl::new(redirect.clone()).map_err(|e| url_err(&redirect, &e))?;
        let post_logout = format!("{public_url}/");
        let post_logout_uri = PostLogoutRedirectUrl::new(post_logout.clone()).map_err(|e| url_err(&post_logout, &e))?;
        // No redirects: the openidconnect docs' advice against SSRF.
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SetupError::Http(e.to_string()))?;
        let client_id = ClientId::new(client_id.to_owned());
        let client_secret = ClientSecret::new(client_secret.to_owned());

        let started = Instant::now();
        let provider = loop {
            match fetch_provider(&issuer, &client_id, &client_secret, &redirect_uri, &http).await {
                Ok(p) => break p,
                Err(last) if started.elapsed() >= wait => {
                    return Err(SetupError::Discovery { issuer: issuer.to_string(), seconds: wait.as_secs(), last });
                }
                Err(e) => {
                    tracing::info!(issuer = %issuer.as_str(), error = %e, "provider not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        Ok(Self {
            issuer,
            client_id,
            client_secret,
            redirect_uri,
            post_logout_uri,
            http,
            provider: RwLock::new(Arc::new(provider)),
        })
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    pub fn redirect_uri(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// A login that must be made now, with a code: `max_age=0` makes kapu ask
    /// for username, password and code even inside a live kapu session. The
    /// request goes to kapu's PAR endpoint (when it has one) with this
    /// service's credentials, so nothing in it can be changed in the browser.
    pub async fn start_login(&self) -> Result<LoginStart, LoginFailure> {
        let provider = self.provider.read().await.clone();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = provider
            .client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .add_scope(Scope::new("profile".into()))
            .set_max_age(Duration::ZERO)
            .add_auth_context_value(AuthenticationContextClass::new(REQUIRED_ACR.into()))
            .url();
        let url = match &provider.par {
            Some(par) => self.push(par, url).await?,
            None => url,
        };
        Ok(LoginStart {
            url,
            pending: PendingLogin {
                state: state.into_secret(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.into_secret(),
            },
        })
    }

    /// POSTs the parameters of `authorize` to the PAR endpoint
    /// (`client_secret_basic`, RFC 6749 §2.3.1: both parts form-encoded) and
    /// returns the authorization URL that carries only `client_id` and the
    /// `request_uri` kapu answered.
    async fn push(&self, par: &Url, authorize: Url) -> Result<Url, LoginFailure> {
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let params: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
        let response = self
            .http
            .post(par.clone())
            .basic_auth(encode(self.client_id.as_str()), Some(encode(self.client_secret.secret())))
            .form(&params)
            .send()
            .await
            .map_err(|e| LoginFailure::Push(chain(&e)))?;
        let status = response.status();
        if status != openidconnect::reqwest::StatusCode::CREATED {
            let body = response.text().await.unwrap_or_default();
            return Err(LoginFailure::Push(format!("{status}: {}", body.chars().take(300).collect::<String>())));
        }
        let body = response.text().await.map_err(|e| LoginFailure::Push(chain(&e)))?;
        let pushed: Pushed = serde_json::from_str(&body).map_err(|e| LoginFailure::Push(chain(&e)))?;
        let mut url = authorize;
        url.query_pairs_mut()
            .clear()
            .append_pair("client_id", self.client_id.as_str())
            .append_pair("request_uri", &pushed.request_uri);
        Ok(url)
    }

    /// Exchanges the code and verifies the ID token (signature via JWKS, iss,
    /// aud, nonce, exp). The code is used once, so a token signed with a key
    /// we have not seen (kapu rotated) is checked again after re-discovery.
    pub async fn finish_login(&self, code: String, pending: &PendingLogin) -> Result<VerifiedLogin, LoginFailure> {
        let provider = self.provider.read().await.clone();
        let tokens = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| LoginFailure::Token(chain(&e)))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| LoginFailure::Token(chain(&e)))?;
        let id_token = openidconnect::TokenResponse::id_token(&tokens).ok_or(LoginFailure::NoIdToken)?;
        let nonce = Nonce::new(pending.nonce.clone());
        let claims = match id_token.claims(&provider.client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(ClaimsVerificationError::SignatureVerification(first)) => {
                tracing::info!(error = %first, "ID token signature not verified with the cached keys; re-discovering");
                let fresh = self.refresh().await.map_err(LoginFailure::IdToken)?;
                id_token
                    .claims(&fresh.client.id_token_verifier(), &nonce)
                    .map_err(|e| LoginFailure::IdToken(chain(&e)))?
                    .clone()
            }
            Err(e) => return Err(LoginFailure::IdToken(chain(&e))),
        };
        Ok(VerifiedLogin { id_token: id_token.to_string(), claims })
    }

    /// kapu's end-session URL for the user of `id_token` (RP-initiated logout),
    /// returning to this service's front page.
    pub async fn logout_url(&self, id_token: &str) -> Option<Url> {
        let provider = self.provider.read().await.clone();
        let end_session = provider.end_session.clone()?;
        let hint: CoreIdToken = id_token.parse().ok()?;
        Some(
            LogoutRequest::from(end_session)
                .set_id_token_hint(&hint)
                .set_post_logout_redirect_uri(self.post_logout_uri.clone())
                .http_get_url(),
        )
    }

    async fn refresh(&self) -> Result<Arc<Provider>, String> {
        let fresh = Arc::new(
            fetch_provider(&self.issuer, &self.client_id, &self.client_secret, &self.redirect_uri, &self.http).await?,
        );
        *self.provider.write().await = fresh.clone();
        Ok(fresh)
    }
}

async fn fetch_provider(
    issuer: &IssuerUrl,
    client_id: &ClientId,
    client_secret: &ClientSecret,
    redirect_uri: &RedirectUrl,
    http: &openidconnect::reqwest::Client,
) -> Result<Provider, String> {
    // Checks that the document's `issuer` is exactly ours, and fetches the JWKS.
    let metadata = KapuMetadata::discover_async(issuer.clone(), http).await.map_err(|e| chain(&e))?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let par = metadata.additional_metadata().additional_metadata.pushed_authorization_request_endpoint.clone();
    let client = CoreClient::from_provider_metadata(metadata, client_id.clone(), Some(client_secret.clone()))
        .set_redirect_uri(redirect_uri.clone());
    Ok(Provider { client, par, end_session })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn token(payload: &str) -> String {
        format!("eyJhbGciOiJFUzI1NiJ9.{}.c2ln", data_encoding::BASE64URL_NOPAD.encode(payload.as_bytes()))
    }

    #[test]
    fn act_names_the_agent_and_the_matters() {
        let own = token(r#"{"sub":"a","name":"Kovács Anna"}"#);
        assert_eq!(acting_of(&own).unwrap(), None);
        let agent = token(r#"{"sub":"a","act":{"sub":"b","name":"Kiss Béla"},"delegated_matters":["adobevallas"]}"#);
        let acting = acting_of(&agent).unwrap().unwrap();
        assert_eq!(acting.agent_name, "Kiss Béla");
        assert_eq!(acting.matters, vec!["adobevallas"]);
        assert!(acting_of(&token(r#"{"act":"Kiss Béla"}"#)).is_err(), "an act of another shape is refused");
        assert!(acting_of("not-a-jws").is_err());
    }
}
