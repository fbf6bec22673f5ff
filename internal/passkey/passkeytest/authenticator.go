// Package passkeytest is a software authenticator for tests: it answers
// WebAuthn creation and request options the way a browser and a CTAP2
// authenticator would together ("none" attestation, ES256 keys), so the
// verifier can be tested without a browser — and made to misbehave in each
// way a test needs (another origin, another RP id, no user verification, a
// counter that goes backwards, changed backup flags).
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

// Authenticator holds credentials and answers ceremonies. Change its fields
// between calls to make the next answer differ.
type Authenticator struct {
	// Origin is what the client data reports; RPID is what the
	// authenticator data's RP id hash is computed from (empty: the options').
	Origin string
	RPID   string
	// UserVerified sets the UV flag; UserPresent (default true) the UP flag.
	UserVerified bool
	NoPresence   bool
	// Backup flags of new credentials and of assertions.
	BackupEligible bool
	BackupState    bool
	// Attachment and Transports are reported as a browser would.
	Attachment string
	Transports []string
	// FixedCounter, when set, is the counter every signature reports
	// (0 for an authenticator without a counter); otherwise it counts up.
	FixedCounter *uint32
	// Type overrides the client data's type ("webauthn.create" / ".get").
	Type string
	// Challenge overrides the challenge the client data carries.
	Challenge string

	AAGUID [16]byte
	creds  []*credential
}

type credential struct {
	id      []byte
	key     *ecdsa.PrivateKey
	rpID    string
	handle  []byte
	counter uint32
}

// New returns a security key (USB, cross-platform) used at origin.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, Attachment: "cross-platform", Transports: []string{"usb"},
		AAGUID: [16]byte{0x47, 0x61, 0x74, 0x65, 0x68, 0x6f, 0x75, 0x73, 0x65, 0x20, 0x74, 0x65, 0x73, 0x74, 0x00, 0x01}}
}

// B64 is base64url without padding, as WebAuthn's JSON uses.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

type descriptor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type creationOptions struct {
	RP struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Challenge string       `json:"challenge"`
	Exclude   []descriptor `json:"excludeCredentials"`
}

type requestOptions struct {
	Challenge string       `json:"challenge"`
	RPID      string       `json:"rpId"`
	Allow     []descriptor `json:"allowCredentials"`
}

// ErrExcluded is what a browser reports (InvalidStateError) when the
// authenticator already holds an excluded credential.
var ErrExcluded = errors.New("passkeytest: the authenticator holds an excluded credential")

// Create answers creation options with a new credential, or ErrExcluded
// when it already holds one of the excluded credentials.
func (a *Authenticator) Create(options []byte) (response []byte, err error) {
	return a.create(options, false)
}

// CreateAgain presents again the credential it already holds for these
// options' relying party, ignoring excludeCredentials (as a client that
// skips the check might), so the server's own check can be tested.
func (a *Authenticator) CreateAgain(options []byte) (response []byte, err error) {
	return a.create(options, true)
}

func (a *Authenticator) create(options []byte, again bool) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	handle, err := unb64(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: user.id: %w", err)
	}
	var c *credential
	if again {
		for _, have := range a.creds {
			if have.rpID == o.RP.ID {
				c = have
			}
		}
		if c == nil {
			return nil, errors.New("passkeytest: no credential to present again")
		}
	} else {
		for _, ex := range o.Exclude {
			for _, have := range a.creds {
				if ex.ID == B64(have.id) {
					return nil, ErrExcluded
				}
			}
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		id := make([]byte, 32)
		if _, err := rand.Read(id); err != nil {
			return nil, err
		}
		c = &credential{id: id, key: key, rpID: o.RP.ID, handle: handle}
		a.creds = append(a.creds, c)
	}
	cose, err := coseKey(&c.key.PublicKey)
	if err != nil {
		return nil, err
	}
	att := make([]byte, 0, 16+2+len(c.id)+len(cose))
	att = append(att, a.AAGUID[:]...)
	att = binary.BigEndian.AppendUint16(att, uint16(len(c.id)))
	att = append(att, c.id...)
	att = append(att, cose...)
	authData := a.authData(o.RP.ID, 0x40, a.count(c), att)
	attObj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData})
	if err != nil {
		return nil, err
	}
	cdj := a.clientData("webauthn.create", o.Challenge)
	return json.Marshal(map[string]any{
		"id": B64(c.id), "rawId": B64(c.id), "type": "public-key",
		"authenticatorAttachment": a.Attachment,
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    B64(cdj),
			"attestationObject": B64(attObj),
			"transports":        a.Transports,
		},
	})
}

// Get answers request options with an assertion from the first allowed
// credential it holds.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	var c *credential
	for _, al := range o.Allow {
		for _, have := range a.creds {
			if al.ID == B64(have.id) && c == nil {
				c = have
			}
		}
	}
	if c == nil {
		return nil, errors.New("passkeytest: no allowed credential here")
	}
	authData := a.authData(o.RPID, 0, a.count(c), nil)
	cdj := a.clientData("webauthn.get", o.Challenge)
	h := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte{}, authData...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": B64(c.id), "rawId": B64(c.id), "type": "public-key",
		"authenticatorAttachment": a.Attachment,
		"clientExtensionResults":  map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    B64(cdj),
			"authenticatorData": B64(authData),
			"signature":         B64(sig),
			"userHandle":        B64(c.handle),
		},
	})
}

// Forget drops every credential, as a reset authenticator would.
func (a *Authenticator) Forget() { a.creds = nil }

// SetCounter sets the next counter value of every credential minus one.
func (a *Authenticator) SetCounter(n uint32) {
	for _, c := range a.creds {
		c.counter = n
	}
}

func (a *Authenticator) count(c *credential) uint32 {
	if a.FixedCounter != nil {
		return *a.FixedCounter
	}
	c.counter++
	return c.counter
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	if a.Type != "" {
		typ = a.Type
	}
	if a.Challenge != "" {
		challenge = a.Challenge
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

func (a *Authenticator) authData(rpID string, extra byte, counter uint32, attested []byte) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	flags := extra
	if !a.NoPresence {
		flags |= 0x01
	}
	if a.UserVerified {
		flags |= 0x04
	}
	if a.BackupEligible {
		flags |= 0x08
	}
	if a.BackupState {
		flags |= 0x10
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, attested...)
}

// coseKey encodes an ES256 public key as a COSE_Key (RFC 9053).
func coseKey(pub *ecdsa.PublicKey) ([]byte, error) {
	pt, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	return webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
}
