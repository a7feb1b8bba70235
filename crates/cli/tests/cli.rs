//! The `kapu` binary as operators use it: serve starts, prints its URL and
//! stops cleanly on a signal; admin commands work on the same data and speak
//! JSON for scripts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

fn kapu(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kapu"));
    c.arg("--data-dir").arg(data_dir).env_remove("KAPU_DATABASE_URL").env_remove("KAPU_CONFIG").env("KAPU_LOG", "warn");
    c
}

fn json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn admin_commands_work_on_the_same_data_and_speak_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut add = kapu(dir.path())
        .args([
            "admin",
            "user",
            "add",
            "--username",
            "Hivatal.Teszt",
            "--name",
            "Hivatal Teszt",
            "--email",
            "h@example.hu",
            "--password-stdin",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin.take().unwrap().write_all(b"egy hosszu jelmondat az irodaban\n").unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["account"]["username"], "hivatal.teszt");
    assert!(v["account"].get("password_hash").is_none(), "the hash is never printed");

    let list = kapu(dir.path()).args(["admin", "user", "list", "--json"]).output().unwrap();
    assert_eq!(json(&list)["accounts"][0]["status"], "active");
    let text = kapu(dir.path()).args(["admin", "user", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("hivatal.teszt"));

    let audit = kapu(dir.path()).args(["admin", "audit", "--user", "hivatal.teszt", "--json"]).output().unwrap();
    assert_eq!(json(&audit)["events"][0]["event"], "account_created_by_office");

    let unlock =
        kapu(dir.path()).args(["admin", "user", "unlock", "--user", "hivatal.teszt", "--json"]).output().unwrap();
    assert!(!unlock.status.success(), "a reason is required");
    let unlock = kapu(dir.path())
        .args(["admin", "user", "unlock", "--user", "hivatal.teszt", "--reason", "ID card checked", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&unlock)["was_locked"], false);
    // No set-up waits for the office (the whole path: tests/it/two_step.rs).
    let confirm = kapu(dir.path())
        .args(["admin", "confirm-2fa", "--user", "hivatal.teszt", "--reason", "ID card checked", "--json"])
        .output()
        .unwrap();
    assert!(!confirm.status.success());
    assert_eq!(json(&confirm)["error"], "no set-up in progress");

    // Errors: clear, non-zero, also as JSON.
    let missing = kapu(dir.path()).args(["admin", "audit", "--user", "nincs.ilyen", "--json"]).output().unwrap();
    assert!(!missing.status.success());
    let v = json(&missing);
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("nincs.ilyen"));
    let mut dup = kapu(dir.path())
        .args([
            "admin",
            "user",
            "add",
            "--username",
            "hivatal.teszt",
            "--name",
            "X",
            "--email",
            "x@example.hu",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    dup.stdin.take().unwrap().write_all(b"egy masik hosszu jelmondat\n").unwrap();
    let out = dup.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));
}

