//! Request parameters as the protocol reads them: each at most once (RFC 6749 §3.1, §3.2),
//! and an empty value is the same as an absent one.

use crate::error::ProtocolError;

#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The value of `name`, or `None` when absent or empty; `invalid_request` when repeated.
    pub fn get(&self, name: &str) -> Result<Option<&str>, ProtocolError> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        match (found.next(), found.next()) {
            (_, Some(_)) => Err(ProtocolError::invalid_request(format!("the {name} parameter is repeated"))),
            (Some(""), None) | (None, None) => Ok(None),
            (Some(v), None) => Ok(Some(v)),
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The value of `name`; `invalid_request` when absent.
    pub fn require(&self, name: &str) -> Result<&str, ProtocolError> {
        self.get(name)?.ok_or_else(|| ProtocolError::invalid_request(format!("the {name} parameter is missing")))
    }
}

/// Splits a `scope` parameter (RFC 6749 §3.3) into its distinct tokens, in order.
pub fn scopes(raw: Option<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in raw.unwrap_or_default().split(' ').filter(|s| !s.is_empty()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
