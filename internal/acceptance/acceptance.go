// Package acceptance defines the record that an image passed the acceptance
// suite in an environment: the predicate of a signed in-toto attestation
// that promote requires, and its derivation from the suite's JUnit report.
package acceptance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// PredicateType is the in-toto predicate type of acceptance records.
const PredicateType = "https://github.com/go-aks/pipeline/attestations/acceptance/v1"

// ResultPassed is the only result promote accepts.
const ResultPassed = "passed"

// Record is the acceptance predicate.
type Record struct {
	// Environment the suite ran against, for example "staging".
	Environment string `json:"environment"`
	// Result is "passed" (a failing suite gets no record).
	Result string `json:"result"`
	// Time the record was made.
	Time time.Time `json:"time"`
	// Image is the digest-pinned reference that was tested.
	Image string `json:"image"`
	// Suite summarises the JUnit report, when one was given.
	Suite *Suite `json:"suite,omitempty"`
}

// Suite is the summary of a JUnit report.
type Suite struct {
	Tests        int    `json:"tests"`
	Failures     int    `json:"failures"`
	Errors       int    `json:"errors"`
	Skipped      int    `json:"skipped"`
	ReportSHA256 string `json:"reportSHA256"`
}

// Parse decodes and checks a predicate.
func Parse(raw []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return Record{}, fmt.Errorf("decode acceptance record: %w", err)
	}
	return r, nil
}

// Accepts reports whether the record says the image passed in environment
// (any environment when environment is empty).
func (r Record) Accepts(environment string) error {
	if r.Result != ResultPassed {
		return fmt.Errorf("acceptance record says %q, not %q", r.Result, ResultPassed)
	}
	if environment != "" && r.Environment != environment {
		return fmt.Errorf("acceptance record is for environment %q, not %q", r.Environment, environment)
	}
	if r.Suite != nil && (r.Suite.Failures > 0 || r.Suite.Errors > 0) {
		return fmt.Errorf("acceptance record lists %d failures and %d errors", r.Suite.Failures, r.Suite.Errors)
	}
	return nil
}

type junitSuite struct {
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

// FromJUnit summarises a JUnit XML report (a <testsuites> or a single
// <testsuite> root, as gotestsum writes).
func FromJUnit(r io.Reader) (*Suite, error) {
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read JUnit report: %w", err)
	}
	var root struct {
		XMLName xml.Name
		junitSuite
	}
	if err := xml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse JUnit report: %w", err)
	}
	name := root.XMLName.Local
	if name != "testsuites" && name != "testsuite" {
		return nil, fmt.Errorf("parse JUnit report: root element <%s>, want <testsuites> or <testsuite>", name)
	}
	s := &Suite{}
	if name == "testsuite" || len(root.Suites) == 0 {
		s.Tests, s.Failures, s.Errors, s.Skipped = root.Tests, root.Failures, root.Errors, root.Skipped
	} else {
		for _, ts := range root.Suites {
			s.Tests += ts.Tests
			s.Failures += ts.Failures
			s.Errors += ts.Errors
			s.Skipped += ts.Skipped
		}
	}
	sum := sha256.Sum256(data)
	s.ReportSHA256 = hex.EncodeToString(sum[:])
	if s.Tests == 0 {
		return nil, errors.New("JUnit report lists no tests: an empty suite is not an acceptance")
	}
	if s.Failures > 0 || s.Errors > 0 {
		return s, fmt.Errorf("JUnit report lists %d failures and %d errors of %d tests: %w", s.Failures, s.Errors, s.Tests, ErrFailed)
	}
	return s, nil
}

// ErrFailed is returned when the report shows failures.
var ErrFailed = errors.New("acceptance suite failed")

// New makes a passing record.
func New(environment, image string, suite *Suite, now time.Time) (Record, error) {
	environment = strings.TrimSpace(environment)
	if environment == "" {
		return Record{}, errors.New("--environment is empty: name the environment the suite ran against (for example staging)")
	}
	return Record{Environment: environment, Result: ResultPassed, Time: now.UTC(), Image: image, Suite: suite}, nil
}
