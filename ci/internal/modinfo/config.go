package modinfo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Config is the part of dagger.json the checks read.
type Config struct {
	Name          string `json:"name"`
	EngineVersion string `json:"engineVersion"`
	Source        string `json:"source"`
	SDK           struct {
		Source string `json:"source"`
	} `json:"sdk"`
	Dependencies []struct {
		Name   string `json:"name"`
		Source string `json:"source"`
	} `json:"dependencies"`
}

// ReadConfig reads root/dagger.json.
func ReadConfig(root string) (Config, error) {
	data, err := os.ReadFile(filepath.Join(filepath.Clean(root), "dagger.json"))
	if err != nil {
		return Config{}, fmt.Errorf("read dagger.json: %w", err)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("parse %s: %w", filepath.Join(root, "dagger.json"), err)
	}
	if c.Name == "" {
		return Config{}, fmt.Errorf("%s: no module name", filepath.Join(root, "dagger.json"))
	}
	if c.Source == "" {
		c.Source = "."
	}
	return c, nil
}
