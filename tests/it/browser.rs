//! A user at a browser: follows our redirects, fills in the sign-in form, and stops at the
//! first redirect that leaves the server (to the client), as a real browser would hand it
//! to the app.

use reqwest::{Client, StatusCode};
use url::Url;

use crate::support::{TestServer, ADMIN_PASSWORD};

pub struct Browser {
    pub http: Client,
    base: String,
}

/// Where the browser ended up.
#[derive(Debug)]
pub enum Landing {
    /// A redirect to the client (query or fragment).
    Redirect(Url),
    /// An HTML page of ours (an error page, a form_post form, a message).
    Page(StatusCode, String),
}

impl Landing {
    pub fn redirect(self) -> Url {
        match self {
            Landing::Redirect(u) => u,
            Landing::Page(status, body) => panic!("expected a redirect to the client, got {status}: {body}"),
        }
    }

    /// A parameter of the redirect's query or fragment.
    pub fn param(url: &Url, name: &str) -> Option<String> {
        let from_query = url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        from_query.or_else(|| {
            url.fragment().and_then(|f| {
                url::form_urlencoded::parse(f.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
            })
        })
    }
}

/// The value of a hidden input in one of our pages.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(html_unescape(&page[start..end]))
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

impl Browser {
    pub fn new(server: &TestServer) -> Self {
        let http =
            Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("browser");
        Self { http, base: server.base.clone() }
    }

    /// Follows redirects within our server; stops at the client or at a page.
    pub async fn visit(&self, url: &str) -> Landing {
        let mut next = url.to_owned();
        for _ in 0..10 {
            let response = self.http.get(&next).send().await.expect("get");
            match self.land(response).await {
                Ok(landing) => return landing,
                Err(location) => next = location,
            }
        }
        panic!("too many redirects");
    }

    /// Answers the landing, or `Err(next URL)` to keep following.
    async fn land(&self, response: reqwest::Response) -> Result<Landing, String> {
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()["location"].to_str().expect("location").to_owned();
            let absolute = Url::parse(&self.base).expect("base").join(&location).expect("join");
            if absolute.as_str().starts_with(&self.base) {
                return Err(absolute.to_string());
            }
            return Ok(Landing::Redirect(absolute));
        }
        Ok(Landing::Page(status, response.text().await.expect("body")))
    }

    /// Posts the sign-in form on `page` with the given credentials and follows on.
    pub async fn sign_in(&self, page: &str, user: &str, password: &str) -> Landing {
        self.sign_in_with(page, user, password, None).await
    }

    pub async fn sign_in_with(&self, page: &str, user: &str, password: &str, csrf: Option<&str>) -> Landing {
        let form = [
            ("csrf", csrf.map(str::to_owned).or_else(|| hidden(page, "csrf")).expect("csrf")),
            ("tenant", hidden(page, "tenant").expect("tenant")),
            ("return", hidden(page, "return").expect("return")),
            ("username", user.to_owned()),
            ("password", password.to_owned()),
        ];
        let response =
            self.http.post(format!("{}/identity/account/login", self.base)).form(&form).send().await.expect("post");
        match self.land(response).await {
            Ok(landing) => landing,
            Err(next) => self.visit(&next).await,
        }
    }

    /// Visits an authorize URL, signs in as the administrator if asked, and answers where
    /// the browser lands.
    pub async fn authorize_as_admin(&self, url: &str) -> Landing {
        match self.visit(url).await {
            Landing::Page(StatusCode::OK, page) if page.contains("name=\"password\"") => {
                self.sign_in(&page, "admin", ADMIN_PASSWORD).await
            }
            other => other,
        }
    }
}
