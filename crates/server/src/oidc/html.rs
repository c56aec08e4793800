//! The few HTML pages the protocol needs: sign-in, sign-out, errors, form_post. Every
//! value is escaped; every page forbids framing and allows no script but its own.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use gatehouse_provider::authorize::RequestingClient;
use gatehouse_registry::SecretValue;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;display:flex;min-height:100vh;\
align-items:center;justify-content:center}main{background:#fff;padding:2rem 2.5rem;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.15);width:min(22rem,90vw)}h1{font-size:1.3rem;margin-top:0}label{display:block;\
margin:.8rem 0 .3rem}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;\
font-size:1rem}button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#1f5fa8;color:#fff;\
border:0;border-radius:4px;cursor:pointer}.error{color:#a40000;background:#fdecec;padding:.5rem;border-radius:4px}.app{color:#444;margin-top:-.5rem}";

/// A fresh CSP nonce for a page's one script (256 random bits).
fn nonce() -> String {
    SecretValue::generate().map(|s| s.expose().to_owned()).unwrap_or_default()
}

/// A page with the security headers every one of ours carries.
/// `form_action` is the CSP source list forms may post to: `'self'`, or the client's
/// origin for form_post.
pub fn page(
    status: StatusCode,
    title: &str,
    body: &str,
    script_nonce: Option<&str>,
    form_action: &str,
) -> HttpResponse {
    let script = script_nonce.map_or_else(|| "'none'".to_owned(), |n| format!("'nonce-{n}'"));
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {script}; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
             content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head>\
             <body><main>{body}</main></body></html>",
            text(title)
        ))
}

/// The sign-in form: fields `username` and `password`, a CSRF token, the tenant, and the
/// request to come back to. The user name field's id is `email` and the button's `submit`,
/// as on the product's sign-in page, where the vendor's browser tests look for them; and, when known, the app that asks (its name, and a link to
/// its `ClientUri`).
pub fn login(
    csrf: &str,
    tenant: &str,
    return_to: &str,
    user_name: &str,
    app: Option<&RequestingClient>,
    message: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let error = message.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", text(m))).unwrap_or_default();
    let asking = app.map(asking).unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>{asking}{error}<form method=\"post\" action=\"/identity/account/login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"tenant\" value=\"{}\">\
         <input type=\"hidden\" name=\"return\" value=\"{}\">\
         <label for=\"email\">User name</label><input type=\"text\" id=\"email\" name=\"username\" value=\"{}\" \
         autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label><input type=\"password\" id=\"password\" name=\"password\" \
         autocomplete=\"current-password\" required><button type=\"submit\" id=\"submit\">Sign in</button></form>",
        attr(csrf),
        attr(tenant),
        attr(return_to),
        attr(user_name)
    );
    page(status, "Sign in", &body, None, "'self'")
}

/// "to continue to <App>", the name linked to its `ClientUri` when that is an http(s) URL.
fn asking(app: &RequestingClient) -> String {
    let name = text(&app.name);
    let link = app.client_uri.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let shown = match link {
        Some(uri) => format!("<a id=\"app\" href=\"{}\" rel=\"noopener noreferrer\">{name}</a>", attr(uri)),
        None => format!("<strong id=\"app\">{name}</strong>"),
    };
    format!("<p class=\"app\">to continue to {shown}</p>")
}

/// The page that ends a form submission whose next step may redirect to a client. Chromium
/// applies the page's CSP `form-action` to every redirect that follows a form submission, so
/// a 303 from our form to a chain that ends at the client's origin would be blocked by
/// `form-action 'self'`. This page ends the submission; the navigation it starts is a new
/// one, to which `form-action` does not apply (docs/decisions.md, "Form submissions that
/// lead to a client end in a page of ours"). `target` is ours, or a registered URI.
///
/// The script moves on 300 ms after the page has loaded; without script, the refresh does
/// after 1 s, and the link is there. A navigation that starts while the page loads (a
/// refresh of 0 s, or a script at once) is waited for by WebDriver's click, which deadlocks
/// the vendor's own Selenium test against its one-shot callback listener.
pub fn continue_to(heading: &str, target: &str) -> HttpResponse {
    let nonce = nonce();
    let body = format!(
        "<meta http-equiv=\"refresh\" content=\"1;url={0}\"><h1>{1}</h1>\
         <p><a id=\"continue\" href=\"{0}\">Continue</a></p><script nonce=\"{nonce}\">\
         addEventListener(\"load\",function(){{setTimeout(function(){{\
         location.replace(document.getElementById(\"continue\").href)}},300)}})</script>",
        attr(target),
        text(heading)
    );
    page(StatusCode::OK, heading, &body, Some(&nonce), "'self'")
}

/// Asks the person before a session ends (RP-Initiated Logout 1.0 §2): a form that posts
/// the end-session request back, with a CSRF token.
pub fn confirm_logout(csrf: &str, params: &[(String, String)]) -> HttpResponse {
    let fields: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", attr(k), attr(v)))
        .collect();
    let body = format!(
        "<h1>Sign out?</h1><p>Do you want to sign out?</p><form method=\"post\" action=\"/identity/account/logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{fields}\
         <button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
        attr(csrf)
    );
    page(StatusCode::OK, "Sign out", &body, None, "'self'")
}

pub fn signed_out() -> HttpResponse {
    message(StatusCode::OK, "Signed out", "You are signed out. You may close this page.")
}

pub fn message(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    page(status, title, &format!("<h1>{}</h1><p>{}</p>", text(title), text(message)), None, "'self'")
}

/// OAuth 2.0 Form Post Response Mode: a form that posts itself to the client.
pub fn form_post(action: &str, params: &[(String, String)]) -> HttpResponse {
    let nonce = nonce();
    let origin = url::Url::parse(action).map(|u| u.origin().ascii_serialization()).unwrap_or_else(|_| "'none'".into());
    let fields: String = params
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", attr(k), attr(v)))
        .collect();
    let body = format!(
        "<form method=\"post\" action=\"{}\">{fields}<noscript><button type=\"submit\">Continue</button></noscript></form>\
         <script nonce=\"{nonce}\">document.forms[0].submit()</script>",
        attr(action)
    );
    page(StatusCode::OK, "Signing in", &body, Some(&nonce), &origin)
}
