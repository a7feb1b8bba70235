//! The OpenID Connect provider with a real client library (`openidconnect`):
//! discovery, the code flow with PKCE, ID-token checks, userinfo, logout,
//! every error path, key rotation, and the levels.

use std::time::Duration;

use kapu::clock::Clock;
use kapu::oidc::clients::NewClient;
use kapu::oidc::model::AuthMethod;
use kapu::oidc::model::{Level, SigningAlg};
use openidconnect::core::{CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthType, AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::both_backends;
use crate::support::{Backend, TestApp};

pub(crate) const PASSWORD: &str = "tavaszi szel vizet araszt";
pub(crate) const CALLBACK: &str = "http://127.0.0.1:9/callback";

both_backends!(
    code_flow_with_pkce_and_a_fresh_two_step_login,
    error_paths_answer_as_the_spec_says,
    key_rotation_keeps_earlier_tokens_verifiable,
    levels_cancel_and_client_authentication,
    private_key_jwt_and_rs256,
    one_code_exchanged_at_once_on_two_instances_yields_one_token_then_none,
);

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn register(
    app: &TestApp,
    name: &str,
    confidential: bool,
    alg: SigningAlg,
    level: Level,
) -> (String, Option<String>) {
    let method = if confidential { AuthMethod::ClientSecretBasic } else { AuthMethod::None };
    register_with(app, name, method, alg, level).await
}

pub(crate) async fn register_with(
    app: &TestApp,
    name: &str,
    auth_method: AuthMethod,
    alg: SigningAlg,
    level: Level,
) -> (String, Option<String>) {
    let (client, secret) = app
        .kapu
        .register_client(NewClient {
            name: name.into(),
            redirect_uris: vec![CALLBACK.into()],
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
            auth_method,
            id_token_alg: alg,
            required_level: level,
            ..Default::default()
        })
        .await
        .unwrap();
    (client.client_id, secret)
}

async fn oidc_client(
    app: &TestApp,
    id: &str,
    secret: Option<&str>,
) -> CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.url.clone()).unwrap(), &http()).await.unwrap();
    CoreClient::from_provider_metadata(metadata, ClientId::new(id.into()), secret.map(|s| ClientSecret::new(s.into())))
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap())
}

/// A citizen with Ügyfélkapu+ on, logged out; returns the TOTP key.
pub(crate) async fn citizen_with_two_step(app: &TestApp, username: &str) -> String {
    app.register_confirmed(username, "Adózó Aladár", &format!("{username}@example.hu"), PASSWORD).await;
    app.login(username, PASSWORD).await;
    let (key, _) = app.enable_two_step(PASSWORD).await;
    let home = app.get("/").await;
    app.post("/logout", &[("csrf", &home.csrf())]).await;
    key
}

/// Follows the browser through kapu's pages from the authorization URL to
/// the redirect back to the service; returns that final URL.
pub(crate) async fn browse(
    app: &TestApp,
    client: &reqwest::Client,
    auth_url: &str,
    username: &str,
    key: Option<&str>,
) -> String {
    let mut location = app.get_with(client, auth_url).await.location.expect("a redirect from /authorize");
    for _ in 0..6 {
        // Back at the service, or at a page where the citizen decides.
        let decides = ["/authorize/consent?", "/authorize/represent?"].iter().any(|p| location.starts_with(p));
        if location.starts_with(CALLBACK) || decides {
            return location;
        }
        let path = location.clone();
        if path.starts_with("/login?") {
            let page = app.get_with(client, &path).await;
            let posted = app
                .post_with(client, &path, &[("csrf", &page.csrf()), ("username", username), ("password", PASSWORD)])
                .await;
            location = posted.location.unwrap_or_else(|| panic!("login failed:\n{}", posted.body));
        } else if path.starts_with("/login/code") {
            // A new time step: each code is accepted once.
            app.clock.advance(30);
            let page = app.get_with(client, &path).await;
            let code = app.code_for(key.expect("a TOTP key"), 0);
            let posted = app.post_with(client, &path, &[("csrf", &page.csrf()), ("code", &code)]).await;
            location = posted.location.unwrap_or_else(|| panic!("code refused:\n{}", posted.body));
        } else {
            let page = app.get_with(client, &path).await;
            location = page.location.unwrap_or_else(|| panic!("stuck at {path} ({}):\n{}", page.status, page.body));
        }
    }
    panic!("no redirect to the service; last at {location}");
}

pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn code_flow_with_pkce_and_a_fresh_two_step_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = citizen_with_two_step(&app, "adozo").await;
    let (id, secret) = register(&app, "Bevallás", true, SigningAlg::ES256, Level::TwoStep).await;
    let client = oidc_client(&app, &id, secret.as_deref()).await;

    let run = |max_age: Option<Duration>| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_auth_context_value(AuthenticationContextClass::new("ugyfelkapu-plus".into()));
        if let Some(age) = max_age {
            request = request.set_max_age(age);
        }
        let (url, state, nonce) = request.url();
        (url.to_string(), state, nonce, verifier)
    };

    // First submission: the login page names the service and the methods.
    let (url, state, nonce, verifier) = run(Some(Duration::ZERO));
    let to_login = app.get(&url).await.location.unwrap();
    let login = app.get(&to_login).await;
    login.assert_contains("Bevallás");
    login.assert_contains("Ügyfélkapu+");
    assert!(
        login.headers["content-security-policy"].to_str().unwrap().contains("form-action 'self' http://127.0.0.1:9")
    );
    let back = browse(&app, &app.client, &url, "adozo", Some(&key)).await;
    assert_eq!(query_param(&back, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(query_param(&back, "iss").as_deref(), Some(app.url.as_str()));
    let code = query_param(&back, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_none(), "no refresh tokens");
    let id_token = tokens.id_token().unwrap();
    let claims = id_token.claims(&client.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.auth_context_ref().unwrap().as_str(), "ugyfelkapu-plus");
    let amr: Vec<String> = claims.auth_method_refs().unwrap().iter().map(|a| a.as_str().to_owned()).collect();
    assert_eq!(amr, ["pwd", "otp"]);
    let auth_time = claims.auth_time().unwrap();
    assert!((app.clock.now() - auth_time.timestamp()).abs() <= 60, "auth_time is the login just made");
    assert_eq!(claims.name().unwrap().get(None).unwrap().as_str(), "Adózó Aladár");
    assert_eq!(claims.email().unwrap().as_str(), "adozo@example.hu");
    let sub = claims.subject().as_str().to_owned();

    let info: openidconnect::core::CoreUserInfoClaims =
        client.user_info(tokens.access_token().clone(), None).unwrap().request_async(&http()).await.unwrap();
    assert_eq!(info.subject().as_str(), sub);

    // The same code twice: refused (and what it issued is revoked).
    let (_, _, _, verifier2) = run(None);
    let reuse = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier2)
        .request_async(&http())
        .await;
    assert!(reuse.is_err());
    let revoked = reqwest::Client::new()
        .get(format!("{}/userinfo", app.url))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED, "tokens of a reused code are revoked");

    // Second submission inside the live session: max_age=0 asks for the code again.
    let (url, _, nonce, verifier) = run(Some(Duration::ZERO));
    let first_stop = app.get(&url).await.location.unwrap();
    assert!(first_stop.starts_with("/login?request="), "a fresh login, not the old session: {first_stop}");
    let back = browse(&app, &app.client, &url, "adozo", Some(&key)).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    let claims2 = tokens.id_token().unwrap().claims(&client.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims2.subject().as_str(), sub, "stable per service");
    assert!(claims2.auth_time().unwrap() > auth_time, "a new login");

    // Without max_age the live session is enough: straight back with a code.
    let (url, _, _, _) = run(None);
    assert!(app.get(&url).await.location.unwrap().starts_with(CALLBACK));

    // Another service sees another subject (pairwise).
    let (other_id, other_secret) = register(&app, "Tárhely", true, SigningAlg::ES256, Level::TwoStep).await;
    let other = oidc_client(&app, &other_id, other_secret.as_deref()).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = other
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let back = app.get(url.as_str()).await.location.unwrap();
    let tokens = other
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    let other_sub =
        tokens.id_token().unwrap().claims(&other.id_token_verifier(), &nonce).unwrap().subject().as_str().to_owned();
    assert_ne!(other_sub, sub);

    // RP-initiated logout with the ID token: the session ends, back to the registered URI.
    let hint = tokens.id_token().unwrap().to_string();
    let out = app
        .get(&format!("/logout/oidc?id_token_hint={hint}&post_logout_redirect_uri=http://127.0.0.1:9/bye&state=s1"))
        .await;
    assert_eq!(out.location.as_deref(), Some("http://127.0.0.1:9/bye?state=s1"));
    assert_eq!(app.get("/").await.status, StatusCode::SEE_OTHER);
    // The audit log says which service got which login.
    let events = app.kapu.admin_audit("adozo", 100).await.unwrap();
    assert!(
        events.iter().any(|e| e.event == "service_login" && e.detail.as_deref().unwrap_or("").contains("Bevallás"))
    );
    app.stop().await;
}

