//! Which issuer identifier a server serves. The identifier is what clients compare `iss` and
//! discovery's `issuer` with (OpenID Discovery 4.3, RFC 9207), so it must name where the server
//! actually listens: a configuration saying `http://127.0.0.1:9000` served on another port
//! would hand out tokens no client accepts, with every endpoint in discovery pointing nowhere.

use std::net::{IpAddr, SocketAddr};

use url::Url;

/// The identifier a server bound to `bound` serves, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerIdentifier {
    pub url: String,
    pub source: IssuerSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerSource {
    /// Given as the issuer URL (`--issuer-url`): used as it is, since a proxy or a port
    /// mapping may put the issuer at an address other than the socket's.
    Explicit,
    /// The configuration's `issuer`, as it is: its port is the bound one, or it is not a
    /// loopback URL (a name a proxy serves).
    Configured,
    /// The configuration's loopback `issuer` with the port of the socket actually bound (the
    /// configured one was overridden by `--port`, 0 for any free one) and the scheme served.
    ConfiguredWithBoundPort { configured: String },
    /// None configured: the scheme served and the bound address.
    Bound,
}

/// `explicit`, else `configured` (on a loopback host, with the bound port and the served
/// scheme), else the bound address; `tls` says whether the socket serves `https`.
pub fn identifier(
    explicit: Option<&str>,
    configured: Option<&str>,
    bound: SocketAddr,
    tls: bool,
) -> IssuerIdentifier {
    let scheme = if tls { "https" } else { "http" };
    if let Some(url) = explicit {
        return IssuerIdentifier {
            url: url.to_owned(),
            source: IssuerSource::Explicit,
        };
    }
    let Some(configured) = configured else {
        return IssuerIdentifier {
            url: format!("{scheme}://{bound}"),
            source: IssuerSource::Bound,
        };
    };
    match Url::parse(configured) {
        Ok(mut url)
            if is_loopback(&url)
                && (url.scheme() != scheme
                    || url.port_or_known_default() != Some(bound.port())) =>
        {
            // http and https URLs with a host take any port and each other's scheme: the
            // errors are unreachable.
            let _ = url.set_scheme(scheme);
            let _ = url.set_port(Some(bound.port()));
            IssuerIdentifier {
                url: without_trailing_slash(url.as_str(), configured),
                source: IssuerSource::ConfiguredWithBoundPort {
                    configured: configured.to_owned(),
                },
            }
        }
        _ => IssuerIdentifier {
            url: configured.to_owned(),
            source: IssuerSource::Configured,
        },
    }
}

/// The address to bind when none is given, from a loopback issuer (RFC 8252 8.3's hosts): its
/// IP literal (`127.0.0.2`, `[::1]`; `localhost` is 127.0.0.1) and its port when the URL has one,
/// so that `serve --config FILE` listens where FILE's issuer says.
pub fn configured_loopback_address(configured: &str) -> (Option<IpAddr>, Option<u16>) {
    let Ok(url) = Url::parse(configured) else {
        return (None, None);
    };
    if !is_loopback(&url) {
        return (None, None);
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    (ip, url.port())
}

/// `127.0.0.0/8`, `[::1]` or `localhost` (RFC 8252 8.3, RFC 6761 6.3).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `url` serialized as the configuration wrote it: `Url` adds a `/` to an empty path, which
/// an issuer identifier without a path does not have.
fn without_trailing_slash(serialized: &str, configured: &str) -> String {
    match serialized.strip_suffix('/') {
        Some(stripped) if !configured.ends_with('/') => stripped.to_owned(),
        _ => serialized.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_loopback_issuer_takes_the_bound_port() {
        let id = identifier(None, Some("http://127.0.0.1:9000"), bound(41234), false);
        assert_eq!(id.url, "http://127.0.0.1:41234");
        assert_eq!(
            id.source,
            IssuerSource::ConfiguredWithBoundPort {
                configured: "http://127.0.0.1:9000".into()
            }
        );
        let id = identifier(None, Some("http://localhost:9000/tenant"), bound(5), false);
        assert_eq!(id.url, "http://localhost:5/tenant");
        let id = identifier(None, Some("http://[::1]"), bound(8080), false);
        assert_eq!(id.url, "http://[::1]:8080");
        let id = identifier(None, Some("http://localhost:9000"), bound(9000), true);
        assert_eq!(id.url, "https://localhost:9000", "TLS makes it https");
    }

    #[test]
    fn a_matching_port_a_proxy_name_or_an_explicit_url_is_kept() {
        let id = identifier(None, Some("http://127.0.0.1:9000"), bound(9000), false);
        assert_eq!(id.url, "http://127.0.0.1:9000");
        assert_eq!(id.source, IssuerSource::Configured);
        let id = identifier(
            None,
            Some("https://auth.example.test/t"),
            bound(9000),
            false,
        );
        assert_eq!(id.url, "https://auth.example.test/t");
        assert_eq!(id.source, IssuerSource::Configured);
        let id = identifier(
            Some("http://localhost:9000"),
            Some("http://x:1"),
            bound(8080),
            true,
        );
        assert_eq!(id.url, "http://localhost:9000");
        assert_eq!(id.source, IssuerSource::Explicit);
        let id = identifier(None, None, bound(7), false);
        assert_eq!(id.url, "http://127.0.0.1:7");
        assert_eq!(id.source, IssuerSource::Bound);
        let id = identifier(None, None, bound(7), true);
        assert_eq!(id.url, "https://127.0.0.1:7");
    }

    #[test]
    fn the_default_address_is_the_loopback_issuers_own() {
        let address = |url: &str| configured_loopback_address(url);
        assert_eq!(
            address("http://127.0.0.1:9000"),
            (Some("127.0.0.1".parse().unwrap()), Some(9000))
        );
        assert_eq!(
            address("http://[::1]:81/x"),
            (Some("::1".parse().unwrap()), Some(81))
        );
        assert_eq!(address("http://LOCALHOST:81/x"), (None, Some(81)));
        assert_eq!(address("http://localhost"), (None, None));
        assert_eq!(address("https://auth.example.test:9443"), (None, None));
        assert_eq!(address("not a url"), (None, None));
    }
}
