package pipelinecheck

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"dagger/pipeline/internal/modinfo"
)

// Problem is one way the pipeline files disagree with the module or the reference pipeline.
type Problem struct {
	File  string // relative to the repository root
	Where string // stage/job/step
	Msg   string
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.File + ": " + p.Msg
	}
	return p.File + ": " + p.Where + ": " + p.Msg
}

// Templates the checker understands by file name.
const (
	daggerCallTemplate  = "dagger-call.yml"
	daggerCheckTemplate = "dagger-check.yml"
	installTemplate     = "install-dagger.yml"
)

// step is one step of a job, after templates are expanded one level.
type step struct {
	kind      string // "task:NAME", "script", "checkout", "download", "template:FILE"
	condition string
	call      *daggerCall
	install   bool
	where     string
	file      string
	raw       map[string]any
}

// job is a job of a stage.
type job struct {
	name, stage, file string
	deployment        bool
	environment       string
	server            bool // agentless (pool: server)
	steps             []step
	stageCondition    string // ${{ if }} the stage is inserted under
	stageLock         string
	stageRunCondition string // the stage's condition:
}

// daggerCall is a `dagger call` made through the dagger-call template or a script line.
type daggerCall struct {
	moduleArgs, args, chain []string
	function                string
	secrets                 map[string]string
	outputVariable          string
	outputFile              string
}

// Checker checks pipeline files against a module.
type Checker struct {
	Root          string          // repository root
	Module        *modinfo.Module // the module the pipeline calls
	EngineVersion string          // dagger.json's engineVersion, e.g. v0.21.9

	problems  []Problem
	jobs      []*job
	variables map[string]string
	cd        bool // some file has a pipeline-resource trigger
	pr, ci    bool // PR and CI triggers on main
	templates map[string]bool
}

// Check reads the pipeline files (paths relative to root) and returns every problem found.
func Check(root string, files []string, mod *modinfo.Module, engineVersion string) ([]Problem, error) {
	c := &Checker{Root: root, Module: mod, EngineVersion: engineVersion, variables: map[string]string{}, templates: map[string]bool{}}
	for _, f := range files {
		if err := c.loadPipeline(f); err != nil {
			return nil, err
		}
	}
	c.checkJobs()
	c.checkStages()
	ops, err := CheckOperations(root, files)
	if err != nil {
		return nil, err
	}
	c.problems = append(c.problems, ops...)
	sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].String() < c.problems[j].String() })
	// A template used several times reports its own problems once.
	var out []Problem
	for i, p := range c.problems {
		if i == 0 || p != c.problems[i-1] {
			out = append(out, p)
		}
	}
	return out, nil
}

func (c *Checker) add(file, where, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: file, Where: where, Msg: fmt.Sprintf(format, args...)})
}

func (c *Checker) loadPipeline(rel string) error {
	doc, err := readYAML(filepath.Join(c.Root, rel))
	if err != nil {
		return err
	}
	dir := filepath.Dir(rel)
	if err := c.loadVariables(dir, doc["variables"]); err != nil {
		return err
	}
	if mainBranch(doc["trigger"]) {
		c.ci = true
	}
	if mainBranch(doc["pr"]) {
		c.pr = true
	}
	for _, p := range asList(asMap(doc["resources"])["pipelines"]) {
		if asMap(p)["trigger"] != nil {
			c.cd = true
		}
	}
	stages := items(asList(doc["stages"]))
	if len(stages) == 0 {
		c.add(rel, "", "no stages")
	}
	for _, st := range stages {
		sm := mergeConditional(asMap(st.value))
		name := asString(sm["stage"])
		for _, jt := range items(asList(sm["jobs"])) {
			jm := mergeConditional(asMap(jt.value))
			j := &job{stage: name, file: rel, stageCondition: st.condition, stageLock: asString(sm["lockBehavior"]), stageRunCondition: asString(sm["condition"])}
			steps := jm["steps"]
			switch {
			case jm["deployment"] != nil:
				j.deployment = true
				j.name = asString(jm["deployment"])
				j.environment = asString(jm["environment"])
				if env := asMap(jm["environment"]); env != nil {
					j.environment = asString(env["name"])
				}
				steps = asMap(asMap(asMap(jm["strategy"])["runOnce"])["deploy"])["steps"]
			default:
				j.name = asString(jm["job"])
			}
			j.server = asString(jm["pool"]) == "server"
			where := name + "/" + j.name
			for i, s := range items(asList(steps)) {
				c.addStep(j, dir, rel, fmt.Sprintf("%s/step %d", where, i+1), asMap(s.value))
			}
			c.jobs = append(c.jobs, j)
		}
	}
	return nil
}

