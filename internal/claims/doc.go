// Package claims turns JSON claims requests into one canonical text, merges
// several of them, and adds client capabilities.
//
// A claims request is a JSON object sent to the token service in the OAuth
// "claims" parameter, for example {"access_token":{"xms_cc":{"values":["cp1"]}}}.
// Tokens obtained with claims are cached under a key derived from them, so two
// requests that differ only cosmetically (key order, whitespace, escaping) must
// produce the same text. [Canonicalize] produces that text and [KeyHash] turns
// it into a short cache-key component.
//
// # Canonical form
//
//   - Object keys are sorted by Unicode code point at every depth, including
//     objects inside arrays. Go compares UTF-8 strings byte by byte, which is
//     the same order as comparing their code points.
//   - Array elements keep their order.
//   - No whitespace between tokens.
//   - Strings escape only '"', '\' and control characters below U+0020
//     (\b \t \n \f \r, otherwise \u00XX with lower-case hex). Everything else,
//     including '/', '<', '>', '&', U+2028 and all non-ASCII text, is written
//     as literal UTF-8.
//   - Numbers are kept exactly as written: 1.50 stays 1.50, 1e5 stays 1e5 and
//     big integers are never rounded. So 1.5 and 1.50 are different claims.
//
// # Why not RFC 8785 (JCS)
//
// The JSON Canonicalization Scheme formats every number as an IEEE 754 double,
// which would rewrite 1.50 as 1.5 and lose precision in large integers, and it
// orders keys by UTF-16 code units, which differs from code-point order for
// characters outside the Basic Multilingual Plane. Claims are forwarded to the
// token service, so this package must not alter a value the caller wrote; it
// only needs one stable spelling per request, not interoperability with
// other JCS implementations.
//
// # Strict parsing
//
// Input is parsed by a small scanner in this package rather than by
// encoding/json: encoding/json silently replaces invalid UTF-8 and unpaired
// surrogate escapes with U+FFFD, accepts duplicate keys, and its syntax errors
// quote characters of the input. The scanner instead refuses, with an
// [entra.Error] whose code is [entra.CodeInvalidJSONClaims]:
//
//   - a root that is not an object (null, arrays, strings, numbers, booleans);
//   - duplicate keys at any depth (compared after unescaping);
//   - invalid UTF-8, and \u escapes that form an unpaired surrogate;
//   - truncated input, and any data after the root object;
//   - numbers outside the RFC 8259 grammar (01, 1., .5, +1, ...);
//   - nesting deeper than 64 objects and arrays.
//
// Input that is empty or only JSON whitespace (space, tab, CR, LF) is not a
// claims request at all and yields "" without error.
//
// Error messages come from a fixed set of sentences that name the kind of
// problem. They never contain any part of the claims text, nor offsets into it,
// because claims can carry sensitive values.
package claims
