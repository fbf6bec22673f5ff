package passkey

import (
	"testing"
)

// passkeyFuzzSeeds are shapes of credential.toJSON() a browser or an
// attacker may send: valid-looking, truncated, wrong types, bad base64url.
var passkeyFuzzSeeds = []string{
	`{}`, `null`, `[]`, ``, `{"id":"AA","rawId":"AA","type":"public-key","response":{}}`,
	`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`,
	`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AA"}}`,
	`{"id":"!!","rawId":"!!","type":"public-key","response":{"clientDataJSON":"!!"}}`,
	`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0","attestationObject":"o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVgl"}}`,
	"\xff\xfe", `{"response":{"clientDataJSON":1}}`,
}

// FuzzParseRegistration: any body either parses or is refused as Malformed;
// it never panics, and never yields a registration without a credential id.
func FuzzParseRegistration(f *testing.F) {
	for _, s := range passkeyFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRegistration(b)
		if err != nil {
			if KindOf(err) != Malformed {
				t.Fatalf("ParseRegistration(%q) = %v, want a Malformed refusal", b, err)
			}
			return
		}
		if len(r.CredentialID()) == 0 {
			t.Fatalf("ParseRegistration(%q) accepted a response without a credential id", b)
		}
	})
}

// FuzzParseAssertion: any body either parses or is refused as Malformed.
func FuzzParseAssertion(f *testing.F) {
	for _, s := range passkeyFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAssertion(b)
		if err != nil {
			if KindOf(err) != Malformed {
				t.Fatalf("ParseAssertion(%q) = %v, want a Malformed refusal", b, err)
			}
			return
		}
		_ = a.Challenge()
		_ = a.CredentialID()
	})
}
