//! Pure parsers of what a registry sends back besides content: token responses and error bodies.
//! Kept apart from the HTTP code so they can be unit- and fuzz-tested on bytes alone.

/// Longest excerpt of an error body kept for a message (bytes, cut at a character boundary).
pub const MAX_ERROR_BODY_EXCERPT: usize = 300;

/// Why a token response was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenResponseError {
    #[error("token response is not JSON: {0}")]
    NotJson(String),
    #[error("token response has no token (expected a \"token\" or \"access_token\" string)")]
    NoToken,
}

/// Read a bearer-token response (`{"token": ...}` or `{"access_token": ...}`).
pub fn parse_token_response(bytes: &[u8]) -> Result<String, TokenResponseError> {
    #[derive(serde::Deserialize)]
    struct Tok {
        token: Option<String>,
        access_token: Option<String>,
    }
    let t: Tok =
        serde_json::from_slice(bytes).map_err(|e| TokenResponseError::NotJson(e.to_string()))?;
    t.token
        .filter(|s| !s.is_empty())
        .or(t.access_token.filter(|s| !s.is_empty()))
        .ok_or(TokenResponseError::NoToken)
}

/// The part of an error body worth showing: lossy UTF-8, trimmed, at most
/// [`MAX_ERROR_BODY_EXCERPT`] bytes (never cut inside a character).
pub fn error_body_excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    let mut end = text.len().min(MAX_ERROR_BODY_EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_reads_token_or_access_token() {
        assert_eq!(parse_token_response(br#"{"token":"t1"}"#).unwrap(), "t1");
        assert_eq!(
            parse_token_response(br#"{"access_token":"t2"}"#).unwrap(),
            "t2"
        );
        assert_eq!(
            parse_token_response(br#"{"token":"","access_token":"t3"}"#).unwrap(),
            "t3"
        );
        assert_eq!(
            parse_token_response(b"{}").unwrap_err(),
            TokenResponseError::NoToken
        );
        assert!(matches!(
            parse_token_response(b"<html>").unwrap_err(),
            TokenResponseError::NotJson(_)
        ));
    }

    #[test]
    fn error_body_excerpt_never_cuts_inside_a_character() {
        let body = "é".repeat(400);
        let e = error_body_excerpt(body.as_bytes());
        assert!(e.len() <= MAX_ERROR_BODY_EXCERPT);
        assert_eq!(e, "é".repeat(150));
        let odd = format!("x{}", "€".repeat(200));
        assert!(error_body_excerpt(odd.as_bytes()).len() <= MAX_ERROR_BODY_EXCERPT);
    }
}
