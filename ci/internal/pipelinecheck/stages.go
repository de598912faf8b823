package pipelinecheck

import (
	"strings"
)

// flagValue returns the value of --name in a call's arguments.
func (d *daggerCall) flagValue(name string) (string, bool) {
	for _, a := range d.args {
		f := strings.Fields(a)
		if len(f) > 0 && f[0] == "--"+name {
			if len(f) > 1 {
				return f[1], true
			}
			return "", true
		}
	}
	return "", false
}

func (j *job) calls(function string) []*step {
	var out []*step
	for i := range j.steps {
		if s := &j.steps[i]; s.call != nil && s.call.function == function {
			out = append(out, s)
		}
	}
	return out
}

func (j *job) has(kind string) bool {
	for _, s := range j.steps {
		if s.kind == kind {
			return true
		}
	}
	return false
}

// index returns the position of the first step satisfying f, or -1.
func (j *job) index(f func(step) bool) int {
	for i, s := range j.steps {
		if f(s) {
			return i
		}
	}
	return -1
}

// checkJobs checks rules every job must follow.
func (c *Checker) checkJobs() {
	for _, j := range c.jobs {
		where := j.stage + "/" + j.name
		firstCall := j.index(func(s step) bool { return s.call != nil })
		install := j.index(func(s step) bool { return s.install })
		if firstCall >= 0 && (install < 0 || install > firstCall) {
			c.add(j.file, where, "calls Dagger without installing the Dagger CLI first (template install-dagger.yml)")
		}
		for _, fn := range []string{"ci", "acceptance-test"} {
			for _, s := range j.calls(fn) {
				c.checkReported(j, s)
			}
		}
	}
	want := strings.TrimPrefix(c.EngineVersion, "v")
	if got := c.variables["daggerVersion"]; got != want {
		c.add("azure-pipelines.yml", "variables", "daggerVersion is %q but dagger.json pins engineVersion %s: install the CLI at %s", got, c.EngineVersion, want)
	}
}

// checkReported checks that a checking call keeps its reports when it fails:
// --no-fail with export, published with PublishTestResults that always runs,
// then check-reports failing the job.
func (c *Checker) checkReported(j *job, s *step) {
	where := j.stage + "/" + j.name
	if _, ok := s.call.flagValue("no-fail"); !ok {
		c.add(j.file, where, "dagger call %s without --no-fail: a failing run would return no reports to publish", s.call.function)
		return
	}
	publish := j.index(func(st step) bool { return st.kind == "task:PublishTestResults@2" })
	check := j.index(func(st step) bool {
		return st.call != nil && st.call.function == "check-reports" || st.kind == "template:"+daggerCheckTemplate
	})
	if publish < 0 {
		c.add(j.file, where, "dagger call %s: its JUnit reports are never published (PublishTestResults)", s.call.function)
	}
	if check < 0 || check < publish {
		c.add(j.file, where, "dagger call %s --no-fail: no check-reports (or dagger check) after publishing the results, so failed checks would not fail the run", s.call.function)
	}
}

// checkStages checks that the reference pipeline's stages are all there.
func (c *Checker) checkStages() {
	missing := func(stage, why string) { c.add("azure-pipelines.yml", "", "missing stage %s: %s", stage, why) }
	var pr, ci, publish, staging, acceptance, validation, promote, production bool
	for _, j := range c.jobs {
		cond := strings.ReplaceAll(j.stageRunCondition, " ", "")
		for _, s := range j.calls("ci") {
			switch {
			case strings.Contains(cond, "eq(variables['Build.Reason'],'PullRequest')"):
				pr = true
				if !j.has("template:" + daggerCheckTemplate) {
					c.add(j.file, j.stage+"/"+j.name, "pull request validation does not run dagger check (template %s): a new +check function would not be run", daggerCheckTemplate)
				}
			default:
				if v, ok := s.call.flagValue("db-password"); ok && strings.HasPrefix(v, "env:") && j.has("task:AzureKeyVault@2") {
					ci = true
				}
			}
		}
		for _, s := range j.calls("publish") {
			if s.call.outputVariable != "" && s.call.outputFile != "" && j.has("task:PublishPipelineArtifact@1") {
				publish = true
			}
		}
		for _, s := range j.calls("deploy") {
			env, _ := s.call.flagValue("environment")
			switch {
			case env == "staging" && j.deployment && strings.Contains(j.environment, "staging"):
				staging = true
			case env == "production" && j.deployment && strings.Contains(j.environment, "production"):
				if j.stageLock == "sequential" {
					production = true
				} else {
					c.add(j.file, j.stage, "production deployments must be serialised: lockBehavior: sequential")
				}
			case env == "staging" || env == "production":
				c.add(j.file, j.stage+"/"+j.name, "deploy --environment %s runs outside a deployment job targeting the %s environment: its approvals and checks would not apply", env, env)
			}
		}
		if len(j.calls("acceptance-test")) > 0 && j.has("task:PublishTestResults@2") {
			acceptance = true
		}
		if j.server && j.has("task:ManualValidation@1") {
			if strings.Contains(j.stageCondition, "parameters.") {
				validation = true
			} else {
				c.add(j.file, j.stage, "the manual validation cannot be switched off: insert its stage under ${{ if eq(parameters.manualValidation, true) }}")
			}
		}
		if len(j.calls("promote")) > 0 {
			promote = true
		}
	}
	if !c.pr {
		missing("PR", "no pr: trigger for main")
	}
	if !pr {
		missing("PR", "no `dagger call ci` in a stage for pull requests (condition eq(variables['Build.Reason'], 'PullRequest'))")
	}
	if !c.ci {
		missing("CI", "no trigger: for main")
	}
	if !ci {
		missing("CI", "no `dagger call ci --db-password env:...` with the password from an AzureKeyVault task (integration tests)")
	}
	if !publish {
		missing("publish", "no `dagger call publish` whose reference becomes an output variable and a pipeline artifact")
	}
	if !c.cd {
		missing("CD", "no pipeline resource trigger starting CD when CI completes")
	}
	if !staging {
		missing("staging deploy", "no `dagger call deploy --environment staging` in a deployment job targeting a staging environment")
	}
	if !acceptance {
		missing("acceptance", "no `dagger call acceptance-test` with its results published")
	}
	if !validation {
		missing("manual validation", "no agentless job (pool: server) with ManualValidation@1 under a parameter")
	}
	if !promote {
		missing("promote", "no `dagger call promote`")
	}
	if !production {
		missing("production deploy", "no `dagger call deploy --environment production` in a deployment job targeting a production environment, serialised")
	}
}
