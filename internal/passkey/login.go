package passkey

import (
	"bytes"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginLogin starts a sign-in with one of u's credentials (all of them
// allowed, with their transports), asking for the configured user
// verification.
func (rp *RelyingParty) BeginLogin(u User) (Ceremony, error) {
	if len(u.Credentials) == 0 {
		return Ceremony{}, refuse(UnknownCredential, nil, "You have no security key or built-in authenticator registered.")
	}
	assertion, s, err := rp.wa.BeginLogin(newAccount(u),
		webauthn.WithUserVerification(protocol.UserVerificationRequirement(rp.uv)))
	if err != nil {
		return Ceremony{}, err
	}
	return ceremony(assertion.Response, s)
}

// Assertion is a parsed sign-in response.
type Assertion struct {
	p *protocol.ParsedCredentialAssertionData
}

// Challenge is the challenge the response was signed for.
func (a *Assertion) Challenge() string { return a.p.Response.CollectedClientData.Challenge }

// CredentialID is the credential that signed.
func (a *Assertion) CredentialID() []byte { return a.p.RawID }

// ParseAssertion reads a sign-in response (the JSON of credential.toJSON()).
// Bad JSON, base64url or authenticator data is a Malformed error.
func ParseAssertion(b []byte) (*Assertion, error) {
	p, err := protocol.ParseCredentialRequestResponseBytes(b)
	if err != nil {
		return nil, refuse(Malformed, err, "The security key's response could not be read (%s).", detail(err))
	}
	return &Assertion{p: p}, nil
}

// FinishLogin verifies a sign-in response against the ceremony it answers
// and returns the credential as it must now be stored: its new signature
// counter and backup state (and, for a credential stored before flags were
// kept, its flags, recorded now rather than refused).
//
// A counter that did not increase (other than an authenticator that always
// reports 0) is refused as Cloned: for a second factor, a copied private key
// is exactly what the factor is meant to rule out, and the person still has
// their other devices, or an administrator, to get in.
func (rp *RelyingParty) FinishLogin(u User, state []byte, a *Assertion) (Credential, error) {
	s, err := session(state)
	if err != nil {
		return Credential{}, err
	}
	cd := a.p.Response.CollectedClientData
	ad := a.p.Response.AuthenticatorData
	if err := rp.precheck(protocol.AssertCeremony, s, cd, ad.RPIDHash, ad.Flags); err != nil {
		return Credential{}, err
	}
	i := -1
	for j, c := range u.Credentials {
		if bytes.Equal(c.ID, a.p.RawID) {
			i = j
		}
	}
	if i < 0 {
		return Credential{}, refuse(UnknownCredential, nil, "This security key is not registered to your account.")
	}
	stored := u.Credentials[i]
	if !stored.FlagsKnown {
		// Backfill: take this use's flags as the record's.
		stored.BackupEligible, stored.BackupState = ad.Flags.HasBackupEligible(), ad.Flags.HasBackupState()
		stored.FlagsKnown = true
		u.Credentials[i] = stored
	} else if stored.BackupEligible != ad.Flags.HasBackupEligible() {
		return Credential{}, refuse(BackupFlags, nil, "The authenticator's backup eligibility changed since it was registered, which a genuine one never does.")
	}
	lc, err := rp.wa.ValidateLogin(newAccount(u), s, a.p)
	if err != nil {
		return Credential{}, libraryRefusal(err)
	}
	if lc.Authenticator.CloneWarning {
		return Credential{}, refuse(Cloned, nil, "This security key's signature counter went backwards (%d after %d), a sign that it may have been copied. Sign in another way and tell your administrator.",
			ad.Counter, stored.SignCount)
	}
	out := fromLibrary(lc)
	// The library keeps what it was given for these; keep ours.
	out.Transports, out.AttestationFormat, out.AAGUID = stored.Transports, stored.AttestationFormat, stored.AAGUID
	return out, nil
}
