//! A PostgreSQL URL, which may carry a password: shown only with the password masked.

use std::fmt;

/// `postgres://` or `postgresql://` as libpq spells it. `Debug` and `Display` mask the
/// password (in the user part or a `password=` parameter); [`PostgresUrl::expose`] gives the
/// URL itself, for the store alone.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    pub(super) fn new(url: &str) -> Self {
        Self(url.to_owned())
    }

    /// The URL with its password, to connect with. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn masked(&self) -> String {
        let url = &self.0;
        let authority_start = url.find("://").map_or(0, |i| i + 3);
        let authority_end = url[authority_start..].find(['/', '?']).map_or(url.len(), |i| authority_start + i);
        let mut out = String::with_capacity(url.len());
        match url[authority_start..authority_end].rfind('@') {
            Some(at) => {
                let userinfo = &url[authority_start..authority_start + at];
                out.push_str(&url[..authority_start]);
                match userinfo.split_once(':') {
                    Some((user, _)) => out.push_str(&format!("{user}:***")),
                    None => out.push_str(userinfo),
                }
                out.push_str(&url[authority_start + at..authority_end]);
            }
            None => out.push_str(&url[..authority_end]),
        }
        let rest = &url[authority_end..];
        match rest.split_once('?') {
            Some((path, query)) => {
                let params: Vec<&str> = query
                    .split('&')
                    .map(|p| if p.to_ascii_lowercase().starts_with("password=") { "password=***" } else { p })
                    .collect();
                out.push_str(&format!("{path}?{}", params.join("&")));
            }
            None => out.push_str(rest),
        }
        out
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({:?})", self.masked())
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::PostgresUrl;

    #[test]
    fn the_password_is_masked_wherever_it_is() {
        for (url, shown) in [
            ("postgres://gate:s3cr@t@db:5432/g?sslmode=require", "postgres://gate:***@db:5432/g?sslmode=require"),
            ("postgresql://gate@db/g", "postgresql://gate@db/g"),
            ("postgres://db/g?user=gate&password=s3cr@t", "postgres://db/g?user=gate&password=***"),
            ("postgres://gate:s3cr@t@db", "postgres://gate:***@db"),
        ] {
            let url = PostgresUrl::new(url);
            assert_eq!(url.masked(), shown);
            assert!(!format!("{url:?} {url}").contains("s3cr"));
        }
    }
}
