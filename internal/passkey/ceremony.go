package passkey

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Attachment is where the authenticator lives: a security key one plugs in
// or taps (cross-platform) or the device's own (platform).
type Attachment string

const (
	CrossPlatform Attachment = "cross-platform"
	Platform      Attachment = "platform"
)

// User is the account a ceremony is for.
type User struct {
	// Handle is the WebAuthn user handle: opaque, stable for the life of
	// the account, 1–64 bytes, never personal information.
	Handle      []byte
	Name        string
	DisplayName string
	// Credentials are the user's registered credentials: excluded at
	// registration, allowed at sign-in.
	Credentials []Credential
}

// Credential is what is kept of a registered credential.
type Credential struct {
	ID []byte
	// PublicKey is the COSE-encoded credential public key.
	PublicKey  []byte
	SignCount  uint32
	Transports []string
	// FlagsKnown is false for a credential stored before its backup flags
	// were kept; its next sign-in records them instead of refusing it.
	FlagsKnown     bool
	BackupEligible bool
	BackupState    bool
	// UserVerified is the specification's uvInitialized.
	UserVerified      bool
	AAGUID            []byte
	AttestationFormat string
	Attachment        string
}

// Ceremony is a begun registration or sign-in.
type Ceremony struct {
	// Challenge is the base64url challenge: the key the caller stores the
	// ceremony under and finds it by when the response comes back.
	Challenge string
	// Options is the JSON the browser gives to
	// PublicKeyCredential.parseCreationOptionsFromJSON (registration) or
	// parseRequestOptionsFromJSON (sign-in).
	Options json.RawMessage
	// State is what the finish step needs, for the caller to keep on the
	// server (never in the client's hands).
	State []byte
}

// account adapts User to the library.
type account struct {
	u     User
	creds []webauthn.Credential
}

func newAccount(u User) *account {
	a := &account{u: u}
	for _, c := range u.Credentials {
		a.creds = append(a.creds, c.library())
	}
	return a
}

func (a *account) WebAuthnID() []byte                         { return a.u.Handle }
func (a *account) WebAuthnName() string                       { return a.u.Name }
func (a *account) WebAuthnDisplayName() string                { return a.u.DisplayName }
func (a *account) WebAuthnCredentials() []webauthn.Credential { return a.creds }

func (c Credential) library() webauthn.Credential {
	var flags protocol.AuthenticatorFlags
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	lc := webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationFormat: c.AttestationFormat,
		Flags:             webauthn.NewCredentialFlags(flags | protocol.FlagUserPresent),
		Authenticator: webauthn.Authenticator{
			AAGUID:     c.AAGUID,
			SignCount:  c.SignCount,
			Attachment: protocol.AuthenticatorAttachment(c.Attachment),
		},
	}
	for _, t := range c.Transports {
		lc.Transport = append(lc.Transport, protocol.AuthenticatorTransport(t))
	}
	return lc
}

func fromLibrary(lc *webauthn.Credential) Credential {
	c := Credential{
		ID:                lc.ID,
		PublicKey:         lc.PublicKey,
		SignCount:         lc.Authenticator.SignCount,
		FlagsKnown:        true,
		BackupEligible:    lc.Flags.BackupEligible,
		BackupState:       lc.Flags.BackupState,
		UserVerified:      lc.Flags.UserVerified,
		AAGUID:            lc.Authenticator.AAGUID,
		AttestationFormat: lc.AttestationFormat,
		Attachment:        string(lc.Authenticator.Attachment),
	}
	for _, t := range lc.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	return c
}

func descriptors(creds []Credential) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, 0, len(creds))
	for _, c := range creds {
		lc := c.library()
		out = append(out, lc.Descriptor())
	}
	return out
}

func ceremony(options any, s *webauthn.SessionData) (Ceremony, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return Ceremony{}, err
	}
	state, err := json.Marshal(s)
	if err != nil {
		return Ceremony{}, err
	}
	return Ceremony{Challenge: s.Challenge, Options: opts, State: state}, nil
}

func session(state []byte) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	if err := json.Unmarshal(state, &s); err != nil {
		return s, fmt.Errorf("passkey: stored ceremony state: %w", err)
	}
	return s, nil
}