async fn error_paths_answer_as_the_spec_says(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = citizen_with_two_step(&app, "hibas").await;
    let (id, secret) = register(&app, "Bevallás", true, SigningAlg::ES256, Level::TwoStep).await;
    let base = format!("{}/authorize?response_type=code&scope=openid&state=st", app.url);
    // Unknown client, unknown or missing redirect URI: an error page, never a redirect.
    for url in [
        format!("{base}&client_id=nincs&redirect_uri={CALLBACK}"),
        format!("{base}&client_id={id}&redirect_uri=https://evil.example/cb"),
        format!("{base}&client_id={id}&redirect_uri={CALLBACK}/extra"),
        format!("{base}&client_id={id}"),
    ] {
        let page = app.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(page.location.is_none());
        page.assert_contains("Hibás azonosítási kérés");
    }
    // Other errors go back to the redirect URI with error and state.
    for (query, error) in [
        ("response_type=token&scope=openid", "unsupported_response_type"),
        ("response_type=code&scope=profile", "invalid_scope"),
        ("response_type=code&scope=openid&code_challenge=abc&code_challenge_method=plain", "invalid_request"),
        // Without a method RFC 7636 §4.3 means plain, which kapu does not take.
        (
            "response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "invalid_request",
        ),
        ("response_type=code&scope=openid&max_age=soon", "invalid_request"),
        ("response_type=code&scope=openid&prompt=none", "login_required"),
    ] {
        let url = format!("{}/authorize?state=st&client_id={id}&redirect_uri={CALLBACK}&{query}", app.url);
        let back = app.get(&url).await.location.unwrap_or_default();
        assert!(back.starts_with(CALLBACK), "{query}: {back}");
        assert_eq!(query_param(&back, "error").as_deref(), Some(error), "{query}");
        assert_eq!(query_param(&back, "state").as_deref(), Some("st"));
    }

    let client = oidc_client(&app, &id, secret.as_deref()).await;
    let get_code = |verifier_out: &mut Option<PkceCodeVerifier>| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        *verifier_out = Some(verifier);
        client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .url()
            .0
            .to_string()
    };
    let mut v = None;
    let url = get_code(&mut v);
    let back = browse(&app, &app.client, &url, "hibas", Some(&key)).await;
    let code = query_param(&back, "code").unwrap();
    // Bad PKCE verifier.
    let (_, wrong_verifier) = PkceCodeChallenge::new_random_sha256();
    let bad = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(wrong_verifier)
        .request_async(&http())
        .await;
    assert!(format!("{bad:?}").contains("invalid_grant"), "{bad:?}");
    // A wrong verifier does not use the code up: whoever stole it cannot
    // burn it, and its owner (with the right verifier) still can use it, once.
    let owner = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(v.take().unwrap())
        .request_async(&http())
        .await;
    assert!(owner.is_ok(), "{owner:?}");
    let (_, any_verifier) = PkceCodeChallenge::new_random_sha256();
    let spent = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(any_verifier)
        .request_async(&http())
        .await;
    assert!(format!("{spent:?}").contains("invalid_grant"), "{spent:?}");

    // Expired code.
    let url = get_code(&mut v);
    let back = app.get(&url).await.location.unwrap();
    app.clock.advance(61);
    let expired = client
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(v.take().unwrap())
        .request_async(&http())
        .await;
    assert!(format!("{expired:?}").contains("invalid_grant"));

    // Wrong client secret, unknown client.
    let url = get_code(&mut v);
    let back = app.get(&url).await.location.unwrap();
    let code = query_param(&back, "code").unwrap();
    for (cid, csecret) in [(id.as_str(), "wrong-secret"), ("nincs-ilyen", "x")] {
        let response = reqwest::Client::new()
            .post(format!("{}/token", app.url))
            .basic_auth(cid, Some(csecret))
            .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", CALLBACK)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    // An unsupported grant type.
    let response = reqwest::Client::new()
        .post(format!("{}/token", app.url))
        .basic_auth(&id, secret.as_deref())
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["error"], "unsupported_grant_type");
    // A bearer token that is not one: 401.
    let bad_bearer =
        reqwest::Client::new().get(format!("{}/userinfo", app.url)).bearer_auth("nope").send().await.unwrap();
    assert_eq!(bad_bearer.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn key_rotation_keeps_earlier_tokens_verifiable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = citizen_with_two_step(&app, "forgo").await;
    let (id, secret) = register(&app, "Bevallás", true, SigningAlg::ES256, Level::TwoStep).await;
    let client = oidc_client(&app, &id, secret.as_deref()).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let back = browse(&app, &app.client, url.as_str(), "forgo", Some(&key)).await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    let old_token = tokens.id_token().unwrap().clone();
    let kid_of = |token: &str| -> String {
        let header = token.split('.').next().unwrap();
        let header: serde_json::Value =
            serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(header.as_bytes()).unwrap()).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    let old_kid = kid_of(&old_token.to_string());
    let rotated = app.kapu.rotate_signing_keys().await.unwrap();
    assert_eq!(rotated.len(), 1);
    let (new_kid, signs_from) = rotated[0].clone();
    assert_eq!(signs_from, app.clock.now() + 3600, "oidc.key_prepublish_seconds");
    let kids = || async {
        let jwks: serde_json::Value = reqwest::get(format!("{}/jwks", app.url)).await.unwrap().json().await.unwrap();
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    // Published at once; the old key signs until the new one's time.
    assert!(kids().await.contains(&new_kid) && kids().await.contains(&old_kid), "both published");
    let sign = |account| {
        let app = &app;
        async move {
            let claims = serde_json::json!({ "iss": app.url, "sub": account, "aud": "x", "exp": 1, "iat": 1 });
            let key = app.kapu.signing_key(SigningAlg::ES256).await.unwrap();
            kapu::oidc::keys::sign(&key, &app.kapu.secret_box, &claims).unwrap()
        }
    };
    assert_eq!(kid_of(&sign("a").await), old_kid, "pre-published, not yet signing");
    app.clock.advance(3600);
    assert_eq!(kid_of(&sign("b").await), new_kid, "signing from its time");
    // A client that discovers afresh still verifies the earlier token.
    let fresh = oidc_client(&app, &id, secret.as_deref()).await;
    assert!(old_token.claims(&fresh.id_token_verifier(), &nonce).is_ok());
    // Once its tokens have expired, the old key leaves the JWKS.
    app.clock.advance(601);
    assert_eq!(kids().await, vec![new_kid]);
    app.stop().await;
}

async fn levels_cancel_and_client_authentication(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A password-only citizen.
    app.register_confirmed("jelszavas", "Jelszavas János", "j@example.hu", PASSWORD).await;
    let (plus_id, plus_secret) = register(&app, "Bevallás", true, SigningAlg::RS256, Level::TwoStep).await;
    let (plain_id, plain_secret) =
        register_with(&app, "Tájékoztató", AuthMethod::ClientSecretPost, SigningAlg::ES256, Level::Password).await;
    let plus = oidc_client(&app, &plus_id, plus_secret.as_deref()).await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, state, _) = plus
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    // The login page offers only Ügyfélkapu+ to a two-step service.
    let to_login = app.get(url.as_str()).await.location.unwrap();
    let login = app.get(&to_login).await;
    assert!(!login.contains("Ügyfélkapu (felhasználónév és jelszó)"));
    // A password-only login is not sent to it: the user is told to set up Ügyfélkapu+.
    let posted =
        app.post(&to_login, &[("csrf", &login.csrf()), ("username", "jelszavas"), ("password", PASSWORD)]).await;
    let next = app.get(posted.location.as_deref().unwrap()).await;
    assert_eq!(next.status, StatusCode::FORBIDDEN);
    next.assert_contains("Ügyfélkapu+ szükséges");
    // "Azonosítás megszakítása": back to the service with access_denied and its state.
    let cancel = to_login.replace("/login?", "/login/cancel?");
    let back = app.get(&cancel).await.location.unwrap();
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&back, "state").as_deref(), Some(state.secret().as_str()));

    // A password-level service gets the password login, with client_secret_post.
    let plain = oidc_client(&app, &plain_id, plain_secret.as_deref()).await.set_auth_type(AuthType::RequestBody);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = plain
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .add_prompt(CoreAuthPrompt::Login)
        .url();
    let back = browse(&app, &app.client, url.as_str(), "jelszavas", None).await;
    let tokens = plain
        .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    let claims = tokens.id_token().unwrap().claims(&plain.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.auth_context_ref().unwrap().as_str(), "ugyfelkapu");
    let amr: Vec<String> = claims.auth_method_refs().unwrap().iter().map(|a| a.as_str().to_owned()).collect();
    assert_eq!(amr, ["pwd"]);

    // After the cut-off date, no service receives a password-only login.
    let app2 = TestApp::spawn_with(backend, |c| c.two_step.legacy_login_until = Some("2025-01-16".into())).await;
    app2.register_confirmed("kesoi", "Késői Kata", "k@example.hu", PASSWORD).await;
    let (id2, secret2) = register(&app2, "Tájékoztató", true, SigningAlg::ES256, Level::Password).await;
    let c2 = oidc_client(&app2, &id2, secret2.as_deref()).await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _, _) = c2
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let to_login = app2.get(url.as_str()).await.location.unwrap();
    let login = app2.get(&to_login).await;
    assert!(
        !login.contains("Ügyfélkapu (felhasználónév és jelszó)"),
        "plain Ügyfélkapu is not offered after the cut-off"
    );
    let posted = app2.post(&to_login, &[("csrf", &login.csrf()), ("username", "kesoi"), ("password", PASSWORD)]).await;
    let next = app2.get(posted.location.as_deref().unwrap()).await;
    assert_ne!(
        next.location.as_deref().map(|l| l.starts_with(CALLBACK)),
        Some(true),
        "no code for a password-only login"
    );
    app.stop().await;
    app2.stop().await;
}

