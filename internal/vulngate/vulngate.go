// Package vulngate gates govulncheck's JSON output (-format json): it lists
// the vulnerabilities the code calls and refuses those not accepted in the
// allow file. An accepted entry names the
// OSV id, the date it must be reviewed again by, and why it is accepted:
//
//	GO-2026-4529 2027-03-31 keyless certificate-chain verification only; we verify with keys
//
// An entry past its date no longer counts, so acceptances cannot go stale.
package vulngate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

type message struct {
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

type finding struct {
	id, module, version, fixed, summary string
}

type allowance struct {
	until  time.Time
	reason string
}

// called returns the vulnerabilities whose vulnerable functions the code
// reaches (govulncheck's "your code is affected"), by OSV id.
func called(r io.Reader) (map[string]finding, error) {
	dec := json.NewDecoder(r)
	summaries := map[string]string{}
	out := map[string]finding{}
	for {
		var m message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read govulncheck JSON: %w", err)
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		if f := m.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			out[f.OSV] = finding{id: f.OSV, module: f.Trace[0].Module, version: f.Trace[0].Version, fixed: f.FixedVersion}
		}
	}
	for id, f := range out {
		f.summary = summaries[id]
		out[id] = f
	}
	return out, nil
}

// parseAllow reads the allow file: "ID YYYY-MM-DD reason", # comments.
func parseAllow(r io.Reader) (map[string]allowance, error) {
	out := map[string]allowance{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			return nil, fmt.Errorf("allow file line %d: want \"ID YYYY-MM-DD reason\", got %q", n, line)
		}
		until, err := time.Parse(time.DateOnly, fields[1])
		if err != nil {
			return nil, fmt.Errorf("allow file line %d: review date %q is not YYYY-MM-DD", n, fields[1])
		}
		out[fields[0]] = allowance{until: until, reason: strings.Join(fields[2:], " ")}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read allow file: %w", err)
	}
	return out, nil
}

// gate writes the report and returns the ids that are not accepted on day now.
func gate(w io.Writer, found map[string]finding, allow map[string]allowance, now time.Time) []string {
	ids := make([]string, 0, len(found))
	for id := range found {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var refused []string
	for _, id := range ids {
		f := found[id]
		fixed := f.fixed
		if fixed == "" {
			fixed = "no fixed version"
		}
		verdict := "NOT ACCEPTED"
		if a, ok := allow[id]; ok && !now.After(a.until) {
			verdict = fmt.Sprintf("accepted until %s: %s", a.until.Format(time.DateOnly), a.reason)
		} else if ok {
			verdict = fmt.Sprintf("NOT ACCEPTED (acceptance expired %s)", a.until.Format(time.DateOnly))
		}
		if strings.HasPrefix(verdict, "NOT") {
			refused = append(refused, id)
		}
		_, _ = fmt.Fprintf(w, "%s %s@%s (fixed: %s)\n    %s\n    %s\n", id, f.module, f.version, fixed, f.summary, verdict)
	}
	for id := range allow {
		if _, ok := found[id]; !ok {
			_, _ = fmt.Fprintf(w, "note: %s is in the allow file but no longer found; remove it\n", id)
		}
	}
	_, _ = fmt.Fprintf(w, "%d called vulnerabilities, %d not accepted\n", len(found), len(refused))
	return refused
}

// Check reads govulncheck's JSON stream from r and the allow file at
// allowPath (empty: none), writes the report to w and returns an error
// naming the called vulnerabilities not accepted on day now.
func Check(w io.Writer, r io.Reader, allowPath string, now time.Time) error {
	allow := map[string]allowance{}
	if allowPath != "" {
		f, err := os.Open(allowPath) //nolint:gosec // the allow file the caller names
		if err != nil {
			return fmt.Errorf("vulnerability allow-list: %w", err)
		}
		allow, err = parseAllow(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", allowPath, err)
		}
	}
	found, err := called(r)
	if err != nil {
		return err
	}
	if refused := gate(w, found, allow, now); len(refused) > 0 {
		where := "an allow-list (settings vuln.allow)"
		if allowPath != "" {
			where = allowPath
		}
		return &RefusedError{IDs: refused, AllowFile: where}
	}
	return nil
}

// RefusedError names the called vulnerabilities not accepted.
type RefusedError struct {
	IDs       []string
	AllowFile string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("called vulnerabilities not accepted: %s (upgrade the module, or accept with a reason and review date in %s)", strings.Join(e.IDs, ", "), e.AllowFile)
}
