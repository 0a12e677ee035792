//! Helpers shared by the endpoint tests: an issuer on port 0, an HTTP client that never follows
//! redirects, and the steps of the code flow.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc_forge::{Config, FixedClock, MockIssuer};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;

pub use oidc_forge_testkit::authorize_params;
pub use oidc_forge_testkit::fixtures::WEB_CLIENT as WEB;
pub use oidc_forge_testkit::fixtures::{ALICE, BOB, CHALLENGE, NOW, REDIRECT_URI, VERIFIER};

pub struct Harness {
    pub issuer: MockIssuer,
    /// Where the helpers send requests: the issuer's URL, or a tenant's.
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<FixedClock>,
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// The default configuration with OpenID Core 5.4's scope catalogue: `openid` releases no
/// claim by itself (the embedded default releases the email under it, as Fief does).
pub fn core_scopes() -> Config {
    let mut config = Config::default();
    if let Some(openid) = config.scopes.get_mut("openid") {
        openid.claims.clear();
    }
    config
}

/// The default configuration on a fixed clock.
pub async fn start() -> Harness {
    start_with(Config::default()).await
}

pub async fn start_with(config: Config) -> Harness {
    start_built(MockIssuer::builder().config(config)).await
}

/// `builder` on the fixed clock, started.
pub async fn start_built(builder: oidc_forge::MockIssuerBuilder) -> Harness {
    let clock = Arc::new(FixedClock::new(NOW));
    let issuer = builder
        .clock(clock.clone())
        .start()
        .await
        .expect("issuer starts");
    Harness {
        base: issuer.url().to_owned(),
        issuer,
        http: http(),
        clock,
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The query parameters of the `Location` a redirect points to.
    pub fn location_params(&self) -> HashMap<String, String> {
        let location = url::Url::parse(self.header(LOCATION.as_str())).expect("Location is a URL");
        location.query_pairs().into_owned().collect()
    }

    /// `name=value` of a `Set-Cookie`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
    }

    /// Asserts an RFC 6749 5.2 JSON error.
    pub fn assert_oauth_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.json()["error"], error, "{}", self.body);
        assert!(
            self.json()["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "a readable description: {}",
            self.body
        );
        assert_eq!(self.header("cache-control"), "no-store");
        assert!(self.header("content-type").starts_with("application/json"));
    }

    /// Asserts a redirect back to the client carrying `error` (RFC 6749 4.1.2.1).
    pub fn assert_redirected_error(&self, error: &str, state: Option<&str>, issuer: &str) {
        assert_eq!(self.status, StatusCode::FOUND, "{}", self.body);
        let params = self.location_params();
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{params:?}"
        );
        assert!(
            params
                .get("error_description")
                .is_some_and(|d| !d.is_empty())
        );
        assert_eq!(params.get("state").map(String::as_str), state);
        assert_eq!(params.get("iss").map(String::as_str), Some(issuer));
        assert!(!params.contains_key("code"));
    }

    /// Asserts an error page with no redirect.
    pub fn assert_error_page(&self, needle: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.body);
        assert!(self.headers.get(LOCATION).is_none(), "must not redirect");
        assert!(self.header("content-type").starts_with("text/html"));
        assert!(
            self.body.contains(needle),
            "{needle:?} not in {}",
            self.body
        );
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn authorize(&self, changes: &[(&str, &str)]) -> Answer {
        self.authorize_with_cookie(changes, None).await
    }

    pub async fn authorize_with_cookie(
        &self,
        changes: &[(&str, &str)],
        cookie: Option<&str>,
    ) -> Answer {
        let mut request = self
            .http
            .get(self.url("/authorize"))
            .query(&authorize_params(changes));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        Answer::read(request.send().await.expect("authorize")).await
    }

    /// Runs `/authorize` and returns the code.
    pub async fn code(&self, changes: &[(&str, &str)]) -> String {
        let answer = self.authorize(changes).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
        answer
            .location_params()
            .remove("code")
            .unwrap_or_else(|| panic!("no code in {:?}", answer.location_params()))
    }

    /// POSTs a form to the token endpoint, with Basic credentials when given.
    pub async fn token(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Answer {
        self.post_form("/api/token", form, basic).await
    }

    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Answer {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        Answer::read(request.send().await.expect("post")).await
    }

    /// The token response of a full code flow with the default parameters plus `changes`.
    pub async fn tokens(&self, changes: &[(&str, &str)]) -> Value {
        let code = self.code(changes).await;
        let answer = self
            .token(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                ],
                Some(WEB),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()
    }

    /// A client_credentials access token of forge-web.
    pub async fn client_credentials_token(&self) -> String {
        let answer = self
            .token(&[("grant_type", "client_credentials")], Some(WEB))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        str_of(&answer.json(), "access_token").to_owned()
    }

    /// Whether introspection, asked by forge-web, calls `token` active.
    pub async fn active(&self, token: &str) -> bool {
        let answer = self
            .post_form("/introspect", &[("token", token)], Some(WEB))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.json()["active"] == true
    }

    pub async fn userinfo(&self, token: &str) -> Answer {
        let request = self.http.get(self.url("/api/userinfo")).bearer_auth(token);
        Answer::read(request.send().await.expect("userinfo")).await
    }
}

