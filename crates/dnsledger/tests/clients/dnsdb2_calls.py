"""Runs the dnsdb2 client calls a Rust test describes and prints what each one gave.

The test keeps the expectations; this script only drives the official client, unmodified,
so that one Python start serves a whole group of checks.

stdin: {"server": URL, "calls": [{"key": KEY, "method": NAME, "args": [...], "kwargs": {...}}]}
  - method is a dnsdb2.Client method (lookup_rrset, summarize_rdata_ip, flex_rdata_glob,
    rate_limit, ping, ...), called as client.METHOD(*args, **kwargs);
  - method "saf_path" GETs SERVER/dnsdb/v2/ARGS[0] with plain requests and reads the body
    with the client's own SAF reader: for the forms dnsdb2 has no method for (rrset/raw);
  - a kwargs value {"ago": T} becomes T - now, a negative "seconds before now", computed
    just before the call so that the fence lands on T.
stdout: one JSON line per call, in order:
  {"result": ROWS-OR-VALUE, "error": EXCEPTION-CLASS-OR-NULL, "message": TEXT}
  where ROWS are the objects yielded before any exception.
"""

import inspect
import json
import sys
import time

import dnsdb2
import dnsdb2.saf
import requests

# Seconds for any one request: a hung server fails the test instead of stalling it.
TIMEOUT = 60


def seconds_before_now(value):
    if isinstance(value, dict) and set(value) == {"ago"}:
        relative = value["ago"] - int(time.time())
        if relative >= 0:
            sys.exit(f"{value['ago']} is not in the past: is the clock right?")
        return relative
    return value


def plain_saf(server, key, path, params):
    response = requests.get(
        f"{server}/dnsdb/v2/{path}",
        headers={"X-API-Key": key, "Accept": "application/x-ndjson"},
        params=params,
        stream=True,
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return dnsdb2.saf.handle_saf(response)


def run(server, call):
    client = dnsdb2.Client(call["key"], server=server, timeout=TIMEOUT)
    args = call.get("args", [])
    kwargs = {name: seconds_before_now(v) for name, v in call.get("kwargs", {}).items()}
    rows = []
    try:
        if call["method"] == "saf_path":
            result = plain_saf(server, call["key"], args[0], kwargs)
        else:
            result = getattr(client, call["method"])(*args, **kwargs)
        if inspect.isgenerator(result):
            for row in result:
                rows.append(row)
            result = rows
        return {"result": result, "error": None, "message": None}
    except dnsdb2.DnsdbException as error:
        return {"result": rows, "error": type(error).__name__, "message": str(error)}
    finally:
        client.close()


def main():
    plan = json.load(sys.stdin)
    for call in plan["calls"]:
        print(json.dumps(run(plan["server"], call)), flush=True)


if __name__ == "__main__":
    main()
