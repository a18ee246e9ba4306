#!/usr/bin/env python3
"""Cold-start figures for the packaged functions (`infra/scripts/package.sh` first).

Each function's `bootstrap` is started as Lambda would start it, against a minimal Lambda
Runtime API served here on loopback, with its tables on a moto server (DynamoDB, Step
Functions and API Gateway management all on loopback). For every function it reports,
as the median of several fresh processes:

  init   process start -> its first GET /runtime/invocation/next (ready for an event)
  first  the first event's handling: event handed over -> response (or error) posted
  warm   the second event's handling, for comparison

The events are real API Gateway / Step Functions / stream payloads that reach the store
(so the first SDK call, and its connection setup, is inside `first`). What this cannot
show: Lambda's own sandbox start and the TLS handshake to a real AWS endpoint (moto is
plain HTTP on loopback).

usage: coldstart.py MOTO_URL [RUNS]
"""

import http.server
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import uuid

import boto3
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = {
    "api": ROOT / "functions/api/tests/fixtures/http-list-projects.json",
    "ws": ROOT / "functions/ws/tests/fixtures/disconnect.json",
    "authorizer": ROOT / "functions/authorizer/tests/fixtures/connect-authorizer-request.json",
    "broadcaster": ROOT / "functions/broadcaster/tests/fixtures/stream-batch.json",
    "reconciler": ROOT / "functions/reconciler/tests/fixtures/scheduled-event.json",
}


def event_for(name):
    if name in FIXTURES:
        event = json.loads(FIXTURES[name].read_text())
        if name == "api":
            event["headers"]["x-api-key"] = "zts_" + "0" * 40  # unknown: one GetItem, then 401
        if name == "authorizer":
            event["queryStringParameters"]["ticket"] = "wst_" + "0" * 40  # unknown: denied
        return event
    step = {
        "project_id": str(uuid.uuid4()),
        "correlation_id": "coldstart",
        "execution_id": "arn:aws:states:us-east-1:123456789012:execution:zts:coldstart",
        "state": {"validator": "Validate", "advisory": "Advise", "finalize": "Complete"}[name],
        "retry_count": 0,
        "run": 1,
    }
    if name == "finalize":
        step["outcome"] = "COMPLETED"
    return step


class Runtime:
    """One invocation cycle of the Lambda Runtime API, timed."""

    def __init__(self, events):
        self.events = list(events)
        self.served = 0
        self.marks = {}
        self.done = threading.Event()
        runtime = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/invocation/next"):
                    self.send_error(404)
                    return
                now = time.perf_counter()
                if runtime.served == 0:
                    runtime.marks["ready"] = now
                if runtime.served >= len(runtime.events):
                    runtime.done.set()
                    time.sleep(3600)  # the process is killed while it waits
                    return
                body = json.dumps(runtime.events[runtime.served]).encode()
                rid = f"req-{runtime.served}"
                runtime.served += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:zts")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                runtime.marks[f"sent-{runtime.served}"] = time.perf_counter()

            def do_POST(self):
                now = time.perf_counter()
                length = int(self.headers.get("Content-Length", 0))
                payload = self.rfile.read(length)
                n = runtime.served
                kind = "error" if self.path.endswith("/error") else "response"
                runtime.marks[f"answer-{n}"] = now
                runtime.marks[f"kind-{n}"] = (kind, payload[:400].decode(errors="replace"))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"