#[test]
fn bad_configuration_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kapu.toml");
    std::fs::write(&file, "[session]\nidle_timeout_seconds = 5\n").unwrap();
    let out = kapu(dir.path()).args(["migrate", "--config"]).arg(&file).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("session.idle_timeout_seconds"));
    std::fs::write(&file, "[sesion]\n").unwrap();
    let out = kapu(dir.path()).args(["migrate", "--config"]).arg(&file).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("sesion"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = kapu(dir.path()).args(["serve", "--public-url", "not a url"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("public_url"));
}

#[test]
fn serve_prints_its_url_answers_and_stops_cleanly_on_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = kapu(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("kapu listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.to_ascii_lowercase().contains("\ndate: "), "a Date header for clock checks");
    assert!(dir.path().join("kapu.db").exists() && dir.path().join("kapu.key").exists());

    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "clean shutdown on Ctrl-C: {exit:?}");
    assert_eq!(lines.next().map(|l| l.unwrap()).as_deref(), Some("kapu stopped"));
}

/// The log on standard error: no colour codes when it is not a terminal,
/// one JSON object per line with `--log-format json` (or `log.format` in the
/// file), and admin commands say nothing there unless something is wrong.
#[test]
fn logs_suit_collectors_and_admin_commands_are_quiet() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // Private, as an operator keeps it (else every command warns, rightly).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let serve_log = |extra: &[&str], config: Option<&std::path::Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kapu"));
        c.arg("--data-dir").arg(dir.path()).env_remove("KAPU_DATABASE_URL").env_remove("KAPU_CONFIG");
        c.env_remove("KAPU_LOG").env_remove("KAPU_LOG_FORMAT").env_remove("NO_COLOR");
        if let Some(file) = config {
            c.arg("--config").arg(file);
        }
        let mut child = c
            .args(extra)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Stopped once it has said it started (before that, a TERM would
        // find no handler yet).
        let mut log = String::new();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            log.push_str(&line);
            log.push('\n');
            if line.contains(": started") || line.contains(r#""message":"started""#) {
                break;
            }
        }
        assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
        for line in lines {
            log.push_str(&line.unwrap());
            log.push('\n');
        }
        let exit = child.wait().unwrap();
        assert!(exit.success(), "{exit:?}\n{log}");
        log
    };

    let text = serve_log(&[], None);
    assert!(text.contains("started"), "{text}");
    assert!(!text.contains('\x1b'), "no colour codes in a pipe: {text:?}");

    let json_lines = serve_log(&["--log-format", "json"], None);
    let config = dir.path().join("kapu.toml");
    std::fs::write(&config, "[log]\nformat = \"json\"\n").unwrap();
    let from_file = serve_log(&[], Some(&config));
    for log in [&json_lines, &from_file] {
        let events: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
            .collect();
        let started = events.iter().find(|e| e["fields"]["message"] == "started").expect("the start event");
        assert_eq!(started["level"], "INFO");
        assert_eq!(started["fields"]["database"], "sqlite");
    }

    let bad = kapu(dir.path()).env_remove("KAPU_LOG").args(["--log-format", "xml", "migrate"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("use text or json"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let list = kapu(dir.path()).env_remove("KAPU_LOG").args(["admin", "user", "list"]).output().unwrap();
    assert!(list.status.success());
    assert_eq!(String::from_utf8_lossy(&list.stderr), "", "an admin command that went well logs nothing");
}

/// Services are registered from the command line; the secret is shown once.
#[test]
fn services_are_registered_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let add = kapu(dir.path())
        .args([
            "admin",
            "client",
            "add",
            "--name",
            "Bevallás",
            "--redirect-uri",
            "https://bevallas.example.hu/callback",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let v = json(&add);
    let id = v["client_id"].as_str().unwrap().to_owned();
    assert!(v["client_secret"].as_str().unwrap().len() >= 43);
    assert!(v["client"].get("secret_hash").is_none(), "the hash is never printed");
    let list = kapu(dir.path()).args(["admin", "client", "list", "--json"]).output().unwrap();
    let listed = json(&list);
    assert_eq!(listed["clients"][0]["client_id"], id.as_str());
    assert!(!String::from_utf8_lossy(&list.stdout).contains(v["client_secret"].as_str().unwrap()), "shown once");
    let bad = kapu(dir.path())
        .args(["admin", "client", "add", "--name", "Rossz", "--redirect-uri", "http://evil.example/cb", "--json"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(json(&bad)["error"].as_str().unwrap().contains("https"));
    // Update: back-channel logout and a switch to client_secret_post, which
    // keeps the secret; --new-secret replaces it.
    let update = kapu(dir.path())
        .args([
            "admin",
            "client",
            "update",
            "--client-id",
            &id,
            "--backchannel-logout-uri",
            "https://bevallas.example.hu/logout",
            "--auth-method",
            "client_secret_post",
            "--json",
        ])
        .output()
        .unwrap();
    let updated = json(&update);
    assert_eq!(updated["client"]["auth_method"], "client_secret_post", "{updated}");
    assert_eq!(updated["client"]["backchannel_logout_uri"], "https://bevallas.example.hu/logout");
    assert!(updated["client_secret"].is_null(), "the secret is kept");
    let renewed = kapu(dir.path())
        .args(["admin", "client", "update", "--client-id", &id, "--new-secret", "--json"])
        .output()
        .unwrap();
    assert!(json(&renewed)["client_secret"].as_str().unwrap().len() >= 43);
    let emptied = kapu(dir.path())
        .args(["admin", "client", "update", "--client-id", &id, "--no-post-logout-uris", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&emptied)["client"]["post_logout_redirect_uris"], serde_json::json!([]), "emptied");
    // Identity data with the citizen's consent: the whole set, a chosen
    // few, a name that is no claim, none again.
    let allow = |extra: &[&str]| {
        let mut args = vec!["admin", "client", "update", "--client-id", &id, "--json"];
        args.extend_from_slice(extra);
        json(&kapu(dir.path()).args(&args).output().unwrap())
    };
    assert_eq!(allow(&["--allow-claims", "identity"])["client"]["allowed_claims"].as_array().unwrap().len(), 7);
    let few = allow(&["--allow-claims", "family_name,birthdate"]);
    assert_eq!(few["client"]["allowed_claims"], serde_json::json!(["family_name", "birthdate"]), "{few}");
    let wrong = allow(&["--allow-claims", "tax_number"]);
    assert!(wrong["error"].as_str().unwrap().contains("tax_number"), "{wrong}");
    assert_eq!(allow(&["--no-allowed-claims"])["client"]["allowed_claims"], serde_json::json!([]));
    let fapi = kapu(dir.path())
        .args(["admin", "client", "update", "--client-id", &id, "--fapi2", "true", "--json"])
        .output()
        .unwrap();
    assert!(!fapi.status.success());
    assert!(json(&fapi)["error"].as_str().unwrap().contains("private_key_jwt"), "FAPI 2.0 needs private_key_jwt");
    let rotate = kapu(dir.path()).args(["admin", "keys", "rotate", "--json"]).output().unwrap();
    let rotated = json(&rotate);
    assert_eq!(rotated["new_keys"].as_array().unwrap().len(), 1);
    assert!(rotated["new_keys"][0]["signs_from"].as_i64().unwrap() > 0, "published ahead of signing");
    let remove = kapu(dir.path()).args(["admin", "client", "remove", "--client-id", &id, "--json"]).output().unwrap();
    assert_eq!(json(&remove)["ok"], true);
    let again = kapu(dir.path()).args(["admin", "client", "remove", "--client-id", &id]).output().unwrap();
    assert!(!again.status.success());
}

/// Benchmark accounts: seeded in one command, listed like any other, with the
/// keys written only where asked (owner-only).
#[test]
fn seeded_accounts_are_listed_and_their_keys_written_privately() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.csv");
    let seed = kapu(dir.path())
        .args(["admin", "seed", "--accounts", "5", "--json", "--secrets-out"])
        .arg(&keys)
        .output()
        .unwrap();
    assert!(seed.status.success(), "{}", String::from_utf8_lossy(&seed.stdout));
    let v = json(&seed);
    assert_eq!((v["ok"].as_bool(), v["seeded"].as_u64()), (Some(true), Some(5)));
    assert_eq!((v["first"].as_str(), v["last"].as_str()), (Some("bench0000001"), Some("bench0000005")));
    let password = v["password"].as_str().unwrap();
    assert!(password.len() >= 24, "a random password, shown once");

    let list = json(&kapu(dir.path()).args(["admin", "user", "list", "--json"]).output().unwrap());
    let accounts = list["accounts"].as_array().unwrap();
    let names: Vec<&str> = accounts.iter().map(|a| a["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["bench0000001", "bench0000002", "bench0000003", "bench0000004", "bench0000005"]);
    assert!(accounts.iter().all(|a| a["status"] == "active"));
    assert_eq!(accounts[0]["email"], "bench0000001@seed.invalid");
    assert!(!serde_json::to_string(&list).unwrap().contains(password));

    let lines = std::fs::read_to_string(&keys).unwrap();
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 5);
    let (name, key) = lines[4].split_once(',').unwrap();
    assert_eq!(name, "bench0000005");
    assert_eq!(data_encoding::BASE32_NOPAD.decode(key.as_bytes()).unwrap().len(), 20);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // Again with overlapping names: refused, nothing written, the keys file untouched.
    let password_file = dir.path().join("password.txt");
    std::fs::write(&password_file, "egy hosszu kozos jelmondat\nmasodik sor\n").unwrap();
    let again_keys = dir.path().join("again.csv");
    let again = kapu(dir.path())
        .args(["admin", "seed", "--accounts", "8", "--json", "--password-file"])
        .arg(&password_file)
        .arg("--secrets-out")
        .arg(&again_keys)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(json(&again)["error"].as_str().unwrap().contains("bench0000001"));
    assert!(!again_keys.exists(), "no keys of accounts that were not created");
    let list = json(&kapu(dir.path()).args(["admin", "user", "list", "--json"]).output().unwrap());
    assert_eq!(list["accounts"].as_array().unwrap().len(), 5);
    let exists = kapu(dir.path())
        .args(["admin", "seed", "--accounts", "2", "--prefix", "more", "--secrets-out"])
        .arg(&keys)
        .output()
        .unwrap();
    assert!(!exists.status.success(), "an existing secrets file is never overwritten");
    assert_eq!(std::fs::read_to_string(&keys).unwrap().lines().count(), 5);

    // Text output, a password from the file (first line): not printed.
    let text = kapu(dir.path())
        .args(["admin", "seed", "--accounts", "2", "--prefix", "more", "--password-file"])
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("seeded 2 accounts more0000001..more0000002"), "{stdout}");
    assert!(!stdout.contains("jelmondat") && !stdout.contains("password of every"), "{stdout}");
}

#[test]
fn the_office_verifies_an_identity_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "admin",
            "identity",
            "verify",
            "--family-name",
            "Kovács",
            "--given-name",
            "Anna",
            "--birth-family-name",
            "Szabó",
            "--birth-given-name",
            "Anna",
            "--mother-birth-name",
            "Nagy Erzsébet",
            "--place-of-birth",
            "Debrecen",
            "--document-kind",
            "passport",
            "--document-number",
            "BA1234567",
            "--clerk",
            "Tóth Judit",
            "--office",
            "Debreceni kormányablak",
            "--reason",
            "személyesen, útlevéllel",
            "--json",
        ];
        args.extend_from_slice(extra);
        kapu(dir.path()).args(&args).output().unwrap()
    };
    // Every wrong input at once, in words a clerk can act on.
    let bad = verify(&["--birth-date", "1984-02-30"]);
    assert!(!bad.status.success());
    assert!(json(&bad)["error"].as_str().unwrap().contains("--birth-date is not a date"), "{}", json(&bad));
    // A code to hand over, shown once.
    let issued = verify(&["--birth-date", "1984-02-29"]);
    assert!(issued.status.success(), "{}", String::from_utf8_lossy(&issued.stdout));
    let code = json(&issued)["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 19, "XXXX-XXXX-XXXX-XXXX: {code}");
    // Bound at once to an account that does not exist: named in the error.
    let missing = verify(&["--birth-date", "1984-02-29", "--user", "nincs.ilyen"]);
    assert!(!missing.status.success());
    assert!(json(&missing)["error"].as_str().unwrap().contains("nincs.ilyen"));
}

#[test]
fn the_office_records_a_delegation_made_in_person() {
    let dir = tempfile::tempdir().unwrap();
    let add_verified = |username: &str, family: &str, born: &str| {
        let mut add = kapu(dir.path())
            .args(["admin", "user", "add", "--username", username, "--name", family, "--password-stdin"])
            .args(["--email", &format!("{username}@example.hu")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        add.stdin.take().unwrap().write_all(b"egy hosszu jelmondat az irodaban\n").unwrap();
        assert!(add.wait().unwrap().success());
        let verify = kapu(dir.path())
            .args(["admin", "identity", "verify", "--user", username, "--family-name", family, "--given-name", "Anna"])
            .args(["--birth-family-name", family, "--birth-given-name", "Anna", "--mother-birth-name", "Nagy Ilona"])
            .args(["--place-of-birth", "Pécs", "--birth-date", born, "--document-kind", "id_card"])
            .args(["--document-number", &format!("{}XY", &born[..4]), "--clerk", "Tóth Judit", "--office", "Pécs"])
            .args(["--reason", "személyesen", "--json"])
            .output()
            .unwrap();
        assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    };
    add_verified("megbizo", "Kovács", "1960-04-04");
    add_verified("megbizott", "Kiss", "1990-09-09");
    // A year from now (a delegation runs at most five years by default).
    let next_year =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 31_556_952 + 1970 + 1;
    let until = format!("{next_year}-12-31");
    let record = |born: &str| {
        kapu(dir.path())
            .args(["admin", "delegation", "record", "--principal", "megbizo", "--agent", "megbizott"])
            .args(["--agent-birth-date", born, "--matter", "adobevallas", "--until", &until])
            .args(["--clerk", "Tóth Judit", "--office", "Pécsi kormányablak", "--reason", "személyesen", "--json"])
            .output()
            .unwrap()
    };
    // The agent's date of birth must match: the clerk is told which option.
    let wrong = record("1990-09-10");
    assert!(!wrong.status.success());
    let error = json(&wrong)["error"].as_str().unwrap().to_owned();
    assert!(error.starts_with("--agent: There is no citizen with a verified identity"), "{error}");
    let done = record("1990-09-09");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stdout));
    let v = json(&done);
    assert_eq!(v["principal"], "Kovács Anna");
    assert_eq!(v["agent"], "Kiss Anna");
    assert_eq!(v["state"], "pending");
    // Office staff: a role, an office; a wrong role is named; removal.
    let add = kapu(dir.path())
        .args(["admin", "office", "add", "--user", "megbizott", "--role", "supervisor", "--office", "Pécs", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&add)["staff"]["role"], "supervisor", "{}", String::from_utf8_lossy(&add.stdout));
    let wrong = kapu(dir.path())
        .args(["admin", "office", "add", "--user", "megbizott", "--role", "boss", "--office", "Pécs"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("use clerk or supervisor"));
    let list = kapu(dir.path()).args(["admin", "office", "list", "--json"]).output().unwrap();
    assert_eq!(json(&list)["staff"][0]["username"], "megbizott");
    let removed =
        kapu(dir.path()).args(["admin", "office", "remove", "--user", "megbizott", "--json"]).output().unwrap();
    assert_eq!(json(&removed)["ok"], true);
    let again = kapu(dir.path()).args(["admin", "office", "remove", "--user", "megbizott", "--json"]).output().unwrap();
    assert!(json(&again)["error"].as_str().unwrap().contains("not on the office staff"));
    let audit = kapu(dir.path()).args(["admin", "audit", "--user", "megbizo", "--json"]).output().unwrap();
    let events = json(&audit)["events"].as_array().unwrap().clone();
    let granted = events.iter().find(|e| e["event"] == "delegation_granted").expect("audited");
    assert!(granted["detail"].as_str().unwrap().contains("clerk=Tóth Judit; office=Pécsi kormányablak"));
}
