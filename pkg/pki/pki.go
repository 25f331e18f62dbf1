// Package pki creates and keeps the server's certificate authority, its serving certificate and
// the admin client certificate under the root directory. The CA and admin credentials survive
// restarts; the serving certificate is reissued when the listen address changes.
//
// Every file is written with WriteFileAtomic (a temporary file in the same directory, synced,
// then renamed into place), so after a crash each file holds either its old or its new contents;
// keys are mode 0600. A key and its certificate are two files, though, so a crash between the two
// renames can leave a pair with one half missing or with halves that do not belong together.
// Ensure checks every pair it loads and handles a broken one by what depends on it:
//
//   - The CA and the admin credentials are identities others hold on to: clients trust the CA,
//     and the admin kubeconfig carries the admin certificate. Ensure creates them only when both
//     files of the pair are absent. Only one file present, a file that does not parse, or a key
//     that does not match its certificate is an error naming the files; replacing the CA
//     silently would invalidate every credential it issued. The operator restores the pair or
//     removes both files.
//   - The serving certificate is derived from the CA and the hosts, so Ensure reissues it (key
//     and certificate) whenever it is incomplete, unreadable, mismatched, not signed by the CA,
//     does not cover the hosts or expires within a day.
//
// Replicas of one mesh share the CA and admin pairs (SharedFiles): the server keeps them in
// etcd and writes them here with WriteShared before Ensure; each replica issues its own serving
// certificate for its own address from the shared CA.
//
// It must not know about the API server; it only reads and writes PEM files.
package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// AdminUser and AdminGroup identify the admin client certificate.
const (
	AdminUser  = "accountmesh-admin"
	AdminGroup = "system:masters"
)

const validity = 10 * 365 * 24 * time.Hour

// Files are the paths of the PEM files in a PKI directory.
type Files struct {
	CACert, CAKey           string
	ServingCert, ServingKey string
	AdminCert, AdminKey     string
}

// FilesIn returns the file layout of dir.
func FilesIn(dir string) Files {
	return Files{
		CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServingCert: filepath.Join(dir, "apiserver.crt"), ServingKey: filepath.Join(dir, "apiserver.key"),
		AdminCert: filepath.Join(dir, "admin.crt"), AdminKey: filepath.Join(dir, "admin.key"),
	}
}

// Ensure loads or creates the CA and admin certificate in dir and makes sure the serving
// certificate covers hosts (IP addresses or DNS names). See the package comment for what it
// does with a pair that is incomplete or whose key does not match its certificate.
func Ensure(dir string, hosts []string) (Files, error) {
	f := FilesIn(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	caCert, caKey, err := loadOrCreateCA(f)
	if err != nil {
		return f, err
	}
	if err := ensureAdmin(f, caCert, caKey); err != nil {
		return f, err
	}
	if err := ensureServing(f, hosts, caCert, caKey); err != nil {
		return f, err
	}
	return f, nil
}

func loadOrCreateCA(f Files) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, key, err := loadPair(f.CACert, f.CAKey)
	if err == nil {
		return cert, key, nil
	}
	if !errors.Is(err, errAbsent) {
		return nil, nil, fmt.Errorf("failed to load the CA: %w; restore the pair, or remove both files to create a new CA, which invalidates every credential the old one issued", err)
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to generate CA key: %w", err)
	}
	tmpl := template()
	tmpl.Subject = pkix.Name{CommonName: "accountmesh-ca"}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create CA certificate: %w", err)
	}
	if err := writePair(f.CACert, f.CAKey, der, key); err != nil {
		return nil, nil, err
	}
	cert, err = x509.ParseCertificate(der)
	return cert, key, err
}

// ensureAdmin keeps a complete, matching admin pair and creates one only when both files are
// absent.
func ensureAdmin(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	_, _, err := loadPair(f.AdminCert, f.AdminKey)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errAbsent) {
		return fmt.Errorf("failed to load the admin credentials: %w; restore the pair, or remove both files to issue new ones", err)
	}
	if err := issue(f.AdminCert, f.AdminKey, ca, caKey, func(t *x509.Certificate) {
		t.Subject = pkix.Name{CommonName: AdminUser, Organization: []string{AdminGroup}}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}); err != nil {
		return fmt.Errorf("failed to issue the admin certificate: %w", err)
	}
	return nil
}

// ensureServing keeps a loadable serving pair that covers hosts and reissues it otherwise.
func ensureServing(f Files, hosts []string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	// A replica that joins a mesh takes its CA: a serving certificate of another CA is reissued.
	if cert, _, err := loadPair(f.ServingCert, f.ServingKey); err == nil && covers(cert, hosts) && cert.CheckSignatureFrom(ca) == nil {
		return nil
	}
	if err := issue(f.ServingCert, f.ServingKey, ca, caKey, func(t *x509.Certificate) {
		t.Subject = pkix.Name{CommonName: "accountmesh"}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				t.IPAddresses = append(t.IPAddresses, ip)
			} else {
				t.DNSNames = append(t.DNSNames, h)
			}
		}
	}); err != nil {
		return fmt.Errorf("failed to issue the serving certificate: %w", err)
	}
	return nil
}

func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(c.DNSNames, h) {
			return false
		}
	}
	return time.Now().Add(24 * time.Hour).Before(c.NotAfter)
}

// issue writes a new key and a certificate for it signed by the CA, shaped by shape.
func issue(certFile, keyFile string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, shape func(*x509.Certificate)) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("failed to generate key: %w", err)
	}
	tmpl := template()
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	shape(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("failed to sign certificate: %w", err)
	}
	return writePair(certFile, keyFile, der, key)
}

func template() *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	now := time.Now()
	return &x509.Certificate{SerialNumber: serial, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validity)}
}

// errAbsent reports that neither file of a pair exists.
var errAbsent = errors.New("neither file exists")

// loadPair reads a certificate and its key and checks that they belong together. It returns an
// error wrapping errAbsent when neither file exists, and an error naming the file(s) when only
// one exists, a file cannot be read or parsed, or the key does not match the certificate.
func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, certErr := os.ReadFile(certFile)
	keyPEM, keyErr := os.ReadFile(keyFile)
	certMissing, keyMissing := errors.Is(certErr, os.ErrNotExist), errors.Is(keyErr, os.ErrNotExist)
	switch {
	case certMissing && keyMissing:
		return nil, nil, fmt.Errorf("%s and %s: %w", certFile, keyFile, errAbsent)
	case certMissing && keyErr == nil:
		return nil, nil, fmt.Errorf("key %s has no certificate %s", keyFile, certFile)
	case keyMissing && certErr == nil:
		return nil, nil, fmt.Errorf("certificate %s has no key %s", certFile, keyFile)
	case certErr != nil:
		return nil, nil, fmt.Errorf("failed to read %s: %w", certFile, certErr)
	case keyErr != nil:
		return nil, nil, fmt.Errorf("failed to read %s: %w", keyFile, keyErr)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM block", certFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse %s: %w", certFile, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM block", keyFile)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse %s: %w", keyFile, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("key %s does not match certificate %s", keyFile, certFile)
	}
	return cert, key, nil
}

// writePair writes the key, then the certificate, each atomically.
func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("failed to marshal key: %w", err)
	}
	if err := WriteFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return WriteFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// ReadPEM returns the contents of a PEM file, trimmed.
func ReadPEM(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", file, err)
	}
	return bytes.TrimSpace(b), nil
}
