//go:build integration

package signing

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/go-aks/pipeline/internal/testenv/registry"
)

// The Azure Key Vault path of --kms-key azurekms://VAULT.vault.azure.net/KEY,
// through sigstore's azurekms provider with its real Key Vault client
// (azkeys, challenge-based authentication) and the real DefaultAzureCredential
// chain, against a stand-in of the Key Vault keys API on loopback:
//
//   - the vault name is a Key Vault host (the client only accepts an
//     authentication challenge for a resource whose host the vault host ends
//     in, so a bare 127.0.0.1 vault cannot be used); HTTPS_PROXY sends the
//     client to a CONNECT proxy on loopback that only ever connects to the
//     stand-in, so no name is resolved and nothing leaves the machine;
//   - the stand-in serves HTTPS with a certificate for that host from a test
//     CA (SSL_CERT_FILE);
//   - the credential is a service principal (AZURE_TENANT_ID,
//     AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, what the Dagger functions pass),
//     whose Entra ID endpoints the stand-in serves as well (behind the same
//     proxy), or a managed identity (IDENTITY_ENDPOINT and IDENTITY_HEADER,
//     as App Service sets them) served on loopback;
//   - behind the stand-in a real ECDSA P-256 key signs digests as Key Vault's
//     sign operation does (ES256, raw r||s).
//
// Proxy and CA settings are read once per process, so the signing runs in a
// child process (this test binary again, see TestMain) with exactly that
// environment.

const (
	kmsHelperEnv = "GOAKS_AZUREKMS_HELPER"
	kmsImageEnv  = "GOAKS_AZUREKMS_IMAGE"
	kmsKeyEnv    = "GOAKS_AZUREKMS_KEY"
	testVault    = "goaks-test.vault.azure.net"
	loginHost    = "login.microsoftonline.com"
	testTenant   = "11111111-2222-3333-4444-555555555555"
	testClientID = "66666666-7777-8888-9999-000000000000"
	testKey      = "release-key"
	testKeyVer   = "0123456789abcdef0123456789abcdef"
)

func TestMain(m *testing.M) {
	if os.Getenv(kmsHelperEnv) == "1" {
		os.Exit(kmsHelper())
	}
	os.Exit(m.Run())
}

// kmsHelper is the child process: it loads the signer exactly as the
// --kms-key flag does and signs the image, printing the result as JSON.
func kmsHelper() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := name.NewDigest(os.Getenv(kmsImageEnv), name.Insecure)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := LoadSigner(ctx, "--kms-key", os.Getenv(kmsKeyEnv), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ro := RegistryOptions{Name: []name.Option{name.Insecure}, Remote: []remote.Option{remote.WithContext(ctx)}}
	wrote, err := Sign(ctx, d, s, ro)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Verify with the KMS key too (LoadVerifier of the same reference).
	v, err := LoadVerifier(ctx, "--kms-key", os.Getenv(kmsKeyEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	n, err := VerifySignature(ctx, d, v, ro)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"identity": s.Identity(), "wrote": wrote, "verified": n})
	return 0
}

