package tokencache

import (
	"encoding/json"
	"testing"
	"time"
)

// TestAppendJSONIsJSONMarshal: the hand-written form of an entry is the
// one encoding/json writes, so entries written before are recognised.
func TestAppendJSONIsJSONMarshal(t *testing.T) {
	at := unixTime{time.Unix(1_700_000_000, 0)}
	for _, e := range []atEntry{
		{},
		{HomeAccountID: "uid.utid", Environment: "login.microsoftonline.com", CredentialType: "AccessToken", ClientID: "c",
			Secret: "eyJ0eXAi.eyJhdWQi.sig", Realm: "t", Target: "https://graph.microsoft.com/.default", CachedAt: at,
			ExpiresOn: at, ExtendedExpiresOn: at, TokenType: "Bearer"},
		{HomeAccountID: "a<b>\xff", Secret: "a<b>&c\"d\\e\n\x01é\u2028\xff", RefreshOn: at, KeyID: "k", UserAssertionHash: "h", PartitionKey: "p", ExtCacheKey: "x"},
	} {
		checkAppendJSON(t, e)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("secret", "scope/.default", int64(1_700_000_000), "Bearer", "")
	f.Add("<&>\"\\\x00\xff", "é \u2029", int64(-1), "", "u<id>.t")
	f.Fuzz(func(t *testing.T, secret, target string, unix int64, tokenType, home string) {
		at := unixTime{time.Unix(unix, 0)}
		checkAppendJSON(t, atEntry{HomeAccountID: nullString(home), Secret: secret, Target: target, CachedAt: at, RefreshOn: at, TokenType: tokenType, KeyID: secret})
	})
}

func checkAppendJSON(t *testing.T, e atEntry) {
	t.Helper()
	want, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.appendJSON(nil); string(got) != string(want) {
		t.Errorf("appendJSON = %s\nwant         %s", got, want)
	}
}
