//! What careful services and auditors check of the provider: RP-initiated
//! logout that cannot be forged, single-use client assertions, one
//! authentication method per client, POST /authorize, request objects
//! refused, RFC 6749 errors, PAR and the FAPI 2.0 baseline, CORS, eIDAS
//! levels, ui_locales, claims, form_post, and back-channel logout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kapu::clock::Clock;
use kapu::oidc::clients::NewClient;
use kapu::oidc::model::{Acr, AuthMethod, Level};
use reqwest::StatusCode;
use sha2::Digest;

use crate::both_backends;
use crate::oidc::{CALLBACK, PASSWORD, citizen_with_two_step, query_param};
use crate::support::burst::{RawRequest, burst};
use crate::support::{Backend, TestApp};

both_backends!(
    rp_initiated_logout_asks_unless_the_hint_proves_this_session,
    client_assertions_are_single_use_and_methods_fixed,
    authorize_by_post_and_request_objects_refused,
    token_and_userinfo_errors_and_schemes,
    ui_locales_claims_and_form_post,
    eidas_levels_are_echoed_and_unmet_is_said,
    pushed_requests_and_the_fapi2_baseline,
    a_pushed_request_used_at_once_from_two_instances_gives_one_code,
    cors_answers_only_registered_origins,
    backchannel_logout_tells_every_service_once,
);

const BYE: &str = "http://127.0.0.1:9/bye";

struct Service {
    id: String,
    secret: Option<String>,
}

async fn service(app: &TestApp, new: NewClient) -> Service {
    let new = NewClient {
        name: if new.name.is_empty() { "Szolgáltatás".into() } else { new.name },
        redirect_uris: if new.redirect_uris.is_empty() { vec![CALLBACK.into()] } else { new.redirect_uris },
        post_logout_redirect_uris: vec![BYE.into()],
        ..new
    };
    let (client, secret) = app.kapu.register_client(new).await.unwrap();
    Service { id: client.client_id, secret }
}

fn pkce() -> (String, String) {
    let verifier = kapu::crypto::random_token();
    let challenge = data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn auth_url(client_id: &str, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse("http://x/authorize").unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", CALLBACK)
        .append_pair("scope", "openid")
        .append_pair("state", "allapot")
        .append_pair("nonce", "n-1")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    format!("{}?{}", url.path(), url.query().unwrap())
}

/// A browser with a whole two-step session of `username`.
async fn logged_in(app: &TestApp, username: &str, key: &str) -> reqwest::Client {
    let browser = app.new_browser();
    app.clock.advance(30);
    let done = app.login_with_code(&browser, username, PASSWORD, &app.code_for(key, 0)).await;
    assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
    browser
}

/// A code at once, for a browser that is logged in.
async fn code(app: &TestApp, browser: &reqwest::Client, url: &str) -> String {
    let page = app.get_with(browser, url).await;
    let location = page.location.unwrap_or_else(|| panic!("no redirect ({}):\n{}", page.status, page.body));
    query_param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new().post(format!("{}/token", app.url)).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON ({status}): {body}")))
}

async fn exchange(app: &TestApp, svc: &Service, code: &str, verifier: &str) -> (StatusCode, serde_json::Value) {
    let form =
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CALLBACK), ("code_verifier", verifier)];
    token_request(app, &form, Some((&svc.id, svc.secret.as_deref().unwrap()))).await
}

/// The claims of a JWT kapu signed, checked against its JWKS.
async fn verified_claims(app: &TestApp, jwt: &str, typ: &str) -> serde_json::Value {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some(typ));
    let jwks: jsonwebtoken::jwk::JwkSet =
        reqwest::get(format!("{}/jwks", app.url)).await.unwrap().json().await.unwrap();
    let key = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "iat"]);
    jsonwebtoken::decode::<serde_json::Value>(jwt, &jsonwebtoken::DecodingKey::from_jwk(key).unwrap(), &validation)
        .unwrap()
        .claims
}

