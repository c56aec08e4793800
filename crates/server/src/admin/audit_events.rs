//! `AuditEvents`: the tenant's audit trail (and the server's own events, such as key
//! rotations), newest first, for Tenant Administrators only. `skip` and `count` page as in
//! every list; `action`, `actor`, `from` and `to` filter; a bad filter is a 400.

use actix_web::{web, HttpRequest, HttpResponse};
use gatehouse_registry::audit::{AuditAction, AuditQuery, ACTOR_MAX};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::views::AuditEventView;
use super::{authorize, list_query, list_response, path_id, Access};
use crate::http_error::ApiError;
use crate::AppState;

fn time_filter(name: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        ApiError::bad_request(format!("{name} must be an ISO 8601 time with its offset, such as 2025-01-31T08:00:00Z."))
    })
}

/// The query of a list request: the paging every list takes (`list_query`), and the trail's
/// own filters.
pub fn audit_query(req: &HttpRequest) -> Result<AuditQuery, ApiError> {
    let page = list_query(req, false)?;
    let mut q = AuditQuery { skip: page.skip, count: page.count, ..AuditQuery::default() };
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if value.is_empty() {
            continue;
        }
        match key.to_ascii_lowercase().as_str() {
            "action" => {
                let names: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                q.action =
                    Some(AuditAction::parse(&value).ok_or_else(|| {
                        ApiError::bad_request(format!("action must be one of {}.", names.join(", ")))
                    })?);
            }
            "actor" => {
                if value.chars().count() > ACTOR_MAX {
                    return Err(ApiError::bad_request(format!("actor must be at most {ACTOR_MAX} characters.")));
                }
                q.actor = Some(value.into_owned());
            }
            "from" => q.from = Some(time_filter("from", &value)?),
            "to" => q.to = Some(time_filter("to", &value)?),
            _ => {}
        }
    }
    Ok(q)
}

pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = path_id(&path.into_inner(), "tenant")?;
    // The trail names every change and sign-in: administrators only.
    authorize(&req, &state, tenant_id, Access::Audit).await?;
    let query = audit_query(&req)?;
    let page = state.registry.audit.list_events(tenant_id, &query).await?;
    let items: Vec<AuditEventView> = page.items.iter().map(AuditEventView::of).collect();
    Ok(list_response(&items, page.total))
}
