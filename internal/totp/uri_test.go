package totp

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestKeyURIDefaultsProduceTheMinimalURI(t *testing.T) {
	got, err := KeyURI("Gatehouse", "alice@example.com", seedSHA1, Default)
	if err != nil {
		t.Fatal(err)
	}
	want := "otpauth://totp/Gatehouse:alice@example.com?secret=" + seedSHA1Base32 + "&issuer=Gatehouse"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestKeyURIEncoding(t *testing.T) {
	secret17 := []byte("12345678901234567") // base32 would need "====" padding
	tests := []struct {
		name    string
		issuer  string
		account string
		secret  []byte
		p       Params
		want    string
	}{
		{"SpaceIsPercent20NeverPlus", "Acme Corp", "Jane Doe", seedSHA1, Default,
			"otpauth://totp/Acme%20Corp:Jane%20Doe?secret=" + seedSHA1Base32 + "&issuer=Acme%20Corp"},
		{"PlusIsEncoded", "A+B", "x+y@example.com", seedSHA1, Default,
			"otpauth://totp/A%2BB:x%2By@example.com?secret=" + seedSHA1Base32 + "&issuer=A%2BB"},
		{"NonASCIIAccountIsUTF8PercentEncoded", "Gatehouse", "Zoë Müller", seedSHA1, Default,
			"otpauth://totp/Gatehouse:Zo%C3%AB%20M%C3%BCller?secret=" + seedSHA1Base32 + "&issuer=Gatehouse"},
		{"NonASCIIIssuerEncodedInLabelAndParameter", "Société", "bob", seedSHA1, Default,
			"otpauth://totp/Soci%C3%A9t%C3%A9:bob?secret=" + seedSHA1Base32 + "&issuer=Soci%C3%A9t%C3%A9"},
		{"ColonInAccountIsPercentEncoded", "Gatehouse", "corp:bob", seedSHA1, Default,
			"otpauth://totp/Gatehouse:corp%3Abob?secret=" + seedSHA1Base32 + "&issuer=Gatehouse"},
		{"ReservedCharactersEncoded", "Gatehouse", "a/b?c#d&e=f%g", seedSHA1, Default,
			"otpauth://totp/Gatehouse:a%2Fb%3Fc%23d%26e%3Df%25g?secret=" + seedSHA1Base32 + "&issuer=Gatehouse"},
		{"SecretHasNoPadding", "Gatehouse", "bob", secret17, Default,
			"otpauth://totp/Gatehouse:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3Q&issuer=Gatehouse"},
		{"NonDefaultAlgorithmOnly", "Gatehouse", "bob", seedSHA1, Params{SHA256, 6, 30},
			"otpauth://totp/Gatehouse:bob?secret=" + seedSHA1Base32 + "&issuer=Gatehouse&algorithm=SHA256"},
		{"NonDefaultDigitsOnly", "Gatehouse", "bob", seedSHA1, Params{SHA1, 8, 30},
			"otpauth://totp/Gatehouse:bob?secret=" + seedSHA1Base32 + "&issuer=Gatehouse&digits=8"},
		{"NonDefaultPeriodOnly", "Gatehouse", "bob", seedSHA1, Params{SHA1, 6, 60},
			"otpauth://totp/Gatehouse:bob?secret=" + seedSHA1Base32 + "&issuer=Gatehouse&period=60"},
		{"AllNonDefault", "Gatehouse", "bob", seedSHA1, Params{SHA512, 7, 45},
			"otpauth://totp/Gatehouse:bob?secret=" + seedSHA1Base32 + "&issuer=Gatehouse&algorithm=SHA512&digits=7&period=45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeyURI(tt.issuer, tt.account, tt.secret, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			assertWellFormedKeyURI(t, got)
			k, err := ParseKeyURI(got)
			if err != nil {
				t.Fatalf("ParseKeyURI: %v", err)
			}
			if k.Issuer != tt.issuer || k.Account != tt.account || !bytes.Equal(k.Secret, tt.secret) || k.Params != tt.p {
				t.Errorf("round trip = %+v", k)
			}
		})
	}
}

