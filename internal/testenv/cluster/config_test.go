package cluster

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"strings"
	"testing"
)

func TestRegistryHostsTOML(t *testing.T) {
	tests := []struct {
		name, user, pass string
		wantAuth         bool
	}{
		{"anonymous", "", "", false},
		{"with credentials", "puller", "pw", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := registryHostsTOML("198.18.255.1:5000", tc.user, tc.pass)
			if !strings.Contains(got, `server = "http://198.18.255.1:5000"`) || !strings.Contains(got, `[host."http://198.18.255.1:5000"]`) {
				t.Errorf("hosts.toml lacks the plain-HTTP host:\n%s", got)
			}
			basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("puller:pw"))
			if strings.Contains(got, basic) != tc.wantAuth {
				t.Errorf("Authorization header present = %v, want %v:\n%s", !tc.wantAuth, tc.wantAuth, got)
			}
		})
	}
}

func TestCNIConflistStaysInTestRange(t *testing.T) {
	s, err := cniConflist("/x/ipam")
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Plugins []struct {
			Type string
			IPAM struct {
				Ranges [][]struct{ Subnet, Gateway string }
			}
		}
	}
	if err := json.Unmarshal([]byte(s), &conf); err != nil {
		t.Fatal(err)
	}
	_, testNet, _ := net.ParseCIDR("198.18.0.0/15")
	r := conf.Plugins[0].IPAM.Ranges[0][0]
	_, sub, err := net.ParseCIDR(r.Subnet)
	if err != nil || !testNet.Contains(sub.IP) || !testNet.Contains(net.ParseIP(r.Gateway)) {
		t.Errorf("pod range %s gateway %s outside 198.18.0.0/15", r.Subnet, r.Gateway)
	}
	for _, a := range []string{HostIP, NodeIP, apiServerServiceIP, clusterDNSIP} {
		if !testNet.Contains(net.ParseIP(a)) {
			t.Errorf("%s outside 198.18.0.0/15", a)
		}
	}
}

func TestPKIIssuesVerifiableCertificates(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	serving, err := p.issue("apiserver", "kube-apiserver", nil, []net.IP{net.ParseIP(HostIP)}, []string{"kubernetes"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := p.issue("admin", "admin", []string{"system:masters"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.caCert)
	parse := func(pemBytes []byte) *x509.Certificate {
		b, _ := pem.Decode(pemBytes)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := parse(serving.CertPEM).Verify(x509.VerifyOptions{Roots: roots, DNSName: HostIP}); err != nil {
		t.Errorf("serving certificate does not verify for %s: %v", HostIP, err)
	}
	c := parse(client.CertPEM)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify: %v", err)
	}
	if c.Subject.CommonName != "admin" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "system:masters" {
		t.Errorf("client subject %v", c.Subject)
	}
}
