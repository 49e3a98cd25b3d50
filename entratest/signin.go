package entratest

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// wantsHTML reports a browser's request: one whose Accept names
// text/html. Programs (SignIn, client libraries) send no such header and
// are signed in at once.
func wantsHTML(r *http.Request) bool {
	for _, accept := range r.Header.Values("Accept") {
		for _, part := range strings.Split(accept, ",") {
			mediaType, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mediaType), "text/html") {
				return true
			}
		}
	}
	return false
}

// signInForm is what the sign-in page shows.
type signInForm struct {
	ClientID string
	// Username prefills the username field.
	Username string
	// Error says why the last attempt failed; "" for none.
	Error string
	// Params are the authorization request's, posted back as hidden
	// fields, so that the request need not be kept between the page and
	// its answer.
	Params url.Values
	// Action is where the form posts: the authorization endpoint's path.
	Action string
}

// signInTemplate is the sign-in page. html/template escapes what it
// echoes by context; the template is never changed after it is parsed.
var signInTemplate = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 22rem; margin: 4rem auto; padding: 0 1rem; }
label, input, button { display: block; width: 100%; box-sizing: border-box; margin-top: .5rem; }
input, button { padding: .5rem; font-size: 1rem; }
.error { color: #a4262c; }
</style>
</head>
<body>
<h1>Sign in</h1>
<p>to continue to <code id="client_id">{{.ClientID}}</code></p>
{{with .Error}}<p class="error" id="error" role="alert">{{.}}</p>
{{end}}<form method="post" action="{{.Action}}">
{{range $name, $values := .Params}}{{if ne $name "username"}}{{range $values}}<input type="hidden" name="{{$name}}" value="{{.}}">
{{end}}{{end}}{{end}}<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" value="{{.Username}}" required autofocus>
<button id="signin" type="submit">Sign in</button>
</form>
<p><small>Microsoft Entra ID emulator (entratest): no password is asked for.</small></p>
</body>
</html>
`))

// writeSignInPage answers with the sign-in page, which posts to the
// endpoint r came to.
func writeSignInPage(w http.ResponseWriter, r *http.Request, f signInForm) {
	f.Action = r.URL.Path
	var page bytes.Buffer
	if err := signInTemplate.Execute(&page, f); err != nil {
		http.Error(w, "The sign-in page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Nothing but the inline style runs or loads, and no other site frames
	// the page. form-action is left out: it would block the redirect to
	// the client that follows the form's post.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	w.Write(page.Bytes())
}
