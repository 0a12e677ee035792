//! Group D: forged, malformed and misdirected tokens. The access-token forgeries run against
//! an API target (the API example, or any app with `check`); the browser attacks (code
//! injection, login CSRF) run against the web example; the issuer-side rows call the issuer.
//! Every hostile case is preceded by its valid twin.
//!
//! - `algorithms`: `alg: none`, key confusion, other algorithms, broken signatures (D-01 to D-06, D-15);
//! - `keys`: where the key comes from and which it is (D-07 to D-14);
//! - `claims`: header and claim defects, malformed and oversized tokens, another issuer (D-16 to D-24);
//! - `flows`: attacks on the browser flow and the issuer's configuration (D-25 to D-29);
//! - `id_token`: the ID-token halves, through the web example's login.

mod algorithms;
mod claims;
mod flows;
mod id_token;
mod keys;

pub use algorithms::*;
pub use claims::*;
pub use flows::*;
pub use id_token::*;
pub use keys::*;

use serde_json::Value;

use crate::http::shorten;
use crate::runner::api_flow::twin;
use crate::scenario::Failure;
use crate::target::{ApiTarget, Route};

/// The protected route every access-token forgery is presented on, after its valid twin.
async fn route_with_twin(target: &ApiTarget) -> Result<&Route, Failure> {
    let route = target.protected()?;
    twin(target, route).await?;
    Ok(route)
}

/// Presents `token` raw in the header and expects a 4xx that is not a success (400, 401,
/// 413, 431): malformed input may be refused as a bad request as well as a bad token.
async fn refused(
    target: &ApiTarget,
    route: &Route,
    token: &str,
    what: &str,
) -> Result<u16, Failure> {
    let answer = target.bearer(route, token).await?;
    let refused = crate::runner::api_flow::refusal(&answer, what, "400/401/413/431")?;
    if refused && !matches!(answer.status, 400 | 401 | 413 | 431) {
        crate::scenario::unshaped(format!(
            "{what}: refused with {}, not 400, 401, 413 or 431: {}",
            answer.status,
            shorten(&answer.body)
        ))?;
    }
    Ok(answer.status)
}

/// The header and claims of the valid twin, as JSON text.
fn parts(target: &ApiTarget, route: &Route) -> (Value, Value) {
    (target.mint.access_header(), target.claims_for(route))
}

fn names(tokens: &[(String, String)]) -> String {
    tokens
        .iter()
        .map(|(what, _)| what.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
