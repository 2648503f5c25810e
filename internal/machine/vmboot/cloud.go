package vmboot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Cloud stands in, on this computer, for what a cloud machine reaches at
// boot: the artifact bucket (app binaries and dynamic files, by the path
// of their URL) and the instance metadata service (GCE's access token, as
// the gcp fetch step reads it; EC2's IMDSv2, token first). Its zero value
// serves nothing; set the fields before Serve. Safe for concurrent use
// once serving.
type Cloud struct {
	// Platform is "aws" or "gcp": on gcp, objects are read only with the
	// access token the metadata server gave (the bucket is private to the
	// instance's service account); on aws, as through the VPC endpoint,
	// without credentials.
	Platform string
	// Files are objects served from files on this computer (app
	// binaries), by URL path.
	Files map[string]string
	// Objects are objects served from memory (the LB's upstream list), by
	// URL path.
	Objects map[string][]byte

	once  sync.Once
	token string
	mu    sync.Mutex
	log   []Request
	srv   *http.Server
}

// Request is one request the guest made, for progress and diagnosis.
type Request struct {
	Method, Path string
	Status       int
}

func (c *Cloud) init() {
	c.once.Do(func() {
		b := make([]byte, 16)
		rand.Read(b)
		c.token = "vmboot-" + hex.EncodeToString(b)
	})
}

// Serve serves on l until Shutdown.
func (c *Cloud) Serve(l net.Listener) error {
	c.init()
	mux := http.NewServeMux()
	mux.HandleFunc("/computeMetadata/v1/", c.gceMetadata)
	mux.HandleFunc("/latest/", c.imds)
	mux.HandleFunc("/", c.object)
	c.mu.Lock()
	c.srv = &http.Server{Handler: c.logged(mux), ReadHeaderTimeout: 10 * time.Second}
	srv := c.srv
	c.mu.Unlock()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops serving, waiting for requests in flight.
func (c *Cloud) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	srv := c.srv
	c.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// Requests are the requests served so far, in order.
func (c *Cloud) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.log...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func (c *Cloud) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		c.mu.Lock()
		c.log = append(c.log, Request{Method: r.Method, Path: r.URL.Path, Status: sw.status})
		c.mu.Unlock()
	})
}

// object serves a bucket object by its URL path.
func (c *Cloud) object(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if c.Platform == "gcp" && r.Header.Get("Authorization") != "Bearer "+c.token {
		http.Error(w, "the bucket is private: send the service account's token (Authorization: Bearer)", http.StatusUnauthorized)
		return
	}
	if b, ok := c.Objects[r.URL.Path]; ok {
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
		return
	}
	if f, ok := c.Files[r.URL.Path]; ok {
		fh, err := os.Open(f)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer fh.Close()
		st, err := fh.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(w, r, "", st.ModTime(), fh)
		return
	}
	http.NotFound(w, r)
}

// gceMetadata answers the two metadata paths the gcp steps read, only
// with the Metadata-Flavor header GCE requires.
func (c *Cloud) gceMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	switch r.URL.Path {
	case "/computeMetadata/v1/instance/service-accounts/default/token":
		writeJSON(w, map[string]any{"access_token": c.token, "expires_in": 3599, "token_type": "Bearer"})
	case "/computeMetadata/v1/project/project-id":
		fmt.Fprint(w, "cloudlabs-vmboot")
	default:
		http.NotFound(w, r)
	}
}

// imdsRole is the instance role the fake IMDS names.
const imdsRole = "cloudlabs-vmboot"

// imds is EC2's instance metadata with IMDSv2 required (as the program
// sets it): a session token from PUT /latest/api/token, then every read
// carries it; a read without it is refused as EC2 refuses it.
func (c *Cloud) imds(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, c.token)
		return
	}
	if r.Header.Get("X-aws-ec2-metadata-token") != c.token {
		http.Error(w, "", http.StatusUnauthorized)
		return
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/latest/meta-data/iam/security-credentials":
		fmt.Fprint(w, imdsRole)
	case "/latest/meta-data/iam/security-credentials/" + imdsRole:
		writeJSON(w, map[string]string{
			"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": c.accessKeyID(),
			"SecretAccessKey": c.token, "Token": c.token, "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		})
	default:
		http.NotFound(w, r)
	}
}

// accessKeyID is the access key of the credentials the fake IMDS gives.
func (c *Cloud) accessKeyID() string {
	c.init()
	return "ASIAVMBOOT" + strings.ToUpper(c.token[7:17])
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