// mainBranch reports whether a trigger/pr section includes main.
func mainBranch(n node) bool {
	if s, ok := n.(string); ok {
		return s != "none"
	}
	for _, b := range asStrings(asMap(asMap(n)["branches"])["include"]) {
		if b == "main" || b == "refs/heads/main" {
			return true
		}
	}
	for _, b := range asStrings(n) {
		if b == "main" {
			return true
		}
	}
	return false
}

// loadVariables reads name/value variables, following variable templates.
func (c *Checker) loadVariables(dir string, n node) error {
	if m := asMap(n); m != nil {
		for k, v := range m {
			c.variables[k] = asString(v)
		}
		return nil
	}
	for _, it := range items(asList(n)) {
		m := asMap(it.value)
		if t := asString(m["template"]); t != "" {
			doc, err := readYAML(filepath.Join(c.Root, dir, t))
			if err != nil {
				return err
			}
			if err := c.loadVariables(filepath.Dir(filepath.Join(dir, t)), doc["variables"]); err != nil {
				return err
			}
			continue
		}
		if name := asString(m["name"]); name != "" {
			c.variables[name] = asString(m["value"])
		}
	}
	return nil
}

// allowedTasks are the tasks the pipeline may use: fetching from Azure,
// publishing results and artifacts, and the manual validation.
var allowedTasks = map[string]bool{
	"AzureKeyVault@2": true, "AzureCLI@2": true, "PublishTestResults@2": true, "PublishPipelineArtifact@1": true,
	"DownloadPipelineArtifact@2": true, "ManualValidation@1": true, "ManualValidation@0": true,
	"CopyFiles@2": true,
}

