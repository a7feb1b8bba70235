//! Verified identity (issue 15): an office verifies a citizen, the citizen
//! binds it with the office's single-use code, "Regisztrációs adatok" shows
//! it read-only, and services receive it only when allowed and agreed to.
//! On SQLite and on PostgreSQL; the code's limits across two instances.

use kapu::identity::service::{IdentityError, VerificationInput};
use kapu::mail::EmailAddress;
use kapu::oidc::clients::NewClient;
use kapu::oidc::model::{Acr, AuthMethod, Level, SigningAlg};
use kapu::store::repos::*;
use openidconnect::PkceCodeChallenge;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::oidc::{CALLBACK, PASSWORD, browse, citizen_with_two_step, query_param};
use crate::support::burst::{RawRequest, burst, statuses};
use crate::support::{Backend, TestApp};

both_backends!(
    an_office_code_binds_the_verified_identity_once,
    binding_codes_at_once_across_two_instances_are_checked_five_times,
    one_code_typed_by_many_accounts_at_once_binds_one,
    a_service_gets_identity_data_only_when_allowed_verified_and_agreed,
);

/// What a clerk types for Kovács Anna.
fn anna() -> VerificationInput {
    VerificationInput {
        family_name: "Kovács".into(),
        given_name: "Anna Mária".into(),
        birth_family_name: "Szabó".into(),
        birth_given_name: "Anna Mária".into(),
        mother_birth_name: "Nagy Erzsébet".into(),
        place_of_birth: "Debrecen".into(),
        birth_date: "1984-03-17".into(),
        document_kind: "id_card".into(),
        document_number: "123456AB".into(),
        clerk: "Tóth Judit".into(),
        office: "Budapest XI. kerületi kormányablak".into(),
        reason: "személyesen kérte, személyi igazolványt ellenőriztem".into(),
    }
}

async fn issue_code(app: &TestApp, input: &VerificationInput, mail_to: Option<&str>) -> String {
    let v = app.kapu.parse_verification(input).unwrap();
    let to = mail_to.map(|m| EmailAddress::parse(m).unwrap());
    let (code, _) = app.kapu.office_issue_binding_code(&v, to.as_ref()).await.unwrap();
    code.grouped()
}

async fn registered_and_logged_in(app: &TestApp, browser: &reqwest::Client, username: &str) {
    app.register_confirmed(username, "Kovács Anna", &format!("{username}@example.hu"), PASSWORD).await;
    let login = app.login_with(browser, username, PASSWORD).await;
    assert_eq!(login.location.as_deref(), Some("/"), "{}", login.body);
}

async fn account(app: &TestApp, username: &str) -> kapu::accounts::model::Account {
    let name = kapu::accounts::model::Username::parse(username).unwrap();
    app.kapu.store.account_by_username(&name).await.unwrap().unwrap()
}

async fn events(app: &TestApp, username: &str, event: &str) -> Vec<kapu::audit::model::AuditEntry> {
    app.kapu.admin_audit(username, 1000).await.unwrap().into_iter().filter(|e| e.event == event).collect()
}

