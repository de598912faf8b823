//go:build integration

package main

import (
	"context"
	"os/exec"
)

func execCommand(ctx context.Context, bin string, env []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin) //nolint:gosec // the binary the test built
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	return cmd
}
