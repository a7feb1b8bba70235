//! Delegations (meghatalmazás, issue 15): between verified citizens, given
//! in the portal, accepted once however many clicks, ended by either party,
//! expired by date, ended by deleting an account (the other party is told),
//! and untouched by everything Ügyfélkapu+ does (the seed guide's promise).

use kapu::accounts::model::{Account, Username};
use kapu::identity::service::VerificationInput;
use kapu::store::repos::*;
use reqwest::StatusCode;

use crate::both_backends;
use crate::identity::{authorize_url, exchange, service, service_with};
use crate::oidc::{CALLBACK, browse, query_param};
use crate::support::burst::{RawRequest, burst, statuses};
use crate::support::{Backend, TestApp};

const PASSWORD: &str = "tavaszi szel vizet araszt";

both_backends!(
    a_delegation_lives_from_offer_to_end,
    the_form_says_what_is_wrong_and_names_nobody,
    an_agent_logs_in_to_a_service_for_the_principal,
    wrong_agents_at_once_across_two_instances_are_checked_five_times,
);

async fn account(app: &TestApp, username: &str) -> Account {
    app.kapu.store.account_by_username(&Username::parse(username).unwrap()).await.unwrap().unwrap()
}

/// A confirmed citizen logged in in their own browser; verified at an
/// office with `name` (family, given) and `born` if given.
async fn citizen(app: &TestApp, username: &str, verified: Option<(&str, &str, &str)>) -> reqwest::Client {
    app.register_confirmed(username, "Teszt Polgár", &format!("{username}@example.hu"), PASSWORD).await;
    if let Some((family, given, born)) = verified {
        let input = VerificationInput {
            family_name: family.into(),
            given_name: given.into(),
            birth_family_name: family.into(),
            birth_given_name: given.into(),
            mother_birth_name: "Nagy Erzsébet".into(),
            place_of_birth: "Szeged".into(),
            birth_date: born.into(),
            document_kind: "id_card".into(),
            document_number: format!("{}AB", &born[..4]),
            clerk: "Tóth Judit".into(),
            office: "Szegedi kormányablak".into(),
            reason: "személyesen".into(),
        };
        let v = app.kapu.parse_verification(&input).unwrap();
        app.kapu.office_verify_account(username, &v).await.unwrap();
    }
    let browser = app.new_browser();
    assert_eq!(app.login_with(&browser, username, PASSWORD).await.location.as_deref(), Some("/"));
    browser
}

async fn grant(app: &TestApp, browser: &reqwest::Client, fields: &[(&str, &str)]) -> crate::support::Page {
    app.submit_with(browser, "/delegations/new", "/delegations/new", fields).await
}

/// Anna offers Béla `matter` from today for `days` more days.
async fn offer(app: &TestApp, anna: &reqwest::Client, matter: &str, days: i64) {
    let (from, until) = (day(app, 0), day(app, days));
    let fields = [
        ("agent_username", "bela"),
        ("agent_birth_date", "1985-06-30"),
        ("matter", matter),
        ("valid_from", from.as_str()),
        ("valid_until", until.as_str()),
    ];
    let page = grant(app, anna, &fields).await;
    assert_eq!(page.location.as_deref(), Some("/delegations?msg=granted"), "{}", page.body);
}

fn day(app: &TestApp, offset: i64) -> String {
    let today = app.kapu.today();
    today.checked_add(jiff::Span::new().days(offset)).unwrap().to_string()
}

async fn events(app: &TestApp, username: &str, event: &str) -> Vec<String> {
    let all = app.kapu.admin_audit(username, 1000).await.unwrap();
    all.into_iter().filter(|e| e.event == event).map(|e| e.detail.unwrap_or_default()).collect()
}