/// A service that authenticates with a signed JWT (its registered public
/// key) and wants RS256 ID tokens.
async fn private_key_jwt_and_rs256(backend: Backend) {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::EncodePrivateKey;
    let app = TestApp::spawn(backend).await;
    let key = citizen_with_two_step(&app, "kulcsos").await;
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
    let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "svc-1", "use": "sig", "alg": "ES256",
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())}]});
    let (client, _) = app
        .kapu
        .register_client(NewClient {
            name: "Kulcsos szolgáltatás".into(),
            redirect_uris: vec![CALLBACK.into()],
            auth_method: AuthMethod::PrivateKeyJwt,
            id_token_alg: SigningAlg::RS256,
            required_level: Level::TwoStep,
            jwks: Some(jwks.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    let oidc = oidc_client(&app, &client.client_id, None).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = oidc
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let back = browse(&app, &app.client, url.as_str(), "kulcsos", Some(&key)).await;
    let code = query_param(&back, "code").unwrap();
    let assertion = |aud: &str, exp_in: i64| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("svc-1".into());
        let now = app.clock.now();
        let claims = serde_json::json!({"iss": client.client_id, "sub": client.client_id, "aud": aud,
            "exp": now + exp_in, "iat": now, "jti": kapu::crypto::random_id()});
        let der = secret.to_pkcs8_der().unwrap();
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes())).unwrap()
    };
    let exchange = |assertion: String, code: String, verifier: String| {
        let url = format!("{}/token", app.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", CALLBACK),
                    ("code_verifier", verifier.as_str()),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // A wrong audience is refused (and so is an expired assertion).
    let wrong = exchange(assertion("https://elsewhere.example/token", 60), "x".into(), "y".into()).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let stale = exchange(assertion(&format!("{}/token", app.url), -120), "x".into(), "y".into()).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let ok = exchange(assertion(&format!("{}/token", app.url), 60), code, verifier.secret().clone()).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.unwrap();
    let id_token: openidconnect::core::CoreIdToken = body["id_token"].as_str().unwrap().parse().unwrap();
    let header = jsonwebtoken::decode_header(body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    // The library verifies the RS256 signature against kapu's JWKS.
    let claims = id_token.claims(&oidc.id_token_verifier(), &nonce).unwrap();
    assert_eq!(claims.auth_context_ref().unwrap().as_str(), "ugyfelkapu-plus");
    app.stop().await;
}

/// One code, twenty exchanges released at the same moment on two instances:
/// one gets tokens, nineteen get `invalid_grant`, and the reuse revokes the
/// winner's access token (which was committed with the code, so no racing
/// exchange can slip between them).
async fn one_code_exchanged_at_once_on_two_instances_yields_one_token_then_none(backend: Backend) {
    use crate::support::burst::{RawRequest, burst, statuses};
    let app = TestApp::spawn(backend).await;
    let second = app.second_instance().await;
    let (client_id, secret) =
        register_with(&app, "Bevallás", AuthMethod::ClientSecretPost, SigningAlg::ES256, Level::TwoStep).await;
    let secret = secret.unwrap();
    let key = citizen_with_two_step(&app, "versenyzo").await;
    let auth =
        format!("/authorize?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&scope=openid&state=s1");
    let back = browse(&app, &app.client, &auth, "versenyzo", Some(&key)).await;
    let code = query_param(&back, "code").unwrap();
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let requests: Vec<RawRequest> =
        (0..20).map(|i| RawRequest::post([&app.url, &second.url][i % 2], "/token", "", &fields)).collect();
    let responses = burst(&requests).await;
    assert_eq!(statuses(&responses), vec![(200, 1), (400, 19)]);
    assert!(responses.iter().filter(|r| r.status == 400).all(|r| r.contains("invalid_grant")));
    let winner = responses.iter().find(|r| r.status == 200).unwrap();
    let tokens: serde_json::Value = serde_json::from_str(&winner.body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo = app.client.get(format!("{}/userinfo", app.url)).bearer_auth(access).send().await.unwrap();
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED, "the reuse revoked the token");
    second.stop().await;
    app.stop().await;
}
