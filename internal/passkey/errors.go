package passkey

import (
	"errors"
	"fmt"
)

// Kind says what was wrong with a response, so callers can decide what
// counts as a wrong answer (a guess) and what is merely malformed.
type Kind string

const (
	// Malformed: not valid JSON, base64url, CBOR or authenticator data. Not
	// a guess: nothing was signed or checked.
	Malformed Kind = "malformed"
	// WrongCeremony: a sign-in response sent to registration or the reverse.
	WrongCeremony Kind = "ceremony"
	// ChallengeMismatch: signed for another challenge than this ceremony's.
	ChallengeMismatch Kind = "challenge"
	// WrongOrigin: collected on another website than the portal's origin.
	WrongOrigin Kind = "origin"
	// WrongRelyingParty: the authenticator data's RP id hash is not ours.
	WrongRelyingParty Kind = "rp_id"
	// NoUserPresence: the authenticator did not report a touch.
	NoUserPresence Kind = "user_presence"
	// NoUserVerification: the options required user verification and the
	// authenticator did not report it.
	NoUserVerification Kind = "user_verification"
	// AlreadyRegistered: registration of a credential the user already has.
	AlreadyRegistered Kind = "already_registered"
	// UnknownCredential: a sign-in with a credential the user does not have.
	UnknownCredential Kind = "unknown_credential"
	// BackupFlags: the backup flags are impossible or a credential's backup
	// eligibility changed, which a genuine authenticator never does.
	BackupFlags Kind = "backup_flags"
	// BadSignature: the signature does not verify with the credential's key.
	BadSignature Kind = "signature"
	// Cloned: the signature counter did not increase, a sign that the
	// credential's private key exists in more than one authenticator.
	Cloned Kind = "clone"
	// Rejected: anything else the verifier refused.
	Rejected Kind = "rejected"
)

// Error is a refused response. Message is fit to show the person; Err holds
// the library's detail for the operator's log.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("passkey: %s: %s (%v)", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("passkey: %s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of a refused response, or "" for other errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func refuse(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: err}
}
