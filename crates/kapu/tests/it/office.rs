//! The office console (issue 15): only staff, only with a code-based login;
//! a clerk finds a citizen, sees no secret, verifies the identity, resets
//! two-step login and lifts locks, each audited with the clerk and the
//! reason; only a supervisor sees the office log.

use kapu::accounts::model::{Account, Username};
use kapu::identity::service::VerificationInput;
use kapu::office::model::Role;
use kapu::store::repos::*;
use reqwest::StatusCode;

use crate::both_backends;
use crate::support::{Backend, TestApp};

const PASSWORD: &str = "tavaszi szel vizet araszt";

both_backends!(the_console_is_for_staff_with_a_code_and_audits_every_action);

async fn account(app: &TestApp, username: &str) -> Account {
    app.kapu.store.account_by_username(&Username::parse(username).unwrap()).await.unwrap().unwrap()
}

/// Registered, Ügyfélkapu+ on, logged out of `browser`; the key and revocation code.
async fn with_two_step(app: &TestApp, username: &str, name: &str) -> (String, String) {
    app.register_confirmed(username, name, &format!("{username}@example.hu"), PASSWORD).await;
    let browser = app.new_browser();
    app.login_with(&browser, username, PASSWORD).await;
    app.enable_two_step_with(&browser, PASSWORD).await
}

/// A browser logged in with the code.
async fn logged_in_with_code(app: &TestApp, username: &str, key: &str) -> reqwest::Client {
    app.clock.advance(30);
    let browser = app.new_browser();
    let done = app.login_with_code(&browser, username, PASSWORD, &app.code_for(key, 0)).await;
    assert_eq!(done.location.as_deref(), Some("/"), "{}", done.body);
    browser
}

async fn detail_of(app: &TestApp, username: &str, event: &str) -> String {
    let events = app.kapu.admin_audit(username, 100).await.unwrap();
    events.into_iter().find(|e| e.event == event).and_then(|e| e.detail).unwrap_or_default()
}

