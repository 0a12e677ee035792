//! The ID-token halves of group D, through the web example's login.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::env::{self, AttackerServer, WEB_CLIENT, WebEnv};
use crate::http::{Browser, Page, shorten};
use crate::mint::{Signer, b64};
use crate::runner::api_flow::mutation_name;
use crate::scenario::{Failure, Outcome, Pass, setup};
use crate::{ensure, ensure_eq};
use oidc_forge::forge::mint::{Mutation, NoneSpelling, PublicKeyForm, TokenBuilder};
use oidc_forge::forge::token_response::ResponseEdit;

use super::*;

// ----------------------------------------- ID-token halves: through the web example's login
//
// The forge's token-response edit puts the forged ID token in the issuer's own token response,
// minted for that very login (its nonce, the `at_hash` of the access token the issuer really
// issued). The callback must refuse it and set no session; the same edit with a valid token
// logs in.

/// What a login's ID token is made from: its nonce, and the access token the issuer really
/// issued with it (for `at_hash`).
struct LoginContext {
    nonce: String,
    access_token: String,
}

/// Makes the ID token one login receives.
type MakeIdToken = Box<dyn FnOnce(&LoginContext) -> Result<String, Failure> + Send>;

/// The web example, whose next token response carries scenario-made ID tokens through the
/// forge's token-response edits.
struct IdBench {
    web: WebEnv,
    /// Why the last edit could not mint, if it could not.
    error: Arc<std::sync::Mutex<Option<String>>>,
}

/// The forge's builder of a valid ID token for this login.
fn base(minter: &oidc_forge::forge::mint::Minter, login: &LoginContext) -> TokenBuilder {
    minter
        .id_token()
        .client(WEB_CLIENT.0)
        .nonce(&login.nonce)
        .issued_at(env::NOW)
        .at_hash_of(&login.access_token)
}

impl IdBench {
    async fn start() -> Result<Self, Failure> {
        let bench = Self {
            web: WebEnv::start(|_| {}).await?,
            error: Arc::default(),
        };
        // The valid twin: a forge-minted ID token delivered in the same way logs in.
        let twin = bench.forge(Vec::new());
        bench.accepts(twin, "the forge's valid ID token").await?;
        Ok(bench)
    }

    /// A login whose token response carries the ID token `make` makes: the callback page.
    async fn login(&self, make: MakeIdToken) -> Result<Page, Failure> {
        let mut browser = Browser::new();
        let (authorize, query) =
            crate::runner::web_flow::start_login(&self.web, &mut browser).await?;
        let nonce = query.get("nonce").cloned().unwrap_or_default();
        let failed = self.error.clone();
        let edit = ResponseEdit::IdTokenMadeBy(Box::new(move |genuine| {
            let login = LoginContext {
                nonce,
                access_token: genuine.access_token.to_owned(),
            };
            make(&login).map_err(|failure| {
                let why = failure.to_string();
                *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
                why
            })
        }));
        self.web.issuer.issuer.clear_token_response_edits();
        self.web
            .issuer
            .issuer
            .edit_next_token_response(vec![edit])
            .map_err(setup)?;
        let issued = browser.get(&authorize).await?;
        let callback = issued
            .location
            .ok_or_else(|| Failure::setup("the issuer did not redirect back"))?;
        let page = browser.get(&callback).await?;
        let error = self.error.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(error) = error {
            return Err(Failure::setup(format!("cannot mint the ID token: {error}")));
        }
        Ok(page)
    }

    async fn accepts(&self, make: MakeIdToken, what: &str) -> Result<(), Failure> {
        let page = self.login(make).await?;
        ensure!(
            page.answer.status == 302 && page.set_cookie("user_session").is_some(),
            "{what}: the login completes, got {}: {}",
            page.answer.status,
            shorten(&page.answer.body)
        );
        Ok(())
    }

    async fn rejects(&self, make: MakeIdToken, what: &str) -> Result<(), Failure> {
        let page = self.login(make).await?;
        crate::runner::web_flow::expect_failed_login(&page, "ID token invalid")
            .map_err(|f| Failure::mismatch(format!("{what}: {f}")))
    }

    /// The forge's token for this login, with `mutations`, by the issuer's current keys.
    fn forge(&self, mutations: Vec<Mutation>) -> MakeIdToken {
        let minter = self.web.issuer.issuer.mint();
        Box::new(move |login| {
            base(&minter, login)
                .mutations(mutations)
                .sign()
                .map_err(setup)
        })
    }