async fn an_office_code_binds_the_verified_identity_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.new_browser();
    registered_and_logged_in(&app, &browser, "kovacsanna").await;

    // Not verified yet: the data page says how, and links to the code page.
    let data = app.get_with(&browser, "/account").await;
    data.assert_contains("Személyazonosságát még nem igazolták");
    data.assert_contains("href=\"/account/identity\"");

    // The office's letter: the code, by post (the outbox here).
    let before = app.mail_count().await;
    let code = issue_code(&app, &anna(), Some("kovacsanna@example.hu")).await;
    let letter = app.next_mail_to("kovacsanna@example.hu", before).await;
    assert!(letter.text.contains(&code), "{}", letter.text);
    assert!(letter.text.contains("Budapest XI. kerületi kormányablak"));

    // Not a code at all: said at once, no try taken.
    let page = app.get_with(&browser, "/account/identity").await;
    let typo = app.post_with(&browser, "/account/identity", &[("csrf", &page.csrf()), ("binding_code", "12")]).await;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    typo.assert_contains("16 betűből és számjegyből áll");
    typo.assert_contains("role=\"alert\"");
    // A well-formed wrong code: refused, and a failure in the security log.
    let wrong = app
        .post_with(&browser, "/account/identity", &[("csrf", &page.csrf()), ("binding_code", "ABCD-EFGH-JKMN-PQRS")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("Az aktiváló kód nem érvényes");
    assert_eq!(events(&app, "kovacsanna", "identity_bound").await.len(), 1);
    assert!(!account(&app, "kovacsanna").await.verified);

    // The right code, typed as people type: lower case, spaces for dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let bound = app.post_with(&browser, "/account/identity", &[("csrf", &page.csrf()), ("binding_code", &typed)]).await;
    assert_eq!(bound.location.as_deref(), Some("/account?msg=identity_bound"), "{}", bound.body);
    assert!(account(&app, "kovacsanna").await.verified);
    let notice = app.next_mail_to("kovacsanna@example.hu", before + 1).await;
    assert!(notice.subject.contains("Igazolt személyazonosság"), "{}", notice.subject);
    let audit = events(&app, "kovacsanna", "identity_bound").await;
    assert_eq!(audit.len(), 2);
    assert!(audit.iter().any(|e| e.detail.as_deref().is_some_and(|d| d.contains("clerk=Tóth Judit"))));

    // Read-only on "Regisztrációs adatok": the 4T data, the office and the
    // document's kind, never its number; no field to change any of them.
    let data = app.get_with(&browser, "/account?msg=identity_bound").await;
    for shown in ["Kormányablakban igazolt adatok", "Szabó", "Nagy Erzsébet", "Debrecen", "1984-03-17"] {
        data.assert_contains(shown);
    }
    data.assert_contains("Személyazonosító igazolvány");
    assert!(!data.contains("123456AB"), "the document number is never shown");
    for field in ["name=\"family_name\"", "name=\"birth_date\"", "name=\"mother_birth_name\""] {
        assert!(!data.contains(field));
    }
    assert!(!data.contains("href=\"/account/identity\""));
    // A verified account has nothing more to bind.
    assert_eq!(app.get_with(&browser, "/account/identity").await.location.as_deref(), Some("/account"));

    // The code worked once: another citizen typing it gets "not valid".
    let other = app.new_browser();
    registered_and_logged_in(&app, &other, "masvalaki").await;
    let page = app.get_with(&other, "/account/identity").await;
    let again = app.post_with(&other, "/account/identity", &[("csrf", &page.csrf()), ("binding_code", &code)]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!account(&app, "masvalaki").await.verified);

    // One person, one account: the office cannot verify Anna for another.
    let v = app.kapu.parse_verification(&anna()).unwrap();
    assert!(matches!(app.kapu.office_verify_account("masvalaki", &v).await, Err(IdentityError::BoundElsewhere)));
    assert!(matches!(app.kapu.office_verify_account("kovacsanna", &v).await, Err(IdentityError::AlreadyVerified)));
    // Another person's code for an already verified account: refused
    // before it is redeemed, so it still works for its own person.
    let mut bela = anna();
    bela.family_name = "Kiss".into();
    bela.given_name = "Béla".into();
    bela.birth_family_name = "Kiss".into();
    bela.birth_given_name = "Béla".into();
    let bela_code = issue_code(&app, &bela, None).await;
    let page = app.get_with(&browser, "/account").await;
    let refused =
        app.post_with(&browser, "/account/identity", &[("csrf", &page.csrf()), ("binding_code", &bela_code)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    refused.assert_contains("már tartozik igazolt személyazonosság");
    let page = app.get_with(&other, "/account/identity").await;
    let ok = app.post_with(&other, "/account/identity", &[("csrf", &page.csrf()), ("binding_code", &bela_code)]).await;
    assert_eq!(ok.location.as_deref(), Some("/account?msg=identity_bound"), "{}", ok.body);

    // A clerk's input is checked whole: every problem at once.
    let mut bad = anna();
    bad.birth_date = "2999-01-01".into();
    bad.document_kind = "library_card".into();
    bad.mother_birth_name = String::new();
    let problems = app.kapu.parse_verification(&bad).unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");

    // The seed guide's promise for verification too: the office reset of
    // two-step login leaves the verified identity alone.
    let home = app.get_with(&browser, "/").await;
    app.post_with(&browser, "/logout", &[("csrf", &home.csrf())]).await;
    app.login_with(&browser, "kovacsanna", PASSWORD).await;
    app.enable_two_step_with(&browser, PASSWORD).await;
    app.kapu.office_reset_two_step("kovacsanna", "lost phone, ID card checked").await.unwrap();
    assert!(account(&app, "kovacsanna").await.verified);
    assert!(app.kapu.verified_identity(&account(&app, "kovacsanna").await.id).await.unwrap().is_some());
    app.stop().await;
}

/// 40 wrong codes from one logged-in citizen, released together and split
/// across two instances: 5 are checked, 35 wait; 15 minutes later the
/// right code binds.
async fn binding_codes_at_once_across_two_instances_are_checked_five_times(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.second_instance().await;
    let (browser, jar) = app.browser_with_jar();
    registered_and_logged_in(&app, &browser, "probalkozo").await;
    let csrf = app.get_with(&browser, "/account/identity").await.csrf();
    let requests: Vec<RawRequest> = (0..40)
        .map(|i| {
            let base = if i % 2 == 0 { &app.url } else { &second.url };
            let wrong = format!("ABCD-EFGH-JKMN-{:04}", 1000 + i);
            RawRequest::form(base, "/account/identity", &jar, &[("csrf", &csrf), ("binding_code", &wrong)])
        })
        .collect();
    let responses = burst(&requests).await;
    assert_eq!(statuses(&responses), vec![(422, 5), (429, 35)]);
    let failures = events(&app, "probalkozo", "identity_bound").await;
    assert_eq!(failures.len(), 5);

    let code = issue_code(&app, &anna(), None).await;
    let early = app.post_with(&browser, "/account/identity", &[("csrf", &csrf), ("binding_code", &code)]).await;
    assert_eq!(early.status, StatusCode::TOO_MANY_REQUESTS);
    early.assert_contains("Túl sok hibás aktiváló kód");
    // 15 minutes on (the idle session ended meanwhile: log in again).
    app.clock.advance(15 * 60 + 1);
    app.login_with(&browser, "probalkozo", PASSWORD).await;
    let csrf = app.get_with(&browser, "/account/identity").await.csrf();
    let bound = app.post_with(&browser, "/account/identity", &[("csrf", &csrf), ("binding_code", &code)]).await;
    assert_eq!(bound.location.as_deref(), Some("/account?msg=identity_bound"), "{}", bound.body);
    second.stop().await;
    app.stop().await;
}

/// One code typed at the same moment by ten accounts (three tabs each),
/// half on each instance: exactly one account gets the identity.
async fn one_code_typed_by_many_accounts_at_once_binds_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let second = app.second_instance().await;
    let code = issue_code(&app, &anna(), None).await;
    let mut requests = Vec::new();
    for n in 0..10 {
        let (browser, jar) = app.browser_with_jar();
        registered_and_logged_in(&app, &browser, &format!("versenyzo{n}")).await;
        let csrf = app.get_with(&browser, "/account/identity").await.csrf();
        for tab in 0..3 {
            let base = if (n + tab) % 2 == 0 { &app.url } else { &second.url };
            requests.push(RawRequest::form(
                base,
                "/account/identity",
                &jar,
                &[("csrf", &csrf), ("binding_code", &code)],
            ));
        }
    }
    let responses = burst(&requests).await;
    let won = responses.iter().filter(|r| r.status == 303).count();
    assert_eq!(won, 1, "{:?}", statuses(&responses));
    for r in &responses {
        assert!([303, 409, 422].contains(&r.status), "{}\n{}", r.head, r.body);
    }
    let mut verified = 0;
    for n in 0..10 {
        verified += usize::from(account(&app, &format!("versenyzo{n}")).await.verified);
    }
    assert_eq!(verified, 1);
    second.stop().await;
    app.stop().await;
}

/// The payload of a JWS, as JSON (its signature is checked by the suites
/// that use a relying-party library).
pub(crate) fn payload(jwt: &str) -> serde_json::Map<String, Value> {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(part.as_bytes()).unwrap()).unwrap()
}

pub(crate) struct Service {
    pub(crate) id: String,
    secret: String,
}

impl Service {
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

pub(crate) async fn service(app: &TestApp, name: &str, allowed: &[&str]) -> Service {
    service_with(app, name, allowed, &[]).await
}

/// A service that also takes logins on a principal's behalf for `matters`.
pub(crate) async fn service_with(app: &TestApp, name: &str, allowed: &[&str], matters: &[&str]) -> Service {
    let (client, secret) = app
        .kapu
        .register_client(NewClient {
            name: name.into(),
            redirect_uris: vec![CALLBACK.into()],
            auth_method: AuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::ES256,
            required_level: Level::TwoStep,
            allowed_claims: allowed.iter().map(|c| (*c).to_owned()).collect(),
            delegation_matters: matters.iter().map(|c| (*c).to_owned()).collect(),
            ..Default::default()
        })
        .await
        .unwrap();
    Service { id: client.client_id, secret: secret.unwrap() }
}

/// An authorization URL for `scope`, and its PKCE verifier.
pub(crate) fn authorize_url(s: &Service, scope: &str, extra: &str) -> (String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope={}&state=st4te&nonce=n0nce\
         &code_challenge={}&code_challenge_method=S256{extra}",
        s.id,
        urlencoding(CALLBACK),
        urlencoding(scope),
        challenge.as_str()
    );
    (url, verifier.secret().clone())
}

pub(crate) fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The code exchanged: the ID token's claims and userinfo's answer.
pub(crate) async fn exchange(
    app: &TestApp,
    s: &Service,
    back: &str,
    verifier: &str,
) -> (serde_json::Map<String, Value>, Value) {
    let code = query_param(back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(format!("{}/token", app.url))
        .basic_auth(&s.id, Some(&s.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap_or_else(|| panic!("{tokens}"));
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo: Value =
        http.get(format!("{}/userinfo", app.url)).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    (payload(id_token), userinfo)
}

use kapu::oidc::discovery::IDENTITY_CLAIMS as IDENTITY;

async fn a_service_gets_identity_data_only_when_allowed_verified_and_agreed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = citizen_with_two_step(&app, "adozo").await;
    let tax = service(&app, "Adóbevallás", &["identity"]).await;
    let shop = service(&app, "Parkolás", &[]).await;

    // Unverified: no consent page, no identity data, eIDAS low at most.
    let (url, verifier) = authorize_url(&tax, "openid profile identity", "");
    let back = browse(&app, &app.client, &url, "adozo", Some(&key)).await;
    let (claims, _) = exchange(&app, &tax, &back, &verifier).await;
    assert!(IDENTITY.iter().all(|c| !claims.contains_key(*c)), "{claims:?}");
    let (url, _) = authorize_url(&tax, "openid", &format!("&acr_values={}", urlencoding(Acr::EIDAS_SUBSTANTIAL)));
    let back = app.get(&url).await.location.unwrap();
    assert_eq!(query_param(&back, "error").as_deref(), Some("unmet_authentication_requirements"), "{back}");

    // The office verifies Adózó Aladár at the counter.
    let mut input = anna();
    input.family_name = "Adózó".into();
    input.given_name = "Aladár".into();
    let v = app.kapu.parse_verification(&input).unwrap();
    app.kapu.office_verify_account("adozo", &v).await.unwrap();

    // The next login asks first, naming the service and each datum.
    let (url, verifier) = authorize_url(&tax, "openid profile identity", "");
    let at = app.get(&url).await.location.unwrap();
    assert!(at.starts_with("/authorize/consent?request="), "{at}");
    let consent = app.get(&at).await;
    consent.assert_contains("A(z) Adóbevallás szolgáltatás a következő adatait kapja meg:");
    // Both buttons end at the service: a browser may post there (CSP).
    let csp = consent.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9"), "{csp}");
    for label in ["Anyja születési neve", "Születési hely", "Születési idő", "Családi név"] {
        consent.assert_contains(label);
    }
    let request = query_param(&format!("http://x{at}"), "request").unwrap();
    let allowed = app
        .post("/authorize/consent", &[("csrf", &consent.csrf()), ("request", &request), ("decision", "allow")])
        .await;
    let back = allowed.location.unwrap_or_else(|| panic!("{}", allowed.body));
    assert!(back.starts_with(CALLBACK), "{back}");
    let (claims, userinfo) = exchange(&app, &tax, &back, &verifier).await;
    assert_eq!(claims["family_name"], "Adózó");
    assert_eq!(claims["birth_family_name"], "Szabó");
    assert_eq!(claims["mother_birth_name"], "Nagy Erzsébet");
    assert_eq!(claims["place_of_birth"], "Debrecen");
    assert_eq!(claims["birthdate"], "1984-03-17");
    assert_eq!(claims["acr"], "ugyfelkapu-plus");
    assert_eq!(userinfo["given_name"], "Aladár");
    assert_eq!(userinfo["birth_given_name"], "Anna Mária");
    assert_eq!(events(&app, "adozo", "consent_granted").await.len(), 1);
    let released = events(&app, "adozo", "service_login").await;
    let all =
        "identity=family_name,given_name,birthdate,birth_family_name,birth_given_name,mother_birth_name,place_of_birth";
    assert!(released.iter().any(|e| e.detail.as_deref().is_some_and(|d| d.ends_with(all))), "{released:?}");

    // Verified with two-step login: eIDAS substantial is met.
    let (url, verifier) =
        authorize_url(&tax, "openid", &format!("&acr_values={}", urlencoding(Acr::EIDAS_SUBSTANTIAL)));
    app.clock.advance(30);
    let back = browse(&app, &app.client, &url, "adozo", Some(&key)).await;
    let (claims, _) = exchange(&app, &tax, &back, &verifier).await;
    assert_eq!(claims["acr"], Acr::EIDAS_SUBSTANTIAL);
    // Only what the scope asks: `openid` alone releases no identity datum.
    assert!(IDENTITY.iter().all(|c| !claims.contains_key(*c)), "{claims:?}");

    // Agreed once: the next login goes straight back, and a service never
    // allowed identity data gets none and asks nothing.
    let (url, _) = authorize_url(&tax, "openid identity", "&prompt=none");
    let back = app.get(&url).await.location.unwrap();
    assert!(query_param(&back, "code").is_some(), "{back}");
    let (url, verifier) = authorize_url(&shop, "openid profile identity", "");
    let back = app.get(&url).await.location.unwrap();
    let (claims, userinfo) = exchange(&app, &shop, &back, &verifier).await;
    assert!(IDENTITY.iter().all(|c| !claims.contains_key(*c) && userinfo.get(*c).is_none()), "{claims:?}");

    // "Szolgáltatások" lists what went where; withdrawing stops it.
    let services = app.get("/services").await;
    services.assert_contains("Adóbevallás");
    services.assert_contains("Anyja születési neve");
    assert!(!services.contains("Parkolás"));
    let withdrawn = app.post("/services/withdraw", &[("csrf", &services.csrf()), ("client_id", tax.id.as_str())]).await;
    assert_eq!(withdrawn.location.as_deref(), Some("/services?msg=withdrawn"));
    let services = app.get("/services?msg=withdrawn").await;
    services.assert_contains("visszavontuk");
    assert!(!services.contains("Adóbevallás"));
    assert_eq!(events(&app, "adozo", "consent_withdrawn").await.len(), 1);

    // Asked again: prompt=none cannot ask, so the service hears why.
    let (url, _) = authorize_url(&tax, "openid identity", "&prompt=none");
    let back = app.get(&url).await.location.unwrap();
    assert_eq!(query_param(&back, "error").as_deref(), Some("consent_required"), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("st4te"));
    // Refused: back to the service with access_denied, nothing shared.
    let (url, _) = authorize_url(&tax, "openid identity", "");
    let at = app.get(&url).await.location.unwrap();
    let consent = app.get(&at).await;
    let request = query_param(&format!("http://x{at}"), "request").unwrap();
    let denied =
        app.post("/authorize/consent", &[("csrf", &consent.csrf()), ("request", &request), ("decision", "deny")]).await;
    let back = denied.location.unwrap();
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(query_param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&back, "state").as_deref(), Some("st4te"));
    assert_eq!(events(&app, "adozo", "consent_refused").await.len(), 1);
    // The request is spent: replaying the decision finds nothing.
    let replay = app
        .post("/authorize/consent", &[("csrf", &consent.csrf()), ("request", &request), ("decision", "allow")])
        .await;
    assert!(replay.location.is_none_or(|l| !l.starts_with(CALLBACK)));
    app.stop().await;
}
