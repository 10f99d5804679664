package hookgate

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// Error codes. Each code maps to one HTTP status (HTTPStatus); clients match
// on the code, people read the message.
const (
	EINVALID           = "validation_failed"      // the request is well-formed but a field is wrong
	EMALFORMED         = "malformed_request"      // the body is not valid JSON (or not the expected shape)
	ENOTFOUND          = "not_found"              // no such record for this tenant
	ECONFLICT          = "conflict"               // the record's state forbids the operation
	EDISABLED          = "webhook_disabled"       // the webhook is disabled (enabled false): pause and resume do not apply
	EINVALIDCONFIG     = "invalid_config"         // the configuration file cannot be read or does not validate (a plugin reload)
	EIDEMPOTENCY       = "idempotency_conflict"   // an idempotency key (or event id) already used for other content
	EUNAUTHORIZED      = "unauthorized"           // missing or invalid credentials
	EFORBIDDEN         = "forbidden"              // valid credentials, missing permission
	ETOOLARGE          = "payload_too_large"      // a body or a batch over its limit
	EHDRTOOLARGE       = "headers_too_large"      // the request line and headers over the server's limit
	EUNSUPPORTED       = "unsupported_media_type" // wrong Content-Type
	ERATELIMITED       = "rate_limited"           // too many requests
	EEXPIRED           = "expired"                // a link or token that was valid has expired
	EUNAVAILABLE       = "unavailable"            // a dependency (Redis) is down; try again
	EFORMATUNAVAILABLE = "format_unavailable"     // the plugin that provides a webhook's format is configured but not running (the message says why)
	EINTERNAL          = "internal"               // a bug or an unexpected failure; details are logged, not returned
	EBADGATEWAY        = "bad_gateway"            // an upstream (the CRM, through an incoming webhook) failed or is unreachable
	ETIMEOUT           = "gateway_timeout"        // an upstream did not answer in time
	ESCHEMA            = "schema_violation"       // event data does not match its type's schema (events.validate: enforce)
	ENOTESTEVENT       = "no_test_event"          // a test send: the webhook's format sends none of the events it subscribes to
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	EINVALID:           http.StatusBadRequest,
	EMALFORMED:         http.StatusBadRequest,
	ENOTFOUND:          http.StatusNotFound,
	EDISABLED:          http.StatusConflict,
	ECONFLICT:          http.StatusConflict,
	EINVALIDCONFIG:     http.StatusConflict,
	EIDEMPOTENCY:       http.StatusConflict,
	EUNAUTHORIZED:      http.StatusUnauthorized,
	EFORBIDDEN:         http.StatusForbidden,
	ETOOLARGE:          http.StatusRequestEntityTooLarge,
	EHDRTOOLARGE:       http.StatusRequestHeaderFieldsTooLarge,
	EUNSUPPORTED:       http.StatusUnsupportedMediaType,
	ERATELIMITED:       http.StatusTooManyRequests,
	EEXPIRED:           http.StatusGone,
	EUNAVAILABLE:       http.StatusServiceUnavailable,
	EFORMATUNAVAILABLE: http.StatusServiceUnavailable,
	EINTERNAL:          http.StatusInternalServerError,
	EBADGATEWAY:        http.StatusBadGateway,
	ETIMEOUT:           http.StatusGatewayTimeout,
	ESCHEMA:            http.StatusBadRequest,
	ENOTESTEVENT:       http.StatusConflict,
}

// HTTPStatus returns the HTTP status that answers an error with code (see
// ErrorCode): 500 for a code it does not know.
func HTTPStatus(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorCodes returns every error code that has a status, sorted.
func ErrorCodes() []string { return slices.Sorted(maps.Keys(statusOf)) }

// Error is hookgate's error: a machine-readable code, a human message safe to
// show to the caller, and optional field-level messages for validation errors.
// Internal failures are wrapped in Err and never shown to clients.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the wrapped internal error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns a validation error about one field.
func FieldError(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EINVALID, Message: msg, Fields: map[string]string{field: msg}}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// or a generic message for internal errors so that their text never leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Validation collects field errors and turns them into one *Error.
type Validation struct {
	fields map[string]string
	first  string
}

// Add records a problem with field.
func (v *Validation) Add(field, format string, args ...any) {
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, ok := v.fields[field]; ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	v.fields[field] = msg
	if v.first == "" {
		v.first = msg
	}
}

// Err returns nil when no problem was recorded, else an EINVALID *Error whose
// message is the first problem and whose Fields hold all of them.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := v.first
	if len(v.fields) > 1 {
		msg = fmt.Sprintf("%s (and %d more)", v.first, len(v.fields)-1)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: v.fields}
}