func TestAzureKeyVaultSigning(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	kv := newKeyVaultStandIn(t)

	reg, err := registry.Start(ctx, registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(reg.Host+"/orders", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("v1"), img, remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	d := repo.Digest(dg.String())
	keyRef := "azurekms://" + testVault + "/" + testKey

	const sp, mi = "service principal", "managed identity"
	tests := []struct {
		name      string
		cred      string
		keyRef    string
		token     string // what the credential's token endpoint hands out
		wantErr   string // in the child's stderr; empty: signing succeeds
		wantWrote bool
	}{
		{name: "signs through Key Vault", cred: sp, keyRef: keyRef, token: kv.token, wantWrote: true},
		{name: "second run finds the signature", cred: sp, keyRef: keyRef, token: kv.token, wantWrote: false},
		{name: "pinned key version, managed identity", cred: mi, keyRef: keyRef + "/" + testKeyVer, token: kv.token, wantWrote: false},
		{name: "token Key Vault refuses", cred: sp, keyRef: keyRef, token: "not-the-token", wantErr: "--kms-key: read public key of KMS key " + keyRef},
		{name: "token Key Vault refuses, managed identity", cred: mi, keyRef: keyRef, token: "not-the-token", wantErr: "--kms-key: read public key of KMS key " + keyRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv.issue(tt.token)
			before := kv.signs()
			out, stderr, err := kv.runChild(ctx, t, d.String(), tt.keyRef, tt.cred == sp)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(stderr, tt.wantErr) || !strings.Contains(stderr, "401") {
					t.Fatalf("child: err %v, stderr %q; want a 401 failure containing %q", err, stderr, tt.wantErr)
				}
				if strings.Contains(stderr, tt.token) || strings.Contains(stderr, kv.secret) {
					t.Fatalf("the error reveals the access token or the client secret: %s", stderr)
				}
				return
			}
			if err != nil {
				t.Fatalf("child: %v\nstderr:\n%s", err, stderr)
			}
			var res struct {
				Identity string
				Wrote    bool
				Verified int
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("child output %q: %v", out, err)
			}
			fp, err := Fingerprint(&kv.key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.keyRef + " (" + fp + ")"; res.Identity != want {
				t.Errorf("identity %q, want %q", res.Identity, want)
			}
			if res.Wrote != tt.wantWrote || res.Verified < 1 {
				t.Errorf("wrote %v (want %v), verified %d signatures (want at least 1)", res.Wrote, tt.wantWrote, res.Verified)
			}
			if tt.wantWrote && kv.signs() != before+1 {
				t.Errorf("Key Vault signed %d times, want once", kv.signs()-before)
			}
		})
	}

	// Independently of the KMS provider: the signature in the registry
	// verifies with the public half of the key behind the stand-in.
	pubDER, err := x509.MarshalPKIXPublicKey(&kv.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifierFromPEM("--public-key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	if err != nil {
		t.Fatal(err)
	}
	ro := RegistryOptions{Name: []name.Option{name.Insecure}, Remote: []remote.Option{remote.WithContext(ctx)}}
	if n, err := VerifySignature(ctx, d, v, ro); err != nil || n < 1 {
		t.Fatalf("the Key Vault signature does not verify with the key's public PEM: %d signatures, %v", n, err)
	}
	if got := kv.connects(); len(got) == 0 {
		t.Fatal("the client never went through the proxy: the test did not exercise the stand-in")
	}
	for _, target := range kv.connects() {
		if target != testVault+":443" && target != loginHost+":443" {
			t.Errorf("the client asked the proxy for %s (refused): only %s:443 and %s:443 are served", target, testVault, loginHost)
		}
	}
	if kv.logins() == 0 {
		t.Error("the service principal never asked Entra ID for a token: the test did not exercise it")
	}
}

// keyVaultStandIn is the loopback stand-in: Key Vault over HTTPS behind a
// CONNECT proxy, and a managed identity token endpoint.
type keyVaultStandIn struct {
	key      *ecdsa.PrivateKey
	caFile   string
	proxy    string // http://127.0.0.1:PORT
	identity string // http://127.0.0.1:PORT/token
	header   string // IDENTITY_HEADER
	secret   string // AZURE_CLIENT_SECRET
	token    string // the token Key Vault accepts

	mu       sync.Mutex
	issued   string
	nSigns   int
	nLogins  int
	targets  []string
	problems []string
}

func (kv *keyVaultStandIn) issue(tok string) { kv.mu.Lock(); kv.issued = tok; kv.mu.Unlock() }
func (kv *keyVaultStandIn) signs() int       { kv.mu.Lock(); defer kv.mu.Unlock(); return kv.nSigns }
func (kv *keyVaultStandIn) logins() int      { kv.mu.Lock(); defer kv.mu.Unlock(); return kv.nLogins }
func (kv *keyVaultStandIn) connects() []string {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return append([]string(nil), kv.targets...)
}

func (kv *keyVaultStandIn) problem(format string, args ...any) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.problems = append(kv.problems, fmt.Sprintf(format, args...))
}

func newKeyVaultStandIn(t *testing.T) *keyVaultStandIn {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kv := &keyVaultStandIn{key: key, header: randomHex(t), secret: "secret-" + randomHex(t), token: "kv-" + randomHex(t)}
	t.Cleanup(func() {
		kv.mu.Lock()
		defer kv.mu.Unlock()
		for _, p := range kv.problems {
			t.Errorf("stand-in: %s", p)
		}
	})
	dir := t.TempDir()
	leaf := kv.testCA(t, dir)

	vault := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == loginHost {
			kv.serveLogin(w, r)
			return
		}
		kv.serveVault(w, r)
	}))
	vault.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12}
	vault.StartTLS()
	t.Cleanup(vault.Close)

	ident := httptest.NewServer(http.HandlerFunc(kv.serveIdentity))
	t.Cleanup(ident.Close)
	kv.identity = ident.URL + "/token"

	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	kv.proxy = "http://" + ln.Addr().String()
	vaultAddr := vault.Listener.Addr().String()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); kv.serveConnect(c, vaultAddr) }()
		}
	}()
	return kv
}

