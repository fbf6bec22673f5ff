package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"gatehouse/internal/mfa"
	"gatehouse/internal/passkey"
)

// relyingParty derives the WebAuthn relying party from the base URL (its
// origin, and its host as the RP id unless --rp-id names a parent domain).
// A mistaken --rp-id is a start-up error that says what is wrong. A base
// URL no browser would use security keys at (an IP address, or plain http
// on a host other than localhost) is not: the portal runs without them,
// says why on its pages, and logs it here — unless --rp-id was set, when
// the operator clearly meant to use them.
func relyingParty(cfg Config, base *url.URL, log *slog.Logger) (*passkey.RelyingParty, string, error) {
	rp, err := passkey.New(passkey.Config{Origin: base.String(), RPID: cfg.RPID, DisplayName: cfg.Issuer, Timeout: mfa.ChallengeTTL})
	switch {
	case err == nil:
		return rp, "", nil
	case errors.Is(err, passkey.ErrUnavailable) && cfg.RPID == "":
		reason := strings.TrimPrefix(err.Error(), passkey.ErrUnavailable.Error()+": ")
		log.Warn("security keys and built-in authenticators are unavailable", "reason", reason)
		return nil, reason, nil
	case cfg.RPID != "":
		return nil, "", fmt.Errorf("--rp-id: %w", err)
	default:
		return nil, "", fmt.Errorf("--base-url: %w", err)
	}
}
