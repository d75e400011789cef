//! Every code the API answers with of its own, once. An answer may also carry a code of
//! another crate unchanged: the repository policy's `POLICY_*`, and a failed run's own code
//! on `GET /runs/{id}/result`. The class says what a client should do: retry later
//! (`retryable`), wait for `Retry-After` (`snooze`) or change the request (`permanent`).

specline_queue::codes! {
    /// The API's codes.
    pub enum ApiCode in "specline-api" {
        InvalidRequest = ("INVALID_REQUEST", Permanent, "400: a malformed body, parameter, cursor or header"),
        Unauthenticated = ("UNAUTHENTICATED", Permanent, "401: no credentials, or a token that is unknown, revoked or expired"),
        UntrustedProxy = ("UNTRUSTED_PROXY", Permanent, "401: gateway mode, and the request did not come from a trusted proxy"),
        CsrfRejected = ("CSRF_REJECTED", Permanent, "403: a web UI form without this session's CSRF token, or posted from another site"),
        AdminOnly = ("ADMIN_ONLY", Permanent, "403: an admin route called without an admin token"),
        NotFound = ("NOT_FOUND", Permanent, "404: no such route, run, analysis or document, or not the caller's"),
        MethodNotAllowed = ("METHOD_NOT_ALLOWED", Permanent, "405: the route does not take that method"),
        IdempotencyConflict = ("IDEMPOTENCY_CONFLICT", Permanent, "409: an `Idempotency-Key` reused with a different request"),
        RunNotResumable = ("RUN_NOT_RESUMABLE", Permanent, "409: a resume asked of a run that has not failed (web UI)"),
        ResultExpired = ("RESULT_EXPIRED", Permanent, "410: the run finished but its result was pruned"),
        BodyTooLarge = ("BODY_TOO_LARGE", Permanent, "413: a body over `api.max_body_bytes`"),
        UnsupportedMediaType = ("UNSUPPORTED_MEDIA_TYPE", Permanent, "415: a body that is not `application/json`"),
        UnknownFormat = ("UNKNOWN_FORMAT", Permanent, "422: a document export in a format other than `md` or `json`"),
        InvalidFilter = ("INVALID_FILTER", Permanent, "422: an admin filter that is not a JSON object"),
        TokenKeyMissing = ("TOKEN_KEY_MISSING", Permanent, "422: an access token was sent but this deployment has no encryption key"),
        RateLimited = ("RATE_LIMITED", Snooze, "429: too many submissions for this owner (`Retry-After`)"),
        TooManyStreams = ("TOO_MANY_STREAMS", Snooze, "429: too many open event streams for this owner (`Retry-After`)"),
        Internal = ("INTERNAL", Retryable, "500: a fault of the service; the message carries no detail, the log does"),
        Unavailable = ("UNAVAILABLE", Retryable, "503: the database did not answer"),
        Timeout = ("TIMEOUT", Retryable, "503: the route did not answer within `api.request_timeout_secs`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_spelled_screaming_snake() {
        assert_eq!(specline_queue::check_codes::<ApiCode>(), Ok(()));
    }
}