// testCA writes a CA certificate to dir/ca.pem (the child's SSL_CERT_FILE)
// and returns a certificate for the vault host signed by it.
func (kv *keyVaultStandIn) testCA(t *testing.T, dir string) tls.Certificate {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stand-in test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	kv.caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(kv.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: testVault}, DNSNames: []string{testVault, loginHost},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
}

// serveConnect handles one proxy connection: a CONNECT to the vault host is
// tunnelled to the stand-in; anything else is refused (and recorded).
func (kv *keyVaultStandIn) serveConnect(c net.Conn, vaultAddr string) {
	defer func() { _ = c.Close() }()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	kv.mu.Lock()
	kv.targets = append(kv.targets, req.Host)
	kv.mu.Unlock()
	if req.Method != http.MethodConnect || (req.Host != testVault+":443" && req.Host != loginHost+":443") {
		_, _ = io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	var d net.Dialer
	up, err := d.Dial("tcp", vaultAddr)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer func() { _ = up.Close() }()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

// serveLogin is what a confidential client of Entra ID asks for: instance
// discovery, the tenant's OpenID configuration and a client-credentials
// token.
func (kv *keyVaultStandIn) serveLogin(w http.ResponseWriter, r *http.Request) {
	base := "https://" + loginHost + "/" + testTenant
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		_ = json.NewEncoder(w).Encode(map[string]any{
			"tenant_discovery_endpoint": base + "/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata": []map[string]any{{"preferred_network": loginHost, "preferred_cache": "login.windows.net",
				"aliases": []string{loginHost, "login.windows.net", "login.microsoft.com", "sts.windows.net"}}},
		})
	case r.Method == http.MethodGet && r.URL.Path == "/"+testTenant+"/v2.0/.well-known/openid-configuration":
		_ = json.NewEncoder(w).Encode(map[string]string{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
		})
	case r.Method == http.MethodPost && r.URL.Path == "/"+testTenant+"/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != testClientID || f.Get("client_secret") != kv.secret {
			kv.problem("token request grant_type %q client_id %q with the right secret %v", f.Get("grant_type"), f.Get("client_id"), f.Get("client_secret") == kv.secret)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`)
			return
		}
		if !strings.Contains(" "+f.Get("scope")+" ", " https://vault.azure.net/.default ") {
			kv.problem("token asked for scope %q, want https://vault.azure.net/.default", f.Get("scope"))
		}
		kv.mu.Lock()
		tok := kv.issued
		kv.nLogins++
		kv.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": tok})
	default:
		kv.problem("unexpected Entra ID request %s %s", r.Method, r.URL)
		http.Error(w, `{"error":"invalid_request"}`, http.StatusNotFound)
	}
}

// serveIdentity is the App Service managed identity endpoint.
func (kv *keyVaultStandIn) serveIdentity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Header.Get("X-IDENTITY-HEADER") != kv.header || q.Get("api-version") != "2019-08-01" {
		kv.problem("identity request without the identity header or api-version: %s", r.URL)
		http.Error(w, "bad identity request", http.StatusBadRequest)
		return
	}
	if res := q.Get("resource"); res != "https://vault.azure.net" {
		kv.problem("token asked for resource %q, want https://vault.azure.net", res)
		http.Error(w, "unknown resource", http.StatusBadRequest)
		return
	}
	kv.mu.Lock()
	tok := kv.issued
	kv.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "token_type": "Bearer",
		"expires_on": fmt.Sprint(time.Now().Add(time.Hour).Unix()), "resource": "https://vault.azure.net"})
}

// serveVault is the Key Vault keys API: get key, sign.
func (kv *keyVaultStandIn) serveVault(w http.ResponseWriter, r *http.Request) {
	if r.Host != testVault {
		kv.problem("request for host %q", r.Host)
	}
	if r.URL.Query().Get("api-version") == "" {
		http.Error(w, `{"error":{"code":"BadParameter","message":"api-version missing"}}`, http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+kv.token {
		// The challenge Key Vault answers an unauthenticated request with.
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://`+loginHost+"/"+testTenant+`", resource="https://vault.azure.net"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}`)
		return
	}
	var parts []string
	for _, p := range strings.Split(r.URL.Path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) < 2 || parts[0] != "keys" || parts[1] != testKey {
		http.Error(w, `{"error":{"code":"KeyNotFound","message":"no such key"}}`, http.StatusNotFound)
		return
	}
	parts = parts[2:]
	if len(parts) > 0 && parts[0] == testKeyVer {
		parts = parts[1:]
	}
	kid := "https://" + testVault + "/keys/" + testKey + "/" + testKeyVer
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && len(parts) == 0:
		pt, err := kv.key.PublicKey.Bytes() // 0x04 || x || y
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		x, y := pt[1:33], pt[33:]
		_ = json.NewEncoder(w).Encode(map[string]any{
			"key": map[string]any{"kid": kid, "kty": "EC", "crv": "P-256", "key_ops": []string{"sign", "verify"},
				"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y)},
			"attributes": map[string]any{"enabled": true},
		})
	case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "sign":
		var in struct{ Alg, Value string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"error":{"code":"BadParameter","message":"body"}}`, http.StatusBadRequest)
			return
		}
		digest, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(in.Value, "="))
		if err != nil || in.Alg != "ES256" || len(digest) != sha256.Size {
			kv.problem("sign request alg %q value %q: want ES256 over a SHA-256 digest", in.Alg, in.Value)
			http.Error(w, `{"error":{"code":"BadParameter","message":"alg or value"}}`, http.StatusBadRequest)
			return
		}
		rr, ss, err := ecdsa.Sign(rand.Reader, kv.key, digest)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sig := make([]byte, 64) // Key Vault's EC signature format: r || s
		rr.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		kv.mu.Lock()
		kv.nSigns++
		kv.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"kid": kid, "value": base64.RawURLEncoding.EncodeToString(sig)})
	case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "verify":
		var in struct{ Alg, Digest, Value string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"error":{"code":"BadParameter","message":"body"}}`, http.StatusBadRequest)
			return
		}
		digest, derr := base64.RawURLEncoding.DecodeString(strings.TrimRight(in.Digest, "="))
		sig, serr := base64.RawURLEncoding.DecodeString(strings.TrimRight(in.Value, "="))
		if derr != nil || serr != nil || in.Alg != "ES256" || len(sig) != 64 {
			kv.problem("verify request alg %q digest %q signature %q: want ES256, r||s", in.Alg, in.Digest, in.Value)
			http.Error(w, `{"error":{"code":"BadParameter","message":"alg, digest or value"}}`, http.StatusBadRequest)
			return
		}
		ok := ecdsa.Verify(&kv.key.PublicKey, digest, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		_ = json.NewEncoder(w).Encode(map[string]bool{"value": ok})
	default:
		kv.problem("unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, `{"error":{"code":"BadParameter","message":"unsupported operation"}}`, http.StatusBadRequest)
	}
}

// runChild signs image with keyRef in a child process whose environment
// points the Azure SDK at the stand-in and at nothing else, with a service
// principal's credentials or a managed identity.
func (kv *keyVaultStandIn) runChild(ctx context.Context, t *testing.T, image, keyRef string, servicePrincipal bool) (stdout, stderr string, err error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(),
		kmsHelperEnv + "=1", kmsImageEnv + "=" + image, kmsKeyEnv + "=" + keyRef,
		"SSL_CERT_FILE=" + kv.caFile, "SSL_CERT_DIR=" + t.TempDir(),
		"HTTPS_PROXY=" + kv.proxy, "https_proxy=" + kv.proxy,
	}
	if servicePrincipal {
		cmd.Env = append(cmd.Env, "AZURE_TENANT_ID="+testTenant, "AZURE_CLIENT_ID="+testClientID, "AZURE_CLIENT_SECRET="+kv.secret)
	} else {
		cmd.Env = append(cmd.Env, "IDENTITY_ENDPOINT="+kv.identity, "IDENTITY_HEADER="+kv.header)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
