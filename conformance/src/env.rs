//! In-process environments: the issuer on 127.0.0.1 port 0, and the client's example apps
//! served next to it, each on a port of its own, so every scenario runs in parallel with the
//! others and starts in milliseconds.

use std::sync::Arc;

use oidc_forge::{Config, FixedClock, MockIssuer};
use oidc_forge_client::Client;
use oidc_forge_client::axum::WebFlow;
use oidc_forge_client::clock::{Clock, FixedClock as AppClock};
use tokio::net::TcpListener;

use crate::apps;
use crate::http::{self, Answer};
use crate::scenario::{Failure, setup};

pub use oidc_forge_testkit::authorize_params;
pub use oidc_forge_testkit::fixtures::{
    ALICE, BOB, CHALLENGE, NOW, REDIRECT_URI, RS256_KID, SPA_CLIENT, SPA_REDIRECT_URI, VERIFIER,
    WEB_CLIENT,
};

/// The tenant of D-24: a second issuer on the same server (as Fief's tenants share a host),
/// with the same clients and users but the attacker's key under the first issuer's RS256 kid.
pub const SECOND_TENANT: &str = "second";

/// An issuer on a frozen clock, with an HTTP client to call it.
#[derive(Debug)]
pub struct IssuerEnv {
    /// The running issuer (shared with a target that drives an app trusting it).
    pub issuer: Arc<MockIssuer>,
    /// Its clock, to expire codes and tokens on demand.
    pub clock: Arc<FixedClock>,
    /// A client that never follows redirects.
    pub http: reqwest::Client,
}

/// The embedded default made as strict as the specs allow, which is what the scenarios grade:
/// PKCE required of every client (RFC 9700 2.1.1's SHOULD made a MUST), redirect URIs matched
/// exactly (RFC 9700 4.1.3, no loopback port exception), and OpenID Core 5.4's scope catalogue
/// (`openid` releases no claim by itself). The embedded default relaxes these as Fief,
/// FusionAuth and Keycloak do, so that apps written for them run unchanged.
pub fn strict_config() -> Config {
    let mut config = Config::default();
    if let Some(openid) = config.scopes.get_mut("openid") {
        openid.claims.clear();
    }
    for client in &mut config.clients {
        client.require_pkce = Some(true);
        client.loopback_any_port = false;
    }
    if let Some(web) = config.client_mut(WEB_CLIENT.0) {
        web.redirect_uris = vec![
            REDIRECT_URI.into(),
            "http://127.0.0.1:8000/auth-callback".into(),
        ];
        web.post_logout_redirect_uris = vec![
            "http://localhost:8000/".into(),
            "http://127.0.0.1:8000/".into(),
        ];
    }
    if let Some(spa) = config.client_mut("forge-spa") {
        spa.redirect_uris = vec![SPA_REDIRECT_URI.into()];
        spa.post_logout_redirect_uris = vec!["http://localhost:3000/".into()];
    }
    let second = second_tenant(&config);
    config.tenants.insert(SECOND_TENANT.into(), second);
    config
}

/// [`SECOND_TENANT`]: `config`'s clients, users and scopes, signing with the attacker's key
/// under [`RS256_KID`].
pub fn second_tenant(config: &Config) -> Config {
    let mut tenant = config.clone();
    tenant.tenants.clear();
    tenant.issuer = None;
    tenant.deterministic = None;
    tenant.keys = vec![oidc_forge::config::KeyConfig {
        kid: RS256_KID.into(),
        alg: oidc_forge::config::SigningAlg::RS256,
        pem_file: None,
        pem: Some(oidc_forge::forge::mint::ATTACKER_PEM.to_owned()),
    }];
    tenant
}

impl IssuerEnv {
    /// [`strict_config`] with `edit` applied, on a clock frozen at [`NOW`].
    pub async fn start(edit: impl FnOnce(&mut Config)) -> Result<Self, Failure> {
        let mut config = strict_config();
        edit(&mut config);
        let clock = Arc::new(FixedClock::new(NOW));
        let issuer = MockIssuer::builder()
            .config(config)
            .clock(clock.clone())
            .start()
            .await
            .map_err(setup)?;
        Ok(Self {
            issuer: Arc::new(issuer),
            clock,
            http: http::client(),
        })
    }

    /// The issuer identifier.
    pub fn iss(&self) -> &str {
        self.issuer.url()
    }

    /// The full URL of a path on the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.url())
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Result<Answer, Failure> {
        Answer::send(self.http.get(self.url(path))).await
    }

    /// `GET /authorize` with `params`.
    pub async fn authorize(&self, params: &[(String, String)]) -> Result<Answer, Failure> {
        self.authorize_with_cookie(params, None).await
    }

    /// `GET /authorize` with `params` and the issuer's session cookie.
    pub async fn authorize_with_cookie(
        &self,
        params: &[(String, String)],
        cookie: Option<&str>,
    ) -> Result<Answer, Failure> {
        let mut request = self.http.get(self.url("/authorize")).query(params);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        Answer::send(request).await
    }

    /// Runs `/authorize` (auto-login) and returns the code.
    pub async fn code(&self, params: &[(String, String)]) -> Result<String, Failure> {
        let answer = self.authorize(params).await?;
        answer.expect_status(302)?;
        let params = answer.location_params()?;
        params
            .get("code")
            .cloned()
            .ok_or_else(|| Failure::mismatch(format!("no code in the redirect: {params:?}")))
    }

