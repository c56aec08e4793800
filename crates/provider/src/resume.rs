//! Resuming an authorize request after the sign-in it asked for.
//!
//! A request with `prompt=login` or `max_age` sends the person to sign in, then back to the
//! same request. If the way back were the request as it stood, it would ask for the sign-in
//! again, for ever; if it were the request without `prompt`/`max_age`, anyone replaying it
//! with an old session would get a code without signing in (issue 9, item 5). So the way
//! back is the request as it stood plus a mark, signed by the server, of when it started:
//! a request carrying a valid mark is answered only for a session that signed in after it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use time::{Duration, OffsetDateTime};

use crate::params::Params;

/// The parameter carrying the mark. Unknown to clients, ignored if they sent one.
pub const MARK: &str = "gatehouse_signin_after";

/// How long the way back stays usable: a sign-in page left open longer starts again.
pub const MARK_LIFETIME: Duration = Duration::minutes(30);

/// What `max_age` allows a sign-in made for the request, at least: the time the browser
/// takes to come back from the sign-in page (so that `max_age=0` does not send it round
/// for ever).
pub const COMING_BACK: Duration = Duration::minutes(1);

/// Signs and checks marks.
pub(crate) struct Resume {
    key: hmac::Key,
}

impl Resume {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    /// The authorize URL to come back to after signing in; with `fresh_after`, a sign-in
    /// that must happen after it.
    pub(crate) fn way_back(&self, params: &Params, fresh_after: Option<OffsetDateTime>) -> String {
        let query = request_query(params);
        let Some(started) = fresh_after.map(OffsetDateTime::unix_timestamp) else {
            return format!("/identity/connect/authorize?{query}");
        };
        let mark = format!("{started}.{}", self.tag(started, &query));
        let sep = if query.is_empty() { "" } else { "&" };
        let mark = url::form_urlencoded::Serializer::new(String::new()).append_pair(MARK, &mark).finish();
        format!("/identity/connect/authorize?{query}{sep}{mark}")
    }

    /// When a valid mark says the request started, if it carries one made for exactly this
    /// request and not older than [`MARK_LIFETIME`].
    pub(crate) fn started(&self, params: &Params, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let mark = params.get(MARK).ok()??;
        let (started, tag) = mark.split_once('.')?;
        let started: i64 = started.parse().ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let query = request_query(params);
        hmac::verify(&self.key, message(started, &query).as_bytes(), &tag).ok()?;
        let started = OffsetDateTime::from_unix_timestamp(started).ok()?;
        (started <= now && now - started <= MARK_LIFETIME).then_some(started)
    }

    fn tag(&self, started: i64, query: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, message(started, query).as_bytes()))
    }
}

fn message(started: i64, query: &str) -> String {
    format!("authorize-resume\n{started}\n{query}")
}

/// The request's parameters without any mark, in their order, form-encoded: what a mark
/// signs, so that it cannot be moved to another request.
fn request_query(params: &Params) -> String {
    let kept = params.pairs().iter().filter(|(k, _)| k != MARK);
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

    fn params_of(url: &str) -> Params {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        Params::new(url::form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    fn request() -> Params {
        Params::new(vec![("client_id".into(), "c".into()), ("prompt".into(), "login".into())])
    }

    #[test]
    fn a_mark_holds_for_its_own_request_only_and_not_for_ever() {
        let resume = Resume::new(b"secret");
        let back = params_of(&resume.way_back(&request(), Some(NOW)));
        assert_eq!(resume.started(&back, NOW + Duration::minutes(1)), Some(NOW));
        assert_eq!(resume.started(&back, NOW + MARK_LIFETIME + Duration::seconds(1)), None, "too old");
        assert_eq!(resume.started(&back, NOW - Duration::seconds(1)), None, "from the future");
        assert_eq!(Resume::new(b"other").started(&back, NOW), None, "another server's key");
        let mut moved = back.pairs().to_vec();
        moved[0].1 = "d".into();
        assert_eq!(resume.started(&Params::new(moved), NOW), None, "moved to another request");
        let mark = back.get(MARK).expect("once").expect("a mark").to_owned();
        let earlier = mark.replacen(&NOW.unix_timestamp().to_string(), "0", 1);
        let forged = Params::new([request().pairs().to_vec(), vec![(MARK.into(), earlier)]].concat());
        assert_eq!(resume.started(&forged, NOW), None, "a changed time");
    }

    #[test]
    fn a_way_back_replaces_an_earlier_mark() {
        let resume = Resume::new(b"secret");
        let first = params_of(&resume.way_back(&request(), Some(NOW)));
        let again = resume.way_back(&first, Some(NOW + Duration::minutes(5)));
        assert_eq!(again.matches(MARK).count(), 1, "{again}");
        assert_eq!(resume.started(&params_of(&again), NOW + Duration::minutes(5)), Some(NOW + Duration::minutes(5)));
        let plain = resume.way_back(&first, None);
        assert_eq!(plain, "/identity/connect/authorize?client_id=c&prompt=login");
    }
}
