package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// secretKeys are kubeconfig fields whose values must never appear in output.
var secretKeys = []string{"token", "password", "client-key-data", "client-certificate-data", "client-secret", "access-token", "refresh-token", "id-token"}

// loadKubeconfig reads a kubeconfig file and returns a REST config and the
// secret values in it (to redact from any error text). Relative paths in it
// (certificate-authority, client-certificate, client-key, tokenFile, an exec
// command with a directory) are resolved against the file's own directory,
// with client-go's loader, as kubectl does. Errors name the file and the
// fix, never its content.
func loadKubeconfig(path string) (*rest.Config, *redactor, error) {
	if path == "" {
		return nil, nil, errors.New("--kubeconfig is required: the path of a kubeconfig file (az aks get-credentials --file FILE)")
	}
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, nil, fmt.Errorf("--kubeconfig %s: cannot read the file: %w", path, err)
	}
	red := newRedactor(rawSecrets(raw))
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, red, fmt.Errorf("--kubeconfig %s is empty: write the cluster's credentials into it (az aks get-credentials --file %s)", path, path)
	}
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, red, fmt.Errorf("--kubeconfig %s is not a valid kubeconfig: %s", path, red.clean(err.Error()))
	}
	red.add(configSecrets(cfg)...)
	if err := resolvePaths(cfg, path); err != nil {
		return nil, red, fmt.Errorf("--kubeconfig %s: %s", path, red.clean(err.Error()))
	}
	cur := cfg.Contexts[cfg.CurrentContext]
	switch {
	case len(cfg.Contexts) == 0:
		return nil, red, fmt.Errorf("--kubeconfig %s defines no context: it needs a context naming a cluster and a user, and current-context naming that context (az aks get-credentials --file %s writes one)", path, path)
	case cfg.CurrentContext == "":
		return nil, red, fmt.Errorf("--kubeconfig %s sets no current-context (its contexts: %s): set one (kubectl config use-context NAME --kubeconfig %s)", path, contextNames(cfg), path)
	case cur == nil:
		return nil, red, fmt.Errorf("--kubeconfig %s: current-context %q names no context in the file (its contexts: %s): set an existing one (kubectl config use-context NAME --kubeconfig %s)", path, cfg.CurrentContext, contextNames(cfg), path)
	}
	if ai := cfg.AuthInfos[cur.AuthInfo]; ai != nil {
		if err := checkExecPlugin(path, cur.AuthInfo, ai); err != nil {
			return nil, red, err
		}
		red.add(fileSecrets(ai)...)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, red, fmt.Errorf("--kubeconfig %s: %s", path, red.clean(err.Error()))
	}
	red.add(rc.BearerToken, rc.Password, string(rc.KeyData))
	red.add(pemBodyLines(rc.KeyData)...)
	if u, err := url.Parse(rc.Host); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		red.add(pw, u.User.String())
	}
	rc.Wrap(red.wrap)
	rc.Timeout = 30 * time.Second
	rc.UserAgent = "go-aks-deploy"
	rc.QPS, rc.Burst = 20, 40
	return rc, red, nil
}

// resolvePaths makes the kubeconfig's relative file references absolute
// against its directory, the way client-go's loading rules do
// (clientcmd.ResolveLocalPaths over each stanza's LocationOfOrigin).
func resolvePaths(cfg *clientcmdapi.Config, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("resolve the kubeconfig's path: %w", err)
	}
	for _, c := range cfg.Clusters {
		c.LocationOfOrigin = abs
	}
	for _, a := range cfg.AuthInfos {
		a.LocationOfOrigin = abs
	}
	for _, c := range cfg.Contexts {
		c.LocationOfOrigin = abs
	}
	return clientcmd.ResolveLocalPaths(cfg)
}

func contextNames(cfg *clientcmdapi.Config) string {
	names := make([]string, 0, len(cfg.Contexts))
	for n := range cfg.Contexts {
		names = append(names, strconv.Quote(n))
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// ExecPluginError says the kubeconfig's user needs an exec credential
// plugin that is not installed; no server was contacted.
type ExecPluginError struct {
	Kubeconfig, User, Command string
	Err                       error
}

func (e *ExecPluginError) Error() string {
	return fmt.Sprintf("--kubeconfig %s: user %q gets its credentials from the exec plugin %q, which is not installed here (%v); no server was contacted. "+
		"Install it, or use a kubeconfig that needs no plugin: kubelogin convert-kubeconfig -l azurecli|workloadidentity|spn --kubeconfig %s "+
		"(or a token file, as the Azure pipeline writes)", e.Kubeconfig, e.User, e.Command, e.Err, e.Kubeconfig)
}

func (e *ExecPluginError) Unwrap() error { return e.Err }

func checkExecPlugin(path, user string, ai *clientcmdapi.AuthInfo) error {
	if ai.Exec == nil || ai.Exec.Command == "" {
		return nil
	}
	if _, err := exec.LookPath(ai.Exec.Command); err != nil {
		return &ExecPluginError{Kubeconfig: path, User: user, Command: ai.Exec.Command, Err: err}
	}
	return nil
}

// fileSecrets are the contents of the secret files a user stanza points to
// (token file, client key), read the way client-go will read them.
func fileSecrets(ai *clientcmdapi.AuthInfo) []string {
	var out []string
	for _, f := range []string{ai.TokenFile, ai.ClientKey} {
		if f == "" {
			continue
		}
		if b, err := os.ReadFile(filepath.Clean(f)); err == nil { //nolint:gosec // the files the kubeconfig names, which client-go reads as well
			out = append(out, string(b))
			out = append(out, pemBodyLines(b)...)
		}
	}
	return out
}

// pemBodyLines are the base64 lines of a PEM block (a key quoted line by
// line is still a key).
func pemBodyLines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "-----") && !strings.Contains(l, ":") {
			out = append(out, l)
		}
	}
	return out
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
		out = append(out, a.Token, a.Password, string(a.ClientKeyData))
		out = append(out, pemBodyLines(a.ClientKeyData)...)
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