    /// POSTs a form to `path`, with HTTP Basic credentials when given.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Answer, Failure> {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        Answer::send(request).await
    }

    /// POSTs to the token endpoint.
    pub async fn token(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Answer, Failure> {
        self.post_form("/api/token", form, basic).await
    }

    /// Exchanges `refresh_token` as `forge-web`, asking for no narrower scope.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Answer, Failure> {
        self.token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            Some(WEB_CLIENT),
        )
        .await
    }

    /// Redeems `code` as `forge-web` with the default redirect URI and verifier.
    pub async fn redeem(&self, code: &str) -> Result<Answer, Failure> {
        self.redeem_with(code, Some(VERIFIER)).await
    }

    /// Redeems `code` as `forge-web` with `verifier`, or with none.
    pub async fn redeem_with(&self, code: &str, verifier: Option<&str>) -> Result<Answer, Failure> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
        ];
        form.extend(verifier.map(|verifier| ("code_verifier", verifier)));
        self.token(&form, Some(WEB_CLIENT)).await
    }

    /// A whole code flow with the default parameters plus `changes`: the token response.
    pub async fn tokens(&self, changes: &[(&str, &str)]) -> Result<serde_json::Value, Failure> {
        let code = self.code(&authorize_params(changes)).await?;
        let answer = self.redeem(&code).await?;
        answer.expect_status(200)?;
        answer.json()
    }

    /// `GET /api/userinfo` with the token in the header.
    pub async fn userinfo(&self, token: &str) -> Result<Answer, Failure> {
        Answer::send(self.http.get(self.url("/api/userinfo")).bearer_auth(token)).await
    }
}

/// Binds 127.0.0.1:0: the listener and its base URL.
pub async fn bind() -> Result<(TcpListener, String), Failure> {
    oidc_forge_testkit::bind().await.map_err(setup)
}

pub use oidc_forge_testkit::serve;

/// A client for `forge-web` at `issuer` on a clock frozen at [`NOW`].
pub fn app_client(issuer: &str) -> Result<(Client, Arc<AppClock>), Failure> {
    let clock = Arc::new(AppClock::new(NOW));
    let client = Client::builder(issuer, WEB_CLIENT.0)
        .client_secret(WEB_CLIENT.1)
        .clock(clock.clone() as Arc<dyn Clock>)
        .http_client(http::client())
        .build()
        .map_err(setup)?;
    Ok((client, clock))
}

/// The web example app served next to an issuer that registers its callback and home page.
pub struct WebEnv {
    /// The app's base URL.
    pub url: String,
    /// The issuer.
    pub issuer: IssuerEnv,
    /// The app's login flow (its client, cache and cookie names).
    pub flow: WebFlow,
    /// The app's clock.
    pub app_clock: Arc<AppClock>,
}

impl std::fmt::Debug for WebEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebEnv")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebEnv {
    /// The default issuer configuration plus the app's URLs, then `edit`.
    pub async fn start(edit: impl FnOnce(&mut Config)) -> Result<Self, Failure> {
        Self::start_with(edit, false).await
    }

    /// As [`WebEnv::start`], with `Secure` cookies or not.
    pub async fn start_with(
        edit: impl FnOnce(&mut Config),
        secure_cookies: bool,
    ) -> Result<Self, Failure> {
        let (listener, url, issuer) = Self::prepare(edit).await?;
        let (client, app_clock) = app_client(issuer.iss())?;
        Self::launch(listener, url, issuer, client, app_clock, secure_cookies)
    }

    /// Binds the app's port and starts an issuer that registers its callback and home page.
    pub async fn prepare(
        edit: impl FnOnce(&mut Config),
    ) -> Result<(TcpListener, String, IssuerEnv), Failure> {
        let (listener, url) = bind().await?;
        let callback = format!("{url}/auth-callback");
        let home = format!("{url}/");
        let issuer = IssuerEnv::start(|config| {
            if let Some(web) = config.client_mut(WEB_CLIENT.0) {
                web.redirect_uris.push(callback);
                web.post_logout_redirect_uris.push(home);
            }
            edit(config);
        })
        .await?;
        Ok((listener, url, issuer))
    }

    /// Serves the web example with `client` on the prepared port.
    pub fn launch(
        listener: TcpListener,
        url: String,
        issuer: IssuerEnv,
        client: Client,
        app_clock: Arc<AppClock>,
        secure_cookies: bool,
    ) -> Result<Self, Failure> {
        let settings = apps::web::Settings {
            issuer: issuer.iss().to_owned(),
            client_id: WEB_CLIENT.0.into(),
            client_secret: Some(WEB_CLIENT.1.into()),
            app_url: url.clone(),
            secure_cookies,
            cookie_key: None,
        };
        let flow = apps::web::flow(&settings, client).map_err(setup)?;
        serve(listener, apps::web::app(flow.clone()));
        Ok(Self {
            url,
            issuer,
            flow,
            app_clock,
        })
    }

    /// The full URL of a path on the app.
    pub fn app(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

/// An attacker's server: serves a JWKS at `/jwks` and counts every request it receives, so a
/// scenario can prove that an application never fetched a URL a token pointed it to.
#[derive(Debug, Clone)]
pub struct AttackerServer {
    /// Its base URL.
    pub url: String,
    hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl AttackerServer {
    /// Serves `jwks` on 127.0.0.1, port 0.
    pub async fn start(jwks: serde_json::Value) -> Result<Self, Failure> {
        let (listener, url) = bind().await?;
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let counter = counter.clone();
            let jwks = jwks.clone();
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                axum::Json(jwks)
            }
        });
        serve(listener, app);
        Ok(Self { url, hits })
    }

    /// How many requests reached it.
    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}