async fn the_console_is_for_staff_with_a_code_and_audits_every_action(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (clerk_key, _) = with_two_step(&app, "ugyintezo", "Tóth Judit").await;
    let (boss_key, _) = with_two_step(&app, "felugyelo", "Fehér Márta").await;
    let (citizen_key, revocation) = with_two_step(&app, "polgar", "Polgár Péter").await;
    app.register_confirmed("ujonc", "Új Ödön", "ujonc@example.hu", PASSWORD).await;
    for (user, role) in [("ugyintezo", Role::Clerk), ("felugyelo", Role::Supervisor), ("ujonc", Role::Clerk)] {
        app.kapu.admin_office_add(user, role, "Szegedi kormányablak").await.unwrap();
    }

    // A citizen cannot reach the console; staff without a code cannot either.
    let citizen = logged_in_with_code(&app, "polgar", &citizen_key).await;
    let refused = app.get_with(&citizen, "/office").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.assert_contains("csak kormányablaki ügyintézők");
    let refused = app.get_with(&citizen, "/office/citizen/ugyintezo").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "no card for a citizen either");
    let novice = app.new_browser();
    app.login_with(&novice, "ujonc", PASSWORD).await;
    let refused = app.get_with(&novice, "/office").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.assert_contains("kétlépcsős azonosítással");
    let anonymous = app.new_browser();
    assert!(app.get_with(&anonymous, "/office").await.location.unwrap().starts_with("/login"));

    // The clerk finds the citizen; the card shows no secret.
    let clerk = logged_in_with_code(&app, "ugyintezo", &clerk_key).await;
    let home = app.get_with(&clerk, "/office").await;
    home.assert_contains("Tóth Judit, ügyintéző, Szegedi kormányablak");
    assert!(!home.contains("href=\"/office/log\""), "the log is for supervisors");
    app.get_with(&clerk, "/office?username=POLGAR").await.assert_contains("href=\"/office/citizen/polgar\"");
    app.get_with(&clerk, "/office?username=senki").await.assert_contains("Nincs ilyen ügyfél.");
    let card = app.get_with(&clerk, "/office/citizen/polgar").await;
    assert_eq!(card.status, StatusCode::OK);
    card.assert_contains("polgar@example.hu");
    card.assert_contains("Kétlépcsős azonosítás visszaállítása");
    let hash = account(&app, "polgar").await.password_hash;
    for secret in [citizen_key.as_str(), revocation.as_str(), hash.as_str(), "$argon2"] {
        assert!(!card.contains(secret), "the card shows a secret: {secret}");
    }

    // Verifying at the counter: every problem at once, then recorded with
    // the clerk and office of the console, not typed.
    let form = app.get_with(&clerk, "/office/citizen/polgar/verify").await;
    let mut fields = vec![
        ("csrf", form.csrf()),
        ("family_name", "Polgár".into()),
        ("given_name", "Péter".into()),
        ("birth_family_name", "Polgár".into()),
        ("birth_given_name", "Péter".into()),
        ("mother_birth_name", String::new()),
        ("place_of_birth", "Szeged".into()),
        ("birth_date", "1975-13-01".into()),
        ("document_kind", "id_card".into()),
        ("document_number", "987654CD".into()),
        ("reason", "személyesen, személyi igazolvánnyal".into()),
    ];
    let as_pairs = |f: &[(&'static str, String)]| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let post = |fields: Vec<(&'static str, String)>| {
        let clerk = clerk.clone();
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_with(&clerk, "/office/citizen/polgar/verify", &pairs).await
        }
    };
    let wrong = post(as_pairs(&fields)).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("Töltse ki ezt a mezőt.");
    wrong.assert_contains("év-hónap-nap alakban");
    wrong.assert_contains("href=\"#mother_birth_name\"");
    assert!(!account(&app, "polgar").await.verified);
    fields[5].1 = "Kiss Ilona".into();
    fields[7].1 = "1975-12-01".into();
    let verified = post(as_pairs(&fields)).await;
    assert_eq!(verified.location.as_deref(), Some("/office/citizen/polgar?msg=verified"), "{}", verified.body);
    assert!(account(&app, "polgar").await.verified);
    let detail = detail_of(&app, "polgar", "identity_verified").await;
    assert!(
        detail.contains("clerk=ugyintezo (Tóth Judit)") && detail.contains("office=Szegedi kormányablak"),
        "{detail}"
    );
    let card = app.get_with(&clerk, "/office/citizen/polgar?msg=verified").await;
    card.assert_contains("Kiss Ilona");
    assert!(!card.contains("987654CD"), "the document number is never shown again");
    // Found by verified data now.
    let found = app.get_with(&clerk, "/office?family_name=Polgár&birth_date=1975-12-01").await;
    found.assert_contains("href=\"/office/citizen/polgar\"");

    // A delegation made in person: the verified citizen lets a verified
    // agent act for them; the agent accepts it in the portal.
    let v = VerificationInput {
        family_name: "Új".into(),
        given_name: "Ödön".into(),
        birth_family_name: "Új".into(),
        birth_given_name: "Ödön".into(),
        mother_birth_name: "Kovács Ilona".into(),
        place_of_birth: "Pécs".into(),
        birth_date: "1990-02-03".into(),
        document_kind: "passport".into(),
        document_number: "BA7654321".into(),
        clerk: "Tóth Judit".into(),
        office: "Pécs".into(),
        reason: "személyesen".into(),
    };
    app.kapu.office_verify_account("ujonc", &app.kapu.parse_verification(&v).unwrap()).await.unwrap();
    let card = app.get_with(&clerk, "/office/citizen/polgar").await;
    card.assert_contains("href=\"/office/citizen/polgar/delegation\"");
    let form = app.get_with(&clerk, "/office/citizen/polgar/delegation").await;
    let today = app.kapu.today();
    let (from, until) = (today.to_string(), today.checked_add(jiff::Span::new().days(30)).unwrap().to_string());
    let record = |born: &'static str, reason: &'static str| {
        let (clerk, csrf, from, until, app) = (clerk.clone(), form.csrf(), from.clone(), until.clone(), &app);
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("agent_username", "ujonc"),
                ("agent_birth_date", born),
                ("matter", "adobevallas"),
                ("valid_from", from.as_str()),
                ("valid_until", until.as_str()),
                ("reason", reason),
            ];
            app.post_with(&clerk, "/office/citizen/polgar/delegation", &fields).await
        }
    };
    let no_reason = record("1990-02-03", "").await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = record("1990-02-04", "személyesen").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("Nincs igazolt személyazonosságú ügyfél");
    let recorded = record("1990-02-03", "személyesen kérte").await;
    assert_eq!(recorded.location.as_deref(), Some("/office/citizen/polgar?msg=delegation"), "{}", recorded.body);
    let given = app.kapu.delegations(&account(&app, "polgar").await).await.unwrap();
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].recorded_by.as_deref(), Some("ugyintezo (Tóth Judit), Szegedi kormányablak"));
    assert!(given[0].accepted_at.is_none(), "the agent accepts it in the portal");

    // Reset and unlock need the clerk's reason, and say who did it.
    let card = app.get_with(&clerk, "/office/citizen/polgar").await;
    let no_reason =
        app.post_with(&clerk, "/office/citizen/polgar/reset", &[("csrf", &card.csrf()), ("reason", " ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    no_reason.assert_contains("Adja meg az indoklást.");
    assert!(app.kapu.store.credential(&account(&app, "polgar").await.id).await.unwrap().is_some(), "nothing changed");
    let reset = app
        .post_with(
            &clerk,
            "/office/citizen/polgar/reset",
            &[("csrf", &card.csrf()), ("reason", "elvesztette a telefonját")],
        )
        .await;
    assert_eq!(reset.location.as_deref(), Some("/office/citizen/polgar?msg=reset"));
    assert!(app.kapu.store.credential(&account(&app, "polgar").await.id).await.unwrap().is_none());
    let detail = detail_of(&app, "polgar", "two_step_reset").await;
    assert!(detail.contains("clerk=ugyintezo") && detail.contains("reason=elvesztette a telefonját"), "{detail}");
    assert!(account(&app, "polgar").await.verified, "the reset leaves the verified identity alone");
    let unlocked = app
        .post_with(&clerk, "/office/citizen/polgar/unlock", &[("csrf", &card.csrf()), ("reason", "telefonon kérte")])
        .await;
    assert_eq!(unlocked.location.as_deref(), Some("/office/citizen/polgar?msg=unlocked"));
    assert!(detail_of(&app, "polgar", "unlocked").await.contains("clerk=ugyintezo"));

    // An unknown name is not found; a clerk does not act on their own account.
    let nobody = app.post_with(&clerk, "/office/citizen/senki/reset", &[("csrf", &card.csrf()), ("reason", "x")]).await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    let own = app.get_with(&clerk, "/office/citizen/ugyintezo/verify").await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    own.assert_contains("Saját fiókjában nem intézkedhet");

    // Only a supervisor sees the office log: every clerk's actions.
    let refused = app.get_with(&clerk, "/office/log").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let boss = logged_in_with_code(&app, "felugyelo", &boss_key).await;
    app.get_with(&boss, "/office").await.assert_contains("href=\"/office/log\"");
    let log = app.get_with(&boss, "/office/log").await;
    assert_eq!(log.status, StatusCode::OK);
    assert_eq!(log.body.matches("clerk=ugyintezo").count(), 4, "verify, delegation, reset, unlock:\n{}", log.body);
    // Removed from the staff: the door closes.
    app.kapu.admin_office_remove("ugyintezo").await.unwrap();
    assert_eq!(app.get_with(&clerk, "/office").await.status, StatusCode::FORBIDDEN);
    app.stop().await;
}
