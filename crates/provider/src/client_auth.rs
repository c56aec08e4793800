//! Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9):
//! `client_secret_basic`, `client_secret_post`, and `none` for public clients.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_registry::store::ClientStore;
use gatehouse_registry::{secret, Client, SecretValue};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{ErrorCode, ProtocolError};
use crate::params::Params;

/// What the client presented, before it is checked.
#[derive(Debug)]
struct Presented {
    client_id: String,
    secret: Option<SecretValue>,
    via_header: bool,
}

fn invalid_client(via_header: bool, detail: &str) -> ProtocolError {
    ProtocolError {
        via_header,
        ..ProtocolError::new(ErrorCode::InvalidClient, "client authentication failed").with_detail(detail)
    }
}

/// RFC 6749 §2.3.1: the id and secret are each form-url-encoded before they are joined
/// with a colon and base64-encoded, so they are decoded in that order.
fn parse_basic(header: &str) -> Result<(String, SecretValue), ProtocolError> {
    let bad = || invalid_client(true, "malformed Basic authorization header");
    let (scheme, value) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let form_decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    Ok((form_decode(id), SecretValue::new(form_decode(secret))))
}

fn presented(params: &Params, authorization: Option<&str>) -> Result<Presented, ProtocolError> {
    let body_id = params.get("client_id")?;
    let body_secret = params.get("client_secret")?;
    match authorization {
        Some(header) => {
            if body_secret.is_some() {
                // RFC 6749 §2.3: a client MUST NOT use more than one method per request.
                return Err(ProtocolError::invalid_request("use one client authentication method, not two"));
            }
            let (id, secret) = parse_basic(header)?;
            if body_id.is_some_and(|b| b != id) {
                return Err(ProtocolError::invalid_request("client_id does not match the Authorization header"));
            }
            Ok(Presented { client_id: id, secret: Some(secret), via_header: true })
        }
        None => {
            let id = body_id.ok_or_else(|| invalid_client(false, "no client identification"))?;
            Ok(Presented { client_id: id.to_owned(), secret: body_secret.map(SecretValue::new), via_header: false })
        }
    }
}

/// An authenticated client, looked up live on this request.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub client: Client,
    /// The protocol error should carry `WWW-Authenticate` if the request used the header.
    pub via_header: bool,
}

/// Authenticates the client of a token-endpoint request. Confidential clients must present
/// one of their live secrets; public clients present none. An unknown, disabled or
/// failing client is `invalid_client`, whatever the reason, so nothing is learnt by probing.
pub async fn authenticate(
    store: &dyn ClientStore,
    params: &Params,
    authorization: Option<&str>,
    now: OffsetDateTime,
) -> Result<AuthenticatedClient, ProtocolError> {
    let p = presented(params, authorization)?;
    let via = p.via_header;
    let id = Uuid::parse_str(&p.client_id).map_err(|_| invalid_client(via, "client_id is not a GUID"))?;
    let (client, secrets) = store.find_client(id).await?.ok_or_else(|| invalid_client(via, "unknown client"))?;
    if !client.enabled {
        return Err(invalid_client(via, "client is disabled"));
    }
    match (client.kind.has_secrets(), &p.secret) {
        (true, Some(s)) if secret::verify(&secrets, s, now) => Ok(AuthenticatedClient { client, via_header: via }),
        (true, Some(_)) => Err(invalid_client(via, "no live secret matches")),
        (true, None) => Err(invalid_client(via, "confidential client presented no secret")),
        (false, None) => Ok(AuthenticatedClient { client, via_header: via }),
        (false, Some(_)) => Err(invalid_client(via, "public client presented a secret")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20id:p%3Aw+d"));
        let (id, secret) = parse_basic(&header).expect("parse");
        assert_eq!((id.as_str(), secret.expose()), ("my id", "p:w d"));
        assert!(parse_basic("Bearer abc").is_err());
        assert!(parse_basic("Basic !!!").is_err());
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let params = Params::new(vec![("client_secret".into(), "s".into())]);
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let err = presented(&params, Some(&header)).expect_err("two methods");
        assert_eq!(err.code, ErrorCode::InvalidRequest);
    }
}
