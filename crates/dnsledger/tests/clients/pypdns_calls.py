"""Runs the pypdns (CIRCL passive DNS) client calls a Rust test describes and prints what
each one gave.

stdin: {"url": SERVER/pdns/query, "calls": [{"auth": AUTH, "method": "rfc_query" or
        "iter_query", "query": VALUE, "filter_rrtype": TYPE-OR-NULL}]}
  AUTH is {"basic": [USER, KEY]} or {"token": KEY}, the two ways pypdns authenticates.
stdout: one JSON line per call, in order:
  {"records": [raw COF objects], "requests": HTTP-REQUESTS-MADE, "error": CLASS-OR-NULL}
  Every record went through pypdns' own PDNSRecord type checks.
"""

import json
import sys

import pypdns


def client(url, auth):
    if "basic" in auth:
        return pypdns.PyPDNS(url=url, basic_auth=tuple(auth["basic"]))
    return pypdns.PyPDNS(url=url, auth_token=auth["token"])


def run(url, call):
    pdns = client(url, call["auth"])
    requests_made = []
    # Observes the client's session (iter_query pages through it) without changing it.
    pdns.session.hooks["response"].append(lambda response, **_: requests_made.append(1))
    records = []
    try:
        if call["method"] == "iter_query":
            found = pdns.iter_query(call["query"], filter_rrtype=call.get("filter_rrtype"))
        else:
            found = pdns.rfc_query(call["query"], filter_rrtype=call.get("filter_rrtype"))
        for record in found:
            records.append(record.raw)
        error = None
    except pypdns.PDNSError as e:
        error = type(e).__name__
    return {"records": records, "requests": len(requests_made), "error": error}


def main():
    plan = json.load(sys.stdin)
    for call in plan["calls"]:
        print(json.dumps(run(plan["url"], call)), flush=True)


if __name__ == "__main__":
    main()
