"""Writes instant helm and kubectl stand-ins into DIR for one release: small shell scripts
that print what the project's test stand-ins (Tests/CoxswainServerTests/Fixtures/standins,
which answer as the real programs do) answered for a rollback of that release, so a job
costs the benchmark a fork and a `cat` per command instead of a Python start-up.
`helm history` answers from before the rollback, everything after it from after.
A file named `hang` in DIR makes `helm rollback` wait (to hold a release busy; it touches
DIR/held first, so the benchmark can tell the hold reached helm); with a
file named `log` each call is appended to DIR/calls.log.
Usage: python3 make_standins.py DIR RELEASE NAMESPACE"""
import json, os, shutil, subprocess, sys, tempfile

out, release, namespace = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "..", "Tests", "CoxswainServerTests", "Fixtures", "standins")
work = tempfile.mkdtemp()
for program in ("helm", "kubectl"):
    shutil.copy(os.path.join(fixtures, program), work)


def revision(n, status, chart, app, description="Upgrade complete"):
    return {"revision": n, "updated": "2026-11-2%d 10:00:00.000000000 +0000 UTC" % n, "status": status, "chart": chart,
            "app_version": app, "description": description}


def pod(name, ready, reason=None):
    p = {"name": name, "instance": release, "namespace": namespace, "ready": ready, "restarts": 0 if ready else 5}
    if reason:
        p["reason"] = reason
    return p


state = {
    "releases": {release: {"namespace": namespace, "revisions": [
        revision(1, "superseded", "vllm-deployment-0.1.0", "0.4.0", "Install complete"),
        revision(2, "superseded", "vllm-deployment-0.2.0", "0.4.1"),
        revision(3, "deployed", "vllm-deployment-0.3.0", "0.5.0")],
        "pods_after_rollback": [pod(release + "-7b8f9d5c-x7k2m", True), pod(release + "-7b8f9d5c-q9w4z", True)]}},
    "pods": [pod(release + "-6c7d8e9f-a1b2c", False, "CrashLoopBackOff")],
}
with open(os.path.join(work, "cluster.json"), "w") as f:
    json.dump(state, f)

os.makedirs(os.path.join(out, "canned"), exist_ok=True)


def capture(name, argv):
    result = subprocess.run([os.path.join(work, argv[0])] + argv[1:], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(argv), result.stderr))
    with open(os.path.join(out, "canned", name), "w") as f:
        f.write(result.stdout)


selector = "app.kubernetes.io/instance=" + release
capture("helm-version", ["helm", "version", "--short"])
capture("helm-history", ["helm", "history", release, "-n", namespace, "-o", "json", "--max", "20"])
capture("helm-rollback", ["helm", "rollback", release, "2", "-n", namespace, "--wait", "--timeout", "10m0s"])
capture("helm-status", ["helm", "status", release, "-n", namespace, "-o", "json"])
capture("helm-metadata", ["helm", "get", "metadata", release, "-n", namespace, "-o", "json"])
capture("kubectl-wait", ["kubectl", "wait", "--for=condition=Ready", "pod", "-l", selector, "-n", namespace, "--timeout=300s"])
capture("kubectl-annotate", ["kubectl", "annotate", "deployment", "-l", selector, "-n", namespace, "coxswain.dev/rollback-reason=bench",
                             "--overwrite"])
# The capacity check (before a rollback changes anything): no GPUs requested, no GPU nodes.
capture("kubectl-deployments", ["kubectl", "get", "deployments", "-l", selector, "-n", namespace, "-o", "json"])
capture("kubectl-nodes", ["kubectl", "get", "nodes", "-o", "json"])
capture("kubectl-pods", ["kubectl", "get", "pods", "-l", selector, "-n", namespace, "-o", "json"])
shutil.rmtree(work)

canned = os.path.join(out, "canned")
scripts = {
    "helm": """#!/bin/sh
[ -e %(d)s/log ] && echo "helm $*" >> %(d)s/calls.log
case "$1 $2" in
  "version "*) exec cat %(c)s/helm-version ;;
  "history "*) exec cat %(c)s/helm-history ;;
  "rollback "*) [ -e %(d)s/hang ] && touch %(d)s/held && exec sleep 100000; exec cat %(c)s/helm-rollback ;;
  "status "*) exec cat %(c)s/helm-status ;;
  "get metadata") exec cat %(c)s/helm-metadata ;;
esac
echo "Error: the benchmark's stand-in does not know: helm $*" >&2
exit 1
""",
    "kubectl": """#!/bin/sh
[ -e %(d)s/log ] && echo "kubectl $*" >> %(d)s/calls.log
case "$1 $2" in
  "wait "*) exec cat %(c)s/kubectl-wait ;;
  "annotate "*) exec cat %(c)s/kubectl-annotate ;;
  "get pods") exec cat %(c)s/kubectl-pods ;;
  "get deployments") exec cat %(c)s/kubectl-deployments ;;
  "get nodes") exec cat %(c)s/kubectl-nodes ;;
esac
echo "error: the benchmark's stand-in does not know: kubectl $*" >&2
exit 1
""",
}
for name, text in scripts.items():
    path = os.path.join(out, name)
    with open(path, "w") as f:
        f.write(text % {"c": canned, "d": out})
    os.chmod(path, 0o755)