    /// The forge's token for this login, shaped by `shape`.
    fn forge_with(
        &self,
        shape: impl FnOnce(TokenBuilder) -> TokenBuilder + Send + 'static,
    ) -> MakeIdToken {
        let minter = self.web.issuer.issuer.mint();
        Box::new(move |login| shape(base(&minter, login)).sign().map_err(setup))
    }

    /// This login's valid claims under `header`, signed by `signer` (for headers and
    /// algorithms the forge does not offer).
    fn signed(&self, header: Value, signer: Signer) -> Result<MakeIdToken, Failure> {
        let minter = self.web.issuer.issuer.mint();
        let raw = crate::mint::Minter::new(
            &self.web.issuer.issuer,
            crate::mint::Profile {
                sub: env::ALICE.into(),
                aud: vec![WEB_CLIENT.0.into()],
                client_id: WEB_CLIENT.0.into(),
            },
        )?;
        Ok(Box::new(move |login| {
            let claims = base(&minter, login).build().map_err(setup)?.claims;
            Ok(raw.sign_text(&header.to_string(), &claims.to_string(), signer))
        }))
    }

    /// A fixed token, whatever the login.
    fn raw(token: String) -> MakeIdToken {
        Box::new(move |_| Ok(token))
    }

    /// Each mutation in a login of its own, every one refused.
    async fn reject_all(&self, mutations: Vec<(String, Mutation)>) -> Outcome {
        let mut names = Vec::new();
        for (what, mutation) in mutations {
            self.rejects(self.forge(vec![mutation]), &what).await?;
            names.push(what);
        }
        Ok(Pass::new(format!(
            "ID token in the token response to the web example's callback: {} refused, no session; the forge's valid one: logged in",
            names.join(", ")
        )))
    }

    /// Each raw token in a login of its own, every one refused.
    async fn reject_raw(&self, tokens: Vec<(&str, MakeIdToken)>) -> Outcome {
        let mut names = Vec::new();
        for (what, make) in tokens {
            self.rejects(make, what).await?;
            names.push(what);
        }
        Ok(Pass::new(format!(
            "ID token in the token response to the web example's callback: {} refused, no session",
            names.join(", ")
        )))
    }
}

fn named(mutations: Vec<Mutation>) -> Vec<(String, Mutation)> {
    mutations
        .into_iter()
        .map(|m| (mutation_name(&m), m))
        .collect()
}

/// D-01, ID token.
pub async fn d01_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::AlgNone(NoneSpelling::Lower)]))
        .await
}

/// D-02, ID token.
pub async fn d02_id_token() -> Outcome {
    let spellings = [
        NoneSpelling::Capitalised,
        NoneSpelling::Upper,
        NoneSpelling::Mixed,
    ];
    IdBench::start()
        .await?
        .reject_all(named(
            spellings.into_iter().map(Mutation::AlgNone).collect(),
        ))
        .await
}

/// D-03, ID token.
pub async fn d03_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(
            PublicKeyForm::ALL
                .into_iter()
                .map(Mutation::KeyConfusion)
                .collect(),
        ))
        .await
}

/// D-04, ID token: the issuer's own ES256 key, and HS256, outside the client's RS256 allowlist.
pub async fn d04_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let raw = crate::mint::Minter::new(
        &bench.web.issuer.issuer,
        crate::mint::Profile {
            sub: env::ALICE.into(),
            aud: vec![WEB_CLIENT.0.into()],
            client_id: WEB_CLIENT.0.into(),
        },
    )?;
    let kid = raw
        .es256_kid()
        .ok_or_else(|| Failure::setup("the issuer publishes no ES256 key"))?
        .to_owned();
    let es = bench.signed(
        json!({"alg": "ES256", "kid": kid, "typ": "JWT"}),
        Signer::IssuerEs256,
    )?;
    let minter = bench.web.issuer.issuer.mint();
    // Core 3.1.3.7 (8): HS256 keyed with the client secret is legitimate only for a client that
    // registered it; this client's allowlist is RS256.
    let hs: MakeIdToken = Box::new(move |login| {
        let claims = base(&minter, login).build().map_err(setup)?.claims;
        raw.sign_hs256(
            &json!({"alg": "HS256", "typ": "JWT"}).to_string(),
            &claims.to_string(),
            WEB_CLIENT.1.as_bytes(),
        )
    });
    bench
        .reject_raw(vec![
            ("ES256 by the issuer's own ES256 key", es),
            ("HS256 keyed with the client secret", hs),
        ])
        .await
}

/// D-05, ID token.
pub async fn d05_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::SignatureStripped]))
        .await
}

