package pipelinecheck

import (
	"path/filepath"
	"strings"
	"testing"
)

const schemaPath = "testdata/schema/service-schema.json"

// allPipelineFiles are every pipeline, variables and step template file.
func allPipelineFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"azure-pipelines.yml"}
	for _, pattern := range []string{".azure-pipelines/*.yml", ".azure-pipelines/templates/*.yml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, err := filepath.Rel(root, f)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, rel)
		}
	}
	return files
}

func loadSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := LoadSchema(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRepositorySchema validates every pipeline and template file, and each
// pipeline after expansion, against the published schema.
func TestRepositorySchema(t *testing.T) {
	s := loadSchema(t)
	files := allPipelineFiles(t, repoRoot)
	if len(files) < 8 {
		t.Fatalf("found only %d pipeline files: %v", len(files), files)
	}
	for _, f := range files {
		problems, err := s.ValidateFile(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
	for _, f := range pipelineFiles {
		problems, err := s.ValidateExpanded(repoRoot, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Error(p)
		}
	}
}

func joinProblems(ps []Problem) string {
	var all []string
	for _, p := range ps {
		all = append(all, p.String())
	}
	return strings.Join(all, "\n")
}
