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

/// Whether a presented redirect (or post-logout redirect) URI is the registered one: the
/// same string, byte for byte (RFC 9700 §4.1.3), with one exception: a registered `http`
/// loopback IP literal matches any port (RFC 8252 §7.3: native apps listen on an ephemeral
/// port). The comparison is textual, never of parsed URLs, which would forgive what a
/// parser normalises: whitespace and control characters around or inside the URI, `..`
/// segments, percent-encodings. `localhost` is a name, not an IP literal: no exception.
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    ["http://127.0.0.1", "http://[::1]"].iter().any(|host| {
        match (registered.strip_prefix(host), presented.strip_prefix(host)) {
            (Some(r), Some(p)) => without_port(r).is_some_and(|r| Some(r) == without_port(p)),
            _ => false,
        }
    })
}

/// What follows the host of a loopback URI, without an explicit port (`:` and digits):
/// `None` when it does not continue with a port or a path (`http://127.0.0.1.evil/`).
fn without_port(after_host: &str) -> Option<&str> {
    let rest = match after_host.strip_prefix(':') {
        Some(port) => port.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => after_host,
    };
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
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
    // As for every URI we store (the OpenAPI document's schemathesis run found origins of
    // any length accepted: a host name may be long, a stored origin may not).
    if raw.len() > URI_MAX {
        return bad("must be at most 2000 characters");
    }
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
        let long = format!("https://{}.example.com", "a".repeat(URI_MAX));
        assert_eq!(cors_origin("f", &long).map_err(|e| e.rule), Err("must be at most 2000 characters".to_owned()));
    }
}

#[cfg(test)]
mod redirect_tests {
    use super::redirect_uri_matches;

    #[test]
    fn redirect_uris_match_as_strings_with_the_loopback_port_exception() {
        assert!(redirect_uri_matches("https://a.example.com/cb", "https://a.example.com/cb"));
        for no in [
            "https://a.example.com/cb/",
            "https://a.example.com/CB",
            "https://a.example.com/cb?x=1",
            "https://a.example.com:443/cb",
            " https://a.example.com/cb",
            "https://a.example.com/cb ",
            "https://a.example.com/x/../cb",
            "https://a.example.com/c%62",
        ] {
            assert!(!redirect_uri_matches("https://a.example.com/cb", no), "{no:?}");
        }
        assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb"));
        assert!(redirect_uri_matches("http://127.0.0.1:9/cb", "http://127.0.0.1/cb"));
        assert!(redirect_uri_matches("http://[::1]:8080/cb", "http://[::1]:9/cb"));
        for no in [
            "\thttp://127.0.0.1:9/cb",
            "http://127.0.0.1:9/cb ",
            "http://127.0.0.1:9/x/../cb",
            "http://127.0.0.1:9/c%09b",
            "http://127.0.0.1:9/c\u{0}b",
            "http://127.0.0.1:5/other",
            "http://127.0.0.2:5/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://127.0.0.1:9@evil.example/cb",
            "http://127.0.0.1:/cb/..",
        ] {
            assert!(!redirect_uri_matches("http://127.0.0.1:9/cb", no), "{no:?}");
        }
        assert!(!redirect_uri_matches("http://localhost/cb", "http://localhost:5/cb"), "names are not IP literals");
    }
}