/// D-06, ID token.
pub async fn d06_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::PayloadTampered,
            Mutation::TamperedClaim("sub".into(), json!(env::BOB)),
            Mutation::SignatureFlipped,
        ]))
        .await
}

/// D-07, ID token.
pub async fn d07_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::ForeignKey]))
        .await
}

/// D-08, ID token.
pub async fn d08_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::EmbeddedJwk]))
        .await
}

/// D-09, ID token: and no fetch of the URLs.
pub async fn d09_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let kid = bench
        .web
        .issuer
        .issuer
        .keys()
        .into_iter()
        .find(|k| k.signing && k.alg == oidc_forge::config::SigningAlg::RS256)
        .map(|k| k.kid)
        .unwrap_or_default();
    let jwks = oidc_forge::forge::mint::attacker_jwks(&kid).map_err(setup)?;
    let server = AttackerServer::start(jwks).await?;
    let pass = bench
        .reject_all(vec![
            (
                "jku".into(),
                Mutation::Jku(format!("{}/jwks.json", server.url)),
            ),
            (
                "x5u".into(),
                Mutation::X5u(format!("{}/cert.pem", server.url)),
            ),
        ])
        .await?;
    ensure_eq!(server.hits(), 0, "requests to the attacker's server");
    Ok(Pass::new(format!(
        "{}; 0 requests to the attacker",
        pass.observed
    )))
}

/// D-10, ID token.
pub async fn d10_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::Kid("../../../../dev/null".into()),
            Mutation::Kid("' OR 1=1--".into()),
            Mutation::Kid("k".repeat(10 * 1024)),
        ]))
        .await
}

/// D-11, ID token: a rotated-in key is found after one refetch; an unknown kid is not.
pub async fn d11_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let report = bench
        .web
        .issuer
        .issuer
        .rotate_keys(std::time::Duration::from_secs(300))
        .map_err(setup)?;
    // Past the client's refetch cooldown: it fetched the keys for the twin a moment ago.
    bench.web.app_clock.advance(31);
    bench
        .accepts(bench.forge(Vec::new()), "signed by the rotated-in key")
        .await?;
    bench
        .rejects(bench.forge(vec![Mutation::UnknownKid]), "an unknown kid")
        .await?;
    Ok(Pass::new(format!(
        "ID token through the login: rotated-in kid {} accepted after a refetch; an unknown kid refused",
        report.signing_kid
    )))
}

/// D-13, ID token.
pub async fn d13_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    bench
        .accepts(bench.forge(vec![Mutation::NoKid]), "no kid, one RSA key")
        .await?;
    // The attacker's signature without a kid: trying every key must not find one that fits.
    let foreign = bench.signed(json!({"alg": "RS256", "typ": "JWT"}), Signer::Attacker)?;
    bench.rejects(foreign, "no kid, the attacker's key").await?;
    Ok(Pass::new(
        "ID token through the login without kid: accepted (one RSA key published); the attacker's without kid: refused",
    ))
}

/// D-14, ID token.
pub async fn d14_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let before = bench.web.issuer.issuer.mint();
    bench
        .web
        .issuer
        .issuer
        .rotate_keys(std::time::Duration::ZERO)
        .map_err(setup)?;
    bench.web.app_clock.advance(31);
    bench
        .accepts(
            bench.forge(Vec::new()),
            "the new key (the client refetches)",
        )
        .await?;
    let old: MakeIdToken = Box::new(move |login| base(&before, login).sign().map_err(setup));
    bench.rejects(old, "the rotated-out key").await?;
    Ok(Pass::new(
        "ID token through the login signed by a key rotated out (no grace) after the client refetched: refused",
    ))
}

/// D-15, ID token.
pub async fn d15_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let raw = crate::mint::Minter::new(
        &bench.web.issuer.issuer,
        crate::mint::Profile {
            sub: env::ALICE.into(),
            aud: vec![WEB_CLIENT.0.into()],
            client_id: WEB_CLIENT.0.into(),
        },
    )?;
    let minter = bench.web.issuer.issuer.mint();
    let header = json!({"alg": "PS256", "kid": raw.kid(), "typ": "JWT"}).to_string();
    let ps: MakeIdToken = Box::new(move |login| {
        let claims = base(&minter, login).build().map_err(setup)?.claims;
        raw.sign_rsa_variant(Algorithm::PS256, &header, &claims.to_string())
            .ok_or_else(|| Failure::setup("the issuer's RSA key is not at hand"))?
    });
    bench
        .reject_raw(vec![("PS256 signed with the key whose JWK says RS256", ps)])
        .await
}

