package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// secretKeys are kubeconfig fields whose values must never appear in output.
var secretKeys = []string{"token", "password", "client-key-data", "client-certificate-data", "client-secret", "access-token", "refresh-token", "id-token"}

// loadKubeconfig reads a kubeconfig file and returns a REST config and the
// secret values in it (to redact from any error text). Errors name the file
// and the fix, never its content.
func loadKubeconfig(path string) (*rest.Config, *redactor, error) {
	if path == "" {
		return nil, nil, errors.New("--kubeconfig is required: the path of a kubeconfig file (az aks get-credentials --file FILE)")
	}
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, nil, fmt.Errorf("--kubeconfig %s: cannot read the file: %w", path, err)
	}
	red := newRedactor(rawSecrets(raw))
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, red, fmt.Errorf("--kubeconfig %s is not a valid kubeconfig: %s", path, red.clean(err.Error()))
	}
	red.add(configSecrets(cfg)...)
	if cfg.CurrentContext == "" || cfg.Contexts[cfg.CurrentContext] == nil {
		return nil, red, fmt.Errorf("--kubeconfig %s has no current context: set current-context (kubectl config use-context NAME --kubeconfig %s)", path, path)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, red, fmt.Errorf("--kubeconfig %s: %s", path, red.clean(err.Error()))
	}
	rc.Timeout = 30 * time.Second
	rc.UserAgent = "go-aks-deploy"
	rc.QPS, rc.Burst = 20, 40
	return rc, red, nil
}

// rawSecrets finds "key: value" lines of secret fields, so that even a
// kubeconfig that does not parse has its secrets redacted.
func rawSecrets(raw []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "- "))
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		for _, s := range secretKeys {
			if strings.EqualFold(k, s) {
				out = append(out, strings.Trim(strings.TrimSpace(v), `"'`))
			}
		}
	}
	return out
}

func configSecrets(cfg *clientcmdapi.Config) []string {
	var out []string
	for _, a := range cfg.AuthInfos {
		out = append(out, a.Token, a.Password, string(a.ClientKeyData), string(a.ClientCertificateData))
		if a.AuthProvider != nil {
			for _, v := range a.AuthProvider.Config {
				out = append(out, v)
			}
		}
		if a.Exec != nil {
			for _, e := range a.Exec.Env {
				out = append(out, e.Value)
			}
		}
	}
	return out
}

// redactor removes secret values from text.
type redactor struct{ secrets []string }

func newRedactor(s []string) *redactor { r := &redactor{}; r.add(s...); return r }

func (r *redactor) add(s ...string) {
	for _, v := range s {
		v = strings.TrimSpace(v)
		if len(v) >= 6 {
			r.secrets = append(r.secrets, v)
		}
	}
}

func (r *redactor) clean(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "[REDACTED]")
	}
	return s
}
