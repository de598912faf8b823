// Command junitsum reads JUnit XML reports and prints one line per report and
// a closing total, "tests: N passed, N failed, N skipped". Lint reports
// (whose test cases are findings, not tests) are named but not counted.
package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type testCase struct {
	Failure *struct{} `xml:"failure"`
	Error   *struct{} `xml:"error"`
	Skipped *struct{} `xml:"skipped"`
}

type suites struct {
	Suites []struct {
		Cases []testCase `xml:"testcase"`
	} `xml:"testsuite"`
}

type tally struct{ passed, failed, skipped int }

func count(path string) (tally, error) {
	data, err := os.ReadFile(path) //nolint:gosec // reports named on our own command line
	if err != nil {
		return tally{}, fmt.Errorf("read %s: %w", path, err)
	}
	var s suites
	if err := xml.Unmarshal(data, &s); err != nil { //nolint:gosec // our own test reports
		return tally{}, fmt.Errorf("parse %s as JUnit XML: %w", path, err)
	}
	var t tally
	for _, suite := range s.Suites {
		for _, c := range suite.Cases {
			switch {
			case c.Failure != nil || c.Error != nil:
				t.failed++
			case c.Skipped != nil:
				t.skipped++
			default:
				t.passed++
			}
		}
	}
	return t, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: junitsum REPORT.xml...")
		os.Exit(2)
	}
	var total tally
	for _, path := range os.Args[1:] {
		t, err := count(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "junitsum:", err)
			os.Exit(1)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".xml")
		if name == "lint" {
			fmt.Printf("  %-12s %d findings\n", name, t.failed)
			continue
		}
		fmt.Printf("  %-12s %d passed, %d failed, %d skipped\n", name, t.passed, t.failed, t.skipped)
		total.passed += t.passed
		total.failed += t.failed
		total.skipped += t.skipped
	}
	fmt.Printf("tests: %d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped)
}
