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
    between(page, &format!("name=\"{name}\" value=\""), "\"").map(html_unescape)
}

/// The text between `before` and the next `after`.
fn between<'a>(page: &'a str, before: &str, after: &str) -> Option<&'a str> {
    let start = page.find(before)? + before.len();
    let end = page[start..].find(after)? + start;
    Some(&page[start..end])
}

/// Where a "continue" page (a meta refresh) leads.
pub fn continue_link(page: &str) -> Option<String> {
    between(page, "<a id=\"continue\" href=\"", "\"").map(html_unescape)
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

    /// A browser whose cookies `jar` keeps, where the test can read them.
    pub fn with_jar(server: &TestServer, jar: std::sync::Arc<reqwest::cookie::Jar>) -> Self {
        let http = Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("browser");
        Self { http, base: server.base.clone() }
    }

    /// The same browser (its cookies) talking to another instance of the server.
    pub fn to(&self, server: &TestServer) -> Self {
        Self { http: self.http.clone(), base: server.base.clone() }
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
            return self.go_to(response.headers()["location"].to_str().expect("location"));
        }
        let page = response.text().await.expect("body");
        // The page that ends a sign-in or logout form refreshes itself to the next step,
        // as a browser does.
        if let Some(next) = continue_link(&page) {
            return self.go_to(&next);
        }
        Ok(Landing::Page(status, page))
    }

    /// A step to `location`: `Err` to keep following within our server, or the landing at
    /// the client.
    fn go_to(&self, location: &str) -> Result<Landing, String> {
        let absolute = Url::parse(&self.base).expect("base").join(location).expect("join");
        if absolute.as_str().starts_with(&self.base) {
            return Err(absolute.to_string());
        }
        Ok(Landing::Redirect(absolute))
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

    /// Submits the form of one of our pages as it is (its hidden fields), as pressing its
    /// button does, and follows on.
    pub async fn submit(&self, page: &str) -> Landing {
        let action = between(page, "<form method=\"post\" action=\"", "\"").expect("a form");
        let mut fields = Vec::new();
        let mut rest = page;
        let marker = "<input type=\"hidden\" name=\"";
        while let Some(at) = rest.find(marker) {
            let input = &rest[at..];
            let name = html_unescape(between(input, marker, "\"").expect("name"));
            fields.push((name.clone(), hidden(input, &name).expect("value")));
            rest = &input[marker.len()..];
        }
        let url = Url::parse(&self.base).expect("base").join(&html_unescape(action)).expect("join");
        let response = self.http.post(url).form(&fields).send().await.expect("post");
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