/// RP-initiated logout: an ID token of this very session ends it at once
/// (expired or not) and goes back with `state`; anything less is asked
/// about first; a link alone never logs anyone out.
async fn rp_initiated_logout_asks_unless_the_hint_proves_this_session(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.session.idle_timeout_seconds = 3600).await;
    let svc = service(&app, NewClient::default()).await;
    let anna_key = citizen_with_two_step(&app, "anna").await;
    let bela_key = citizen_with_two_step(&app, "bela").await;
    let anna = logged_in(&app, "anna", &anna_key).await;
    let bela = logged_in(&app, "bela", &bela_key).await;
    let (verifier, challenge) = pkce();
    let c = code(&app, &anna, &auth_url(&svc.id, &challenge, &[])).await;
    let (status, tokens) = exchange(&app, &svc, &c, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let anna_token = tokens["id_token"].as_str().unwrap().to_owned();
    let claims = verified_claims(&app, &anna_token, "JWT").await;
    assert_eq!(claims["sid"].as_str().map(str::len), Some(32), "sid in the ID token");

    let logout = |hint: &str, extra: &str| {
        format!("/logout/oidc?id_token_hint={hint}&post_logout_redirect_uri={BYE}&state=vissza{extra}")
    };
    // Anna's token in Béla's browser: Béla is asked, and stays logged in.
    let page = app.get_with(&bela, &logout(&anna_token, "")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Kijelentkezik a(z) „Szolgáltatás” szolgáltatásból és az Ügyfélkapuból?");
    assert_eq!(app.get_with(&bela, "/").await.status, StatusCode::OK);
    // By POST from another site (no CSRF token): the same question.
    let posted =
        bela.post(format!("{}/logout/oidc", app.url)).form(&[("client_id", svc.id.as_str())]).send().await.unwrap();
    assert_eq!(posted.status(), StatusCode::OK);
    assert!(posted.text().await.unwrap().contains("Kijelentkezik"));
    assert_eq!(app.get_with(&bela, "/").await.status, StatusCode::OK, "still logged in");
    // A browser sends no SameSite=Lax cookie with a cross-site POST: kapu
    // asks for the same by GET (303), a navigation that carries it.
    let cookieless = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let bounced = cookieless
        .post(format!("{}/logout/oidc", app.url))
        .form(&[("client_id", svc.id.as_str()), ("state", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(bounced.status(), StatusCode::SEE_OTHER);
    let again = bounced.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(again, format!("/logout/oidc?client_id={}&state=x", svc.id));
    app.get_with(&bela, &again).await.assert_contains("Kijelentkezik");
    assert_eq!(app.get_with(&bela, "/").await.status, StatusCode::OK, "still logged in");
    // A redirect URI that is not registered, or a client_id that is not the hint's: refused.
    let bad = app
        .get_with(&anna, &format!("/logout/oidc?client_id={}&post_logout_redirect_uri=https://evil.example/", svc.id))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let other = service(&app, NewClient { name: "Másik".into(), ..Default::default() }).await;
    let mismatch = app.get_with(&anna, &logout(&anna_token, &format!("&client_id={}", other.id))).await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    // Béla confirms with client_id alone: logged out and sent back with the state.
    let ask = app
        .get_with(&bela, &format!("/logout/oidc?client_id={}&post_logout_redirect_uri={BYE}&state=s2", svc.id))
        .await;
    let confirmed = app
        .post_with(
            &bela,
            "/logout/oidc/confirm",
            &[("csrf", &ask.csrf()), ("client_id", &svc.id), ("post_logout_redirect_uri", BYE), ("state", "s2")],
        )
        .await;
    assert_eq!(confirmed.location.as_deref(), Some(&*format!("{BYE}?state=s2")));
    assert_ne!(app.get_with(&bela, "/").await.status, StatusCode::OK);
    // Anna's own token, expired by now: proof enough, no question.
    app.clock.advance(700);
    let done = app.get_with(&anna, &logout(&anna_token, "")).await;
    assert_eq!(done.location.as_deref(), Some(&*format!("{BYE}?state=vissza")));
    assert_ne!(app.get_with(&anna, "/").await.status, StatusCode::OK);
    app.stop().await;
}

struct KeyPair {
    secret: p256::SecretKey,
    jwks: String,
}

fn key_pair(kid: &str) -> KeyPair {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let b64 = |b: &[u8]| data_encoding::BASE64URL_NOPAD.encode(b);
    let jwks = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())}]});
    KeyPair { secret, jwks: jwks.to_string() }
}

