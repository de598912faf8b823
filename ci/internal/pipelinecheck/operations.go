package pipelinecheck

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The rules in this file are how a platform team runs Azure Pipelines:
// re-runs that work, CD fed only from main, a manual validation that is not
// cancelled by its own job, deployment jobs that download only what they
// use, base images from the mirror, and the non-production public key taken
// from Key Vault and checked before anything is deployed. They read the
// expanded pipelines (Expand: templates inserted, parameters bound), so a
// step inside a template is seen with the values its caller gave.

// xJob is a job of an expanded pipeline.
type xJob struct {
	file, stage, name string
	stageIndex        int
	deployment, agent bool
	timeout           string
	steps             []map[string]any
}

func (j *xJob) where() string { return j.stage + "/" + j.name }

// xCall is a `dagger call` line of an expanded script step.
type xCall struct {
	step     int
	words    []string // after "dagger call"
	function string
	env      map[string]string
}

// flag returns the value of --name among the call's words.
func (c xCall) flag(name string) (string, bool) {
	for i, w := range c.words {
		if w == "--"+name {
			if i+1 < len(c.words) {
				return c.words[i+1], true
			}
			return "", true
		}
		if v, ok := strings.CutPrefix(w, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// exportPath returns the path of a chained `export --path PATH`.
func (c xCall) exportPath() string {
	for i := 0; i+2 < len(c.words); i++ {
		if c.words[i] == "export" && c.words[i+1] == "--path" {
			return c.words[i+2]
		}
	}
	return ""
}

func (j *xJob) calls() []xCall {
	var out []xCall
	for i, s := range j.steps {
		body := asString(s["bash"]) + asString(s["script"])
		env := map[string]string{}
		for k, v := range asMap(s["env"]) {
			env[k] = asString(v)
		}
		for _, line := range strings.Split(body, "\n") {
			_, rest, ok := strings.Cut(line, "dagger call ")
			if !ok {
				continue
			}
			words := strings.Fields(strings.TrimSuffix(strings.TrimSpace(rest), `)"`))
			fn := ""
			for k := 0; k < len(words); k++ {
				if strings.HasPrefix(words[k], "--") {
					if !strings.Contains(words[k], "=") {
						k++ // constructor flags all take a value
					}
					continue
				}
				fn = words[k]
				break
			}
			out = append(out, xCall{step: i, words: words, function: fn, env: env})
		}
	}
	return out
}

func (j *xJob) tasks(name string) []int {
	var out []int
	for i, s := range j.steps {
		if asString(s["task"]) == name {
			out = append(out, i)
		}
	}
	return out
}

// expandedJobs lists the jobs of an expanded pipeline.
func expandedJobs(file string, doc map[string]any) []*xJob {
	var out []*xJob
	for si, st := range asList(doc["stages"]) {
		sm := asMap(st)
		for _, jt := range asList(sm["jobs"]) {
			jm := asMap(jt)
			j := &xJob{file: file, stage: asString(sm["stage"]), stageIndex: si, timeout: asString(jm["timeoutInMinutes"])}
			steps := jm["steps"]
			switch {
			case jm["deployment"] != nil:
				j.deployment = true
				j.name = asString(jm["deployment"])
				steps = asMap(asMap(asMap(jm["strategy"])["runOnce"])["deploy"])["steps"]
			default:
				j.name = asString(jm["job"])
			}
			j.agent = asString(jm["pool"]) != "server"
			for _, s := range asList(steps) {
				j.steps = append(j.steps, asMap(s))
			}
			out = append(out, j)
		}
	}
	return out
}

// CheckOperations expands each pipeline file and checks the rules of this
// file; problems are reported once even when several expansions show them.
func CheckOperations(root string, files []string) ([]Problem, error) {
	o := &operations{seen: map[Problem]bool{}, published: map[string]map[string]bool{}}
	type expanded struct {
		file string
		doc  map[string]any
	}
	var docs []expanded
	for _, f := range files {
		runs, err := ExpandAll(root, f)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			doc, _ := nodeValue(r.doc).(map[string]any)
			docs = append(docs, expanded{file: f, doc: doc})
		}
	}
	vars := map[string]string{}
	for _, d := range docs {
		collectVariables(d.doc["variables"], vars)
	}
	o.variables = vars
	// Artifacts published by each pipeline, for the downstream reads.
	for _, d := range docs {
		for _, j := range expandedJobs(d.file, d.doc) {
			o.artifacts(j)
		}
	}
	for _, d := range docs {
		o.resources(d.file, d.doc)
		jobs := expandedJobs(d.file, d.doc)
		for _, j := range jobs {
			o.manualValidation(j)
			o.downloads(j)
			o.mirror(j)
			o.sourceKey(j)
			o.staticAnalysis(j)
		}
		if len(asList(asMap(d.doc["resources"])["pipelines"])) > 0 {
			o.firstStageKey(d.file, jobs)
		}
	}
	o.engine()
	return o.problems, nil
}

type operations struct {
	problems  []Problem
	seen      map[Problem]bool
	variables map[string]string
	published map[string]map[string]bool // file -> fixed artifact names
}

func (o *operations) add(file, where, format string, args ...any) {
	p := Problem{File: file, Where: where, Msg: fmt.Sprintf(format, args...)}
	if !o.seen[p] {
		o.seen[p] = true
		o.problems = append(o.problems, p)
	}
}

func collectVariables(n any, out map[string]string) {
	if m := asMap(n); m != nil {
		for k, v := range m {
			out[k] = asString(v)
		}
		return
	}
	for _, it := range asList(n) {
		m := asMap(it)
		if name := asString(m["name"]); name != "" {
			out[name] = asString(m["value"])
		}
	}
}

// runsOnFailure reports whether a condition lets a step run after a failure.
func runsOnFailure(cond string) bool {
	c := strings.ReplaceAll(cond, " ", "")
	return strings.Contains(c, "succeededOrFailed()") || strings.Contains(c, "always()") || strings.Contains(c, "failed()")
}

var firstAttemptOnly = regexp.MustCompile(`eq\(variables\['System\.JobAttempt'\],'?1'?\)`)

// artifacts: an artifact name can be used once a run. One published also
// when the job fails is published again by a re-run of the failed job, so
// it must be named per attempt (or be published by the first attempt only).
// A fixed name is kept only for an artifact published as the job's last
// step when everything before succeeded: only the succeeding attempt
// publishes it, and other pipelines can read it by that name.
func (o *operations) artifacts(j *xJob) {
	for _, i := range j.tasks("PublishPipelineArtifact@1") {
		s := j.steps[i]
		inputs := asMap(s["inputs"])
		name := asString(inputs["artifact"]) + asString(inputs["artifactName"])
		cond := asString(s["condition"])
		perAttempt := strings.Contains(name, "$(System.JobAttempt)")
		switch {
		case perAttempt:
		case runsOnFailure(cond) && !firstAttemptOnly.MatchString(strings.ReplaceAll(cond, " ", "")):
			o.add(j.file, j.where(), "artifact %s is published also when the job fails, under a fixed name: a re-run of the failed job fails with \"artifact already exists\"; name it %s-$(System.JobAttempt)", name, name)
		case runsOnFailure(cond):
			// The first attempt's copy (CodeAnalysisLogs, whose name readers expect).
		case i != len(j.steps)-1:
			o.add(j.file, j.where(), "artifact %s has a fixed name but steps follow it: an attempt can publish it and still fail, and its re-run then fails with \"artifact already exists\"; publish it as the job's last step, or name it per attempt", name)
		default:
			if o.published[j.file] == nil {
				o.published[j.file] = map[string]bool{}
			}
			o.published[j.file][name] = true
		}
	}
}

// resources: CD takes only main's CI runs.
// ciPipeline is the file of the pipeline CD's resource names.
const ciPipeline = "azure-pipelines.yml"

func (o *operations) resources(file string, doc map[string]any) {
	for _, p := range asList(asMap(doc["resources"])["pipelines"]) {
		pm := asMap(p)
		alias := asString(pm["pipeline"])
		where := "resources/pipelines/" + alias
		if b := asString(pm["branch"]); b != "main" && b != "refs/heads/main" {
			o.add(file, where, "pipeline resource %s has no branch: main: a manually queued run takes the latest successful run of %s on any branch, including pull requests (which publish no image-ref)", alias, asString(pm["source"]))
		}
		trig := asMap(pm["trigger"])
		if trig == nil {
			o.add(file, where, "pipeline resource %s has no trigger with branches: include: [main]", alias)
		} else {
			br := asMap(trig["branches"])
			inc := asStrings(br["include"])
			if br == nil {
				inc = asStrings(trig["branches"])
			}
			if len(inc) == 0 {
				o.add(file, where, "pipeline resource %s triggers on every branch: add branches: include: [main]", alias)
			}
			for _, b := range inc {
				if b != "main" && b != "refs/heads/main" {
					o.add(file, where, "pipeline resource %s triggers on branch %q: only main's CI runs feed CD", alias, b)
				}
			}
		}
		// A version picked by hand can still be any run: the first stage
		// must refuse a run from another branch.
		guard := fmt.Sprintf("$(resources.pipeline.%s.sourceBranch)", alias)
		stages := asList(doc["stages"])
		found := false
		if len(stages) > 0 {
			for _, jt := range asList(asMap(stages[0])["jobs"]) {
				for _, s := range asList(asMap(jt)["steps"]) {
					sm := asMap(s)
					for _, v := range asMap(sm["env"]) {
						if asString(v) == guard && strings.Contains(asString(sm["bash"]), "refs/heads/main") {
							found = true
						}
					}
				}
			}
		}
		if !found {
			o.add(file, "", "the first stage does not refuse a %s run from another branch (a bash step comparing %s with refs/heads/main): a run picked by hand in a manual queue could be any branch's", alias, guard)
		}
		// What the first stage downloads from the resource must exist.
		for _, jt := range expandedJobs(file, doc) {
			for _, s := range jt.steps {
				if asString(s["download"]) != alias {
					continue
				}
				name := asString(s["artifact"])
				if name != "" && !o.published[ciPipeline][name] {
					o.add(file, jt.where(), "downloads artifact %s of %s, which %s does not publish under that fixed name (names carrying $(System.JobAttempt) cannot be read by name from another pipeline)", name, alias, ciPipeline)
				}
			}
		}
	}
}

// manualValidation: the agentless job must outlive its ManualValidation task.
func (o *operations) manualValidation(j *xJob) {
	for _, name := range []string{"ManualValidation@0", "ManualValidation@1"} {
		for _, i := range j.tasks(name) {
			task, terr := strconv.Atoi(asString(j.steps[i]["timeoutInMinutes"]))
			job, jerr := strconv.Atoi(j.timeout)
			switch {
			case terr != nil:
				o.add(j.file, j.where(), "%s has no timeoutInMinutes: set it (and onTimeout: reject), and a larger timeoutInMinutes on the job", name)
			case jerr != nil || job == 0:
				o.add(j.file, j.where(), "the agentless job has no timeoutInMinutes larger than its %s's (%d): the job's default timeout cancels the validation before onTimeout: reject applies", name, task)
			case job <= task:
				o.add(j.file, j.where(), "the job's timeoutInMinutes (%d) must be larger than its %s's (%d): otherwise the job is cancelled before onTimeout: reject applies", job, name, task)
			}
			if v := asString(asMap(j.steps[i]["inputs"])["onTimeout"]); v != "reject" {
				o.add(j.file, j.where(), "%s onTimeout is %q: reject, so an unattended validation never promotes", name, v)
			}
		}
	}
}

// downloads: a deployment job downloads every artifact of the pipeline's
// resources unless it has download steps.
func (o *operations) downloads(j *xJob) {
	if !j.deployment {
		return
	}
	has := false
	for _, s := range j.steps {
		if d, ok := s["download"]; ok {
			has = true
			if asString(d) != "none" && asString(s["artifact"]) == "" && len(asStrings(s["patterns"])) == 0 {
				o.add(j.file, j.where(), "download: %s without artifact: downloads every artifact of %s; name the one the job uses", asString(d), asString(d))
			}
		}
	}
	if !has {
		o.add(j.file, j.where(), "deployment job without a download step downloads every artifact of the pipeline's resources: add - download: none (or download only the artifact it uses)")
	}
}

// mirror: every Dagger call pulls base images from the mirror, with the
// agent logged in to that registry first.
func (o *operations) mirror(j *xJob) {
	calls := j.calls()
	if len(calls) == 0 {
		return
	}
	login := -1
	for i, s := range j.steps {
		if asString(s["task"]) == "AzureCLI@2" && strings.Contains(asString(asMap(s["inputs"])["inlineScript"]), "az acr login --name") && !strings.Contains(asString(asMap(s["inputs"])["inlineScript"]), "--expose-token") {
			if login < 0 {
				login = i
			}
		}
	}
	for _, c := range calls {
		if v, _ := c.flag("image-registry"); v != "$(imageRegistry)" {
			o.add(j.file, j.where(), "dagger call %s does not pass --image-registry $(imageRegistry): golang and postgres would be pulled anonymously from Docker Hub", c.function)
		}
	}
	if login < 0 || login > calls[0].step {
		o.add(j.file, j.where(), "calls Dagger without logging in to the image mirror first (template registry-login.yml): the engine could not pull from $(imageRegistry)")
	}
	if r := o.variables["imageRegistry"]; r == "" || strings.HasPrefix(r, "docker.io") {
		o.add(j.file, "variables", "imageRegistry is %q: set it to the ACR cache rule for Docker Hub (e.g. myacr.azurecr.io/docker.io/library)", r)
	}
}

// keyFromVault reports whether --public-key env:NAME of a call is mapped
// from a secret an AzureKeyVault@2 step of the job fetches before it.
func (o *operations) keyFromVault(j *xJob, c xCall) (string, bool) {
	v, _ := c.flag("public-key")
	name, ok := strings.CutPrefix(v, "env:")
	if !ok {
		return "", false
	}
	secret := strings.TrimSuffix(strings.TrimPrefix(c.env[name], "$("), ")")
	for _, i := range j.tasks("AzureKeyVault@2") {
		if i > c.step {
			continue
		}
		for _, f := range strings.Split(asString(asMap(j.steps[i]["inputs"])["SecretsFilter"]), ",") {
			if strings.TrimSpace(f) == secret && secret != "" {
				return secret, true
			}
		}
	}
	return secret, false
}

// sourceKey: promote verifies with the key from Key Vault, checked by
// verify-image in the same job, never a key file in the repository.
func (o *operations) sourceKey(j *xJob) {
	calls := j.calls()
	for _, c := range calls {
		switch c.function {
		case "verify-image":
			if secret, ok := o.keyFromVault(j, c); !ok {
				o.add(j.file, j.where(), "verify-image --public-key must be env:NAME mapped from the Key Vault secret an AzureKeyVault@2 step of this job fetches first (got secret %q)", secret)
			}
		case "promote":
			key, _ := c.flag("source-public-key")
			exported := false
			for _, v := range calls {
				if v.function == "verify-image" && v.step < c.step && v.exportPath() == key {
					exported = true
				}
			}
			if !exported {
				o.add(j.file, j.where(), "promote --source-public-key %s is not the key verify-image checked in this job: a key file in the repository is one no new team has committed; take it from Key Vault (verify-image ... export --path P) and pass P", key)
			}
		}
	}
}

// firstStageKey: CD checks the non-production public key in its first
// stage, before anything is deployed.
func (o *operations) firstStageKey(file string, jobs []*xJob) {
	for _, j := range jobs {
		if j.stageIndex != 0 {
			continue
		}
		for _, c := range j.calls() {
			if _, ok := o.keyFromVault(j, c); c.function == "verify-image" && ok {
				return
			}
		}
	}
	o.add(file, "", "the first stage does not check the non-production public key: call verify-image with --public-key from the Key Vault secret (cosign-public-key) there, so a missing or mismatched key fails before anything is deployed")
}

// staticAnalysis: a job running the checks publishes their SARIF as
// CodeAnalysisLogs, which the Scans tab and Defender for DevOps read.
func (o *operations) staticAnalysis(j *xJob) {
	runsChecks := false
	for _, c := range j.calls() {
		if c.function == "ci" {
			runsChecks = true
		}
	}
	if !runsChecks {
		return
	}
	for _, i := range j.tasks("PublishPipelineArtifact@1") {
		if asString(asMap(j.steps[i]["inputs"])["artifact"]) == "CodeAnalysisLogs" {
			return
		}
	}
	o.add(j.file, j.where(), "the checks' SARIF (golangci-lint, govulncheck) is not published as the CodeAnalysisLogs artifact: the Scans tab and Defender for DevOps would show nothing (publish-reports.yml with sarif: true)")
}

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// engine: the CLI checksum and the shared engine settings.
func (o *operations) engine() {
	if v := o.variables["daggerSha256"]; v != "" && !sha256Hex.MatchString(v) {
		o.add(".azure-pipelines/variables.yml", "variables", "daggerSha256 %q is not a SHA-256 (64 lower-case hex digits)", v)
	}
	if o.variables["daggerRunnerHost"] != "" && o.variables["agentPool"] == "" {
		o.add(".azure-pipelines/variables.yml", "variables", "daggerRunnerHost is set but agentPool is empty: Microsoft-hosted agents cannot reach a shared engine in the cluster; name the self-hosted pool")
	}
}
