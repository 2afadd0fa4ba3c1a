// Package publishtest gives the tests of other packages what making a
// release needs: an office's signing key made for the test.
package publishtest

import (
	"testing"

	"github.com/govsurvey/govsurvey/publish"
	"github.com/govsurvey/govsurvey/security"
)

// Signer is a release signer for office with a new SM2 key, as the
// installation's key is made; the test stops on any error.
func Signer(t testing.TB, office string) *publish.Signer {
	t.Helper()
	key, err := security.GenerateAuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := key.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	s, err := publish.NewSigner(pemKey, office)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
