# SPDX-License-Identifier: MIT
# check_history.py HISTORY JSON: the history file utsim --history wrote is
# one JSON object per line and operation, with the fields docs/simulator.md
# lists, and as many lines as the run's --json "ops.total".
import json
import sys

hist, summary = sys.argv[1], sys.argv[2]
with open(summary) as f:
    run = json.loads(f.readline())
want = run["ops"]["total"]
fields = {"client", "op", "key", "value", "invoke_ms", "response_ms", "invoke_step",
          "response_step", "outcome"}
n = 0
last_invoke = -1
outcomes = {}
with open(hist) as f:
    for line in f:
        op = json.loads(line)
        missing = fields - set(op)
        assert not missing, f"line {n + 1}: missing {missing}"
        assert op["op"] in ("get", "put", "cas"), op
        assert op["outcome"] in ("ok", "failed", "unknown"), op
        if op["op"] == "cas":
            assert "expected" in op, op
            if op["outcome"] == "ok":
                assert "cas_ok" in op and "seen" in op, op
                if op["cas_ok"]:
                    assert op["seen"] == op["value"], op
        if op["outcome"] in ("ok", "failed"):
            assert op["response_ms"] is not None and op["response_ms"] >= op["invoke_ms"], op
        if op["op"] == "cas" and op["outcome"] == "ok" and not op["cas_ok"]:
            # a refused compare-and-set says what it found, never the expected value
            assert op["seen"] != op["expected"], op
        assert op["invoke_step"] > last_invoke, "not in invocation order"
        last_invoke = op["invoke_step"]
        outcomes[op["outcome"]] = outcomes.get(op["outcome"], 0) + 1
        n += 1
assert n == want, f"{n} lines, {want} operations"
for kind in ("ok", "failed"):
    assert outcomes.get(kind, 0) == run["ops"][kind], (outcomes, run["ops"])
print(f"history ok: {n} operations, {outcomes}")
