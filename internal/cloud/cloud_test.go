package cloud

import "testing"

func TestExchangeAudience(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"login.microsoftonline.com":              "api://AzureADTokenExchange",
		"eastus.login.microsoft.com":             "api://AzureADTokenExchange",
		"mtlsauth.microsoft.com":                 "api://AzureADTokenExchange",
		"westus2.mtlsauth.microsoft.com":         "api://AzureADTokenExchange",
		"login.microsoftonline.us":               "api://AzureADTokenExchangeUSGov",
		"usgovvirginia.login.microsoftonline.us": "api://AzureADTokenExchangeUSGov",
		"mtlsauth.microsoftonline.us":            "api://AzureADTokenExchangeUSGov",
		"login.chinacloudapi.cn":                 "api://AzureADTokenExchangeChina",
		"login.partner.microsoftonline.cn":       "api://AzureADTokenExchangeChina",
		"login.sovcloud-identity.fr":             "api://AzureADTokenExchangeFrance",
		"mtlsauth.sovcloud-identity.de":          "api://AzureADTokenExchangeGermany",
		"LOGIN.SOVCLOUD-IDENTITY.DE":             "api://AzureADTokenExchangeGermany",
		"localhost:8443":                         "api://AzureADTokenExchange",
	} {
		if got := ExchangeAudience(host); got != want {
			t.Errorf("ExchangeAudience(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestCacheEnvironment(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]string{
		"login.microsoftonline.com": "login.windows.net", "Login.Windows.Net": "login.windows.net",
		"login.usgovcloudapi.net": "login.microsoftonline.us", "contoso.example": "contoso.example",
	} {
		if got := CacheEnvironment(host); got != want {
			t.Errorf("CacheEnvironment(%q) = %q, want %q", host, got, want)
		}
	}
}
