//! Secrets stay secret: client secrets, codes, PKCE verifiers, access, ID and refresh tokens and
//! private keys never appear in the binary's logs (at `trace`, the most verbose level), in
//! error responses, or in the request log (RFC 6749 10.3, 10.5, 10.6; RFC 6750 5.3; RFC 9700
//! 4.1). And the deployment switches: `serve` binds loopback unless told otherwise, and
//! `--no-admin` removes the admin API (which mints tokens the issuer signs).

use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    Answer, CHALLENGE, REDIRECT_URI, VERIFIER, WEB, authorize_params, http, start,
};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-forge");

/// The embedded RS256 key's PEM body lines: none may appear anywhere.
fn private_key_lines() -> Vec<String> {
    include_str!("../../../fixtures/keys/rs256.pem")
        .lines()
        .filter(|line| !line.starts_with("-----") && line.len() > 40)
        .map(str::to_owned)
        .collect()
}

/// A running `oidc-forge serve`, its banner read; stderr (the log) collected on a thread.
struct Served {
    child: Child,
    banner: Vec<String>,
    url: String,
    log: mpsc::Receiver<String>,
}

fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines_rx = crate::support::lines_of(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let (log_tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = log_tx.send(text);
    });
    let mut banner: Vec<String> = Vec::new();
    while !banner.iter().any(|l| l.starts_with("users:")) {
        match lines_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => banner.push(line),
            Err(_) => {
                child.kill().unwrap();
                panic!("no banner: {banner:?}");
            }
        }
    }
    let url = banner[0]
        .strip_prefix("oidc-forge issuer: ")
        .expect("the banner names the issuer")
        .to_owned();
    Served {
        child,
        banner,
        url,
        log,
    }
}

impl Served {
    /// Stops the process and returns everything it logged.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.log
            .recv_timeout(Duration::from_secs(30))
            .expect("the log")
    }
}

fn assert_absent(haystack: &str, secrets: &[(&str, String)], place: &str) {
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        assert!(
            !haystack.contains(secret.as_str()),
            "the {what} appears in {place}"
        );
    }
}