/// What the interactive login page hands the browser: the interaction and form token in its
/// form, and the binding cookie (`name=value`) it set.
#[derive(Debug, Clone)]
pub struct LoginPage {
    pub interaction: String,
    pub form_token: String,
    pub binding: Option<String>,
}

impl LoginPage {
    pub fn of(answer: &Answer) -> Self {
        let field = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = answer
                .body
                .find(&marker)
                .unwrap_or_else(|| panic!("no {name} field in {}", answer.body))
                + marker.len();
            answer.body[start..].split('"').next().unwrap().to_owned()
        };
        LoginPage {
            interaction: field("interaction"),
            form_token: field("form_token"),
            binding: answer.cookie("oidc_forge_login"),
        }
    }
}

impl Harness {
    /// Answers a login page with `fields` (`user`, `deny`) as its browser would, plus `headers`.
    pub async fn decide(
        &self,
        page: &LoginPage,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut form = vec![
            ("interaction", page.interaction.as_str()),
            ("form_token", page.form_token.as_str()),
        ];
        form.extend_from_slice(fields);
        let mut request = self.http.post(self.url("/authorize/decision")).form(&form);
        if let Some(binding) = &page.binding {
            request = request.header("cookie", binding);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Answer::read(request.send().await.expect("decision")).await
    }
}

/// Token-endpoint steps as forge-web.
impl Harness {
    pub async fn refresh(&self, refresh_token: &str) -> Answer {
        self.token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            Some(WEB),
        )
        .await
    }

    pub async fn redeem(&self, code: &str) -> Answer {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", VERIFIER),
            ],
            Some(WEB),
        )
        .await
    }

    pub async fn revoke(&self, token: &str) -> Answer {
        self.post_form("/revoke", &[("token", token)], Some(WEB))
            .await
    }
}

