package vmboot

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// The secret stores a machine's secret step reads (templates/secret.sh.tmpl)
// cannot exist in the guest, so the boot stands in for them too: the
// guest's names of the stores resolve to the metadata address, whose port
// 443 the vendor-data sends to SecretStore on this computer, which answers
// with the boot's test values over TLS under a certificate of a CA made
// for this boot alone (the vendor-data adds it to the guest's trusted
// CAs). The secret step itself runs unchanged: IMDSv2 or the metadata
// token, the signed or authorized request, the JSON answer.

// SecretStore serves SSM Parameter Store's GetParameter and Secret
// Manager's access of the latest version, for the values in Secrets (by
// the id the user data names). It takes a request only with the
// credentials Cloud gave the guest. Set the fields before Serve.
type SecretStore struct {
	// Cloud issued the credentials the requests must carry.
	Cloud *Cloud
	// Secrets are the test values by store id.
	Secrets map[string]string
	// Cert is the server's certificate (NewCA).
	Cert tls.Certificate

	srv *http.Server
}

// StoreHosts are the secret stores' host names the user data's secret
// step connects to, found in it: SSM's regional endpoint, Secret Manager.
func StoreHosts(userData string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(userData, func(r rune) bool { return strings.ContainsRune(" \t\n'\"/:", r) }) {
		if (strings.HasPrefix(f, "ssm.") && strings.HasSuffix(f, ".amazonaws.com")) || f == "secretmanager.googleapis.com" {
			dup := false
			for _, o := range out {
				dup = dup || o == f
			}
			if !dup {
				out = append(out, f)
			}
		}
	}
	return out
}

// NewCA makes a CA for one boot and a server certificate for hosts signed
// by it; caPEM is what the guest trusts.
func NewCA(hosts []string) (caPEM string, cert tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", cert, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cloudlabs vmboot CA (one boot)"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return "", cert, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", cert, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cloudlabs vmboot secret store"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: hosts,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return "", cert, err
	}
	cert = tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})), cert, nil
}

// Serve serves TLS on l until Shutdown.
func (s *SecretStore) Serve(l net.Listener) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.handle)
	s.srv = &http.Server{Handler: s.Cloud.logged(mux), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{s.Cert}, MinVersion: tls.VersionTLS12}}
	err := s.srv.Serve(tls.NewListener(l, s.srv.TLSConfig))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving.
func (s *SecretStore) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

func (s *SecretStore) handle(w http.ResponseWriter, r *http.Request) {
	s.Cloud.init()
	switch {
	case r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") == "AmazonSSM.GetParameter":
		s.ssm(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/projects/") && strings.HasSuffix(r.URL.Path, "/versions/latest:access"):
		s.secretManager(w, r)
	default:
		http.NotFound(w, r)
	}
}

// ssm answers GetParameter for a request signed (SigV4) with the access
// key the fake IMDS handed out and carrying its session token; the
// signature itself is not recomputed.
func (s *SecretStore) ssm(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+s.Cloud.accessKeyID()+"/") ||
		r.Header.Get("X-Amz-Security-Token") != s.Cloud.token {
		http.Error(w, `{"__type":"UnrecognizedClientException"}`, http.StatusBadRequest)
		return
	}
	var req struct {
		Name           string
		WithDecryption bool
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		http.Error(w, `{"__type":"SerializationException"}`, http.StatusBadRequest)
		return
	}
	v, ok := s.Secrets[req.Name]
	if !ok {
		http.Error(w, `{"__type":"ParameterNotFound"}`, http.StatusBadRequest)
		return
	}
	writeJSON(w, map[string]any{"Parameter": map[string]any{"Name": req.Name, "Type": "SecureString", "Value": v, "Version": 1}})
}

// secretManager answers projects/P/secrets/ID/versions/latest:access for
// a request with the metadata server's token.
func (s *SecretStore) secretManager(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.Cloud.token {
		http.Error(w, `{"error":{"code":401,"status":"UNAUTHENTICATED"}}`, http.StatusUnauthorized)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	// projects / P / secrets / ID / versions / latest:access
	if len(parts) != 6 || parts[2] != "secrets" {
		http.NotFound(w, r)
		return
	}
	v, ok := s.Secrets[parts[3]]
	if !ok {
		http.Error(w, `{"error":{"code":404,"status":"NOT_FOUND"}}`, http.StatusNotFound)
		return
	}
	writeJSON(w, map[string]any{
		"name":    fmt.Sprintf("projects/%s/secrets/%s/versions/1", parts[1], parts[3]),
		"payload": map[string]string{"data": base64.StdEncoding.EncodeToString([]byte(v))},
	})
}
