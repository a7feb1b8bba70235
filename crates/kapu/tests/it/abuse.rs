//! One abuser must not deny service to others, and nothing grows without
//! end: a registration flood leaves logins flowing, what strangers can make
//! kapu do is limited per address and per recipient, bodies that trickle are
//! dropped, the sweeper empties every table of what has expired, a blocked
//! name costs one audit row per wait, and every credential change ends the
//! account's other sessions.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kapu::oidc::repo::OidcRepo;
use kapu::store::{Db, query};
use reqwest::StatusCode;

use crate::both_backends;
use crate::support::burst::{RawRequest, burst, statuses};
use crate::support::{Backend, TestApp};

const PASSWORD: &str = "tavaszi szel vizet araszt";

both_backends!(
    a_registration_flood_leaves_logins_flowing,
    registrations_and_resets_are_limited_per_address_and_mail_per_recipient,
    a_body_that_trickles_is_dropped,
    the_sweeper_deletes_every_expired_row,
    a_blocked_name_costs_one_audit_row_per_wait,
    every_credential_change_ends_the_other_sessions,
    the_lost_phone_page_answers_every_name_alike,
    active_sessions_are_listed_and_ended,
    small_holes_are_closed,
);

/// A browser on its own loopback address.
fn browser_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// 100 clients on 127.0.0.2 register as fast as they can (each a real
/// Argon2id hash at the default cost: the rate limits are lifted here)
/// while a citizen on 127.0.0.3 logs in: at least 90 % of the logins are
/// answered within 3 s, because new passwords may hold only their share of
/// the hashing pool.
async fn a_registration_flood_leaves_logins_flowing(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.password_hash = kapu::passwords::PasswordHashConfig { workers: 2, ..Default::default() };
        c.rate_limits.registrations_per_address_per_hour = 1_000_000;
        c.rate_limits.registrations_per_hour = 1_000_000;
        c.rate_limits.mails_per_recipient_per_hour = 1_000_000;
    })
    .await;
    app.register_confirmed("polgar", "Polgár Péter", "polgar@example.hu", PASSWORD).await;
    let flooder = browser_from("127.0.0.2");
    let csrf = app.get_with(&flooder, "/register").await.csrf();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let registered = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for worker in 0..100 {
        let (flooder, csrf, stop, registered, url) =
            (flooder.clone(), csrf.clone(), Arc::clone(&stop), Arc::clone(&registered), app.url.clone());
        flood.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let name = format!("flood{worker}x{n}");
                let form = [
                    ("csrf", csrf.as_str()),
                    ("username", name.as_str()),
                    ("full_name", "Áradat"),
                    ("email", "flood@example.hu"),
                    ("password", "hosszu es egyedi jelszo"),
                    ("password_again", "hosszu es egyedi jelszo"),
                ];
                if let Ok(r) = flooder.post(format!("{url}/register")).form(&form).send().await
                    && r.status() == StatusCode::OK
                {
                    registered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let citizen = browser_from("127.0.0.3");
    let mut in_time = 0;
    for _ in 0..20 {
        let started = Instant::now();
        let page = app.login_with(&citizen, "polgar", PASSWORD).await;
        if page.location.as_deref() == Some("/") && started.elapsed() < Duration::from_secs(3) {
            in_time += 1;
        }
        let home = app.get_with(&citizen, "/").await;
        if home.status == StatusCode::OK {
            app.post_with(&citizen, "/logout", &[("csrf", &home.csrf())]).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    assert!(registered.load(Ordering::Relaxed) > 10, "the flood did hash: {}", registered.load(Ordering::Relaxed));
    assert!(in_time >= 18, "{in_time} of 20 logins within 3 s");
    app.stop().await;
}

/// Strangers' requests are counted in the database per address and in all;
/// so is the mail they can cause, per recipient.
async fn registrations_and_resets_are_limited_per_address_and_mail_per_recipient(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.rate_limits.registrations_per_address_per_hour = 4;
        c.rate_limits.password_resets_per_address_per_hour = 4;
        c.rate_limits.mails_per_recipient_per_hour = 2;
    })
    .await;
    // One registration from this address before the burst (and its mail).
    app.register_confirmed("visszaall", "Vissza Álló", "visszaall@example.hu", PASSWORD).await;
    let second = app.second_instance().await;
    let (browser, jar) = app.browser_with_jar();
    let csrf = app.get_with(&browser, "/register").await.csrf();
    let names: Vec<String> = (0..20).map(|i| format!("tomeg{i}")).collect();
    let requests: Vec<RawRequest> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let fields = [
                ("csrf", csrf.as_str()),
                ("username", name.as_str()),
                ("full_name", "Tömeg Tamás"),
                ("email", "ugyanaz@example.hu"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ];
            RawRequest::form([&app.url, &second.url][i % 2], "/register", &jar, &fields)
        })
        .collect();
    let responses = burst(&requests).await;
    assert_eq!(statuses(&responses), vec![(200, 3), (429, 17)], "4 registrations an hour from one address");
    assert!(responses.iter().find(|r| r.status == 429).unwrap().contains("Túl sok kérés"));
    assert_eq!(app.kapu.admin_list_users(100, 0).await.unwrap().len(), 4);
    // Three registrations to one address, but only two mails reach it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.mail_count().await, 1 + 2);

    // Resets: four an hour from an address; the answer is the same either way.
    let before = app.mail_count().await;
    for _ in 0..8 {
        let page = app.submit("/password/forgot", "/password/forgot", &[("username", "visszaall")]).await;
        assert_eq!(page.status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The registration mail counted against visszaall@example.hu too: 1 more.
    assert_eq!(app.mail_count().await, before + 1, "per recipient: 2 an hour in all");
    let requested = app.kapu.admin_audit("visszaall", 50).await.unwrap();
    assert_eq!(requested.iter().filter(|e| e.event == "password_reset_requested").count(), 4, "per address: 4");
    second.stop().await;
    app.stop().await;
}

/// A POST whose body does not arrive within `server.body_timeout_seconds` is
/// answered 408 and the connection closed.
async fn a_body_that_trickles_is_dropped(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(backend, |c| c.server.body_timeout_seconds = 1).await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    for path in ["/login", "/token"] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 100\r\n\r\nusername="
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(started.elapsed() < Duration::from_secs(3), "{path}: {:?}", started.elapsed());
    }
    app.stop().await;
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let (n,): (i64,) = app.kapu.store.fetch_one(query(&format!("SELECT COUNT(*) FROM {table}"))).await.unwrap();
    n
}

/// Rows of every kind, then time passes: the sweeper leaves none that has
/// expired, and counts what it deleted.
async fn the_sweeper_deletes_every_expired_row(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.retention.audit_days = 30).await;
    // A registration never confirmed, a reset link, a login with a wrong
    // password (a throttle row), a half-finished login and set-up, a
    // service's waiting request, a code and a token.
    app.submit(
        "/register",
        "/register",
        &[
            ("username", "soha"),
            ("full_name", "Soha Sándor"),
            ("email", "soha@example.hu"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ],
    )
    .await;
    app.register_confirmed("seprus", "Seprű Sára", "seprus@example.hu", PASSWORD).await;
    app.submit("/password/forgot", "/password/forgot", &[("username", "seprus")]).await;
    app.login_with(&app.new_browser(), "seprus", "rossz jelszo").await;
    app.login("seprus", PASSWORD).await;
    let intro = app.get("/plus").await;
    app.post("/plus/start", &[("csrf", &intro.csrf())]).await;
    let (client, _) = app
        .kapu
        .register_client(kapu::oidc::clients::NewClient {
            name: "Seprő".into(),
            redirect_uris: vec!["http://127.0.0.1:9/cb".into()],
            auth_method: kapu::oidc::model::AuthMethod::None,
            required_level: kapu::oidc::model::Level::Password,
            ..Default::default()
        })
        .await
        .unwrap();
    let verifier = "v".repeat(43);
    let challenge = data_encoding::BASE64URL_NOPAD.encode(&sha2_digest(&verifier));
    let auth = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:9/cb&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
        client.client_id
    );
    let back = app.get(&auth).await.location.unwrap();
    let code = back.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let token = app
        .client
        .post(format!("{}/token", app.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("client_id", client.client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    // A service that asked, and a citizen who never came back; a request
    // pushed and never used; a client assertion's id kept against replays.
    app.get_with(&app.new_browser(), &auth).await;
    let pushed = app
        .client
        .post(format!("{}/par", app.url))
        .form(&[
            ("client_id", client.client_id.as_str()),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let now = app.kapu.now();
    assert!(app.kapu.store.remember_assertion(&client.client_id, "jti-1", now + 60).await.unwrap());
    let (browser, _) = app.browser_with_jar();
    app.register_confirmed("felbe", "Félbe Ferenc", "felbe@example.hu", PASSWORD).await;
    app.login_with(&browser, "felbe", PASSWORD).await;
    for table in [
        "accounts",
        "email_links",
        "sessions",
        "login_throttle",
        "totp_enrolments",
        "oidc_auth_requests",
        "oidc_par_requests",
        "oidc_assertion_jtis",
        "oidc_codes",
        "oidc_access_tokens",
        "audit_events",
    ] {
        assert!(count(&app, table).await > 0, "{table} has rows to sweep");
    }
    // Nothing has expired yet: a sweep keeps everything (but the audit's
    // summaries, which only come when a wait is over).
    let kept = app.kapu.sweep().await.unwrap();
    assert!(kept.iter().all(|(_, n)| *n == 0), "{kept:?}");
    app.clock.advance(40 * 24 * 3600);
    let swept = app.kapu.sweep().await.unwrap();
    for table in [
        "email_links",
        "sessions",
        "login_throttle",
        "totp_enrolments",
        "oidc_auth_requests",
        "oidc_par_requests",
        "oidc_assertion_jtis",
        "oidc_codes",
        "oidc_access_tokens",
        "audit_events",
    ] {
        assert_eq!(count(&app, table).await, 0, "{table} after the sweep");
        assert!(swept.iter().any(|(t, n)| *t == table && *n > 0), "{table} counted: {swept:?}");
    }
    assert_eq!(count(&app, "accounts").await, 2, "the unconfirmed registration is gone, accounts stay");
    let metrics = app.get("/metrics").await.body;
    assert!(metrics.contains("kapu_swept_rows_total{table=\"oidc_codes\"}"), "{metrics}");
    app.stop().await;
}

fn sha2_digest(s: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).to_vec()
}

/// A flood of tries on a locked name writes no audit row per try: after the
/// wait, one row says how many were refused.
async fn a_blocked_name_costs_one_audit_row_per_wait(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("zart", "Zárt Zoltán", "zart@example.hu", PASSWORD).await;
    // Five wrong passwords open a wait (the defaults).
    for i in 0..5 {
        app.login_with(&app.new_browser(), "zart", &format!("rossz {i}")).await;
    }
    let refused = 50;
    for _ in 0..refused {
        assert_eq!(app.login("zart", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let blocked =
        |events: &[kapu::audit::model::AuditEntry]| events.iter().filter(|e| e.event == "login_blocked").count();
    assert_eq!(blocked(&app.kapu.admin_audit("zart", 500).await.unwrap()), 0, "no row per refused try");
    app.kapu.sweep().await.unwrap();
    assert_eq!(blocked(&app.kapu.admin_audit("zart", 500).await.unwrap()), 0, "still waiting: no summary yet");
    app.clock.advance(901);
    app.kapu.sweep().await.unwrap();
    let events = app.kapu.admin_audit("zart", 500).await.unwrap();
    assert_eq!(blocked(&events), 1);
    let summary = events.iter().find(|e| e.event == "login_blocked").unwrap();
    assert!(summary.detail.as_deref().unwrap().starts_with(&format!("{refused} tries refused")), "{summary:?}");
    app.stop().await;
}

/// Each credential change ends every other session and half-finished login
/// of the account; the browser that made it goes on under a new id.
async fn every_credential_change_ends_the_other_sessions(backend: Backend) {
    const SECOND: &str = "egy masik hosszu jelszo";
    const THIRD: &str = "a harmadik hosszu jelszo";
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("valto", "Váltó Vilma", "valto@example.hu", PASSWORD).await;
    let (me, jar) = app.browser_with_jar();
    let cookie = |jar: &Arc<reqwest::cookie::Jar>| {
        use reqwest::cookie::CookieStore;
        jar.cookies(&app.url.parse().unwrap()).unwrap().to_str().unwrap().to_owned()
    };
    let expired = |page: crate::support::Page| page.location.as_deref() == Some("/login?msg=expired");
    // A browser with a whole session, and one half way (password given, no
    // code yet), for the change to end.
    let others = |password: &'static str, key: Option<String>| {
        let app = &app;
        async move {
            let other = app.new_browser();
            let half = app.new_browser();
            match &key {
                None => {
                    app.login_with(&other, "valto", password).await;
                }
                Some(key) => {
                    let done = app.login_with_code(&other, "valto", password, &app.code_for(key, 0)).await;
                    assert_eq!(done.location.as_deref(), Some("/"));
                    app.clock.advance(30);
                    let first = app.login_with(&half, "valto", password).await;
                    assert_eq!(first.location.as_deref(), Some("/login/code"));
                }
            }
            assert_eq!(app.get_with(&other, "/").await.status, StatusCode::OK);
            (other, half)
        }
    };
    let half_ended = |half: reqwest::Client| {
        let app = &app;
        async move {
            let code_form = app.get_with(&half, "/login/code").await;
            code_form.location.as_deref().is_some_and(|l| l.starts_with("/login?"))
        }
    };

    // Turning two-step login on.
    let (other, _) = others(PASSWORD, None).await;
    app.login_with(&me, "valto", PASSWORD).await;
    let before = cookie(&jar);
    let (key, _) = app.enable_two_step_with(&me, PASSWORD).await;
    assert_ne!(cookie(&jar), before, "on: a new session id");
    assert_eq!(app.get_with(&me, "/").await.status, StatusCode::OK, "this browser goes on");
    assert!(expired(app.get_with(&other, "/").await), "on: the other ended");

    // A password change.
    let (other, half) = others(PASSWORD, Some(key.clone())).await;
    let before = cookie(&jar);
    let changed = app
        .submit_with(
            &me,
            "/password/change",
            "/password/change",
            &[("current_password", PASSWORD), ("password", SECOND), ("password_again", SECOND)],
        )
        .await;
    assert_eq!(changed.location.as_deref(), Some("/password/change?msg=changed"), "{}", changed.body);
    assert_ne!(cookie(&jar), before, "change: a new session id");
    assert_eq!(app.get_with(&me, "/").await.status, StatusCode::OK);
    assert!(expired(app.get_with(&other, "/").await), "change: the other ended");
    assert!(half_ended(half).await, "change: the half-finished login ended");

    // Moving it to another device.
    app.clock.advance(30);
    let (other, half) = others(SECOND, Some(key.clone())).await;
    app.clock.advance(30);
    let before = cookie(&jar);
    let device = app.get_with(&me, "/plus/device").await;
    let moved = app
        .post_with(
            &me,
            "/plus/device",
            &[("csrf", &device.csrf()), ("password", SECOND), ("code", &app.code_for(&key, 0))],
        )
        .await;
    assert_eq!(moved.location.as_deref(), Some("/plus/setup"), "{}", moved.body);
    let manual = app.get_with(&me, "/plus/setup?manual=1").await;
    let new_key = manual.between("id=\"secret-key\">", "<");
    app.clock.advance(30);
    let confirmed = app
        .post_with(
            &me,
            "/plus/setup",
            &[("csrf", &manual.csrf()), ("password", SECOND), ("code", &app.code_for(&new_key, 0))],
        )
        .await;
    assert_eq!(confirmed.location.as_deref(), Some("/plus/revocation"));
    let page = app.get_with(&me, "/plus/revocation").await;
    let done = app.post_with(&me, "/plus/finish", &[("csrf", &page.csrf()), ("saved", "yes")]).await;
    assert_eq!(done.location.as_deref(), Some("/plus/done?device=1"));
    assert_ne!(cookie(&jar), before, "device: a new session id");
    assert_eq!(app.get_with(&me, "/").await.status, StatusCode::OK);
    assert!(expired(app.get_with(&other, "/").await), "device: the other ended");
    assert!(half_ended(half).await, "device: the half-finished login ended");
    let key = new_key;

    // A password reset (from a mailed link: every session ends, this one too).
    app.clock.advance(30);
    let (other, half) = others(SECOND, Some(key.clone())).await;
    app.submit_with(&me, "/password/forgot", "/password/forgot", &[("username", "valto")]).await;
    let link = app.link_in(&app.mail_with_subject("jelszó visszaállítása").await);
    let form = app.get_with(&me, &link).await;
    let reset =
        app.post_with(&me, &link, &[("csrf", &form.csrf()), ("password", THIRD), ("password_again", THIRD)]).await;
    assert_eq!(reset.location.as_deref(), Some("/login?msg=reset"), "{}", reset.body);
    assert_ne!(app.get_with(&me, "/").await.status, StatusCode::OK, "reset: this browser logs in again");
    assert!(expired(app.get_with(&other, "/").await), "reset: the other ended");
    assert!(half_ended(half).await, "reset: the half-finished login ended");

    // The office reset.
    app.clock.advance(30);
    let (other, half) = others(THIRD, Some(key.clone())).await;
    app.kapu.office_reset_two_step("valto", "ID card checked").await.unwrap();
    assert!(expired(app.get_with(&other, "/").await), "office: the other ended");
    assert!(half_ended(half).await, "office: the half-finished login ended");

    // Revoking it with the revocation code ("Elveszett a telefonom").
    let (key, revocation) = {
        app.login_with(&me, "valto", THIRD).await;
        app.enable_two_step_with(&me, THIRD).await
    };
    let (other, half) = others(THIRD, Some(key.clone())).await;
    let revoked = app
        .submit_with(
            &app.new_browser(),
            "/login/lost",
            "/login/lost",
            &[("username", "valto"), ("password", THIRD), ("revocation_code", &revocation)],
        )
        .await;
    assert!(revoked.status.is_success() || revoked.status.is_redirection(), "{}", revoked.body);
    for browser in [&me, &other] {
        assert!(expired(app.get_with(browser, "/").await), "revoked: every session ended");
    }
    assert!(half_ended(half).await, "revoked: the half-finished login ended");
    app.stop().await;
}

/// "Elveszett a telefonom" answers every name alike: one that does not
/// exist, one without Ügyfélkapu+, one with it and a wrong code — the same
/// status and text, and after five tries the same lock.
async fn the_lost_phone_page_answers_every_name_alike(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.login_limits.account_slowdown_after = 50;
        c.login_limits.account_lockout_after = 60;
    })
    .await;
    app.register_confirmed("egylepcsos", "Egy Lépcső", "egy@example.hu", PASSWORD).await;
    app.register_confirmed("ketlepcsos", "Két Lépcső", "ket@example.hu", PASSWORD).await;
    app.login("ketlepcsos", PASSWORD).await;
    app.enable_two_step(PASSWORD).await;
    let mut answers = Vec::new();
    for name in ["nincs.ilyen", "egylepcsos", "ketlepcsos"] {
        let mut pages = Vec::new();
        for _ in 0..6 {
            let page = app
                .submit(
                    "/login/lost",
                    "/login/lost",
                    &[("username", name), ("password", PASSWORD), ("revocation_code", "1111 2222 3333 4444")],
                )
                .await;
            let body =
                page.body.lines().filter(|l| !l.contains("csrf")).collect::<Vec<_>>().join("\n").replace(name, "NAME");
            pages.push((page.status, body));
        }
        answers.push(pages);
    }
    assert_eq!(answers[0], answers[1], "an unknown name and one without Ügyfélkapu+");
    assert_eq!(answers[1], answers[2], "one without and one with a wrong code");
    assert_eq!(answers[0][4].0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answers[0][5].0, StatusCode::TOO_MANY_REQUESTS, "locked after five, for every name");
    app.stop().await;
}

/// "Aktív munkamenetek" lists where the account is logged in and ends them.
async fn active_sessions_are_listed_and_ended(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register_confirmed("sokhely", "Sok Hely", "sokhely@example.hu", PASSWORD).await;
    let phone = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36")
        .build()
        .unwrap();
    let laptop = app.new_browser();
    app.login_with(&phone, "sokhely", PASSWORD).await;
    app.login_with(&laptop, "sokhely", PASSWORD).await;
    app.login("sokhely", PASSWORD).await;
    let page = app.get("/activity/sessions").await;
    page.assert_contains("Chrome, Android");
    page.assert_contains("ez a böngésző");
    assert_eq!(page.body.matches("name=\"session\"").count(), 3, "two to end one by one, and all the others");
    let handle = page.between("name=\"session\" value=\"", "\"");
    let ended = app.post("/activity/sessions/end", &[("csrf", &page.csrf()), ("session", &handle)]).await;
    assert_eq!(ended.location.as_deref(), Some("/activity/sessions?ended=1"));
    let alive = [app.get_with(&phone, "/").await.status, app.get_with(&laptop, "/").await.status];
    assert_eq!(alive.iter().filter(|s| **s == StatusCode::OK).count(), 1, "one of the two ended");
    let page = app.get("/activity/sessions").await;
    let all = app.post("/activity/sessions/end", &[("csrf", &page.csrf()), ("session", "others")]).await;
    assert_eq!(all.location.as_deref(), Some("/activity/sessions?ended=1"));
    for browser in [&phone, &laptop] {
        assert_ne!(app.get_with(browser, "/").await.status, StatusCode::OK);
    }
    assert_eq!(app.get("/").await.status, StatusCode::OK, "this browser stays");
    // Another account's session cannot be ended from here.
    let bad = app.post("/activity/sessions/end", &[("csrf", &page.csrf()), ("session", "nem-hash")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(app.kapu.admin_audit("sokhely", 50).await.unwrap().iter().any(|e| e.event == "sessions_ended"));
    app.stop().await;
}

async fn small_holes_are_closed(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    // A data directory that kapu creates itself (the test's own is made apart).
    let app = TestApp::spawn_with(backend, |c| c.data_dir = c.data_dir.join("kapu")).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&app.kapu.config.data_dir), 0o700);
    if backend == Backend::Sqlite {
        assert_eq!(mode(&app.kapu.config.data_dir.join("kapu.db")), 0o600);
    }
    // The language switch: only kapu's own paths, control characters are a 400.
    let login = app.get("/login").await;
    let away = app.post("/lang", &[("csrf", &login.csrf()), ("lang", "en"), ("next", "https://evil.example/")]).await;
    assert_eq!(away.location.as_deref(), Some("/"));
    let crlf = app.post("/lang", &[("csrf", &login.csrf()), ("lang", "en"), ("next", "/\r\nSet-Cookie: x=1")]).await;
    assert_eq!(crlf.status, StatusCode::BAD_REQUEST);
    // /metrics: loopback only by default; with a token, only with it.
    assert_eq!(app.get("/metrics").await.status, StatusCode::OK);
    let guarded = TestApp::spawn_with(backend, |c| c.server.metrics_token = Some("0123456789abcdef0123".into())).await;
    assert_eq!(guarded.get("/metrics").await.status, StatusCode::NOT_FOUND);
    let with_token = guarded
        .client
        .get(format!("{}/metrics", guarded.url))
        .header("authorization", "Bearer 0123456789abcdef0123")
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::OK);
    guarded.stop().await;
    // Behind https (the harness sets an http public URL, so say it), cookies
    // are Secure and __Host- (no subdomain can set them).
    let https = TestApp::spawn_with(backend, |c| c.server.secure_cookies = Some(true)).await;
    let login = https.client.get(format!("{}/login", https.url)).send().await.unwrap();
    let cookies: Vec<String> =
        login.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-kapu_csrf=")
            && c.contains("Secure")
            && c.contains("Path=/")
            && !c.contains("Domain")),
        "{cookies:?}"
    );
    https.stop().await;
    app.stop().await;
}

/// docs/operations.md's monthly partitioning of the audit log, run as
/// written; then kapu on top of it: events are written, read and swept as
/// before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_audit_partitioning_works() {
    use sqlx::Connection;
    if !crate::support::postgres_available().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    app.register_confirmed("reszes", "Részes Réka", "reszes@example.hu", PASSWORD).await;
    let before = app.kapu.admin_audit("reszes", 50).await.unwrap();
    assert!(!before.is_empty());

    let doc = include_str!("../../../../docs/operations.md");
    let section = &doc[doc.find("#### The audit log on PostgreSQL").unwrap()..];
    let start = section.find("```sql").unwrap() + "```sql".len();
    let sql = &section[start..start + section[start..].find("```").unwrap()];
    let mut db = sqlx::PgConnection::connect(&app.kapu.config.database_url()).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut db).await.unwrap();
    let (kind,): (String,) = sqlx::query_as("SELECT relkind::text FROM pg_class WHERE relname = 'audit_events'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(kind, "p", "a partitioned table");

    app.login("reszes", "rossz jelszo").await;
    app.login("reszes", PASSWORD).await;
    let after = app.kapu.admin_audit("reszes", 50).await.unwrap();
    assert_eq!(after.len(), before.len() + 2, "{after:?}");
    assert!(after[0].id > before[0].id, "ids go on from the old table's");
    app.clock.advance(731 * 24 * 3600);
    let swept = app.kapu.sweep().await.unwrap();
    assert!(swept.iter().any(|(t, n)| *t == "audit_events" && *n as usize >= after.len()), "{swept:?}");
    db.close().await.unwrap();
    app.stop().await;
}
