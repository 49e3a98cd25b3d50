package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
)

// session is what the app keeps about a browser: the sign-in in progress
// (state, nonce, PKCE verifier), then the signed-in account.
type session struct {
	State    string `json:"s,omitempty"`
	Nonce    string `json:"n,omitempty"`
	Verifier string `json:"v,omitempty"`
	Account  string `json:"a,omitempty"`
	Username string `json:"u,omitempty"`
}

const cookieName = "entra_sample_session"

// sessions keeps sessions in a cookie sealed with AES-GCM: the browser
// holds it but can neither read the verifier nor forge an account.
type sessions struct {
	aead   cipher.AEAD
	secure bool // https only
}

// newSessions seals with key (32 bytes); a random one lasts as long as
// the process, which signs everyone out at a restart.
func newSessions(key []byte, secure bool) (*sessions, error) {
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sessions{aead: aead, secure: secure}, nil
}

func (s *sessions) set(w http.ResponseWriter, v session) {
	plain, _ := json.Marshal(v)
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(cookieName))
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: "/",
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// get opens the request's session; a missing or tampered cookie is an
// empty session.
func (s *sessions) get(r *http.Request) session {
	var v session
	c, err := r.Cookie(cookieName)
	if err != nil {
		return v
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(sealed) < s.aead.NonceSize() {
		return v
	}
	plain, err := s.aead.Open(nil, sealed[:s.aead.NonceSize()], sealed[s.aead.NonceSize():], []byte(cookieName))
	if err != nil {
		return v
	}
	json.Unmarshal(plain, &v)
	return v
}

func (s *sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure})
}