func (c *Checker) addStep(j *job, dir, file, where string, s map[string]any) {
	st := step{where: where, file: file, condition: asString(s["condition"]), raw: s}
	switch {
	case s["template"] != nil:
		tpl := asString(s["template"])
		path := filepath.Join(dir, tpl)
		st.kind = "template:" + filepath.Base(tpl)
		params := asMap(s["parameters"])
		switch filepath.Base(tpl) {
		case daggerCallTemplate:
			st.call = &daggerCall{
				moduleArgs: asStrings(params["moduleArgs"]), function: asString(params["function"]),
				args: asStrings(params["args"]), chain: asStrings(params["chain"]),
				outputVariable: asString(params["outputVariable"]), outputFile: asString(params["outputFile"]),
				secrets: map[string]string{},
			}
			for k, v := range asMap(params["secrets"]) {
				st.call.secrets[k] = asString(v)
			}
			if cond := asString(params["condition"]); cond != "" {
				st.condition = cond
			}
			c.checkCall(file, where, st.call)
		case installTemplate:
			st.install = true
		}
		c.checkTemplate(path, params)
		// Steps inside other templates count as the job's steps.
		if b := filepath.Base(tpl); b != daggerCallTemplate && b != installTemplate && b != daggerCheckTemplate {
			doc, err := readYAML(filepath.Join(c.Root, path))
			if err == nil {
				for i, inner := range items(asList(doc["steps"])) {
					c.addStep(j, filepath.Dir(path), file, fmt.Sprintf("%s (%s step %d)", where, filepath.Base(tpl), i+1), asMap(inner.value))
				}
			}
			return
		}
	case s["task"] != nil:
		name := asString(s["task"])
		st.kind = "task:" + name
		if !allowedTasks[name] {
			c.add(file, where, "task %s is not one the pipeline may use: steps only fetch from Azure (AzureKeyVault, AzureCLI), call Dagger, and publish results", name)
		}
		if name == "AzureCLI@2" {
			c.checkScript(file, where, asString(asMap(s["inputs"])["inlineScript"]), azureCLIAllowed, "an AzureCLI step may only fetch credentials (az acr login, az aks get-credentials, az account get-access-token)")
		}
		if name == "PublishTestResults@2" && !alwaysRuns(st.condition) {
			c.add(file, where, "PublishTestResults must run when the checks fail too: condition: succeededOrFailed()")
		}
	case s["checkout"] != nil:
		st.kind = "checkout"
		if asString(s["checkout"]) == "self" && asString(s["fetchDepth"]) != "0" {
			c.add(file, where, "checkout without fetchDepth: 0: the pipeline needs the full history")
		}
	case s["download"] != nil:
		st.kind = "download"
	case s["bash"] != nil || s["script"] != nil || s["pwsh"] != nil || s["powershell"] != nil:
		st.kind = "script"
		body := asString(s["bash"]) + asString(s["script"]) + asString(s["pwsh"]) + asString(s["powershell"])
		c.checkScript(file, where, body, scriptAllowed, "a script step may only install the Dagger CLI and call Dagger")
		for _, line := range strings.Split(body, "\n") {
			if call, ok := c.parseCallLine(file, where, line); ok {
				st.call = call
			}
			if strings.Contains(line, "dl.dagger.io/dagger/") {
				st.install = true
				c.checkInstallLine(file, where, line)
			}
		}
	default:
		c.add(file, where, "unknown step %v", keys(s))
	}
	j.steps = append(j.steps, st)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func alwaysRuns(cond string) bool {
	cond = strings.ReplaceAll(cond, " ", "")
	return cond == "succeededOrFailed()" || cond == "always()"
}

var (
	// scriptAllowed: installing the CLI, calling Dagger, handing its result to Azure.
	scriptAllowed = []*regexp.Regexp{
		regexp.MustCompile(`^set -euo pipefail$`),
		// The release archive of the pinned version, checked against daggerSha256.
		regexp.MustCompile(`^if \[ -z "\$DAGGER_SHA256" \]; then echo "##vso\[task\.logissue type=error\][^"]*"; exit 1; fi$`),
		regexp.MustCompile(`^curl -fsSL --retry 3 -o "\$AGENT_TEMPDIRECTORY/dagger\.tar\.gz" "https://dl\.dagger\.io/dagger/releases/\$\(daggerVersion\)/dagger_v\$\(daggerVersion\)_linux_amd64\.tar\.gz"$`),
		regexp.MustCompile(`^echo "\$DAGGER_SHA256  \$AGENT_TEMPDIRECTORY/dagger\.tar\.gz" \| sha256sum --check --strict$`),
		regexp.MustCompile(`^mkdir -p "\$HOME/\.local/bin" && tar -xzf "\$AGENT_TEMPDIRECTORY/dagger\.tar\.gz" -C "\$HOME/\.local/bin" dagger$`),
		// dagger check: its constructor defaults as Dagger's local defaults (.env).
		regexp.MustCompile(`^printf 'IMAGE_REGISTRY=%s\\n' "\$IMAGE_REGISTRY" > \.env$`),
		regexp.MustCompile(`^dagger check( [^;&|<>` + "`" + `]*)?$`),
		// The module's test module on a real engine (the PR's hosted agent).
		regexp.MustCompile(`^dagger -m ci/tests call all$`),
		// CD's guard: only CI runs of main.
		regexp.MustCompile(`^if \[ "\$CI_SOURCE_BRANCH" != "refs/heads/main" \]; then echo "##vso\[task\.logissue type=error\][^"$]*\$CI_SOURCE_BRANCH[^"$]*"; exit 1; fi$`),
		regexp.MustCompile(`^echo "##vso\[task\.prependpath\][^"]+"$`),
		regexp.MustCompile(`^(result="\$\()?dagger call [^;&|<>` + "`" + `]*?(\)")?$`),
		regexp.MustCompile(`^printf '%s\\n' "\$result"$`),
		regexp.MustCompile(`^if \[ -n "\$OUTPUT_VARIABLE" \]; then echo "##vso\[task\.setvariable variable=\$\{OUTPUT_VARIABLE\};isoutput=true\]\$\{result\}"; fi$`),
		regexp.MustCompile(`^if \[ -n "\$OUTPUT_FILE" \]; then mkdir -p "\$\(dirname "\$OUTPUT_FILE"\)" && printf '%s\\n' "\$result" > "\$OUTPUT_FILE"; fi$`),
	}
	// azureCLIAllowed: obtaining registry tokens, kubeconfigs and cluster tokens.
	azureCLIAllowed = []*regexp.Regexp{
		regexp.MustCompile(`^set -euo pipefail$`),
		regexp.MustCompile(`^token="\$\(az (acr login|account get-access-token) [^;&|<>` + "`" + `)]*\)"$`),
		regexp.MustCompile(`^echo "##vso\[task\.setvariable variable=[^;\]]+;issecret=true\]\$\{token\}"$`),
		regexp.MustCompile(`^az aks get-credentials [^;&|<>` + "`" + `]*$`),
		regexp.MustCompile(`^az acr login --name "[^"]+" --only-show-errors$`),
		regexp.MustCompile(`^kubectl config (set-credentials \S+ --token-file=\S+|set-context --current --user=\S+) --kubeconfig "[^"]+"$`),
	}
)

// checkScript reports every line of body that no allowed pattern matches.
func (c *Checker) checkScript(file, where, body string, allowed []*regexp.Regexp, rule string) {
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ok := false
		for _, re := range allowed {
			if re.MatchString(line) {
				ok = true
				break
			}
		}
		if !ok {
			c.add(file, where, "%s; this line does more: %s", rule, line)
		}
	}
}