fn assertion(key: &KeyPair, claims: serde_json::Value) -> String {
    use p256::pkcs8::EncodePrivateKey;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    let der = key.secret.to_pkcs8_der().unwrap();
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes())).unwrap()
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `private_key_jwt`: an assertion is used once (the `jti` is remembered in
/// the database, on every instance), `jti` is required, an hour-long
/// assertion (Authlib's default) is fine and a longer one is not, another
/// client's `client_id` beside it is refused; and every client uses the one
/// method it registered.
async fn client_assertions_are_single_use_and_methods_fixed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.second_instance().await;
    let key = key_pair("k1");
    let signed = service(
        &app,
        NewClient { auth_method: AuthMethod::PrivateKeyJwt, jwks: Some(key.jwks.clone()), ..Default::default() },
    )
    .await;
    let basic = service(&app, NewClient::default()).await;
    let totp = citizen_with_two_step(&app, "kulcs").await;
    let browser = logged_in(&app, "kulcs", &totp).await;
    let now = app.clock.now();
    let claims = |jti: Option<&str>, lifetime: i64| {
        // Both instances' issuers (the harness gives each its own address).
        let aud = [&app.url, &second.url];
        let mut c =
            serde_json::json!({"iss": signed.id, "sub": signed.id, "aud": aud, "iat": now, "exp": now + lifetime});
        if let Some(j) = jti {
            c["jti"] = j.into();
        }
        c
    };
    let exchange_signed =
        |url: String, code: String, verifier: String, assertion: String, client_id: Option<String>| async move {
            let mut form = vec![
                ("grant_type".to_owned(), "authorization_code".to_owned()),
                ("code".to_owned(), code),
                ("redirect_uri".to_owned(), CALLBACK.to_owned()),
                ("code_verifier".to_owned(), verifier),
                ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
                ("client_assertion".to_owned(), assertion),
            ];
            if let Some(id) = client_id {
                form.push(("client_id".into(), id));
            }
            let r = reqwest::Client::new().post(format!("{url}/token")).form(&form).send().await.unwrap();
            let status = r.status();
            (status, r.json::<serde_json::Value>().await.unwrap())
        };
    let fresh_code = || async {
        let (verifier, challenge) = pkce();
        (code(&app, &browser, &auth_url(&signed.id, &challenge, &[])).await, verifier)
    };
    // An hour-long assertion with a jti: accepted, once.
    let one_hour = assertion(&key, claims(Some("egyszer"), 3600));
    let (c, v) = fresh_code().await;
    let (status, body) = exchange_signed(app.url.clone(), c, v, one_hour.clone(), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (c, v) = fresh_code().await;
    let (status, body) = exchange_signed(second.url.clone(), c, v, one_hour, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "replayed on the other instance"
    );
    assert!(body["error_description"].as_str().unwrap().contains("used before"), "{body}");
    for (bad, why) in [
        (assertion(&key, claims(None, 300)), "jti is required"),
        (assertion(&key, claims(Some("hosszu"), 2 * 3600)), "lives longer"),
        (assertion(&key_pair("k1"), claims(Some("idegen"), 300)), "InvalidSignature"),
    ] {
        let (c, v) = fresh_code().await;
        let (status, body) = exchange_signed(app.url.clone(), c, v, bad, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
        assert!(body["error_description"].as_str().unwrap().contains(why), "{why}: {body}");
    }
    // Another client's id beside the assertion.
    let (c, v) = fresh_code().await;
    let (status, _) =
        exchange_signed(app.url.clone(), c, v, assertion(&key, claims(Some("masik"), 300)), Some(basic.id.clone()))
            .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The basic client may not use client_secret_post, nor send both.
    let (verifier, challenge) = pkce();
    let c = code(&app, &browser, &auth_url(&basic.id, &challenge, &[])).await;
    let secret = basic.secret.as_deref().unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", verifier.as_str()),
        ("client_id", basic.id.as_str()),
        ("client_secret", secret),
    ];
    let (status, body) = token_request(&app, &form, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error_description"].as_str().unwrap().contains("client_secret_basic"), "{body}");
    let (status, body) = token_request(&app, &form, Some((&basic.id, secret))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "two methods");
    // The refused requests did not use the code up.
    let (status, _) = exchange(&app, &basic, &c, &verifier).await;
    assert_eq!(status, StatusCode::OK);
    second.stop().await;
    app.stop().await;
}

/// OIDC Core §3.1.2.1: /authorize takes POST too (no CSRF token comes from
/// the service's form); request objects are refused out loud; a parameter
/// given twice is an error; discovery says so.
async fn authorize_by_post_and_request_objects_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let svc = service(&app, NewClient::default()).await;
    let totp = citizen_with_two_step(&app, "poster").await;
    let browser = logged_in(&app, "poster", &totp).await;
    let (verifier, challenge) = pkce();
    let query = auth_url(&svc.id, &challenge, &[]);
    let body = query.split_once('?').unwrap().1.to_owned();
    let posted = browser
        .post(format!("{}/authorize", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    let c = query_param(&location, "code").expect("a code by POST");
    assert_eq!(exchange(&app, &svc, &c, &verifier).await.0, StatusCode::OK);
    for (extra, error) in [
        (("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"),
        (("request_uri", "https://rp.example/req.jwt"), "request_uri_not_supported"),
    ] {
        let page = app.get_with(&browser, &auth_url(&svc.id, &challenge, &[extra])).await;
        let location = page.location.unwrap();
        assert_eq!(query_param(&location, "error").as_deref(), Some(error));
        assert_eq!(query_param(&location, "state").as_deref(), Some("allapot"));
    }
    let twice = app.get_with(&browser, &format!("{}&scope=email", auth_url(&svc.id, &challenge, &[]))).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    twice.assert_contains("scope is given more than once");
    let discovery: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.url)).await.unwrap().json().await.unwrap();
    assert_eq!(discovery["request_uri_parameter_supported"], false);
    assert_eq!(discovery["request_parameter_supported"], false);
    assert_eq!(discovery["pushed_authorization_request_endpoint"], format!("{}/par", app.url));
    assert_eq!(discovery["backchannel_logout_session_supported"], true);
    app.stop().await;
}

/// RFC 6749 §5.2 errors are JSON whatever went wrong; auth schemes are
/// case-insensitive; the granted scopes only; userinfo by POST with the
/// token in the body (RFC 6750 §2.2), never two ways at once.
async fn token_and_userinfo_errors_and_schemes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let svc = service(&app, NewClient::default()).await;
    let json_body = reqwest::Client::new()
        .post(format!("{}/token", app.url))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = json_body.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let (status, body) =
        token_request(&app, &[("grant_type", "authorization_code"), ("grant_type", "authorization_code")], None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let totp = citizen_with_two_step(&app, "skopusz").await;
    let browser = logged_in(&app, "skopusz", &totp).await;
    let (verifier, challenge) = pkce();
    let url =
        auth_url(&svc.id, &challenge, &[]).replace("scope=openid", "scope=openid+email+ismeretlen+offline_access");
    let c = code(&app, &browser, &url).await;
    // `basic` in lower case.
    let credentials = data_encoding::BASE64.encode(format!("{}:{}", svc.id, svc.secret.as_deref().unwrap()).as_bytes());
    let response = reqwest::Client::new()
        .post(format!("{}/token", app.url))
        .header("authorization", format!("basic {credentials}"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: serde_json::Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid email", "only what was granted");
    let access = tokens["access_token"].as_str().unwrap();
    let info = |request: reqwest::RequestBuilder| async move {
        let r = request.send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    let userinfo = format!("{}/userinfo", app.url);
    let (status, body) =
        info(reqwest::Client::new().get(&userinfo).header("authorization", format!("bearer {access}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("skopusz@example.hu"));
    let (status, body) = info(reqwest::Client::new().post(&userinfo).form(&[("access_token", access)])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) =
        info(reqwest::Client::new().post(&userinfo).bearer_auth(access).form(&[("access_token", access)])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "two ways at once");
    let (status, _) = info(reqwest::Client::new().get(&userinfo).bearer_auth("nem-ervenyes")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// `ui_locales` picks the login page's language, `claims` asks for one
/// claim without its scope, `response_mode=form_post` posts the response.
async fn ui_locales_claims_and_form_post(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let svc = service(&app, NewClient::default()).await;
    let (_, challenge) = pkce();
    let english = app.new_browser();
    let to_login = app.get_with(&english, &auth_url(&svc.id, &challenge, &[("ui_locales", "en-GB hu")])).await;
    let login = app.get_with(&english, to_login.location.as_deref().unwrap()).await;
    login.assert_contains("<html lang=\"en\">");
    login.assert_contains("Log in");
    // login_hint (OIDC Core §3.1.2.1) fills the username; one that cannot
    // be a username, or is too long, does not.
    let hinted = app.new_browser();
    let to_login = app.get_with(&hinted, &auth_url(&svc.id, &challenge, &[("login_hint", "Tipp.Elek")])).await;
    let login = app.get_with(&hinted, to_login.location.as_deref().unwrap()).await;
    login.assert_contains("name=\"username\" value=\"tipp.elek\"");
    let odd = app.get_with(&hinted, &auth_url(&svc.id, &challenge, &[("login_hint", "<nem név>")])).await;
    let login = app.get_with(&hinted, odd.location.as_deref().unwrap()).await;
    login.assert_contains("name=\"username\" value=\"\"");
    // Every stored parameter is capped at 1024 bytes (the request waits in
    // the database until the login ends).
    let long = "a".repeat(1025);
    for name in ["login_hint", "ui_locales", "acr_values", "max_age", "response_mode"] {
        let refused = app.get_with(&hinted, &auth_url(&svc.id, &challenge, &[(name, &long)])).await;
        let location = refused.location.unwrap_or_else(|| panic!("{name}: {}", refused.body));
        assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"), "{name}");
        assert!(query_param(&location, "error_description").unwrap().contains(name), "{location}");
    }
    // A POST to /authorize without kapu's cookie (SameSite=Lax keeps it
    // off a cross-site POST) is asked again by GET, parameters kept.
    let form = url::Url::parse(&format!("http://x{}", auth_url(&svc.id, &challenge, &[]))).unwrap();
    let pairs: Vec<(String, String)> = form.query_pairs().into_owned().collect();
    let again = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/authorize", app.url))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let by_get = again.headers()["location"].to_str().unwrap().to_owned();
    assert!(by_get.starts_with("/authorize?") && by_get.contains(&format!("client_id={}", svc.id)), "{by_get}");
    // ui_locales at /logout/oidc: the page for someone not logged in speaks it.
    let bye = app.get_with(&app.new_browser(), "/logout/oidc?ui_locales=en").await;
    bye.assert_contains("<html lang=\"en\">");
    bye.assert_contains("You are not logged in to Ügyfélkapu.");
    let totp = citizen_with_two_step(&app, "formos").await;
    let browser = logged_in(&app, "formos", &totp).await;
    let (verifier, challenge) = pkce();
    let claims = r#"{"id_token":{"email":null,"acr":{"values":["ugyfelkapu-plus"]}}}"#;
    let page = app
        .get_with(&browser, &auth_url(&svc.id, &challenge, &[("response_mode", "form_post"), ("claims", claims)]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "a page that posts to the service");
    page.assert_contains(&format!("action=\"{CALLBACK}\""));
    page.assert_contains("name=\"state\" value=\"allapot\"");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9"), "{csp}");
    let c = page.between("name=\"code\" value=\"", "\"");
    let (status, tokens) = exchange(&app, &svc, &c, &verifier).await;
    assert_eq!(status, StatusCode::OK);
    let id = verified_claims(&app, tokens["id_token"].as_str().unwrap(), "JWT").await;
    assert_eq!(id["email"], "formos@example.hu", "asked for by claims, without the email scope");
    assert!(id.get("name").is_none());
    // An essential acr no kapu login reaches: the service is told at once.
    let high = r#"{"id_token":{"acr":{"essential":true,"value":"http://eidas.europa.eu/LoA/high"}}}"#;
    let refused = app.get_with(&browser, &auth_url(&svc.id, &challenge, &[("claims", high)])).await;
    let location = refused.location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("unmet_authentication_requirements"));
    app.stop().await;
}

/// eIDAS levels: a two-step login of a self-registered account reaches
/// "low", and the ID token says it in the form asked; "substantial" needs a
/// verified identity, so the service gets `unmet_authentication_requirements`.
async fn eidas_levels_are_echoed_and_unmet_is_said(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let svc = service(&app, NewClient { required_level: Level::Password, ..Default::default() }).await;
    let totp = citizen_with_two_step(&app, "eidas").await;
    let browser = logged_in(&app, "eidas", &totp).await;
    let acr_of = |acr_values: &'static str| {
        let (app, browser, svc) = (&app, &browser, &svc);
        async move {
            let (verifier, challenge) = pkce();
            let page = app.get_with(browser, &auth_url(&svc.id, &challenge, &[("acr_values", acr_values)])).await;
            let location = page.location.unwrap();
            if let Some(error) = query_param(&location, "error") {
                return Err(error);
            }
            let (_, tokens) = exchange(app, svc, &query_param(&location, "code").unwrap(), &verifier).await;
            let claims = verified_claims(app, tokens["id_token"].as_str().unwrap(), "JWT").await;
            Ok(claims["acr"].as_str().unwrap().to_owned())
        }
    };
    assert_eq!(acr_of("http://eidas.europa.eu/LoA/low").await.as_deref(), Ok(Acr::EIDAS_LOW));
    let both = "http://eidas.europa.eu/LoA/substantial http://eidas.europa.eu/LoA/low";
    assert_eq!(acr_of(both).await.as_deref(), Ok(Acr::EIDAS_LOW), "the first value reached");
    assert_eq!(acr_of("ugyfelkapu-plus").await.as_deref(), Ok(Acr::TWO_STEP));
    assert_eq!(acr_of("ugyfelkapu").await.as_deref(), Ok(Acr::PASSWORD), "what was asked, in its form");
    assert_eq!(
        acr_of("http://eidas.europa.eu/LoA/substantial").await,
        Err("unmet_authentication_requirements".to_owned())
    );
    assert_eq!(acr_of("urn:ismeretlen").await.as_deref(), Ok(Acr::TWO_STEP), "unknown values are ignored");
    let discovery: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", app.url)).await.unwrap().json().await.unwrap();
    assert!(discovery["acr_values_supported"].as_array().unwrap().iter().any(|v| v == Acr::EIDAS_HIGH));
    app.stop().await;
}

/// A pushed request is single use (RFC 9126 §4) under a race too: the same
/// `request_uri` sent 30 times at the same moment, split across two
/// instances on one database, by the citizen's logged-in browser, gives
/// exactly one code; the other 29 are refused.
async fn a_pushed_request_used_at_once_from_two_instances_gives_one_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.second_instance().await;
    let svc = service(&app, NewClient { par_required: true, ..Default::default() }).await;
    let totp = citizen_with_two_step(&app, "versenyzo").await;
    let (browser, jar) = app.browser_with_jar();
    app.clock.advance(30);
    let done = app.login_with_code(&browser, "versenyzo", PASSWORD, &app.code_for(&totp, 0)).await;
    assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
    let (_, challenge) = pkce();
    let form = [
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "verseny"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let pushed: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/par", app.url))
        .basic_auth(&svc.id, svc.secret.as_deref())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let fields = [("client_id", svc.id.as_str()), ("request_uri", request_uri)];
    let requests: Vec<RawRequest> =
        (0..30).map(|i| RawRequest::form([&app.url, &second.url][i % 2], "/authorize", &jar, &fields)).collect();
    let responses = burst(&requests).await;
    let codes = responses
        .iter()
        .filter(|r| {
            r.status == 303
                && r.head.lines().any(|l| l.to_ascii_lowercase().starts_with("location:") && l.contains("code="))
        })
        .count();
    assert_eq!(codes, 1, "{:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(responses.iter().filter(|r| r.status == 400).count(), 29, "the others are refused as used");
    second.stop().await;
    app.stop().await;
}

/// PAR (RFC 9126): a client that must push is refused at /authorize
/// otherwise; a pushed request works once, for a minute, for its client.
/// FAPI 2.0: PKCE and private_key_jwt required, codes live at most 60 s.
async fn pushed_requests_and_the_fapi2_baseline(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.oidc.code_ttl_seconds = 300).await;
    let svc = service(&app, NewClient { par_required: true, ..Default::default() }).await;
    let totp = citizen_with_two_step(&app, "pushy").await;
    let browser = logged_in(&app, "pushy", &totp).await;
    let (verifier, challenge) = pkce();
    let direct = app.get_with(&browser, &auth_url(&svc.id, &challenge, &[])).await;
    assert_eq!(query_param(direct.location.as_deref().unwrap(), "error").as_deref(), Some("invalid_request"));
    let push = |id: String, secret: Option<String>, form: Vec<(&'static str, String)>| {
        let url = format!("{}/par", app.url);
        async move {
            let mut r = reqwest::Client::new().post(url).form(&form);
            if let Some(s) = secret {
                r = r.basic_auth(id, Some(s));
            }
            let r = r.send().await.unwrap();
            (r.status(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let params = |challenge: &str| {
        vec![
            ("response_type", "code".to_owned()),
            ("redirect_uri", CALLBACK.to_owned()),
            ("scope", "openid".to_owned()),
            ("state", "push".to_owned()),
            ("code_challenge", challenge.to_owned()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    let (status, pushed) = push(svc.id.clone(), svc.secret.clone(), params(&challenge)).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    assert_eq!(pushed["expires_in"], 60);
    let request_uri = pushed["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    let via_par = format!("/authorize?client_id={}&request_uri={}", svc.id, urlencode(&request_uri));
    let back = app.get_with(&browser, &via_par).await.location.unwrap();
    assert_eq!(query_param(&back, "state").as_deref(), Some("push"));
    assert_eq!(exchange(&app, &svc, &query_param(&back, "code").unwrap(), &verifier).await.0, StatusCode::OK);
    assert_eq!(app.get_with(&browser, &via_par).await.status, StatusCode::BAD_REQUEST, "used once");
    // Refused with the authorization endpoint's own code (RFC 9126 §2.3).
    let no_openid: Vec<_> = params(&challenge)
        .into_iter()
        .map(|(k, v)| if k == "scope" { (k, "profile".to_owned()) } else { (k, v) })
        .collect();
    let (status, body) = push(svc.id.clone(), svc.secret.clone(), no_openid).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")), "{body}");
    // Nothing in the browser's URL overrides a pushed request (RFC 9126
    // §4): a prompt=none added there does not answer login_required.
    let (_, quiet) = push(svc.id.clone(), svc.secret.clone(), params(&challenge)).await;
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let with_prompt = format!(
        "/authorize?client_id={}&request_uri={}&prompt=none",
        svc.id,
        urlencode(quiet["request_uri"].as_str().unwrap())
    );
    let to_login = app.get_with(&stranger, &with_prompt).await.location.unwrap();
    assert!(to_login.starts_with("/login"), "the login page, not an error: {to_login}");
    let (_, late) = push(svc.id.clone(), svc.secret.clone(), params(&challenge)).await;
    app.clock.advance(61);
    let expired =
        format!("/authorize?client_id={}&request_uri={}", svc.id, urlencode(late["request_uri"].as_str().unwrap()));
    assert_eq!(app.get_with(&browser, &expired).await.status, StatusCode::BAD_REQUEST, "a minute");
    let (status, body) = push(svc.id.clone(), Some("rossz".into()), params(&challenge)).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));

    // FAPI 2.0: private_key_jwt only, PKCE required, codes of at most 60 s.
    let key = key_pair("k1");
    let fapi = service(
        &app,
        NewClient {
            auth_method: AuthMethod::PrivateKeyJwt,
            jwks: Some(key.jwks.clone()),
            fapi2: true,
            ..Default::default()
        },
    )
    .await;
    let now = app.clock.now();
    let signed = |jti: &str| {
        let a = assertion(
            &key,
            serde_json::json!({"iss": fapi.id, "sub": fapi.id, "aud": app.url, "exp": now + 60, "jti": jti}),
        );
        vec![("client_assertion_type", JWT_BEARER.to_owned()), ("client_assertion", a)]
    };
    // FAPI 2.0 §5.4: no RS256 (refused before any key is looked at).
    let b64 = |v: serde_json::Value| data_encoding::BASE64URL_NOPAD.encode(v.to_string().as_bytes());
    let rs256 = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(serde_json::json!({"alg": "RS256", "kid": "k1"})),
        b64(serde_json::json!({"iss": fapi.id, "sub": fapi.id, "aud": app.url, "exp": now + 60, "jti": "rs"}))
    );
    let with_rs256: Vec<_> = params(&challenge)
        .into_iter()
        .chain([("client_assertion_type", JWT_BEARER.to_owned()), ("client_assertion", rs256)])
        .collect();
    let (status, body) = push(fapi.id.clone(), None, with_rs256).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("not RS256"), "{body}");
    // FAPI 2.0 §5.3.2.1: the assertion's aud is the issuer, as a string
    // (an endpoint's URL or an array, accepted from other clients, is not).
    for (jti, aud) in [("par", serde_json::json!(format!("{}/par", app.url))), ("arr", serde_json::json!([app.url]))] {
        let a = assertion(
            &key,
            serde_json::json!({"iss": fapi.id, "sub": fapi.id, "aud": aud, "exp": now + 60, "jti": jti}),
        );
        let form: Vec<_> = params(&challenge)
            .into_iter()
            .chain([("client_assertion_type", JWT_BEARER.to_owned()), ("client_assertion", a)])
            .collect();
        let (status, body) = push(fapi.id.clone(), None, form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "aud {aud}: {body}");
    }
    // And its ID tokens are not RS256.
    let refused = app
        .kapu
        .register_client(NewClient {
            name: "RS256".into(),
            redirect_uris: vec![CALLBACK.into()],
            auth_method: AuthMethod::PrivateKeyJwt,
            jwks: Some(key.jwks.clone()),
            id_token_alg: kapu::oidc::model::SigningAlg::RS256,
            fapi2: true,
            ..Default::default()
        })
        .await;
    assert!(refused.is_err_and(|e| e.to_string().contains("not RS256")));
    let without_pkce: Vec<_> =
        params(&challenge).into_iter().filter(|(k, _)| !k.starts_with("code_challenge")).chain(signed("a")).collect();
    let (status, body) = push(fapi.id.clone(), None, without_pkce).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("PKCE"), "{body}");
    let (verifier, challenge) = pkce();
    let (status, pushed) =
        push(fapi.id.clone(), None, params(&challenge).into_iter().chain(signed("b")).collect()).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let back = app
        .get_with(
            &browser,
            &format!(
                "/authorize?client_id={}&request_uri={}",
                fapi.id,
                urlencode(pushed["request_uri"].as_str().unwrap())
            ),
        )
        .await
        .location
        .unwrap();
    assert_eq!(query_param(&back, "iss").as_deref(), Some(app.url.as_str()), "iss in the response");
    app.clock.advance(61);
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", query_param(&back, "code").unwrap()),
        ("redirect_uri", CALLBACK.to_owned()),
        ("code_verifier", verifier),
    ];
    let late = reqwest::Client::new()
        .post(format!("{}/token", app.url))
        .form(&form.into_iter().chain(signed("c")).collect::<Vec<_>>())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = late.json().await.unwrap();
    assert_eq!(body["error_description"], "the code has expired", "60 s, though oidc.code_ttl_seconds is 300");
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// CORS: a public client's browser application on a registered origin reads
/// discovery, the JWKS, /token and /userinfo; another origin reads nothing.
async fn cors_answers_only_registered_origins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    const SPA: &str = "http://127.0.0.1:5173";
    let spa =
        service(&app, NewClient { auth_method: AuthMethod::None, web_origins: vec![SPA.into()], ..Default::default() })
            .await;
    let other =
        service(&app, NewClient { name: "Más".into(), auth_method: AuthMethod::None, ..Default::default() }).await;
    let allow =
        |r: &reqwest::Response| r.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
    let get_from = |path: &str, origin: &str| {
        reqwest::Client::new().get(format!("{}{path}", app.url)).header("origin", origin).send()
    };
    for path in ["/.well-known/openid-configuration", "/jwks"] {
        assert_eq!(allow(&get_from(path, SPA).await.unwrap()).as_deref(), Some(SPA), "{path}");
        assert_eq!(allow(&get_from(path, "https://evil.example").await.unwrap()), None, "{path}");
    }
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/token", app.url))
        .header("origin", SPA)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(allow(&preflight).as_deref(), Some(SPA));
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("Authorization"));
    // /par too: a browser application pushes its request through CORS, for
    // its own registered origin only.
    let push_from = |client: &Service, origin: &'static str| {
        let (app, id) = (&app, client.id.clone());
        async move {
            let (_, challenge) = pkce();
            reqwest::Client::new()
                .post(format!("{}/par", app.url))
                .header("origin", origin)
                .form(&[
                    ("client_id", id.as_str()),
                    ("response_type", "code"),
                    ("redirect_uri", CALLBACK),
                    ("scope", "openid"),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let pushed = push_from(&spa, SPA).await;
    assert_eq!((pushed.status(), allow(&pushed).as_deref()), (StatusCode::CREATED, Some(SPA)));
    let foreign = push_from(&other, SPA).await;
    assert_eq!(allow(&foreign), None, "another service's origin list decides");
    let par_preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/par", app.url))
        .header("origin", SPA)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!((par_preflight.status(), allow(&par_preflight).as_deref()), (StatusCode::NO_CONTENT, Some(SPA)));
    let totp = citizen_with_two_step(&app, "spa").await;
    let browser = logged_in(&app, "spa", &totp).await;
    let token_from = |client: &Service, origin: &'static str| {
        let (app, browser) = (&app, &browser);
        let id = client.id.clone();
        async move {
            let (verifier, challenge) = pkce();
            let c = code(app, browser, &auth_url(&id, &challenge, &[])).await;
            reqwest::Client::new()
                .post(format!("{}/token", app.url))
                .header("origin", origin)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &c),
                    ("redirect_uri", CALLBACK),
                    ("code_verifier", &verifier),
                    ("client_id", &id),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let ok = token_from(&spa, SPA).await;
    assert_eq!((ok.status(), allow(&ok).as_deref()), (StatusCode::OK, Some(SPA)));
    let tokens: serde_json::Value = ok.json().await.unwrap();
    let info = reqwest::Client::new()
        .get(format!("{}/userinfo", app.url))
        .header("origin", SPA)
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!((info.status(), allow(&info).as_deref()), (StatusCode::OK, Some(SPA)));
    let foreign = token_from(&spa, "https://evil.example").await;
    assert_eq!(allow(&foreign), None, "another origin");
    let not_its_origin = token_from(&other, SPA).await;
    assert_eq!(allow(&not_its_origin), None, "an origin another client registered");
    app.stop().await;
}

/// A service's back-channel endpoint, recording what it is sent.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<(String, String)>>>,
    failing: Arc<Mutex<bool>>,
    server: tokio::task::JoinHandle<()>,
}

async fn receiver() -> Receiver {
    use axum::extract::{Path, State};
    let received = Arc::new(Mutex::new(Vec::new()));
    let failing = Arc::new(Mutex::new(false));
    type Shared = (Arc<Mutex<Vec<(String, String)>>>, Arc<Mutex<bool>>);
    let app = axum::Router::new()
        .route(
            "/{service}",
            axum::routing::post(
                |State((received, failing)): State<Shared>, Path(service): Path<String>, body: String| async move {
                    if *failing.lock().unwrap() {
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let token = url::form_urlencoded::parse(body.as_bytes())
                        .find(|(k, _)| k == "logout_token")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    received.lock().unwrap().push((service, token));
                    axum::http::StatusCode::OK
                },
            ),
        )
        .with_state((Arc::clone(&received), Arc::clone(&failing)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, received, failing, server }
}

impl Receiver {
    /// Waits until `n` tokens have arrived (the workers poll every 2 s).
    async fn wait_for(&self, n: usize) -> Vec<(String, String)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Back-channel logout: every service a session logged into (that asked)
/// gets one logout token when the session ends — by logout, by expiry, by
/// a password change elsewhere — with the ID token's `sub` and `sid`,
/// signed, typed `logout+jwt`; on two instances, still once; a service that
/// keeps failing is retried, then given up in the audit log.
async fn backchannel_logout_tells_every_service_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.oidc.logout_attempts = 3;
        c.oidc.logout_retry_after_seconds = 1;
    })
    .await;
    let second = app.second_instance().await;
    let rx = receiver().await;
    let a = service(
        &app,
        NewClient { name: "A".into(), backchannel_logout_uri: Some(format!("{}/a", rx.url)), ..Default::default() },
    )
    .await;
    let b = service(
        &app,
        NewClient { name: "B".into(), backchannel_logout_uri: Some(format!("{}/b", rx.url)), ..Default::default() },
    )
    .await;
    let quiet = service(&app, NewClient { name: "C".into(), ..Default::default() }).await;
    let totp = citizen_with_two_step(&app, "egyszeri").await;
    let browser = logged_in(&app, "egyszeri", &totp).await;
    let mut id_tokens = Vec::new();
    for svc in [&a, &b, &quiet] {
        let (verifier, challenge) = pkce();
        let c = code(&app, &browser, &auth_url(&svc.id, &challenge, &[])).await;
        let (_, tokens) = exchange(&app, svc, &c, &verifier).await;
        id_tokens.push(verified_claims(&app, tokens["id_token"].as_str().unwrap(), "JWT").await);
    }
    // One session, a sid per service (as `sub`): services cannot join their
    // users by comparing session ids.
    assert_ne!(id_tokens[0]["sid"], id_tokens[1]["sid"]);
    assert_ne!(id_tokens[0]["sid"], id_tokens[2]["sid"]);
    // Logout at kapu: A and B are told, once each, on either instance.
    let home = app.get_with(&browser, "/").await;
    app.post_with(&browser, "/logout", &[("csrf", &home.csrf())]).await;
    let got = rx.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let got_after = rx.received.lock().unwrap().clone();
    assert_eq!(got_after.len(), 2, "once each, whichever instance: {got:?}");
    for (i, service) in ["a", "b"].iter().enumerate() {
        let (_, token) = got_after.iter().find(|(s, _)| s == service).unwrap();
        let claims = verified_claims(&app, token, "logout+jwt").await;
        assert_eq!(claims["sub"], id_tokens[i]["sub"]);
        assert_eq!(claims["sid"], id_tokens[i]["sid"]);
        assert_eq!(claims["aud"], [&a.id, &b.id][i].as_str());
        assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(claims.get("nonce").is_none() && claims["jti"].is_string());
    }
    // A session that expires is a logout too (the sweeper ends it).
    rx.received.lock().unwrap().clear();
    let browser = logged_in(&app, "egyszeri", &totp).await;
    let (verifier, challenge) = pkce();
    let c = code(&app, &browser, &auth_url(&a.id, &challenge, &[])).await;
    exchange(&app, &a, &c, &verifier).await;
    app.clock.advance(601);
    app.kapu.sweep().await.unwrap();
    assert_eq!(rx.wait_for(1).await.len(), 1, "expiry");
    // A password change in one browser ends the other's session: told too.
    rx.received.lock().unwrap().clear();
    let other = logged_in(&app, "egyszeri", &totp).await;
    let (verifier, challenge) = pkce();
    let c = code(&app, &other, &auth_url(&b.id, &challenge, &[])).await;
    exchange(&app, &b, &c, &verifier).await;
    let me = logged_in(&app, "egyszeri", &totp).await;
    let changed = app
        .submit_with(
            &me,
            "/password/change",
            "/password/change",
            &[
                ("current_password", PASSWORD),
                ("password", "uj hosszu jelszo itt"),
                ("password_again", "uj hosszu jelszo itt"),
            ],
        )
        .await;
    assert_eq!(changed.location.as_deref(), Some("/password/change?msg=changed"));
    let got = rx.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "b");
    // A service that keeps failing: retried, then given up, loudly.
    rx.received.lock().unwrap().clear();
    *rx.failing.lock().unwrap() = true;
    let home = app.get_with(&me, "/").await;
    let (verifier, challenge) = pkce();
    let c = code(&app, &me, &auth_url(&a.id, &challenge, &[])).await;
    exchange(&app, &a, &c, &verifier).await;
    app.post_with(&me, "/logout", &[("csrf", &home.csrf())]).await;
    for _ in 0..6 {
        app.clock.advance(5);
        app.kapu.deliver_due_logouts().await.unwrap();
    }
    let events = app.kapu.admin_audit("egyszeri", 100).await.unwrap();
    let failed: Vec<_> = events.iter().filter(|e| e.event == "service_logout_failed").collect();
    assert_eq!(failed.len(), 1, "given up once");
    assert!(failed[0].detail.as_deref().unwrap().contains("after 3 attempts"), "{:?}", failed[0]);
    let metrics = app.get("/metrics").await.body;
    assert!(metrics.contains("kapu_backchannel_logouts_total{outcome=\"dropped\"} 1"), "{metrics}");
    rx.server.abort();
    second.stop().await;
    app.stop().await;
}
