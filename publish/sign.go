package publish

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// Signatures: manifest.p7s is a detached CMS (PKCS #7) SignedData over the
// bytes of manifest.json, made with the SM2 key of the office and SM3
// (GM/T 0010, the OIDs of the Chinese standards), carrying a certificate
// for that key. The certificate is self-signed, made at signing time and
// naming the office: what makes a signature trustworthy is its public key,
// which the office publishes (signer.pem in every release, the public
// page, and its own channels); verify prints the key's SM3 fingerprint and
// checks it against a key given with --public-key.

// Signer signs release manifests with an SM2 private key.
type Signer struct {
	key  *sm2.PrivateKey
	name string
}

// NewSigner reads an SM2 private key from PEM (PKCS #8 "PRIVATE KEY", as
// security.AuditSigner.MarshalPEM writes, or SEC 1 "EC PRIVATE KEY"); name
// is the office, written into the signing certificate.
func NewSigner(keyPEM []byte, name string) (*Signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("publish: signing key: no PEM block")
	}
	var key *sm2.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := smx509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("publish: signing key: %w", err)
		}
		sk, ok := k.(*sm2.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("publish: signing key: %T is not an SM2 key", k)
		}
		key = sk
	case "EC PRIVATE KEY":
		k, err := smx509.ParseSM2PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("publish: signing key: %w", err)
		}
		key = k
	default:
		return nil, fmt.Errorf("publish: signing key: PEM block %q is not a private key", block.Type)
	}
	if name == "" {
		return nil, errors.New("publish: the signer needs a name (the office)")
	}
	return &Signer{key: key, name: name}, nil
}

// Name is the office the signer signs for.
func (s *Signer) Name() string { return s.name }

// String and Format keep the key out of logs.
func (s *Signer) String() string                { return "publish.Signer(" + s.name + ")" }
func (s *Signer) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// PublicKeyPEM is the public key, PKIX PEM: signer.pem.
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	der, err := smx509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("publish: public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// Fingerprint is the hex SM3 digest of a PKIX-encoded public key.
func Fingerprint(pkixDER []byte) string {
	d := sm3.Sum(pkixDER)
	return hex.EncodeToString(d[:])
}

// certificate makes the self-signed certificate naming the office.
func (s *Signer) certificate(now time.Time) (*smx509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &smx509.Certificate{
		SerialNumber:       serial,
		Subject:            pkix.Name{CommonName: s.name},
		NotBefore:          now.Add(-time.Hour),
		NotAfter:           now.AddDate(30, 0, 0),
		KeyUsage:           smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		SignatureAlgorithm: smx509.SM2WithSM3,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.key.PublicKey, s.key)
	if err != nil {
		return nil, fmt.Errorf("publish: signing certificate: %w", err)
	}
	return smx509.ParseCertificate(der)
}

// Sign returns the detached CMS signature of content, DER.
func (s *Signer) Sign(content []byte, now time.Time) ([]byte, error) {
	cert, err := s.certificate(now)
	if err != nil {
		return nil, err
	}
	sd, err := pkcs7.NewSMSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("publish: signing: %w", err)
	}
	if err := sd.AddSigner(cert, s.key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("publish: signing: %w", err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("publish: signing: %w", err)
	}
	return der, nil
}

// SignedBy is who signed, as the signature says.
type SignedBy struct {
	Name        string    // the certificate's common name
	Fingerprint string    // SM3 of the signer's public key (PKIX DER)
	PublicKey   []byte    // PKIX PEM
	Time        time.Time // the signing time attribute, zero if none
}

// ErrBadSignature: the signature does not verify over the content.
var ErrBadSignature = errors.New("publish: the signature does not match the manifest")

// VerifySignature checks a detached CMS signature of content and says who
// made it. It does not decide whether that key is to be trusted.
func VerifySignature(content, sig []byte) (SignedBy, error) {
	p7, err := pkcs7.Parse(sig)
	if err != nil {
		return SignedBy{}, fmt.Errorf("publish: reading the signature: %w", err)
	}
	p7.Content = content
	if err := p7.Verify(); err != nil {
		return SignedBy{}, fmt.Errorf("%w (%v)", ErrBadSignature, err)
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		return SignedBy{}, errors.New("publish: the signature names no single signer")
	}
	if !sm2.IsSM2PublicKey(cert.PublicKey) {
		return SignedBy{}, errors.New("publish: the signer's key is not an SM2 key")
	}
	der, err := smx509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		return SignedBy{}, fmt.Errorf("publish: signer key: %w", err)
	}
	by := SignedBy{Name: cert.Subject.CommonName, Fingerprint: Fingerprint(der),
		PublicKey: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
	var t time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &t); err == nil {
		by.Time = t.UTC()
	}
	return by, nil
}

// PublicKeyFingerprint reads a PKIX PEM public key and returns its
// fingerprint.
func PublicKeyFingerprint(pemBytes []byte) (string, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return "", errors.New("publish: no PUBLIC KEY PEM block")
	}
	k, err := smx509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("publish: public key: %w", err)
	}
	if !sm2.IsSM2PublicKey(k) {
		return "", errors.New("publish: the public key is not an SM2 key")
	}
	der, err := smx509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return Fingerprint(der), nil
}
