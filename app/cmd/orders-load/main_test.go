package main

import (
	"strings"
	"testing"
)

func TestRunRejectsBadArguments(t *testing.T) {
	t.Setenv("BASE_URL", "")
	tests := []struct {
		args []string
		want string
	}{
		{nil, "-base-url (or BASE_URL) is required"},
		{[]string{"-base-url", "http://127.0.0.1:1", "extra"}, "unexpected arguments"},
		{[]string{"-base-url", "127.0.0.1:8080"}, "absolute http(s) URL"},
		{[]string{"-base-url", "http://127.0.0.1:1", "-concurrency", "1000"}, "concurrency"},
		{[]string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		err := run(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
