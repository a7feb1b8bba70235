//! The portal end to end: registration, login, the menu pages, passwords,
//! sessions, limits, CSRF, deletion and bad input.

use kapu::store::repos::*;
use std::time::Instant;

use reqwest::StatusCode;

use crate::both_backends;
use crate::support::burst::{RawRequest, send_while_reading};
use crate::support::{Backend, TestApp};

const PASSWORD: &str = "tavaszi szel vizet araszt";
const NEW_PASSWORD: &str = "nyari zapor hamar elmulik";

both_backends!(
    citizen_journey,
    registration_errors_store_nothing,
    unknown_user_and_wrong_password_look_the_same,
    empty_login_fields_are_named_and_take_no_attempt,
    repeated_failures_slow_down_then_lock,
    forms_without_csrf_token_are_refused,
    idle_sessions_expire,
    reset_link_is_single_use_and_ends_sessions,
    account_deletion_keeps_only_the_event,
    bad_input_gets_a_clear_4xx_and_changes_nothing,
    language_switch_is_remembered,
    email_change_needs_the_link,
    password_change_ends_other_sessions,
);

async fn citizen_journey(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // The start page sends a visitor to the login page ("AZONOSÍTÁS").
    let start = app.get("/").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let login = app.get(start.location.as_deref().unwrap()).await;
    for label in [
        "Azonosítás",
        "Felhasználónév",
        "Jelszó",
        "Bejelentkezés",
        "Azonosítás megszakítása",
        "Még nem regisztrált?",
        "Elfelejtett jelszó",
    ] {
        login.assert_contains(label);
    }

    // Register; the account is not usable before the emailed link is opened.
    let reg = app
        .submit(
            "/register",
            "/register",
            &[
                ("username", "Szucs.Imre"),
                ("full_name", "Szücs Imre"),
                ("email", "imre@example.hu"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reg.status, StatusCode::OK);
    reg.assert_contains("Ellenőrizze a postafiókját");
    let early = app.login("szucs.imre", PASSWORD).await;
    assert_eq!(early.status, StatusCode::FORBIDDEN);
    early.assert_contains("még nem erősítette meg");

    let mails = app.mails(1).await;
    assert_eq!(mails[0].to, "imre@example.hu");
    assert_eq!(mails[0].subject, "Ügyfélkapu regisztráció megerősítése");
    let link = app.link_in(&mails[0]);
    // Opening the link only shows a button (mail scanners open links too).
    let confirm = app.get(&link).await;
    confirm.assert_contains("Regisztráció megerősítése");
    assert!(app.kapu.registration_link_is_valid(link.rsplit('/').next().unwrap()).await.unwrap());
    let done = app.post(&link, &[("csrf", &confirm.csrf())]).await;
    assert_eq!(done.location.as_deref(), Some("/login?msg=confirmed"));

    // Log in: a new session cookie, HttpOnly and SameSite.
    let logged_in = app.login("SZUCS.IMRE", PASSWORD).await;
    assert_eq!(logged_in.status, StatusCode::SEE_OTHER, "{}", logged_in.body);
    assert_eq!(logged_in.location.as_deref(), Some("/"));
    let cookie = logged_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("kapu_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");

    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_contains("BEJELENTKEZVE:");
    home.assert_contains("SZÜCS IMRE");
    home.assert_contains("Munkamenet lejár:");
    home.assert_contains("id=\"session-countdown\" data-seconds-left=\"600\"");
    for label in [
        "Kijelentkezés az Ügyfélkapuból",
        "Regisztrációs adatok",
        "Jelszóváltoztatás",
        "Ügyfélkapu+ igénylése",
        "Beállítások",
        "Biztonsági napló",
        "Ügyintézés",
        "Tárhely",
        "Ügyfélkapu törlése",
    ] {
        home.assert_contains(label);
    }
    // Each menu page answers, in Hungarian, with the user's data where it belongs.
    for (path, text) in [
        ("/account", "imre@example.hu"),
        ("/password/change", "Jelenlegi jelszó"),
        ("/plus", "NISZ Hitelesítő"),
        ("/settings", "E-mailt kérek"),
        ("/activity", "Bejelentkezés"),
        ("/account/delete", "véglegesen"),
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        page.assert_contains(text);
    }

    // Change the password; the new one works, the old one not.
    let changed = app
        .submit(
            "/password/change",
            "/password/change",
            &[("current_password", PASSWORD), ("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(changed.location.as_deref(), Some("/password/change?msg=changed"), "{}", changed.body);
    app.get("/password/change?msg=changed").await.assert_contains("A jelszó megváltozott");

    let home = app.get("/").await;
    let out = app.post("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(out.location.as_deref(), Some("/login?msg=logged_out"));
    assert_eq!(app.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.login("szucs.imre", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("szucs.imre", NEW_PASSWORD).await.status, StatusCode::SEE_OTHER);

    // The audit log has the story, for the operator and for the user.
    let events: Vec<String> =
        app.kapu.admin_audit("szucs.imre", 50).await.unwrap().into_iter().map(|e| e.event).collect();
    for e in ["registered", "registration_confirmed", "login_succeeded", "login_failed", "password_changed", "logout"] {
        assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
    }
    app.get("/activity").await.assert_contains("Jelszóváltoztatás");
    app.stop().await;
}

async fn registration_errors_store_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("anna", "Szilágyi Anita", "anna@example.hu", PASSWORD).await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("username", "anna"),
                ("full_name", "Másik Anna"),
                ("email", "a2@example.hu"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
            "Ez a felhasználónév már foglalt",
        ),
        (
            &[
                ("username", "bela"),
                ("full_name", "Kiss Béla"),
                ("email", "bela@example.hu"),
                ("password", "jelszo123"),
                ("password_again", "jelszo123"),
            ],
            "túl gyakori",
        ),
        (
            &[
                ("username", "bela"),
                ("full_name", "Kiss Béla"),
                ("email", "bela@example.hu"),
                ("password", "short"),
                ("password_again", "short"),
            ],
            "legalább 8 karakter",
        ),
        (
            &[
                ("username", "bela"),
                ("full_name", "Kiss Béla"),
                ("email", "bela@example.hu"),
                ("password", PASSWORD),
                ("password_again", NEW_PASSWORD),
            ],
            "A két jelszó nem egyezik",
        ),
        (
            &[
                ("username", "bela"),
                ("full_name", "Kiss Béla"),
                ("email", "not-an-email"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
            "érvényes e-mail-címet",
        ),
        (
            &[("username", "b"), ("full_name", ""), ("email", ""), ("password", ""), ("password_again", "")],
            "Adja meg a teljes nevét",
        ),
    ];
    let mails_before = app.mail_count().await;
    for (fields, message) in cases {
        let page = app.submit("/register", "/register", fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        page.assert_contains(message);
        page.assert_contains("role=\"alert\"");
        page.assert_contains("aria-invalid=\"true\"");
    }
    assert_eq!(app.kapu.admin_list_users(100, 0).await.unwrap().len(), 1, "nothing stored on error");
    assert_eq!(app.mail_count().await, mails_before, "no mail on error");
    app.stop().await;
}

/// An empty login form names each empty field (422), before any lookup:
/// fifteen empty passwords, past the lock at ten, take no attempt.
async fn empty_login_fields_are_named_and_take_no_attempt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("ures", "Üres Üllő", "ures@example.hu", PASSWORD).await;
    let both = app.login("", "").await;
    assert_eq!(both.status, StatusCode::UNPROCESSABLE_ENTITY);
    both.assert_contains("Adja meg a felhasználónevet.");
    both.assert_contains("Adja meg a jelszavát.");
    for _ in 0..15 {
        let page = app.login("ures", "").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        page.assert_contains("Adja meg a jelszavát.");
        assert!(!page.body.contains("Adja meg a felhasználónevet."), "the username was given");
    }
    assert_eq!(app.login("ures", PASSWORD).await.location.as_deref(), Some("/"), "no attempt was taken");
    app.stop().await;
}

/// Same words, same status, and (with the production Argon2 parameters) the
/// same time for a name that does not exist and a wrong password.
async fn unknown_user_and_wrong_password_look_the_same(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.password_hash.memory_kib = 19456;
        c.password_hash.iterations = 2;
        c.login_limits.account_slowdown_after = 1000;
        c.login_limits.account_lockout_after = 1000;
        c.login_limits.address_slowdown_after = 1000;
        c.login_limits.address_lockout_after = 1000;
    })
    .await;
    app.register_confirmed("valodi", "Valódi Vilma", "vilma@example.hu", PASSWORD).await;
    let wrong = app.login("valodi", "nem ez a jelszo").await;
    let unknown = app.login("nincs.ilyen", "nem ez a jelszo").await;
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    wrong.assert_contains("Hibás felhasználónév vagy jelszó.");
    unknown.assert_contains("Hibás felhasználónév vagy jelszó.");

    // Interleaved samples; medians compared. Skipping the hash for unknown
    // names would make them about 10x faster; noise stays far inside 2x.
    let form = app.get("/login").await;
    let csrf = form.csrf();
    let (mut known, mut missing) = (Vec::new(), Vec::new());
    for i in 0..8 {
        for (name, times) in [("valodi", &mut known), ("nincs.ilyen", &mut missing)] {
            let started = Instant::now();
            let page =
                app.post("/login", &[("csrf", &csrf), ("username", name), ("password", &format!("rossz {i}"))]).await;
            times.push(started.elapsed().as_secs_f64());
            assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (k, m) = (median(&mut known), median(&mut missing));
    let ratio = m / k;
    assert!((0.5..2.0).contains(&ratio), "unknown user {m:.4}s vs wrong password {k:.4}s (ratio {ratio:.2})");

    // Registration and reset do not tell either: reset answers the same.
    let reset_known = app.submit("/password/forgot", "/password/forgot", &[("username", "valodi")]).await;
    let reset_unknown = app.submit("/password/forgot", "/password/forgot", &[("username", "nincs.ilyen")]).await;
    assert_eq!(reset_known.status, reset_unknown.status);
    // The page keeps the typed name (for "send it again"); otherwise the same.
    assert_eq!(
        strip_csrf(&reset_known.body).replace("valodi", "NAME"),
        strip_csrf(&reset_unknown.body).replace("nincs.ilyen", "NAME")
    );
    app.stop().await;
}

fn strip_csrf(body: &str) -> String {
    body.lines().filter(|l| !l.contains("csrf")).collect::<Vec<_>>().join("\n")
}

async fn repeated_failures_slow_down_then_lock(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.login_limits.account_slowdown_after = 3;
        c.login_limits.account_lockout_after = 5;
        c.login_limits.account_lockout_seconds = 600;
        c.login_limits.address_slowdown_after = 50;
        c.login_limits.address_lockout_after = 100;
    })
    .await;
    app.register_confirmed("celpont", "Cél Pont", "cel@example.hu", PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(app.login("celpont", "rossz jelszo").await.status, StatusCode::UNAUTHORIZED);
    }
    // The third failure starts the slow-down: the next try must wait.
    let third = app.login("celpont", "rossz jelszo").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    third.assert_contains("Túl sok sikertelen próbálkozás");
    // Even the right password is not checked while blocked.
    assert_eq!(app.login("celpont", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(2);
    app.login("celpont", "rossz jelszo").await; // 4th
    app.clock.advance(3);
    let fifth = app.login("celpont", "rossz jelszo").await; // 5th: locked for 10 minutes
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(300);
    assert_eq!(app.login("celpont", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS, "still locked");
    // A name that does not exist is treated exactly alike.
    for _ in 0..3 {
        app.login("nincs.ilyen", "x").await;
    }
    assert_eq!(app.login("nincs.ilyen", "x").await.status, StatusCode::TOO_MANY_REQUESTS);
    // The office unlocks; the right password works again.
    assert!(app.kapu.admin_unlock("celpont", "called from the registered phone").await.unwrap().login);
    assert_eq!(app.login("celpont", PASSWORD).await.status, StatusCode::SEE_OTHER);
    let events: Vec<String> = app.kapu.admin_audit("celpont", 50).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"locked_out".to_owned()) && events.contains(&"unlocked".to_owned()), "{events:?}");

    // Per client address: many names from one address get blocked too.
    let app2 = TestApp::spawn_with(backend, |c| {
        c.login_limits.address_slowdown_after = 4;
        c.login_limits.address_lockout_after = 6;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(app2.login(&format!("valaki{i}"), "x").await.status);
    }
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert_eq!(app2.login("meg.egy.nev", "x").await.status, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
    app2.stop().await;
}

async fn forms_without_csrf_token_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let no_token = app
        .post(
            "/register",
            &[
                ("username", "csrf.test"),
                ("full_name", "X Y"),
                ("email", "x@example.hu"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    no_token.assert_contains("Az űrlap lejárt");
    // A token from another browser does not work either.
    let other = app.new_browser();
    let foreign = app.get_with(&other, "/register").await.csrf();
    let forged = app
        .post(
            "/register",
            &[
                ("csrf", &foreign),
                ("username", "csrf.test"),
                ("full_name", "X Y"),
                ("email", "x@example.hu"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(app.kapu.admin_list_users(10, 0).await.unwrap().is_empty());
    app.stop().await;
}

async fn idle_sessions_expire(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("alvo", "Alvó Ági", "alvo@example.hu", PASSWORD).await;
    app.login("alvo", PASSWORD).await;
    // Activity extends the session...
    app.clock.advance(500);
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    app.clock.advance(500);
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK, "activity extended the session");
    page.assert_contains("data-seconds-left=\"600\"");
    // ... and idleness ends it, with a message on the login page.
    app.clock.advance(601);
    let expired = app.get("/").await;
    assert_eq!(expired.location.as_deref(), Some("/login?msg=expired"));
    app.get("/login?msg=expired").await.assert_contains("A munkamenete lejárt");
    // The absolute lifetime ends even an active session.
    app.login("alvo", PASSWORD).await;
    for _ in 0..80 {
        app.clock.advance(590);
        if app.get("/settings").await.status != StatusCode::OK {
            break;
        }
    }
    assert_eq!(app.get("/").await.status, StatusCode::SEE_OTHER, "12 h absolute lifetime");
    app.stop().await;
}

async fn reset_link_is_single_use_and_ends_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("feledekeny", "Feledékeny Feri", "feri@example.hu", PASSWORD).await;
    let laptop = app.new_browser();
    assert_eq!(app.login_with(&laptop, "feledekeny", PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_with(&laptop, "/").await.status, StatusCode::OK);

    let before = app.mail_count().await;
    app.submit("/password/forgot", "/password/forgot", &[("username", "feledekeny")]).await;
    let mails = app.mails(before + 1).await;
    let link = app.link_in(mails.last().unwrap());
    assert!(link.contains("/password/reset/"));
    let form = app.get(&link).await;
    form.assert_contains("Új jelszó");
    let done =
        app.post(&link, &[("csrf", &form.csrf()), ("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)]).await;
    assert_eq!(done.location.as_deref(), Some("/login?msg=reset"), "{}", done.body);
    // The laptop's session ended with the reset.
    assert_eq!(app.get_with(&laptop, "/").await.status, StatusCode::SEE_OTHER);
    // The link works once.
    let again = app.get(&link).await;
    assert_eq!(again.status, StatusCode::GONE);
    again.assert_contains("már nem érvényes");
    let replay = app.post(&link, &[("csrf", &form.csrf()), ("password", PASSWORD), ("password_again", PASSWORD)]).await;
    assert_eq!(replay.status, StatusCode::GONE);
    assert_eq!(app.login("feledekeny", NEW_PASSWORD).await.status, StatusCode::SEE_OTHER);

    // Links expire.
    let before = app.mail_count().await;
    app.submit("/password/forgot", "/password/forgot", &[("username", "feledekeny")]).await;
    let link = app.link_in(app.mails(before + 1).await.last().unwrap());
    app.clock.advance(3601);
    assert_eq!(app.get(&link).await.status, StatusCode::GONE);
    app.stop().await;
}

async fn account_deletion_keeps_only_the_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("tavozo", "Távozó Tamás", "tamas@example.hu", PASSWORD).await;
    app.login("tavozo", PASSWORD).await;
    let account = app.kapu.admin_list_users(10, 0).await.unwrap().remove(0);

    let refused = app.submit("/account/delete", "/account/delete", &[("password", PASSWORD)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_contains("jelölje be a megerősítést");
    let wrong = app.submit("/account/delete", "/account/delete", &[("password", "rossz"), ("confirm", "yes")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("A megadott jelszó nem megfelelő");

    let deleted = app.submit("/account/delete", "/account/delete", &[("password", PASSWORD), ("confirm", "yes")]).await;
    assert_eq!(deleted.location.as_deref(), Some("/login?msg=deleted"));
    assert!(app.kapu.admin_list_users(10, 0).await.unwrap().is_empty());
    assert_eq!(app.get("/").await.status, StatusCode::SEE_OTHER, "sessions are gone");
    assert_eq!(app.login("tavozo", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    // The events stay, without the personal data.
    let events = app.kapu.store.audit_for_account(&account.id, 50).await.unwrap();
    assert!(events.iter().any(|e| e.event == "account_deleted"));
    assert!(events.iter().all(|e| e.username.is_none() && e.client_addr.is_none()), "{events:?}");
    app.stop().await;
}

async fn bad_input_gets_a_clear_4xx_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let csrf = app.get("/register").await.csrf();
    let huge = "x".repeat(1024 * 1024);
    let fields = ["username", "full_name", "email", "password", "password_again"];
    let hostile =
        ["", "'; DROP TABLE accounts; --", "<script>alert(1)</script>", "\" onmouseover=\"x", "Robert'); --", "\u{0}"];
    let mut accepted = 0;
    for (n, field) in fields.into_iter().enumerate() {
        for (m, value) in hostile.into_iter().enumerate() {
            // A distinct name per try, unless the name itself is under test.
            let name = format!("rendes.nev{n}{m}");
            let mut form: Vec<(&str, &str)> = vec![
                ("csrf", &csrf),
                ("username", &name),
                ("full_name", "Rendes Név"),
                ("email", "r@example.hu"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ];
            for f in form.iter_mut() {
                if f.0 == field {
                    f.1 = value;
                }
            }
            let users_before = app.kapu.admin_list_users(100, 0).await.unwrap().len();
            let page = app.post("/register", &form).await;
            assert!(!page.body.contains("<script>alert(1)</script>"), "HTML is escaped");
            if page.status == StatusCode::OK {
                // Metacharacters in a valid value (a name may hold an
                // apostrophe) are stored literally, never interpreted.
                accepted += 1;
                let stored = app.kapu.admin_list_users(100, 0).await.unwrap();
                assert_eq!(stored.len(), users_before + 1);
                assert!(
                    stored.iter().any(|a| a.full_name.as_str() == value.trim() || a.username.as_str() == name),
                    "{field}={value:?}"
                );
            } else {
                assert!(page.status.is_client_error(), "{field}={value:?} gave {}", page.status);
                page.assert_contains("role=\"alert\"");
                assert_eq!(
                    app.kapu.admin_list_users(100, 0).await.unwrap().len(),
                    users_before,
                    "{field}={value:?} stored something"
                );
            }
        }
    }
    assert!(accepted <= 4, "only full names take metacharacters; {accepted} accepted");
    // 1 MB in a field: a clear "too large" page, 413.
    // Sent from a raw socket that reads while it writes: kapu answers before
    // the body has arrived and closes, which a client that only reads after
    // writing everything reports as a broken pipe.
    // The size is refused before the form (and its CSRF token) is looked at.
    let big =
        send_while_reading(&RawRequest::post(&app.url, "/register", "", &[("csrf", &csrf), ("username", &huge)])).await;
    assert_eq!(big.status, 413, "{}", big.head);
    assert!(big.contains("túl nagy"), "{}", big.body);
    assert!(
        big.head.to_ascii_lowercase().contains("connection: close"),
        "the unread body ends the connection: {}",
        big.head
    );
    // Invalid UTF-8 in a form: a clear 400.
    let raw = app
        .client
        .post(format!("{}/register", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&username=%FF%FE&full_name=a&email=b&password=c&password_again=c"))
        .send()
        .await
        .unwrap();
    // Undecodable bytes read as U+FFFD, which no username allows: a field error.
    assert_eq!(raw.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(raw.text().await.unwrap().contains("A felhasználónév csak kisbetűket"));
    // A form that is not a form at all: a clear 400.
    let not_form = app
        .client
        .post(format!("{}/lang", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-csrf-token", &csrf)
        .body("lang=xx")
        .send()
        .await
        .unwrap();
    assert_eq!(not_form.status(), StatusCode::BAD_REQUEST);
    assert!(not_form.text().await.unwrap().contains("Az űrlap hiányos volt"));
    // Metacharacters in the login form are just a failed login.
    let login = app.submit("/login", "/login", &[("username", "' OR 1=1 --"), ("password", "<b>")]).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    login.assert_contains("&#39; OR 1=1 --");
    let users = app.kapu.admin_list_users(100, 0).await.unwrap().len();
    assert_eq!(users, accepted, "the tables are intact and hold only the accepted registrations");
    // Every accepted registration went to r@example.hu: at most three
    // registration mails an hour reach one address.
    let mailed = accepted.min(app.kapu.config.rate_limits.mails_per_recipient_per_hour as usize);
    assert_eq!(app.mails(mailed).await.len(), mailed);
    assert_eq!(app.mail_count().await, mailed);
    assert_eq!(app.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn language_switch_is_remembered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let login = app.get("/login").await;
    let switched = app.post("/lang", &[("csrf", &login.csrf()), ("lang", "en"), ("next", "/login")]).await;
    assert_eq!(switched.location.as_deref(), Some("/login"));
    let english = app.get("/login").await;
    english.assert_contains("<html lang=\"en\">");
    english.assert_contains("Identification");
    english.assert_contains("Forgotten password");
    // Not an open redirect.
    let away = app.post("/lang", &[("csrf", &login.csrf()), ("lang", "hu"), ("next", "//evil.example/")]).await;
    assert_eq!(away.location.as_deref(), Some("/"));

    app.register_confirmed("angol", "English Ed", "ed@example.hu", PASSWORD).await;
    app.login("angol", PASSWORD).await;
    let home = app.get("/").await;
    home.assert_contains("BEJELENTKEZVE:");
    app.post("/lang", &[("csrf", &home.csrf()), ("lang", "en"), ("next", "/")]).await;
    // The account remembers it: another browser logs in and sees English.
    let other = app.new_browser();
    app.login_with(&other, "angol", PASSWORD).await;
    let page = app.get_with(&other, "/").await;
    page.assert_contains("LOGGED IN:");
    page.assert_contains("Change password");
    app.stop().await;
}

async fn email_change_needs_the_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("koltozo", "Költöző Kati", "regi@example.hu", PASSWORD).await;
    app.login("koltozo", PASSWORD).await;
    let before = app.mail_count().await;
    let saved =
        app.submit("/account", "/account", &[("full_name", "Költöző Katalin"), ("email", "uj@example.hu")]).await;
    assert_eq!(saved.location.as_deref(), Some("/account?msg=email_pending"), "{}", saved.body);
    let pending = app.get("/account").await;
    pending.assert_contains("uj@example.hu");
    pending.assert_contains("Nem kaptam meg a levelet");
    let mails = app.mails(before + 2).await;
    // The name counts at once, the address only after the link.
    let account = app.kapu.admin_list_users(10, 0).await.unwrap().remove(0);
    assert_eq!(account.full_name.as_str(), "Költöző Katalin");
    assert_eq!(account.email.as_str(), "regi@example.hu");
    let to_new = mails.iter().find(|m| m.to == "uj@example.hu").expect("mail to the new address");
    assert!(mails.iter().any(|m| m.to == "regi@example.hu"), "the old address is told");
    let link = app.link_in(to_new);
    let page = app.get(&link).await;
    let done = app.post(&link, &[("csrf", &page.csrf())]).await;
    assert_eq!(done.location.as_deref(), Some("/account?msg=email_confirmed"));
    let account = app.kapu.admin_list_users(10, 0).await.unwrap().remove(0);
    assert_eq!(account.email.as_str(), "uj@example.hu");
    // Bad values are refused with field errors.
    let bad = app.submit("/account", "/account", &[("full_name", ""), ("email", "nem-email")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_contains("Adja meg a teljes nevét");
    app.stop().await;
}

async fn password_change_ends_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("ketgepes", "Kétgépes Kata", "kata@example.hu", PASSWORD).await;
    let phone = app.new_browser();
    app.login("ketgepes", PASSWORD).await;
    app.login_with(&phone, "ketgepes", PASSWORD).await;
    assert_eq!(app.get_with(&phone, "/").await.status, StatusCode::OK);
    let wrong = app
        .submit(
            "/password/change",
            "/password/change",
            &[("current_password", "rossz"), ("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    wrong.assert_contains("A megadott jelszó nem megfelelő");
    app.submit(
        "/password/change",
        "/password/change",
        &[("current_password", PASSWORD), ("password", NEW_PASSWORD), ("password_again", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(app.get("/").await.status, StatusCode::OK, "this session stays");
    assert_eq!(app.get_with(&phone, "/").await.status, StatusCode::SEE_OTHER, "the other ends");
    // Settings: login notifications by email.
    app.submit("/settings", "/settings", &[("language", "hu"), ("notify_logins", "yes")]).await;
    let before = app.mail_count().await;
    app.login_with(&phone, "ketgepes", NEW_PASSWORD).await;
    let mails = app.mails(before + 1).await;
    assert_eq!(mails.last().unwrap().subject, "Bejelentkezés az Ügyfélkapuba");
    app.stop().await;
}
