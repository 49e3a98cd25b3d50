package tokencache

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// appendJSON appends e as json.Marshal writes it, without reflection: a
// write of a file of many tokens spends most of its time here.
func (e *atEntry) appendJSON(b []byte) []byte {
	if e.HomeAccountID == "" {
		b = append(b, `{"home_account_id":null`...) // an app token, as MSAL Python finds it
	} else {
		b = appendField(b, '{', "home_account_id", string(e.HomeAccountID))
	}
	b = appendField(b, ',', "environment", e.Environment)
	b = appendField(b, ',', "credential_type", e.CredentialType)
	b = appendField(b, ',', "client_id", e.ClientID)
	b = appendField(b, ',', "secret", e.Secret)
	b = appendField(b, ',', "realm", e.Realm)
	b = appendField(b, ',', "target", e.Target)
	b = appendTime(b, "cached_at", e.CachedAt)
	b = appendTime(b, "expires_on", e.ExpiresOn)
	b = appendTime(b, "extended_expires_on", e.ExtendedExpiresOn)
	if !e.RefreshOn.IsZero() {
		b = appendTime(b, "refresh_on", e.RefreshOn)
	}
	for _, f := range [...]struct{ name, value string }{
		{"token_type", e.TokenType}, {"keyid", e.KeyID}, {"user_assertion_hash", e.UserAssertionHash},
		{"partition_key", e.PartitionKey}, {"ext_cache_key", e.ExtCacheKey},
	} {
		if f.value != "" {
			b = appendField(b, ',', f.name, f.value)
		}
	}
	return append(b, '}')
}

// appendField appends sep, then "name":"value". Names are plain ASCII.
func appendField(b []byte, sep byte, name, value string) []byte {
	b = append(b, sep, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, value)
}

func appendTime(b []byte, name string, t unixTime) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':', '"')
	b = strconv.AppendInt(b, t.Unix(), 10)
	return append(b, '"')
}

// appendString appends s quoted as encoding/json quotes it. Tokens, ids
// and scopes are plain ASCII; anything else goes through encoding/json,
// so that its escaping (HTML characters, invalid UTF-8) is the same.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always marshals
			return append(b, quoted...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