/// The id of the account's only delegation that is not over.
async fn open_delegation(app: &TestApp, username: &str) -> String {
    let today = app.kapu.today();
    let all = app.kapu.delegations(&account(app, username).await).await.unwrap();
    let open: Vec<_> = all
        .into_iter()
        .filter(|d| {
            !matches!(
                d.state(today),
                kapu::delegations::model::State::Ended(_) | kapu::delegations::model::State::Expired
            )
        })
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    open[0].id.clone()
}

async fn a_delegation_lives_from_offer_to_end(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anna = citizen(&app, "anna", Some(("Kovács", "Anna", "1970-01-02"))).await;
    let (bela, bela_jar) = app.browser_with_jar();
    citizen(&app, "bela", Some(("Kiss", "Béla", "1985-06-30"))).await;
    assert_eq!(app.login_with(&bela, "bela", PASSWORD).await.location.as_deref(), Some("/"));

    // Anna delegates her tax return to Béla for a year.
    let until = day(&app, 365);
    let granted = grant(
        &app,
        &anna,
        &[
            ("agent_username", "bela"),
            ("agent_birth_date", "1985-06-30"),
            ("matter", "adobevallas"),
            ("service", ""),
            ("valid_from", &day(&app, 0)),
            ("valid_until", &until),
        ],
    )
    .await;
    assert_eq!(granted.location.as_deref(), Some("/delegations?msg=granted"), "{}", granted.body);
    let offered = app.mail_with_subject("Meghatalmazást kapott").await;
    assert_eq!(offered.to, "bela@example.hu");
    assert!(offered.text.contains("Kovács Anna") && offered.text.contains("Adóbevallás"), "{}", offered.text);
    let list = app.get_with(&anna, "/delegations?msg=granted").await;
    list.assert_contains("Kiss Béla");
    list.assert_contains("Elfogadásra vár");
    assert_eq!(events(&app, "anna", "delegation_granted").await.len(), 1);

    // Béla accepts: ten clicks at once on two instances accept it once.
    let second = app.second_instance().await;
    let list = app.get_with(&bela, "/delegations").await;
    list.assert_contains("Elfogadom");
    let id = open_delegation(&app, "bela").await;
    let csrf = list.csrf();
    let clicks: Vec<RawRequest> = (0..10)
        .map(|i| {
            let base = if i % 2 == 0 { &app.url } else { &second.url };
            RawRequest::form(base, "/delegations/accept", &bela_jar, &[("csrf", &csrf), ("id", &id)])
        })
        .collect();
    assert_eq!(statuses(&burst(&clicks).await), vec![(303, 10)]);
    second.stop().await;
    assert_eq!(events(&app, "bela", "delegation_accepted").await.len(), 1);
    assert_eq!(app.mails_with_subject("Elfogadták a meghatalmazását", 1).await.len(), 1);
    app.get_with(&anna, "/delegations").await.assert_contains("Érvényes");

    // The seed guide: Ügyfélkapu+ on, moved to another device, revoked with
    // the revocation code, on again, the office reset and on again change no
    // delegation.
    let before = format!("{:?}", app.kapu.delegations(&account(&app, "anna").await).await.unwrap());
    let (first_key, _) = app.enable_two_step_with(&anna, PASSWORD).await;
    let device = app.get_with(&anna, "/plus/device").await;
    let moving = app
        .post_with(
            &anna,
            "/plus/device",
            &[("csrf", &device.csrf()), ("password", PASSWORD), ("code", &app.code_for(&first_key, 0))],
        )
        .await;
    assert_eq!(moving.location.as_deref(), Some("/plus/setup"), "{}", moving.body);
    let manual = app.get_with(&anna, "/plus/setup?manual=1").await;
    let second_key = manual.between("id=\"secret-key\">", "<");
    app.clock.advance(30);
    let code = app.code_for(&second_key, 0);
    let confirmed =
        app.post_with(&anna, "/plus/setup", &[("csrf", &manual.csrf()), ("password", PASSWORD), ("code", &code)]).await;
    assert_eq!(confirmed.location.as_deref(), Some("/plus/revocation"), "{}", confirmed.body);
    let page = app.get_with(&anna, "/plus/revocation").await;
    let revocation = page.between("id=\"revocation-code\">", "<");
    let moved = app.post_with(&anna, "/plus/finish", &[("csrf", &page.csrf()), ("saved", "yes")]).await;
    assert_eq!(moved.location.as_deref(), Some("/plus/done?device=1"));
    let password = kapu::passwords::Password::new(PASSWORD.to_owned());
    app.kapu.revoke_two_step("anna", &password, &revocation, &kapu::audit::Actor::default()).await.unwrap();
    let anna = app.new_browser();
    app.login_with(&anna, "anna", PASSWORD).await;
    app.enable_two_step_with(&anna, PASSWORD).await;
    app.kapu.office_reset_two_step("anna", "lost phone, ID card checked").await.unwrap();
    let anna = app.new_browser();
    app.login_with(&anna, "anna", PASSWORD).await;
    let (anna_key, _) = app.enable_two_step_with(&anna, PASSWORD).await;
    let after = format!("{:?}", app.kapu.delegations(&account(&app, "anna").await).await.unwrap());
    assert_eq!(before, after);

    // Anna revokes: Béla is told; revoking again does nothing more.
    let list = app.get_with(&anna, "/delegations").await;
    let ended = app.post_with(&anna, "/delegations/end", &[("csrf", &list.csrf()), ("id", &id)]).await;
    assert_eq!(ended.location.as_deref(), Some("/delegations?msg=ended"));
    let again = app.post_with(&anna, "/delegations/end", &[("csrf", &list.csrf()), ("id", &id)]).await;
    assert_eq!(again.location.as_deref(), Some("/delegations"));
    assert_eq!(events(&app, "anna", "delegation_ended").await.len(), 1);
    let told = app.mail_with_subject("Megszűnt egy meghatalmazás").await;
    assert_eq!(told.to, "bela@example.hu");
    app.get_with(&bela, "/delegations").await.assert_contains("Visszavonva");
    // An ended delegation cannot be accepted again.
    let list = app.get_with(&bela, "/delegations").await;
    let late = app.post_with(&bela, "/delegations/accept", &[("csrf", &list.csrf()), ("id", &id)]).await;
    assert_eq!(late.location.as_deref(), Some("/delegations"));

    // Béla refuses the next one.
    offer(&app, &anna, "tarhely", 1).await;
    let refused_id = open_delegation(&app, "bela").await;
    let list = app.get_with(&bela, "/delegations").await;
    app.post_with(&bela, "/delegations/end", &[("csrf", &list.csrf()), ("id", &refused_id)]).await;
    app.get_with(&anna, "/delegations").await.assert_contains("Elutasítva");

    // A pending one runs out: three days later it has expired and cannot be accepted.
    offer(&app, &anna, "tarhely", 1).await;
    let expiring = open_delegation(&app, "bela").await;
    app.clock.advance(3 * 86_400);
    let anna = app.new_browser();
    let home = app.login_with_code(&anna, "anna", PASSWORD, &app.code_for(&anna_key, 0)).await;
    assert_eq!(home.location.as_deref(), Some("/"), "{}", home.body);
    let bela = app.new_browser();
    app.login_with(&bela, "bela", PASSWORD).await;
    let list = app.get_with(&bela, "/delegations").await;
    list.assert_contains("Lejárt");
    app.post_with(&bela, "/delegations/accept", &[("csrf", &list.csrf()), ("id", &expiring)]).await;
    assert_eq!(events(&app, "bela", "delegation_accepted").await.len(), 1, "an expired offer cannot be accepted");

    // Deleting an account ends its delegations and tells the other party.
    offer(&app, &anna, "adobevallas", 30).await;
    let live = open_delegation(&app, "bela").await;
    let list = app.get_with(&bela, "/delegations").await;
    app.post_with(&bela, "/delegations/accept", &[("csrf", &list.csrf()), ("id", &live)]).await;
    let deleted = app
        .submit_with(&bela, "/account/delete", "/account/delete", &[("password", PASSWORD), ("confirm", "yes")])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    let mut told = None;
    for _ in 0..100 {
        told = app.mails_to("anna@example.hu").into_iter().find(|m| m.text.contains("törölte Ügyfélkapu-fiókját"));
        if told.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let told = told.expect("Anna is told that Béla deleted his account");
    assert!(told.subject.contains("Megszűnt egy meghatalmazás") && told.text.contains("Kiss Béla"), "{}", told.text);
    assert!(app.kapu.delegations(&account(&app, "anna").await).await.unwrap().is_empty());
    let ended = events(&app, "anna", "delegation_ended").await;
    assert!(ended.iter().any(|d| d.contains("deleted their account")), "{ended:?}");
    app.stop().await;
}

async fn the_form_says_what_is_wrong_and_names_nobody(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anna = citizen(&app, "anna", Some(("Kovács", "Anna", "1970-01-02"))).await;
    citizen(&app, "bela", Some(("Kiss", "Béla", "1985-06-30"))).await;
    let cecil = citizen(&app, "cecil", None).await;

    // Unverified: the page says why, and there is no form.
    let list = app.get_with(&cecil, "/delegations").await;
    list.assert_contains("Meghatalmazást csak igazolt személyazonosságú ügyfél adhat");
    assert!(!list.contains("href=\"/delegations/new\""));
    assert_eq!(app.get_with(&cecil, "/delegations/new").await.location.as_deref(), Some("/delegations"));

    // Every problem at once.
    let wrong = grant(
        &app,
        &anna,
        &[
            ("agent_username", "bela"),
            ("agent_birth_date", "1985-06-31"),
            ("matter", "lopas"),
            ("service", "nincs-ilyen"),
            ("valid_from", &day(&app, -1)),
            ("valid_until", "holnap"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in ["év-hónap-nap alakban", "Válasszon ügytípust", "Válasszon szolgáltatást", "role=\"alert\""]
    {
        wrong.assert_contains(message);
    }
    assert_eq!(
        wrong.body.matches("év-hónap-nap alakban").count(),
        4,
        "two dates, each in the summary and at its field"
    );
    // The wrong birth date, an unverified citizen and nobody get one answer.
    let one_answer = "Nincs igazolt személyazonosságú ügyfél ezzel a felhasználónévvel";
    for (who, born) in [("bela", "1985-06-29"), ("cecil", "1990-01-01"), ("senki", "1990-01-01")] {
        let page = grant(
            &app,
            &anna,
            &[
                ("agent_username", who),
                ("agent_birth_date", born),
                ("matter", "adobevallas"),
                ("valid_from", &day(&app, 0)),
                ("valid_until", &day(&app, 10)),
            ],
        )
        .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{who}");
        page.assert_contains(one_answer);
    }
    let myself = grant(
        &app,
        &anna,
        &[
            ("agent_username", "anna"),
            ("agent_birth_date", "1970-01-02"),
            ("matter", "adobevallas"),
            ("valid_from", &day(&app, 0)),
            ("valid_until", &day(&app, 10)),
        ],
    )
    .await;
    myself.assert_contains("Saját magát nem hatalmazhatja meg");
    let backwards = grant(
        &app,
        &anna,
        &[
            ("agent_username", "bela"),
            ("agent_birth_date", "1985-06-30"),
            ("matter", "adobevallas"),
            ("valid_from", &day(&app, 10)),
            ("valid_until", &day(&app, 5)),
        ],
    )
    .await;
    backwards.assert_contains("Az utolsó nap nem lehet korábbi a kezdőnapnál");
    let too_long = grant(
        &app,
        &anna,
        &[
            ("agent_username", "bela"),
            ("agent_birth_date", "1985-06-30"),
            ("matter", "adobevallas"),
            ("valid_from", &day(&app, 0)),
            ("valid_until", &day(&app, 5 * 365 + 1)),
        ],
    )
    .await;
    too_long.assert_contains("legfeljebb 1825 napig");
    // Naming agents is a guess at their dates of birth: five wrong ones are
    // checked (an agent found, as just above, starts the count again), then
    // the form waits.
    let mut answers = Vec::new();
    for d in 1..=6 {
        let born = format!("1985-06-{d:02}");
        let fields = [
            ("agent_username", "bela"),
            ("agent_birth_date", born.as_str()),
            ("matter", "adobevallas"),
            ("valid_from", &day(&app, 0)),
            ("valid_until", &day(&app, 10)),
        ];
        answers.push(grant(&app, &anna, &fields).await);
    }
    let statuses: Vec<u16> = answers.iter().map(|p| p.status.as_u16()).collect();
    assert_eq!(statuses, vec![422, 422, 422, 422, 422, 429]);
    answers[5].assert_contains("Túl sok meghatalmazott nem volt megtalálható");
    // Nothing was written by any refused form.
    assert!(app.kapu.delegations(&account(&app, "anna").await).await.unwrap().is_empty());
    assert!(events(&app, "anna", "delegation_granted").await.is_empty());
    app.stop().await;
}

/// Béla, with Ügyfélkapu+ on, holds Anna's tax-return delegation for the
/// tax service: he chooses on whose behalf he logs in; the ID token and
/// userinfo name Anna (her pairwise `sub` there, her verified name) and him
/// in `act`, with the matters; a revoked delegation gives nothing more.
async fn an_agent_logs_in_to_a_service_for_the_principal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    citizen(&app, "anna", Some(("Kovács", "Anna", "1970-01-02"))).await;
    let bela = citizen(&app, "bela", Some(("Kiss", "Béla", "1985-06-30"))).await;
    let (key, _) = app.enable_two_step_with(&bela, PASSWORD).await;
    let home = app.get_with(&bela, "/").await;
    app.post_with(&bela, "/logout", &[("csrf", &home.csrf())]).await;
    // The tax service takes logins for tax returns on a principal's behalf;
    // the parking service none (it does not know `act`).
    let tax = service_with(&app, "Adóbevallás", &["identity"], &["adobevallas"]).await;
    let other = service(&app, "Parkolás", &[]).await;
    let anna = account(&app, "anna").await;
    let bela_account = account(&app, "bela").await;
    let input = kapu::delegations::service::DelegationInput {
        agent_username: "bela".into(),
        agent_birth_date: "1985-06-30".into(),
        matter: "adobevallas".into(),
        // At any service: only those that take the matter offer it.
        service: String::new(),
        valid_from: day(&app, 0),
        valid_until: day(&app, 30),
    };
    let actor = kapu::audit::Actor::default();
    let given = app.kapu.grant_delegation(&anna, &input, &actor).await.unwrap();

    // Pending: Béla logs in for himself, nothing asked.
    let (url, verifier) = authorize_url(&tax, "openid email", "");
    let back = browse(&app, &bela, &url, "bela", Some(&key)).await;
    assert!(back.starts_with(CALLBACK), "{back}");
    let (claims, _) = exchange(&app, &tax, &back, &verifier).await;
    assert_eq!(claims["sub"], app.kapu.pairwise_sub(&tax.id, &bela_account.id).as_str());
    assert!(claims.get("act").is_none());

    // Accepted: the next login asks on whose behalf; a service that takes
    // no such logins asks nothing, whatever the delegation says.
    app.kapu.accept_delegation(&bela_account, &given.id, &actor).await.unwrap();
    let (url, _) = authorize_url(&other, "openid", "");
    assert!(app.get_with(&bela, &url).await.location.unwrap().starts_with(CALLBACK));
    let (url, verifier) = authorize_url(&tax, "openid profile email identity", "");
    let at = app.get_with(&bela, &url).await.location.unwrap();
    assert!(at.starts_with("/authorize/represent?request="), "{at}");
    let choose = app.get_with(&bela, &at).await;
    choose.assert_contains("Kinek a nevében jár el?");
    choose.assert_contains("Saját nevemben");
    choose.assert_contains("Kovács Anna nevében (Adóbevallás)");
    let csp = choose.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' http://127.0.0.1:9"), "every choice ends at the service: {csp}");
    let request = query_param(&format!("http://x{at}"), "request").unwrap();
    let chosen = app
        .post_with(
            &bela,
            "/authorize/represent",
            &[("csrf", &choose.csrf()), ("request", &request), ("principal", &anna.id.0)],
        )
        .await;
    let back = chosen.location.unwrap_or_else(|| panic!("{}", chosen.body));
    assert!(back.starts_with(CALLBACK), "{back}");
    let (claims, userinfo) = exchange(&app, &tax, &back, &verifier).await;
    let anna_sub = app.kapu.pairwise_sub(&tax.id, &anna.id);
    let bela_sub = app.kapu.pairwise_sub(&tax.id, &bela_account.id);
    assert_eq!(claims["sub"], anna_sub.as_str());
    assert_eq!(claims["name"], "Kovács Anna");
    assert_eq!(claims["act"], serde_json::json!({ "sub": bela_sub, "name": "Kiss Béla" }));
    assert_eq!(claims["delegated_matters"], serde_json::json!(["adobevallas"]));
    assert_eq!(claims["acr"], "ugyfelkapu-plus");
    for never in ["email", "email_verified", "family_name", "birthdate", "mother_birth_name"] {
        assert!(claims.get(never).is_none() && userinfo.get(never).is_none(), "{never}: {claims:?} {userinfo:?}");
    }
    assert_eq!(userinfo["sub"], anna_sub.as_str());
    assert_eq!(userinfo["act"]["sub"], bela_sub.as_str());
    // Anna's security log says who acted for her, where.
    let logins = events(&app, "anna", "service_login").await;
    assert!(logins.iter().any(|d| d.contains("acting agent=bela")), "{logins:?}");

    // For himself: asked for his own data (once, not again on whose
    // behalf), then his own sub, no act.
    let (url, verifier) = authorize_url(&tax, "openid profile", "");
    let at = app.get_with(&bela, &url).await.location.unwrap();
    let choose = app.get_with(&bela, &at).await;
    let request = query_param(&format!("http://x{at}"), "request").unwrap();
    let myself = app
        .post_with(&bela, "/authorize/represent", &[("csrf", &choose.csrf()), ("request", &request), ("principal", "")])
        .await;
    let consent = myself.location.unwrap();
    assert!(consent.starts_with("/authorize/consent?"), "{consent}");
    let page = app.get_with(&bela, &consent).await;
    let agreed = app
        .post_with(&bela, "/authorize/consent", &[("csrf", &page.csrf()), ("request", &request), ("decision", "allow")])
        .await;
    let back = agreed.location.unwrap();
    assert!(back.starts_with(CALLBACK), "straight back to the service: {back}");
    let (claims, _) = exchange(&app, &tax, &back, &verifier).await;
    assert_eq!(claims["family_name"], "Kiss");
    assert_eq!(claims["sub"], bela_sub.as_str());
    assert!(claims.get("act").is_none());

    // A choice that names someone who gave him nothing: refused.
    let (url, _) = authorize_url(&tax, "openid", "");
    let at = app.get_with(&bela, &url).await.location.unwrap();
    let choose = app.get_with(&bela, &at).await;
    let request = query_param(&format!("http://x{at}"), "request").unwrap();
    let forged = app
        .post_with(
            &bela,
            "/authorize/represent",
            &[("csrf", &choose.csrf()), ("request", &request), ("principal", &bela_account.id.0)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::CONFLICT);

    // A code issued for Anna, then Anna revokes: the exchange is refused,
    // and the next login asks nothing.
    let (url, verifier) = authorize_url(&tax, "openid", "");
    let at = app.get_with(&bela, &url).await.location.unwrap();
    let choose = app.get_with(&bela, &at).await;
    let request = query_param(&format!("http://x{at}"), "request").unwrap();
    let chosen = app
        .post_with(
            &bela,
            "/authorize/represent",
            &[("csrf", &choose.csrf()), ("request", &request), ("principal", &anna.id.0)],
        )
        .await;
    let code = query_param(&chosen.location.unwrap(), "code").unwrap();
    app.kapu.end_delegation(&anna, &given.id, &actor).await.unwrap();
    let refused = reqwest::Client::new()
        .post(format!("{}/token", app.url))
        .basic_auth(&tax.id, Some(tax.secret()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].as_str().unwrap().contains("delegation"));
    let (url, _) = authorize_url(&tax, "openid", "");
    assert!(app.get_with(&bela, &url).await.location.unwrap().starts_with(CALLBACK), "no choice any more");

    // Scheduled: accepted, but its first day is tomorrow: nothing to choose
    // today; on the day, the choice is there.
    let later = kapu::delegations::service::DelegationInput {
        valid_from: day(&app, 1),
        valid_until: day(&app, 5),
        ..input.clone()
    };
    let scheduled = app.kapu.grant_delegation(&anna, &later, &actor).await.unwrap();
    app.kapu.accept_delegation(&bela_account, &scheduled.id, &actor).await.unwrap();
    let today = app.kapu.today();
    let states: Vec<_> =
        app.kapu.delegations(&bela_account).await.unwrap().iter().map(|d| (d.id.clone(), d.state(today))).collect();
    assert!(states.contains(&(scheduled.id.clone(), kapu::delegations::model::State::Scheduled)), "{states:?}");
    let (url, _) = authorize_url(&tax, "openid", "");
    assert!(app.get_with(&bela, &url).await.location.unwrap().starts_with(CALLBACK), "not before its first day");
    app.clock.advance(86_400);
    let next_day = app.new_browser();
    let at = browse(&app, &next_day, &url, "bela", Some(&key)).await;
    assert!(at.starts_with("/authorize/represent?"), "on its first day: {at}");
    app.stop().await;
}

/// 30 guesses of an agent's date of birth from one principal, released
/// together and split across two instances: exactly 5 are looked up, 25 wait.
async fn wrong_agents_at_once_across_two_instances_are_checked_five_times(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (anna, jar) = app.browser_with_jar();
    citizen(&app, "anna", Some(("Kovács", "Anna", "1970-01-02"))).await;
    assert_eq!(app.login_with(&anna, "anna", PASSWORD).await.location.as_deref(), Some("/"));
    citizen(&app, "bela", Some(("Kiss", "Béla", "1985-06-30"))).await;
    let second = app.second_instance().await;
    let csrf = app.get_with(&anna, "/delegations/new").await.csrf();
    let (from, until) = (day(&app, 0), day(&app, 10));
    let requests: Vec<RawRequest> = (0..30)
        .map(|i| {
            let base = if i % 2 == 0 { &app.url } else { &second.url };
            let born = format!("1984-{:02}-{:02}", i % 12 + 1, i % 28 + 1);
            let fields = [
                ("csrf", csrf.as_str()),
                ("agent_username", "bela"),
                ("agent_birth_date", born.as_str()),
                ("matter", "adobevallas"),
                ("valid_from", from.as_str()),
                ("valid_until", until.as_str()),
            ];
            RawRequest::form(base, "/delegations/new", &jar, &fields)
        })
        .collect();
    assert_eq!(statuses(&burst(&requests).await), vec![(422, 5), (429, 25)]);
    assert!(app.kapu.delegations(&account(&app, "anna").await).await.unwrap().is_empty());
    second.stop().await;
    app.stop().await;
}