/// The header and claims of a compact JWS, without verification.
pub fn decode(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut part = || -> Value {
        let bytes = URL_SAFE_NO_PAD
            .decode(parts.next().expect("segment"))
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let header = part();
    let claims = part();
    (header, claims)
}

pub fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` missing in {value}"))
}

impl Harness {
    /// A request to the admin API (`/_forge{path}`), with a JSON body when given.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let changes_state = !matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
        let mut request = self
            .http
            .request(method, self.url(&format!("/_forge{path}")));
        if let Some(body) = body {
            request = request.json(&body);
        } else if changes_state {
            // The admin API takes state-changing requests as JSON only (a CORS preflight).
            request = request.header("content-type", "application/json");
        }
        Answer::read(request.send().await.expect("admin request")).await
    }

    /// The JWKS the issuer publishes now.
    pub async fn jwks(&self) -> Value {
        let response = self.http.get(self.url("/.well-known/jwks.json")).send();
        Answer::read(response.await.expect("jwks")).await.json()
    }

    /// The kids of the JWKS, in order.
    pub async fn jwks_kids(&self) -> Vec<String> {
        self.jwks().await["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| str_of(k, "kid").to_owned())
            .collect()
    }
}

/// Whether an RS256 `token` verifies with the RSA `jwk` (its `n` and `e`).
pub fn rsa_verifies(jwk: &Value, token: &str) -> bool {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
    let component = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(str_of(jwk, name))
            .expect("base64url")
    };
    let (input, signature) = token.rsplit_once('.').expect("three segments");
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    RsaPublicKeyComponents {
        n: component("n"),
        e: component("e"),
    }
    .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
    .is_ok()
}

/// The key of `jwks` with this kid.
pub fn jwk<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("no key {kid} in {jwks}"))
}

/// The raw signature bytes of a compact JWS.
pub fn signature_of(jwt: &str) -> Vec<u8> {
    let (_, signature) = jwt.rsplit_once('.').expect("three segments");
    URL_SAFE_NO_PAD.decode(signature).expect("base64url")
}

/// Reads a child's output line by line on a thread, so a test waits on the channel with a
/// timeout, and an output that changes shape fails the test instead of hanging it.
pub fn lines_of(output: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(output)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    lines_rx
}

/// A running `oidc-forge serve`, stopped when dropped: its banner, the issuer URL it printed
/// first, and its log lines (stderr).
pub struct Served {
    child: std::process::Child,
    pub url: String,
    pub banner: Vec<String>,
    /// Kept, so that the thread reading stdout lives as long as the process.
    _stdout: std::sync::mpsc::Receiver<String>,
    logs: std::sync::mpsc::Receiver<String>,
}

impl Served {
    /// Starts the binary with `args` after `serve`, the environment's configuration unset.
    pub fn start(args: &[&str]) -> Self {
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_oidc-forge"))
            .arg("serve")
            .args(args)
            .env_remove("OIDC_FORGE_CONFIG")
            .env_remove("OIDC_FORGE_PORT")
            .env_remove("OIDC_FORGE_ISSUER_URL")
            .env_remove("OIDC_FORGE_LOG_FORMAT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let lines = lines_of(child.stdout.take().expect("piped stdout"));
        let logs = lines_of(child.stderr.take().expect("piped stderr"));
        let mut banner = Vec::new();
        while !banner
            .last()
            .is_some_and(|l: &String| l.starts_with("Ctrl-C stops"))
        {
            match lines.recv_timeout(std::time::Duration::from_secs(30)) {
                Ok(line) => banner.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let logs: Vec<String> = logs.try_iter().collect();
                    panic!("serve {args:?} printed no banner: {banner:?}; stderr {logs:?}");
                }
            }
        }
        let url = banner[0]
            .strip_prefix("oidc-forge issuer: ")
            .unwrap_or_else(|| panic!("the banner starts with the issuer: {banner:?}"))
            .to_owned();
        Self {
            child,
            url,
            banner,
            _stdout: lines,
            logs,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`INT` for Ctrl-C, `TERM`), then waits for the process to exit (10 s at
    /// most) and checks that it exited successfully.
    pub fn interrupt(&mut self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waitable") {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve ignored SIG{signal}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let logs: Vec<String> = self.logs.try_iter().collect();
        assert!(status.success(), "SIG{signal}: {status}; stderr {logs:#?}");
    }

    /// The banner line containing `needle`.
    pub fn banner_line(&self, needle: &str) -> &str {
        self.banner
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in the banner: {:#?}", self.banner))
    }

    /// Log lines written so far, after waiting for at least `count` of them.
    pub fn logs(&self, count: usize) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        while lines.len() < count {
            match self.logs.recv_timeout(std::time::Duration::from_secs(10)) {
                Ok(line) => lines.push(line),
                Err(_) => panic!("fewer than {count} log lines: {lines:?}"),
            }
        }
        lines.extend(self.logs.try_iter());
        lines
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A current-thread runtime for the synchronous tests of the binary.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}
