package mfa

// SecretAAD is the associated data a device's sealed secret (a TOTP secret
// or a WebAuthn public key) is bound to, for re-sealing it at a key rotation.
func SecretAAD(deviceID string) []byte { return secretAAD(deviceID) }