/// A full flow and a round of failed requests against `url`; returns every secret involved.
async fn exercise(url: &str) -> Vec<(&'static str, String)> {
    let http = http();
    let mut secrets: Vec<(&'static str, String)> = vec![
        ("client secret", WEB.1.to_owned()),
        ("PKCE verifier", VERIFIER.to_owned()),
    ];
    let authorize = http
        .get(format!("{url}/authorize"))
        .query(&authorize_params(&[]))
        .send()
        .await
        .unwrap();
    let authorize = Answer::read(authorize).await;
    assert_eq!(authorize.status, StatusCode::FOUND, "{}", authorize.body);
    let code = authorize.location_params()["code"].clone();
    secrets.push(("authorization code", code.clone()));
    let session = authorize
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session_value = session.split_once('=').unwrap().1.to_owned();
    secrets.push(("session cookie", session_value));

    let token = |form: Vec<(&'static str, String)>, secret: &'static str| {
        let http = http.clone();
        let url = url.to_owned();
        async move {
            let response = http
                .post(format!("{url}/api/token"))
                .basic_auth(WEB.0, Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            Answer::read(response).await
        }
    };
    let code_form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect::<Vec<_>>();
    // Wrong secret first: the error must not echo either secret.
    let wrong = token(code_form.clone(), "not-the-secret-4711").await;
    wrong.assert_oauth_error(401, "invalid_client");
    secrets.push(("wrong client secret", "not-the-secret-4711".to_owned()));
    let tokens = token(code_form.clone(), WEB.1).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    // The signature segment is what makes a token usable; it must not leak even partially.
    for (what, jwt) in [("access token", &access), ("ID token", &id_token)] {
        secrets.push((what, jwt.rsplit('.').next().unwrap().to_owned()));
    }
    secrets.push(("refresh token", refresh.clone()));

    let mut errors: Vec<Answer> = vec![wrong];
    // Rotate the refresh token first: the code replay below revokes the whole grant.
    let refresh_form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh.clone()),
    ];
    let rotated = token(refresh_form.clone(), WEB.1).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let rotated_refresh = rotated.json()["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(("rotated refresh token", rotated_refresh));
    errors.push(token(refresh_form, WEB.1).await); // replay of the rotated-away token
    // Replay, wrong verifier, unknown code, unknown refresh token: all fail, none echoes.
    errors.push(token(code_form.clone(), WEB.1).await);
    let bad_verifier = "Z".repeat(50);
    secrets.push(("wrong verifier", bad_verifier.clone()));
    let mut form = code_form.clone();
    form[3].1 = bad_verifier;
    errors.push(token(form, WEB.1).await);
    let guessed = "guessed-code-0123456789abcdef".to_owned();
    secrets.push(("guessed code", guessed.clone()));
    let mut form = code_form.clone();
    form[1].1 = guessed;
    errors.push(token(form, WEB.1).await);

    // UserInfo with a token (revoked by the code replay above) and with garbage.
    let userinfo = |token: String| {
        let http = http.clone();
        let url = url.to_owned();
        async move {
            let response = http
                .get(format!("{url}/api/userinfo"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            Answer::read(response).await
        }
    };
    errors.push(userinfo(access.clone()).await);
    let forged = format!("{access}x");
    errors.push(userinfo(forged).await);
    // Introspection and revocation with a wrong secret, and the tokens as parameters.
    for path in ["/introspect", "/revoke"] {
        let response = http
            .post(format!("{url}{path}"))
            .basic_auth(WEB.0, Some("not-the-secret-4711"))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap();
        errors.push(Answer::read(response).await);
    }
    // client_secret_post with a wrong secret in the body.
    let response = http
        .post(format!("{url}/api/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", WEB.0),
            ("client_secret", "not-the-secret-4711"),
        ])
        .send()
        .await
        .unwrap();
    errors.push(Answer::read(response).await);

    for error in &errors {
        assert!(
            error.status.is_client_error(),
            "{}: {}",
            error.status,
            error.body
        );
        let mut seen = error.body.clone();
        for (name, value) in &error.headers {
            if name != "set-cookie" {
                seen.push_str(value.to_str().unwrap_or_default());
            }
        }
        assert_absent(
            &seen,
            &secrets,
            &format!("an error response ({})", error.body),
        );
        assert!(!error.body.contains("PRIVATE KEY"));
    }
    secrets
}

#[tokio::test]
async fn no_secret_reaches_the_trace_log_error_bodies_or_the_request_log() {
    // The binary, with its own logging set to trace.
    let served = serve(&["--port", "0"]);
    let secrets = exercise(&served.url).await;
    let log = served.stop();
    assert!(
        log.contains("/api/token") && log.contains("/api/userinfo"),
        "the log recorded the requests (so it is the right log): {}",
        &log[..log.len().min(2000)]
    );
    assert_absent(&log, &secrets, "the trace log");
    for line in private_key_lines() {
        assert!(!log.contains(&line), "private key material in the log");
    }

    // In-process: the request log, as the admin API and `requests()` serve it.
    let h = start().await;
    let secrets = exercise(h.issuer.url()).await;
    let recorded = serde_json::to_string(&h.issuer.requests()).unwrap();
    assert!(recorded.contains("[redacted]"), "{recorded}");
    assert_absent(&recorded, &secrets, "the request log");
    let admin: Value = h
        .http
        .get(h.url("/_forge/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_absent(&admin.to_string(), &secrets, "the admin API's request log");
    // The JWKS publishes public keys only.
    let jwks = h.jwks().await.to_string();
    for private in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""] {
        assert!(
            !jwks.contains(private),
            "private JWK member {private} published"
        );
    }
}

#[test]
fn serve_binds_loopback_unless_told_otherwise() {
    let served = serve(&["--port", "0"]);
    let listening = served
        .banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("listening on"))
        .expect("the banner says where it listens")
        .trim()
        .parse::<std::net::SocketAddr>()
        .unwrap();
    assert!(listening.ip().is_loopback(), "{listening}");
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "{}",
        served.url
    );
    served.stop();
}

#[test]
fn no_admin_removes_the_admin_api() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status =
        |url: String| runtime.block_on(async { http().get(url).send().await.unwrap().status() });
    let with_admin = serve(&["--port", "0"]);
    assert_eq!(
        status(format!("{}/_forge/", with_admin.url)),
        StatusCode::OK
    );
    with_admin.stop();

    let without = serve(&["--port", "0", "--no-admin"]);
    assert!(
        without
            .banner
            .iter()
            .any(|l| l.contains("admin API") && l.contains("disabled")),
        "{:?}",
        without.banner
    );
    for path in ["/_forge/", "/_forge/keys", "/_forge/requests"] {
        assert_eq!(
            status(format!("{}{path}", without.url)),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let minted = runtime.block_on(async {
        http()
            .post(format!("{}/_forge/tokens", without.url))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(minted, StatusCode::NOT_FOUND);
    // The issuer itself still works.
    assert_eq!(
        status(format!("{}/.well-known/openid-configuration", without.url)),
        StatusCode::OK
    );
    without.stop();
}

#[test]
fn the_challenge_is_public_but_the_verifier_is_not_logged() {
    // The request log keeps the challenge (public, sent through the browser) and redacts the
    // verifier (the proof, RFC 7636 7.1).
    let params = oidc_forge::internals::Params::parse(
        format!("code_challenge={CHALLENGE}&code_verifier={VERIFIER}").as_bytes(),
    );
    let logged = oidc_forge::forge::request_log::LoggedParams::redacted(&params);
    assert_eq!(logged.get("code_challenge"), Some(CHALLENGE));
    assert_eq!(logged.get("code_verifier"), Some("[redacted]"));
}
