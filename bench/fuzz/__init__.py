"""A fuzzer for every RPC of every service the server lists, drawn from the protos by Hypothesis.

`python -m bench.fuzz --examples N` runs long; `tests/bench/test_fuzz.py` runs a bounded round in
`make test`. Each call is judged: no INTERNAL or UNKNOWN, a status message of at most 1 KB, a refused
call leaves Redis unchanged, the dispatch tick after it still runs, and health stays SERVING.
"""

from bench.fuzz.harness import Finding, FuzzTarget
from bench.fuzz.run import Report, fuzz

__all__ = ["Finding", "FuzzTarget", "Report", "fuzz"]
