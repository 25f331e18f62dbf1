// Package pki creates and keeps the server's certificate authority, its serving certificate and
// the admin client certificate under the root directory. The CA and admin credentials survive
// restarts; the serving certificate is reissued when the listen address changes.
//
// Every file is written with WriteFileAtomic (a temporary file in the same directory, synced,
// then renamed into place), so after a crash each file holds either its old or its new contents;
// keys are mode 0600.
//
// It must not know about the API server; it only reads and writes PEM files.
package pki

import (
	"bytes"
	"crypto"
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
// certificate covers hosts (IP addresses or DNS names).
func Ensure(dir string, hosts []string) (Files, error) {
	f := FilesIn(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("failed to create %s: %w", dir, err)
	}
	caCert, caKey, err := loadOrCreateCA(f)
	if err != nil {
		return f, err
	}
	if err := ensureLeaf(f.AdminCert, f.AdminKey, caCert, caKey, func(t *x509.Certificate) {
		t.Subject = pkix.Name{CommonName: AdminUser, Organization: []string{AdminGroup}}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}, nil); err != nil {
		return f, fmt.Errorf("failed to ensure admin certificate: %w", err)
	}
	if err := ensureLeaf(f.ServingCert, f.ServingKey, caCert, caKey, func(t *x509.Certificate) {
		t.Subject = pkix.Name{CommonName: "accountmesh"}
		t.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				t.IPAddresses = append(t.IPAddresses, ip)
			} else {
				t.DNSNames = append(t.DNSNames, h)
			}
		}
	}, func(c *x509.Certificate) bool { return covers(c, hosts) }); err != nil {
		return f, fmt.Errorf("failed to ensure serving certificate: %w", err)
	}
	return f, nil
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

func loadOrCreateCA(f Files) (*x509.Certificate, crypto.Signer, error) {
	if cert, key, err := load(f.CACert, f.CAKey); err == nil {
		return cert, key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("failed to load CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
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
	if err := write(f.CACert, f.CAKey, der, key); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// ensureLeaf keeps a valid existing certificate (per valid, when given) or issues a new one.
func ensureLeaf(certFile, keyFile string, ca *x509.Certificate, caKey crypto.Signer,
	shape func(*x509.Certificate), valid func(*x509.Certificate) bool) error {
	if cert, _, err := load(certFile, keyFile); err == nil {
		if valid == nil || valid(cert) {
			return nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
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
	return write(certFile, keyFile, der, key)
}

func template() *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	now := time.Now()
	return &x509.Certificate{SerialNumber: serial, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(validity)}
}

func load(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("%s or %s holds no PEM block", certFile, keyFile)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse %s: %w", certFile, err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse %s: %w", keyFile, err)
	}
	return cert, key, nil
}

func write(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
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