def load_template():
    """template.yaml with CloudFormation's tags (!Ref, !Sub, …) read as null."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, tag, node: None)
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)


def tables_from_template(moto, suffix):
    template = load_template()
    ddb = boto3.client("dynamodb", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    names = {}
    for logical, env in [("ProjectsTable", "ZTS_PROJECTS_TABLE"), ("ConnectionsTable", "ZTS_CONNECTIONS_TABLE"), ("ApiKeysTable", "ZTS_API_KEYS_TABLE")]:
        props = template["Resources"][logical]["Properties"]
        name = f"{logical}-{suffix}"
        args = {k: props[k] for k in ("AttributeDefinitions", "KeySchema", "BillingMode")}
        if "GlobalSecondaryIndexes" in props:
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(TableName=name, **args)
        names[env] = name
    return names


def cursor_secret_on(moto):
    """The api reads its cursor secret from Secrets Manager at init: one on moto."""
    sm = boto3.client("secretsmanager", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    name = f"zts-coldstart-cursor-{uuid.uuid4().hex[:8]}"
    return sm.create_secret(Name=name, SecretString=uuid.uuid4().hex + uuid.uuid4().hex)["ARN"]


def run_once(name, bootstrap, env):
    runtime = Runtime([event_for(name), event_for(name)])
    env = dict(env, AWS_LAMBDA_RUNTIME_API=runtime.address, AWS_LAMBDA_FUNCTION_NAME=f"zts-{name}")
    start = time.perf_counter()
    proc = subprocess.Popen([str(bootstrap)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not runtime.done.wait(0.05):
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode} before its events were handled:\n{proc.stderr.read().decode(errors='replace')}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not handle its events within 60 s")
    finally:
        proc.kill()
        proc.wait()
        runtime.server.shutdown()
    m = runtime.marks
    return {
        "init": (m["ready"] - start) * 1000,
        "first": (m["answer-1"] - m["sent-1"]) * 1000,
        "warm": (m["answer-2"] - m["sent-2"]) * 1000,
        "answer": m["kind-1"],
    }


# What each function must answer to its event (a smoke check of the packaged binaries).
EXPECTED = {
    "api": ("response", '"statusCode":401'),
    "ws": ("response", '"statusCode":200'),
    "authorizer": ("response", '"Effect":"Deny"'),
    "validator": ("error", '"errorType":"ZeroToShip.Invalid"'),
    "advisory": ("error", '"errorType":"ZeroToShip.Invalid"'),
    "finalize": ("error", '"errorType":"ZeroToShip.Invalid"'),
    "broadcaster": ("response", '"batchItemFailures":[]'),
    # An empty pass: the pending-run index queried on every shard, nothing stale.
    "reconciler": ("response", '"stale":0'),
}


def main():
    moto = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": moto,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/coldstart",
    }
    # Each function gets exactly the variables template.yaml gives it (Globals + its own),
    # so a variable the code needs and the template forgot fails here.
    samples = {
        "RUST_LOG": "warn",
        "ZTS_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:zts-coldstart",
        "ZTS_WS_URL": "wss://example.invalid/prod",
        "ZTS_WS_MANAGEMENT_ENDPOINT": moto,
        "ZTS_CURSOR_SECRET_ARN": cursor_secret_on(moto),
        "ZTS_CORS_ORIGINS": "",
        "ZTS_RATE_PER_SECOND": "10",
        "ZTS_RATE_BURST": "20",
        "ZTS_PII_REGIONS": "US,CA,GB,DE,FR,ES,IT,NL,IN,JP,BR,AU,AT,CH,BE,IE",
        "ZTS_WS_PER_OWNER": "25",
    }
    samples.update(tables_from_template(moto, uuid.uuid4().hex[:8]))
    template = load_template()
    global_vars = template["Globals"]["Function"]["Environment"]["Variables"]
    failures = []
    print(f"{'function':<12} {'zip KB':>7} {'init ms':>8} {'first ms':>9} {'warm ms':>8}  first answer")
    for name in ["api", "ws", "authorizer", "validator", "advisory", "finalize", "broadcaster", "reconciler"]:
        bootstrap = ROOT / "target/lambda" / name / "bootstrap"
        zipped = ROOT / "target/lambda" / name / "bootstrap.zip"
        # The zip is what deploys: always run the binary inside it (a bootstrap left by an
        # earlier build would measure old code).
        if zipped.exists():
            subprocess.run(["python3", "-m", "zipfile", "-e", str(zipped), str(bootstrap.parent)], check=True)
            bootstrap.chmod(0o755)
        function = next(
            r for r in template["Resources"].values()
            if r.get("Metadata", {}).get("BuildProperties", {}).get("Binary") == name
        )
        own_vars = function["Properties"].get("Environment", {}).get("Variables", {})
        fenv = dict(env, **{k: samples[k] for k in [*global_vars, *own_vars]})
        samples_run = [run_once(name, bootstrap, fenv) for _ in range(runs)]
        med = {k: statistics.median(s[k] for s in samples_run) for k in ("init", "first", "warm")}
        kind, payload = samples_run[0]["answer"]
        want_kind, want_text = EXPECTED[name]
        if kind != want_kind or want_text not in payload:
            failures.append(f"{name}: expected {want_kind} with {want_text}, got {kind}: {payload}")
        print(f"{name:<12} {zipped.stat().st_size / 1024:>7.0f} {med['init']:>8.1f} {med['first']:>9.1f} {med['warm']:>8.1f}  {kind}: {payload[:70]}")

    if failures:
        raise SystemExit("\n".join(failures))


if __name__ == "__main__":
    main()