// assertWellFormedKeyURI checks the properties DESIGN.md §2 asks of every URI.
func assertWellFormedKeyURI(t *testing.T, uri string) {
	t.Helper()
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c < 0x21 || c > 0x7e {
			t.Fatalf("byte %d of %q is %#x: not printable ASCII", i, uri, c)
		}
	}
	if strings.Contains(uri, "+") {
		t.Errorf("%q contains '+'", uri)
	}
	if strings.Contains(uri, "=") && strings.Count(uri, "=") != strings.Count(uri, "&")+1 {
		t.Errorf("%q has '=' besides the parameter separators (padding?)", uri)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("url.Parse: %v", err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		t.Errorf("scheme/host = %q/%q", u.Scheme, u.Host)
	}
	label := strings.TrimPrefix(uri[:strings.IndexByte(uri, '?')], "otpauth://totp/")
	if strings.Count(label, ":") != 1 {
		t.Errorf("label %q must have exactly one literal ':'", label)
	}
}

func TestKeyURIRejectsBadInput(t *testing.T) {
	long := strings.Repeat("x", MaxIssuerLen+1)
	tests := []struct {
		name    string
		issuer  string
		account string
		secret  []byte
		p       Params
		want    error
	}{
		{"IssuerWithColon", "Gate:house", "bob", seedSHA1, Default, ErrIssuerInvalid},
		{"EmptyIssuer", "", "bob", seedSHA1, Default, ErrIssuerInvalid},
		{"BlankIssuer", "   ", "bob", seedSHA1, Default, ErrIssuerInvalid},
		{"LongIssuer", long, "bob", seedSHA1, Default, ErrIssuerInvalid},
		{"EmptyAccount", "Gatehouse", "", seedSHA1, Default, ErrAccountInvalid},
		{"AccountWithNewline", "Gatehouse", "bob\nalice", seedSHA1, Default, ErrAccountInvalid},
		{"AccountWithLeadingSpace", "Gatehouse", " bob", seedSHA1, Default, ErrAccountInvalid},
		{"AccountInvalidUTF8", "Gatehouse", "bob\xff", seedSHA1, Default, ErrAccountInvalid},
		{"ShortSecret", "Gatehouse", "bob", seedSHA1[:15], Default, ErrSecretInvalid},
		{"NoSecret", "Gatehouse", "bob", nil, Default, ErrSecretInvalid},
		{"BadDigits", "Gatehouse", "bob", seedSHA1, Params{SHA1, 10, 30}, ErrParamsInvalid},
		{"BadPeriod", "Gatehouse", "bob", seedSHA1, Params{SHA1, 6, 1}, ErrParamsInvalid},
		{"BadAlgorithm", "Gatehouse", "bob", seedSHA1, Params{Algorithm(9), 6, 30}, ErrParamsInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeyURI(tt.issuer, tt.account, tt.secret, tt.p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("KeyURI = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestValidateIssuer(t *testing.T) {
	tests := []struct {
		issuer string
		ok     bool
	}{
		{"Gatehouse", true},
		{"Acme Corp", true},
		{"Société Générale", true},
		{strings.Repeat("é", 32), true}, // 32 characters, 64 bytes
		{strings.Repeat("é", 33), false},
		{strings.Repeat("x", 32), true},
		{strings.Repeat("x", 33), false},
		{"", false},
		{" \t ", false},
		{"Acme:Corp", false},
		{":", false},
		{"Acme\x00", false},
		{"Acme\tCorp", false},
		{"Acme\u0085", false}, // C1 control (NEL)
		{"Acme\x7f", false},
		{" Acme", false},
		{"Acme ", false},
		{"Acme\xff", false},
	}
	for _, tt := range tests {
		err := ValidateIssuer(tt.issuer)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateIssuer(%q) = %v, want ok=%v", tt.issuer, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrIssuerInvalid) {
			t.Errorf("ValidateIssuer(%q) = %v, want ErrIssuerInvalid", tt.issuer, err)
		}
	}
}

func TestParseKeyURIAcceptsForeignForms(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		want Key
	}{
		{"GoogleExample", "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example",
			Key{"Example", "alice@google.com", mustParseSecret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), Default}},
		{"EncodedColonSeparator", "otpauth://totp/ACME%20Co%3Ajohn.doe@email.com?secret=" + seedSHA1Base32 + "&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30",
			Key{"ACME Co", "john.doe@email.com", seedSHA1, Default}},
		{"SpacesBeforeAccount", "otpauth://totp/ACME:%20%20bob?secret=" + seedSHA1Base32,
			Key{"ACME", "bob", seedSHA1, Default}},
		{"IssuerOnlyInParameter", "otpauth://totp/bob?secret=" + seedSHA1Base32 + "&issuer=ACME",
			Key{"ACME", "bob", seedSHA1, Default}},
		{"NoIssuer", "otpauth://totp/bob?secret=" + seedSHA1Base32,
			Key{"", "bob", seedSHA1, Default}},
		{"PlusAsSpaceInParameter", "otpauth://totp/ACME%20Co:bob?secret=" + seedSHA1Base32 + "&issuer=ACME+Co",
			Key{"ACME Co", "bob", seedSHA1, Default}},
		{"LowerCasePaddedSecretAndAlgorithm", "otpauth://totp/A:b?secret=gezdgnbvgy3tqojqgezdgnbvgy3q%3D%3D%3D%3D&algorithm=sha256&digits=8&period=60",
			Key{"A", "b", []byte("12345678901234567"), Params{SHA256, 8, 60}}},
		{"RawUTF8Label", "otpauth://totp/Gatehouse:Zoë?secret=" + seedSHA1Base32,
			Key{"Gatehouse", "Zoë", seedSHA1, Default}},
		{"UnknownParametersIgnored", "otpauth://totp/A:b?secret=" + seedSHA1Base32 + "&image=https%3A%2F%2Fx&foo=bar",
			Key{"A", "b", seedSHA1, Default}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyURI(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			if k.Issuer != tt.want.Issuer || k.Account != tt.want.Account || !bytes.Equal(k.Secret, tt.want.Secret) || k.Params != tt.want.Params {
				t.Errorf("got %+v\nwant %+v", k, tt.want)
			}
		})
	}
}

func TestParseKeyURIRejectsBadURIs(t *testing.T) {
	ok := "otpauth://totp/A:b?secret=" + seedSHA1Base32
	tests := []struct {
		name string
		uri  string
		want error
	}{
		{"Empty", "", ErrKeyURIInvalid},
		{"HTTP", "https://totp/A:b?secret=" + seedSHA1Base32, ErrKeyURIInvalid},
		{"HOTP", "otpauth://hotp/A:b?secret=" + seedSHA1Base32 + "&counter=1", ErrKeyURIInvalid},
		{"Port", "otpauth://totp:80/A:b?secret=" + seedSHA1Base32, ErrKeyURIInvalid},
		{"UserInfo", "otpauth://x@totp/A:b?secret=" + seedSHA1Base32, ErrKeyURIInvalid},
		{"NoSecret", "otpauth://totp/A:b?issuer=A", ErrKeyURIInvalid},
		{"EmptyAccount", "otpauth://totp/A:?secret=" + seedSHA1Base32, ErrKeyURIInvalid},
		{"NoLabel", "otpauth://totp/?secret=" + seedSHA1Base32, ErrKeyURIInvalid},
		{"BadSecret", "otpauth://totp/A:b?secret=ABC1", ErrSecretInvalid},
		{"ShortSecret", "otpauth://totp/A:b?secret=GEZDGNBVGY3TQOJQ", ErrSecretInvalid},
		{"IssuerMismatch", ok + "&issuer=B", ErrKeyURIInvalid},
		{"RepeatedSecret", ok + "&secret=" + seedSHA1Base32, ErrKeyURIInvalid},
		{"RepeatedIssuer", ok + "&issuer=A&issuer=A", ErrKeyURIInvalid},
		{"UnknownAlgorithm", ok + "&algorithm=MD5", ErrParamsInvalid},
		{"DigitsOutOfRange", ok + "&digits=10", ErrParamsInvalid},
		{"DigitsNotANumber", ok + "&digits=six", ErrParamsInvalid},
		{"PeriodOutOfRange", ok + "&period=5", ErrParamsInvalid},
		{"BadEscape", "otpauth://totp/A:b%zz?secret=" + seedSHA1Base32, ErrKeyURIInvalid},
		{"InvalidUTF8Label", "otpauth://totp/A:b%FF?secret=" + seedSHA1Base32, ErrKeyURIInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyURI(tt.uri)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrKeyURIInvalid) {
				t.Fatalf("ParseKeyURI(%q) = %+v, %v; want %v", tt.uri, k, err, tt.want)
			}
		})
	}
}

func mustParseSecret(s string) []byte {
	b, err := ParseSecret(s)
	if err != nil {
		panic(err)
	}
	return b
}
