//! Bounded HTTP reads shared by every endpoint call.

use serde::de::DeserializeOwned;

use crate::error::{Error, truncate_body};

/// Largest response body read from the issuer; a hostile or broken server
/// cannot make the client buffer more.
pub(crate) const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A response read in full (up to [`MAX_RESPONSE_BYTES`]).
pub(crate) struct Body {
    pub status: u16,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Sends `request` and reads the body, refusing oversized ones.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    endpoint: &'static str,
) -> Result<Body, Error> {
    let transport = |reason: String| Error::Transport { endpoint, reason };
    let mut response = request
        .send()
        .await
        .map_err(|error| transport(error.to_string()))?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport(error.to_string()))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(transport(format!(
                "response larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body {
        status,
        content_type,
        bytes,
    })
}

impl Body {
    /// Fails with [`Error::RequestFailed`] unless the status is 2xx.
    pub(crate) fn success(self, endpoint: &'static str) -> Result<Self, Error> {
        if (200..300).contains(&self.status) {
            Ok(self)
        } else {
            Err(Error::RequestFailed {
                endpoint,
                status: self.status,
                body: truncate_body(&self.bytes),
            })
        }
    }

    /// Parses the body as JSON.
    pub(crate) fn json<T: DeserializeOwned>(&self, endpoint: &'static str) -> Result<T, Error> {
        serde_json::from_slice(&self.bytes).map_err(|error| Error::InvalidResponse {
            endpoint,
            reason: format!("unreadable JSON: {error}"),
        })
    }
}