// BeginRegistration starts registering a credential for u: residentKey
// discouraged (a second factor need not be discoverable), the configured
// user verification, no attestation (nothing here would judge it, and it
// identifies the authenticator model), and u's credentials excluded so an
// authenticator that already holds one declines.
func (rp *RelyingParty) BeginRegistration(u User, a Attachment) (Ceremony, error) {
	hint := protocol.PublicKeyCredentialHintSecurityKey
	if a == Platform {
		hint = protocol.PublicKeyCredentialHintClientDevice
	}
	creation, s, err := rp.wa.BeginRegistration(newAccount(u),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			AuthenticatorAttachment: protocol.AuthenticatorAttachment(a),
			ResidentKey:             protocol.ResidentKeyRequirementDiscouraged,
			RequireResidentKey:      protocol.ResidentKeyNotRequired(),
			UserVerification:        protocol.UserVerificationRequirement(rp.uv),
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(descriptors(u.Credentials)),
		webauthn.WithPublicKeyCredentialHints([]protocol.PublicKeyCredentialHints{hint}),
	)
	if err != nil {
		return Ceremony{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return ceremony(creation.Response, s)
}

// Registration is a parsed registration response.
type Registration struct {
	p *protocol.ParsedCredentialCreationData
}

// Challenge is the challenge the response was signed for: the key to find
// the ceremony it answers.
func (r *Registration) Challenge() string { return r.p.Response.CollectedClientData.Challenge }

// CredentialID is the new credential's id.
func (r *Registration) CredentialID() []byte { return r.p.RawID }

// ParseRegistration reads a registration response (the JSON of the
// browser's credential.toJSON()). Bad JSON, base64url, CBOR or authenticator
// data is a Malformed error.
func ParseRegistration(b []byte) (*Registration, error) {
	p, err := protocol.ParseCredentialCreationResponseBytes(b)
	if err != nil {
		return nil, refuse(Malformed, err, "The security key's response could not be read (%s).", detail(err))
	}
	if len(p.Response.AttestationObject.AuthData.AttData.CredentialID) == 0 {
		return nil, refuse(Malformed, nil, "The security key's response holds no new credential.")
	}
	return &Registration{p: p}, nil
}

// FinishRegistration verifies a registration response against the ceremony
// it answers and returns the credential to keep.
func (rp *RelyingParty) FinishRegistration(u User, state []byte, r *Registration) (Credential, error) {
	s, err := session(state)
	if err != nil {
		return Credential{}, err
	}
	cd := r.p.Response.CollectedClientData
	ad := r.p.Response.AttestationObject.AuthData
	if err := rp.precheck(protocol.CreateCeremony, s, cd, ad.RPIDHash, ad.Flags); err != nil {
		return Credential{}, err
	}
	for _, c := range u.Credentials {
		if bytes.Equal(c.ID, r.p.RawID) {
			return Credential{}, refuse(AlreadyRegistered, nil, "This security key is already registered.")
		}
	}
	lc, err := rp.wa.CreateCredential(newAccount(u), s, r.p)
	if err != nil {
		return Credential{}, libraryRefusal(err)
	}
	return fromLibrary(lc), nil
}

// precheck checks what a response most often gets wrong, to say precisely
// which it is; the library then verifies everything again, and the rest.
func (rp *RelyingParty) precheck(want protocol.CeremonyType, s webauthn.SessionData, cd protocol.CollectedClientData, rpIDHash []byte, flags protocol.AuthenticatorFlags) error {
	if cd.Type != want {
		if want == protocol.CreateCeremony {
			return refuse(WrongCeremony, nil, "This is a sign-in response, not a registration.")
		}
		return refuse(WrongCeremony, nil, "This is a registration response, not a sign-in.")
	}
	if cd.Challenge != s.Challenge {
		return refuse(ChallengeMismatch, nil, "The security key answered another request than this one. Start again.")
	}
	if got, err := NormalizeOrigin(cd.Origin); err != nil || got != rp.origin {
		return refuse(WrongOrigin, nil, "The security key was used on another website (%q), not on %s.", cd.Origin, rp.origin)
	}
	if cd.CrossOrigin {
		return refuse(WrongOrigin, nil, "The security key was used from a page embedded in another website.")
	}
	want32 := sha256.Sum256([]byte(rp.rpID))
	if !bytes.Equal(rpIDHash, want32[:]) {
		return refuse(WrongRelyingParty, nil, "The security key signed for another relying party than %q.", rp.rpID)
	}
	if !flags.HasUserPresent() {
		return refuse(NoUserPresence, nil, "The security key did not report a touch. Touch it when it blinks.")
	}
	if s.UserVerification == protocol.VerificationRequired && !flags.HasUserVerified() {
		return refuse(NoUserVerification, nil, "The security key did not verify you (a PIN or fingerprint is required).")
	}
	if !flags.HasBackupEligible() && flags.HasBackupState() {
		return refuse(BackupFlags, nil, "The authenticator reported impossible backup flags (backed up but not eligible for backup).")
	}
	return nil
}

// libraryRefusal turns the library's verdict into an Error.
func libraryRefusal(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		switch pe.Type {
		case protocol.ErrAssertionSignature.Type:
			return refuse(BadSignature, err, "The security key's signature does not verify.")
		case protocol.ErrBadRequest.Type, protocol.ErrParsingData.Type:
			return refuse(Malformed, err, "The security key's response could not be read (%s).", detail(err))
		}
		return refuse(Rejected, err, "The security key's response was refused (%s).", detail(err))
	}
	return fmt.Errorf("passkey: %w", err)
}

// detail is the library's short description of an error: it names the part
// of the response that failed, never a secret.
func detail(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		d := pe.Details
		if pe.DevInfo != "" && len(pe.DevInfo) < 200 {
			d += ": " + pe.DevInfo
		}
		return d
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "not valid JSON"
	}
	return "not valid"
}
