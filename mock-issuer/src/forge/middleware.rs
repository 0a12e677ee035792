//! The layer in front of every endpoint: it fires scripted faults and records requests. The
//! admin API is mounted outside it, so scripting a fault never breaks the way to clear it and
//! the log holds only what clients sent.
//!
//! With no fault armed and the log off, a request costs one atomic load and a field read here.
//! The log reads form bodies into memory once (they are limited to
//! [`MAX_BODY_BYTES`]) and parses them once: the parse goes on to the endpoint as
//! [`ParsedForm`].

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::endpoints::{Endpoint, ParsedForm, is_form};
use crate::error::limit_error;
use crate::forge::faults::{self, FaultAction};
use crate::forge::request_log::{self, LoggedParams, RecordedRequest, describe_authorization};
use crate::params::Params;
use crate::server::MAX_BODY_BYTES;
use crate::state::AppState;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let forge = &state.forge;
    let logging = forge.requests.is_enabled();
    let armed = forge.faults.is_armed();
    if !logging && !armed {
        return next.run(request).await;
    }
    let endpoint = Endpoint::from_path(request.uri().path());
    let (parts, body) = request.into_parts();
    let needs_params =
        armed && endpoint.is_some_and(|endpoint| forge.faults.needs_params(endpoint));
    let (body, form) = if (logging || needs_params) && is_form(&parts.headers) {
        match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
            Ok(bytes) => {
                let form = Params::parse(&bytes);
                (Body::from(bytes), Some(form))
            }
            Err(_) => {
                // The server's limits layer reads bodies first, so this is a second line only.
                return limit_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body is limited to {MAX_BODY_BYTES} bytes"),
                );
            }
        }
    } else {
        (body, None)
    };
    let query = Params::parse(parts.uri.query().unwrap_or_default().as_bytes());
    let fired = match endpoint {
        Some(endpoint) if armed => forge
            .faults
            .take(endpoint, form.as_ref().and_then(|form| form.get("code"))),
        _ => None,
    };
    let record = logging.then(|| {
        let form = form.as_ref();
        let mut duplicated: Vec<String> = query
            .duplicates()
            .chain(form.into_iter().flat_map(Params::duplicates))
            .map(str::to_owned)
            .collect();
        duplicated.dedup();
        RecordedRequest {
            seq: 0,
            at: state.now(),
            method: parts.method.to_string(),
            path: request_log::bounded(parts.uri.path()),
            endpoint,
            query: LoggedParams::redacted(&query),
            form: form.map(LoggedParams::redacted).unwrap_or_default(),
            duplicated,
            authorization: parts
                .headers
                .get(header::AUTHORIZATION)
                .map(describe_authorization),
            status: None,
            fault: fired.as_ref().map(faults::Fired::describe),
        }
    });
    let response = match (&fired, endpoint) {
        (Some(fired), Some(endpoint)) => {
            if let Some(delay) = fired.delay {
                tokio::time::sleep(delay).await;
            }
            let params = form.as_ref().unwrap_or(&query);
            match faults::respond(&state, endpoint, &fired.action, params) {
                Some(response) => response,
                None => next.run(with_form(parts, body, form.clone())).await,
            }
        }
        _ => next.run(with_form(parts, body, form)).await,
    };

    if let Some(mut record) = record {
        let closed = fired
            .as_ref()
            .is_some_and(|f| f.action == FaultAction::CloseConnection);
        record.status = (!closed).then(|| response.status().as_u16());
        forge.requests.record(record);
    }
    response
}

/// The request again, carrying the parsed form for the endpoint.
fn with_form(mut parts: axum::http::request::Parts, body: Body, form: Option<Params>) -> Request {
    if let Some(form) = form {
        parts.extensions.insert(ParsedForm(form));
    }
    Request::from_parts(parts, body)
}