func (c *Checker) checkInstallLine(file, where, line string) {
	switch {
	case strings.Contains(line, "install.sh"):
		c.add(file, where, "the Dagger CLI is installed by piping install.sh to a shell, unverified: download the release archive of $(daggerVersion) and check it against $(daggerSha256) (sha256sum --check)")
	case !strings.Contains(line, "$(daggerVersion)"):
		c.add(file, where, "the Dagger CLI is installed without $(daggerVersion), the version dagger.json pins")
	}
}

// checkTemplate checks a template file once: its scripts and, for the
// dagger-call template, that DAGGER_CLOUD_TOKEN is passed when enabled.
func (c *Checker) checkTemplate(path string, _ map[string]any) {
	if c.templates[path] {
		return
	}
	c.templates[path] = true
	doc, err := readYAML(filepath.Join(c.Root, path))
	if err != nil {
		c.add(path, "", "%v", err)
		return
	}
	for i, it := range items(asList(doc["steps"])) {
		s := mergeConditional(asMap(it.value))
		where := fmt.Sprintf("step %d", i+1)
		body := asString(s["bash"]) + asString(s["script"])
		if body != "" {
			c.checkScript(path, where, body, scriptAllowed, "a script step may only install the Dagger CLI and call Dagger")
			for _, line := range strings.Split(body, "\n") {
				if strings.Contains(line, "dl.dagger.io/dagger/install.sh") {
					c.checkInstallLine(path, where, line)
				}
			}
		}
		if filepath.Base(path) == installTemplate {
			if !strings.Contains(body, "sha256sum --check") || asString(asMap(s["env"])["DAGGER_SHA256"]) != "$(daggerSha256)" {
				c.add(path, where, "the Dagger CLI download is not checked against the pinned checksum: map DAGGER_SHA256: $(daggerSha256) and check it with sha256sum --check before installing")
			}
		}
		if b := filepath.Base(path); b == daggerCallTemplate || b == daggerCheckTemplate {
			env := mergeConditional(asMap(s["env"]))
			if b == daggerCheckTemplate && asString(env["IMAGE_REGISTRY"]) != "$(imageRegistry)" {
				c.add(path, where, "dagger check does not get the image mirror: map IMAGE_REGISTRY: $(imageRegistry) and write it to .env (dagger check takes no constructor flags)")
			}
			if asString(env["_EXPERIMENTAL_DAGGER_RUNNER_HOST"]) != "${{ variables.daggerRunnerHost }}" {
				c.add(path, where, "_EXPERIMENTAL_DAGGER_RUNNER_HOST is not set from daggerRunnerHost: a shared engine could not be used")
			}
			if asString(env["DAGGER_CLOUD_TOKEN"]) != "$(DAGGER_CLOUD_TOKEN)" {
				c.add(path, where, "DAGGER_CLOUD_TOKEN is not mapped into the Dagger call's environment")
			}
		}
	}
}
