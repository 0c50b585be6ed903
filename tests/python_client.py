"""A stand-in for the Intent Bus Python SDK 2.x transport, written from its
documented behaviour: every request signed (HMAC-SHA256 over
METHOD\\nPATH?sorted-query\\nTS\\nNONCE\\nBODY), the query built with
urllib.parse.quote(safe=''), bodies as json.dumps(sort_keys=True,
separators=(',', ':')) (ASCII-escaped), Content-Type json on every request,
X-Intent-Version 7.61, a fresh 32-hex nonce per request.

Usage: python3 python_client.py BASE_URL API_KEY  (prints OK, or fails)
"""

import hashlib
import hmac
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote

BASE, KEY = sys.argv[1].rstrip("/"), sys.argv[2]


def call(method, endpoint, params=None, body=None, headers=None, tamper=False):
    path = endpoint
    if params:
        pairs = sorted([(k, v) for k, v in params if v is not None], key=lambda p: p[0])
        path += "?" + "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in pairs)
    data = b"" if body is None else json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    msg = b"\n".join([method.encode(), path.encode(), ts.encode(), nonce.encode(), data])
    sig = hmac.new(KEY.encode(), msg, hashlib.sha256).hexdigest()
    h = {"X-API-KEY": KEY, "X-Timestamp": ts, "X-Nonce": nonce, "X-Signature": sig,
         "Content-Type": "application/json", "User-Agent": "intent-bus-python/2.x",
         "X-Intent-Version": "7.61", **(headers or {})}
    sent = data + (b" " if tamper else b"")
    req = urllib.request.Request(BASE + path, data=sent if sent else None, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            raw = res.read()
            return res.status, dict(res.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, dict(e.headers), json.loads(raw) if raw else None


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


publish = {"goal": "py/job", "payload": {"name": "caf\u00e9", "n": [1, 2]}, "namespace": "default",
           "visibility": "private", "priority": 100, "delay": 0.0, "max_attempts": 3, "backoff_base": 5.0}
idem = {"Idempotency-Key": secrets.token_hex(16)}
st, hd, first = call("POST", "/intent", body=publish, headers=idem)
check(st == 201 and isinstance(first["id"], str) and first["namespace"] == "default", f"publish {st} {first}")
check(hd.get("X-Intent-Version") == "2.1", "protocol header")
st, _, again = call("POST", "/intent", body=publish, headers=idem)
check(st == 201 and again["id"] == first["id"], "idempotent replay")

st, _, s = call("GET", f"/result/{first['id']}")
check(st == 200 and isinstance(s["status"], str) and s.get("result_type", "json") in ("json", "text"), f"result before fulfil {s}")

params = [("namespace", "default"), ("goal", "py/job")]
st, _, job = call("POST", "/claim", params=params, headers={"X-Worker-ID": "py-1", "X-Worker-Capabilities": "a,b"})
check(st == 200 and all(isinstance(job[k], str) for k in ("id", "goal", "claim_token")), f"claim {st} {job}")
check(job["payload"] == publish["payload"] and int(job["claim_timeout"]) == 60, "claim payload")

st, _, ext = call("POST", f"/extend_claim/{job['id']}", body={"claim_token": job["claim_token"], "seconds": 30})
check(st == 200 and ext["ok"] is True, f"extend {st} {ext}")

st, _, done = call("POST", f"/fulfill/{job['id']}", body={"claim_token": job["claim_token"], "result_type": "json", "result": {"ok": True}})
check(st == 200 and done == {"ok": True, "id": job["id"]}, f"fulfil {st} {done}")
# A retry after a lost answer: the same token again is an idempotent 200.
st, _, again = call("POST", f"/fulfill/{job['id']}", body={"claim_token": job["claim_token"], "result_type": "json"})
check(st == 200 and again == {"ok": True, "id": job["id"]}, f"fulfil replay {st} {again}")
st, _, lost = call("POST", f"/fail/{job['id']}", body={"claim_token": job["claim_token"], "error": "late"})
check(st == 404 and isinstance(lost["error"], dict), "fail after fulfil is lease lost")

st, _, r = call("GET", f"/result/{first['id']}")
check(st == 200 and r["status"] == "fulfilled" and r["result"] == {"ok": True} and r["result_type"] == "json", f"result {r}")

st, hd, _ = call("POST", "/claim", params=params)
check(st == 204 and float(hd.get("Retry-After", "x")) >= 0, "empty claim")

st, _, f = call("POST", "/intent", body={**publish, "goal": "py fail"}, headers={"Idempotency-Key": secrets.token_hex(16)})
st, _, job = call("POST", "/claim", params=[("namespace", "default"), ("goal", "py fail")])
st, _, failed = call("POST", f"/fail/{job['id']}", body={"claim_token": job["claim_token"], "error": "Worker failure"})
check(st == 200 and failed["ok"] is True, f"fail {st} {failed}")
st, _, s = call("GET", f"/status/{job['id']}")
check(s["status"] == "open" and s["last_error"] == "Worker failure", f"status after fail {s}")

st, _, ok = call("POST", "/set/py-key", body={"value": json.dumps({"a": [1]}, separators=(",", ":")), "ttl": 60},
                 headers={"Idempotency-Key": secrets.token_hex(16)})
check(st == 200 and ok == {"ok": True}, "set")
st, _, got = call("GET", "/get/py-key")
check(st == 200 and json.loads(got["value"]) == {"a": [1]}, f"get {got}")

st, _, bad = call("POST", "/intent", body=publish, tamper=True)
check(st == 403 and bad["error"]["code"] == "invalid_signature", f"tampered {st} {bad}")
print("OK")
