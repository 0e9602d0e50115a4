// Command pki writes the certificates, keys and tokens of the local cluster
// (hack/local-cluster/cluster.sh) into a directory: a CA, the API server's
// serving certificate, the kubelet's serving certificate, the API server's
// client certificate for the kubelet, the service-account signing key pair
// and a static token file with one token per component.
//
//	pki -dir DIR -node-name NAME -node-ip IP -service-ip IP
//
// Existing files are kept, so running it twice changes nothing.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// validity is long enough for any test run and short enough to be obviously
// a throwaway.
const validity = 30 * 24 * time.Hour

func main() {
	dir := flag.String("dir", "", "output directory")
	nodeName := flag.String("node-name", "", "the node's name")
	nodeIP := flag.String("node-ip", "", "the node's IP address")
	serviceIP := flag.String("service-ip", "", "the first service IP (the kubernetes Service)")
	flag.Parse()
	if *dir == "" || *nodeName == "" || net.ParseIP(*nodeIP) == nil || net.ParseIP(*serviceIP) == nil {
		fmt.Fprintln(os.Stderr, "usage: pki -dir DIR -node-name NAME -node-ip IP -service-ip IP")
		os.Exit(2)
	}
	if err := run(*dir, *nodeName, net.ParseIP(*nodeIP), net.ParseIP(*serviceIP)); err != nil {
		fmt.Fprintln(os.Stderr, "pki:", err)
		os.Exit(1)
	}
}

func run(dir, nodeName string, nodeIP, serviceIP net.IP) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, caKey, err := loadOrCreateCA(dir)
	if err != nil {
		return err
	}
	loopback := net.ParseIP("127.0.0.1")
	certs := []struct {
		name  string
		tmpl  x509.Certificate
		usage x509.ExtKeyUsage
	}{
		{"apiserver", x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
			IPAddresses: []net.IP{loopback, serviceIP, nodeIP},
		}, x509.ExtKeyUsageServerAuth},
		{"kubelet", x509.Certificate{
			Subject:     pkix.Name{CommonName: nodeName},
			DNSNames:    []string{nodeName, "localhost"},
			IPAddresses: []net.IP{nodeIP, loopback},
		}, x509.ExtKeyUsageServerAuth},
		{"apiserver-kubelet-client", x509.Certificate{
			Subject: pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
		}, x509.ExtKeyUsageClientAuth},
	}
	for _, c := range certs {
		if exists(filepath.Join(dir, c.name+".crt")) {
			continue
		}
		if err := issue(dir, c.name, c.tmpl, c.usage, ca, caKey); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	if !exists(filepath.Join(dir, "sa.key")) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return err
		}
		if err := writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub, 0o644); err != nil {
			return err
		}
		if err := writeKey(filepath.Join(dir, "sa.key"), key); err != nil {
			return err
		}
	}
	return writeTokens(dir, nodeName)
}

// writeTokens writes tokens.csv for --token-auth-file and one token file per
// user, which cluster.sh puts into that user's kubeconfig.
func writeTokens(dir, nodeName string) error {
	if exists(filepath.Join(dir, "tokens.csv")) {
		return nil
	}
	users := []struct{ file, user, groups string }{
		{"admin", "palisade-lc-admin", "system:masters"},
		{"controller-manager", "system:kube-controller-manager", ""},
		{"scheduler", "system:kube-scheduler", ""},
		{"kubelet", "system:node:" + nodeName, "system:nodes"},
	}
	var csv strings.Builder
	for i, u := range users {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		token := hex.EncodeToString(b)
		if err := os.WriteFile(filepath.Join(dir, u.file+".token"), []byte(token), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(&csv, "%s,%s,uid-%d", token, u.user, i+1)
		if u.groups != "" {
			fmt.Fprintf(&csv, ",\"%s\"", u.groups)
		}
		csv.WriteString("\n")
	}
	return os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(csv.String()), 0o600)
}

func loadOrCreateCA(dir string) (*x509.Certificate, crypto.Signer, error) {
	crtPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if exists(crtPath) && exists(keyPath) {
		crt, err := readPEM(crtPath)
		if err != nil {
			return nil, nil, err
		}
		ca, err := x509.ParseCertificate(crt)
		if err != nil {
			return nil, nil, err
		}
		der, err := readPEM(keyPath)
		if err != nil {
			return nil, nil, err
		}
		key, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, nil, err
		}
		return ca, key, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "palisade-local-cluster-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	return ca, key, writePEM(crtPath, "CERTIFICATE", der, 0o644)
}

func issue(dir, name string, tmpl x509.Certificate, usage x509.ExtKeyUsage, ca *x509.Certificate, caKey crypto.Signer) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(validity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, name+".key"), key); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".crt"), "CERTIFICATE", der, 0o644)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func readPEM(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New(path + ": no PEM block")
	}
	return block.Bytes, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
