"""python-gitlab, a real GitLab client, against `stageboard sim`.

Usage: check_sim.py URL TOKEN. Exits non-zero with a message on the first surprise.
"""
import sys

import gitlab

url, token = sys.argv[1], sys.argv[2]
gl = gitlab.Gitlab(url, private_token=token, retry_transient_errors=False)

# Projects: membership listing with pagination, lookup by full path.
projects = gl.projects.list(membership=True, simple=True, get_all=True, per_page=2)
paths = sorted(p.path_with_namespace for p in projects)
assert paths == ["demo/gitlab-k8s-demo", "platform/payments-api", "platform/web/monorepo"], paths
project = gl.projects.get("demo/gitlab-k8s-demo")
assert project.default_branch == "main"

# Pipelines: filters and pagination to the end.
everything = project.pipelines.list(get_all=True, per_page=7)
assert len(everything) > 10, len(everything)
assert len({p.id for p in everything}) == len(everything), "pages overlap"
failing = project.pipelines.list(ref="main", per_page=1, get_all=False)[0]
assert failing.status == "failed", failing.status
detail = project.pipelines.get(failing.id)
assert detail.detailed_status["group"] == "failed"

# Jobs and a trace.
jobs = detail.jobs.list(get_all=True)
image_build = next(j for j in jobs if j.name == "image_build")
assert image_build.status == "failed" and image_build.failure_reason == "script_failure"
job = project.jobs.get(image_build.id)
trace = job.trace()
assert b"x509: certificate signed by unknown authority" in trace, trace[-300:]

# Retry makes a new job; retrying the old one again is refused with 403.
new_job = job.retry()
assert new_job["id"] != job.id, new_job
try:
    job.retry()
    raise AssertionError("a retried job was retried again")
except gitlab.exceptions.GitlabJobRetryError as e:
    assert e.response_code == 403, e.response_code
    assert "Job is not retryable" in str(e), str(e)
with_retried = detail.jobs.list(get_all=True, include_retried=True)
assert len([j for j in with_retried if j.name == "image_build"]) == 3

# A manual job is played (with a variable) and then refused a second play.
tag_pipeline = project.pipelines.list(scope="tags", per_page=1, get_all=False)[0]
manual = next(j for j in tag_pipeline.jobs.list(get_all=True) if j.name == "deploy_live")
assert manual.status == "manual", manual.status
deploy = project.jobs.get(manual.id)
deploy.play(job_variables_attributes=[{"key": "DRY_RUN", "value": "false"}])
assert project.jobs.get(manual.id).status in ("pending", "running")
try:
    project.jobs.get(manual.id).play()
    raise AssertionError("a running job was played")
except gitlab.exceptions.GitlabJobPlayError as e:
    assert e.response_code == 400 and "Unplayable Job" in str(e), str(e)

# Unknown things are 404s.
try:
    gl.projects.get("nobody/nothing")
    raise AssertionError("an unknown project was found")
except gitlab.exceptions.GitlabGetError as e:
    assert e.response_code == 404 and "Project Not Found" in str(e), str(e)

print("python-gitlab", gitlab.__version__, "talked to the simulated GitLab: all checks passed")