/// D-16, ID token.
pub async fn d16_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::CritUnknown]))
        .await
}

/// D-17, ID token: typed as an access token, or as something else.
pub async fn d17_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::WrongTyp,
            Mutation::Typ("secevent+jwt".into()),
        ]))
        .await
}

/// D-18, ID token.
pub async fn d18_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![
            Mutation::ExpInMilliseconds,
            Mutation::ExpAsString,
            Mutation::SubNull,
        ]))
        .await
}

/// D-19, ID token: Core 3.1.3.7 (3)-(5).
pub async fn d19_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let pass = bench
        .reject_all(vec![
            ("wrong aud".into(), Mutation::WrongAudience),
            ("missing aud".into(), Mutation::MissingAudience),
            (
                "untrusted second aud".into(),
                Mutation::UntrustedSecondAudience,
            ),
            (
                "untrusted second aud without azp".into(),
                Mutation::UntrustedSecondAudienceWithoutAzp,
            ),
        ])
        .await?;
    bench
        .rejects(
            bench.forge_with(|b| b.claim("azp", "another-client")),
            "azp another client",
        )
        .await?;
    bench
        .accepts(
            bench.forge_with(|b| b.audience(WEB_CLIENT.0)),
            "a single-element aud array",
        )
        .await?;
    Ok(Pass::new(format!(
        "{}; azp another client refused; a single-element aud array accepted",
        pass.observed
    )))
}

/// D-20, ID token.
pub async fn d20_id_token() -> Outcome {
    IdBench::start()
        .await?
        .reject_all(named(vec![Mutation::DuplicateClaim(
            "sub".into(),
            json!(env::BOB),
        )]))
        .await
}

/// A valid token of this login cut up by `cut`.
fn cut_up(bench: &IdBench, cut: fn(&str) -> String) -> MakeIdToken {
    let minter = bench.web.issuer.issuer.mint();
    Box::new(move |login| Ok(cut(&base(&minter, login).sign().map_err(setup)?)))
}

/// D-21, ID token.
pub async fn d21_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let tokens: Vec<(&str, MakeIdToken)> = vec![
        (
            "two segments",
            cut_up(&bench, |t| {
                t.rsplit_once('.')
                    .map(|(m, _)| m.to_owned())
                    .unwrap_or_default()
            }),
        ),
        ("four segments", cut_up(&bench, |t| format!("{t}.AAAA"))),
        ("padding", cut_up(&bench, |t| t.replacen('.', "=.", 1))),
        (
            "array payload",
            cut_up(&bench, |t| {
                let s: Vec<&str> = t.split('.').collect();
                format!("{}.{}.{}", s[0], b64(b"[1]"), s[2])
            }),
        ),
        ("empty", IdBench::raw(String::new())),
    ];
    bench.reject_raw(tokens).await
}

/// D-22, ID token.
pub async fn d22_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let tokens: Vec<(&str, MakeIdToken)> = vec![
        (
            "JWS JSON serialization",
            cut_up(&bench, |t| {
                let s: Vec<&str> = t.split('.').collect();
                json!({"payload": s[1], "signatures": [{"protected": s[0], "signature": s[2]}]})
                    .to_string()
            }),
        ),
        (
            "five-part JWE",
            cut_up(&bench, |t| {
                let s: Vec<&str> = t.split('.').collect();
                format!("{}.AAAA.AAAA.{}.AAAA", s[0], s[1])
            }),
        ),
    ];
    bench.reject_raw(tokens).await
}

/// D-23, ID token.
pub async fn d23_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let big = bench.forge_with(|b| b.claim("pad", "x".repeat(64 * 1024)));
    bench.reject_raw(vec![("a 64 KiB claim", big)]).await
}

/// D-24, ID token: from a second issuer with the same kid (the trusted server's tenant).
pub async fn d24_id_token() -> Outcome {
    let bench = IdBench::start().await?;
    let kid = bench
        .web
        .issuer
        .issuer
        .keys()
        .into_iter()
        .find(|k| k.signing && k.alg == oidc_forge::config::SigningAlg::RS256)
        .map(|k| k.kid)
        .unwrap_or_default();
    let (other, server) = second_issuer(&bench.web.issuer.issuer, &kid).await?;
    let foreign = other.mint();
    let make: MakeIdToken = Box::new(move |login| base(&foreign, login).sign().map_err(setup));
    let pass = bench
        .reject_raw(vec![(
            "an ID token of a second issuer (a tenant of the same server) with the same kid",
            make,
        )])
        .await?;
    drop(server);
    Ok(pass)
}
