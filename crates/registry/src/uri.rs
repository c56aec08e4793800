//! The URI rules of the contract: redirect and logout URIs, CORS origins.

use url::{Host, Url};

use crate::error::Invalid;

/// Longest URI we store; far beyond any real redirect URI, short of abuse.
pub const URI_MAX: usize = 2000;

/// `127.0.0.1`, `[::1]` and `localhost`: the hosts on which plain `http` is allowed
/// (RFC 8252 §7.3 and §8.3: native apps and development).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A redirect or post-logout redirect URI: absolute, no fragment, no wildcard, no
/// credentials, `https` or `http` on a loopback host. The string is kept exactly as
/// given, because matching at the authorize step compares strings exactly.
pub fn redirect_uri(field: &str, raw: &str) -> Result<(), Invalid> {
    let bad = |rule: &str| Err(Invalid::new(field, rule));
    if raw.is_empty() {
        return bad("must not be empty");
    }
    if raw.len() > URI_MAX {
        return bad("must be at most 2000 characters");
    }
    if raw.contains('*') {
        return bad("must not contain a wildcard (*)");
    }
    if raw.contains('#') {
        return bad("must not contain a fragment (#)");
    }
    if raw.trim() != raw {
        return bad("must not begin or end with white space");
    }
    let Ok(url) = Url::parse(raw) else {
        return bad("must be an absolute URI, such as https://app.example.com/callback");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return bad("must not contain a user name or password");
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => bad("must use https; http is allowed only on a loopback host (127.0.0.1, [::1], localhost)"),
        _ => bad("must use https (or http on a loopback host)"),
    }
}

/// A CORS origin: exactly `scheme://host[:port]`, returned normalised (lower-case scheme
/// and host, default port dropped), which is how browsers send the `Origin` header.
pub fn cors_origin(field: &str, raw: &str) -> Result<String, Invalid> {
    let bad = |rule: &str| Err(Invalid::new(field, rule));
    if raw.contains('*') {
        return bad("must not contain a wildcard (*)");
    }
    let Some((_, rest)) = raw.split_once("://") else {
        return bad("must be an origin of the form scheme://host[:port]");
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) || raw.trim() != raw {
        return bad("must be exactly scheme://host[:port], without path, trailing slash, query or credentials");
    }
    let Ok(url) = Url::parse(raw) else {
        return bad("must be an origin of the form scheme://host[:port]");
    };
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return bad("must use the http or https scheme");
    }
    Ok(url.origin().ascii_serialization())
}

/// `ClientUri` and `LogoUri`: informational links, absolute http(s).
pub fn web_link(field: &str, raw: &str) -> Result<(), Invalid> {
    match Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && raw.len() <= URI_MAX => Ok(()),
        _ => Err(Invalid::new(field, "must be an absolute http or https URI")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_follow_the_contract() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:9000/cb",
            "http://localhost:3000/cb",
        ] {
            assert!(redirect_uri("RedirectUris[0]", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "app.example.com/cb",
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://*.example.com/cb",
            "https://user:pw@app.example.com/cb",
            "ftp://app.example.com/cb",
            "javascript:alert(1)",
            " https://app.example.com/cb",
        ] {
            let err = redirect_uri("RedirectUris[0]", bad).expect_err(bad);
            assert_eq!(err.field, "RedirectUris[0]");
        }
    }

    #[test]
    fn cors_origins_are_exact_and_normalised() {
        assert_eq!(cors_origin("f", "HTTPS://App.Example.COM").as_deref(), Ok("https://app.example.com"));
        assert_eq!(cors_origin("f", "https://app.example.com:443").as_deref(), Ok("https://app.example.com"));
        assert_eq!(cors_origin("f", "http://localhost:3000").as_deref(), Ok("http://localhost:3000"));
        for bad in [
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://*.example.com",
            "app.example.com",
            "https://",
            "ftp://files.example.com",
            "https://a.example.com?x",
        ] {
            assert!(cors_origin("f", bad).is_err(), "{bad}");
        }
    }
}
